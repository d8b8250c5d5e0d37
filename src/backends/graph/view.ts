/**
 * The drawable view of a typed graph: layers and folded scopes as nodes, block and
 * loop scopes as nested clusters, edges between what is drawn. `depth` folds like
 * `modelspec summary --depth`: a scope at level `depth` or deeper (0-based, counted
 * in id segments) is drawn as one node that stands for all the layers inside it.
 * DOT and Mermaid (./dot.ts, ./mermaid.ts) are printed from this one value.
 */
import type { Scope, TypedGraph, TypedNode } from '../../types/ir.js';

export interface ViewNode {
  /** A layer's id, or the path of a folded scope. */
  key: string;
  /** The innermost drawn cluster that holds it ('' at the top). */
  cluster: string;
  /** The name to print: the key relative to its cluster. */
  name: string;
  /** The layer, for a layer node. */
  node?: TypedNode;
  /** The layers inside, for a folded scope (in definition order). */
  members: TypedNode[];
  /** The folded scope, when one made the path. */
  scope?: Scope;
}

export interface ViewCluster {
  path: string;
  /** The enclosing drawn cluster ('' at the top). */
  parent: string;
  name: string;
  scope?: Scope;
  /** Every layer inside, folded or not. */
  members: TypedNode[];
}

export interface ViewEdge {
  from: string;
  to: string;
  /** Where the edge carries another output than the first (a recurrent layer's state): the node's op and the output's index. */
  port?: { op: string; index: number };
}

/** A `share:` node (to) and the node whose weights it reuses (from). */
export type ShareLink = ViewEdge;

export interface GraphView {
  graph: TypedGraph;
  nodes: ViewNode[];
  /** Keys on the longest input-to-output path: drawn in a straight line, skip connections go around. */
  spine: ReadonlySet<string>;
  /** Outermost first; a cluster's parent comes before it. */
  clusters: ViewCluster[];
  edges: ViewEdge[];
  /** Weight sharing between drawn nodes (`share:`), drawn dashed and not as data flow. */
  shares: ShareLink[];
}

export interface ViewOptions {
  /** Fold scopes at this level and deeper (undefined: draw every layer). */
  depth?: number;
  /** Draw only these layers (ids), e.g. the changed region of a diff. */
  only?: ReadonlySet<string>;
  /**
   * Past this many drawn elements, straight runs (each element fed only by the one before,
   * which feeds nothing else) are drawn as their first element, one node for the middle,
   * and their last element. Unset: never.
   */
  maxNodes?: number;
}

/** Scopes that are drawn as clusters; branches show in the wiring and would only add boxes. */
const CLUSTER_KINDS: ReadonlySet<Scope['kind']> = new Set(['block', 'repeat', 'for']);

export function buildView(graph: TypedGraph, opts: ViewOptions = {}): GraphView {
  const depth = opts.depth === undefined ? Infinity : Math.max(opts.depth, 1);
  const scopeOf = new Map<string, Scope>();
  for (const n of graph.nodes) for (const s of n.scopes) if (!scopeOf.has(s.path)) scopeOf.set(s.path, s);

  // 1. Which drawn element each layer belongs to.
  const repOf = new Map<string, string>();
  const items = new Map<string, ViewNode>();
  for (const n of graph.nodes) {
    if (opts.only && !opts.only.has(n.id)) continue;
    const segs = n.id.split('/');
    const key = segs.length > depth ? segs.slice(0, depth).join('/') : n.id;
    repOf.set(n.id, key);
    let item = items.get(key);
    if (!item) {
      const scope = key === n.id ? undefined : scopeOf.get(key);
      item = { key, cluster: '', name: key, members: [], ...(key === n.id ? { node: n } : {}), ...(scope ? { scope } : {}) };
      items.set(key, item);
    }
    item.members.push(n);
  }

  if (opts.maxNodes !== undefined && items.size > opts.maxNodes) foldRuns(graph, items, repOf);

  // 2. Clusters: scope prefixes of drawn elements, kept when they are block or loop scopes holding two or more elements.
  const count = new Map<string, number>();
  const membersOf = new Map<string, TypedNode[]>();
  for (const item of items.values()) {
    const segs = item.key.split('/');
    for (let k = 1; k < segs.length; k++) {
      const p = segs.slice(0, k).join('/');
      count.set(p, (count.get(p) ?? 0) + 1);
      let list = membersOf.get(p);
      if (!list) membersOf.set(p, (list = []));
      list.push(...item.members);
    }
  }
  const drawn = (p: string) => {
    const s = scopeOf.get(p);
    return !!s && CLUSTER_KINDS.has(s.kind) && (count.get(p) ?? 0) >= 2;
  };
  const enclosing = (key: string): string => {
    const segs = key.split('/');
    for (let k = segs.length - 1; k >= 1; k--) {
      const p = segs.slice(0, k).join('/');
      if (drawn(p)) return p;
    }
    return '';
  };
  const relative = (key: string, cluster: string) => (cluster ? key.slice(cluster.length + 1) : key);
  const clusters: ViewCluster[] = [];
  for (const p of count.keys()) {
    if (!drawn(p)) continue;
    const parent = enclosing(p);
    const scope = scopeOf.get(p);
    clusters.push({ path: p, parent, name: relative(p, parent), ...(scope ? { scope } : {}), members: membersOf.get(p)! });
  }
  clusters.sort((a, b) => a.path.split('/').length - b.path.split('/').length);
  const nodes = [...items.values()].map((item) => {
    const cluster = enclosing(item.key);
    return { ...item, cluster, name: relative(item.key, cluster) };
  });

  // 3. Edges between drawn elements.
  const edges = elementEdges(graph, repOf);
  const shares: ShareLink[] = [];
  for (const n of graph.nodes) {
    if (!n.sharedWith) continue;
    const from = repOf.get(n.sharedWith), to = repOf.get(n.id);
    if (from !== undefined && to !== undefined && from !== to) shares.push({ from, to });
  }
  return { graph, nodes, clusters, edges, shares, spine: longestPath(nodes.map((v) => [v.key, v.members.length] as const), edges) };
}

