/**
 * The module generator: a checked spec AST -> one TypeScript module that builds the same
 * tf.LayersModel as the interpreter, written the way one would write it by hand with the
 * Keras functional API: blocks are functions, `repeat`/`for` are loops, `when` is `if`, `let`
 * is `const`, `branches` build each branch then the merge, expressions are TypeScript
 * expressions. Evaluation order, naming and defaults follow src/expand/instantiate.ts step by
 * step; the runtime (src/runtime) does the naming and the layer configs with the compiler's
 * and the interpreter's own code.
 */
import { Msg, Say, type Said } from '../diagnostics/messages.js';
import type { BlockDecl, Branch, Item, ParamDecl, Ref, SpecAst, Template } from '../types/spec.js';
import type { OpRegistry } from '../ops/index.js';
import { Idents, camelCase, constantCase, pascalCase } from './names.js';
import { ExprSyntaxError, freeVariables, parseExpr } from '../expr/parse.js';
import { loopOutputRef } from '../expand/engine.js';
import {
  assertVars, narrowedBy, numberLiteral, printCondition, printExpr, printTemplate, printValue, propertyKey, quote, show, type ExprEnv,
} from './expr.js';
import { NUM, UNKNOWN, fitsParam, isList, paramType, widen, type SType } from './stype.js';
import { MAX_LINE, Writer, docText, emitCall, indentText, objectLines, objectLiteral, wrapList } from './layout.js';

/** What the generated module needs from the runtime, by kind of import. */
const RUNTIME_VALUES = ['loopOutput', 'model', 'assert', 'fail', 'floorDiv', 'mod', 'eq', 'range', 'at', 'len', 'num', 'bool', 'plus', 'compare', 'min', 'max', 'unchecked', 'ref', 'noInput', 'when', 'shapeOf', 'channelsOf'] as const;
const RUNTIME_TYPES = ['Activation', 'ParamSpec', 'Scope', 'Tensor', 'Value'] as const;
export const RUNTIME_MODULE = 'modelspec/runtime';

/** Spec variables in scope: TypeScript name and static type. */
class VarEnv {
  private readonly vars = new Map<string, { ident: string; type: SType }>();
  constructor(readonly parent?: VarEnv) {}
  get(name: string): { ident: string; type: SType } | undefined {
    return this.vars.get(name) ?? this.parent?.get(name);
  }
  set(name: string, ident: string, type: SType): void {
    this.vars.set(name, { ident, type });
  }
}

interface RefInfo {
  /** The TypeScript name of the tensor; undefined for an item left out by a literal `when: false`. */
  ident?: string;
  /** Defined by an item with `when:`: `Tensor | undefined`. */
  conditional: boolean;
  /** A loop's output that may be no tensor at all (no iteration, and no input to pass through). */
  mayBeEmpty?: boolean;
  /** The item that defined it (absent for inputs). */
  item?: Item;
  input?: boolean;
}

/** References in scope (inputs and ids). */
class RefEnv {
  private readonly refs = new Map<string, RefInfo>();
  constructor(readonly parent?: RefEnv) {}
  get(name: string): RefInfo | undefined {
    return this.refs.get(name) ?? this.parent?.get(name);
  }
  set(name: string, info: RefInfo): void {
    this.refs.set(name, info);
  }
  /** The array of an earlier loop's outputs of the item `name` (`skip[i]`). */
  private readonly lists = new Map<string, string>();
  getList(name: string): string | undefined {
    return this.lists.get(name) ?? this.parent?.getList(name);
  }
  setList(name: string, ident: string): void {
    this.lists.set(name, ident);
  }
}

/** The tensor a function threads through its items (`x`). */
interface Chain {
  ident?: string;
  declared: boolean;
  /** The function's top-level scope, where the chain is declared. */
  fnIdents: Idents;
}

/** The current tensor: a TypeScript expression, `maybe` undefined where an earlier item had none. */
interface Cur {
  code: string;
  maybe?: boolean;
}

interface Ctx {
  w: Writer;
  idents: Idents;
  vars: VarEnv;
  refs: RefEnv;
  /** TypeScript name of the current Scope object. */
  scope: string;
  chain: Chain;
  narrowed: ReadonlySet<string>;
  /** Inputs visible at the start (for the message of an item without input). */
  inputs: number;
  loopDepth: number;
  /** Tensor variables the code reads (so a branch can leave out an input it does not use). */
  reads: Set<string>;
}

export interface ModuleParts {
  /** Names of the runtime's values and types the module imports. */
  values: string[];
  types: string[];
  /** Top-level declarations in order, each as TypeScript text with its JSDoc. */
  declarations: Declaration[];
  builderName: string;
  optionsName: string;
}

export type Declaration =
  | { kind: 'interface'; name: string; docs: string[]; properties: { name: string; type: string; docs: string; optional?: boolean }[]; exported: boolean }
  | { kind: 'const'; name: string; type?: string; initializer: string; docs: string[]; exported: boolean }
  | { kind: 'function'; name: string; docs: string[]; parameters: { name: string; type: string; initializer?: string; optional?: boolean }[]; returnType: string; body: string; exported: boolean };

