/**
 * One general nn.Module class per block: the block's layers written from its definition (not from
 * one expansion of it), so that the class is built from its constructor arguments, the block's
 * params plus the channels of each input (`in_channels`), as a PyTorch user writes one:
 * `nn.Conv2d(in_channels, filters, kernel_size, stride=strides, ...)`; a `when:` that depends on the
 * params becomes `... if cond else None` and `if self.x is not None:` in forward; repeat/for an
 * nn.ModuleList built in a loop over the argument; a Keras activation chosen by a param is
 * `keras_activation(self.activation, x)`; TF's 'same' padding whose pads depend on the input size
 * is computed in forward (`pad_same`).
 *
 * Each layer is written by its op's own PyTorch mapping (OpDef.pytorch), given sentinel numbers for
 * what is symbolic (the params, the input channels, the height and width), three times with other
 * sentinels: the sentinels in its text become the Python expressions, and a text that differs
 * between the three (a value computed from a param, a pad that depends on the input size) is not
 * general. conv2d with 'same' padding has its own general form (pad_same). What cannot be written
 * generally throws NotGeneral; the exporter then writes that block as before, one class per call
 * form (emit.ts), and says so in the class's comment.
 */
import type { Expr, Item, BlockDecl, Template, ParamDecl } from '../../types/spec.js';
import type { Shape } from '../../types/shape.js';
import type { SourceSpan } from '../../types/diagnostic.js';
import type { OpRegistry } from '../../ops/index.js';
import type { OpDef, PytorchContext, PytorchWeight } from '../../ops/types.js';
import { evaluate, type Scope as EvalScope } from '../../expr/evaluate.js';
import { fillAttrs } from '../../expand/engine.js';
import { escapePointer, spanAt, type LoadedDocument } from '../../load/yaml.js';
import { py } from '../../ops/pytorch.js';

/** Why a block cannot be one general class (the exporter falls back to one class per form). */
export class NotGeneral extends Error {}

/** A Python expression: its text, how tightly it binds, its value when known at export time. */
interface Sym {
  py: string;
  prec: number;
  known: boolean;
  value?: unknown;
  /** What it holds, where known: a number, a bool, a string, an activation name. */
  kind: 'num' | 'bool' | 'str' | 'act' | 'list' | 'other';
  items?: Sym[];
  /** The spec name it reads, when it is a bare name (`$activation`). */
  ref?: string;
  /** The expression it was written from (to write it again where forward reads it). */
  expr?: Expr;
}

const ATOM = 11;
const safePy = (v: unknown): string => {
  try {
    return py(v);
  } catch {
    return `<${JSON.stringify(v)}>`; // a map (a regularizer): read by value, never written as Python
  }
};
const lit = (v: unknown): Sym => ({ py: safePy(v), prec: ATOM, known: true, value: v, kind: typeof v === 'number' ? 'num' : typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'str' : Array.isArray(v) ? 'list' : 'other' });
const paren = (s: Sym, min: number) => (s.prec < min ? `(${s.py})` : s.py);

/** A name in scope: its expression in __init__, and (lazily) in forward. */
interface Binding {
  sym: Sym;
  level: Level;
}

/** A module level: the class itself, or a loop iteration's container. */
interface Level {
  /** The container in __init__ (`self`, `m`) and in forward (`self`, the loop's module variable). */
  init: string;
  fwd: string;
  /** Attribute names taken at this level. */
  taken: Set<string>;
  /** Values forward reads: name -> the __init__ expression stored (`self.activation = activation`). */
  stores: Map<string, string>;
  /** The placeholder of a store's attribute name in forward text, replaced once names are final. */
  parent?: Level;
}

type Env = Map<string, Binding>;

const BIN_PREC: Record<string, number> = { '||': 2, '&&': 3, '==': 5, '!=': 5, '<': 5, '<=': 5, '>': 5, '>=': 5, '+': 7, '-': 7, '*': 8, '/': 8, '//': 8, '%': 8, '**': 10 };
const BIN_PY: Record<string, string> = { '||': 'or', '&&': 'and' };

/** The expression in Python, folded to a literal where every name in it is known. */
function toPy(e: Expr, lookup: (name: string) => Sym, uses: Set<string>): Sym {
  const leaves: Sym[] = [];
  const go = (x: Expr): Sym => {
    switch (x.kind) {
      case 'num': case 'str': case 'bool': return lit(x.value);
      case 'null': return lit(null);
      case 'var': { const s = lookup(x.name); leaves.push(s); return { ...s, ref: x.name }; }
      case 'list': {
        const items = x.items.map(go);
        return { py: items.length === 1 ? `(${items[0]!.py},)` : `(${items.map((i) => i.py).join(', ')})`, prec: ATOM, known: false, kind: 'list', items };
      }
      case 'unary': {
        const a = go(x.arg);
        if (x.op === '!') return { py: `not ${paren(a, 4)}`, prec: 4, known: false, kind: 'bool' };
        return { py: `${x.op}${paren(a, 9)}`, prec: 9, known: false, kind: 'num' };
      }
      case 'cond': {
        const t = go(x.test), a = go(x.then), b = go(x.else);
        return { py: `${paren(a, 2)} if ${paren(t, 2)} else ${paren(b, 1)}`, prec: 1, known: false, kind: a.kind === b.kind ? a.kind : 'other' };
      }
      case 'index': {
        const t = go(x.target), i = go(x.index);
        return { py: `${paren(t, ATOM)}[${i.py}]`, prec: ATOM, known: false, kind: 'other' };
      }
      case 'binary': {
        const p = BIN_PREC[x.op]!;
        const l = go(x.left), r = go(x.right);
        if ((x.op === '==' || x.op === '!=') && (x.right.kind === 'null' || x.left.kind === 'null')) {
          const v = x.right.kind === 'null' ? l : r;
          return { py: `${paren(v, 6)} ${x.op === '==' ? 'is' : 'is not'} None`, prec: 5, known: false, kind: 'bool' };
        }
        const right = x.op === '**' ? p : p + 1;
        const left = x.op === '**' ? p + 1 : p === 5 ? 6 : p;
        const kind = p <= 5 ? 'bool' : l.kind === 'str' || r.kind === 'str' ? 'str' : 'num';
        return { py: `${paren(l, left)} ${BIN_PY[x.op] ?? x.op} ${paren(r, right)}`, prec: p, known: false, kind };
      }
      case 'call': {
        if (x.fn === 'shape' || x.fn === 'channels') throw new NotGeneral(`${x.fn}() reads a shape at export time`);
        const args = x.args.map(go);
        const a = args.map((s) => s.py).join(', ');
        if (x.fn === 'floor' || x.fn === 'ceil') { uses.add('math'); return { py: `math.${x.fn}(${a})`, prec: ATOM, known: false, kind: 'num' }; }
        if (x.fn === 'round') { uses.add('math'); return { py: `math.floor(${paren(args[0]!, 7)} + 0.5)`, prec: ATOM, known: false, kind: 'num' }; }
        if (['min', 'max', 'abs', 'len', 'range'].includes(x.fn)) return { py: `${x.fn}(${a})`, prec: ATOM, known: false, kind: x.fn === 'range' ? 'list' : 'num' };
        throw new NotGeneral(`function ${x.fn}()`);
      }
    }
  };
  const out = go(e);
  if (leaves.every((l) => l.known)) {
    const values = new Map<string, unknown>();
    const names = (x: Expr, f: (n: string) => void): void => {
      if (x.kind === 'var') f(x.name);
      else if (x.kind === 'list') x.items.forEach((i) => names(i, f));
      else if (x.kind === 'unary') names(x.arg, f);
      else if (x.kind === 'binary') { names(x.left, f); names(x.right, f); }
      else if (x.kind === 'cond') { names(x.test, f); names(x.then, f); names(x.else, f); }
      else if (x.kind === 'index') { names(x.target, f); names(x.index, f); }
      else if (x.kind === 'call') x.args.forEach((i) => names(i, f));
    };
    names(e, (n) => values.set(n, lookup(n).value));
    const scope: EvalScope = { get: (n) => values.get(n) as never, names: () => values.keys() };
    try {
      return lit(evaluate(e, scope));
    } catch {
      throw new NotGeneral('an expression that does not evaluate');
    }
  }
  return out;
}