/** Edges between drawn elements (each once), from the layers' inputs. */
function elementEdges(graph: TypedGraph, repOf: ReadonlyMap<string, string>): ViewEdge[] {
  const edges: ViewEdge[] = [];
  const seen = new Set<string>();
  const opOf = graph.nodes.some((n) => n.ports) ? new Map(graph.nodes.map((n) => [n.id, n.op])) : undefined;
  for (const n of graph.nodes) {
    const to = repOf.get(n.id);
    if (to === undefined) continue;
    for (const [j, i] of n.inputs.entries()) {
      const from = repOf.get(i);
      if (from === undefined || from === to) continue;
      const index = n.ports?.[j] ?? 0;
      const k = `${from}\u0000${to}\u0000${index}`;
      if (seen.has(k)) continue;
      seen.add(k);
      edges.push(index && from === i ? { from, to, port: { op: opOf!.get(i)!, index } } : { from, to });
    }
  }
  return edges;
}

/**
 * Graphviz (as WebAssembly) lays out a few hundred boxes in about a second, and overflows its
 * stack somewhere past a thousand in a chain, or a 2,000-way merge: SVG and PNG draw at most
 * this many elements, folding to get there (docs/performance.md).
 */
export const MAX_LAID_OUT = 400;

export interface FittedView {
  view: GraphView;
  /** What was folded to fit, for the user; undefined when the view is drawn as asked. */
  note?: string;
}

/**
 * The view at the asked depth when it has at most `max` elements; else the deepest depth
 * that fits, else also with straight runs folded (`foldRuns`), deepest first.
 */
export function fitView(graph: TypedGraph, opts: { depth?: number; max?: number } = {}): FittedView {
  const max = opts.max ?? MAX_LAID_OUT;
  const asked = buildView(graph, opts.depth !== undefined ? { depth: opts.depth } : {});
  if (asked.nodes.length <= max) return { view: asked };
  const deepest = Math.min(opts.depth ?? Infinity, Math.max(...graph.nodes.map((n) => n.id.split('/').length)));
  const say = (v: GraphView, d: number | undefined, runs: boolean) => ({
    view: v,
    note: `${asked.nodes.length} elements are more than the ${max} that SVG and PNG lay out: drawn ${d !== undefined ? `folded to --depth ${d}` : ''}${d !== undefined && runs ? ', ' : ''}${runs ? 'with straight runs of layers as one node each' : ''} (${v.nodes.length} elements); --format dot or mermaid draws every layer`,
  });
  for (let d = deepest - 1; d >= 1; d--) {
    const v = buildView(graph, { depth: d });
    if (v.nodes.length <= max) return say(v, d, false);
  }
  let last: GraphView | undefined;
  for (let d = deepest; d >= 1; d--) {
    const v = buildView(graph, { ...(d < deepest ? { depth: d } : {}), maxNodes: 0 });
    last = v;
    if (v.nodes.length <= max) return say(v, d < deepest ? d : undefined, true);
  }
  return say(last ?? asked, 1, true);
}

