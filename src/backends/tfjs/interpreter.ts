/**
 * The interpreter: a typed graph -> a tf.LayersModel, one tfjs layer per IR node
 * (inputs included), named after the node's stable id, in definition order.
 * Shared layers (`share:`) are one layer applied several times, as in Keras.
 */
import type * as TF from '@tensorflow/tfjs';
import { tensorKey, type TypedGraph } from '../../types/ir.js';
import type { OpRegistry } from '../../ops/index.js';
import { checkBuildSize, layerName, tfjsLayerSpec, type TfjsLayerSpec, type TfjsValue } from './config.js';
import type { Tf } from './backend.js';
import { layerFactory } from './custom-layers.js';
import { shareRepeatedInputs } from './repeated-inputs.js';

/** Turn config markers into tfjs objects (regularizers). */
export function materialize(tf: Tf, v: TfjsValue): unknown {
  if (Array.isArray(v)) return v.map((x) => materialize(tf, x));
  if (v !== null && typeof v === 'object') {
    if ('tfjsLayer' in v && typeof v.tfjsLayer === 'object' && !Array.isArray(v.tfjsLayer)) {
      const spec = v.tfjsLayer as TfjsLayerSpec;
      const factory = layerFactory(tf, spec);
      if (!factory) throw new Error(`tf.layers.${spec.factory} does not exist`);
      return factory(materialize(tf, spec.config as TfjsValue));
    }
    if ('regularizer' in v && typeof v.regularizer === 'object' && !Array.isArray(v.regularizer)) {
      const r = v.regularizer as { l1?: number; l2?: number };
      return tf.regularizers.l1l2({ l1: r.l1 ?? 0, l2: r.l2 ?? 0 });
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, materialize(tf, x as TfjsValue)]));
  }
  return v;
}

type LayerFactory = (config: unknown) => TF.layers.Layer;

export function buildFromGraph(tf: Tf, graph: TypedGraph, registry: OpRegistry): TF.LayersModel {
  checkBuildSize(graph.name, graph.totals.total);
  const tensors = new Map<string, TF.SymbolicTensor>();
  const layers = new Map<string, TF.layers.Layer>();
  const inputs: TF.SymbolicTensor[] = [];
  for (const node of graph.nodes) {
    if (node.op === 'input') {
      const t = tf.input({ shape: node.attrs.shape as number[], dtype: node.attrs.dtype as TF.DataType, name: layerName(node.id) });
      tensors.set(node.id, t);
      inputs.push(t);
      continue;
    }
    let layer = node.sharedWith ? layers.get(node.sharedWith) : undefined;
    if (!layer) {
      // A shared layer whose first application was pruned (it reaches no output) is still the layer
      // of that node: named after it, and one object for all its applications (as in Keras).
      const spec = tfjsLayerSpec(node.sharedWith ? { ...node, id: node.sharedWith } : node, registry);
      const factory = layerFactory(tf, spec);
      if (!factory) throw new Error(`tf.layers.${spec.factory} does not exist`);
      layer = factory(materialize(tf, spec.config as TfjsValue));
      layers.set(node.sharedWith ?? node.id, layer);
    }
    const ins = node.inputs.map((id, k) => tensors.get(tensorKey(id, node.ports?.[k]))!);
    const out = applyLayer(layer, ins, registry.get(node.op)?.states !== undefined);
    tensors.set(node.id, out[0]!);
    for (let k = 1; k < out.length; k++) tensors.set(tensorKey(node.id, k), out[k]!);
  }
  const outputs = graph.outputs.map((id, k) => tensors.get(tensorKey(id, graph.outputPorts?.[k]))!);
  return shareRepeatedInputs(tf.model({ inputs, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: graph.name }));
}

/**
 * Apply a layer to its inputs; every output comes back (a recurrent layer with return_state: the
 * output and its states). A recurrent layer's inputs after the first are its initial states
 * (Keras' initial_state), which tfjs takes as `{initialState}`.
 */
export function applyLayer<T extends TF.SymbolicTensor>(layer: TF.layers.Layer, ins: readonly T[], recurrent: boolean): T[] {
  let out;
  if (recurrent && ins.length > 1) {
    const kwargs: Record<string, unknown> = { initialState: ins.slice(1) };
    out = layer.apply(ins[0]!, kwargs);
    // tfjs records the states as further inbound tensors (as Keras does) and keeps these arguments
    // as the node's: the tensors in them are not serializable (tfjs warns on saving) and are
    // already among the node's inputs.
    delete kwargs.initialState;
  } else out = layer.apply(ins.length === 1 ? ins[0]! : [...ins]);
  return (Array.isArray(out) ? out : [out]) as T[];
}