/** A template (an attribute's value, a call's argument) in Python. */
function templatePy(t: Template, lookup: (name: string) => Sym, uses: Set<string>): Sym {
  switch (t.kind) {
    case 'lit': return lit(t.value);
    case 'expr': {
      const s = toPy(t.expr, lookup, uses);
      return s.known ? s : { ...s, expr: t.expr };
    }
    case 'list': {
      const items = t.items.map((i) => templatePy(i, lookup, uses));
      if (items.every((i) => i.known)) return lit(items.map((i) => i.value));
      return { py: items.length === 1 ? `(${items[0]!.py},)` : `(${items.map((i) => i.py).join(', ')})`, prec: ATOM, known: false, kind: 'list', items };
    }
    case 'map': {
      const entries = t.entries.map(([k, v]) => [k, templatePy(v, lookup, uses)] as const);
      if (entries.every(([, v]) => v.known)) return lit(Object.fromEntries(entries.map(([k, v]) => [k, v.value])));
      throw new NotGeneral('a map attribute with an expression');
    }
  }
}

/** A value in the block's forward: its Python variable, Keras rank, and channels (an __init__ expression). */
interface Val {
  v: string;
  rank: number;
  ch: Sym;
  /**
   * The steps of a sequence (rank 2) where the spec's class knows them from a param or a literal
   * (`tokens: {shape: [$maxlen]}` embedded): a layer that reads the length (a position embedding)
   * is then written with it. Absent: any length (a sentinel that may not reach the text).
   */
  len?: Sym;
  /** Read later by name (an id, a block input, a branches' input): never rebound. */
  pinned: boolean;
}

/** Where a layer or block call of the block lives: attribute path segments (`{}`: a loop iteration's index). */
export interface Template_ {
  layers: Map<string, string[]>;
  calls: Map<string, { segs: string[]; child: GeneralClass }>;
}

export interface GeneralClass extends Template_ {
  name: string;
  block: BlockDecl;
  lines: string[];
  hasReg: boolean;
  /** The constructor argument of each block input's channels. */
  inputArgs: string[];
  /** Arguments read from the shapes of one call (a flatten's size): name, the span key of the layer whose output size it is. */
  shapeArgs: { name: string; span: string }[];
  /** Keras rank of each input and of the output it was written for. */
  ranks: number[];
  outRank: number;
  /** The flatten items whose forward flattens in (C, H, W) order (every consumer a Dense with reordered rows). */
  chwFlatten: Set<string>;
}

const PARAM_TYPE: Record<string, string> = { int: 'int', float: 'float', bool: 'bool', shape: 'tuple[int, ...]', enum: 'str', string: 'str', activation: 'Optional[str]' };

const pyReserved = (id: string, reserved: (s: string) => string) => reserved(id);

/** Lines with indentation, and whether anything was written. */
class Lines {
  readonly lines: string[] = [];
  constructor(private indent = 0) {}
  push(...ls: string[]): void {
    for (const l of ls) this.lines.push(`${'    '.repeat(this.indent)}${l}`);
  }
  nest(header: string, body: (l: Lines) => void): void {
    const inner = new Lines(this.indent + 1);
    body(inner);
    if (inner.lines.length) this.lines.push(`${'    '.repeat(this.indent)}${header}`, ...inner.lines);
  }
  child(): Lines {
    return new Lines(this.indent + 1);
  }
  insert(at: number, line: string): void {
    this.lines.splice(at, 0, `${'    '.repeat(this.indent)}${line}`);
  }
  replace(from: string, to: string): void {
    for (let i = 0; i < this.lines.length; i++) this.lines[i] = this.lines[i]!.split(from).join(to);
  }
  append(header: string, inner: Lines): void {
    if (inner.lines.length) this.lines.push(`${'    '.repeat(this.indent)}${header}`, ...inner.lines);
  }
}

/** Sentinel numbers: spatial sizes per variant (their residues differ mod 2, 3, 4), and slots. */
const H = [700001, 700002, 700005];
const W = [700011, 700014, 700013];
const slot = (k: number, variant: number) => 100003 + 1009 * k + 50021 * variant;

export interface GeneralContext {
  registry: OpRegistry;
  docs: ReadonlyMap<string, Pick<LoadedDocument, 'spans' | 'file'>>;
  blocks: ReadonlyMap<string, BlockDecl>;
  pyIdent: (s: string) => string;
  pascal: (s: string) => string;
  /** Helpers (src/ops/pytorch-helpers.ts) the classes use. */
  helpers: Set<string>;
  /** Python modules imported for expressions (math). */
  imports: Set<string>;
  /** flatten span keys that every instance flattens in (C, H, W) order, and those that do not. */
  flattenOrder: (span: string) => boolean | undefined;
  /** Class names taken. */
  names: Set<string>;
  classes: GeneralClass[];
  built: Map<string, GeneralClass | NotGeneral>;
}

export const spanKey = (s: SourceSpan) => `${s.file}:${s.start}`;

/** The general class of a block for inputs of these ranks (built once), or the reason there is none. */
export function generalClass(g: GeneralContext, blockName: string, ranks: number[]): GeneralClass | NotGeneral {
  const key = `${blockName}(${ranks.join(',')})`;
  const done = g.built.get(key);
  if (done) return done;
  // Another rank signature of the same block: the class name would have to differ; not general.
  const other = [...g.built.keys()].find((k) => k.startsWith(`${blockName}(`) && k !== key);
  let out: GeneralClass | NotGeneral;
  if (other) out = new NotGeneral(`block '${blockName}' is called on inputs of different ranks`);
  else {
    try {
      out = new Writer(g, g.blocks.get(blockName)!, ranks).write();
    } catch (e) {
      if (!(e instanceof NotGeneral)) throw e;
      out = e;
    }
  }
  g.built.set(key, out);
  return out;
}

/** A spec input, for the spec's own class: its Keras rank, shape template and dtype. */
export interface SpecInput {
  name: string;
  rank: number;
  shape: Template;
  dtype: string;
}

/** The spec's own class: what differs from a block's (no channels arguments; the spec's inputs). */
export interface SpecMode {
  className: string;
  inputs: SpecInput[];
  /** The values exported with: the constructor's defaults. */
  defaults: Readonly<Record<string, unknown>>;
  /** The docstring of forward's arguments. */
  forwardDoc: string[];
}

/**
 * The spec's own class, general in the spec's params as a block's class is in its own: the spec's
 * body written as a block whose params are the spec's (their defaults the values exported with) and
 * whose inputs have the channels their shapes give; a size read from a shape (a flatten before a
 * Dense) is found in __init__ by running the layers before it on zeros. NotGeneral where it cannot be.
 */
export function specClass(g: GeneralContext, block: BlockDecl, mode: SpecMode): GeneralClass | NotGeneral {
  try {
    return new Writer(g, block, mode.inputs.map((i) => i.rank), mode).write();
  } catch (e) {
    if (!(e instanceof NotGeneral)) throw e;
    return e;
  }
}

class Writer {
  private readonly init = new Lines(2);
  private readonly fwd = new Lines(2);
  private readonly resets = new Lines(2);
  private readonly regs = new Lines(2);
  private readonly layers = new Map<string, string[]>();
  private readonly calls = new Map<string, { segs: string[]; child: GeneralClass }>();
  private readonly shapeArgs: { name: string; span: string; arg: string }[] = [];
  private readonly chwFlatten = new Set<string>();
  private readonly vars = new Set<string>(['self', 'torch', 'nn', 'F']);
  private readonly locals = new Set<string>();
  private hasReg = false;
  private loopDepth = 0;
  private readonly root: Level = { init: 'self', fwd: 'self', taken: new Set(), stores: new Map() };
  private storeSeq = 0;
  private readonly storePlaceholders = new Map<string, { level: Level; name: string }>();

