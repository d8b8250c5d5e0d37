/** Activation layers: re_lu, leaky_re_lu, prelu, elu, thresholded_re_lu, softmax (Keras' advanced activations). */
import { attr } from './attrs.js';
import { axisIndex, requireKnown } from './shape-util.js';
import { ShapeError, type AttrDef, type OpDef } from './types.js';

function elementwise(name: string, kerasClass: string, factory: string, doc: string, attrs: Record<string, AttrDef>, unsupported?: Record<string, unknown>): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory, ...(unsupported ? { unsupported } : {}) },
    category: 'activation',
    doc,
    arity: 'one',
    attrs,
    outputShape: (inputs) => inputs[0]!,
  };
}

export const reLU = elementwise('re_lu', 'ReLU', 'reLU', 'Rectified linear unit (Keras `ReLU`): `min(max(x, threshold), max_value)`, `negative_slope * (x - threshold)` below the threshold.', {
  max_value: { schema: { anyOf: [{ type: 'null' }, { type: 'number', minimum: 0 }] }, default: null, doc: 'Largest output value; null is unbounded.' },
  negative_slope: attr.float({ min: 0, default: 0, doc: 'Slope below the threshold.' }),
  threshold: attr.float({ default: 0, doc: 'Values below it are damped (0 with the default slope).' }),
}, { negative_slope: 0, threshold: 0 });

export const leakyReLU = elementwise('leaky_re_lu', 'LeakyReLU', 'leakyReLU', 'Leaky rectified linear unit (Keras `LeakyReLU`): `x` for x >= 0, `alpha * x` below.', {
  alpha: attr.float({ min: 0, default: 0.3, doc: 'Slope below 0 (Keras 2 and tfjs `alpha`; Keras 3 calls it `negative_slope`).' }),
});

export const elu = elementwise('elu', 'ELU', 'elu', 'Exponential linear unit (Keras `ELU`): `x` for x > 0, `alpha * (exp(x) - 1)` below.', {
  alpha: attr.float({ default: 1, doc: 'Scale of the negative part.' }),
}, { alpha: 1 }); // tfjs 4.22: "Non-default alpha value is not supported by the ELU layer yet"

export const thresholdedReLU = elementwise('thresholded_re_lu', 'ThresholdedReLU', 'thresholdedReLU', 'Thresholded rectified linear unit (Keras 2 `ThresholdedReLU`): `x` for x > theta, else 0.', {
  theta: attr.float({ min: 0, default: 1, doc: 'Threshold location.' }),
});

export const softmax: OpDef = {
  ...elementwise('softmax', 'Softmax', 'softmax', 'Softmax along an axis (Keras `Softmax`).', {
    axis: attr.axis({ default: -1, doc: 'Axis the softmax normalises over (-1: the last).' }),
  }), // (tf.softmax 4.22 normalises over the last axis only; tfjs says so when building another)
  outputShape(inputs, a) {
    axisIndex(a.axis as number, inputs[0]!, 'softmax');
    return inputs[0]!;
  },
};

/** Keras' 1-based `shared_axes` (batch is axis 0) -> batchless indices. */
function sharedIndices(shared: unknown, rank: number): number[] {
  const list = shared === null ? [] : Array.isArray(shared) ? (shared as number[]) : [shared as number];
  return list.map((ax) => {
    if (ax < 1 || ax > rank) throw new ShapeError(`prelu shared_axes ${JSON.stringify(shared)}: axis ${ax} is not an axis of a rank-${rank + 1} input (1..${rank})`, 'invalid', 'shared_axes');
    return ax - 1;
  });
}

export const prelu: OpDef = {
  name: 'prelu',
  kerasClass: 'PReLU',
  tfjs: { factory: 'prelu' },
  category: 'activation',
  doc: 'Parametric rectified linear unit (Keras `PReLU`): `x` for x >= 0, `alpha * x` below, with a learned `alpha` per element (shared along `shared_axes`).',
  arity: 'one',
  attrs: {
    alpha_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of the alpha weights.' }),
    alpha_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the alpha weights.' }),
    shared_axes: {
      schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }, { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1 }] },
      default: null,
      doc: 'Axes (1-based, batch is 0) along which alpha is shared, e.g. `[1, 2]` for one alpha per channel of an image.',
    },
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    const shared = sharedIndices(a.shared_axes, i.length);
    i.forEach((_, k) => { if (!shared.includes(k)) requireKnown(i, k, 'prelu', `dimension ${k + 1} (not in shared_axes)`); });
    return i;
  },
  weights(inputs, a) {
    const i = inputs[0]!;
    const shared = sharedIndices(a.shared_axes, i.length);
    return [{ name: 'alpha', shape: i.map((d, k) => (shared.includes(k) ? 1 : (d as number))), trainable: true }];
  },
};
