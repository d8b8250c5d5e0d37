/**
 * The PyTorch exporter: a typed graph -> a readable, importable Python module with one nn.Module
 * for the spec (block calls, loops and branches become nested child modules, so the state_dict
 * keys follow the graph's ids), Keras' initializers and regularizers, the recipe's loss and
 * optimizer, and the table that maps each Keras (tfjs) weight to its state_dict entry.
 * Each op says how it is written (OpDef.pytorch, next to its tfjs mapping); this file only
 * walks the graph. Deterministic: the same graph gives the same text.
 */
import type { TypedGraph, TypedNode } from '../../types/ir.js';
import type { ParamDecl } from '../../types/spec.js';
import type { OpRegistry } from '../../ops/index.js';
import { UnsupportedByPytorch, type PytorchContext, type PytorchWeight } from '../../ops/types.js';
import { known, py } from '../../ops/pytorch.js';
import { helperDefinitions } from '../../ops/pytorch-helpers.js';

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

interface Names {
  /** Attribute path (dotted, under self) of each node that owns modules. */
  attr: Map<string, string>;
  /** Python variable holding each node's output in forward. */
  variable: Map<string, string>;
}

/** Attribute paths from the ids (`stage1/block0/conv2d` -> `stage1.block0.conv2d`), made unique. */
function namePaths(graph: TypedGraph): Names {
  const attr = new Map<string, string>();
  const used = new Set<string>();
  for (const n of graph.nodes) {
    let path = n.id.split('/').map(pyIdent).join('.');
    for (let k = 2; used.has(path); k++) path = `${n.id.split('/').map(pyIdent).join('.')}_${k}`;
    used.add(path);
    attr.set(n.id, path);
  }
  const consumers = new Map<string, string[]>();
  for (const n of graph.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n.id]);
  const variable = new Map<string, string>();
  const taken = new Set<string>();
  graph.nodes.forEach((n, k) => {
    const c = consumers.get(n.id) ?? [];
    // A value read once, by the very next layer, is `x`; the others keep a name after their id.
    if (n.op !== 'input' && c.length === 1 && graph.nodes[k + 1]?.id === c[0] && graph.nodes[k + 1]!.inputs.length === 1 && !graph.outputs.includes(n.id)) {
      variable.set(n.id, 'x');
      return;
    }
    const base = pyIdent(n.op === 'input' ? n.id : n.id.replace(/\//g, '_'));
    let v = base;
    for (let i = 2; taken.has(v); i++) v = `${base}_${i}`;
    taken.add(v);
    variable.set(n.id, v);
  });
  return { attr, variable };
}

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

/** What the nodes contribute to the module: its __init__ lines, initialisers, regularisers, weight table and forward lines. */
interface ModuleParts {
  init: string[];
  resets: string[];
  regs: string[];
  table: string[];
  forward: string[];
  /** Python helpers (src/ops/pytorch-helpers.ts) the ops asked for. */
  helpers: Set<string>;
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
function maskStep(node: TypedNode, def: NonNullable<ReturnType<OpRegistry['get']>>, ctx: PytorchContext, masks: Map<string, string>, variable: string): string | undefined {
  const given = node.inputs.map((i) => masks.get(i));
  if (given.some((m) => m !== undefined) && (!def.pytorch!.mask || given[0] === undefined)) {
    throw new UnsupportedByPytorch(`op '${node.op}' cannot take the Keras mask of its input (from an embedding with mask_zero: true) in the PyTorch export`, node.id);
  }
  const m = def.pytorch!.mask?.(ctx);
  if (!m) return undefined;
  const name = `${variable}_mask`;
  masks.set(node.id, name);
  return m === name ? undefined : `${name} = ${m}`;
}

function moduleParts(graph: TypedGraph, registry: OpRegistry, names: ReturnType<typeof namePaths>, plan: ReturnType<typeof flattenPlan>): ModuleParts {
  const init: string[] = [];
  const containers = new Set<string>();
  const resets: string[] = [];
  const regs: string[] = [];
  const table: string[] = [];
  const forward: string[] = [];
  const helpers = new Set<string>();
  const masks = new Map<string, string>(); // node id -> the Python name of its output's Keras mask
  const owner = new Map<string, string>(); // node id (or the id it shares) -> attribute path

  const container = (path: string) => {
    const parts = path.split('.');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('.');
      if (!containers.has(p)) {
        containers.add(p);
        init.push(`self.${p} = nn.Module()`);
      }
    }
  };

  for (const node of graph.nodes) {
    if (node.op === 'input') continue;
    const def = registry.get(node.op);
    if (!def?.pytorch) throw new UnsupportedByPytorch(`op '${node.op}' has no PyTorch mapping`, node.id);
    const ownerId = node.sharedWith ?? node.id;
    const path = owner.get(ownerId) ?? names.attr.get(ownerId) ?? names.attr.get(node.id)!;
    const ctx: PytorchContext = {
      attrs: node.attrs,
      inputShapes: node.inputShapes,
      outputShape: node.outputShape,
      inputs: node.inputs.map((i) => names.variable.get(i)!),
      self: `self.${path}`,
      ...(plan.chwFlatten.has(node.id) ? { flattenChannelsFirst: true } : {}),
      ...(plan.denseFromChw.has(ownerId) ? { denseFromChw: plan.denseFromChw.get(ownerId)! } : {}),
      ...(masks.has(node.inputs[0]!) ? { mask: masks.get(node.inputs[0]!)! } : {}),
    };
    try {
      for (const h of def.pytorch.helpers ?? []) helpers.add(h);
      const maskLine = maskStep(node, def, ctx, masks, names.variable.get(node.id)!);
      if (maskLine) forward.push(maskLine);
      if (!owner.has(ownerId) && def.pytorch.modules) {
        owner.set(ownerId, path);
        const mods = def.pytorch.modules(ctx);
        container(path);
        for (const [k, expr] of Object.entries(mods)) init.push(`self.${k ? `${path}.${k}` : path} = ${expr}`);
        const weights = def.pytorch.weights?.(ctx) ?? {};
        // The node's Keras weights (a shared node owns none: they are its first application's).
        const kerasWeights = node.weights.length ? node.weights : [];
        const kerasName = ownerId.replace(/\//g, '.');
        for (const w of kerasWeights) {
          const pw: PytorchWeight | undefined = weights[w.name];
          if (!pw) throw new UnsupportedByPytorch(`${node.op}: weight ${w.name} has no PyTorch mapping`, node.id);
          const ref = `self.${path}.${pw.key}`;
          resets.push(...drawStatements(ref, pw, w.shape));
          const r = pw.regularizer;
          if (r?.l2) regs.push(`${num(r.l2)} * ${ref}.square().sum()`);
          if (r?.l1) regs.push(`${num(r.l1)} * ${ref}.abs().sum()`);
          const saved = pw.tfjsName?.replace('{layer}', kerasName) ?? w.name;
          table.push(`    (${py(`${kerasName}/${saved}`)}, ${py(`${path}.${pw.key}`)}, ${py(pw.layout)}${pw.hwc ? `, ${py(pw.hwc)}` : ''}),`);
        }
      }
      forward.push(`${names.variable.get(node.id)} = ${def.pytorch.forward(ctx)}`);
    } catch (e) {
      if (e instanceof UnsupportedByPytorch && !e.nodeId) throw new UnsupportedByPytorch(e.message.startsWith(node.op) ? e.message : `${node.op}: ${e.message}`, node.id);
      throw e;
    }
  }

  return { init, resets, regs, table, forward, helpers };
}

/** Export a typed graph as a PyTorch module. Throws UnsupportedByPytorch for what it cannot write exactly. */
export function exportPytorch(graph: TypedGraph, registry: OpRegistry, opts: PytorchExportOptions): PytorchModule {
  const className = pascal(graph.name);
  const names = namePaths(graph);
  const parts = moduleParts(graph, registry, names, flattenPlan(graph));
  const helpers = helperDefinitions(parts.helpers);
  const L = [
    ...moduleHeader(graph, opts, helpers.imports),
    '',
    `__all__ = [${py(className)}, "KERAS_WEIGHTS", "keras_loss", "make_optimizer"]`,
    '',
    '',
    ...helpers.text.flatMap((h) => [h, '', '']),
    ...moduleClass(graph, className, names, parts, opts),
    '',
    '',
    ...trainingHelpers(opts.training, graph.outputs.length),
  ];
  return { text: L.join('\n') + '\n', className };
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

/** The nn.Module class: __init__, reset_parameters, forward, regularization_loss, and the weight table after it. */
function moduleClass(graph: TypedGraph, className: string, names: ReturnType<typeof namePaths>, parts: ModuleParts, opts: PytorchExportOptions): string[] {
  const { init, resets, regs, table, forward } = parts;
  const inputs = graph.inputs.map((id) => names.variable.get(id)!);
  const outs = graph.outputs.map((id) => names.variable.get(id)!);
  const paramSig = opts.params.map((p) => `${pyIdent(p.name)}: ${PARAM_TYPE[p.type] ?? 'object'} = ${py(graph.params[p.name])}`);
  const inputDocs = graph.inputs.map((id) => {
    const n = graph.nodes.find((x) => x.id === id)!;
    const s = n.outputShape.map((d) => d ?? 'steps');
    const torchShape = s.length === 3 ? [s[2], s[0], s[1]] : s;
    return `            ${names.variable.get(id)}: (batch, ${torchShape.join(', ')})${s.length === 3 ? ' images, channels first' : ''}, ${n.attrs.dtype as string}.`;
  });
  const L: string[] = [];
  L.push(`class ${className}(nn.Module):`);
  L.push(`    """\`${graph.name}\`: ${graph.totals.total.toLocaleString('en-US')} parameters as Keras counts them (${graph.totals.trainable.toLocaleString('en-US')} trainable)."""`);
  L.push('');
  L.push(`    EXPORTED_WITH = {${opts.params.map((p) => `${py(p.name)}: ${py(graph.params[p.name])}`).join(', ')}}`);
  L.push('');
  L.push(`    def __init__(self${paramSig.length ? `, *, ${paramSig.join(', ')}` : ''}) -> None:`);
  L.push('        super().__init__()');
  if (opts.params.length) {
    L.push(`        given = {${opts.params.map((p) => `${py(p.name)}: ${pyIdent(p.name)}`).join(', ')}}`);
    L.push('        for name, value in given.items():');
    L.push('            if value != self.EXPORTED_WITH[name] and not (isinstance(value, (list, tuple)) and tuple(value) == self.EXPORTED_WITH[name]):');
    L.push('                raise ValueError(f"this module was exported with {name}={self.EXPORTED_WITH[name]!r}; "');
    L.push(`                                 f"export the spec again with --set {name}={value!r}")`);
  }
  for (const l of init) L.push(`        ${l}`);
  L.push('        self.reset_parameters()');
  L.push('');
  L.push('    @torch.no_grad()');
  L.push('    def reset_parameters(self) -> None:');
  L.push('        """Draw every weight as Keras\' initializers do (he_normal is truncated, glorot_uniform uses fan_avg)."""');
  if (resets.length) for (const r of resets) L.push(`        ${r}`);
  else L.push('        pass');
  L.push('');
  L.push(`    def forward(self, ${inputs.map((i) => `${i}: torch.Tensor`).join(', ')}) -> ${outs.length === 1 ? 'torch.Tensor' : `tuple[${outs.map(() => 'torch.Tensor').join(', ')}]`}:`);
  L.push('        """');
  L.push('        Args:');
  L.push(...inputDocs);
  L.push('        """');
  for (const f of forward) L.push(`        ${f}`);
  L.push(`        return ${outs.join(', ')}`);
  L.push('');
  L.push('    def regularization_loss(self) -> torch.Tensor:');
  L.push('        """The Keras regularizers\' penalty (l2: l * sum(w^2), on those kernels only), added to the loss."""');
  if (regs.length) L.push('        return (', `            ${regs.join('\n            + ')}`, '        )');
  else L.push('        return torch.zeros(())');
  L.push('');
  L.push('');
  L.push('# (Keras weight name in model.json, state_dict key, layout[, (H, W, C) of a flattened image]).');
  L.push('# Layouts: conv HWIO -> OIHW, dense (in, out) -> (out, in), flat_dense: dense with the rows reordered');
  L.push('# from (H, W, C) to (C, H, W) order, depthwise (H, W, C, M) -> (C*M, 1, H, W), conv_transpose (H, W, O, I) -> (I, O, H, W).');
  L.push('KERAS_WEIGHTS = [');
  L.push(...table);
  L.push(']');
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
