/** Reshaping: flatten, reshape, zero_padding2d, up_sampling2d. */
import { attr } from './attrs.js';
import { pair, product, requireAllKnown, requireRank } from './shape-util.js';
import { ShapeError, UnsupportedByPytorch, type OpDef } from './types.js';
import { isImage, known, py, toFirst, toLast } from './pytorch.js';
import { formatShape, shapeSize } from '../types/shape.js';

export const flatten: OpDef = {
  name: 'flatten',
  tfjs: { factory: 'flatten' },
  pytorch: {
    // Keras flattens an image in (H, W, C) order. When every consumer is a Dense, flatten in
    // PyTorch's (C, H, W) order and reorder the Dense's rows instead (no copy); else permute first.
    forward: (c) => {
      const x = c.inputs[0]!;
      if (c.inputShapes[0]!.length === 1) return x;
      return `torch.flatten(${isImage(c.inputShapes[0]!) && !c.flattenChannelsFirst ? toLast(x) : x}, 1)`;
    },
  },
  kerasClass: 'Flatten',
  category: 'reshaping',
  doc: 'Flattens each example to one dimension (Keras `Flatten`).',
  arity: 'one',
  attrs: {},
  outputShape: (inputs) => [product(requireAllKnown(inputs[0]!, 'flatten', 'to count its output'))],
};

export const reshape: OpDef = {
  name: 'reshape',
  tfjs: { factory: 'reshape' },
  pytorch: {
    // In Keras' (channels-last) order, then back to channels-first when the result is an image.
    forward: (c) => {
      const x = isImage(c.inputShapes[0]!) ? toLast(c.inputs[0]!) : c.inputs[0]!;
      const y = `${x}.reshape(${x}.shape[0], ${known(c.outputShape).join(', ')})`;
      return isImage(c.outputShape) ? toFirst(y) : y;
    },
  },
  kerasClass: 'Reshape',
  category: 'reshaping',
  doc: 'Reshapes each example to `target_shape` (Keras `Reshape`); one dimension may be -1.',
  arity: 'one',
  attrs: {
    target_shape: attr.shape({ required: true, allowMinusOne: true, doc: 'Shape of each output example, batch excluded; -1 once at most.' }),
  },
  outputShape(inputs, a) {
    const target = a.target_shape as number[];
    const unknown = target.filter((d) => d === -1).length;
    if (unknown > 1) throw new ShapeError(`reshape target_shape ${JSON.stringify(target)} may contain -1 only once`, 'invalid', 'target_shape');
    const size = product(requireAllKnown(inputs[0]!, 'reshape', 'to check target_shape against'));
    const known = product(target.filter((d) => d !== -1));
    if (unknown === 1) {
      if (size % known !== 0) throw new ShapeError(`reshape cannot turn input ${formatShape(inputs[0]!)} (${size} values) into ${JSON.stringify(target)}`, 'invalid', 'target_shape');
      return target.map((d) => (d === -1 ? size / known : d));
    }
    if (size !== known) {
      throw new ShapeError(`reshape cannot turn input ${formatShape(inputs[0]!)} (${size} values) into ${JSON.stringify(target)} (${known} values)`, 'invalid', 'target_shape');
    }
    return target;
  },
};

/** `padding` as Keras takes it: int, [rows, cols] or [[top, bottom], [left, right]]. */
function padding2d(p: unknown): [[number, number], [number, number]] {
  if (typeof p === 'number') return [[p, p], [p, p]];
  const arr = p as unknown[];
  if (Array.isArray(arr[0])) return [arr[0] as [number, number], arr[1] as [number, number]];
  const [r, c] = arr as [number, number];
  return [[r, r], [c, c]];
}

export const zeroPadding2d: OpDef = {
  name: 'zero_padding2d',
  tfjs: { factory: 'zeroPadding2d' },
  pytorch: {
    forward: (c) => {
      const [[t, b], [l, r]] = padding2d(c.attrs.padding);
      return `F.pad(${c.inputs[0]}, (${l}, ${r}, ${t}, ${b}))`;
    },
  },
  kerasClass: 'ZeroPadding2D',
  category: 'reshaping',
  doc: 'Pads height and width with zeros (Keras `ZeroPadding2D`).',
  arity: 'one',
  attrs: {
    padding: {
      schema: {
        anyOf: [
          { type: 'integer', minimum: 0 },
          { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 },
          { type: 'array', items: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 }, minItems: 2, maxItems: 2 },
        ],
      },
      default: 1,
      doc: 'int, [rows, cols] or [[top, bottom], [left, right]].',
    },
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    requireRank(i, 3, 'zero_padding2d');
    const [[t, b], [l, r]] = padding2d(a.padding);
    return [i[0] === null ? null : i[0]! + t + b, i[1] === null ? null : i[1]! + l + r, i[2]!];
  },
};

