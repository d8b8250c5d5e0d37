/**
 * 1-D (sequence) layers, channels-last (batch, steps, channels): conv1d, max/average_pooling1d,
 * up_sampling1d, zero_padding1d (custom tfjs layers: src/backends/tfjs/custom-layers.ts), masking, repeat_vector. The steps may be None (any length);
 * the rules are Keras' 2-D ones on one axis.
 */
import { attr, biasAttrs } from './attrs.js';
import { convLength, requireKnown, requireRank } from './shape-util.js';
import { ShapeError, type AttrDef, type OpDef } from './types.js';
import { formatShape, type Shape } from '../types/shape.js';
import { conv1dPytorch, pool1dPytorch } from './pytorch-sequence.js';

/** An int, or a list of one int, as Keras writes a 1-D `kernel_size`, `strides`, `pool_size`, `size`. */
const intOrSingle = (o: { min: number; default?: unknown; required?: boolean; doc: string }): AttrDef => {
  const a: AttrDef = {
    schema: { anyOf: [{ type: 'integer', minimum: o.min }, { type: 'array', items: { type: 'integer', minimum: o.min }, minItems: 1, maxItems: 1 }] },
    doc: o.doc,
  };
  if (o.required) a.required = true;
  if ('default' in o) a.default = o.default;
  return a;
};

const one = (v: unknown): number => (Array.isArray(v) ? (v[0] as number) : (v as number));

function steps(op: string, input: Shape): void {
  requireRank(input, 2, op, 'input: (batch, steps, channels)');
}

function checkLength(n: number | null, op: string, input: Shape, detail: string): void {
  if (n !== null && n < 1) throw new ShapeError(`${op} would produce an empty output (length ${n}) from input ${formatShape(input)} (${detail})`);
}

