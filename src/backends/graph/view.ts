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
  const edges: ViewEdge[] = [];
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    const to = repOf.get(n.id);
    if (to === undefined) continue;
    for (const i of n.inputs) {
      const from = repOf.get(i);
      if (from === undefined || from === to) continue;
      const k = `${from}\u0000${to}`;
      if (seen.has(k)) continue;
      seen.add(k);
      edges.push({ from, to });
    }
  }
  const shares: ShareLink[] = [];
  for (const n of graph.nodes) {
    if (!n.sharedWith) continue;
    const from = repOf.get(n.sharedWith), to = repOf.get(n.id);
    if (from !== undefined && to !== undefined && from !== to) shares.push({ from, to });
  }
  return { graph, nodes, clusters, edges, shares, spine: longestPath(nodes.map((v) => [v.key, v.members.length] as const), edges) };
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