function literalType(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') return numberLiteral(v);
  if (typeof v === 'boolean') return String(v);
  return 'Value';
}

/** The TypeScript type of a parameter's values. */
function tsParamType(p: ParamDecl, types: Set<string>): string {
  let t: string;
  switch (p.type) {
    case 'int': case 'float': t = 'number'; break;
    case 'bool': t = 'boolean'; break;
    case 'string': t = 'string'; break;
    case 'shape': t = 'number[]'; break;
    case 'activation': types.add('Activation'); t = 'Activation'; break;
    case 'enum': {
      const vs = [...new Set((p.values ?? []).map(literalType))];
      if (vs.includes('Value')) types.add('Value');
      t = vs.length ? vs.join(' | ') : 'never';
      break;
    }
    default: t = 'unknown';
  }
  return p.nullable && t !== 'unknown' && !t.split(' | ').includes('null') ? `${t} | null` : t;
}

function paramDocs(p: ParamDecl): string {
  const parts: string[] = [];
  if (p.doc) parts.push(docText(p.doc), '');
  const facts: string[] = [p.type === 'enum' ? `enum: ${(p.values ?? []).map((v) => show(v)).join(', ')}` : `${p.type}`];
  if ((p.type === 'int' || p.type === 'float') && p.min !== undefined) facts.push(`>= ${p.min}`);
  if ((p.type === 'int' || p.type === 'float') && p.max !== undefined) facts.push(`<= ${p.max}`);
  if (p.nullable) facts.push('or null');
  parts.push(docText(facts.join(', ') + (p.hasDefault ? '' : '; required (no default)')));
  if (p.hasDefault) parts.push(`@defaultValue ${docText(show(p.default))}`);
  return parts.join('\n');
}

function paramSpec(p: ParamDecl): string {
  const e: string[] = [`name: ${quote(p.name)}`, `type: ${quote(p.type)}`];
  if (p.hasDefault) e.push(`default: ${printValue(p.default).code}`);
  if (p.min !== undefined && (p.type === 'int' || p.type === 'float')) e.push(`min: ${numberLiteral(p.min)}`);
  if (p.max !== undefined && (p.type === 'int' || p.type === 'float')) e.push(`max: ${numberLiteral(p.max)}`);
  if (p.type === 'enum') e.push(`values: ${printValue(p.values ?? []).code}`);
  if (p.nullable) e.push('nullable: true');
  return `{ ${e.join(', ')} }`;
}

