/**
 * Stage 2b: schema-valid data -> spec AST. Parses every `${...}` expression,
 * classifies items (layer, block call, share, repeat, for, branches) and checks
 * what the schema cannot say: one op per item, keys that belong to the kind of item.
 */
import type { Diagnostic, SourceSpan } from '../types/diagnostic.js';
import type {
  AssertDecl, BlockDecl, Branch, InputDecl, Item, LetDecl, ParamDecl, ParamType, Ref, SpecAst, Template,
} from '../types/spec.js';
import type { OpRegistry } from '../ops/index.js';
import { diag, didYouMean } from '../diagnostics/diagnostics.js';
import { escapePointer, spanAt, type LoadedDocument } from '../load/yaml.js';
import { ExprSyntaxError, parseExpr } from '../expr/parse.js';
import { DEFAULT_LIMITS, type Limits } from '../limits.js';
import { ITEM_KEYS, shorthandAttr } from './schema.js';
import { checkParamValue } from './params.js';

type Raw = Record<string, unknown>;

const KIND_KEYS: Record<'layer' | 'share' | 'repeat' | 'for' | 'branches', readonly string[]> = {
  layer: ['id', 'from', 'when'],
  share: ['share', 'id', 'from', 'when'],
  repeat: ['repeat', 'as', 'let', 'when', 'layers', 'id', 'from'],
  for: ['for', 'in', 'let', 'when', 'layers', 'id', 'from'],
  branches: ['branches', 'merge', 'axis', 'let', 'when', 'id', 'from'],
};

export interface AstBuild {
  ast: SpecAst;
  /** `use:` entries with the pointer of each, resolved by the next stage. */
  uses: { path: string; ptr: string }[];
  /** Blocks defined in this file. */
  ownBlocks: BlockDecl[];
  hasLayers: boolean;
}

export class AstBuilder {
  readonly diagnostics: Diagnostic[] = [];
  constructor(private readonly doc: LoadedDocument, private readonly registry: OpRegistry, private readonly limits: Pick<Limits, 'maxExprLength' | 'maxExprDepth'> = DEFAULT_LIMITS) {}

  private span(ptr: string, which: 'value' | 'key' = 'value'): SourceSpan {
    return spanAt(this.doc, ptr, which);
  }

  build(): AstBuild {
    const raw = this.doc.value as Raw;
    const file = this.doc.file;
    const ast: SpecAst = {
      file,
      name: typeof raw.name === 'string' ? raw.name : defaultName(file),
      params: this.params(raw.params as Raw | undefined, '/params'),
      lets: this.lets(raw.let as Raw | undefined, '/let'),
      asserts: this.asserts(raw.assert as unknown[] | undefined, '/assert'),
      inputs: this.inputs(raw.inputs as Raw | undefined),
      blocks: new Map(),
      body: this.sequence((raw.layers as unknown[] | undefined) ?? [], '/layers'),
    };
    if (typeof raw.doc === 'string') ast.doc = raw.doc;
    if (raw.outputs !== undefined) ast.outputs = this.refs(raw.outputs, '/outputs');
    if (raw.training !== undefined) ast.training = raw.training;
    const ownBlocks = Object.entries((raw.blocks as Raw | undefined) ?? {}).map(([name, b]) =>
      this.block(name, b as Raw, `/blocks/${escapePointer(name)}`),
    );
    const uses = ((raw.use as string[] | undefined) ?? []).map((path, i) => ({ path, ptr: `/use/${i}` }));
    return { ast, uses, ownBlocks, hasLayers: raw.layers !== undefined };
  }

