/**
 * Stage 2a: JSON Schema validation with ajv, and translation of ajv's errors
 * into one clear diagnostic each: an `anyOf` of "literal or expression" reports
 * the alternative the value was meant for, not a wall of alternatives.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { loadWithCodeCache } from '../io/code-cache.js';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import type { Diagnostic } from '../types/diagnostic.js';
import type { JsonSchema, OpRegistry } from '../ops/index.js';
import { diag, didYouMean } from '../diagnostics/diagnostics.js';
import { EXPR_PATTERN, generateSchema, opAttrsLiteralSchema, shorthandAttr } from './schema.js';
import { spanAt, unescapePointer, type LoadedDocument } from '../load/yaml.js';
import { show, typeName } from '../expr/evaluate.js';

const require = createRequire(import.meta.url);

/** Options of the fast pass/fail validators. */
export const AJV_FAST: Options = { allErrors: false, strict: false, allowUnionTypes: true, inlineRefs: false, messages: false };
/** Options of the validators that explain a failure: every error, with its schema and data. */
export const AJV_DETAILED: Options = { allErrors: true, verbose: true, strict: false, allowUnionTypes: true, inlineRefs: false, messages: false };

/** ajv itself is loaded only when a validator must be compiled at run time (a registry with other ops than the built-in ones, tests from source). */
export function newAjv(options: Options): Ajv {
  const mod = require('ajv') as { Ajv: typeof Ajv };
  return new mod.Ajv(options);
}

/**
 * Validators for the built-in registry are compiled to JavaScript at build time
 * (`scripts/build-validators.ts`, ajv standalone), so a cold `modelspec check`
 * does not spend half a second compiling the schema: a small fast module says
 * whether a spec is valid, and a detailed one, loaded only when it is not,
 * says why.
 */
