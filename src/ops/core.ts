/** Core layers: input, dense, activation, dropout, embedding. */
import { attr, biasAttrs } from './attrs.js';
import { product, requireKnown } from './shape-util.js';
import { ShapeError, type OpDef } from './types.js';
import { activate, isImage, only, passMask, toFirst, toLast } from './pytorch.js';
import { formatShape } from '../types/shape.js';

export const input: OpDef = {
  name: 'input',
  kerasClass: 'InputLayer',
  category: 'input',
  doc: 'A model input (Keras `Input`); declared under `inputs:`, not as an item.',
  arity: 'none',
  attrs: {
    shape: attr.shape({ required: true, allowNull: true, doc: 'Shape of one example, batch excluded; null is a dimension of any size (Keras None).' }),
    dtype: attr.enum(['float32', 'int32', 'bool'], { default: 'float32', doc: 'Element type.' }),
  },
  outputShape(_inputs, a) {
    return a.shape as (number | null)[];
  },
};

export const dense: OpDef = {
  name: 'dense',
  tfjs: { factory: 'dense' },
  pytorch: {
    modules: (c) => {
      const i = c.inputShapes[0]!;
      return { '': `nn.Linear(${i[i.length - 1]}, ${c.attrs.units as number}${c.attrs.use_bias ? '' : ', bias=False'})` };
    },
    mask: passMask,
    // Keras applies Dense to the last axis: an image (held channels-first) is turned channels-last for it.
    forward: (c) => isImage(c.inputShapes[0]!)
      ? toFirst(activate(c.attrs.activation, `${c.self}(${toLast(c.inputs[0]!)})`, [1]))
      : activate(c.attrs.activation, `${c.self}(${c.inputs[0]})`, c.outputShape),
    weights: (c) => {
      only(c, 'dense', { activity_regularizer: null });
      const a = c.attrs;
      return {
        kernel: c.denseFromChw
          ? { key: 'weight', layout: 'flat_dense', hwc: c.denseFromChw, initializer: a.kernel_initializer as string, regularizer: a.kernel_regularizer as null }
          : { key: 'weight', layout: 'dense', initializer: a.kernel_initializer as string, regularizer: a.kernel_regularizer as null },
        ...(a.use_bias ? { bias: { key: 'bias', layout: 'same' as const, initializer: a.bias_initializer as string, regularizer: a.bias_regularizer as null } } : {}),
      };
    },
  },
  kerasClass: 'Dense',
  category: 'core',
  doc: 'Fully connected layer (Keras `Dense`); applied to the last axis of its input.',
  arity: 'one',
  attrs: {
    units: attr.int({ min: 1, required: true, doc: 'Number of output units.' }),
    activation: attr.activation({ default: null, doc: 'Activation applied to the output; null is linear.' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the kernel.' }),
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the kernel, e.g. `{l2: 1.0e-4}`.' }),
    ...biasAttrs(),
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    if (i.length < 1) throw new ShapeError(`dense needs an input of rank 2 or more, got ${formatShape(i)}`);
    requireKnown(i, i.length - 1, 'dense', 'last dimension');
    return [...i.slice(0, -1), a.units as number];
  },
  weights(inputs, a) {
    const i = inputs[0]!;
    const u = a.units as number;
    return [
      { name: 'kernel', shape: [i[i.length - 1] as number, u], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [u], trainable: true }] : []),
    ];
  },
  macs(inputs, _out, a) {
    const i = inputs[0]!;
    return product(i.map((d) => d ?? 1)) * (a.units as number);
  },
};

export const activation: OpDef = {
  name: 'activation',
  tfjs: { factory: 'activation' },
  pytorch: { forward: (c) => activate(c.attrs.activation, c.inputs[0]!, c.outputShape), mask: passMask },
  kerasClass: 'Activation',
  category: 'activation',
  doc: 'Applies an activation function (Keras `Activation`).',
  arity: 'one',
  attrs: {
    activation: attr.activation({ required: true, doc: 'Activation function name.' }),
  },
  outputShape: (inputs) => inputs[0]!,
};

export const dropout: OpDef = {
  name: 'dropout',
  tfjs: { factory: 'dropout' },
  pytorch: {
    modules: (c) => ({ '': `nn.Dropout(${c.attrs.rate as number})` }),
    forward: (c) => `${c.self}(${c.inputs[0]})`,
    mask: passMask,
  },
  kerasClass: 'Dropout',
  category: 'regularization',
  doc: 'Sets a fraction `rate` of inputs to 0 at training time (Keras `Dropout`).',
  arity: 'one',
  attrs: {
    rate: attr.float({ min: 0, exclusiveMax: 1, required: true, doc: 'Fraction of the inputs to drop, in [0, 1).' }),
    seed: { schema: { anyOf: [{ type: 'null' }, { type: 'integer' }] }, default: null, doc: 'Random seed.' },
  },
  outputShape: (inputs) => inputs[0]!,
};

export const embedding: OpDef = {
  name: 'embedding',
  tfjs: { factory: 'embedding' },
  pytorch: {
    modules: (c) => ({ '': `nn.Embedding(${c.attrs.input_dim as number}, ${c.attrs.output_dim as number})` }),
    forward: (c) => `${c.self}(${c.inputs[0]}.long())`,
    // mask_zero: the steps whose token is 0 are masked for the layers after (recurrent ones skip them).
    mask: (c) => (c.attrs.mask_zero ? `${c.inputs[0]} != 0` : null),
    weights: (c) => ({ embeddings: { key: 'weight', layout: 'same', initializer: c.attrs.embeddings_initializer as string, regularizer: c.attrs.embeddings_regularizer as null } }),
  },
  kerasClass: 'Embedding',
  category: 'core',
  doc: 'Turns integer indices into dense vectors (Keras `Embedding`).',
  arity: 'one',
  attrs: {
    input_dim: attr.int({ min: 1, required: true, doc: 'Size of the vocabulary (largest index + 1).' }),
    output_dim: attr.int({ min: 1, required: true, doc: 'Size of each embedding vector.' }),
    embeddings_initializer: attr.initializer({ default: 'random_uniform', doc: 'Initializer of the embeddings matrix.' }),
    embeddings_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the embeddings matrix.' }),
    mask_zero: attr.bool({ default: false, doc: 'Whether index 0 is a padding value to be masked.' }),
  },
  outputShape: (inputs, a) => [...inputs[0]!, a.output_dim as number],
  weights: (_inputs, a) => [{ name: 'embeddings', shape: [a.input_dim as number, a.output_dim as number], trainable: true }],
};