  template(value: unknown, ptr: string): Template {
    if (typeof value === 'string' && value.startsWith('$')) {
      if (value.startsWith('$$')) return { kind: 'lit', value: value.slice(1), ptr };
      const valueSpan = this.span(ptr);
      if (!/^\$(\{[\s\S]*\}|[A-Za-z_][A-Za-z0-9_]*)$/.test(value)) {
        this.diagnostics.push(diag('exprSyntax', `'${value}' is neither a variable ($name) nor an expression (\${...})`, valueSpan, {
          hint: value.startsWith('${') ? 'close the expression with }' : `write \${${value.slice(1)}}, or $$ for a literal $`,
        }));
        return { kind: 'lit', value: null, ptr };
      }
      const text = this.doc.text;
      const braced = value.startsWith('${');
      const source = braced ? value.slice(2, -1) : value.slice(1);
      // Where the expression text starts in the file (plain and quoted scalars alike).
      const at = text.indexOf(braced ? '${' : value, valueSpan.start);
      const start = at >= 0 && at < valueSpan.end ? at + (braced ? 2 : 1) : valueSpan.start;
      const span: SourceSpan = { file: this.doc.file, start, end: start + source.length };
      try {
        return { kind: 'expr', expr: parseExpr(source, this.limits), source, text: value, span, ptr };
      } catch (e) {
        if (e instanceof ExprSyntaxError) {
          this.diagnostics.push(diag('exprSyntax', e.message, { file: span.file, start: start + e.start, end: start + Math.max(e.end, e.start + 1) }));
          return { kind: 'lit', value: null, ptr };
        }
        throw e;
      }
    }
    if (Array.isArray(value)) return { kind: 'list', items: value.map((v, i) => this.template(v, `${ptr}/${i}`)), ptr };
    if (value !== null && typeof value === 'object') {
      return { kind: 'map', entries: Object.entries(value as Raw).map(([k, v]) => [k, this.template(v, `${ptr}/${escapePointer(k)}`)]), ptr };
    }
    return { kind: 'lit', value, ptr };
  }

  params(raw: Raw | undefined, ptr: string): ParamDecl[] {
    return Object.entries(raw ?? {}).map(([name, p]) => {
      const r = p as Raw;
      const pptr = `${ptr}/${escapePointer(name)}`;
      const decl: ParamDecl = {
        name,
        type: r.type as ParamType,
        hasDefault: 'default' in r,
        nullable: r.nullable === true || ('default' in r && r.default === null),
        ptr: pptr,
      };
      if ('default' in r) decl.default = r.default;
      if (typeof r.min === 'number') decl.min = r.min;
      if (typeof r.max === 'number') decl.max = r.max;
      if (Array.isArray(r.values)) decl.values = r.values;
      if (typeof r.doc === 'string') decl.doc = r.doc;
      // Keys that mean nothing for the declared type are errors, not silently ignored bounds.
      const applies: Record<string, readonly string[]> = { min: ['int', 'float'], max: ['int', 'float'], values: ['enum'] };
      for (const [key, types] of Object.entries(applies)) {
        if (key in r && !types.includes(decl.type)) {
          this.diagnostics.push(diag('keyNotAllowedHere', `'${key}' does not apply to a parameter of type ${decl.type} (only ${types.join(', ')})`, this.span(`${pptr}/${key}`, 'key')));
        }
      }
      if (['true', 'false', 'null'].includes(name)) {
        this.diagnostics.push(diag('invalidValue', `'${name}' cannot be a parameter name: it is a literal in expressions`, this.span(pptr, 'key')));
      }
      // Defaults are checked where they are written, even when every run overrides them.
      if ('default' in r && decl.type) {
        const problem = checkParamValue(decl, r.default);
        if (problem) this.diagnostics.push(diag(problem.kind === 'type' ? 'paramType' : 'paramRange', problem.message.replace(/^parameter/, 'the default of parameter'), this.span(`${pptr}/default`)));
      }
      if (decl.type === 'enum' && !decl.values) {
        this.diagnostics.push(diag('missingKey', `enum parameter '${name}' needs 'values'`, this.span(pptr, 'key')));
      }
      if (decl.min !== undefined && decl.max !== undefined && decl.min > decl.max) {
        this.diagnostics.push(diag('invalidValue', `parameter '${name}' has min ${decl.min} > max ${decl.max}`, this.span(`${pptr}/min`)));
      }
      return decl;
    });
  }

  lets(raw: Raw | undefined, ptr: string): LetDecl[] {
    return Object.entries(raw ?? {}).map(([name, v]) => {
      const lptr = `${ptr}/${escapePointer(name)}`;
      return { name, value: this.template(v, lptr), ptr: lptr };
    });
  }