type Precompiled = Record<string, ValidateFunction>;
export const PRECOMPILED = { fast: 'validators.generated.cjs', detailed: 'validators-detailed.generated.cjs' } as const;
function loadPrecompiled(kind: keyof typeof PRECOMPILED): Precompiled | undefined {
  try {
    // From dist/validate/ajv.js, the bundled dist/cli/*.js, or a chunk in dist/cli/chunks/.
    for (const dir of ['../validate/', '../../validate/']) {
      const path = fileURLToPath(new URL(`${dir}${PRECOMPILED[kind]}`, import.meta.url));
      if (existsSync(path)) return loadWithCodeCache<Precompiled>(path).exports;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

/** Export names of the standalone modules: `spec`, and `attrs_<op>` for each op. */
export function validatorExports(registry: OpRegistry): Record<string, string> {
  return {
    spec: 'modelspec',
    ...Object.fromEntries(registry.all().map((op) => [`attrs_${op.name}`, `modelspec-attrs#/definitions/${op.name}`])),
  };
}

/** One schema holding the literal attribute schema of every op. */
export function attrsSchema(registry: OpRegistry): JsonSchema {
  return {
    $id: 'modelspec-attrs',
    definitions: Object.fromEntries(registry.all().map((op) => [op.name, opAttrsLiteralSchema(registry, op.name)])),
  };
}

/** Compile the spec schema and the attribute schemas into one ajv instance. */
export function compileAll(registry: OpRegistry, options: Options): Ajv {
  const ajv = newAjv(options);
  ajv.addSchema({ ...generateSchema(registry), $id: 'modelspec' });
  ajv.addSchema(attrsSchema(registry));
  return ajv;
}

export interface SchemaValidators {
  /** Errors of `value` against the spec schema, or undefined when it is valid. */
  spec(value: unknown): ErrorObject[] | undefined;
  /** Errors of an op's evaluated attributes, or undefined when they are valid. */
  attrs(op: string, value: unknown): ErrorObject[] | undefined;
}

const cache = new WeakMap<OpRegistry, SchemaValidators>();

export function schemaValidators(registry: OpRegistry): SchemaValidators {
  const hit = cache.get(registry);
  if (hit) return hit;
  const lazy = (kind: keyof typeof PRECOMPILED, options: Options) => {
    let fns: ((name: string) => ValidateFunction) | undefined;
    return (name: string): ValidateFunction => {
      if (!fns) {
        const pre = registry.isBuiltin ? loadPrecompiled(kind) : undefined;
        if (pre?.spec) fns = (n) => pre[n]!;
        else {
          const ajv = compileAll(registry, options);
          const exports = validatorExports(registry);
          fns = (n) => ajv.getSchema(exports[n]!)!;
        }
      }
      return fns(name);
    };
  };
  const fast = lazy('fast', AJV_FAST);
  const detailed = lazy('detailed', AJV_DETAILED);
  const run = (name: string, value: unknown): ErrorObject[] | undefined => {
    if (fast(name)(value)) return undefined;
    const d = detailed(name);
    return d(value) ? [] : [...(d.errors ?? [])];
  };
  const v: SchemaValidators = {
    spec: (value) => run('spec', value),
    attrs: (op, value) => run(`attrs_${op}`, value),
  };
  cache.set(registry, v);
  return v;
}

/** Validate a loaded document against the spec schema. */
export function validateDocument(doc: LoadedDocument, registry: OpRegistry): Diagnostic[] {
  const errors = schemaValidators(registry).spec(doc.value);
  if (!errors) return [];
  return translateErrors(errors, { registry, locate: (ptr, which) => spanAt(doc, ptr, which) });
}

export interface ErrorContext {
  registry: OpRegistry;
  locate(ptr: string, which?: 'value' | 'key'): Diagnostic['span'];
  /** Describes the value at ptr for messages; default uses the path. */
  describe?(ptr: string): string;
  /** Extra related info for every diagnostic (e.g. "evaluated from"). */
  related?: Diagnostic['related'];
}

function segments(ptr: string): string[] {
  return ptr === '' ? [] : ptr.slice(1).split('/').map(unescapePointer);
}

/** Is the mapping at `ptr` the attribute map of an op item (`.../layers/3/conv2d`)? */
function opAt(ptr: string, registry: OpRegistry): string | undefined {
  const segs = segments(ptr);
  const last = segs[segs.length - 1];
  const parent = segs[segs.length - 2];
  if (last !== undefined && registry.has(last) && parent !== undefined && /^\d+$/.test(parent)) return last;
  return undefined;
}

export function describePath(ptr: string, registry: OpRegistry): string {
  const segs = segments(ptr);
  const last = segs[segs.length - 1];
  if (last !== undefined && opAt(ptr, registry)) {
    const def = registry.get(last)!;
    const only = shorthandAttr(def);
    if (only) return `${last} attribute '${only}'`;
  }
  if (segs.length >= 3) {
    const op = opAt('/' + segs.slice(0, -1).join('/'), registry);
    if (op) return `${op} attribute '${segs[segs.length - 1]}'`;
  }
  if (segs.length === 0) return 'the spec';
  return `'${segs.map((s) => (/^\d+$/.test(s) ? `[${s}]` : s)).join('.').replace(/\.\[/g, '[')}'`;
}

function schemaExpectation(s: JsonSchema | undefined): string {
  if (!s) return 'a valid value';
  if (s.$ref === '#/definitions/expression') return 'an expression (${...} or $name)';
  if (Array.isArray(s.anyOf)) return (s.anyOf as JsonSchema[]).map(schemaExpectation).join(', or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return `one of ${(s.enum as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
  switch (s.type) {
    case 'integer': return `an integer${s.minimum !== undefined ? ` >= ${s.minimum}` : ''}`;
    case 'number': return 'a number';
    case 'boolean': return 'true or false';
    case 'string': return 'a string';
    case 'null': return 'null';
    case 'object': return 'a mapping';
    case 'array': {
      const n = s.minItems !== undefined && s.minItems === s.maxItems ? `${s.minItems} ` : '';
      const items = s.items as JsonSchema | undefined;
      const what = items?.type === 'integer' ? 'integers' : items?.type === 'array' ? 'lists' : 'values';
      return `a list of ${n}${what}`;
    }
  }
  if (s.$ref) return String(s.$ref).split('/').pop()!;
  return 'a valid value';
}

const isExprString = (v: unknown) => typeof v === 'string' && v.startsWith('$');

export function translateErrors(errors: readonly ErrorObject[], ctx: ErrorContext): Diagnostic[] {
  // Collapse each anyOf to the errors of the alternative the value was meant for. ajv reports
  // an anyOf's branch errors just before the anyOf error itself, so they are the trailing
  // errors at or below its instance path; nested anyOfs are collapsed first, in order.
  const errs: ErrorObject[] = [];
  const within = (e: ErrorObject, path: string) => e.instancePath === path || e.instancePath.startsWith(path + '/');
  for (const e of errors) {
    if (e.keyword !== 'anyOf') { errs.push(e); continue; }
    // Members: the trailing errors from this anyOf's branches (by schema path), or from the
    // expression definition it refers to (whose schema paths are relative to that definition).
    const prefix = e.schemaPath + '/';
    const member = (x: ErrorObject) =>
      within(x, e.instancePath) && (x.schemaPath.startsWith(prefix) || (x.instancePath === e.instancePath && isExpressionSchema(x.parentSchema)));
    let k = errs.length;
    while (k > 0 && member(errs[k - 1]!)) k--;
    const members = errs.splice(k);
    errs.push(...collapseAnyOf(e, members));
  }
  // A misspelt required attribute shows as "unknown 'filtres'" and "missing 'filters'": keep the first,
  // whose hint names the second.
  const suggested = new Set<string>();
  for (const e of errs) {
    if (e.keyword !== 'additionalProperties') continue;
    const known = Object.keys(((e.parentSchema as JsonSchema | undefined)?.properties as object) ?? {});
    const m = /'(.*)'/.exec(didYouMean(String((e.params as { additionalProperty: string }).additionalProperty), known) ?? '');
    if (m) suggested.add(`${e.instancePath}|${m[1]}`);
  }
  // ajv may report the same problem through several paths; keep one per (path, keyword, property).
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of errs) {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (e.keyword === 'required' && suggested.has(`${e.instancePath}|${(e.params as { missingProperty: string }).missingProperty}`)) continue;
    const d = translate(e, ctx);
    if (d) out.push(ctx.related ? { ...d, related: [...(d.related ?? []), ...ctx.related] } : d);
  }
  return out;
}

const isExpressionSchema = (s: unknown) => (s as JsonSchema | undefined)?.pattern === EXPR_PATTERN;

function collapseAnyOf(group: ErrorObject, members: ErrorObject[]): ErrorObject[] {
  const branches = (group.schema as JsonSchema[] | undefined) ?? [];
  const data = group.data;
  const prefix = group.schemaPath + '/';
  const exprIndex = branches.findIndex((b) => b.$ref === '#/definitions/expression');
  // Which branch each error came from: its schema path, or (through a $ref) the expression definition.
  const byBranch = new Map<number, ErrorObject[]>();
  for (const m of members) {
    const idx = m.schemaPath.startsWith(prefix) ? Number(m.schemaPath.slice(prefix.length).split('/')[0]) : isExpressionSchema(m.parentSchema) ? exprIndex : -1;
    byBranch.set(idx, [...(byBranch.get(idx) ?? []), m]);
  }
  const topTypeError = (es: ErrorObject[]) =>
    es.some((x) => x.instancePath === group.instancePath && (x.keyword === 'type' || x.keyword === 'const' || (x.keyword === 'enum' && typeof data !== 'string')));
  const matched = [...byBranch.entries()].filter(([i, es]) => {
    if (i < 0) return false;
    if (i === exprIndex) return isExprString(data);
    if (isExprString(data)) return false;
    return !topTypeError(es);
  });
  // Of several object branches, the one whose required keys the value has (`{image_folder: ...}`, not `{name: ...}`).
  const lacksRequired = (es: ErrorObject[]) => es.some((x) => x.instancePath === group.instancePath && x.keyword === 'required');
  const complete = matched.length > 1 ? matched.find(([, es]) => !lacksRequired(es)) : undefined;
  if (complete) return complete[1];
  if (matched.length > 0) return matched[0]![1];
  return [{ ...group, keyword: 'type', params: { expected: schemaExpectation({ anyOf: branches }) } }];
}

function translate(e: ErrorObject, ctx: ErrorContext): Diagnostic | undefined {
  const ptr = e.instancePath;
  const what = ctx.describe?.(ptr) ?? describePath(ptr, ctx.registry);
  const data = e.data;
  const parentSchema = e.parentSchema as JsonSchema | undefined;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const childPtr = `${ptr}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const known = Object.keys((parentSchema?.properties as object) ?? {});
      const hint = didYouMean(key, known) ?? (known.length && known.length <= 12 ? `allowed here: ${known.join(', ')}` : undefined);
      const op = opAt(ptr, ctx.registry);
      if (op) {
        return diag('unknownAttribute', `${op} has no attribute '${key}'`, ctx.locate(childPtr, 'key'), hint ? { hint } : {});
      }
      return diag('unknownKey', `unknown key '${key}' in ${what}`, ctx.locate(childPtr, 'key'), hint ? { hint } : {});
    }
    case 'required': {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      const op = opAt(ptr, ctx.registry);
      if (op) return diag('missingKey', `${op} is missing its required attribute '${missing}'`, ctx.locate(ptr, 'key'));
      return diag('missingKey', `${what} is missing the required key '${missing}'`, ctx.locate(ptr, 'key'));
    }
    case 'type': {
      const expected = (e.params as { expected?: string; type?: string }).expected ?? String((e.params as { type?: string }).type);
      const exp = /^(integer|number|string|boolean|object|array|null)$/.test(expected)
        ? schemaExpectation({ type: expected, ...(parentSchema?.minimum !== undefined ? { minimum: parentSchema.minimum } : {}) })
        : expected;
      const quotedNumber = typeof data === 'string' && data.trim() !== '' && !Number.isNaN(Number(data));
      return diag('wrongType', `${what} must be ${exp}, got ${typeName(data)} ${show(data)}`, ctx.locate(ptr), quotedNumber ? { hint: 'remove the quotes: a quoted number is a string in YAML' } : {});
    }
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const p = e.params as { comparison: string; limit: number };
      return diag('outOfRange', `${what} must be ${p.comparison} ${p.limit}, got ${show(data)}`, ctx.locate(ptr));
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []);
      const hint = typeof data === 'string' ? didYouMean(data, allowed.filter((x): x is string => typeof x === 'string')) : undefined;
      const list = allowed.map((x) => JSON.stringify(x)).join(', ');
      return diag('notInEnum', `${what} must be one of ${list}; got ${show(data)}`, ctx.locate(ptr), hint ? { hint } : {});
    }
    case 'const': {
      if (ptr === '/modelspec') return diag('unsupportedVersion', `this compiler reads modelspec: 1, the spec says modelspec: ${show(data)}`, ctx.locate(ptr));
      return diag('notInEnum', `${what} must be ${show((e.params as { allowedValue: unknown }).allowedValue)}, got ${show(data)}`, ctx.locate(ptr));
    }
    case 'pattern': {
      if (e.propertyName !== undefined) {
        return diag('invalidValue', `the name '${e.propertyName}' in ${what} must be an identifier (letters, digits and _, not starting with a digit)`, ctx.locate(`${ptr}/${e.propertyName.replace(/~/g, '~0').replace(/\//g, '~1')}`, 'key'));
      }
      if (typeof data === 'string' && data.startsWith('$')) {
        return diag('exprSyntax', `${what}: '${data}' is neither a variable ($name) nor an expression (\${...})`, ctx.locate(ptr));
      }
      return diag('invalidValue', `${what} must be an identifier (letters, digits and _, not starting with a digit), got ${show(data)}`, ctx.locate(ptr));
    }
    case 'propertyNames':
      return undefined; // reported through the nested 'pattern' error
    case 'minItems': case 'maxItems': {
      const limit = (e.params as { limit: number }).limit;
      return diag('invalidValue', `${what} must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${limit} item${limit === 1 ? '' : 's'}, got ${Array.isArray(data) ? data.length : '?'}`, ctx.locate(ptr));
    }
    case 'minProperties':
      return diag('invalidValue', `${what} must not be empty`, ctx.locate(ptr));
    default:
      return diag('invalidValue', `${what} is invalid (${e.keyword} ${JSON.stringify(e.params)})`, ctx.locate(ptr));
  }
}

