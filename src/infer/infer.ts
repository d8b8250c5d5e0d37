/**
 * Stage 5: one walk over the graph in definition order (a topological order by
 * construction) that infers every node's output shape, weights, parameter
 * counts and MACs from the op registry.
 */
import type { Diagnostic } from '../types/diagnostic.js';
import type { GraphIR, ParamCount, TypedGraph, TypedNode, WeightSpec } from '../types/ir.js';
import { formatShape, type Shape } from '../types/shape.js';
import { ShapeError, extraOutputs, portSuffix, type OpRegistry } from '../ops/index.js';
import { diag, DiagnosticSink } from '../diagnostics/diagnostics.js';

function weightsEqual(a: readonly WeightSpec[], b: readonly WeightSpec[]): boolean {
  return a.length === b.length && a.every((w, i) => w.name === b[i]!.name && w.shape.join() === b[i]!.shape.join());
}

function count(weights: readonly WeightSpec[]): ParamCount {
  let trainable = 0, nonTrainable = 0;
  for (const w of weights) {
    const n = w.shape.reduce((x, y) => x * y, 1);
    if (w.trainable) trainable += n; else nonTrainable += n;
  }
  return { trainable, nonTrainable };
}

/** Parameter and MAC totals of a set of typed nodes (shared applications own no weights). */
export function computeTotals(nodes: readonly TypedNode[]): TypedGraph['totals'] {
  const totals = { trainable: 0, nonTrainable: 0, total: 0, macs: 0 };
  for (const n of nodes) {
    totals.trainable += n.params.trainable;
    totals.nonTrainable += n.params.nonTrainable;
    totals.macs += n.macs;
  }
  totals.total = totals.trainable + totals.nonTrainable;
  return totals;
}

export function infer(graph: GraphIR, registry: OpRegistry, diagnostics: Diagnostic[]): TypedGraph | undefined {
  const sink = new DiagnosticSink(diagnostics);
  const typed = new Map<string, TypedNode>();
  const nodes: TypedNode[] = [];
  let failed = false;
  for (const node of graph.nodes) {
    const def = registry.get(node.op)!;
    const inputShapes: Shape[] = [];
    let poisoned = false;
    for (const [k, i] of node.inputs.entries()) {
      const t = typed.get(i);
      const port = node.ports?.[k] ?? 0;
      if (!t) poisoned = true; else inputShapes.push(port ? t.outputShapes![port]! : t.outputShape);
    }
    if (poisoned) { failed = true; continue; }
    let sharedOrigin: TypedNode | undefined;
    try {
      const outputShape = def.outputShape(inputShapes, node.attrs);
      let weights = def.weights?.(inputShapes, node.attrs) ?? [];
      if (node.sharedWith) {
        const original = typed.get(node.sharedWith);
        if (original && !weightsEqual(original.weights, weights)) {
          const ws = (list: readonly WeightSpec[]) => list.map((w) => `${w.name} ${formatShape(w.shape, false)}`).join(', ');
          sharedOrigin = original;
          throw new ShapeError(
            `shared layer '${node.sharedWith}' has weights ${ws(original.weights)} for its input ${formatShape(original.inputShapes[0])}; input ${formatShape(inputShapes[0])} would need ${ws(weights)}`,
            'mismatch',
          );
        }
        weights = [];
      }
      const macs = def.macs?.(inputShapes, outputShape, node.attrs) ?? 0;
      // Past 2^53 JavaScript numbers stop being exact: refuse rather than report wrong counts.
      const params = count(weights);
      const unsafe = [...outputShape.filter((d): d is number => d !== null), params.trainable, params.nonTrainable, macs].find((n) => !Number.isSafeInteger(n));
      if (unsafe !== undefined) {
        failed = true;
        sink.push(diag('tooLarge', `'${node.id}' has a size, parameter count or MAC count of ${unsafe}, beyond 2^53 (output ${formatShape(outputShape)})`, node.span, {
          related: node.trace.map((span, i) => ({ message: i === 0 ? 'in the block called here' : 'called from here', span })),
        }));
        continue;
      }
      // Built field by field: an object spread of IR nodes (several hidden classes) costs ~10x more.
      const t: TypedNode = {
        id: node.id, op: node.op, attrs: node.attrs, inputs: node.inputs, span: node.span, trace: node.trace, scopes: node.scopes,
        ...(node.sharedWith !== undefined ? { sharedWith: node.sharedWith } : {}),
        ...(node.ports !== undefined ? { ports: node.ports } : {}),
        outputShape, inputShapes, weights, params, macs,
      };
      // A recurrent layer with return_state: its states, each (units), after the output.
      const extra = def.states ? extraOutputs(def, node.attrs) : [];
      if (extra.length) t.outputShapes = [outputShape, ...extra.map(() => [node.attrs.units as number])];
      typed.set(node.id, t);
      nodes.push(t);
    } catch (e) {
      if (!(e instanceof ShapeError)) throw e;
      failed = true;
      const key = node.sharedWith ? 'sharedShape' : e.kind === 'mismatch' ? 'shapeMismatch' : 'shapeInvalid';
      const inputsText = node.inputs.map((id, k) => `${id}${portSuffix(registry.get(typed.get(id)?.op ?? ''), node.ports?.[k])} ${formatShape(inputShapes[k])}`).join(', ');
      const related = node.trace.map((span, i) => ({ message: i === 0 ? 'in the block called here' : 'called from here', span }));
      if (sharedOrigin) related.unshift({ message: `'${sharedOrigin.id}' is defined here`, span: sharedOrigin.span });
      sink.push(diag(key, `${e.message} at '${node.id}'`, node.span, { related, hint: `inputs: ${inputsText}` }));
    }
  }
  sink.finish();
  if (failed) return undefined;
  const totals = computeTotals(nodes);
  if (![totals.total, totals.macs].every(Number.isSafeInteger)) {
    diagnostics.push(diag('tooLarge', `the model's totals (${totals.total} parameters, ${totals.macs} MACs) exceed 2^53`, graph.nodes[0]?.span));
    return undefined;
  }
  return { ...graph, nodes, totals };
}
