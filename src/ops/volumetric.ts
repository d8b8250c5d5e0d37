/** 3D (volumetric) layers: conv3d, conv3d_transpose, max_pooling3d, average_pooling3d; inputs (depth, height, width, channels). */
import { attr, biasAttrs } from './attrs.js';
import { convLength, deconvLength, product, requireKnown, tuple } from './shape-util.js';
import { ShapeError, type Attrs, type OpDef } from './types.js';
import { formatShape, type Dim, type Shape } from '../types/shape.js';

function rank4(input: Shape, op: string): void {
  if (input.length !== 4) throw new ShapeError(`${op} needs a (batch, depth, height, width, channels) input, got shape ${formatShape(input)}`);
}

function nonEmpty(out: Dim[], op: string, input: Shape, detail: string): void {
  if (out.some((d) => d !== null && d < 1)) {
    throw new ShapeError(`${op} would produce an empty output (${out.map((d) => d ?? 'None').join('x')}) from input ${formatShape(input)} (${detail})`);
  }
}

const conv3dCommon = {
  kernel_size: attr.intOrTriple({ min: 1, required: true, doc: 'Depth, height and width of the convolution window (an int for all three).' }),
  strides: attr.intOrTriple({ min: 1, default: 1, doc: 'Strides along depth, height and width.' }),
  padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` (no padding) or `same` (output size = ceil(input / strides)).' }),
};

export const conv3d: OpDef = {
  name: 'conv3d',
  kerasClass: 'Conv3D',
  tfjs: { factory: 'conv3d', unsupported: { groups: 1 } },
  category: 'convolution',
  doc: '3D convolution over volumes (Keras `Conv3D`), channels-last.',
  arity: 'one',
  attrs: {
    filters: attr.int({ min: 1, required: true, doc: 'Number of output channels.' }),
    ...conv3dCommon,
    dilation_rate: attr.intOrTriple({ min: 1, default: 1, doc: 'Dilation rate of the window.' }),
    activation: attr.activation({ default: null, doc: 'Activation applied to the output; null is linear.' }),
    groups: attr.int({ min: 1, default: 1, doc: 'Number of groups the input channels are split into.' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the kernel.' }),
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the kernel, e.g. `{l2: 1.0e-4}`.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    rank4(input, 'conv3d');
    const k = tuple(a.kernel_size, 3), s = tuple(a.strides, 3), d = tuple(a.dilation_rate, 3);
    if (s.some((x) => x > 1) && d.some((x) => x > 1)) throw new ShapeError('conv3d: strides > 1 cannot be combined with dilation_rate > 1', 'invalid', 'strides');
    const cin = requireKnown(input, 3, 'conv3d', 'channel count');
    const groups = a.groups as number;
    if (cin % groups !== 0 || (a.filters as number) % groups !== 0) {
      throw new ShapeError(`conv3d groups=${groups} must divide both the input channels (${cin}) and filters (${a.filters})`, 'invalid', 'groups');
    }
    const out = [0, 1, 2].map((i) => convLength(input[i]!, k[i]!, s[i]!, a.padding as string, d[i]!));
    nonEmpty(out, 'conv3d', input, `kernel ${k.join('x')}, strides ${s.join('x')}, padding ${a.padding}`);
    return [...out, a.filters as number];
  },
  weights(inputs, a) {
    const f = a.filters as number;
    return [
      { name: 'kernel', shape: [...tuple(a.kernel_size, 3), (inputs[0]![3] as number) / (a.groups as number), f], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [f], trainable: true }] : []),
    ];
  },
  macs(inputs, out, a) {
    return product(out.map((d) => d ?? 0)) * product(tuple(a.kernel_size, 3)) * ((inputs[0]![3] as number) / (a.groups as number));
  },
};

export const conv3dTranspose: OpDef = {
  name: 'conv3d_transpose',
  kerasClass: 'Conv3DTranspose',
  tfjs: { factory: 'conv3dTranspose', unsupported: { output_padding: null, dilation_rate: 1 } },
  category: 'convolution',
  doc: 'Transposed 3D convolution (Keras `Conv3DTranspose`), the gradient of conv3d used for upsampling volumes.',
  arity: 'one',
  attrs: {
    filters: attr.int({ min: 1, required: true, doc: 'Number of output channels.' }),
    ...conv3dCommon,
    output_padding: {
      schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 0 }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 3, maxItems: 3 }] },
      default: null,
      doc: 'Extra planes added to one side of the output along each axis; must be less than the stride.',
    },
    dilation_rate: attr.intOrTriple({ min: 1, default: 1, doc: 'Dilation rate of the window.' }),
    activation: attr.activation({ default: null, doc: 'Activation applied to the output; null is linear.' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the kernel.' }),
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the kernel.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const input = inputs[0]!;
    rank4(input, 'conv3d_transpose');
    requireKnown(input, 3, 'conv3d_transpose', 'channel count');
    const k = tuple(a.kernel_size, 3), s = tuple(a.strides, 3), d = tuple(a.dilation_rate, 3);
    const op = a.output_padding === null ? [null, null, null] : tuple(a.output_padding, 3);
    if (op.some((p, i) => p !== null && p >= s[i]!)) {
      throw new ShapeError(`conv3d_transpose output_padding ${JSON.stringify(a.output_padding)} must be smaller than strides ${JSON.stringify(a.strides)}`, 'invalid', 'output_padding');
    }
    const out = [0, 1, 2].map((i) => deconvLength(input[i]!, k[i]!, s[i]!, a.padding as string, op[i]!, d[i]!));
    nonEmpty(out, 'conv3d_transpose', input, `kernel ${k.join('x')}, strides ${s.join('x')}`);
    return [...out, a.filters as number];
  },
  weights(inputs, a) {
    const f = a.filters as number;
    return [
      { name: 'kernel', shape: [...tuple(a.kernel_size, 3), f, inputs[0]![3] as number], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [f], trainable: true }] : []),
    ];
  },
  macs(inputs, _out, a) {
    const i = inputs[0]!;
    return product(i.map((x) => x ?? 0)) * product(tuple(a.kernel_size, 3)) * (a.filters as number);
  },
};

function pool3d(name: string, kerasClass: string, kind: string, factory: string): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory },
    category: 'pooling',
    doc: `${kind} pooling over 3D windows (Keras \`${kerasClass}\`).`,
    arity: 'one',
    attrs: {
      pool_size: attr.intOrTriple({ min: 1, default: 2, doc: 'Window size (depth, height, width).' }),
      strides: {
        schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }, { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 3, maxItems: 3 }] },
        default: null,
        doc: 'Strides; null means pool_size.',
      },
      padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` or `same`.' }),
    },
    normalize: (a: Attrs) => (a.strides === null || a.strides === undefined ? { ...a, strides: a.pool_size } : a),
    outputShape(inputs, a) {
      const input = inputs[0]!;
      rank4(input, name);
      const p = tuple(a.pool_size, 3);
      const s = a.strides === null ? p : tuple(a.strides, 3);
      const out = [0, 1, 2].map((i) => convLength(input[i]!, p[i]!, s[i]!, a.padding as string));
      nonEmpty(out, name, input, `pool_size ${p.join('x')}, padding ${a.padding}`);
      return [...out, input[3]!];
    },
  };
}

export const maxPooling3d = pool3d('max_pooling3d', 'MaxPooling3D', 'Max', 'maxPooling3d');
export const averagePooling3d = pool3d('average_pooling3d', 'AveragePooling3D', 'Average', 'averagePooling3d');
