/**
 * The semantic diff of two typed graphs: match nodes (./match.ts), compare each pair,
 * and fold what changed into review-sized entries (./fold.ts). Pure: graphs in, a
 * `GraphDiff` value out; the formatters in ./report.ts turn it into text, Markdown or JSON.
 */
import type { TypedGraph, TypedNode } from '../types/ir.js';
import type { Shape } from '../types/shape.js';
import { shapesEqual } from '../types/shape.js';
import { builtinRegistry, normalAttrs, portSuffix, type OpRegistry } from '../ops/index.js';
import { kerasRows } from '../report/summary.js';
import { canonicalJson, genericId, matchNodes, type NodeMatching } from './match.js';
import { foldChanges, type DiffEntry } from './fold.js';

export interface Change<T> {
  before: T;
  after: T;
}

export interface AttrChange {
  key: string;
  /** `undefined` when the attribute is absent on that side. */
  before: unknown;
  after: unknown;
}

/** A matched pair of nodes and what differs between them. */
export interface NodeChange {
  left: TypedNode;
  right: TypedNode;
  /** `renamed`: another id; `renumbered`: only an auto-number suffix moved (`conv2d_1` -> `conv2d_2`). */
  rename?: 'renamed' | 'renumbered';
  attrs: AttrChange[];
  shape?: Change<Shape>;
  /** Total parameters (trainable + non-trainable). */
  params?: Change<number>;
  trainable?: Change<number>;
  macs?: Change<number>;
  /** Inputs, when they differ beyond what added or removed nodes explain. */
  inputs?: Change<readonly string[]>;
  sharedWith?: Change<string | undefined>;
  /** The layer itself changed (attributes, inputs, weight sharing); otherwise only its shape, parameters or MACs followed a change upstream. */
  direct: boolean;
}

export interface SideSummary {
  /** What the user named: a file or `REV:path`, and its `--set` values. */
  label: string;
  name: string;
  params: Readonly<Record<string, unknown>>;
  layers: number;
  totals: TypedGraph['totals'];
  inputs: readonly string[];
  outputs: readonly string[];
}

export interface GraphDiff {
  left: SideSummary;
  right: SideSummary;
  /** True when nothing architectural differs (parameter values and layer ids may). */
  identical: boolean;
  /** True when some matched layer has another id (`renamed` or `renumbered`). */
  namesDiffer: boolean;
  matching: NodeMatching;
  added: readonly TypedNode[];
  removed: readonly TypedNode[];
  /** Matched pairs with a difference other than an id change. */
  changed: readonly NodeChange[];
  /** Matched pairs whose id changed (with or without other differences). */
  renamed: readonly NodeChange[];
  inputs?: Change<readonly string[]>;
  outputs?: Change<readonly string[]>;
  name?: Change<string>;
  /** The review: changes folded by scope and repeat, in the right graph's order. */
  entries: readonly DiffEntry[];
  leftGraph: TypedGraph;
  rightGraph: TypedGraph;
}

export interface DiffInput {
  label: string;
  graph: TypedGraph;
}

/**
 * The graph with every node's attributes in normal form (defaults filled, `[3, 3]` as 3,
 * `linear` as null, pooling strides as the pool size ...): what Keras would build.
 */
export function normalGraph(g: TypedGraph, registry: OpRegistry): TypedGraph {
  let nodes: TypedNode[] | undefined;
  const rankOf = new Map<string, number>();
  g.nodes.forEach((n, i) => {
    rankOf.set(n.id, n.outputShape.length + 1);
    const first = n.inputs[0];
    const attrs = normalAttrs(registry.get(n.op), n.attrs, first !== undefined ? rankOf.get(first) : undefined);
    if (attrs === n.attrs) return;
    nodes ??= g.nodes.slice();
    nodes[i] = { ...n, attrs };
  });
  return nodes ? { ...g, nodes } : g;
}

export interface DiffOptions {
  /** The ops' definitions, for normal forms (default: the built-in ops). */
  registry?: OpRegistry;
}

function summarize(side: DiffInput): SideSummary {
  const g = side.graph;
  return { label: side.label, name: g.name, params: g.params, layers: kerasRows(g).length, totals: g.totals, inputs: g.inputs, outputs: g.outputs };
}

function attrChanges(a: TypedNode, b: TypedNode): AttrChange[] {
  if (JSON.stringify(a.attrs) === JSON.stringify(b.attrs)) return [];
  return changedKeys(a.attrs, b.attrs, '');
}