  /** Sizes found by a forward pass on zeros (the spec's class): the method, the size's local, where forward stood. */
  private readonly dryRuns: { method: string; arg: string; fwdEnd: number; out: string; what: string }[] = [];
  /** The zero tensors of the spec's inputs (a dry run's arguments). */
  private zeros: string[] = [];
  /** Stores of the class level already written into __init__ (before a dry run, which reads them). */
  private readonly storedEarly = new Set<string>();
  private readonly finalNames = new Map<string, string>();
  /** Names read by reference (from:, share:, the output). */
  private readonly referenced = new Set<string>();

  constructor(private readonly g: GeneralContext, private readonly block: BlockDecl, private readonly ranks: number[], private readonly spec?: SpecMode) {}

  private ident(s: string): string {
    return pyReserved(s, this.g.pyIdent);
  }

  private span(ptr: string, which: 'key' | 'value'): string {
    const doc = this.g.docs.get(this.block.file);
    if (!doc) throw new NotGeneral('no source map of the block');
    return spanKey(spanAt(doc, ptr, which));
  }

  /** A fresh forward variable. */
  private fresh(base: string): string {
    const b = this.ident(base);
    let n = b;
    for (let k = 2; this.vars.has(n); k++) n = `${b}_${k}`;
    this.vars.add(n);
    return n;
  }

  /** A fresh __init__ local. */
  private local(base: string): string {
    let n = base;
    for (let k = 2; this.locals.has(n); k++) n = `${base}_${k}`;
    this.locals.add(n);
    return n;
  }

  /** An attribute name at a level: the item's id, or its op / block name, `_1`, `_2` after. */
  private attr(level: Level, base: string): string {
    const b = this.ident(base);
    let n = b;
    for (let k = 1; level.taken.has(n); k++) n = `${b}_${k}`;
    level.taken.add(n);
    return n;
  }

  /** The forward expression of a name: stored on its level's container in __init__. */
  private fwdLookup(env: Env): (name: string) => Sym {
    return (name) => {
      const b = env.get(name);
      if (!b) throw new NotGeneral(`'${name}' is not a parameter or let of the block`);
      if (b.sym.known) return b.sym;
      const ph = `\u0001${this.storeSeq++}\u0001`;
      this.storePlaceholders.set(ph, { level: b.level, name });
      b.level.stores.set(name, b.sym.py);
      return { ...b.sym, py: `${b.level.fwd}.${ph}`, prec: ATOM };
    };
  }

  private initLookup(env: Env): (name: string) => Sym {
    return (name) => {
      const b = env.get(name);
      if (!b) throw new NotGeneral(`'${name}' is not a parameter or let of the block`);
      return b.sym;
    };
  }

  write(): GeneralClass {
    const b = this.block;
    const env: Env = new Map();
    const level = this.root;
    const sig: string[] = [];
    for (const p of b.params) {
      const name = this.ident(p.name);
      this.locals.add(name);
      env.set(p.name, { sym: { py: name, prec: ATOM, known: false, kind: kindOfParam(p) }, level });
      const type = PARAM_TYPE[p.type] ?? 'object';
      const hasDefault = this.spec ? p.name in this.spec.defaults : p.hasDefault;
      const dflt = this.spec ? this.spec.defaults[p.name] : p.default;
      const t = hasDefault && dflt === null && p.type !== 'activation' ? `Optional[${type}]` : type;
      sig.push(hasDefault ? `${name}: ${t} = ${py(dflt)}` : `${name}: ${t}`);
    }
    const inputArgs = this.spec ? [] : b.inputs.map((n, k) => {
      const base = this.ranks[k] === 3 ? 'channels' : 'features';
      return n === 'x' && b.inputs.length === 1 ? `in_${base}` : this.ident(`${n}_${base}`);
    });
    inputArgs.forEach((a) => this.locals.add(a));
    const refs = new Map<string, Val>();
    const referenced = this.referenced;
    collectRefs(b.body, referenced);
    if (b.output) referenced.add(b.output.name);
    const uses = new Set<string>();
    // The spec's input shapes may read its lets (a block's lets never read its inputs).
    if (this.spec) for (const l of b.lets) this.bindLet(l.name, l.value, env, level, this.init, uses);
    const inputs: Val[] = this.spec ? this.specInputs(env, uses, refs) : b.inputs.map((n, k) => {
      const v = b.inputs.length === 1 || n === 'x' ? 'x' : this.fresh(n);
      this.vars.add(v);
      this.vars.add('x');
      const val: Val = { v, rank: this.ranks[k]!, ch: { py: inputArgs[k]!, prec: ATOM, known: false, kind: 'num' }, pinned: referenced.has(n) };
      refs.set(n, val);
      if (val.pinned) this.pinnedVars.add(v);
      return val;
    });
    if (!this.spec) for (const l of b.lets) this.bindLet(l.name, l.value, env, level, this.init, uses);
    for (const a of b.asserts) {
      const c = templatePy(a.that, this.initLookup(env), uses);
      if (c.known && c.value !== true) throw new NotGeneral('an assert that fails');
      if (!c.known) this.init.push(`if not ${paren(c, 4)}:`, `    raise ValueError(${JSON.stringify(`${b.name}: ${a.message}`)})`);
    }
    let out = this.sequence(b.body, inputs[0], { env, level, refs, path: [], uses });
    if (b.output) {
      const o = refs.get(b.output.name);
      if (!o) throw new NotGeneral('the output is not a value of the block');
      out = o;
    }
    if (!out) throw new NotGeneral('the block has no output');
    uses.forEach((u) => this.g.imports.add(u));
    // Stores, then names in forward.
    const stores = new Lines(2);
    this.storeLines(level, stores);
    const fix = (s: string) => s.replace(/\u0001(\d+)\u0001/g, (_m, k: string) => {
      const p = this.storePlaceholders.get(`\u0001${k}\u0001`)!;
      return this.finalNames.get(`${p.level.init}\u0000${p.name}`) ?? p.name;
    });
    const L = this.classLines(inputArgs, sig, inputs, out, stores, fix);
    let name = this.spec?.className ?? this.g.pascal(b.name);
    if (!this.spec) {
      const base = name;
      for (let k = 2; this.g.names.has(name); k++) name = `${base}${k}`;
      this.g.names.add(name);
    }
    const cls: GeneralClass = {
      name, block: b, lines: L, hasReg: this.hasReg, inputArgs, shapeArgs: this.shapeArgs.map((s) => ({ name: s.arg, span: s.span })),
      ranks: this.ranks, outRank: out.rank, layers: this.layers, calls: this.calls, chwFlatten: this.chwFlatten,
    };
    if (!this.spec) this.g.classes.push(cls);
    return cls;
  }

  /** `self.<attr> = <expr>` for the values forward reads at a level (those not written before a dry run). */
  private storeLines(lv: Level, lines: Lines): void {
    for (const [name, expr] of lv.stores) {
      if (lv === this.root && this.storedEarly.has(`${name}\u0000${expr}`)) continue;
      const a = this.attr(lv, name);
      this.finalNames.set(`${lv.init}\u0000${name}`, a);
      lines.push(`${lv.init}.${a} = ${expr}`);
    }
  }

