/** Normalization: batch_normalization, layer_normalization. */
import { attr } from './attrs.js';
import { axisIndex, requireKnown } from './shape-util.js';
import { ShapeError, type OpDef } from './types.js';
import type { Shape } from '../types/shape.js';

export const batchNormalization: OpDef = {
  name: 'batch_normalization',
  tfjs: { factory: 'batchNormalization' },
  kerasClass: 'BatchNormalization',
  category: 'normalization',
  doc: 'Batch normalization (Keras `BatchNormalization`): gamma and beta are trained, the moving mean and variance are not.',
  arity: 'one',
  attrs: {
    axis: attr.axis({ default: -1, doc: 'The feature axis (Keras numbering: batch is 0, -1 is the last).' }),
    momentum: attr.float({ min: 0, max: 1, default: 0.99, doc: 'Momentum of the moving averages.' }),
    epsilon: attr.float({ exclusiveMin: 0, default: 0.001, doc: 'Added to the variance to avoid dividing by zero.' }),
    center: attr.bool({ default: true, doc: 'Learn an offset beta.' }),
    scale: attr.bool({ default: true, doc: 'Learn a scale gamma.' }),
    beta_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of beta.' }),
    gamma_initializer: attr.initializer({ default: 'ones', doc: 'Initializer of gamma.' }),
    moving_mean_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of the moving mean.' }),
    moving_variance_initializer: attr.initializer({ default: 'ones', doc: 'Initializer of the moving variance.' }),
    beta_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of beta.' }),
    gamma_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of gamma.' }),
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    requireKnown(i[axisIndex(a.axis as number, i, 'batch_normalization')]!, 'batch_normalization', 'size of the normalized axis');
    return i;
  },
  weights(inputs, a) {
    const i = inputs[0]!;
    const c = i[axisIndex(a.axis as number, i, 'batch_normalization')] as number;
    return [
      ...(a.scale ? [{ name: 'gamma', shape: [c], trainable: true }] : []),
      ...(a.center ? [{ name: 'beta', shape: [c], trainable: true }] : []),
      { name: 'moving_mean', shape: [c], trainable: false },
      { name: 'moving_variance', shape: [c], trainable: false },
    ];
  },
};

function normalizedDims(i: Shape, axis: unknown): number[] {
  const axes = Array.isArray(axis) ? (axis as number[]) : [axis as number];
  const idx = axes.map((ax) => axisIndex(ax, i, 'layer_normalization'));
  if (new Set(idx).size !== idx.length) throw new ShapeError(`layer_normalization axis ${JSON.stringify(axis)} names an axis twice`, 'invalid', 'axis');
  // In the order given, as Keras builds gamma and beta (`[input_shape[dim] for dim in axis]`).
  return idx.map((k) => requireKnown(i[k]!, 'layer_normalization', 'size of the normalized axis'));
}

export const layerNormalization: OpDef = {
  name: 'layer_normalization',
  tfjs: { factory: 'layerNormalization' },
  kerasClass: 'LayerNormalization',
  category: 'normalization',
  doc: 'Layer normalization (Keras `LayerNormalization`) over the given axes of each example.',
  arity: 'one',
  attrs: {
    axis: {
      schema: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 1 }] },
      default: -1,
      doc: 'Axis or axes to normalize (Keras numbering).',
    },
    epsilon: attr.float({ exclusiveMin: 0, default: 0.001, doc: 'Added to the variance to avoid dividing by zero.' }),
    center: attr.bool({ default: true, doc: 'Learn an offset beta.' }),
    scale: attr.bool({ default: true, doc: 'Learn a scale gamma.' }),
    beta_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of beta.' }),
    gamma_initializer: attr.initializer({ default: 'ones', doc: 'Initializer of gamma.' }),
  },
  outputShape(inputs, a) {
    normalizedDims(inputs[0]!, a.axis);
    return inputs[0]!;
  },
  weights(inputs, a) {
    const dims = normalizedDims(inputs[0]!, a.axis);
    // Keras gives gamma/beta the shape of the normalized axes (a vector for one axis).
    return [
      ...(a.scale ? [{ name: 'gamma', shape: dims, trainable: true }] : []),
      ...(a.center ? [{ name: 'beta', shape: dims, trainable: true }] : []),
    ];
  },
};