/** A wrapper's inner layer, `{lstm: {...}}`: its op and attributes. */
function innerOf(v: unknown): [string, Record<string, unknown>] | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const e = Object.entries(v);
  return e.length === 1 && e[0]![1] !== null && typeof e[0]![1] === 'object' && !Array.isArray(e[0]![1]) ? e[0] as [string, Record<string, unknown>] : undefined;
}

/** The attributes that differ; inside a wrapper's inner layer of the same op, by path (`layer.gru.units`). */
function changedKeys(x: Readonly<Record<string, unknown>>, y: Readonly<Record<string, unknown>>, prefix: string): AttrChange[] {
  const out: AttrChange[] = [];
  for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
    if (canonicalJson(x[key]) === canonicalJson(y[key])) continue;
    const [ix, iy] = [innerOf(x[key]), innerOf(y[key])];
    if (ix && iy && ix[0] === iy[0]) out.push(...changedKeys(ix[1], iy[1], `${prefix}${key}.${ix[0]}.`));
    else out.push({ key: `${prefix}${key}`, before: x[key], after: y[key] });
  }
  return out;
}

/**
 * The matched nodes a node's value comes from, walking back through unmatched
 * (added or removed) nodes: an inserted layer does not count as rewiring the next one.
 */
function anchorResolver(g: TypedGraph, matched: (id: string) => string | undefined, marker: string) {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const memo = new Map<string, readonly string[]>();
  const resolve = (id: string): readonly string[] => {
    const hit = memo.get(id);
    if (hit) return hit;
    const m = matched(id);
    let out: readonly string[];
    if (m !== undefined) out = [m];
    else {
      const n = byId.get(id);
      memo.set(id, [`${marker}${id}`]); // guards against cycles
      out = n && n.inputs.length ? dedupe(n.inputs.flatMap(resolve)) : [`${marker}${id}`];
    }
    memo.set(id, out);
    return out;
  };
  // Warm the memo in definition order so long unmatched chains do not recurse deeply.
  for (const n of g.nodes) resolve(n.id);
  return (ids: readonly string[]) => dedupe(ids.flatMap(resolve));
}

/**
 * An anchor list without the anchors, reached through added (removed) nodes, that are upstream
 * of another one in it: an added subgraph that also reads from further up reads, in effect, from
 * its last anchor (U-Net 4 -> 5 levels: the new level's skip output reaches the decoder beside
 * the bottleneck, so `up3/upsampled` resolves to `bottom2` and `level3/max_pooling2d`, the latter
 * upstream of the former). A matched input (in `direct`) is never dropped: `add(a, b)` ->
 * `add(b, b)` stays a change. Searched backwards from each other anchor over `g`, at most 20,000
 * nodes a list; past that the list stays whole.
 */
function withoutUpstream(g: TypedGraph, toGraphId: (anchor: string) => string | undefined) {
  let byId: Map<string, TypedNode> | undefined;
  return (anchors: readonly string[], direct: ReadonlySet<string>): readonly string[] => {
    if (anchors.length < 2 || anchors.every((x) => direct.has(x))) return anchors;
    byId ??= new Map(g.nodes.map((n) => [n.id, n]));
    const nodes = byId;
    const ids = anchors.map(toGraphId);
    let budget = 20_000;
    const upstream = (x: string, from: string): boolean => {
      const seen = new Set<string>([from]);
      const todo = [from];
      while (todo.length) {
        for (const i of nodes.get(todo.pop()!)?.inputs ?? []) {
          if (i === x) return true;
          if (seen.has(i)) continue;
          if (--budget < 0) return false;
          seen.add(i);
          todo.push(i);
        }
      }
      return false;
    };
    const kept = anchors.filter((_, k) => {
      const x = ids[k];
      return x === undefined || direct.has(anchors[k]!) || !ids.some((y, j) => j !== k && y !== undefined && upstream(x, y));
    });
    return budget < 0 ? anchors : kept;
  };
}

