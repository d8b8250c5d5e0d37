/**
 * The PyTorch exporter: a typed graph -> a readable, importable Python module: an nn.Module for
 * the spec, and below it a child module per block call (structure.ts says which qualify); loop
 * iterations and branches are plain containers. A block's class is general (general.ts: built from
 * the block's params and input channels); a block that cannot be one falls back to a class per
 * form of its calls: the text of its layers for its arguments and input shapes, calls of the same
 * form sharing the class (README, "PyTorch"). Keras'
 * initializers and regularizers, the recipe's loss and optimizer, and the table that maps each
 * Keras (tfjs) weight to its state_dict key (KERAS_WEIGHTS, which the converter reads).
 * Each op says how it is written (OpDef.pytorch, next to its tfjs mapping); this file only
 * walks the graph. Deterministic: the same graph gives the same text.
 */
import { tensorKey, type TypedGraph, type TypedNode } from '../../types/ir.js';
import type { ParamDecl, SpecAst } from '../../types/spec.js';
import type { OpRegistry } from '../../ops/index.js';
import { UnsupportedByPytorch, type PytorchContext, type PytorchWeight } from '../../ops/types.js';
import { known, py } from '../../ops/pytorch.js';
import { helperDefinitions } from '../../ops/pytorch-helpers.js';
import { graphOutputs, unitTree, type Unit, type UnitItem } from './structure.js';
import { generalClass, specClass, NotGeneral, spanKey, type GeneralClass, type GeneralContext } from './general.js';
import type { BlockDecl } from '../../types/spec.js';
import type { LoadedDocument } from '../../load/yaml.js';

export { UnsupportedByPytorch };

/** The part of the training recipe the module's helpers need (resolved by the caller). */
export interface PytorchTraining {
  optimizer: { name: 'adam' | 'sgd' | 'rmsprop'; learning_rate: number; beta_1?: number; beta_2?: number; epsilon?: number; momentum?: number; nesterov?: boolean; rho?: number; centered?: boolean };
  loss: string;
}

export interface PytorchExportOptions {
  /** The spec file, as the header names it. */
  source: string;
  doc?: string;
  params: readonly ParamDecl[];
  training?: PytorchTraining;
  /** The spec's blocks and source maps: each block becomes one general class (general.ts) where it can. */
  blocks?: ReadonlyMap<string, BlockDecl>;
  docs?: ReadonlyMap<string, Pick<LoadedDocument, 'spans' | 'file'>>;
  /** The spec's own declarations: its class is written general in its params from them (general.ts) where it can be. */
  spec?: Pick<SpecAst, 'file' | 'name' | 'doc' | 'params' | 'lets' | 'asserts' | 'inputs' | 'body' | 'outputs'>;
}

const PY_RESERVED = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif', 'else', 'except',
  'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try',
  'while', 'with', 'yield', 'self', 'torch', 'nn', 'F', 'x', 'match', 'case', 'type',
  // nn.Module attributes a child must not shadow
  'training', 'forward', 'train', 'eval', 'parameters', 'buffers', 'modules', 'children', 'state_dict', 'to', 'cuda', 'cpu', 'float',
  'double', 'half', 'apply', 'zero_grad', 'add_module', 'register_buffer', 'register_parameter', 'named_modules', 'named_parameters',
  'requires_grad_', 'load_state_dict', 'extra_repr', 'params', 'reset_parameters', 'regularization_loss', 'dump_patches', 'get_submodule',
]);

/** A Python identifier from an id segment. */
export function pyIdent(s: string): string {
  let id = s.replace(/[^A-Za-z0-9_]/g, '_');
  if (!id || /^[0-9]/.test(id)) id = `_${id}`;
  return PY_RESERVED.has(id) ? `${id}_` : id;
}

const pascal = (s: string) => s.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('') || 'Model';

/** Keras' fans of a kernel shape (`compute_fans`). */
function fans(shape: readonly number[]): [number, number] {
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  const rf = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2]! * rf, shape[shape.length - 1]! * rf];
}

/** Keras' truncated-normal correction: the stddev of a unit normal truncated at +-2. */
const TRUNC = 0.87962566103423978;
const num = (v: number) => py(Number(v.toPrecision(12)));

/** The statement that draws a parameter as the Keras initializer does. */
function initStatement(ref: string, init: string, shape: readonly number[]): string {
  const [fi, fo] = fans(shape);
  const trunc = (std: number) => `nn.init.trunc_normal_(${ref}, std=${num(std)}, a=${num(-2 * std)}, b=${num(2 * std)})`;
  const uniform = (lim: number) => `nn.init.uniform_(${ref}, ${num(-lim)}, ${num(lim)})`;
  switch (init) {
    case 'zeros': return `nn.init.zeros_(${ref})`;
    case 'ones': return `nn.init.ones_(${ref})`;
    case 'glorot_uniform': return uniform(Math.sqrt(6 / (fi + fo)));
    case 'glorot_normal': return trunc(Math.sqrt(2 / (fi + fo)) / TRUNC);
    case 'he_uniform': return uniform(Math.sqrt(6 / fi));
    case 'he_normal': return trunc(Math.sqrt(2 / fi) / TRUNC);
    case 'lecun_uniform': return uniform(Math.sqrt(3 / fi));
    case 'lecun_normal': case 'variance_scaling': return trunc(Math.sqrt(1 / fi) / TRUNC);
    case 'random_uniform': return uniform(0.05);
    case 'random_normal': return `nn.init.normal_(${ref}, 0.0, 0.05)`;
    case 'truncated_normal': return trunc(0.05);
    case 'orthogonal': return `nn.init.orthogonal_(${ref})`;
    case 'identity': return `nn.init.eye_(${ref})`;
    default: throw new UnsupportedByPytorch(`initializer '${init}' has no PyTorch mapping`);
  }
}

