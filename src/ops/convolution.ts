/** Convolutions: conv2d, depthwise_conv2d, separable_conv2d, conv2d_transpose. */
import { attr, biasAttrs } from './attrs.js';
import { checkPositive, convLength, deconvLength, pair, requireKnown, requireRank } from './shape-util.js';
import { ShapeError, type OpDef } from './types.js';
import type { Shape } from '../types/shape.js';

const common = {
  kernel_size: attr.intOrPair({ min: 1, required: true, doc: 'Height and width of the convolution window (an int for both).' }),
  strides: attr.intOrPair({ min: 1, default: 1, doc: 'Strides along height and width.' }),
  padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` (no padding) or `same` (output size = ceil(input / strides)).' }),
  dilation_rate: attr.intOrPair({ min: 1, default: 1, doc: 'Dilation rate of the window.' }),
  activation: attr.activation({ default: null, doc: 'Activation applied to the output; null is linear.' }),
};

function spatial(op: string, input: Shape, a: Readonly<Record<string, unknown>>): [number | null, number | null] {
  requireRank(input, 3, op);
  const [kh, kw] = pair(a.kernel_size);
  const [sh, sw] = pair(a.strides);
  const [dh, dw] = pair(a.dilation_rate);
  if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1)) throw new ShapeError(`${op}: strides > 1 cannot be combined with dilation_rate > 1`, 'invalid', 'strides');
  const out: [number | null, number | null] = [
    convLength(input[0]!, kh, sh, a.padding as string, dh),
    convLength(input[1]!, kw, sw, a.padding as string, dw),
  ];
  checkPositive(out, op, input, `kernel ${kh}x${kw}, strides ${sh}x${sw}, padding ${a.padding}`);
  return out;
}

export const conv2d: OpDef = {
  name: 'conv2d',
  tfjs: { factory: 'conv2d', unsupported: { groups: 1 } },
  kerasClass: 'Conv2D',
  category: 'convolution',
  doc: '2D convolution (Keras `Conv2D`), channels-last.',
  arity: 'one',
  attrs: {
    filters: attr.int({ min: 1, required: true, doc: 'Number of output channels.' }),
    ...common,
    groups: attr.int({ min: 1, default: 1, doc: 'Number of groups the input channels are split into.' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the kernel.' }),
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the kernel, e.g. `{l2: 1.0e-4}`.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const [h, w] = spatial('conv2d', inputs[0]!, a);
    const cin = requireKnown(inputs[0]![2]!, 'conv2d', 'channel count');
    const groups = a.groups as number;
    if (cin % groups !== 0 || (a.filters as number) % groups !== 0) {
      throw new ShapeError(`conv2d groups=${groups} must divide both the input channels (${cin}) and filters (${a.filters})`, 'invalid', 'groups');
    }
    return [h, w, a.filters as number];
  },
  weights(inputs, a) {
    const [kh, kw] = pair(a.kernel_size);
    const cin = inputs[0]![2] as number;
    const f = a.filters as number;
    return [
      { name: 'kernel', shape: [kh, kw, cin / (a.groups as number), f], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [f], trainable: true }] : []),
    ];
  },
  macs(inputs, out, a) {
    const [kh, kw] = pair(a.kernel_size);
    return (out[0] ?? 0) * (out[1] ?? 0) * (out[2] as number) * kh * kw * ((inputs[0]![2] as number) / (a.groups as number));
  },
};

export const depthwiseConv2d: OpDef = {
  name: 'depthwise_conv2d',
  tfjs: { factory: 'depthwiseConv2d' },
  kerasClass: 'DepthwiseConv2D',
  category: 'convolution',
  doc: 'Depthwise 2D convolution (Keras `DepthwiseConv2D`): one filter per input channel.',
  arity: 'one',
  attrs: {
    ...common,
    depth_multiplier: attr.int({ min: 1, default: 1, doc: 'Output channels per input channel.' }),
    depthwise_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the depthwise kernel.' }),
    depthwise_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the depthwise kernel.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const [h, w] = spatial('depthwise_conv2d', inputs[0]!, a);
    const cin = requireKnown(inputs[0]![2]!, 'depthwise_conv2d', 'channel count');
    return [h, w, cin * (a.depth_multiplier as number)];
  },
  weights(inputs, a) {
    const [kh, kw] = pair(a.kernel_size);
    const cin = inputs[0]![2] as number;
    const dm = a.depth_multiplier as number;
    return [
      { name: 'depthwise_kernel', shape: [kh, kw, cin, dm], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [cin * dm], trainable: true }] : []),
    ];
  },
  macs(_inputs, out, a) {
    const [kh, kw] = pair(a.kernel_size);
    return (out[0] ?? 0) * (out[1] ?? 0) * (out[2] as number) * kh * kw;
  },
};

export const separableConv2d: OpDef = {
  name: 'separable_conv2d',
  tfjs: { factory: 'separableConv2d' },
  kerasClass: 'SeparableConv2D',
  category: 'convolution',
  doc: 'Depthwise-separable 2D convolution (Keras `SeparableConv2D`): a depthwise then a 1x1 pointwise convolution.',
  arity: 'one',
  attrs: {
    filters: attr.int({ min: 1, required: true, doc: 'Number of output channels.' }),
    ...common,
    depth_multiplier: attr.int({ min: 1, default: 1, doc: 'Depthwise output channels per input channel.' }),
    depthwise_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the depthwise kernel.' }),
    pointwise_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the pointwise kernel.' }),
    depthwise_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the depthwise kernel.' }),
    pointwise_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the pointwise kernel.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const [h, w] = spatial('separable_conv2d', inputs[0]!, a);
    requireKnown(inputs[0]![2]!, 'separable_conv2d', 'channel count');
    return [h, w, a.filters as number];
  },
  weights(inputs, a) {
    const [kh, kw] = pair(a.kernel_size);
    const cin = inputs[0]![2] as number;
    const dm = a.depth_multiplier as number;
    const f = a.filters as number;
    return [
      { name: 'depthwise_kernel', shape: [kh, kw, cin, dm], trainable: true },
      { name: 'pointwise_kernel', shape: [1, 1, cin * dm, f], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [f], trainable: true }] : []),
    ];
  },
  macs(inputs, out, a) {
    const [kh, kw] = pair(a.kernel_size);
    const cin = inputs[0]![2] as number;
    const dm = a.depth_multiplier as number;
    const hw = (out[0] ?? 0) * (out[1] ?? 0);
    return hw * cin * dm * kh * kw + hw * cin * dm * (a.filters as number);
  },
};

export const conv2dTranspose: OpDef = {
  name: 'conv2d_transpose',
  tfjs: { factory: 'conv2dTranspose', unsupported: { output_padding: null } },
  kerasClass: 'Conv2DTranspose',
  category: 'convolution',
  doc: 'Transposed 2D convolution (Keras `Conv2DTranspose`), the gradient of conv2d used for upsampling.',
  arity: 'one',
  attrs: {
    filters: attr.int({ min: 1, required: true, doc: 'Number of output channels.' }),
    ...common,
    output_padding: {
      schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 0 }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 }] },
      default: null,
      doc: 'Extra rows/columns added to one side of the output; must be less than the stride.',
    },
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the kernel.' }),
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the kernel.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    requireRank(input, 3, 'conv2d_transpose');
    requireKnown(input[2]!, 'conv2d_transpose', 'channel count');
    const [kh, kw] = pair(a.kernel_size);
    const [sh, sw] = pair(a.strides);
    const [dh, dw] = pair(a.dilation_rate);
    const op = a.output_padding === null ? [null, null] : pair(a.output_padding);
    if ((op[0] !== null && op[0] >= sh) || (op[1] !== null && op[1] >= sw)) {
      throw new ShapeError(`conv2d_transpose output_padding ${JSON.stringify(a.output_padding)} must be smaller than strides ${JSON.stringify(a.strides)}`, 'invalid', 'output_padding');
    }
    const out = [
      deconvLength(input[0]!, kh, sh, a.padding as string, op[0], dh),
      deconvLength(input[1]!, kw, sw, a.padding as string, op[1], dw),
    ];
    checkPositive(out, 'conv2d_transpose', input, `kernel ${kh}x${kw}, strides ${sh}x${sw}`);
    return [out[0]!, out[1]!, a.filters as number];
  },
  weights(inputs, a) {
    const [kh, kw] = pair(a.kernel_size);
    const f = a.filters as number;
    return [
      { name: 'kernel', shape: [kh, kw, f, inputs[0]![2] as number], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [f], trainable: true }] : []),
    ];
  },
  macs(inputs, _out, a) {
    const [kh, kw] = pair(a.kernel_size);
    const i = inputs[0]!;
    return (i[0] ?? 0) * (i[1] ?? 0) * (i[2] as number) * kh * kw * (a.filters as number);
  },
};