  /** The spec's inputs: their forward variables (the input names), channels from their shapes, and zeros for a dry run. */
  private specInputs(env: Env, uses: Set<string>, refs: Map<string, Val>): Val[] {
    this.vars.add('x');
    this.vars.add('mode'); // the dry run's
    return this.spec!.inputs.map((inp) => {
      const s = templatePy(inp.shape, this.initLookup(env), uses);
      const dims: Sym[] = s.known
        ? (s.value as unknown[]).map(lit)
        : s.items ?? Array.from({ length: inp.rank }, (_, i) => ({ py: `${paren(s, ATOM)}[${i}]`, prec: ATOM, known: false, kind: 'num' as const }));
      if (dims.length !== inp.rank) throw new NotGeneral(`input '${inp.name}' has ${dims.length} dimensions`);
      // A dry run's zeros: channels first for an image, as forward takes it; none where a dimension is None.
      const order = inp.rank === 3 ? [2, 0, 1] : dims.map((_, i) => i);
      const sized = order.every((i) => !(dims[i]!.known && dims[i]!.value === null));
      this.zeros.push(sized ? `torch.zeros(1, ${order.map((i) => dims[i]!.py).join(', ')}${inp.dtype.startsWith('int') ? ', dtype=torch.long' : ''})` : '');
      // Pinned: forward keeps the input's name for the input (the first layer writes `x`).
      const val: Val = { v: this.fresh(inp.name), rank: inp.rank, ch: dims[inp.rank - 1]!, pinned: true, ...(inp.rank === 2 ? { len: dims[0]! } : {}) };
      refs.set(inp.name, val);
      this.pinnedVars.add(val.v);
      return val;
    });
  }

  /**
   * A size read from a shape in the spec's class (a flatten's, which the Dense after it takes): found
   * in __init__ by a method that runs the layers before it on zeros. The values forward has read so
   * far are written into __init__ first, since that method reads them.
   */
  private dryRun(arg: string, out: string, what: string): void {
    if (this.zeros.some((z) => !z)) throw new NotGeneral(`the size of '${what}' read from a shape, after an input with a None dimension`);
    for (const [name, expr] of this.root.stores) {
      const key = `${name}\u0000${expr}`;
      if (this.storedEarly.has(key)) continue;
      this.storedEarly.add(key);
      const a = this.attr(this.root, name);
      this.finalNames.set(`${this.root.init}\u0000${name}`, a);
      this.init.push(`${this.root.init}.${a} = ${expr}`);
    }
    const method = `_${arg}`;
    this.dryRuns.push({ method, arg, fwdEnd: this.fwd.lines.length, out, what });
    this.init.push(`${arg} = self.${method}(${this.zeros.join(', ')})`);
  }

  /** The class's text: __init__ (with the stores), reset_parameters, forward and regularization_loss. */
  private classLines(inputArgs: string[], sig: string[], inputs: Val[], out: Val, stores: Lines, fix: (s: string) => string): string[] {
    const shapeSig = this.shapeArgs.map((s) => `${s.arg}: int`);
    const L: string[] = [];
    const all = [...inputArgs.map((a) => `${a}: int`), ...shapeSig, ...sig];
    L.push(`    def __init__(self${all.length ? `, *, ${all.join(', ')}` : ''}) -> None:`);
    L.push('        super().__init__()');
    L.push(...this.init.lines.map(fix));
    L.push(...stores.lines);
    if (!this.spec) L.push(`        self.out_channels = ${out.ch.py}`);
    L.push('        self.reset_parameters()', '');
    L.push('    @torch.no_grad()', '    def reset_parameters(self) -> None:');
    L.push('        """Draw every weight as Keras\' initializers do (he_normal is truncated, glorot_uniform uses fan_avg)."""');
    L.push(...(this.resets.lines.length ? this.resets.lines.map(fix) : ['        pass']), '');
    const params = inputs.map((i) => `${i.v}: torch.Tensor`).join(', ');
    L.push(`    def forward(self, ${params}) -> torch.Tensor:`);
    L.push(...this.spec?.forwardDoc ?? []);
    L.push(...this.fwd.lines.map(fix));
    L.push(`        return ${out.v}`, '');
    for (const d of this.dryRuns) {
      L.push('    @torch.no_grad()', `    def ${d.method}(self, ${params}) -> int:`);
      L.push(`        """The size of \`${d.what}\`'s output, which __init__ sizes the next layer by: the layers before it, run on zeros in eval mode."""`);
      L.push('        mode = self.training', '        self.eval()');
      L.push(...this.fwd.lines.slice(0, d.fwdEnd).map(fix));
      L.push('        self.train(mode)', `        return ${d.out}.shape[1]`, '');
    }
    L.push('    def regularization_loss(self) -> torch.Tensor:');
    L.push('        """The Keras regularizers\' penalty (l2: l * sum(w^2), on those kernels only), added to the loss."""');
    if (this.regs.lines.length) L.push('        loss = torch.zeros(())', ...this.regs.lines.map(fix), '        return loss');
    else L.push('        return torch.zeros(())');
    return L;
  }

  private bindLet(name: string, t: Template, env: Env, level: Level, init: Lines, uses: Set<string>): void {
    const s = templatePy(t, this.initLookup(env), uses);
    if (s.known) { env.set(name, { sym: s, level }); return; }
    const local = this.local(this.ident(name));
    init.push(`${local} = ${s.py}`);
    env.set(name, { sym: { ...s, py: local, prec: ATOM }, level });
  }

  private sequence(items: readonly Item[], input: Val | undefined, c: SeqCtx): Val | undefined {
    let cur = input;
    for (const item of items) {
      const env: Env = new Map(c.env);
      for (const l of item.kind === 'repeat' || item.kind === 'for' ? [] : item.lets) this.bindLet(l.name, l.value, env, c.level, this.init, c.uses);
      const ctx = { ...c, env };
      let cond: Sym | undefined;
      if (item.when) {
        cond = templatePy(item.when, this.initLookup(env), c.uses);
        if (cond.known) {
          if (cond.value !== true) {
            if (item.id) throw new NotGeneral(`an item with an id under a when: that is false`);
            continue;
          }
          cond = undefined;
        }
      }
      if (cond && item.id) throw new NotGeneral('an item with an id under a when: that depends on the params');
      const from = item.from?.map((r) => {
        const v = c.refs.get(r.name);
        if (!v) throw new NotGeneral(`reference '${r.name}'`);
        return v;
      });
      const ins = from ?? (cur ? [cur] : []);
      if (!ins.length) throw new NotGeneral('an item without an input');
      let out: Val;
      switch (item.kind) {
        case 'layer': out = this.layer(item.op, item.attrs, `${item.ptr}/${escapePointer(item.op)}`, 'key', item.id ?? item.op, ins, ctx, cond, item.when); break;
        case 'call': out = this.call(item, ins, ctx, cond); break;
        case 'branches': if (cond) throw new NotGeneral('branches under a when: that depends on the params'); out = this.branches(item, ins, ctx); break;
        case 'repeat': case 'for': if (cond) throw new NotGeneral('a loop under a when: that depends on the params'); out = this.loop(item, ins, ctx); break;
        case 'share': throw new NotGeneral('share: inside a block');
      }
      if (item.id) {
        // Pinned (never rebound) only where something reads it by name later.
        if (this.referenced.has(item.id)) {
          out = { ...out, pinned: true };
          this.pinnedVars.add(out.v);
        }
        c.refs.set(item.id, out);
      }
      cur = out;
    }
    return cur;
  }

  /** The output variable of a step: its input's when nothing else reads that, else a new one. */
  private outVar(input: Val, name: string, several = false): string {
    if (!several && !input.pinned) return input.v;
    if (!this.pinnedVars.has('x')) return 'x';
    return this.fresh(name);
  }
  private readonly pinnedVars = new Set<string>();