/**
 * Straight runs of drawn elements -> first, `… n layers …`, last (in place). A run: elements
 * in definition order, each with exactly one input element, the one before it, which is read
 * by nothing else. Iterative, so chains of any length cost no stack.
 */
function foldRuns(graph: TypedGraph, items: Map<string, ViewNode>, repOf: Map<string, string>): void {
  const ins = new Map<string, Set<string>>();
  const outs = new Map<string, Set<string>>();
  for (const { from, to } of elementEdges(graph, repOf)) {
    (ins.get(to) ?? ins.set(to, new Set()).get(to)!).add(from);
    (outs.get(from) ?? outs.set(from, new Set()).get(from)!).add(to);
  }
  const keys = [...items.keys()];
  const runs: string[][] = [];
  let run: string[] = [];
  for (const k of keys) {
    const prev = run[run.length - 1];
    const i = ins.get(k);
    if (prev !== undefined && i?.size === 1 && i.has(prev) && outs.get(prev)?.size === 1) run.push(k);
    else {
      if (run.length > 3) runs.push(run);
      run = [k];
    }
  }
  if (run.length > 3) runs.push(run);
  if (!runs.length) return;
  const rebuilt = new Map<string, ViewNode>();
  const middleOf = new Map<string, ViewNode>();
  for (const r of runs) {
    const middle = r.slice(1, -1);
    const members = middle.flatMap((k) => items.get(k)!.members);
    const key = `${middle[0]} … ${middle[middle.length - 1]}`;
    const v: ViewNode = { key, cluster: '', name: key, members };
    middleOf.set(middle[0]!, v);
    for (const k of middle) for (const n of items.get(k)!.members) repOf.set(n.id, key);
    for (const k of middle.slice(1)) middleOf.set(k, v);
  }
  for (const [k, v] of items) {
    const m = middleOf.get(k);
    if (!m) rebuilt.set(k, v);
    else if (!rebuilt.has(m.key)) rebuilt.set(m.key, m);
  }
  items.clear();
  for (const [k, v] of rebuilt) items.set(k, v);
}

/** The longest path through the drawn graph, counted in layers (nodes given in a topological order). */
function longestPath(keys: readonly (readonly [string, number])[], edges: readonly ViewEdge[]): Set<string> {
  const preds = new Map<string, string[]>();
  for (const e of edges) {
    const list = preds.get(e.to);
    if (list) list.push(e.from); else preds.set(e.to, [e.from]);
  }
  const dist = new Map<string, number>();
  const via = new Map<string, string>();
  let end: string | undefined;
  for (const [k, weight] of keys) {
    let d = 0;
    for (const p of preds.get(k) ?? []) {
      const dp = dist.get(p);
      if (dp !== undefined && dp > d) { d = dp; via.set(k, p); }
    }
    d += weight;
    dist.set(k, d);
    if (end === undefined || d > dist.get(end)!) end = k;
  }
  const spine = new Set<string>();
  for (let k = end; k !== undefined; k = via.get(k)) spine.add(k);
  return spine;
}

/** `stage0 (for stage = 0)`, `block0 (repeat block = 0)`, `stem: resnet_layer`: a scope and what made it. */
export function scopeCaption(name: string, scope: Scope | undefined): string {
  if (!scope) return name;
  const last = name.slice(name.lastIndexOf('/') + 1).replace(/_\d+$/, '');
  if (scope.kind === 'block') return last === scope.label ? name : `${name}: ${scope.label}`;
  return `${name} (${scope.label})`;
}

/** What a folded scope holds, by the names of its direct parts: `resnet_layer ×2`, `block ×3`. */
export function contents(v: Pick<ViewNode, 'key' | 'members'>): string {
  const depth = v.key.split('/').length;
  const parts = new Map<string, number>();
  const seen = new Set<string>();
  for (const n of v.members) {
    const seg = n.id.split('/')[depth];
    if (seg === undefined || seen.has(seg)) continue;
    seen.add(seg);
    const path = n.id.split('/').slice(0, depth + 1).join('/');
    const loop = n.scopes.some((sc) => sc.path === path && (sc.kind === 'repeat' || sc.kind === 'for'));
    const name = loop ? seg.replace(/\d+(_\d+)?$/, '') || seg : seg.replace(/_\d+$/, '');
    parts.set(name, (parts.get(name) ?? 0) + 1);
  }
  const text = [...parts].map(([k, c]) => (c > 1 ? `${k} ×${c}` : k)).join(', ');
  return text.length > 48 ? `${text.slice(0, 47)}…` : text;
}
