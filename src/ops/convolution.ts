/** Convolutions: conv2d, depthwise_conv2d, separable_conv2d, conv2d_transpose. */
import { attr, biasAttrs } from './attrs.js';
import { checkPositive, convLength, deconvLength, pair, requireKnown, requireRank } from './shape-util.js';
import { ShapeError, type OpDef, type PytorchContext, type PytorchWeight } from './types.js';
import { activate, convArgs, fpad, known, only, py } from './pytorch.js';
import type { Shape } from '../types/shape.js';

const common = {
  kernel_size: attr.intOrPair({ min: 1, required: true, doc: 'Height and width of the convolution window (an int for both).' }),
  strides: attr.intOrPair({ min: 1, default: 1, doc: 'Strides along height and width.' }),
  padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` (no padding) or `same` (output size = ceil(input / strides)).' }),
  dilation_rate: attr.intOrPair({ min: 1, default: 1, doc: 'Dilation rate of the window.' }),
  activation: attr.activation({ default: null, doc: 'Activation applied to the output; null is linear.' }),
};

/** Output (height, width) of a 2D convolution window over a (height, width, channels) input. */
export function spatial(op: string, input: Shape, a: Readonly<Record<string, unknown>>): [number | null, number | null] {
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


/** Keras' kernel and bias of a convolution, for the PyTorch export. */
function convWeights(c: PytorchContext, kind: 'kernel' | 'depthwise', key: string, layout: PytorchWeight['layout'], prefix = ''): Record<string, PytorchWeight> {
  const a = c.attrs;
  only(c, 'a convolution', { activity_regularizer: null });
  return {
    [kind === 'kernel' ? 'kernel' : 'depthwise_kernel']: { key, layout, initializer: a[`${kind}_initializer`] as string, regularizer: a[`${kind}_regularizer`] as PytorchWeight['regularizer'] },
    ...(a.use_bias ? { bias: { key: `${prefix}bias`, layout: 'same' as const, initializer: a.bias_initializer as string, regularizer: a.bias_regularizer as PytorchWeight['regularizer'] } } : {}),
  };
}

/** A convolution module applied to x, with TF's asymmetric 'same' padding done by F.pad first. */
const convCall = (c: PytorchContext, module: string, pads: readonly number[], x = c.inputs[0]!) => `${module}(${fpad(x, pads)})`;

export const conv2d: OpDef = {
  name: 'conv2d',
  tfjs: { factory: 'conv2d', custom: 'Conv2D', customFor: { groups: 1 } },
  pytorch: {
    modules: (c) => ({ '': convArgs(c, known(c.inputShapes[0]!)[2]!, c.attrs.filters as number, c.attrs.groups as number, !!c.attrs.use_bias).module }),
    forward: (c) => activate(c.attrs.activation, convCall(c, c.self, convArgs(c, 0, 0, 1, true).pads), c.outputShape),
    weights: (c) => convWeights(c, 'kernel', 'weight', 'conv'),
  },
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
    const cin = requireKnown(inputs[0]!, 2, 'conv2d', 'channel count');
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
  pytorch: {
    modules: (c) => {
      const cin = known(c.inputShapes[0]!)[2]!;
      return { '': convArgs(c, cin, cin * (c.attrs.depth_multiplier as number), cin, !!c.attrs.use_bias).module };
    },
    forward: (c) => activate(c.attrs.activation, convCall(c, c.self, convArgs(c, 0, 0, 1, true).pads), c.outputShape),
    weights: (c) => convWeights(c, 'depthwise', 'weight', 'depthwise'),
  },
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
    const cin = requireKnown(inputs[0]!, 2, 'depthwise_conv2d', 'channel count');
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
  pytorch: {
    // A depthwise convolution (no bias) then a 1x1 pointwise one, as two child modules.
    modules: (c) => {
      const cin = known(c.inputShapes[0]!)[2]!;
      const mid = cin * (c.attrs.depth_multiplier as number);
      return {
        '': 'nn.Module()',
        depthwise: convArgs(c, cin, mid, cin, false).module,
        pointwise: `nn.Conv2d(${mid}, ${c.attrs.filters as number}, 1${c.attrs.use_bias ? '' : ', bias=False'})`,
      };
    },
    forward: (c) => activate(c.attrs.activation, `${c.self}.pointwise(${convCall(c, `${c.self}.depthwise`, convArgs(c, 0, 0, 1, true).pads)})`, c.outputShape),
    weights: (c) => ({
      ...convWeights(c, 'depthwise', 'depthwise.weight', 'depthwise', 'pointwise.'),
      pointwise_kernel: { key: 'pointwise.weight', layout: 'conv', initializer: c.attrs.pointwise_initializer as string, regularizer: c.attrs.pointwise_regularizer as PytorchWeight['regularizer'] },
    }),
  },
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
    requireKnown(inputs[0]!, 2, 'separable_conv2d', 'channel count');
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
  pytorch: {
    modules: (c) => {
      const t = transposeGeometry(c);
      const args = [`${known(c.inputShapes[0]!)[2]}`, `${c.attrs.filters as number}`, py(pair(c.attrs.kernel_size)), `stride=${py(pair(c.attrs.strides))}`];
      if (t.outputPadding.some((p) => p > 0)) args.push(`output_padding=${py(t.outputPadding)}`);
      if (JSON.stringify(pair(c.attrs.dilation_rate)) !== '[1,1]') args.push(`dilation=${py(pair(c.attrs.dilation_rate))}`);
      if (!c.attrs.use_bias) args.push('bias=False');
      return { '': `nn.ConvTranspose2d(${args.join(', ')})` };
    },
    forward: (c) => {
      // TF crops the full transposed result as the 'same' forward convolution pads (the odd one after).
      const t = transposeGeometry(c);
      const y = `${c.self}(${c.inputs[0]})`;
      const crop = (b: number, e: number) => (b || e ? `${b}:${e ? -e : ''}` : ':');
      const [bt, et, bl, el] = t.crop as [number, number, number, number];
      const cropped = bt || et || bl || el ? `${y}[:, :, ${crop(bt, et)}, ${crop(bl, el)}]` : y;
      return activate(c.attrs.activation, cropped, c.outputShape);
    },
    weights: (c) => convWeights(c, 'kernel', 'weight', 'conv_transpose'),
  },
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
    requireKnown(input, 2, 'conv2d_transpose', 'channel count');
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

/** PyTorch's output_padding and the crop (top, bottom, left, right) that give TF's transposed convolution. */
function transposeGeometry(c: PytorchContext): { outputPadding: number[]; crop: number[] } {
  only(c, 'conv2d_transpose', { output_padding: null });
  const input = known(c.inputShapes[0]!);
  const target = known(c.outputShape);
  const k = pair(c.attrs.kernel_size), s = pair(c.attrs.strides), d = pair(c.attrs.dilation_rate);
  const outputPadding: number[] = [];
  const crop: number[] = [];
  for (const i of [0, 1]) {
    const keff = (k[i]! - 1) * d[i]! + 1;
    const full = (input[i]! - 1) * s[i]! + keff;
    const before = c.attrs.padding === 'same' ? Math.floor(Math.max(keff - s[i]!, 0) / 2) : 0;
    const op = Math.max(target[i]! + before - full, 0);
    outputPadding.push(op);
    crop.push(before, full + op - before - target[i]!);
  }
  return { outputPadding, crop };
}