  private layer(op: string, attrTemplates: Map<string, Template>, spanPtr: string, which: 'key' | 'value', base: string, ins: Val[], c: SeqCtx, cond: Sym | undefined, when?: Template): Val {
    const def = this.g.registry.get(op);
    if (!def?.pytorch) throw new NotGeneral(`op '${op}' has no PyTorch mapping`);
    const span = this.span(spanPtr, which);
    const attrs = new Map<string, Sym>();
    for (const [k, t] of attrTemplates) attrs.set(k, templatePy(t, this.initLookup(c.env), c.uses));
    const rs = attrs.get('return_state');
    if (rs && !(rs.known && rs.value === false)) throw new NotGeneral(`${op} with return_state (several outputs)`);
    const w = writeLayer(this.g, def, attrs, ins, span);
    const needsModule = w.modules.length > 0;
    const a = needsModule ? this.attr(c.level, base) : base;
    const selfInit = `${c.level.init}.${a}`;
    const selfFwd = `${c.level.fwd}.${a}`;
    const len = w.len?.(ins);
    const out: Val = { v: '', rank: w.rank, ch: w.ch(ins), pinned: false, ...(len ? { len } : {}) };
    let dry: string | undefined;
    if (w.shapeArg) {
      if (this.loopDepth || cond) throw new NotGeneral('a size read from the input shape inside a loop or under a when:');
      const arg = this.local(`${this.ident(base)}_features`);
      if (this.spec) dry = arg;
      else this.shapeArgs.push({ name: arg, span, arg });
      out.ch = { py: arg, prec: ATOM, known: false, kind: 'num' };
    }
    if (w.flatten !== undefined) {
      const order = this.g.flattenOrder(span);
      if (order) this.chwFlatten.add(span);
    }
    // __init__: the modules, conditional when the when: depends on the params.
    for (const [k, expr] of w.modules) {
      const target = k ? `${selfInit}.${k}` : selfInit;
      const e = expr.replace(/\u0002SELF\u0002/g, selfInit);
      if (cond && !k) this.init.push(`${target} = ${e} if ${paren(cond, 2)} else None`);
      else if (cond) this.init.push(`if ${selfInit} is not None:`, `    ${target} = ${e}`);
      else this.init.push(`${target} = ${e}`);
    }
    if (needsModule) this.layers.set(span, [...c.path, a]);
    // forward
    const fwdText = w.forward(ins.map((i) => i.v), selfFwd, this.fwdLookup(c.env));
    const v = this.outVar(ins[0]!, base, ins.length > 1);
    out.v = v;
    if (cond) {
      if (v !== ins[0]!.v) this.fwd.push(`${v} = ${ins[0]!.v}`);
      const test = needsModule ? `${selfFwd} is not None` : templatePy(when!, this.fwdLookup(c.env), c.uses).py;
      this.fwd.push(`if ${test}:`, `    ${v} = ${fwdText}`);
      // A layer that changes the channels only when its when: holds: a local says how many there are.
      if (out.ch.py !== ins[0]!.ch.py) {
        const l = this.local('channels');
        this.init.push(`${l} = ${paren(out.ch, 2)} if ${paren(cond, 2)} else ${paren(ins[0]!.ch, 1)}`);
        out.ch = { py: l, prec: ATOM, known: false, kind: 'num' };
      }
    } else this.fwd.push(`${v} = ${fwdText}`);
    if (dry) this.dryRun(dry, v, base);
    // reset_parameters and the penalty
    if (w.weights.length) {
      const r = new Lines(0), g = new Lines(0);
      for (const wt of w.weights) {
        const ref = `${selfFwd}.${wt.key}`;
        const init = wt.initializer.known ? wt.initializer : { ...wt.initializer, py: toFwd(wt.initializer, this.fwdLookup(c.env)) };
        r.push(initLine(ref, { ...wt, initializer: init }, selfFwd, this.g));
        for (const [kind, f] of [['l2', 'square'], ['l1', 'abs']] as const) {
          const l = wt.regularizer?.[kind];
          if (l) {
            g.push(`loss = loss + ${num(l)} * ${ref}.${f}().sum()`);
            this.hasReg = true;
          }
        }
      }
      const emit = (to: Lines, from: Lines) => {
        if (!from.lines.length) return;
        if (cond) to.nest(`if ${selfFwd} is not None:`, (l) => l.push(...from.lines));
        else to.push(...from.lines);
      };
      emit(this.resets, r);
      emit(this.regs, g);
    }
    return out;
  }

  private call(item: Extract<Item, { kind: 'call' }>, ins: Val[], c: SeqCtx, cond: Sym | undefined): Val {
    const child = generalClass(this.g, item.block, ins.map((i) => i.rank));
    if (child instanceof NotGeneral) throw new NotGeneral(`it calls block '${item.block}', which is not one class (${child.message})`);
    if (child.shapeArgs.length) throw new NotGeneral(`it calls block '${item.block}', which needs sizes read from the input shape`);
    const a = this.attr(c.level, item.id ?? item.block);
    const selfInit = `${c.level.init}.${a}`;
    const selfFwd = `${c.level.fwd}.${a}`;
    const args = [...ins.map((i, k) => `${child.inputArgs[k]}=${i.ch.py}`)];
    for (const [k, t] of item.args) args.push(`${this.ident(k)}=${templatePy(t, this.initLookup(c.env), c.uses).py}`);
    const ctor = `${child.name}(${args.join(', ')})`;
    this.init.push(cond ? `${selfInit} = ${ctor} if ${paren(cond, 2)} else None` : `${selfInit} = ${ctor}`);
    this.calls.set(this.span(`${item.ptr}/${escapePointer(item.block)}`, 'key'), { segs: [...c.path, a], child });
    const v = this.outVar(ins[0]!, item.id ?? item.block, ins.length > 1);
    const call = `${selfFwd}(${ins.map((i) => i.v).join(', ')})`;
    let ch: Sym = { py: `${selfInit}.out_channels`, prec: ATOM, known: false, kind: 'num' };
    if (cond) {
      if (v !== ins[0]!.v) this.fwd.push(`${v} = ${ins[0]!.v}`);
      this.fwd.push(`if ${selfFwd} is not None:`, `    ${v} = ${call}`);
      const l = this.local('channels');
      this.init.push(`${l} = ${selfInit}.out_channels if ${selfInit} is not None else ${paren(ins[0]!.ch, 1)}`);
      ch = { py: l, prec: ATOM, known: false, kind: 'num' };
    } else this.fwd.push(`${v} = ${call}`);
    const wrap = (to: Lines, line: string) => (cond ? to.nest(`if ${selfFwd} is not None:`, (l) => l.push(line)) : to.push(line));
    wrap(this.resets, `${selfFwd}.reset_parameters()`);
    if (child.hasReg) {
      wrap(this.regs, `loss = loss + ${selfFwd}.regularization_loss()`);
      this.hasReg = true;
    }
    return { v, rank: child.outRank, ch, pinned: false };
  }

  private branches(item: Extract<Item, { kind: 'branches' }>, ins: Val[], c: SeqCtx): Val {
    if (ins.length !== 1) throw new NotGeneral('branches with several inputs');
    const input: Val = { ...ins[0]!, pinned: true };
    this.pinnedVars.add(input.v);
    const outs: Val[] = [];
    const held: string[] = [];
    item.branches.forEach((b, j) => {
      let start = input;
      if (b.from) {
        if (b.from.length !== 1) throw new NotGeneral('a branch with several inputs');
        const v = c.refs.get(b.from[0]!.name);
        if (!v) throw new NotGeneral(`reference '${b.from[0]!.name}'`);
        start = { ...v, pinned: true };
      }
      // The branch's container: created only when something in the branch is a module.
      const level = c.level;
      const name = `branch${j}`;
      const mark = this.init.lines.length;
      const inner: Level = { ...level, taken: new Set() };
      const a = this.attr(level, name);
      inner.init = `${level.init}.${a}`;
      inner.fwd = `${level.fwd}.${a}`;
      const out = this.sequence(b.body, start, { ...c, level: inner, refs: new Map(c.refs), path: [...c.path, a] });
      if (!out) throw new NotGeneral('an empty branch without an input');
      if (inner.taken.size) this.init.insert(mark, `${inner.init} = nn.Module()`);
      else level.taken.delete(a);
      outs.push(out.v === input.v ? { ...out, pinned: true } : out);
      // The next branches may not write over this one's output before the merge reads it.
      if (!this.pinnedVars.has(out.v)) {
        this.pinnedVars.add(out.v);
        held.push(out.v);
      }
    });
    if (item.branches.length === 1 && !item.mergeAttrs.size) {
      held.forEach((v) => this.pinnedVars.delete(v));
      return outs[0]!;
    }
    const wasPinned = ins[0]!.pinned;
    const merged = this.layer(item.merge, item.mergeAttrs, `${item.ptr}/merge`, 'value', item.id ?? item.merge, outs.map((o) => ({ ...o, pinned: true })), c, undefined);
    if (!wasPinned) this.pinnedVars.delete(input.v);
    held.forEach((v) => this.pinnedVars.delete(v));
    return merged;
  }