/** All ids given to the items of a sequence (generated names avoid them). */
function idsOf(items: readonly Item[]): string[] {
  return [...new Set(items.flatMap((i) => (i.id ? [i.id] : [])))];
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The ids of a sequence that a generated name of the same scope could take: `conv2d` or
 * `conv2d_2` where an unnamed conv2d is made there, `stage...` where a loop over `stage` is.
 * Only those need reserving (`s.reserve(...)`); conservative where a name depends on values.
 */
function idsToReserve(items: readonly Item[], registry: OpRegistry): string[] {
  const ids = idsOf(items);
  if (ids.length === 0) return ids;
  const exact: string[] = [];
  const prefixes: string[] = [];
  let any = false;
  for (const it of items) {
    switch (it.kind) {
      case 'layer': if (!it.id) exact.push(it.op); break;
      case 'call': if (!it.id) exact.push(it.block); break;
      case 'share': if (!it.id) any = true; break;
      case 'repeat': prefixes.push(it.as ?? it.id ?? 'repeat'); break;
      case 'for': prefixes.push(it.var); break;
      case 'branches': prefixes.push('branch'); if (!it.id) exact.push(it.merge); break;
    }
  }
  if (any) return ids;
  void registry;
  return ids.filter((id) => exact.some((b) => new RegExp(`^${escapeRe(b)}(_[0-9]+)?$`).test(id)) || prefixes.some((p) => id.startsWith(p)));
}

/** Spec variables a template reads. */
function templateVars(x: Template | undefined, out: Set<string>): void {
  if (!x) return;
  if (x.kind === 'expr') freeVariables(x.expr, out);
  else if (x.kind === 'list') x.items.forEach((i) => templateVars(i, out));
  else if (x.kind === 'map') x.entries.forEach(([, v]) => templateVars(v, out));
}

/** Spec variables read by the templates of a sequence (nested loops and branches included; block bodies are not). */
function variablesRead(items: readonly Item[], out = new Set<string>()): Set<string> {
  const t = (x: Template | undefined) => templateVars(x, out);
  for (const it of items) {
    t(it.when);
    it.lets.forEach((l) => t(l.value));
    switch (it.kind) {
      case 'layer': it.attrs.forEach(t); break;
      case 'call': it.args.forEach(t); break;
      case 'repeat': t(it.count); variablesRead(it.body, out); break;
      case 'for': t(it.in); variablesRead(it.body, out); break;
      case 'branches': it.mergeAttrs.forEach(t); it.branches.forEach((b) => variablesRead(b.body, out)); break;
      case 'share': break;
    }
  }
  return out;
}

/** Variables a loop's own `let:` and body read. */
function loopReads(item: Extract<Item, { kind: 'repeat' | 'for' }>): Set<string> {
  const out = variablesRead(item.body);
  for (const l of item.lets) templateVars(l.value, out);
  return out;
}

/** Names referred to (from:, share:, output:) anywhere in a block's body. */
function referencedNames(items: readonly Item[], out = new Set<string>()): Set<string> {
  for (const it of items) {
    it.from?.forEach((r) => { out.add(r.name); out.add(r.name.replace(/\.[A-Za-z_][A-Za-z0-9_]*$/, '')); });
    if (it.kind === 'share') out.add(it.target.name);
    if (it.kind === 'repeat' || it.kind === 'for') referencedNames(it.body, out);
    if (it.kind === 'branches') for (const b of it.branches) { b.from?.forEach((r) => out.add(r.name)); referencedNames(b.body, out); }
  }
  return out;
}

export class ModuleEmitter {
  private readonly module = Idents.module();
  private readonly typeNames = new Set<string>();
  private readonly usedValues = new Set<string>();
  private readonly usedTypes = new Set<string>(['Tensor']);
  private readonly blockFns = new Map<string, { fn: string; options: string; table: string; decl: BlockDecl }>();
  private readonly declarations: Declaration[] = [];

  constructor(private readonly ast: SpecAst, private readonly registry: OpRegistry) {
    for (const n of RUNTIME_VALUES) this.module.internal(n);
    for (const n of RUNTIME_TYPES) this.typeNames.add(n);
  }

  private typeName(base: string): string {
    let name = base;
    for (let i = 2; this.typeNames.has(name); i++) name = `${base}${i}`;
    this.typeNames.add(name);
    return name;
  }

  /** The expression environment; `input`: the code of the current input tensor, for shape() and channels(). */
  private env(ctx: Ctx, input?: string): ExprEnv {
    return {
      lookup: (name) => ctx.vars.get(name),
      narrowed: ctx.narrowed,
      use: (h) => this.use(h),
      tensor: (ref) => (ref === undefined ? input : ctx.refs.get(ref) ? this.refCode({ name: ref, ptr: '' }, ctx) : undefined),
    };
  }

  private use(helper: string): string {
    if ((RUNTIME_TYPES as readonly string[]).includes(helper)) this.usedTypes.add(helper);
    else this.usedValues.add(helper);
    return helper;
  }

  // ---- the module ------------------------------------------------------------

  emit(): ModuleParts {
    const ast = this.ast;
    const pascal = pascalCase(ast.name);
    const builderName = this.module.declare(`build${pascal}`);
    const optionsName = this.typeName(`${pascal}Options`);
    this.module.internal('build');
    this.module.internal('defaults');
    const table = this.module.declare('PARAMS');

    // Blocks used by the spec, in order of first call (depth first), named before any is emitted.
    const order: BlockDecl[] = [];
    const visit = (items: readonly Item[]) => {
      for (const it of items) {
        if (it.kind === 'call') {
          const b = ast.blocks.get(it.block);
          if (b && !this.blockFns.has(b.name)) {
            this.blockFns.set(b.name, {
              fn: this.module.declare(camelCase(b.name)),
              options: this.typeName(`${pascalCase(b.name)}Options`),
              table: this.module.declare(`${constantCase(b.name)}_PARAMS`),
              decl: b,
            });
            order.push(b);
            visit(b.body);
          }
        }
        if (it.kind === 'repeat' || it.kind === 'for') visit(it.body);
        if (it.kind === 'branches') it.branches.forEach((br) => visit(br.body));
      }
    };
    visit(ast.body);

    // The options: interface, defaults, declarations.
    const required = ast.params.filter((p) => !p.hasDefault).map((p) => p.name);
    this.declarations.push({
      kind: 'interface', name: optionsName, exported: true,
      docs: [`Options of {@link ${builderName}}: the params of spec \`${docText(ast.name)}\`.`],
      properties: ast.params.map((p) => ({ name: propertyKey(p.name), type: tsParamType(p, this.usedTypes), docs: paramDocs(p) })),
    });
    const defaultsType = required.length ? `Omit<${optionsName}, ${required.map(quote).join(' | ')}>` : optionsName;
    this.declarations.push({
      kind: 'const', name: 'defaults', exported: true, type: defaultsType,
      initializer: objectLines(ast.params.filter((p) => p.hasDefault).map((p) => [p.name, printValue(p.default).code]), `export const defaults: ${defaultsType} = `.length),
      docs: ['The default of every option that has one.'],
    });
    this.usedTypes.add('ParamSpec');
    this.declarations.push({
      kind: 'const', name: table, exported: false, type: 'ParamSpec[]',
      initializer: `[${ast.params.map((p) => `\n  ${paramSpec(p)},`).join('')}${ast.params.length ? '\n' : ''}]`,
      docs: ['The params as declared, for checking options with the compiler\'s rules and messages.'],
    });

    for (const b of order) this.emitBlock(b);
    this.emitBuilder(builderName, optionsName, table, required);
    this.declarations.push({ kind: 'const', name: 'build', exported: true, initializer: builderName, docs: [`The builder of this module: {@link ${builderName}}.`] });

    return {
      values: [...this.usedValues].sort(),
      types: [...this.usedTypes].sort(),
      declarations: this.declarations,
      builderName,
      optionsName,
    };
  }

  private optionsDecls(params: readonly ParamDecl[], table: string, owner: string, optionsType: string, given: string, ctx: Ctx): void {
    if (params.length === 0) {
      ctx.w.line(`${ctx.scope}.${owner}<${optionsType}>(${table}, ${given});`);
      return;
    }
    const bindings = params.map((p) => {
      const ident = ctx.idents.declare(p.name);
      ctx.vars.set(p.name, ident, paramType(p));
      return ident === p.name ? p.name : `${propertyKey(p.name)}: ${ident}`;
    });
    const call = `${ctx.scope}.${owner}<${optionsType}>(${table}, ${given});`;
    const line = `const { ${bindings.join(', ')} } = ${call}`;
    if (ctx.w.column + line.length <= MAX_LINE) ctx.w.line(line);
    else {
      ctx.w.line('const {');
      ctx.w.indent(() => wrapList(bindings, MAX_LINE - ctx.w.column - 2).forEach((l) => ctx.w.line(l)));
      ctx.w.line(`} = ${call}`);
    }
  }

  private letsAndAsserts(lets: SpecAst['lets'], asserts: SpecAst['asserts'], ctx: Ctx, input?: string): void {
    this.lets(lets, ctx, input);
    for (const a of asserts) {
      const cond = printTemplate(a.that, this.env(ctx, input));
      const vars = assertVars(a.that, this.env(ctx));
      const args = [cond.code, quote(a.message), ...(vars.length ? [`{ ${vars.join(', ')} }`] : [])];
      const line = `${ctx.scope}.assert(${args.join(', ')});`;
      if (ctx.w.column + line.length <= MAX_LINE) ctx.w.line(line);
      else {
        ctx.w.line(`${ctx.scope}.assert(`);
        ctx.w.indent(() => args.forEach((a) => ctx.w.line(`${a},`)));
        ctx.w.line(');');
      }
    }
  }

  /** `let:` in order; `input`: the code of the current input (a loop iteration's, a block's first), for shape(). */
  private lets(lets: SpecAst['lets'], ctx: Ctx, input?: string): void {
    for (const l of lets) {
      const p = printTemplate(l.value, this.env(ctx, input));
      const ident = ctx.idents.declare(l.name);
      ctx.w.line(`const ${ident} = ${p.code};`);
      ctx.vars.set(l.name, ident, p.type);
    }
  }

  private emitBuilder(name: string, optionsName: string, table: string, required: string[]): void {
    const ast = this.ast;
    const idents = this.module.function();
    const optionsIdent = idents.internal('options');
    const tfIdent = idents.internal('tfArg');
    const scope = idents.internal('s');
    const w = new Writer();
    const ctx: Ctx = {
      w, idents, vars: new VarEnv(), refs: new RefEnv(), scope,
      chain: { declared: false, fnIdents: idents }, narrowed: new Set(), inputs: ast.inputs.length, loopDepth: 0, reads: new Set(),
    };
    w.line(`const ${scope} = ${this.use('model')}(${tfIdent}, ${quote(ast.name)});`);
    this.optionsDecls(ast.params, table, 'options', optionsName, optionsIdent, ctx);
    this.letsAndAsserts(ast.lets, ast.asserts, ctx);
    const inputIdents: string[] = [];
    for (const inp of ast.inputs) {
      const shape = printTemplate(inp.shape, this.env(ctx));
      const ident = idents.declare(inp.name);
      ctx.refs.set(inp.name, { ident, conditional: false, input: true });
      const args = [quote(inp.name), shape.code, ...(inp.dtype !== 'float32' ? [quote(inp.dtype)] : [])];
      w.line(`const ${ident} = ${scope}.input(${args.join(', ')});`);
      inputIdents.push(ident);
    }
    const start: Cur | undefined = inputIdents.length === 1 ? { code: inputIdents[0]! } : undefined;
    const last = this.sequence(ast.body, start, ctx);
    const outputs = ast.outputs ? ast.outputs.map((r) => this.refCode(r, ctx)) : last ? [this.need(last, ctx)] : [];
    w.line(`return ${scope}.model([${outputs.join(', ')}]);`);

    const optional = required.length === 0;
    const optionsType = optional ? `Partial<${optionsName}>` : `Partial<${optionsName}> & Pick<${optionsName}, ${required.map(quote).join(' | ')}>`;
    this.declarations.push({
      kind: 'function', name, exported: true,
      docs: [docText([
        ...(ast.doc ? [docText(ast.doc), ''] : []),
        `Builds the model \`${docText(ast.name)}\` (the same layers, names and configs as \`modelspec build\` of the spec).`,
        `@param ${optionsIdent} - the spec's params; omitted ones take their defaults. Invalid values throw a SpecValueError with the compiler's message.`,
        `@param ${tfIdent} - the TensorFlow.js namespace to build with (default: \`@tensorflow/tfjs\`).`,
      ].join('\n'))],
      parameters: [
        { name: optionsIdent, type: optionsType, ...(optional ? { initializer: '{}' } : {}) },
        { name: tfIdent, type: 'typeof tf', initializer: 'tf' },
      ],
      returnType: 'tf.LayersModel',
      body: w.text(),
    });
  }

  private emitBlock(b: BlockDecl): void {
    const info = this.blockFns.get(b.name)!;
    const idents = this.module.function();
    const parent = idents.internal('parent');
    const refs = new RefEnv();
    const used = referencedNames(b.body);
    if (b.output) used.add(b.output.name);
    const inputIdents = b.inputs.map((name, i) => {
      // The first input is also the tensor threaded through the items, unless an item refers to it by name.
      const asChain = i === 0 && !used.has(name);
      const ident = idents.declare(name, asChain ? 'chain' : 'other');
      refs.set(name, { ident, conditional: false, input: true });
      return ident;
    });
    const optionsIdent = idents.internal('options');
    const idIdent = idents.internal('id');
    const scope = idents.internal('s');
    const w = new Writer();
    const firstIsChain = b.inputs.length > 0 && !used.has(b.inputs[0]!);
    const ctx: Ctx = {
      w, idents, vars: new VarEnv(), refs, scope,
      chain: firstIsChain ? { ident: inputIdents[0]!, declared: true, fnIdents: idents } : { declared: false, fnIdents: idents },
      narrowed: new Set(), inputs: b.inputs.length, loopDepth: 0, reads: new Set(),
    };
    w.line(`const ${scope} = ${parent}.block(${quote(b.name)}, ${idIdent});`);
    this.optionsDecls(b.params, info.table, 'args', info.options, optionsIdent, ctx);
    this.letsAndAsserts(b.lets, b.asserts, ctx, inputIdents[0]);
    const start: Cur | undefined = inputIdents.length ? { code: inputIdents[0]! } : undefined;
    const last = this.sequence(b.body, start, ctx);
    const out = b.output ? this.refCode(b.output, ctx) : last ? this.need(last, ctx) : `${this.use('noInput')}(${b.inputs.length})`;
    w.line(`return ${out};`);

    const required = b.params.filter((p) => !p.hasDefault).map((p) => p.name);
    this.declarations.push({
      kind: 'interface', name: info.options, exported: true,
      docs: [`Arguments of the block \`${docText(b.name)}\` ({@link ${info.fn}}).`],
      properties: b.params.map((p) => ({ name: propertyKey(p.name), type: tsParamType(p, this.usedTypes), docs: paramDocs(p) })),
    });
    this.declarations.push({
      kind: 'const', name: info.table, exported: false, type: 'ParamSpec[]',
      initializer: `[${b.params.map((p) => `\n  ${paramSpec(p)},`).join('')}${b.params.length ? '\n' : ''}]`,
      docs: [`The params of block \`${docText(b.name)}\`.`],
    });
    this.usedTypes.add('Scope');
    const optional = required.length === 0;
    this.declarations.push({
      kind: 'function', name: info.fn, exported: true,
      docs: [docText([
        ...(b.doc ? [docText(b.doc), ''] : [`The block \`${docText(b.name)}\`.`, '']),
        `@param ${parent} - the scope of the call; the block's layers are named under \`${docText(b.name)}\` (or \`${idIdent}\`) in it.`,
        ...b.inputs.map((n, i) => `@param ${inputIdents[i]} - the input \`${docText(n)}\`.`),
        `@param ${optionsIdent} - the block's arguments; omitted ones take their defaults.`,
        `@param ${idIdent} - the call's \`id:\`, if it has one.`,
      ].join('\n'))],
      parameters: [
        { name: parent, type: 'Scope' },
        ...inputIdents.map((n) => ({ name: n, type: 'Tensor' })),
        { name: optionsIdent, type: optional ? `Partial<${info.options}>` : `Partial<${info.options}> & Pick<${info.options}, ${required.map(quote).join(' | ')}>`, ...(optional ? { initializer: '{}' } : {}) },
        { name: idIdent, type: 'string', optional: true },
      ],
      returnType: 'Tensor',
      body: w.text(),
    });
  }

  // ---- sequences and items ----------------------------------------------------

  /** The current tensor as an expression, failing as the compiler does where there is none. */
  private need(cur: Cur | undefined, ctx: Ctx): string {
    if (cur) ctx.reads.add(cur.code);
    if (!cur) return `${this.use('noInput')}(${ctx.inputs})`;
    return cur.maybe ? `(${cur.code} ?? ${this.use('noInput')}(${ctx.inputs}))` : cur.code;
  }

  private refCode(r: Ref, ctx: Ctx): string {
    const loop = loopOutputRef(r.name);
    if (loop) {
      const list = ctx.refs.getList(loop.base);
      if (!list) return this.failure(Say.notALoopOutput(loop.base));
      let index: string;
      try {
        index = printExpr(parseExpr(loop.index), this.env(ctx)).code;
      } catch (e) {
        if (!(e instanceof ExprSyntaxError)) throw e;
        return this.failure(Say.loopOutputIndex(loop.base, e.message));
      }
      return `${this.use('loopOutput')}(${list}, ${quote(loop.base)}, ${index})`;
    }
    const info = ctx.refs.get(r.name);
    const named = info ? undefined : /^(.+)\.([A-Za-z_][A-Za-z0-9_]*)$/s.exec(r.name);
    if (named) return `${ctx.scope}.output(${this.refCode({ ...r, name: named[1]! }, ctx)}, ${quote(r.name)}, ${quote(named[2]!)})`;
    if (!info) {
      return this.failure(r.name.includes('/') ? Say.generatedIdReference(r.name) : Say.unknownReference(r.name));
    }
    if (!info.ident) return this.failure(Say.refWhenFalse(r.name));
    if (info.mayBeEmpty) return `${this.use('ref')}(${info.ident}, ${quote(r.name)}, 'empty')`;
    return info.conditional ? `${this.use('ref')}(${info.ident}, ${quote(r.name)})` : info.ident;
  }

  /**
   * A tensor-valued expression that throws the compiler's diagnostic. Typed `Tensor`, not `never`:
   * TypeScript would type a variable it initialises as `never`, and treat the code after it as unreachable.
   */
  private failure(s: Said): string {
    return `(${this.use('fail')}(${quote(Msg[s.key].code)}, ${quote(s.message)}) as Tensor)`;
  }

  /** Make the chain variable hold `cur` (declaring it where needed); returns its name. */
  private toChain(cur: Cur | undefined, ctx: Ctx): string {
    const chain = ctx.chain;
    if (cur) ctx.reads.add(cur.code);
    if (!chain.ident) chain.ident = chain.fnIdents.internal('x', 'chain');
    if (!chain.declared) {
      ctx.w.line(cur ? `let ${chain.ident} = ${cur.code};` : `let ${chain.ident}: Tensor | undefined;`);
      chain.declared = true;
    } else if (cur && cur.code !== chain.ident) {
      ctx.w.line(`${chain.ident} = ${cur.code};`);
    }
    return chain.ident;
  }

  private assignChain(code: string, ctx: Ctx): void {
    const chain = ctx.chain;
    if (!chain.ident) chain.ident = chain.fnIdents.internal('x', 'chain');
    emitCall(ctx.w, chain.declared ? `${chain.ident} = ` : `let ${chain.ident} = `, `${code};`);
    chain.declared = true;
  }

  sequence(items: readonly Item[], start: Cur | undefined, ctx: Ctx): Cur | undefined {
    const ids = idsToReserve(items, this.registry);
    if (ids.length) ctx.w.line(`${ctx.scope}.reserve(${ids.map(quote).join(', ')});`);
    let cur = start;
    for (const item of items) cur = this.item(item, cur, ctx);
    return cur;
  }

  private item(item: Item, cur: Cur | undefined, ctx: Ctx): Cur | undefined {
    const cond = item.when ? printCondition(item.when, this.env(ctx, cur?.code)) : true;
    if (cond === false) {
      if (item.id) ctx.refs.set(item.id, { conditional: false, item });
      return cur;
    }
    if (cond === true) {
      if (item.kind === 'repeat' || item.kind === 'for') {
        const out = this.loop(item, cur, ctx);
        if (!item.id) return out;
        // The loop's output stays in the chain; the id is a name for it as it is now.
        const ident = ctx.idents.declare(item.id);
        ctx.w.line(`const ${ident} = ${out.code};`);
        ctx.refs.set(item.id, { ident, conditional: false, item, ...(out.maybe ? { mayBeEmpty: true } : {}) });
        return out;
      }
      const code = this.itemExpr(item, cur, ctx);
      if (item.id) {
        const ident = ctx.idents.declare(item.id);
        emitCall(ctx.w, `const ${ident} = `, `${code};`);
        ctx.refs.set(item.id, { ident, conditional: false, item });
        return { code: ident };
      }
      this.assignChain(code, ctx);
      return { code: ctx.chain.ident! };
    }
    // A conditional item: the chain holds the current tensor, and the item replaces it when it is kept.
    const chain = this.toChain(cur, ctx);
    const idIdent = item.id ? ctx.idents.declare(item.id) : undefined;
    if (idIdent) ctx.w.line(`let ${idIdent}: Tensor | undefined;`);
    const inner: Ctx = { ...ctx, idents: ctx.idents.block(), narrowed: new Set([...ctx.narrowed, ...(item.when?.kind === 'expr' ? freeVars(item.when) : [])]) };
    const chainCur: Cur = cur ? { code: chain, ...(cur.maybe ? { maybe: true } : {}) } : { code: chain, maybe: true };
    ctx.w.block(`if (${cond.code})`, () => {
      if (item.kind === 'repeat' || item.kind === 'for') this.loop(item, chainCur, inner);
      else emitCall(ctx.w, `${chain} = `, `${this.itemExpr(item, chainCur, inner)};`);
      if (idIdent) ctx.w.line(`${idIdent} = ${chain};`);
    });
    if (item.id) ctx.refs.set(item.id, { ident: idIdent!, conditional: true, item });
    return { code: chain, maybe: !cur || cur.maybe === true };
  }

  /** The inputs of an item: its `from:`, else the current tensor. */
  private inputsOf(item: Item, cur: Cur | undefined, ctx: Ctx): string[] {
    if (item.from) return item.from.map((r) => this.refCode(r, ctx));
    return [this.need(cur, ctx)];
  }

  private itemExpr(item: Exclude<Item, { kind: 'repeat' | 'for' }>, cur: Cur | undefined, ctx: Ctx): string {
    const id = item.id ? [quote(item.id)] : [];
    switch (item.kind) {
      case 'layer': {
        const inputs = this.inputsOf(item, cur, ctx);
        const input = inputs.length === 1 ? inputs[0]! : `[${inputs.join(', ')}]`;
        const attrs = objectLiteral([...item.attrs].map(([k, t]) => [k, printTemplate(t, this.env(ctx, inputs[0])).code]));
        return `${ctx.scope}.layer(${[quote(item.op), attrs, input, ...id].join(', ')})`;
      }
      case 'call': {
        const info = this.blockFns.get(item.block);
        if (!info) return this.failure(Say.unknownOpOrBlock(item.block));
        const b = info.decl;
        const inputs = this.inputsOf(item, cur, ctx);
        if (inputs.length !== b.inputs.length) {
          return this.failure(Say.blockArity(b.name, b.inputs, inputs.length));
        }
        // A call without a parameter that has no default fails as the compiler does (and would not type-check).
        const missing = b.params.find((d) => !d.hasDefault && !item.args.has(d.name));
        if (missing) return this.failure(Say.missingParam(`block '${b.name}'`, missing.name));
        const args = [...item.args].map(([k, t]): [string, string] => {
          const p = printTemplate(t, this.env(ctx, inputs[0]));
          const decl = b.params.find((d) => d.name === k);
          return [k, decl && !fitsParam(p.type, decl) ? `${this.use('unchecked')}(${p.code})` : p.code];
        });
        const options = args.length || id.length ? [objectLiteral(args)] : [];
        return `${info.fn}(${[ctx.scope, ...inputs, ...options, ...id].join(', ')})`;
      }
      case 'share': return this.share(item, cur, ctx);
      case 'branches': return this.branches(item, cur, ctx);
    }
  }

  private share(item: Extract<Item, { kind: 'share' }>, cur: Cur | undefined, ctx: Ctx): string {
    const name = item.target.name;
    const target = ctx.refs.get(name);
    if (target?.item && target.item.kind !== 'layer' && target.item.kind !== 'share' && target.item.kind !== 'call') {
      return this.failure(Say.shareNotALayer(name, `a ${target.item.kind} item`));
    }
    if (target?.input) return this.failure(Say.shareNoWeights(name, 'a model input'));
    // What the share applies again: a layer, or (through shares of shares) a block call.
    let origin: Item | undefined = target?.item;
    while (origin?.kind === 'share') origin = ctx.refs.get(origin.target.name)?.item;
    const inputs = this.inputsOf(item, cur, ctx);
    const id = item.id ? [quote(item.id)] : [];
    if (origin?.kind === 'call') {
      const info = this.blockFns.get(origin.block);
      if (!info) return this.failure(Say.unknownOpOrBlock(origin.block));
      if (inputs.length !== info.decl.inputs.length) return this.failure(Say.blockArity(info.decl.name, info.decl.inputs, inputs.length));
      const scope = `${ctx.scope}.sharing(${this.refCode(item.target, ctx)}, ${quote(name)})`;
      return `${info.fn}(${[scope, ...inputs, `${ctx.scope}.sharedArgs()`, ...id].join(', ')})`;
    }
    if (inputs.length !== 1) return this.failure(Say.takesOneInput('share', inputs.length));
    return `${ctx.scope}.share(${[this.refCode(item.target, ctx), inputs[0]!, ...id].join(', ')})`;
  }

  private branches(item: Extract<Item, { kind: 'branches' }>, cur: Cur | undefined, ctx: Ctx): string {
    // The branches' let: evaluated once, visible in every branch and the merge.
    const vars = new VarEnv(ctx.vars);
    const outer: Ctx = { ...ctx, vars };
    this.lets(item.lets, outer);
    let input: string;
    if (item.from) {
      if (item.from.length !== 1) return this.failure(Say.branchesTakeOneInput(item.from.length));
      input = this.refCode(item.from[0]!, outer);
    } else {
      if (cur) ctx.reads.add(cur.code);
      input = cur ? cur.code : 'undefined';
    }
    const fns = item.branches.map((b) => this.branch(b, outer));
    const attrs = objectLiteral([...item.mergeAttrs].map(([k, t]) => [k, printTemplate(t, this.env(outer)).code]));
    const list = `[\n${fns.map((f) => indentText(f, 1) + ',').join('\n')}\n]`;
    return `${ctx.scope}.branches(${[quote(item.merge), attrs, input, list, ...(item.id ? [quote(item.id)] : [])].join(', ')})`;
  }

  /** One branch as an arrow function `(b, x) => { ...; return x; }`. */
  private branch(b: Branch, outer: Ctx, takesInput = true): string {
    const idents = outer.idents.function();
    const scope = idents.internal('b');
    const w = new Writer();
    const ownInput = b.from !== undefined;
    const x = ownInput ? undefined : idents.internal('x', 'chain');
    const ctx: Ctx = {
      ...outer, w, idents, scope, refs: new RefEnv(outer.refs), vars: new VarEnv(outer.vars), reads: new Set(),
      chain: x ? { ident: x, declared: takesInput, fnIdents: idents } : { declared: false, fnIdents: idents },
    };
    let start: Cur | undefined;
    if (ownInput) {
      if (b.from!.length !== 1) return `() => ${this.failure(Say.takesOneInput('a branch', b.from!.length))}`;
      start = { code: this.refCode(b.from![0]!, outer) };
    } else start = { code: x! };
    if (b.body.length === 0) return `${ownInput ? '()' : `(_${scope}, ${x})`} => ${start.code}`;
    const out = this.sequence(b.body, start, ctx);
    w.line(`return ${this.need(out, ctx)};`);
    // A branch whose items all take other inputs (`from:`) does not read the branch's input: written
    // again without that parameter, its chain variable is declared where it is first assigned.
    if (!ownInput && takesInput && !ctx.reads.has(x!)) return this.branch(b, outer, false);
    const params = ownInput || !takesInput ? `(${scope})` : `(${scope}, ${x})`;
    return `${params} => {\n${indentText(w.text(), 1)}\n}`;
  }

  /** `repeat` and `for`: a loop over the iterations' scopes; the chain carries the tensor from one to the next. */
  private loop(item: Extract<Item, { kind: 'repeat' | 'for' }>, cur: Cur | undefined, ctx: Ctx): Cur {
    let input = cur;
    if (item.from) {
      if (item.from.length !== 1) {
        return { code: this.toChain({ code: this.failure(Say.takesOneInput(item.kind, item.from.length)) }, ctx) };
      }
      input = { code: this.refCode(item.from[0]!, ctx) };
    }
    const chain = this.toChain(input, ctx);
    const idents = ctx.idents.block();
    const scope = idents.numbered('s', ctx.loopDepth + 1);
    const vars = new VarEnv(ctx.vars);
    const id = item.id ? [quote(item.id)] : [];
    let header: string;
    if (item.kind === 'repeat') {
      const count = printTemplate(item.count, this.env(ctx));
      const prefix = item.as ?? item.id ?? 'repeat';
      let counter = '';
      if (item.as) {
        // A counter the body does not read is `_block` (TypeScript's noUnusedLocals lets it be).
        const read = loopReads(item).has(item.as);
        counter = idents.declare(read ? item.as : `_${item.as}`);
        vars.set(item.as, counter, NUM);
      }
      header = `for (const [${counter}, ${scope}] of ${ctx.scope}.repeat(${[quote(prefix), count.code, ...id].join(', ')}))`;
    } else {
      const values = printTemplate(item.in, this.env(ctx));
      const read = loopReads(item).has(item.var);
      const v = idents.declare(read ? item.var : `_${item.var}`);
      vars.set(item.var, v, isList(values.type) ? widen((values.type as { el: SType }).el) : UNKNOWN);
      header = `for (const [${v}, ${scope}] of ${ctx.scope}.for(${[quote(item.var), values.code, ...id].join(', ')}))`;
    }
    const inner: Ctx = { ...ctx, idents, vars, refs: new RefEnv(ctx.refs), scope, loopDepth: ctx.loopDepth + 1 };
    // The ids of the items directly in the body: after the loop, arrays of their outputs (`skip[i]`).
    const lists = item.body.filter((b) => b.id).map((b) => [b.id!, ctx.idents.internal(`${b.id!}_outputs`)] as const);
    for (const [, list] of lists) ctx.w.line(`const ${list}: (Tensor | undefined)[] = [];`);
    ctx.w.block(header, () => {
      this.lets(item.lets, inner, chain);
      const out = this.sequence(item.body, { code: chain, ...(input?.maybe || !input ? { maybe: true } : {}) }, inner);
      if (out && out.code !== chain) ctx.w.line(`${chain} = ${out.code};`);
      for (const [id, list] of lists) ctx.w.line(`${list}.push(${inner.refs.get(id)?.ident ?? 'undefined'});`);
    });
    for (const [id, list] of lists) ctx.refs.setList(id, list);
    return { code: chain, ...(input?.maybe || !input ? { maybe: true } : {}) };
  }
}

function freeVars(t: Template): string[] {
  return t.kind === 'expr' ? [...narrowedBy(t.expr)] : [];
}
