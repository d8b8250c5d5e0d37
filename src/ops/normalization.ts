/** Normalization: batch_normalization, layer_normalization. */
import { attr } from './attrs.js';
import { axisIndex, requireKnown } from './shape-util.js';
import { ShapeError, UnsupportedByPytorch, type OpDef, type PytorchContext, type PytorchWeight } from './types.js';
import { isImage, known, only, py, toFirst, toLast } from './pytorch.js';

/** gamma and beta (and BN's moving statistics) as PyTorch's weight, bias, running_mean, running_var. */
function normWeights(c: PytorchContext, stats: boolean): Record<string, PytorchWeight> {
  if (c.attrs.center !== c.attrs.scale) throw new UnsupportedByPytorch('PyTorch normalization layers learn both or neither of gamma and beta (center and scale must agree)');
  const a = c.attrs;
  return {
    ...(a.scale ? { gamma: { key: 'weight', layout: 'same' as const, initializer: a.gamma_initializer as string, regularizer: (a.gamma_regularizer ?? null) as null } } : {}),
    ...(a.center ? { beta: { key: 'bias', layout: 'same' as const, initializer: a.beta_initializer as string, regularizer: (a.beta_regularizer ?? null) as null } } : {}),
    ...(stats ? {
      moving_mean: { key: 'running_mean', layout: 'same' as const, initializer: a.moving_mean_initializer as string },
      moving_variance: { key: 'running_var', layout: 'same' as const, initializer: a.moving_variance_initializer as string },
    } : {}),
  };
}

/** The normalized axis must be the last (Keras' channels): PyTorch's channel dim for images. */
function lastAxisOnly(c: PytorchContext, op: string): number {
  const i = known(c.inputShapes[0]!);
  const ax = Array.isArray(c.attrs.axis) && c.attrs.axis.length === 1 ? c.attrs.axis[0] : c.attrs.axis;
  if (ax !== -1 && ax !== i.length) throw new UnsupportedByPytorch(`${op} over axis ${JSON.stringify(c.attrs.axis)} cannot be exported to PyTorch (only the last axis)`);
  return i[i.length - 1]!;
}
import type { Shape } from '../types/shape.js';

export const batchNormalization: OpDef = {
  name: 'batch_normalization',
  tfjs: { factory: 'batchNormalization' },
  pytorch: {
    // Keras' momentum m is PyTorch's 1 - m; epsilon is passed (PyTorch's default is 1e-5, Keras' 1e-3).
    modules: (c) => {
      const ch = lastAxisOnly(c, 'batch_normalization');
      const cls = isImage(c.inputShapes[0]!) ? 'BatchNorm2d' : 'BatchNorm1d';
      const momentum = Number((1 - (c.attrs.momentum as number)).toPrecision(12));
      return { '': `nn.${cls}(${ch}, eps=${py(c.attrs.epsilon)}, momentum=${py(momentum)}${c.attrs.scale ? '' : ', affine=False'})` };
    },
    forward: (c) => {
      const r = c.inputShapes[0]!.length;
      if (r === 1 || r === 3) return `${c.self}(${c.inputs[0]})`;
      if (r === 2) return `${c.self}(${c.inputs[0]}.transpose(1, 2)).transpose(1, 2)`;
      throw new UnsupportedByPytorch(`batch_normalization of a rank ${r + 1} input cannot be exported to PyTorch`);
    },
    weights: (c) => normWeights(c, true),
  },
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
    requireKnown(i, axisIndex(a.axis as number, i, 'batch_normalization'), 'batch_normalization', 'size of the normalized axis');
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
  return idx.map((k) => requireKnown(i, k, 'layer_normalization', 'size of the normalized axis'));
}

export const layerNormalization: OpDef = {
  name: 'layer_normalization',
  tfjs: { factory: 'layerNormalization' },
  pytorch: {
    modules: (c) => ({ '': `nn.LayerNorm(${lastAxisOnly(c, 'layer_normalization')}, eps=${py(c.attrs.epsilon)}${c.attrs.scale ? '' : ', elementwise_affine=False'})` }),
    forward: (c) => (isImage(c.inputShapes[0]!) ? toFirst(`${c.self}(${toLast(c.inputs[0]!)})`) : `${c.self}(${c.inputs[0]})`),
    weights: (c) => {
      only(c, 'layer_normalization', {});
      return normWeights(c, false);
    },
  },
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