  private loop(item: Extract<Item, { kind: 'repeat' | 'for' }>, ins: Val[], c: SeqCtx): Val {
    if (ins.length !== 1) throw new NotGeneral('a loop with several inputs');
    if (item.body.some((b) => b.id)) throw new NotGeneral('an id inside a loop (its outputs as a list)');
    const over = item.kind === 'repeat' ? templatePy(item.count, this.initLookup(c.env), c.uses) : templatePy(item.in, this.initLookup(c.env), c.uses);
    const iter = item.kind === 'repeat' ? `range(${over.py})` : over.py;
    const name = item.kind === 'repeat' ? item.as ?? item.id ?? 'repeat' : item.var;
    const a = this.attr(c.level, name);
    const selfInit = `${c.level.init}.${a}`;
    const m = this.local(this.loopDepth ? `m${this.loopDepth + 1}` : 'm');
    const fwdVar = this.fresh(name);
    const loopVar = item.kind === 'repeat' && !item.as ? '_' : this.local(this.ident(item.kind === 'repeat' ? item.as! : item.var));
    const chVar = this.local('channels');
    const input = ins[0]!;
    this.init.push(`${selfInit} = nn.ModuleList()`, `${chVar} = ${input.ch.py}`, `for ${loopVar} in ${iter}:`);
    const level: Level = { init: m, fwd: fwdVar, taken: new Set(), stores: new Map(), parent: c.level };
    const env: Env = new Map(c.env);
    if (loopVar !== '_') env.set(item.kind === 'repeat' ? item.as! : item.var, { sym: { py: loopVar, prec: ATOM, known: false, kind: item.kind === 'repeat' ? 'num' : 'other' }, level });
    // The body: indented once more in __init__, forward, resets and penalties.
    const saved = [this.init, this.fwd, this.resets, this.regs] as const;
    const [init, fwd, resets, regs] = [saved[0].child(), saved[1].child(), saved[2].child(), saved[3].child()];
    Object.assign(this, { init, fwd, resets, regs });
    this.loopDepth++;
    init.push(`${m} = nn.Module()`);
    for (const l of item.lets) this.bindLet(l.name, l.value, env, level, init, c.uses);
    const carried = this.outVar(input, 'x', input.pinned);
    const inVal: Val = { v: carried, rank: input.rank, ch: { py: chVar, prec: ATOM, known: false, kind: 'num' }, pinned: false };
    const out = this.sequence(item.body, inVal, { env, level, refs: new Map(c.refs), path: [...c.path, a, '{}'], uses: c.uses });
    this.loopDepth--;
    Object.assign(this, { init: saved[0], fwd: saved[1], resets: saved[2], regs: saved[3] });
    if (!out) throw new NotGeneral('an empty loop');
    if (out.rank !== input.rank) throw new NotGeneral("a loop whose body changes its input's rank");
    if (out.v !== carried) fwd.push(`${carried} = ${out.v}`);
    for (const [n, e] of level.stores) {
      const sa = this.attr(level, n);
      init.push(`${m}.${sa} = ${e}`);
      for (const [ph, p] of this.storePlaceholders) {
        if (p.level !== level || p.name !== n) continue;
        for (const l of [init, fwd, resets, regs]) l.replace(ph, sa);
        this.storePlaceholders.delete(ph);
      }
    }
    init.push(`${selfInit}.append(${m})`);
    if (out.ch.py !== chVar) init.push(`${chVar} = ${out.ch.py}`);
    this.init.lines.push(...init.lines);
    if (carried !== input.v) this.fwd.push(`${carried} = ${input.v}`);
    this.fwd.append(`for ${fwdVar} in ${c.level.fwd}.${a}:`, fwd);
    this.resets.append(`for ${fwdVar} in ${c.level.fwd}.${a}:`, resets);
    this.regs.append(`for ${fwdVar} in ${c.level.fwd}.${a}:`, regs);
    return { v: carried, rank: out.rank, ch: { py: chVar, prec: ATOM, known: false, kind: 'num' }, pinned: false };
  }
}

interface SeqCtx {
  env: Env;
  level: Level;
  refs: Map<string, Val>;
  path: string[];
  uses: Set<string>;
}

function kindOfParam(p: ParamDecl): Sym['kind'] {
  switch (p.type) {
    case 'int': case 'float': return 'num';
    case 'bool': return 'bool';
    case 'activation': return 'act';
    case 'string': case 'enum': return 'str';
    default: return 'other';
  }
}

function collectRefs(items: readonly Item[], out: Set<string>): void {
  for (const it of items) {
    for (const r of it.from ?? []) out.add(r.name);
    if (it.kind === 'share') out.add(it.target.name);
    if (it.kind === 'repeat' || it.kind === 'for') collectRefs(it.body, out);
    if (it.kind === 'branches') for (const b of it.branches) { for (const r of b.from ?? []) out.add(r.name); collectRefs(b.body, out); }
  }
}

const num = (v: number) => py(Number(v.toPrecision(12)));

/** The statement that draws a weight of a general class (its fans read from the tensor's shape). */
function initLine(ref: string, w: WrittenWeight, module: string, g: GeneralContext): string {
  const init = w.initializer;
  if (init.known && init.value === 'zeros') return `nn.init.zeros_(${ref})`;
  if (init.known && init.value === 'ones') return `nn.init.ones_(${ref})`;
  g.helpers.add('keras_init_');
  return `keras_init_(${ref}, ${init.py}, ${py(w.layout)}${w.layout === 'depthwise' ? `, groups=${module}${w.key.includes('.') ? `.${w.key.split('.').slice(0, -1).join('.')}` : ''}.groups` : ''})`;
}

interface WrittenWeight {
  key: string;
  layout: PytorchWeight['layout'];
  initializer: Sym;
  regularizer?: { l1?: number; l2?: number } | null;
}

interface WrittenLayer {
  /** [child key ('' = the layer's own module), constructor expression]. */
  modules: [string, string][];
  forward(inputs: string[], self: string, fwd: (name: string) => Sym): string;
  weights: WrittenWeight[];
  rank: number;
  ch(ins: Val[]): Sym;
  /** The steps of a sequence output, where known (Val.len). */
  len?(ins: Val[]): Sym | undefined;
  /** The output's size is read from the input shape (a flatten): a constructor argument. */
  shapeArg?: boolean;
  flatten?: boolean;
}

const SELF = '\u0002SELF\u0002';

/**
 * A layer of a general class, by its op's mapping given sentinels (three variants that must agree
 * once the sentinels are replaced by their expressions), or conv2d's own general form.
 */
function writeLayer(g: GeneralContext, def: OpDef, attrs: Map<string, Sym>, ins: Val[], span: string): WrittenLayer {
  try {
    return sentinelLayer(g, def, attrs, ins, span);
  } catch (e) {
    // A convolution whose pads depend on the input size, or whose channels are a product: its own form.
    if (!(e instanceof NotGeneral) || !['conv2d', 'depthwise_conv2d', 'conv1d'].includes(def.name)) throw e;
    return convLayer(g, def, attrs, ins, e);
  }
}