  asserts(raw: unknown[] | undefined, ptr: string): AssertDecl[] {
    return (raw ?? []).map((a, i) => {
      const r = a as Raw;
      return { that: this.template(r.that, `${ptr}/${i}/that`), message: String(r.message), ptr: `${ptr}/${i}` };
    });
  }

  inputs(raw: Raw | undefined): InputDecl[] {
    return Object.entries(raw ?? {}).map(([name, v]) => {
      const r = v as Raw;
      const ptr = `/inputs/${escapePointer(name)}`;
      return { name, shape: this.template(r.shape, `${ptr}/shape`), dtype: typeof r.dtype === 'string' ? r.dtype : 'float32', ptr };
    });
  }

  refs(raw: unknown, ptr: string): Ref[] {
    if (Array.isArray(raw)) return raw.map((name, i) => ({ name: String(name), ptr: `${ptr}/${i}` }));
    return [{ name: String(raw), ptr }];
  }

  block(name: string, r: Raw, ptr: string): BlockDecl {
    const b: BlockDecl = {
      name,
      params: this.params(r.params as Raw | undefined, `${ptr}/params`),
      lets: this.lets(r.let as Raw | undefined, `${ptr}/let`),
      asserts: this.asserts(r.assert as unknown[] | undefined, `${ptr}/assert`),
      inputs: Array.isArray(r.inputs) ? (r.inputs as string[]) : ['x'],
      body: this.sequence((r.layers as unknown[]) ?? [], `${ptr}/layers`),
      file: this.doc.file,
      ptr,
    };
    if (typeof r.doc === 'string') b.doc = r.doc;
    if (typeof r.output === 'string') b.output = { name: r.output, ptr: `${ptr}/output` };
    return b;
  }

  sequence(raw: unknown[], ptr: string): Item[] {
    const items: Item[] = [];
    raw.forEach((r, i) => {
      const item = this.item(r as Raw, `${ptr}/${i}`);
      if (item) items.push(item);
    });
    return items;
  }

