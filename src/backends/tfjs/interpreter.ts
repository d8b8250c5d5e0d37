/**
 * The interpreter: a typed graph -> a tf.LayersModel, one tfjs layer per IR node
 * (inputs included), named after the node's stable id, in definition order.
 * Shared layers (`share:`) are one layer applied several times, as in Keras.
 */
import type * as TF from '@tensorflow/tfjs';
import type { TypedGraph } from '../../types/ir.js';
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
    const ins = node.inputs.map((id) => tensors.get(id)!);
    const out = layer.apply(ins.length === 1 ? ins[0]! : ins) as TF.SymbolicTensor;
    tensors.set(node.id, out);
  }
  const outputs = graph.outputs.map((id) => tensors.get(id)!);
  return shareRepeatedInputs(tf.model({ inputs, outputs: outputs.length === 1 ? outputs[0]! : outputs, name: graph.name }));
}