/**
 * A layer of a general block class whose attributes or input channels are params, written by
 * sentinels: the op's own PyTorch mapping is run three times with distinct sentinel numbers in place
 * of each symbolic value (and of the input size), and the three texts must agree once each sentinel
 * is replaced by its Python expression; the output channels are then recognised as an input's, a
 * param's, a literal or a sum. Anything else (code that depends on the input size, a weight drawn in
 * parts, a Keras mask) is NotGeneral, and the block falls back to one class per call form.
 * Long (~140 lines) by design: the three renderings share the sentinel table and the attribute
 * closures, and split apart they would pass a dozen values between them.
 */
function sentinelLayer(g: GeneralContext, def: OpDef, attrs: Map<string, Sym>, ins: Val[], span: string): WrittenLayer {
  // TF's 'same' pads depend on the input size modulo the strides: sentinel strides (larger than any
  // pad) would hide that, so a window op with 'same' padding takes its window and strides as literals.
  const pad = attrs.get('padding');
  if ((!pad || pad.known) && (pad?.value ?? def.attrs.padding?.default) === 'same'
    && ['kernel_size', 'pool_size', 'strides', 'dilation_rate'].some((k) => attrs.has(k) && !attrs.get(k)!.known)) {
    throw new NotGeneral(`${def.name} with 'same' padding and its window or strides chosen by params`);
  }
  // Sentinels: one slot per symbolic number, per input channel expression.
  const slots: { py: string; prec: number; values: number[]; sym: Sym }[] = [];
  const slotOf = (s: Sym): number[] => {
    let k = slots.findIndex((x) => x.py === s.py);
    if (k < 0) { k = slots.length; slots.push({ py: s.py, prec: s.prec, values: [0, 1, 2].map((v) => slot(k, v)), sym: s }); }
    return slots[k]!.values;
  };
  const merging = def.arity === 'merge' && def.name !== 'concatenate';
  const inCh = ins.map((i) => (i.ch.known ? [0, 1, 2].map(() => i.ch.value as number) : slotOf(merging ? ins[0]!.ch : i.ch)));
  const inLen = ins.map((i) => (!i.len || (i.len.known && typeof i.len.value !== 'number') ? undefined : i.len.known ? [0, 1, 2].map(() => i.len!.value as number) : slotOf(i.len)));
  let activation: Sym | undefined;
  const inits = new Map<string, Sym>();
  const concrete = (variant: number): Record<string, unknown> => {
    const given = new Map<string, unknown>();
    for (const [k, s] of attrs) {
      if (s.known) { given.set(k, s.value); continue; }
      if (k === 'activation' && (s.kind === 'act' || s.kind === 'str' || s.kind === 'other')) { activation = s; given.set(k, null); continue; }
      if (k.endsWith('_initializer') && s.kind !== 'num' && s.kind !== 'bool') { inits.set(k, s); given.set(k, `\u0003${k}`); continue; }
      const one = (x: Sym): unknown => {
        if (x.known) return x.value;
        if (x.items) return x.items.map(one);
        if (x.kind === 'num') return slotOf(x)[variant];
        throw new NotGeneral(`${def.name}: attribute '${k}' chosen by a param (${x.py})`);
      };
      given.set(k, one(s));
    }
    const { attrs: full, problem } = fillAttrs(def.name, Object.entries(def.attrs), given);
    if (problem) throw new NotGeneral(`${def.name}: ${problem.message ?? 'attributes'}`);
    return full;
  };
  const texts: { modules: [string, string][]; forward: string; weights: WrittenWeight[]; rank: number; outCh: number; outLen: number; flatten: boolean }[] = [];
  const flattenCf = def.name === 'flatten' ? g.flattenOrder(span) ?? false : false;
  for (let variant = 0; variant < 3; variant++) {
    const a = concrete(variant);
    const shapes: Shape[] = ins.map((i, k) => {
      const c = inCh[k]![variant]!;
      if (i.rank === 3) return [H[variant]!, W[variant]!, c];
      if (i.rank === 2) return [inLen[k]?.[variant] ?? H[variant]!, c];
      if (i.rank === 1) return [c];
      throw new NotGeneral(`an input of rank ${i.rank + 1}`);
    });
    let outShape: Shape;
    try {
      outShape = def.outputShape(shapes, a);
    } catch (e) {
      throw new NotGeneral(`${def.name}: ${(e as Error).message}`);
    }
    const ctx: PytorchContext = { attrs: a, inputShapes: shapes, outputShape: outShape, inputs: ins.map((_, k) => `\u0004${k}\u0004`), self: SELF, ...(flattenCf ? { flattenChannelsFirst: true } : {}) };
    let modules: Record<string, string>;
    let forward: string;
    let weights: Record<string, PytorchWeight>;
    try {
      modules = def.pytorch!.modules?.(ctx) ?? {};
      forward = def.pytorch!.forward(ctx);
      weights = def.pytorch!.weights?.(ctx) ?? {};
      if (def.pytorch!.mask?.(ctx)) throw new NotGeneral(`${def.name}: a Keras mask`);
    } catch (e) {
      if (e instanceof NotGeneral) throw e;
      throw new NotGeneral(`${def.name}: ${(e as Error).message}`);
    }
    for (const h of def.pytorch!.helpers ?? []) g.helpers.add(h);
    const sub = (s: string) => substitute(s, slots.map((x) => ({ ...x, value: x.values[variant]! })), variant);
    // In forward, a slot is read from the module (`self.pad`): a placeholder, written once the names are known.
    const subFwd = (s: string) => substitute(s, slots.map((x, k) => ({ py: `\u0005${k}\u0005`, prec: ATOM, value: x.values[variant]! })), variant);
    const ws: WrittenWeight[] = (def.weights?.(shapes, a) ?? []).map((w) => {
      const pw = weights[w.name];
      if (!pw) throw new NotGeneral(`${def.name}: weight ${w.name} has no PyTorch mapping`);
      if (pw.initParts) throw new NotGeneral(`${def.name}: a weight drawn in parts`);
      const init = pw.initializer ?? 'zeros';
      const symInit = init.startsWith('\u0003') ? inits.get(init.slice(1)) : undefined;
      return { key: pw.key, layout: pw.layout, initializer: symInit ?? lit(init), ...(pw.regularizer ? { regularizer: pw.regularizer } : {}) };
    });
    const outCh = outShape[outShape.length - 1];
    texts.push({
      modules: Object.entries(modules).map(([k, e]) => [k, sub(e)]),
      forward: subFwd(forward),
      weights: ws,
      rank: outShape.length,
      outCh: typeof outCh === 'number' ? outCh : NaN,
      outLen: outShape.length === 2 && typeof outShape[0] === 'number' ? outShape[0] : NaN,
      flatten: def.name === 'flatten',
    });
  }
  const same = (f: (t: (typeof texts)[number]) => unknown) => texts.every((t) => JSON.stringify(f(t)) === JSON.stringify(f(texts[0]!)));
  if (!same((t) => t.modules) || !same((t) => t.forward) || !same((t) => t.rank) || !same((t) => t.weights.map((w) => [w.key, w.layout, w.initializer.py, w.regularizer]))) {
    throw new NotGeneral(`${def.name}: its PyTorch code depends on the input size or on a value computed from a param`);
  }
  // The output channels: an input's, a param's, a literal, or the inputs' sum (concatenate on channels).
  let ch: ((ins: Val[]) => Sym) | undefined;
  let shapeArg = false;
  const outs = texts.map((t) => t.outCh);
  const chOf = recognise(outs, inCh, slots);
  if (chOf) ch = 'input' in chOf ? (xs) => xs[chOf.input]!.ch : () => chOf.sym;
  else if (ins.length > 1 && outs.every((o, i) => o === inCh.reduce((s, c) => s + c[i]!, 0))) {
    ch = (xs) => ({ py: xs.map((x) => paren(x.ch, 8)).join(' + '), prec: 7, known: false, kind: 'num' });
  } else if (texts[0]!.rank === 1 && texts[0]!.flatten) {
    shapeArg = true;
    ch = () => lit(0);
  } else throw new NotGeneral(`${def.name}: output channels not a param, an input's or a literal`);
  const t0 = texts[0]!;
  const fwdText = t0.forward;
  // The output's steps: an input's, a param's or a literal (else any length).
  const lenOf = t0.rank === 2 ? recognise(texts.map((t) => t.outLen), inLen, slots) : undefined;
  const len = lenOf && ('input' in lenOf ? (xs: Val[]) => xs[lenOf.input]!.len : () => lenOf.sym);
  return {
    modules: t0.modules,
    forward: (inputs, self, fwd) => {
      let text = fwdText.split(SELF).join(self).replace(/\u0004(\d+)\u0004/g, (_m, i: string) => inputs[Number(i)]!);
      text = text.replace(/\u0005(\d+)\u0005/g, (_m, k: string) => {
        const s = slots[Number(k)]!.sym;
        if (s.ref) return fwd(s.ref).py;
        if (!s.expr) throw new NotGeneral(`${def.name}: its forward reads the channels`);
        return `(${toPy(s.expr, fwd, g.imports).py})`;
      });
      if (activation) {
        const act = toFwd(activation, fwd);
        g.helpers.add('keras_activation');
        text = `keras_activation(${act}, ${text}${t0.rank === 3 ? ', dim=1' : ''})`;
      }
      return text;
    },
    weights: t0.weights,
    rank: t0.rank,
    ch: ch!,
    ...(len ? { len } : {}),
    ...(shapeArg ? { shapeArg } : {}),
    ...(t0.flatten ? { flatten: flattenCf } : {}),
  };
}

