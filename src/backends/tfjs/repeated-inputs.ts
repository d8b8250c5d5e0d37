/**
 * A workaround for tfjs-layers 4.22's executor (LayersModel.predict, evaluate, fit): it counts the
 * consumers of a tensor as a set of layer calls but decrements the count once per input slot, so a
 * layer given one tensor twice (`multi_head_attention` from [x, x], self-attention; `add` from
 * [x, x]) brings the count to zero while a later layer still needs the tensor (the Transformer
 * block's residual `add` from [x, att]); predict() then disposes it too early and fails with
 * "Cannot read properties of undefined (reading 'backend')". (model.apply() takes another path,
 * Container.runInternalGraph, which is not affected.)
 *
 * For each such layer call, the call's output tensors list each input once (what the executor
 * counts and fetches), and the layer's apply() puts the repeats back when handed that short list:
 * the layer computes the same, and the model's topology (toJSON, Keras JSON) is unchanged. Applied
 * to every model modelspec builds or loads. Shared layers (several calls) are left as they are.
 */
import type * as TF from '@tensorflow/tfjs';

interface NodeTensors { inputTensors: TF.SymbolicTensor[]; outputTensors: TF.SymbolicTensor[] }

export function shareRepeatedInputs(model: TF.LayersModel): TF.LayersModel {
  for (const layer of model.layers) {
    const nodes = (layer as unknown as { inboundNodes: NodeTensors[] }).inboundNodes;
    if (nodes.length !== 1) continue;
    const ins = nodes[0]!.inputTensors;
    const unique = [...new Set(ins)];
    if (unique.length === ins.length) continue;
    const slots = ins.map((t) => unique.indexOf(t));
    for (const out of nodes[0]!.outputTensors) (out as unknown as { inputs: TF.SymbolicTensor[] }).inputs = unique;
    const apply = layer.apply.bind(layer);
    layer.apply = ((inputs: TF.Tensor | TF.Tensor[], kwargs?: Record<string, unknown>) =>
      apply(Array.isArray(inputs) && inputs.length === unique.length ? slots.map((i) => inputs[i]!) : inputs, kwargs)) as typeof layer.apply;
  }
  return model;
}