  /** One item of a sequence. Long (~105 lines): one case per kind of item (layer, call, share, repeat, for, branches), each short. */
  private item(r: Raw, ptr: string): Item | undefined {
    const keys = Object.keys(r);
    const kind = 'repeat' in r ? 'repeat' : 'for' in r ? 'for' : 'branches' in r ? 'branches' : 'share' in r ? 'share' : 'layer';
    const allowed = KIND_KEYS[kind];
    const reserved = ITEM_KEYS as readonly string[];
    const opKeys = keys.filter((k) => !reserved.includes(k));
    let bad = false;
    for (const k of keys) {
      if (reserved.includes(k) && !allowed.includes(k)) {
        const kindName = kind === 'layer' ? 'a layer or block call' : `a '${kind}' item`;
        this.diagnostics.push(diag('keyNotAllowedHere', `'${k}' is not allowed on ${kindName}`, this.span(`${ptr}/${escapePointer(k)}`, 'key'), {
          hint: `${kindName} takes: ${allowed.join(', ')}`,
        }));
        bad = true;
      }
    }
    const base = {
      ptr,
      lets: 'let' in r ? this.lets(r.let as Raw, `${ptr}/let`) : [],
      ...(typeof r.id === 'string' ? { id: r.id } : {}),
      ...('from' in r ? { from: this.refs(r.from, `${ptr}/from`) } : {}),
      ...('when' in r ? { when: this.template(r.when, `${ptr}/when`) } : {}),
    };
    if (kind !== 'layer' && opKeys.length > 0) {
      const k = opKeys[0]!;
      const hint = didYouMean(k, KIND_KEYS[kind]);
      this.diagnostics.push(diag('keyNotAllowedHere', `'${k}' is not allowed on a '${kind}' item${this.registry.has(k) ? ' (an op goes in its own item under layers:)' : ''}`, this.span(`${ptr}/${escapePointer(k)}`, 'key'), hint ? { hint } : {}));
      return undefined;
    }
    switch (kind) {
      case 'layer': {
        if (opKeys.length !== 1) {
          if (opKeys.length === 0) {
            this.diagnostics.push(diag('itemOpCount', 'this item names no op or block', this.span(ptr), {
              hint: 'write the layer as `- conv2d: {filters: 32, kernel_size: 3}`',
            }));
          } else {
            this.diagnostics.push(diag('itemOpCount', `this item names ${opKeys.length} ops or blocks (${opKeys.join(', ')}); an item holds exactly one`, this.span(`${ptr}/${escapePointer(opKeys[1]!)}`, 'key'), {
              hint: 'put each layer in its own list item, starting with `- `',
            }));
          }
          return undefined;
        }
        if (bad) return undefined;
        const op = opKeys[0]!;
        const aptr = `${ptr}/${escapePointer(op)}`;
        const raw = r[op];
        const args = new Map<string, Template>();
        const def = this.registry.get(op);
        const only = def ? shorthandAttr(def) : undefined;
        if (only && raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
          args.set(only, this.template(raw, aptr)); // shorthand: `- dense: 10`
        } else {
          for (const [k, v] of Object.entries((raw ?? {}) as Raw)) args.set(k, this.template(v, `${aptr}/${escapePointer(k)}`));
        }
        if (this.registry.has(op)) return { ...base, kind: 'layer', op, attrs: args };
        return { ...base, kind: 'call', block: op, args };
      }
      case 'share':
        return { ...base, kind: 'share', target: { name: String(r.share), ptr: `${ptr}/share` } };
      case 'repeat': {
        if (!('layers' in r)) { this.diagnostics.push(diag('missingKey', "'repeat' needs 'layers'", this.span(`${ptr}/repeat`, 'key'))); return undefined; }
        return {
          ...base, kind: 'repeat', count: this.template(r.repeat, `${ptr}/repeat`),
          ...(typeof r.as === 'string' ? { as: r.as } : {}),
          body: this.sequence(r.layers as unknown[], `${ptr}/layers`),
        };
      }
      case 'for': {
        for (const need of ['in', 'layers']) {
          if (!(need in r)) { this.diagnostics.push(diag('missingKey', `'for' needs '${need}'`, this.span(`${ptr}/for`, 'key'))); return undefined; }
        }
        return {
          ...base, kind: 'for', var: String(r.for), in: this.template(r.in, `${ptr}/in`),
          body: this.sequence(r.layers as unknown[], `${ptr}/layers`),
        };
      }
      case 'branches': {
        const rawBranches = r.branches as unknown[];
        if (!('merge' in r) && rawBranches.length > 1) {
          this.diagnostics.push(diag('missingKey', "'branches' needs 'merge' (add, concatenate, multiply, average, maximum or minimum)", this.span(`${ptr}/branches`, 'key')));
          return undefined;
        }
        const branches: Branch[] = rawBranches.map((b, j) => {
          const bptr = `${ptr}/branches/${j}`;
          if (Array.isArray(b)) return { ptr: bptr, body: this.sequence(b, bptr) };
          const br = b as Raw;
          return {
            ptr: bptr,
            body: this.sequence(br.layers as unknown[], `${bptr}/layers`),
            ...('from' in br ? { from: this.refs(br.from, `${bptr}/from`) } : {}),
          };
        });
        const mergeAttrs = new Map<string, Template>();
        if ('axis' in r) {
          if (r.merge !== 'concatenate') {
            this.diagnostics.push(diag('keyNotAllowedHere', `'axis' applies only to merge: concatenate, not to merge: ${String(r.merge ?? 'add')}`, this.span(`${ptr}/axis`, 'key')));
            return undefined;
          }
          mergeAttrs.set('axis', this.template(r.axis, `${ptr}/axis`));
        }
        return { ...base, kind: 'branches', branches, merge: String(r.merge ?? 'add'), mergeAttrs };
      }
    }
  }
}

function defaultName(file: string): string {
  const base = file.split('/').pop()!.replace(/\.ya?ml$/, '');
  return base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
}