/**
 * A size of a layer's output in its three renderings, recognised: an input's (the index into
 * `given`, each input's sizes in the three), a param's (its slot) or a literal; else undefined.
 */
function recognise(sizes: readonly number[], given: readonly (readonly number[] | undefined)[], slots: readonly { py: string; prec: number; values: number[] }[]): { input: number } | { sym: Sym } | undefined {
  const same = (vs: readonly number[]) => vs.every((v, i) => v === sizes[i]);
  const input = given.findIndex((c) => c !== undefined && same(c));
  if (input >= 0) return { input };
  const k = slots.findIndex((x) => same(x.values));
  if (k >= 0) return { sym: { py: slots[k]!.py, prec: slots[k]!.prec, known: false, kind: 'num' } };
  if (sizes.every((o) => o === sizes[0]) && Number.isFinite(sizes[0])) return { sym: lit(sizes[0]) };
  return undefined;
}

/** A symbolic attribute's forward expression: each name it reads stored on the module. */
function toFwd(s: Sym, fwd: (name: string) => Sym): string {
  if (s.ref) return fwd(s.ref).py;
  if (s.expr) return toPy(s.expr, fwd, new Set()).py;
  throw new NotGeneral(`a value forward reads, given as ${s.py}`);
}

/** Replace sentinel numbers by their expressions (parenthesised unless an argument on its own); the spatial ones may not remain. */
function substitute(text: string, slots: { py: string; prec: number; value: number }[], variant: number): string {
  let out = text;
  for (const s of slots) {
    out = out.replace(new RegExp(`\\b${s.value}\\b`, 'g'), (m, at: number, whole: string) => {
      const before = whole.slice(Math.max(0, at - 2), at);
      const after = whole[at + m.length] ?? '';
      const alone = (/[([=]$/.test(before) || before === ', ') && /[,)\]]/.test(after);
      return alone || s.prec >= ATOM ? s.py : `(${s.py})`;
    });
  }
  if (out.includes(String(H[variant])) || out.includes(String(W[variant]))) throw new NotGeneral('code that depends on the input size');
  return out;
}

/**
 * conv2d, depthwise_conv2d or conv1d with params in its kernel size, strides, dilation or depth
 * multiplier: `nn.Conv2d(in_channels, filters, kernel_size, stride=strides, padding=same_padding(...))`
 * (nn.Conv1d over the steps, transposed to (N, C, L) and back), and `pad_same` in forward where
 * TF's 'same' pads depend on the input size (stride > 1).
 */
function convLayer(g: GeneralContext, def: OpDef, attrs: Map<string, Sym>, ins: Val[], why: NotGeneral): WrittenLayer {
  const get = (k: string): Sym => attrs.get(k) ?? lit(def.attrs[k]!.default);
  const need = (k: string, v: unknown) => {
    const s = attrs.get(k);
    if (s && (!s.known || JSON.stringify(s.value) !== JSON.stringify(v))) throw why;
  };
  need('activity_regularizer', null);
  if (def.name === 'conv2d') need('groups', 1);
  const pad = get('padding'), useBias = get('use_bias');
  const oneD = def.name === 'conv1d';
  if (oneD) need('groups', 1);
  if (!pad.known || !useBias.known || ins.length !== 1 || ins[0]!.rank !== (oneD ? 2 : 3)) throw why;
  const depthwise = def.name === 'depthwise_conv2d';
  const cin = ins[0]!.ch;
  const k = get('kernel_size'), s = get('strides'), d = get('dilation_rate');
  const dil = d.known && JSON.stringify(d.value) === '1' ? '' : d.py;
  const same = pad.value === 'same';
  if (same) {
    g.helpers.add('same_padding');
    g.helpers.add('pad_same');
  }
  const dm = depthwise ? get('depth_multiplier') : undefined;
  const out: Sym = depthwise
    ? dm!.known && dm!.value === 1 ? cin : { py: `${paren(cin, 8)} * ${paren(dm!, 9)}`, prec: 8, known: false, kind: 'num' }
    : get('filters');
  const args = [cin.py, out.py, k.py, `stride=${s.py}`];
  if (dil) args.push(`dilation=${dil}`);
  if (same) args.push(`padding=same_padding(${k.py}, ${s.py}${dil ? `, ${dil}` : ''}${oneD ? ', dims=1' : ''})`);
  if (depthwise) args.push(`groups=${cin.py}`);
  if (!useBias.value) args.push('bias=False');
  const act = get('activation');
  const kind = depthwise ? 'depthwise' : 'kernel';
  const weights: WrittenWeight[] = [
    { key: 'weight', layout: depthwise ? 'depthwise' : 'conv', initializer: get(`${kind}_initializer`), regularizer: regOf(get(`${kind}_regularizer`)) },
    ...(useBias.value ? [{ key: 'bias', layout: 'same' as const, initializer: get('bias_initializer'), regularizer: regOf(get('bias_regularizer')) }] : []),
  ];
  return {
    modules: [['', `nn.Conv${oneD ? '1' : '2'}d(${args.join(', ')})`]],
    forward: (inputs, self, fwd) => {
      // conv1d: the steps' features as channels, (N, L, C) -> (N, C, L), and back.
      const x = oneD ? `${inputs[0]}.transpose(1, 2)` : inputs[0]!;
      const conv = same ? `${self}(pad_same(${x}, ${self}))` : `${self}(${x})`;
      const y = oneD ? `${conv}.transpose(1, 2)` : conv;
      const dim = oneD ? -1 : 1;
      if (act.known) {
        if (act.value === null || act.value === 'linear') return y;
        const f = ACT[act.value as string];
        if (!f) throw new NotGeneral(`activation '${String(act.value)}'`);
        return f(y, dim);
      }
      g.helpers.add('keras_activation');
      return `keras_activation(${toFwd(act, fwd)}, ${y}${oneD ? '' : ', dim=1'})`;
    },
    weights,
    rank: oneD ? 2 : 3,
    ch: () => out,
  };
}

function regOf(s: Sym): { l1?: number; l2?: number } | null {
  if (!s.known) throw new NotGeneral('a regularizer chosen by a param');
  return (s.value as { l1?: number; l2?: number } | null) ?? null;
}

import { ACTIVATION as ACT } from '../../ops/pytorch.js';