export const upSampling2d: OpDef = {
  name: 'up_sampling2d',
  tfjs: { factory: 'upSampling2d', pairs: ['size'] },
  pytorch: {
    forward: (c) => {
      if (c.attrs.interpolation !== 'nearest') throw new UnsupportedByPytorch('up_sampling2d with bilinear interpolation cannot be exported to PyTorch exactly (only nearest)');
      return `F.interpolate(${c.inputs[0]}, scale_factor=${py(pair(c.attrs.size))}, mode="nearest")`;
    },
  },
  kerasClass: 'UpSampling2D',
  category: 'reshaping',
  doc: 'Repeats rows and columns (Keras `UpSampling2D`).',
  arity: 'one',
  attrs: {
    size: attr.intOrPair({ min: 1, default: 2, doc: 'Upsampling factors for rows and columns.' }),
    interpolation: attr.enum(['nearest', 'bilinear'], { default: 'nearest', doc: 'Interpolation method.' }),
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    requireRank(i, 3, 'up_sampling2d');
    const [sh, sw] = pair(a.size);
    return [i[0] === null ? null : i[0]! * sh, i[1] === null ? null : i[1]! * sw, i[2]!];
  },
};

export const cropping1d: OpDef = {
  name: 'cropping1d',
  tfjs: { factory: 'Cropping1D', custom: 'Cropping1D' },
  kerasClass: 'Cropping1D',
  category: 'reshaping',
  doc: 'Removes steps from the start and end of a sequence (Keras `Cropping1D`), input (batch, length, features).',
  arity: 'one',
  attrs: {
    cropping: {
      schema: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 2, maxItems: 2 }] },
      default: [1, 1],
      doc: 'Steps cropped at the start and the end (an int for both).',
    },
  },
  normalize: (a) => (typeof a.cropping === 'number' ? { ...a, cropping: [a.cropping, a.cropping] } : a),
  outputShape(inputs, a) {
    const input = inputs[0]!;
    requireRank(input, 2, 'cropping1d');
    const [b, e] = pair(a.cropping);
    const n = input[0]!;
    if (n !== null && n - b - e < 1) throw new ShapeError(`cropping1d of ${b} + ${e} steps leaves nothing of input ${formatShape(input)}`, 'invalid', 'cropping');
    return [n === null ? null : n - b - e, input[1]!];
  },
};

export const cropping2d: OpDef = {
  name: 'cropping2d',
  kerasClass: 'Cropping2D',
  tfjs: { factory: 'cropping2D' },
  category: 'reshaping',
  doc: 'Crops rows and columns off the edges of images (Keras `Cropping2D`).',
  arity: 'one',
  attrs: {
    cropping: {
      schema: zeroPadding2d.attrs.padding!.schema,
      default: [[0, 0], [0, 0]],
      doc: 'int, [rows, cols] or [[top, bottom], [left, right]].',
    },
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    requireRank(i, 3, 'cropping2d');
    const [[t, b], [l, r]] = padding2d(a.cropping);
    // Keras copies an unknown dimension through; a known one must keep at least one row/column.
    const out = [i[0] === null ? null : i[0]! - t - b, i[1] === null ? null : i[1]! - l - r];
    if (out.some((d) => d !== null && d < 1)) {
      throw new ShapeError(`cropping2d ${JSON.stringify(a.cropping)} leaves nothing of input ${formatShape(i)}`, 'invalid', 'cropping');
    }
    return [out[0]!, out[1]!, i[2]!];
  },
};

export const permute: OpDef = {
  name: 'permute',
  kerasClass: 'Permute',
  tfjs: { factory: 'permute' },
  category: 'reshaping',
  doc: 'Permutes the axes of each example (Keras `Permute`): `dims: [2, 1]` swaps the first two (1-based, batch excluded).',
  arity: 'one',
  attrs: {
    dims: { schema: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1 }, required: true, doc: 'A permutation of 1..rank (batch excluded), e.g. `[2, 1]`.' },
  },
  outputShape(inputs, a) {
    const i = inputs[0]!;
    const dims = a.dims as number[];
    const sorted = [...dims].sort((x, y) => x - y);
    if (dims.length !== i.length || sorted.some((d, k) => d !== k + 1)) {
      throw new ShapeError(`permute dims ${JSON.stringify(dims)} must be a permutation of 1..${i.length} for input ${formatShape(i)}`, 'invalid', 'dims');
    }
    return dims.map((d) => i[d - 1]!);
  },
};
