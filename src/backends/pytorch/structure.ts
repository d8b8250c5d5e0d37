/**
 * The module structure of the PyTorch export: the typed graph's nodes regrouped by the block-call
 * scopes the expander recorded, so that each block call becomes a child nn.Module. Loop
 * iterations and branches stay plain containers inside their enclosing module. A scope becomes a module only when that is exact
 * and simple: its nodes are contiguous in the graph's order (so the call sits where its layers
 * were), and no `share:` crosses its border (a shared layer and its users live in one module).
 * Any other scope is inlined into its parent, as the whole graph was before.
 */
import { tensorKey, type Scope, type TypedGraph, type TypedNode } from '../../types/ir.js';

/** A module of the export: the spec itself (path '') or one block call. */
export interface Unit {
  /** The id prefix of the nodes inside ('' for the spec). */
  path: string;
  scope?: Scope;
  items: UnitItem[];
  /** Values (node ids) read from outside, in order of first use. */
  inputs: string[];
  /** Values produced inside and read outside (or the graph's outputs), in node order. */
  outputs: string[];
}

export type UnitItem =
  | { kind: 'node'; node: TypedNode }
  | { kind: 'call'; unit: Unit };

// Only block calls are modules: a loop iteration or a branch is a plain container (nn.Module()) in the
// module around it, so that the module has one class per block (general.ts), none per loop body.
const moduleScope = (s: Scope) => s.kind === 'block';

/** Scopes that cannot be modules: not contiguous in the graph's order, or cut by a `share:`. */
function inlinedScopes(nodes: readonly TypedNode[]): Set<string> {
  const out = new Set<string>();
  const span = new Map<string, { first: number; last: number; count: number }>();
  nodes.forEach((n, k) => {
    for (const s of n.scopes) {
      const r = span.get(s.path);
      if (r) { r.last = k; r.count++; } else span.set(s.path, { first: k, last: k, count: 1 });
    }
  });
  for (const [path, r] of span) if (r.last - r.first + 1 !== r.count) out.add(path);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) {
    if (!n.sharedWith) continue;
    const owner = byId.get(n.sharedWith);
    const a = new Set(n.scopes.map((s) => s.path));
    const b = new Set(owner?.scopes.map((s) => s.path) ?? []);
    for (const p of a) if (!b.has(p)) out.add(p);
    for (const p of b) if (!a.has(p)) out.add(p);
  }
  return out;
}

/** The graph's outputs as tensor keys (a state output: its node's id and port, tensorKey). */
export const graphOutputs = (g: TypedGraph): string[] => g.outputs.map((o, k) => tensorKey(o, g.outputPorts?.[k]));

/** The graph as a tree of units: the spec's, with its block calls below. */
export function unitTree(graph: TypedGraph): Unit {
  const nodes = graph.nodes.filter((n) => n.op !== 'input');
  const inlined = inlinedScopes(nodes);
  const isModule = (s: Scope) => moduleScope(s) && !inlined.has(s.path);
  const root = buildUnit('', undefined, nodes, -1, isModule);
  ioOf(root, graph);
  return root;
}

function buildUnit(path: string, scope: Scope | undefined, nodes: readonly TypedNode[], depth: number, isModule: (s: Scope) => boolean): Unit {
  const items: UnitItem[] = [];
  const groups = new Map<string, { scope: Scope; index: number; nodes: TypedNode[] }>();
  for (const n of nodes) {
    const index = n.scopes.findIndex((s, k) => k > depth && isModule(s));
    if (index < 0) {
      items.push({ kind: 'node', node: n });
      continue;
    }
    const s = n.scopes[index]!;
    const g = groups.get(s.path);
    if (g) g.nodes.push(n);
    else {
      const group = { scope: s, index, nodes: [n] };
      groups.set(s.path, group);
      items.push({ kind: 'call', unit: { path: s.path, scope: s, items: [], inputs: [], outputs: [] } });
    }
  }
  const built = items.map((it) => {
    if (it.kind !== 'call') return it;
    const g = groups.get(it.unit.path)!;
    return { kind: 'call' as const, unit: buildUnit(g.scope.path, g.scope, g.nodes, g.index, isModule) };
  });
  return { path, ...(scope ? { scope } : {}), items: built, inputs: [], outputs: [] };
}

/** Ids of the nodes in a unit, deep. */
function* nodeIds(u: Unit): Iterable<string> {
  for (const it of u.items) {
    if (it.kind === 'node') yield it.node.id;
    else yield* nodeIds(it.unit);
  }
}

/** Fill in each unit's inputs and outputs. */
function ioOf(u: Unit, graph: TypedGraph): void {
  const reads = new Map<string, string[]>(); // value -> ids of the nodes reading it
  for (const n of graph.nodes) for (const i of n.inputs) reads.set(i, [...(reads.get(i) ?? []), n.id]);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const visit = (unit: Unit): void => {
    const inside = new Set(nodeIds(unit));
    const inputs: string[] = [];
    for (const id of inside) for (const i of byId.get(id)!.inputs) if (!inside.has(i) && !inputs.includes(i)) inputs.push(i);
    unit.inputs = unit.path ? inputs : [...graph.inputs];
    unit.outputs = unit.path
      ? [...inside].filter((id) => graph.outputs.includes(id) || (reads.get(id) ?? []).some((r) => !inside.has(r)))
      : graphOutputs(graph);
    for (const it of unit.items) {
      if (it.kind === 'call') visit(it.unit);
    }
  };
  visit(u);
}
