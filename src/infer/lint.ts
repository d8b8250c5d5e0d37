/** Graph-level warnings: inputs and layers whose output reaches no model output. */
import type { Diagnostic } from '../types/diagnostic.js';
import type { GraphIR } from '../types/ir.js';
import { diag } from '../diagnostics/diagnostics.js';

/** Ids of the nodes an output depends on (the outputs included). */
export function reachableFromOutputs(graph: Pick<GraphIR, 'nodes' | 'outputs'>): Set<string> {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const live = new Set<string>();
  const stack = [...graph.outputs];
  while (stack.length) {
    const id = stack.pop()!;
    if (live.has(id)) continue;
    live.add(id);
    const n = byId.get(id);
    if (n) stack.push(...n.inputs);
  }
  return live;
}

export function lintGraph(graph: GraphIR): Diagnostic[] {
  const live = reachableFromOutputs(graph);
  const out: Diagnostic[] = [];
  const reported = new Set<string>();
  for (const n of graph.nodes) {
    if (live.has(n.id)) continue;
    const key = `${n.span.file}:${n.span.start}`;
    if (reported.has(key)) continue;
    reported.add(key);
    if (n.op === 'input') {
      out.push(diag('unusedInput', `input '${n.id}' is not used by any output`, n.span, { hint: 'use it with from:, or remove it' }));
    } else {
      out.push(diag('deadNode', `the output of ${n.op} '${n.id}' reaches no model output`, n.span, {
        hint: 'an item takes the previous item\'s output unless it has from:; add it to outputs: or remove it',
      }));
    }
  }
  return out;
}
