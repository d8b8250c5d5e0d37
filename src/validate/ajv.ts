/**
 * Stage 2a: JSON Schema validation with ajv, and translation of ajv's errors
 * into one clear diagnostic each: an `anyOf` of "literal or expression" reports
 * the alternative the value was meant for, not a wall of alternatives.
 */
import AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Diagnostic } from '../types/diagnostic.js';
import type { JsonSchema, OpRegistry } from '../ops/index.js';
import { diag, didYouMean } from '../diagnostics/diagnostics.js';
import { generateSchema, opAttrsLiteralSchema } from './schema.js';
import { spanAt, unescapePointer, type LoadedDocument } from '../load/yaml.js';
import { show, typeName } from '../expr/evaluate.js';

// ajv is published as CommonJS; its default export arrives one level down under ESM.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule.default;

export interface SchemaValidators {
  schema: JsonSchema;
  spec: ValidateFunction;
  /** Literal attribute validators per op, for values produced by expressions. */
  attrs(op: string): ValidateFunction;
}

const cache = new WeakMap<OpRegistry, SchemaValidators>();

export function schemaValidators(registry: OpRegistry): SchemaValidators {
  const hit = cache.get(registry);
  if (hit) return hit;
  const schema = generateSchema(registry);
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, allowUnionTypes: true });
  const spec = ajv.compile(schema);
  const attrValidators = new Map<string, ValidateFunction>();
  const v: SchemaValidators = {
    schema,
    spec,
    attrs(op) {
      const hit = attrValidators.get(op);
      if (hit) return hit;
      const f = ajv.compile(opAttrsLiteralSchema(registry, op));
      attrValidators.set(op, f);
      return f;
    },
  };
  cache.set(registry, v);
  return v;
}

/** Validate a loaded document against the spec schema. */
export function validateDocument(doc: LoadedDocument, registry: OpRegistry): Diagnostic[] {
  const v = schemaValidators(registry);
  if (v.spec(doc.value)) return [];
  const ctx: ErrorContext = { registry, locate: (ptr, which) => spanAt(doc, ptr, which), root: doc.value };
  return translateErrors(v.spec.errors ?? [], ctx);
}

export interface ErrorContext {
  registry: OpRegistry;
  locate(ptr: string, which?: 'value' | 'key'): Diagnostic['span'];
  /** The validated value, to look up data at a path. */
  root: unknown;
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

function valueAt(root: unknown, ptr: string): unknown {
  let v: unknown = root;
  for (const s of segments(ptr)) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

const isExprString = (v: unknown) => typeof v === 'string' && v.startsWith('$');

export function translateErrors(errors: readonly ErrorObject[], ctx: ErrorContext): Diagnostic[] {
  let errs = [...errors];
  // Resolve anyOf groups innermost first: each collapses to the errors of the branch the value was meant for.
  const anyOfs = errs
    .filter((e) => e.keyword === 'anyOf')
    .sort((a, b) => b.instancePath.length - a.instancePath.length || b.schemaPath.length - a.schemaPath.length);
  for (const group of anyOfs) {
    if (!errs.includes(group)) continue;
    const prefix = group.schemaPath.replace(/\/anyOf$/, '/anyOf/');
    const members = errs.filter((e) => e !== group && e.schemaPath.startsWith(prefix) && e.instancePath.startsWith(group.instancePath));
    const branches = (group.schema as JsonSchema[]) ?? [];
    const data = group.data;
    const byBranch = new Map<number, ErrorObject[]>();
    for (const e of members) {
      const idx = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      byBranch.set(idx, [...(byBranch.get(idx) ?? []), e]);
    }
    const isExprBranch = (i: number) => (branches[i] as JsonSchema | undefined)?.$ref === '#/definitions/expression';
    const matched = [...byBranch.entries()].filter(([i, es]) => {
      if (isExprBranch(i)) return isExprString(data);
      if (isExprString(data)) return false;
      return !es.some((e) => e.instancePath === group.instancePath && (e.keyword === 'type' || e.keyword === 'const' || (e.keyword === 'enum' && typeof data !== 'string')));
    });
    let replacement: ErrorObject[];
    if (matched.length > 0) {
      replacement = matched[0]![1];
    } else {
      replacement = [{
        ...group,
        keyword: 'type',
        params: { expected: schemaExpectation({ anyOf: branches }) },
        message: 'wrong type',
      }];
    }
    errs = errs.filter((e) => e !== group && !members.includes(e));
    errs.push(...replacement);
  }
  // ajv may report the same problem through several paths; keep one per (path, keyword, property).
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const e of errs) {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const d = translate(e, ctx);
    if (d) out.push(ctx.related ? { ...d, related: [...(d.related ?? []), ...ctx.related] } : d);
  }
  return out;
}

function translate(e: ErrorObject, ctx: ErrorContext): Diagnostic | undefined {
  const ptr = e.instancePath;
  const what = ctx.describe?.(ptr) ?? describePath(ptr, ctx.registry);
  const data = e.data;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const childPtr = `${ptr}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const known = Object.keys(((e.parentSchema as JsonSchema)?.properties as object) ?? {});
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
        ? schemaExpectation({ type: expected, ...((e.parentSchema as JsonSchema)?.minimum !== undefined ? { minimum: (e.parentSchema as JsonSchema).minimum } : {}) })
        : expected;
      return diag('wrongType', `${what} must be ${exp}, got ${typeName(data)} ${show(data)}`, ctx.locate(ptr));
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
      return diag('invalidValue', `${what} ${e.message ?? 'is invalid'}`, ctx.locate(ptr));
  }
}

export { valueAt };