function dedupe<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export function diffGraphs(leftSide: DiffInput, rightSide: DiffInput, opts: DiffOptions = {}): GraphDiff {
  const registry = opts.registry ?? builtinRegistry();
  const left = normalGraph(leftSide.graph, registry), right = normalGraph(rightSide.graph, registry);
  const matching = matchNodes(left, right);
  const { leftToRight: l2r, rightToLeft: r2l } = matching;
  const leftById = new Map(left.nodes.map((n) => [n.id, n]));

  // Both sides expressed in left ids.
  const anchorsLeft = anchorResolver(left, (id) => (l2r.has(id) ? id : undefined), '-');
  const anchorsRight = anchorResolver(right, (id) => r2l.get(id), '+');
  const prunedLeft = withoutUpstream(left, (x) => (x.startsWith('-') ? undefined : x));
  const prunedRight = withoutUpstream(right, (x) => (x.startsWith('+') ? undefined : l2r.get(x)));

  const changed: NodeChange[] = [];
  const renamed: NodeChange[] = [];
  for (const b of right.nodes) {
    const aId = r2l.get(b.id);
    if (aId === undefined) continue;
    const a = leftById.get(aId)!;
    const c: NodeChange = { left: a, right: b, attrs: attrChanges(a, b), direct: false };
    if (a.id !== b.id) c.rename = genericId(a.id) === genericId(b.id) ? 'renumbered' : 'renamed';
    if (!shapesEqual(a.outputShape, b.outputShape)) c.shape = { before: a.outputShape, after: b.outputShape };
    const pa = a.params.trainable + a.params.nonTrainable, pb = b.params.trainable + b.params.nonTrainable;
    if (pa !== pb || a.params.trainable !== b.params.trainable) {
      c.params = { before: pa, after: pb };
      c.trainable = { before: a.params.trainable, after: b.params.trainable };
    }
    if (a.macs !== b.macs) c.macs = { before: a.macs, after: b.macs };
    const [inL, inR] = [anchorsLeft(a.inputs), anchorsRight(b.inputs)];
    if (!sameList(inL, inR) && !sameList(prunedLeft(inL, new Set(a.inputs.filter((x) => l2r.has(x)))), prunedRight(inR, new Set(b.inputs.map((x) => r2l.get(x)!).filter(Boolean))))) {
      c.inputs = { before: a.inputs, after: b.inputs };
    }
    // Which output of an input is taken (`enc.state_h` for `enc.state_c`) is a change too.
    if (!c.inputs && (a.ports || b.ports) && a.inputs.some((_x, k) => (a.ports?.[k] ?? 0) !== (b.ports?.[k] ?? 0))) {
      const named = (n: TypedNode, g: TypedGraph) => n.inputs.map((x, k) => x + portSuffix(registry.get(g.nodes.find((m) => m.id === x)?.op ?? ''), n.ports?.[k]));
      c.inputs = { before: named(a, left), after: named(b, right) };
    }
    const sharedA = a.sharedWith, sharedB = b.sharedWith !== undefined ? r2l.get(b.sharedWith) ?? `+${b.sharedWith}` : undefined;
    if (sharedA !== sharedB) c.sharedWith = { before: a.sharedWith, after: b.sharedWith };
    c.direct = c.attrs.length > 0 || !!c.inputs || !!c.sharedWith;
    const differs = c.direct || !!c.shape || !!c.params || !!c.macs;
    if (differs) changed.push(c);
    if (c.rename) renamed.push(c);
  }
  const added = right.nodes.filter((n) => !r2l.has(n.id));
  const removed = left.nodes.filter((n) => !l2r.has(n.id));

  const mapIds = (ids: readonly string[]) => ids.map((id) => l2r.get(id) ?? `-${id}`);
  const inputs = sameList(mapIds(left.inputs), right.inputs) ? undefined : { before: left.inputs, after: right.inputs };
  // An output is a node and which of its outputs (`enc.state_h`).
  const outputNames = (g: TypedGraph) => g.outputs.map((id, k) => id + portSuffix(registry.get(g.nodes.find((n) => n.id === id)?.op ?? ''), g.outputPorts?.[k]));
  const portsDiffer = (left.outputPorts || right.outputPorts) && !sameList(left.outputs.map((_x, k) => String(left.outputPorts?.[k] ?? 0)), right.outputs.map((_x, k) => String(right.outputPorts?.[k] ?? 0)));
  const outputs = sameList(mapIds(left.outputs), right.outputs) && !portsDiffer ? undefined : { before: outputNames(left), after: outputNames(right) };
  const name = left.name === right.name ? undefined : { before: left.name, after: right.name };

  const entries = foldChanges({ left, right, matching, added, removed, changed, renamed, inputs, outputs, name });
  const identical = entries.every((e) => e.kind === 'renamed' || e.kind === 'renumbered');
  return {
    left: summarize(leftSide),
    right: summarize(rightSide),
    identical,
    namesDiffer: renamed.length > 0,
    matching,
    added,
    removed,
    changed,
    renamed,
    ...(inputs ? { inputs } : {}),
    ...(outputs ? { outputs } : {}),
    ...(name ? { name } : {}),
    entries,
    leftGraph: left,
    rightGraph: right,
  };
}
