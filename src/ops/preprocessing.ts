/** Preprocessing layers: rescaling, resizing, center_crop, category_encoding, random_width, random_height. */
import { attr } from './attrs.js';
import { requireRank } from './shape-util.js';
import { ShapeError, type OpDef } from './types.js';
import { formatShape } from '../types/shape.js';

export const rescaling: OpDef = {
  name: 'rescaling',
  kerasClass: 'Rescaling',
  tfjs: { factory: 'rescaling' },
  category: 'core',
  doc: 'Multiplies by `scale` and adds `offset` (Keras `Rescaling`), e.g. `scale: 0.00392156862745098` for pixels in [0, 1].',
  arity: 'one',
  attrs: {
    scale: attr.float({ required: true, doc: 'Factor the input is multiplied by.' }),
    offset: attr.float({ default: 0, doc: 'Value added after scaling.' }),
  },
  outputShape: (inputs) => inputs[0]!,
};

const size = {
  height: attr.int({ min: 1, required: true, doc: 'Output height.' }),
  width: attr.int({ min: 1, required: true, doc: 'Output width.' }),
};

export const resizing: OpDef = {
  name: 'resizing',
  kerasClass: 'Resizing',
  // tfjs-layers 4.22's Resizing fails at run time (its call hands resizeBilinear a list): modelspec's own.
  tfjs: { factory: 'Resizing', custom: 'Resizing' },
  category: 'reshaping',
  doc: 'Resizes images to `height` x `width` (Keras `Resizing`).',
  arity: 'one',
  attrs: {
    ...size,
    interpolation: attr.enum(['bilinear', 'nearest'], { default: 'bilinear', doc: 'Interpolation method (those TensorFlow.js has).' }),
    crop_to_aspect_ratio: attr.bool({ default: false, doc: 'Crop to the target aspect ratio first, instead of distorting.' }),
  },
  outputShape(inputs, a) {
    requireRank(inputs[0]!, 3, 'resizing');
    return [a.height as number, a.width as number, inputs[0]![2]!];
  },
};

export const centerCrop: OpDef = {
  name: 'center_crop',
  kerasClass: 'CenterCrop',
  tfjs: { factory: 'centerCrop' },
  category: 'reshaping',
  doc: 'Crops the centre `height` x `width` of images, resizing those smaller than it (Keras `CenterCrop`).',
  arity: 'one',
  attrs: { ...size },
  outputShape(inputs, a) {
    requireRank(inputs[0]!, 3, 'center_crop');
    return [a.height as number, a.width as number, inputs[0]![2]!];
  },
};

export const categoryEncoding: OpDef = {
  name: 'category_encoding',
  kerasClass: 'CategoryEncoding',
  tfjs: { factory: 'categoryEncoding', unsupported: { sparse: false }, values: { output_mode: { one_hot: 'oneHot', multi_hot: 'multiHot', count: 'count' } } },
  category: 'core',
  doc: 'Encodes integer indices in [0, num_tokens) as one-hot, multi-hot or count vectors (Keras `CategoryEncoding`).',
  arity: 'one',
  attrs: {
    num_tokens: attr.int({ min: 1, required: true, doc: 'Number of categories (largest index + 1).' }),
    output_mode: attr.enum(['one_hot', 'multi_hot', 'count'], { default: 'multi_hot', doc: '`one_hot` (one vector per index), `multi_hot` or `count` (one vector per example).' }),
    sparse: attr.bool({ default: false, doc: 'Return a sparse tensor.' }),
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    if (i.length < 1 || i.length > 2) throw new ShapeError(`category_encoding needs a (batch, indices) input, got shape ${formatShape(i)}`);
    const n = a.num_tokens as number;
    // tfjs' computeOutputShape: one_hot adds an axis unless the last one is 1; the others replace the last axis.
    if (a.output_mode === 'one_hot' && i[i.length - 1] !== 1) return [...i, n];
    return [...i.slice(0, -1), n];
  },
};

const factor = (axis: string) => ({
  schema: { anyOf: [{ type: 'number', exclusiveMinimum: -1 }, { type: 'array', items: { type: 'number', exclusiveMinimum: -1 }, minItems: 2, maxItems: 2 }] },
  required: true,
  doc: `Range of the random change of the ${axis}, as a fraction: \`0.2\` is [-20%, +20%], \`[-0.1, 0.3]\` is [-10%, +30%].`,
});

function randomSize(name: string, kerasClass: string, axis: 'height' | 'width'): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory: kerasClass, custom: kerasClass },
    category: 'reshaping',
    doc: `Resizes the ${axis} of images by a random factor at training time, one per batch (Keras \`${kerasClass}\`), the identity at inference; that dimension is None.`,
    arity: 'one',
    attrs: {
      factor: factor(axis),
      interpolation: attr.enum(['bilinear', 'nearest'], { default: 'bilinear', doc: 'Interpolation method (those TensorFlow.js has).' }),
      seed: { schema: { anyOf: [{ type: 'null' }, { type: 'integer' }] }, default: null, doc: 'Random seed.' },
    },
    outputShape(inputs) {
      const i = inputs[0]!;
      requireRank(i, 3, name);
      return axis === 'height' ? [null, i[1]!, i[2]!] : [i[0]!, null, i[2]!];
    },
  };
}

/**
 * tfjs-layers 4.22's RandomWidth cannot be applied in a functional model (its computeOutputShape
 * returns `[undefined, -1, channels]`) and its bundle lacks RandomHeight: both are modelspec's own
 * layers (src/backends/tfjs/image-layers.ts).
 */
export const randomWidth = randomSize('random_width', 'RandomWidth', 'width');
export const randomHeight = randomSize('random_height', 'RandomHeight', 'height');
