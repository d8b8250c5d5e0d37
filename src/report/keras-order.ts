/**
 * The order in which Keras (and tfjs-layers) list a functional model's layers:
 * by decreasing depth from the outputs, ties broken by the order a depth-first
 * walk from the outputs first meets each layer (`Functional._map_graph_network`).
 * Nodes that apply a shared layer again count as that layer.
 */
import type { IRNode } from '../types/ir.js';

export function kerasLayerOrder(nodes: readonly IRNode[], outputs: readonly string[], inputs: readonly string[]): string[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layerOf = (n: IRNode) => n.sharedWith ?? n.id;
  const layerIndex = new Map<string, number>();
  const finished = new Set<string>();
  const decreasing: IRNode[] = [];
  // Iterative post-order DFS (deep ResNets would overflow a recursive one).
  for (const out of outputs) {
    const stack: { node: IRNode; next: number }[] = [];
    const onStack = new Set<string>();
    const start = byId.get(out);
    if (!start || finished.has(start.id)) continue;
    stack.push({ node: start, next: 0 });
    onStack.add(start.id);
    if (!layerIndex.has(layerOf(start))) layerIndex.set(layerOf(start), layerIndex.size);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.node.inputs.length) {
        const child = byId.get(top.node.inputs[top.next++]!);
        if (!child || finished.has(child.id) || onStack.has(child.id)) continue;
        if (!layerIndex.has(layerOf(child))) layerIndex.set(layerOf(child), layerIndex.size);
        stack.push({ node: child, next: 0 });
        onStack.add(child.id);
      } else {
        stack.pop();
        onStack.delete(top.node.id);
        finished.add(top.node.id);
        decreasing.push(top.node);
      }
    }
  }
  const nodeDepth = new Map<string, number>();
  const layerDepth = new Map<string, number>();
  for (let i = decreasing.length - 1; i >= 0; i--) {
    const n = decreasing[i]!;
    const layer = layerOf(n);
    const depth = Math.max(nodeDepth.get(n.id) ?? 0, layerDepth.get(layer) ?? 0);
    layerDepth.set(layer, depth);
    nodeDepth.set(n.id, depth);
    for (const p of n.inputs) nodeDepth.set(p, Math.max(depth + 1, nodeDepth.get(p) ?? 0));
  }
  for (const i of inputs) {
    if (!layerDepth.has(i)) {
      layerDepth.set(i, 0);
      layerIndex.set(i, -1);
    }
  }
  return [...layerDepth.keys()].sort((a, b) => layerDepth.get(b)! - layerDepth.get(a)! || layerIndex.get(a)! - layerIndex.get(b)!);
}
