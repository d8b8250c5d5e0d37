/**
 * The model summary: Keras' `model.summary()` table (layers in Keras order,
 * output shapes with the batch dimension, parameter counts, inputs) plus MACs,
 * a tree view folded by block and loop to a given depth, and a JSON form.
 */
import type { Scope, TypedGraph, TypedNode } from '../types/ir.js';
import { formatShape, shapeToJson } from '../types/shape.js';
import { portSuffix, type OpRegistry } from '../ops/index.js';
import { kerasLayerOrder } from './keras-order.js';

/** 1234567 -> "1,234,567" (not toLocaleString: loading ICU costs a cold start ~25 ms). */
export function formatInt(n: number): string {
  const s = String(Math.abs(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 ? `-${s}` : s;
}

export function formatMacs(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(2)} K`;
  return String(n);
}

function kerasClass(n: TypedNode, registry: OpRegistry): string {
  return registry.get(n.op)?.kerasClass ?? n.op;
}

/** One row per Keras layer; a shared layer's further applications are folded into its row. */
export function kerasRows(graph: TypedGraph) {
  const applications = new Map<string, TypedNode[]>();
  for (const n of graph.nodes) {
    const layer = n.sharedWith ?? n.id;
    const list = applications.get(layer);
    if (list) list.push(n); else applications.set(layer, [n]);
  }
  return kerasLayerOrder(graph.nodes, graph.outputs, graph.inputs).map((id) => {
    const apps = applications.get(id)!;
    return { node: apps[0]!, applications: apps };
  });
}

function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    ' ' + cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('   ').trimEnd();
  const width = widths.reduce((a, b) => a + b, 0) + 3 * (widths.length - 1) + 2;
  return ['_'.repeat(width), fmt(header), '='.repeat(width), ...rows.map(fmt), '='.repeat(width)];
}

function totalsLines(graph: TypedGraph): string[] {
  const t = graph.totals;
  return [
    `Total params: ${formatInt(t.total)}`,
    `Trainable params: ${formatInt(t.trainable)}`,
    `Non-trainable params: ${formatInt(t.nonTrainable)}`,
    `MACs per example: ${formatInt(t.macs)} (${formatMacs(t.macs)})`,
  ];
}

function paramsLine(graph: TypedGraph): string | undefined {
  const entries = Object.entries(graph.params);
  return entries.length ? `Parameters: ${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}` : undefined;
}

/**
 * How the `Connected to` column names each node: its id, or for an application of a layer used
 * more than once (`share:`), Keras' `layer[node_index][0]` (`conv1[1][0]`: the layer's second call).
 */
function connectionNames(rows: ReturnType<typeof kerasRows>): Map<string, string> {
  const names = new Map<string, string>();
  for (const { node, applications } of rows) {
    applications.forEach((a, k) => names.set(a.id, applications.length > 1 ? `${node.id}[${k}][0]` : a.id));
  }
  return names;
}

/** The flat Keras-style table. */
export function formatSummary(graph: TypedGraph, registry: OpRegistry): string {
  const keras = kerasRows(graph);
  const named = connectionNames(keras);
  const opOf = new Map(graph.nodes.map((n) => [n.id, n.op]));
  // A node with several outputs (return_state) shows them all, as Keras' list of output shapes.
  const shapes = (a: TypedNode) => (a.outputShapes ? `[${a.outputShapes.map((s) => formatShape(s)).join(', ')}]` : formatShape(a.outputShape));
  const rows = keras.map(({ node, applications }) => [
    `${node.id} (${kerasClass(node, registry)})`,
    applications.map(shapes).join(', '),
    formatInt(node.params.trainable + node.params.nonTrainable),
    formatMacs(applications.reduce((s, a) => s + a.macs, 0)),
    applications.map((a) => a.inputs.map((i, k) => (named.get(i) ?? i) + portSuffix(registry.get(opOf.get(i)!), a.ports?.[k])).join(', ')).join(' | '),
  ]);
  const p = paramsLine(graph);
  return [
    `Model: "${graph.name}"`,
    ...(p ? [p] : []),
    ...table(['Layer (type)', 'Output Shape', 'Param #', 'MACs', 'Connected to'], rows, ['l', 'l', 'r', 'r', 'l']),
    ...totalsLines(graph),
  ].join('\n');
}

interface TreeNode {
  name: string;
  path: string;
  children: Map<string, TreeNode>;
  nodes: TypedNode[];
  leaf?: TypedNode;
  scope?: Scope;
}

/** The graph as a tree of scopes (blocks, loop iterations, branches) in definition order. */
export function scopeTree(graph: TypedGraph): TreeNode {
  const root: TreeNode = { name: '', path: '', children: new Map(), nodes: [] };
  for (const n of graph.nodes) {
    const segs = n.id.split('/');
    let t = root;
    root.nodes.push(n);
    segs.forEach((s, i) => {
      let c = t.children.get(s);
      if (!c) {
        const path = segs.slice(0, i + 1).join('/');
        c = { name: s, path, children: new Map(), nodes: [] };
        const scope = n.scopes.find((sc) => sc.path === path);
        if (scope) c.scope = scope;
        t.children.set(s, c);
      }
      c.nodes.push(n);
      if (i === segs.length - 1) c.leaf = n;
      t = c;
    });
  }
  return root;
}

/** The tree view, folded below `depth` levels. */
export function formatFolded(graph: TypedGraph, registry: OpRegistry, depth: number): string {
  const rows: string[][] = [];
  const visit = (t: TreeNode, level: number) => {
    for (const c of t.children.values()) {
      const last = c.nodes[c.nodes.length - 1]!;
      const params = c.nodes.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0);
      const macs = c.nodes.reduce((s, n) => s + n.macs, 0);
      const folded = c.children.size > 0 && level + 1 >= depth;
      const type = c.leaf && c.children.size === 0
        ? kerasClass(c.leaf, registry) + (c.leaf.sharedWith ? ` shared with ${c.leaf.sharedWith}` : '')
        : `${c.scope ? (c.scope.kind === 'block' ? `block ${c.scope.label}` : c.scope.label) : 'scope'}, ${c.nodes.length} layer${c.nodes.length === 1 ? '' : 's'}`;
      rows.push([`${'  '.repeat(level)}${c.name}${c.children.size > 0 ? (folded ? ' +' : ' -') : ''}`, type, formatShape(last.outputShape), formatInt(params), formatMacs(macs)]);
      if (!folded) visit(c, level + 1);
    }
  };
  visit(scopeTree(graph), 0);
  const p = paramsLine(graph);
  return [
    `Model: "${graph.name}" (folded to depth ${depth}; + folded, - expanded)`,
    ...(p ? [p] : []),
    ...table(['Scope', 'Type', 'Output Shape', 'Param #', 'MACs'], rows, ['l', 'l', 'l', 'r', 'r']),
    ...totalsLines(graph),
  ].join('\n');
}

export function summaryJson(graph: TypedGraph, registry: OpRegistry) {
  const rows = kerasRows(graph);
  return {
    name: graph.name,
    parameters: graph.params,
    params: { total: graph.totals.total, trainable: graph.totals.trainable, nonTrainable: graph.totals.nonTrainable },
    macs: graph.totals.macs,
    inputs: graph.inputs,
    outputs: graph.outputs,
    ...(graph.outputPorts ? { outputPorts: graph.outputPorts } : {}),
    layerCount: rows.length,
    layers: rows.map(({ node, applications }) => ({
      id: node.id,
      op: node.op,
      class: kerasClass(node, registry),
      outputShape: shapeToJson(node.outputShape),
      ...(node.outputShapes ? { outputShapes: node.outputShapes.map((s) => shapeToJson(s)) } : {}),
      params: node.params.trainable + node.params.nonTrainable,
      trainable: node.params.trainable,
      nonTrainable: node.params.nonTrainable,
      macs: applications.reduce((s, a) => s + a.macs, 0),
      inputs: node.inputs,
      ...(node.ports ? { inputPorts: node.ports } : {}),
      ...(applications.length > 1 ? { sharedApplications: applications.slice(1).map((a) => ({ id: a.id, inputs: a.inputs, outputShape: shapeToJson(a.outputShape) })) } : {}),
    })),
  };
}