export const conv1d: OpDef = {
  name: 'conv1d',
  kerasClass: 'Conv1D',
  tfjs: { factory: 'conv1d', unsupported: { groups: 1 } },
  pytorch: conv1dPytorch,
  category: 'convolution',
  doc: '1D convolution over the steps of a sequence (Keras `Conv1D`), channels-last. Keras\' `causal` padding is not offered: TensorFlow.js 4.22 cannot build it.',
  arity: 'one',
  attrs: {
    filters: attr.int({ min: 1, required: true, doc: 'Number of output channels.' }),
    kernel_size: intOrSingle({ min: 1, required: true, doc: 'Length of the convolution window.' }),
    strides: intOrSingle({ min: 1, default: 1, doc: 'Stride along the steps.' }),
    padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` (no padding) or `same` (output length = ceil(length / strides)).' }),
    dilation_rate: intOrSingle({ min: 1, default: 1, doc: 'Dilation rate of the window.' }),
    groups: attr.int({ min: 1, default: 1, doc: 'Number of groups the input channels are split into (TensorFlow.js: 1 only).' }),
    activation: attr.activation({ default: null, doc: 'Activation applied to the output; null is linear.' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the kernel.' }),
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the kernel.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    steps('conv1d', input);
    const cin = requireKnown(input, 1, 'conv1d', 'channel count');
    const [k, s, d] = [one(a.kernel_size), one(a.strides), one(a.dilation_rate)];
    if (s > 1 && d > 1) throw new ShapeError('conv1d: strides > 1 cannot be combined with dilation_rate > 1', 'invalid', 'strides');
    const groups = a.groups as number;
    if (cin % groups !== 0 || (a.filters as number) % groups !== 0) {
      throw new ShapeError(`conv1d groups=${groups} must divide both the input channels (${cin}) and filters (${a.filters})`, 'invalid', 'groups');
    }
    const n = convLength(input[0]!, k, s, a.padding as string, d);
    checkLength(n, 'conv1d', input, `kernel ${k}, strides ${s}, padding ${a.padding}`);
    return [n, a.filters as number];
  },
  weights(inputs, a) {
    const f = a.filters as number;
    return [
      { name: 'kernel', shape: [one(a.kernel_size), (inputs[0]![1] as number) / (a.groups as number), f], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [f], trainable: true }] : []),
    ];
  },
  macs: (inputs, out, a) => (out[0] ?? 1) * (a.filters as number) * one(a.kernel_size) * ((inputs[0]![1] as number) / (a.groups as number)),
};

function pool1d(name: string, kerasClass: string, kind: string, factory: string): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory },
    pytorch: pool1dPytorch(kind === 'Max'),
    category: 'pooling',
    doc: `${kind} pooling over windows of steps (Keras \`${kerasClass}\`).`,
    arity: 'one',
    attrs: {
      pool_size: intOrSingle({ min: 1, default: 2, doc: 'Window length.' }),
      strides: {
        schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }, { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, maxItems: 1 }] },
        default: null,
        doc: 'Stride; null means pool_size.',
      },
      padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` or `same`.' }),
    },
    normalize: (a) => (a.strides === null || a.strides === undefined ? { ...a, strides: a.pool_size } : a),
    outputShape(inputs, a) {
      const input = inputs[0]!;
      steps(name, input);
      const p = one(a.pool_size);
      const s = a.strides === null ? p : one(a.strides);
      const n = convLength(input[0]!, p, s, a.padding as string);
      checkLength(n, name, input, `pool_size ${p}, padding ${a.padding}`);
      return [n, input[1]!];
    },
  };
}

export const maxPooling1d = pool1d('max_pooling1d', 'MaxPooling1D', 'Max', 'maxPooling1d');
export const averagePooling1d = pool1d('average_pooling1d', 'AveragePooling1D', 'Average', 'averagePooling1d');

export const masking: OpDef = {
  name: 'masking',
  kerasClass: 'Masking',
  tfjs: { factory: 'masking' },
  category: 'core',
  doc: 'Masks the time steps whose features all equal `mask_value`, so that later recurrent layers skip them (Keras `Masking`).',
  arity: 'one',
  attrs: {
    mask_value: attr.float({ default: 0, doc: 'The value of a padding step.' }),
  },
  outputShape: (inputs) => inputs[0]!,
};

export const repeatVector: OpDef = {
  name: 'repeat_vector',
  kerasClass: 'RepeatVector',
  tfjs: { factory: 'repeatVector' },
  category: 'reshaping',
  doc: 'Repeats a vector `n` times: (batch, features) -> (batch, n, features) (Keras `RepeatVector`).',
  arity: 'one',
  attrs: {
    n: attr.int({ min: 1, required: true, doc: 'Number of repetitions.' }),
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    requireRank(input, 1, 'repeat_vector', 'input: (batch, features)');
    return [a.n as number, input[0]!];
  },
};

export const upSampling1d: OpDef = {
  name: 'up_sampling1d',
  kerasClass: 'UpSampling1D',
  tfjs: { factory: 'upSampling1d' },
  category: 'reshaping',
  doc: 'Repeats each step `size` times (Keras `UpSampling1D`; a modelspec tfjs layer, TensorFlow.js 4.22 has none).',
  arity: 'one',
  attrs: {
    size: attr.int({ min: 1, default: 2, doc: 'Upsampling factor.' }),
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    steps('up_sampling1d', input);
    return [input[0] === null ? null : input[0]! * (a.size as number), input[1]!];
  },
};

/** `padding` as Keras takes it: int (both sides) or [left, right]. */
const padding1d = (p: unknown): [number, number] => (typeof p === 'number' ? [p, p] : [(p as number[])[0]!, (p as number[])[1]!]);

export const zeroPadding1d: OpDef = {
  name: 'zero_padding1d',
  kerasClass: 'ZeroPadding1D',
  tfjs: { factory: 'zeroPadding1d' },
  category: 'reshaping',
  doc: 'Pads the steps with zeros at the start and end (Keras `ZeroPadding1D`; a modelspec tfjs layer, TensorFlow.js 4.22 has none).',
  arity: 'one',
  attrs: {
    padding: {
      schema: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 }] },
      default: 1,
      doc: 'int (both ends) or [start, end].',
    },
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    steps('zero_padding1d', input);
    const [l, r] = padding1d(a.padding);
    return [input[0] === null ? null : input[0]! + l + r, input[1]!];
  },
};