const PARAM_TYPE: Record<string, string> = { int: 'int', float: 'float', bool: 'bool', shape: 'tuple[int, ...]', enum: 'str', string: 'str', activation: 'Optional[str]' };

/** Which flattens can keep PyTorch's (C, H, W) order: every consumer (through dropout/activation) is a Dense. */
function flattenPlan(graph: TypedGraph): { chwFlatten: Set<string>; denseFromChw: Map<string, [number, number, number]> } {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const consumers = new Map<string, TypedNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const chwFlatten = new Set<string>();
  const denseFromChw = new Map<string, [number, number, number]>();
  const denseOwner = (n: TypedNode) => n.sharedWith ?? n.id;
  const conflicts = new Set<string>();
  for (const f of graph.nodes) {
    if (f.op !== 'flatten' || f.inputShapes[0]!.length !== 3) continue;
    const hwc = known(f.inputShapes[0]!) as [number, number, number];
    const denses: TypedNode[] = [];
    let ok = !graph.outputs.includes(f.id);
    const walk = (id: string) => {
      for (const c of consumers.get(id) ?? []) {
        if (c.op === 'dense') denses.push(c);
        else if ((c.op === 'dropout' || c.op === 'activation') && !graph.outputs.includes(c.id)) walk(c.id);
        else ok = false;
      }
    };
    walk(f.id);
    if (!ok || !denses.length) continue;
    chwFlatten.add(f.id);
    for (const d of denses) {
      const prev = denseFromChw.get(denseOwner(d));
      if (prev && JSON.stringify(prev) !== JSON.stringify(hwc)) conflicts.add(denseOwner(d));
      denseFromChw.set(denseOwner(d), hwc);
    }
  }
  // A shared Dense fed by flattens of different shapes, or also by something else, keeps Keras' order.
  for (const n of graph.nodes) {
    if (n.op !== 'dense' || !denseFromChw.has(denseOwner(n))) continue;
    let src = byId.get(n.inputs[0]!);
    while (src && (src.op === 'dropout' || src.op === 'activation')) src = byId.get(src.inputs[0]!);
    if (!src || !chwFlatten.has(src.id)) conflicts.add(denseOwner(n));
  }
  if (conflicts.size) {
    for (const f of [...chwFlatten]) {
      const walkHits = (id: string): boolean => (consumers.get(id) ?? []).some((c) => (c.op === 'dense' ? conflicts.has(denseOwner(c)) : walkHits(c.id)));
      if (walkHits(f)) chwFlatten.delete(f);
    }
    for (const d of conflicts) denseFromChw.delete(d);
  }
  return { chwFlatten, denseFromChw };
}

/** Greedy word wrap of one paragraph. */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

export interface PytorchModule {
  /** The module's source text. */
  text: string;
  /** The nn.Module class name. */
  className: string;
}

/** A Python class of the module: a form of a block call (or the spec itself). */
interface PyClass {
  name: string;
  /** The docstring's text (the ids of the calls or iterations it serves are added at the end). */
  doc: string;
  /** Ids of the block calls built from this class. */
  uses: string[];
  lines: string[];
  /** Whether it (or a module below it) has a regularizer term. */
  hasReg: boolean;
  /** The block it is a form of. */
  block: string;
}

/** What one export collects: the classes (children first), their forms, the weight table. */
interface Emit {
  graph: TypedGraph;
  registry: OpRegistry;
  plan: ReturnType<typeof flattenPlan>;
  byId: Map<string, TypedNode>;
  classes: PyClass[];
  /** Class text (without its name) -> class. */
  forms: Map<string, PyClass>;
  names: Set<string>;
  table: string[];
  /** Python helpers (src/ops/pytorch-helpers.ts) the ops asked for. */
  helpers: Set<string>;
  /** Node id -> the Python name of its output's Keras mask, and the unit (path) where that name lives. */
  masks: Map<string, { name: string; unit: string }>;
  /** The general block classes (absent without the spec's blocks). */
  general?: GeneralContext;
  /** Blocks written one class per call form, and why. */
  fallbacks: Map<string, string>;
  /** The general classes the module uses (one may be built and then not used: a call it cannot take). */
  usedGeneral: Set<GeneralClass>;
  /** Why the spec's own class is not general, where it is not. */
  specFallback?: string;
}

/** One unit's body, in local names: what its class holds and does. */
interface Body {
  init: string[];
  resets: string[];
  regs: string[];
  forward: string[];
  hasReg: boolean;
}

/** Unique dotted attribute paths (under self) for id paths relative to a unit. */
function attrNamer(base: string): (id: string) => string {
  const byRel = new Map<string, string>();
  const used = new Set<string>();
  return (id: string) => {
    const rel = base ? id.slice(base.length + 1) : id;
    let path = byRel.get(rel);
    if (path) return path;
    const plain = rel.split('/').map(pyIdent).join('.');
    path = plain;
    for (let k = 2; used.has(path); k++) path = `${plain}_${k}`;
    used.add(path);
    byRel.set(rel, path);
    return path;
  };
}

/** A node's inputs as tensor keys (`enc` and its state outputs `enc` port 1, 2: tensorKey). */
const nodeInputs = (n: TypedNode): string[] => n.inputs.map((i, k) => tensorKey(i, n.ports?.[k]));
/** A node's outputs as tensor keys: one, or one per output (a recurrent layer with return_state). */
const nodeOutputs = (n: TypedNode): string[] => (n.outputShapes ? n.outputShapes.map((_, p) => tensorKey(n.id, p)) : [n.id]);
/** The Python name of an output of a node: `enc`, then its states by their op's names (OpDef.states): `enc_state_h`, `enc_state`. */
function portName(registry: OpRegistry, n: TypedNode, key: string): string {
  const [id, port] = key.split('\u0001') as [string, string | undefined];
  if (!port) return id;
  return `${id}_${registry.get(n.op)?.states?.[Number(port) - 1] ?? `out${port}`}`;
}

/** The reads and writes of each item. */
type Step = { item: UnitItem; ins: string[]; outs: string[] };
function stepsOf(unit: Unit): Step[] {
  const steps: Step[] = [];
  for (const it of unit.items) {
    if (it.kind === 'node') steps.push({ item: it, ins: nodeInputs(it.node), outs: nodeOutputs(it.node) });
    else steps.push({ item: it, ins: it.unit.inputs, outs: it.unit.outputs });
  }
  return steps;
}

/**
 * Python variables of a unit's values: its inputs are `x` (or x1, x2, ...; the spec's keep their
 * names), a value read once, by the very next step, is `x` too, the others are named after their id.
 */
function variables(unit: Unit, steps: Step[], graph: TypedGraph, registry: OpRegistry): { variable: Map<string, string>; taken: Set<string> } {
  const reads = new Map<string, number[]>();
  steps.forEach((s, k) => s.ins.forEach((i) => reads.set(i, [...(reads.get(i) ?? []), k])));
  unit.outputs.forEach((o) => reads.set(o, [...(reads.get(o) ?? []), steps.length]));
  const variable = new Map<string, string>();
  const taken = new Set<string>(['x']);
  const lastRead = (v: string) => Math.max(-1, ...(reads.get(v) ?? []));
  let holder: string | undefined;
  unit.inputs.forEach((id, k) => {
    const name = !unit.path ? pyIdent(id) : unit.inputs.length === 1 ? 'x' : `x${k + 1}`;
    taken.add(name);
    variable.set(id, name);
    if (name === 'x') holder = id;
  });
  const rel = (id: string) => (unit.path ? id.slice(unit.path.length + 1) : id);
  // Names are not taken again where Keras masks flow (a mask's name follows its value's).
  const reuse = !graph.nodes.some((n) => n.attrs.mask_zero);
  const held = new Map<string, string>();
  steps.forEach((s, k) => {
    for (const v of s.outs) {
      const r = reads.get(v) ?? [];
      const next = steps[k + 1];
      const free = holder === undefined || lastRead(holder) <= k;
      const once = next !== undefined && r.length === 1 && r[0] === k + 1 && new Set(next.ins).size === 1 && free;
      if (once && s.outs.length === 1 && !graph.inputs.includes(v)) {
        variable.set(v, 'x');
        holder = v;
        continue;
      }
      // A block call's one output is named after the call (`enc1`), not its last layer; a name whose
      // value nobody reads any more is taken again (`activation` in each residual block), so that
      // the unrolled forward keeps only the tensors still needed alive, as a loop would.
      const named = s.outs.length === 1 && s.item.kind === 'call' ? s.item.unit.path : s.item.kind === 'node' ? portName(registry, s.item.node, v) : v;
      const base = pyIdent((reuse ? rel(named).split('/').pop()! : rel(named).replace(/\//g, '_')));
      let name = base;
      const busy = (n: string) => taken.has(n) && (!reuse || !held.has(n) || lastRead(held.get(n)!) > k || s.outs.includes(held.get(n)!));
      for (let i = 2; busy(name); i++) name = `${base}_${i}`;
      taken.add(name);
      held.set(name, v);
      variable.set(v, name);
    }
  });
  return { variable, taken };
}

/** The Python statements that draw a weight: one initializer, or one per slice of the last axis. */
function drawStatements(ref: string, pw: PytorchWeight, shape: readonly number[]): string[] {
  if (!pw.initParts) return pw.initializer ? [initStatement(ref, pw.initializer, shape)] : [];
  let at = 0;
  return pw.initParts.map(([init, n]) => {
    const part = initStatement(`${ref}[..., ${at}:${at + n}]`, init, [...shape.slice(0, -1), n]);
    at += n;
    return part;
  });
}

/**
 * The Keras mask a node's input carries (Python name), and the statement that names its own output's
 * mask (Keras' compute_mask), or an error where the op cannot take a mask.
 */
function maskStep(node: TypedNode, def: NonNullable<ReturnType<OpRegistry['get']>>, ctx: PytorchContext, masks: Emit['masks'], unit: string, variable: string): string | undefined {
  const given = nodeInputs(node).map((i) => masks.get(i));
  // A mask is a local variable of the module that made it; the export does not pass masks between modules.
  if (given.some((m) => m !== undefined && m.unit !== unit)) {
    throw new UnsupportedByPytorch(`op '${node.op}' takes a Keras mask (from an embedding with mask_zero: true) made in another block or loop; the PyTorch export passes masks within one module only`, node.id);
  }
  if (given.some((m) => m !== undefined) && (!def.pytorch!.mask || given[0] === undefined)) {
    throw new UnsupportedByPytorch(`op '${node.op}' cannot take the Keras mask of its input (from an embedding with mask_zero: true) in the PyTorch export`, node.id);
  }
  const m = def.pytorch!.mask?.(ctx);
  if (!m) return undefined;
  const name = `${variable}_mask`;
  masks.set(node.id, { name, unit });
  return m === name ? undefined : `${name} = ${m}`;
}

/** A node's lines: its modules (once per owner), initialisers, penalties and weight rows; its forward line. */
function nodeLines(e: Emit, node: TypedNode, ctxBase: { self: string; inputs: string[]; unit: string; variable: string }, prefix: string, body: Body, owned: Set<string>): string {
  const def = e.registry.get(node.op);
  if (!def?.pytorch) throw new UnsupportedByPytorch(`op '${node.op}' has no PyTorch mapping`, node.id);
  const inputMask = e.masks.get(nodeInputs(node)[0]!);
  const ownerId = node.sharedWith ?? node.id;
  const ctx: PytorchContext = {
    attrs: node.attrs,
    inputShapes: node.inputShapes,
    outputShape: node.outputShape,
    inputs: ctxBase.inputs,
    self: `self.${ctxBase.self}`,
    ...(e.plan.chwFlatten.has(node.id) ? { flattenChannelsFirst: true } : {}),
    ...(e.plan.denseFromChw.has(ownerId) ? { denseFromChw: e.plan.denseFromChw.get(ownerId)! } : {}),
    ...(inputMask && inputMask.unit === ctxBase.unit ? { mask: inputMask.name } : {}),
  };
  try {
    for (const h of def.pytorch.helpers ?? []) e.helpers.add(h);
    const maskLine = maskStep(node, def, ctx, e.masks, ctxBase.unit, ctxBase.variable);
    if (maskLine) body.forward.push(maskLine);
    if (!owned.has(ownerId) && def.pytorch.modules) {
      owned.add(ownerId);
      for (const [k, expr] of Object.entries(def.pytorch.modules(ctx))) body.init.push(`self.${k ? `${ctxBase.self}.${k}` : ctxBase.self} = ${expr}`);
      const weights = def.pytorch.weights?.(ctx) ?? {};
      for (const w of node.weights) {
        const pw: PytorchWeight | undefined = weights[w.name];
        if (!pw) throw new UnsupportedByPytorch(`${node.op}: weight ${w.name} has no PyTorch mapping`, node.id);
        const ref = `self.${ctxBase.self}.${pw.key}`;
        body.resets.push(...drawStatements(ref, pw, w.shape));
        if (pw.regularizer?.l2) body.regs.push(`${num(pw.regularizer.l2)} * ${ref}.square().sum()`);
        if (pw.regularizer?.l1) body.regs.push(`${num(pw.regularizer.l1)} * ${ref}.abs().sum()`);
        e.table.push(tableRow(ownerId, w.name, pw, `${prefix}${ctxBase.self}.${pw.key}`));
      }
    }
    return def.pytorch.forward(ctx);
  } catch (e) {
    if (e instanceof UnsupportedByPytorch && !e.nodeId) throw new UnsupportedByPytorch(e.message.startsWith(node.op) ? e.message : `${node.op}: ${e.message}`, node.id);
    throw e;
  }
}

/** A row of KERAS_WEIGHTS: the Keras weight's name in a tfjs model folder, its state_dict key, its layout. */
function tableRow(ownerId: string, weight: string, pw: PytorchWeight, key: string): string {
  const kerasName = ownerId.replace(/\//g, '.');
  const saved = pw.tfjsName?.replace('{layer}', kerasName) ?? weight;
  return `    (${py(`${kerasName}/${saved}`)}, ${py(key)}, ${py(pw.layout)}${pw.hwc ? `, ${py(pw.hwc)}` : ''}),`;
}

/** The PyTorch weights of a node as its op maps them (for the weight table of a general class's call). */
function nodeWeights(e: Emit, node: TypedNode): Record<string, PytorchWeight> {
  const def = e.registry.get(node.op)!;
  const ownerId = node.sharedWith ?? node.id;
  const ctx: PytorchContext = {
    attrs: node.attrs, inputShapes: node.inputShapes, outputShape: node.outputShape, inputs: node.inputs.map(() => 'x'), self: 'self',
    ...(e.plan.chwFlatten.has(node.id) ? { flattenChannelsFirst: true } : {}),
    ...(e.plan.denseFromChw.has(ownerId) ? { denseFromChw: e.plan.denseFromChw.get(ownerId)! } : {}),
  };
  return def.pytorch?.weights?.(ctx) ?? {};
}

/** A block call reading a state output (return_state) made outside it: the export passes states within one module only. */
function refuseStatesIn(unit: Unit): void {
  const nodes = unitNodes(unit);
  const inside = new Set(nodes.map((n) => n.id));
  for (const n of nodes) {
    const k = n.inputs.findIndex((i, j) => (n.ports?.[j] ?? 0) > 0 && !inside.has(i));
    if (k >= 0) throw new UnsupportedByPytorch(`it reads a state of '${n.inputs[k]}' (return_state) made outside its block; the PyTorch export passes states within one module only`, n.id);
  }
}

/** Nodes of a unit, deep. */
function unitNodes(u: Unit): TypedNode[] {
  return u.items.flatMap((it) => (it.kind === 'node' ? [it.node] : unitNodes(it.unit)));
}

/**
 * A block call written with the block's general class: `ResnetLayer(in_channels=16, filters=32, strides=2)`
 * (the channels of its inputs, sizes read from its shapes, the arguments the spec gave), and the weight
 * table's rows of its layers, whose keys follow the class's attributes. Undefined where the block has no
 * general class: then it is written one class per form, and the reason is kept for that class's comment.
 */
function generalCall(e: Emit, unit: Unit, prefix: string): { ctor: string; cls: GeneralClass } | undefined {
  const g = e.general;
  const scope = unit.scope!;
  if (!g || scope.kind !== 'block') return undefined;
  const ranks = unit.inputs.map((i) => e.byId.get(i)!.outputShape.length);
  const cls = generalClass(g, scope.label, ranks);
  const fail = (why: string) => {
    if (!e.fallbacks.has(scope.label)) e.fallbacks.set(scope.label, why);
    return undefined;
  };
  if (cls instanceof NotGeneral) return fail(cls.message);
  // A Keras mask (embedding mask_zero) is passed within one module only: the per-form path says so (MS4140).
  if (unit.inputs.some((i) => e.masks.has(i))) return fail('its input carries a Keras mask');
  const nodes = unitNodes(unit);
  if (nodes.some((n) => n.sharedWith)) return fail('a layer shared with share:');
  const rows = generalRows(e, cls, unit, nodes, prefix);
  if (typeof rows === 'string') return fail(rows);
  const args = unit.inputs.map((i, k) => {
    const s = e.byId.get(i)!.outputShape;
    return `${cls.inputArgs[k]}=${py(s[s.length - 1])}`;
  });
  for (const s of cls.shapeArgs) {
    const n = nodes.find((x) => spanKey(x.span) === s.span);
    if (!n) return fail(`the size ${s.name}`);
    args.push(`${s.name}=${py(n.outputShape[n.outputShape.length - 1])}`);
  }
  for (const a of scope.call?.args ?? []) if (a.given) args.push(`${pyIdent(a.name)}=${py(a.value)}`);
  e.table.push(...rows);
  markUsed(e, cls);
  return { ctor: `${cls.name}(${args.join(', ')})`, cls };
}

/** The weight table's rows of a unit's nodes written by a general class (keys under `prefix`), or why they cannot be. */
function generalRows(e: Emit, cls: GeneralClass, unit: Unit, nodes: readonly TypedNode[], prefix: string): string[] | string {
  const rows: string[] = [];
  for (const n of nodes) {
    const key = generalKey(cls, unit, n);
    if (key === undefined) return `layer '${n.id}' not found in the class`;
    const weights = nodeWeights(e, n);
    for (const w of n.weights) {
      const pw = weights[w.name];
      if (!pw) return `weight ${w.name} of '${n.id}'`;
      rows.push(tableRow(n.id, w.name, pw, `${prefix}${key}.${pw.key}`));
    }
  }
  return rows;
}

/** A general class and the classes it calls are written into the module. */
function markUsed(e: Emit, c: GeneralClass): void {
  e.usedGeneral.add(c);
  for (const { child } of c.calls.values()) markUsed(e, child);
}

/** The attribute path of a node inside a general class's instance: the class's segments, loop indices filled in. */
function generalKey(cls: GeneralClass, unit: Unit, n: TypedNode): string | undefined {
  const at = n.scopes.findIndex((s) => s.path === unit.path);
  const below = n.scopes.slice(at + 1);
  const loops = below.filter((s) => s.loop).map((s) => s.loop!.index);
  const calls = below.filter((s) => s.kind === 'block').length;
  const trace = n.trace.slice(0, calls).reverse();
  const segs: string[] = [];
  let cur: GeneralClass = cls;
  for (const t of trace) {
    const c = cur.calls.get(spanKey(t));
    if (!c) return undefined;
    segs.push(...c.segs);
    cur = c.child;
  }
  const l = cur.layers.get(spanKey(n.span));
  if (!l) return n.weights.length ? undefined : '';
  segs.push(...l);
  let k = 0;
  const out = segs.map((s) => (s === '{}' ? String(loops[k++]) : s));
  return k === loops.length ? out.join('.') : undefined;
}

/** `self.a = nn.Module()` for each container above a dotted path, once. */
function containers(path: string, made: Set<string>, init: string[]): void {
  const parts = path.split('.');
  for (let i = 1; i < parts.length; i++) {
    const p = parts.slice(0, i).join('.');
    if (!made.has(p)) {
      made.add(p);
      init.push(`self.${p} = nn.Module()`);
    }
  }
}

/** A child unit's constructor call: `ResnetLayer(filters=32, strides=2)` (the arguments the spec gave). */
function construct(cls: PyClass, unit: Unit): string {
  const args = (unit.scope?.call?.args ?? []).filter((a) => a.given).map((a) => `${pyIdent(a.name)}=${py(a.value)}`);
  return `${cls.name}(${args.join(', ')})`;
}

/** A unit's body in local names, its children emitted first (their classes, and their weight rows under `prefix`). */
function unitBody(e: Emit, unit: Unit, prefix: string): { body: Body; variable: Map<string, string> } {
  const steps = stepsOf(unit);
  const { variable } = variables(unit, steps, e.graph, e.registry);
  const attr = attrNamer(unit.path);
  const body: Body = { init: [], resets: [], regs: [], forward: [], hasReg: false };
  const made = new Set<string>();
  const owned = new Set<string>();
  const owner = new Map<string, string>();
  const vars = (ids: readonly string[]) => ids.map((i) => variable.get(i)!).join(', ');
  for (const s of steps) {
    const it = s.item;
    if (it.kind === 'node') {
      const ownerId = it.node.sharedWith ?? it.node.id;
      if (!owner.has(ownerId)) owner.set(ownerId, attr(ownerId));
      const self = owner.get(ownerId)!;
      if (!owned.has(ownerId)) containers(self, made, body.init);
      const inputs = s.ins.map((i) => {
        const v = variable.get(i);
        // A state output (return_state) read in another module than its layer's: not passed across.
        if (v === undefined) throw new UnsupportedByPytorch(`it reads a state of '${i.split('\u0001')[0]}' (return_state) from another block or loop; the PyTorch export passes states within one module only`, it.node.id);
        return v;
      });
      const fwd = nodeLines(e, it.node, { self, inputs, unit: unit.path, variable: variable.get(it.node.id)! }, prefix, body, owned);
      body.forward.push(`${s.outs.map((o) => variable.get(o)!).join(', ')} = ${fwd}`);
    } else {
      refuseStatesIn(it.unit);
      const a = attr(it.unit.path);
      const general = generalCall(e, it.unit, `${prefix}${a}.`);
      const cls = general?.cls ?? emitUnit(e, it.unit, `${prefix}${a}.`);
      containers(a, made, body.init);
      body.init.push(`self.${a} = ${general ? general.ctor : construct(cls as PyClass, it.unit)}`);
      body.resets.push(`self.${a}.reset_parameters()`);
      if (cls.hasReg) body.regs.push(`self.${a}.regularization_loss()`);
      body.hasReg ||= cls.hasReg;
      body.forward.push(`${s.outs.length ? `${vars(s.outs)} = ` : ''}self.${a}(${vars(s.ins)})`);
    }
  }
  body.hasReg ||= body.regs.length > 0;
  return { body, variable };
}

/** The PyTorch shape text of a value: `(batch, C, H, W)` for an image. */
function torchShape(e: Emit, id: string): string {
  const s = e.byId.get(id)!.outputShape.map((d) => d ?? 'steps');
  return `(batch, ${(s.length === 3 ? [s[2], s[0], s[1]] : s).join(', ')})`;
}

/** A block call's class: the body's form, shared by the calls that expand to the same one. */
function emitUnit(e: Emit, unit: Unit, prefix: string): PyClass {
  const { body, variable } = unitBody(e, unit, prefix);
  const scope = unit.scope!;
  const args = scope.call?.args ?? [];
  const ins = unit.inputs.map((i) => variable.get(i)!);
  const outs = unit.outputs.map((o) => variable.get(o)!);
  const L: string[] = [];
  const what = `Block \`${scope.label}\``;
  const doc = scope.call?.doc ? ` ${scope.call.doc.trim().replace(/\s+/g, ' ').replace(/"""/g, "'''").replace(/\\/g, '\\\\')}` : '';
  const docText = `${what}.${doc} ${unit.inputs.map((i) => torchShape(e, i)).join(', ')} -> ${unit.outputs.map((o) => torchShape(e, o)).join(', ')}.`;
  L.push(docText, '');
  if (args.length) {
    L.push(`    EXPORTED_WITH = {${args.map((a) => `${py(a.name)}: ${py(a.value)}`).join(', ')}}`, '');
    const sig = args.map((a) => `${pyIdent(a.name)}: ${a.value === null && a.type !== 'activation' ? `Optional[${PARAM_TYPE[a.type] ?? 'object'}]` : PARAM_TYPE[a.type] ?? 'object'} = ${py(a.value)}`);
    L.push(`    def __init__(self, *, ${sig.join(', ')}) -> None:`, '        super().__init__()');
    L.push(`        _check_args(self, {${args.map((a) => `${py(a.name)}: ${pyIdent(a.name)}`).join(', ')}}, "a form of block \`${scope.label}\`: change the call in the spec and export again")`);
  } else L.push('    def __init__(self) -> None:', '        super().__init__()');
  L.push(...classMethods(body, ins.map((i) => `${i}: torch.Tensor`), outs, []));
  const key = L.join('\n');
  const known_ = e.forms.get(key);
  if (known_) {
    known_.uses.push(unit.path);
    return known_;
  }
  const base = pascal(scope.label);
  let name = base;
  for (let k = 2; e.names.has(name); k++) name = `${base}${k}`;
  e.names.add(name);
  const cls: PyClass = { name, doc: docText, uses: [unit.path], lines: L.slice(1), hasReg: body.hasReg, block: scope.label };
  e.forms.set(key, cls);
  e.classes.push(cls);
  return cls;
}

/** The class's __init__ tail and its methods: reset_parameters, forward, regularization_loss. */
function classMethods(body: Body, params: string[], outs: string[], forwardDoc: string[]): string[] {
  const L: string[] = [];
  for (const l of body.init) L.push(`        ${l}`);
  L.push('        self.reset_parameters()', '');
  L.push('    @torch.no_grad()', '    def reset_parameters(self) -> None:');
  L.push('        """Draw every weight as Keras\' initializers do (he_normal is truncated, glorot_uniform uses fan_avg)."""');
  L.push(...(body.resets.length ? body.resets : ['pass']).map((r) => `        ${r}`), '');
  // A unit whose values nobody reads (a layer left unused) returns nothing.
  L.push(`    def forward(self, ${params.join(', ')}) -> ${outs.length === 1 ? 'torch.Tensor' : outs.length ? `tuple[${outs.map(() => 'torch.Tensor').join(', ')}]` : 'None'}:`);
  L.push(...forwardDoc);
  for (const f of body.forward) L.push(`        ${f}`);
  L.push(outs.length ? `        return ${outs.join(', ')}` : '        return None', '');
  L.push('    def regularization_loss(self) -> torch.Tensor:');
  L.push('        """The Keras regularizers\' penalty (l2: l * sum(w^2), on those kernels only), added to the loss."""');
  if (body.regs.length) L.push('        return (', `            ${body.regs.join('\n            + ')}`, '        )');
  else L.push('        return torch.zeros(())');
  return L;
}

/** Export a typed graph as a PyTorch module. Throws UnsupportedByPytorch for what it cannot write exactly. */
export function exportPytorch(graph: TypedGraph, registry: OpRegistry, opts: PytorchExportOptions): PytorchModule {
  const className = pascal(graph.name);
  const e: Emit = { graph, registry, plan: flattenPlan(graph), byId: new Map(graph.nodes.map((n) => [n.id, n])), classes: [], forms: new Map(), names: new Set([className]), table: [], helpers: new Set(), masks: new Map(), fallbacks: new Map(), usedGeneral: new Set() };
  if (opts.blocks && opts.docs) {
    // A flatten of a block flattens in (C, H, W) order in every call, or in none.
    const order = new Map<string, boolean>();
    const conflicts = new Set<string>();
    for (const n of graph.nodes) {
      if (n.op !== 'flatten') continue;
      const k = spanKey(n.span), v = e.plan.chwFlatten.has(n.id);
      if (order.has(k) && order.get(k) !== v) conflicts.add(k);
      order.set(k, v);
    }
    e.general = {
      registry, docs: opts.docs, blocks: opts.blocks, pyIdent, pascal, helpers: e.helpers, imports: new Set(), names: e.names, classes: [], built: new Map(),
      flattenOrder: (k) => {
        if (conflicts.has(k)) throw new NotGeneral('a flatten whose order differs between calls');
        return order.get(k);
      },
    };
  }
  const root = moduleClass(e, unitTree(graph), className, opts);
  const helpers = helperDefinitions(e.helpers);
  const imports = [...new Set([...helpers.imports, ...(e.general?.imports ?? [])])].sort();
  const used = (e.general?.classes ?? []).filter((c) => e.usedGeneral.has(c));
  const generalClasses = used.flatMap((c) => [`class ${c.name}(nn.Module):`, generalDoc(c), '', ...c.lines, '', '']);
  const fallbackNote = (c: PyClass) => {
    const why = e.fallbacks.get(c.block);
    return why ? [`# One class per call form of block \`${c.block}\`: it cannot be one general class (${why}).`] : [];
  };

  const L = [
    ...moduleHeader(graph, opts, imports),
    '',
    `__all__ = [${[className, ...used.map((c) => c.name), ...e.classes.map((c) => c.name)].map((n) => py(n)).join(', ')}, "KERAS_WEIGHTS", "keras_loss", "make_optimizer"]`,
    '',
    '',
    ...(e.classes.length || e.specFallback !== undefined || !e.general || !opts.spec ? [...checkArgsHelper(), '', ''] : []),
    ...helpers.text.flatMap((h) => [h, '', '']),
    ...generalClasses,
    ...e.classes.flatMap((c) => [...fallbackNote(c), `class ${c.name}(nn.Module):`, classDoc(c), ...c.lines, '', '']),
    ...root,
    '',
    '',
    '# (Keras weight name in model.json, state_dict key, layout[, (H, W, C) of a flattened image]).',
    '# Layouts: conv HWIO -> OIHW, dense (in, out) -> (out, in), flat_dense: dense with the rows reordered',
    '# from (H, W, C) to (C, H, W) order, depthwise (H, W, C, M) -> (C*M, 1, H, W), conv_transpose (H, W, O, I) -> (I, O, H, W).',
    'KERAS_WEIGHTS = [',
    ...e.table,
    ']',
    '',
    '',
    ...trainingHelpers(opts.training, graph.outputs.length),
  ];
  return { text: L.join('\n') + '\n', className };
}

/** A class's docstring: what it is, its shapes, and where the spec uses it (`stage1/block1`, ...). */
function classDoc(c: PyClass): string {
  const shown = c.uses.slice(0, 4).map((u) => `\`${u}\``).join(', ');
  const uses = `Built for ${shown}${c.uses.length > 4 ? ` and ${c.uses.length - 4} more` : ''}.`;
  return `    """${wrap(`${c.doc} ${uses}`, 92).split('\n').join('\n    ')}"""`;
}

/** The helper that refuses constructor arguments other than those a class was exported for. */
function checkArgsHelper(): string[] {
  return [
    'def _check_args(module: nn.Module, given: dict, hint: str) -> None:',
    '    """The layers are built for the values exported with (EXPORTED_WITH): refuse others, saying what to do."""',
    '    for name, value in given.items():',
    '        exported = type(module).EXPORTED_WITH[name]',
    '        if value != exported and not (isinstance(value, (list, tuple)) and tuple(value) == exported):',
    '            raise ValueError(f"this module was exported with {name}={exported!r}; " + hint.format(name=name, value=value))',
  ];
}
/** The file's comment, docstring and imports. */
function moduleHeader(graph: TypedGraph, opts: PytorchExportOptions, imports: readonly string[]): string[] {
  const exportedWith = opts.params.map((p) => `${p.name}=${JSON.stringify(graph.params[p.name])}`).join(', ') || 'none';
  const L: string[] = [];
  const doc = wrap((opts.doc ?? '').trim().replace(/\s+/g, ' ').replace(/"""/g, "'''").replace(/\\/g, '\\\\'), 96);
  L.push(`# Generated by modelspec export from ${opts.source}. Do not edit: change the spec and export again.`);
  L.push(`"""PyTorch module of the spec \`${graph.name}\`${doc ? ':' : '.'}`);
  if (doc) L.push('', doc);
  L.push('');
  L.push(wrap(`Exported with ${exportedWith}. Layers, shapes, padding, initializers and regularizers follow Keras; images are held channels-first (N, C, H, W), as PyTorch does. Weights of a modelspec (TensorFlow.js) model folder convert both ways with python/modelspec_torch.py of modelspec (tfjs-to-torch, torch-to-tfjs), which reads KERAS_WEIGHTS below.`, 96));
  L.push('"""');
  L.push('from __future__ import annotations');
  L.push('');
  for (const m of imports) L.push(`import ${m}`);
  L.push('from typing import Optional');
  L.push('');
  L.push('import torch');
  L.push('import torch.nn.functional as F');
  L.push('from torch import nn');
  return L;
}

/** The docstring of the spec's forward: each input's PyTorch shape. */
function forwardDoc(e: Emit, name: (id: string) => string): string[] {
  const inputDocs = e.graph.inputs.map((id) => {
    const n = e.byId.get(id)!;
    const s = n.outputShape;
    return `            ${name(id)}: ${torchShape(e, id)}${s.length === 3 ? ' images, channels first' : ''}, ${n.attrs.dtype as string}.`;
  });
  return ['        """', '        Args:', ...inputDocs, '        """'];
}

/**
 * The spec's own class written general in the spec's params (general.ts: the spec's body as a block
 * whose params are the spec's, their defaults the values exported with), and the weight table's rows
 * for the module those defaults build. Undefined, with the reason kept, where it cannot be.
 */
function generalSpecClass(e: Emit, unit: Unit, className: string, opts: PytorchExportOptions): string[] | undefined {
  const g = e.general, ast = opts.spec;
  if (!g || !ast) return undefined;
  const fail = (why: string) => {
    e.specFallback = why;
    return undefined;
  };
  if ((ast.outputs?.length ?? 1) !== 1) return fail('it has several outputs');
  if (e.graph.nodes.some((n) => n.attrs.mask_zero)) return fail('a Keras mask flows through it');
  const nodes = unitNodes(unit);
  if (nodes.some((n) => n.sharedWith)) return fail('a layer shared with share:');
  const inputs = ast.inputs.map((i) => ({ name: i.name, rank: e.byId.get(i.name)?.outputShape.length ?? 0, shape: i.shape, dtype: i.dtype }));
  const block: BlockDecl = {
    name: ast.name, params: ast.params, lets: ast.lets, asserts: ast.asserts, inputs: ast.inputs.map((i) => i.name), body: ast.body,
    ...(ast.outputs?.[0] ? { output: ast.outputs[0] } : {}), file: ast.file, ptr: '',
  };
  const defaults = Object.fromEntries(opts.params.map((p) => [p.name, e.graph.params[p.name]]));
  const cls = specClass(g, block, { className, inputs, defaults, forwardDoc: forwardDoc(e, pyIdent) });
  if (cls instanceof NotGeneral) return fail(cls.message);
  const rows = generalRows(e, cls, unit, nodes, '');
  if (typeof rows === 'string') return fail(rows);
  e.table.push(...rows);
  for (const { child } of cls.calls.values()) markUsed(e, child);
  const { graph } = e;
  const doc = `\`${graph.name}\`: ${graph.totals.total.toLocaleString('en-US')} parameters as Keras counts them (${graph.totals.trainable.toLocaleString('en-US')} trainable) with the values it was exported with, the constructor's defaults. Built from the spec's params as any of its blocks is from theirs; KERAS_WEIGHTS lists the weights of the module those defaults build.`;
  return [`class ${className}(nn.Module):`, `    """${wrap(doc, 92).split('\n').join('\n    ')}"""`, '', ...cls.lines];
}

/** The spec's own class: its typed params, its layers and child modules, forward over the graph. */
function moduleClass(e: Emit, unit: Unit, className: string, opts: PytorchExportOptions): string[] {
  const general = generalSpecClass(e, unit, className, opts);
  if (general) return general;
  const { graph } = e;
  const { body, variable } = unitBody(e, unit, '');
  const inputs = graph.inputs.map((id) => variable.get(id)!);
  const outs = graphOutputs(graph).map((id) => variable.get(id)!);
  const paramSig = opts.params.map((p) => `${pyIdent(p.name)}: ${PARAM_TYPE[p.type] ?? 'object'} = ${py(graph.params[p.name])}`);
  const L: string[] = [];
  if (e.specFallback) L.push(`# The spec's class is written for the values it was exported with: it cannot be general in its params (${e.specFallback}).`);
  L.push(`class ${className}(nn.Module):`);
  L.push(`    """\`${graph.name}\`: ${graph.totals.total.toLocaleString('en-US')} parameters as Keras counts them (${graph.totals.trainable.toLocaleString('en-US')} trainable)."""`);
  L.push('');
  L.push(`    EXPORTED_WITH = {${opts.params.map((p) => `${py(p.name)}: ${py(graph.params[p.name])}`).join(', ')}}`);
  L.push('');
  L.push(`    def __init__(self${paramSig.length ? `, *, ${paramSig.join(', ')}` : ''}) -> None:`);
  L.push('        super().__init__()');
  if (opts.params.length) L.push(`        _check_args(self, {${opts.params.map((p) => `${py(p.name)}: ${pyIdent(p.name)}`).join(', ')}}, "export the spec again with --set {name}={value!r}")`);
  L.push(...classMethods(body, inputs.map((i) => `${i}: torch.Tensor`), outs, forwardDoc(e, (id) => variable.get(id)!)));
  return L;
}

function trainingHelpers(t: PytorchTraining | undefined, outputs: number): string[] {
  const L: string[] = [];
  L.push('def keras_loss(y_pred: torch.Tensor, y_true: torch.Tensor) -> torch.Tensor:');
  L.push('    """categorical_crossentropy as Keras computes it on probabilities: normalised, clipped to');
  L.push('    [1e-7, 1 - 1e-7], -sum(y log p) over the classes (dim 1), averaged over the batch."""');
  L.push('    p = y_pred / y_pred.sum(dim=1, keepdim=True)');
  L.push('    p = p.clamp(1e-7, 1.0 - 1e-7)');
  L.push('    return -(y_true * p.log()).sum(dim=1).mean()');
  L.push('');
  L.push('');
  const o = t?.optimizer ?? { name: 'adam', learning_rate: 0.001 };
  L.push('def make_optimizer(model: nn.Module, lr: Optional[float] = None) -> torch.optim.Optimizer:');
  L.push(`    """The recipe's optimizer${t ? '' : ' (the spec has no training: recipe; Keras\' Adam defaults)'}, with Keras' defaults where PyTorch's differ (Adam epsilon 1e-7)."""`);
  L.push(`    lr = ${num(o.learning_rate)} if lr is None else lr`);
  if (o.name === 'adam') L.push(`    return torch.optim.Adam(model.parameters(), lr=lr, betas=(${num(o.beta_1 ?? 0.9)}, ${num(o.beta_2 ?? 0.999)}), eps=${num(o.epsilon ?? 1e-7)})`);
  else if (o.name === 'sgd') L.push(`    return torch.optim.SGD(model.parameters(), lr=lr, momentum=${num(o.momentum ?? 0)}, nesterov=${py(!!o.nesterov)})`);
  else L.push(`    return torch.optim.RMSprop(model.parameters(), lr=lr, alpha=${num(o.rho ?? 0.9)}, momentum=${num(o.momentum ?? 0)}, eps=${num(o.epsilon ?? 1e-7)}, centered=${py(!!o.centered)})`);
  void outputs;
  return L;
}

/** A general class's docstring: the block, its doc, what its constructor takes. */
function generalDoc(c: GeneralClass): string {
  const doc = c.block.doc ? ` ${c.block.doc.trim().replace(/\s+/g, ' ').replace(/"""/g, "'''").replace(/\\/g, '\\\\')}` : '';
  const ins = c.inputArgs.map((a) => `\`${a}\``).join(', ');
  const shapes = c.shapeArgs.length ? `, and ${c.shapeArgs.map((s) => `\`${s.name}\``).join(', ')} (read from the input's shape where the spec calls it)` : '';
  const text = `Block \`${c.block.name}\`.${doc} Built from the block's params and ${ins} (the channels of ${c.inputArgs.length > 1 ? 'its inputs' : 'its input'})${shapes}; \`out_channels\` is its output's.`;
  return `    """${wrap(text, 92).split('\n').join('\n    ')}"""`;
}
