/** Merges: add, multiply, average, maximum, minimum (element-wise) and concatenate. */
import { attr } from './attrs.js';
import { axisIndex } from './shape-util.js';
import { ShapeError, UnsupportedByPytorch, type OpDef, type PytorchContext } from './types.js';
import { isImage } from './pytorch.js';

/** Element-wise merges in PyTorch: the inputs must have one shape (no broadcasting between layouts). */
function sameShapes(c: PytorchContext, op: string): readonly string[] {
  const s = JSON.stringify(c.inputShapes[0]);
  if (c.inputShapes.some((x) => JSON.stringify(x) !== s)) throw new UnsupportedByPytorch(`${op} of inputs of different shapes (broadcasting) cannot be exported to PyTorch`);
  return c.inputs;
}

const ELEMENTWISE: Record<string, (xs: readonly string[]) => string> = {
  add: (xs) => xs.join(' + '),
  multiply: (xs) => xs.join(' * '),
  average: (xs) => `(${xs.join(' + ')}) / ${xs.length}`,
  maximum: (xs) => xs.slice(1).reduce((a, b) => `torch.maximum(${a}, ${b})`, xs[0]!),
  minimum: (xs) => xs.slice(1).reduce((a, b) => `torch.minimum(${a}, ${b})`, xs[0]!),
};
import { formatShape, type Dim, type Shape } from '../types/shape.js';

/**
 * Keras' `_compute_elemwise_op_output_shape` on batchless shapes (as `Merge.compute_output_shape`
 * strips the batch first): shapes align from the right, a 1 broadcasts, None stays unknown.
 */
function elementwise(op: string, inputs: readonly Shape[]): Shape {
  let out: readonly Dim[] = inputs[0]!;
  for (let k = 1; k < inputs.length; k++) {
    let [a, b] = [out, inputs[k]!];
    if (a.length < b.length) [a, b] = [b, a];
    const lead = a.slice(0, a.length - b.length);
    const tail = a.slice(a.length - b.length).map((i, j) => {
      const d = b[j]!;
      if (i === null || d === null) return null;
      if (i === 1) return d;
      if (d === 1) return i;
      if (i !== d) {
        throw new ShapeError(`${op} needs inputs of the same shape (or broadcastable), got ${inputs.map((x) => formatShape(x)).join(' and ')}`, 'mismatch');
      }
      return i;
    });
    out = [...lead, ...tail];
  }
  return out;
}

function elementwiseOp(name: string, kerasClass: string, what: string): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory: name },
    pytorch: { forward: (c) => ELEMENTWISE[name]!(sameShapes(c, name)) },
    category: 'merge',
    doc: `Element-wise ${what} of two or more inputs of the same shape (Keras \`${kerasClass}\`).`,
    arity: 'merge',
    attrs: {},
    outputShape: (inputs) => elementwise(name, inputs),
  };
}

export const add = elementwiseOp('add', 'Add', 'sum');
export const multiply = elementwiseOp('multiply', 'Multiply', 'product');
export const average = elementwiseOp('average', 'Average', 'mean');
export const maximum = elementwiseOp('maximum', 'Maximum', 'maximum');
export const minimum = elementwiseOp('minimum', 'Minimum', 'minimum');

export const concatenate: OpDef = {
  name: 'concatenate',
  tfjs: { factory: 'concatenate' },
  pytorch: {
    // Keras' axes of an image (H, W, C) are PyTorch's dims 2, 3, 1.
    forward: (c) => {
      const first = c.inputShapes[0]!;
      const ax = axisIndex(c.attrs.axis as number, first, 'concatenate');
      const dim = isImage(first) ? [2, 3, 1][ax]! : ax + 1;
      return `torch.cat([${c.inputs.join(', ')}], dim=${dim})`;
    },
  },
  kerasClass: 'Concatenate',
  category: 'merge',
  doc: 'Joins two or more inputs along an axis (Keras `Concatenate`); all other dimensions must agree.',
  arity: 'merge',
  attrs: {
    axis: attr.axis({ default: -1, doc: 'The axis to join along (Keras numbering: -1 is the last).' }),
  },
  outputShape(inputs, a) {
    const first = inputs[0]!;
    const ax = axisIndex(a.axis as number, first, 'concatenate');
    const out: Dim[] = [...first];
    for (let k = 1; k < inputs.length; k++) {
      const s = inputs[k]!;
      const bad = s.length !== first.length || s.some((d, j) => j !== ax && d !== null && out[j] !== null && d !== out[j]);
      if (bad) {
        throw new ShapeError(
          `concatenate on axis ${a.axis} needs inputs that agree on every other axis, got ${inputs.map((x) => formatShape(x)).join(' and ')}`,
          'mismatch',
        );
      }
      s.forEach((d, j) => {
        if (j === ax) out[j] = out[j] === null || d === null ? null : out[j]! + d;
        else if (out[j] === null) out[j] = d;
      });
    }
    return out;
  },
};

export const subtract: OpDef = {
  name: 'subtract',
  kerasClass: 'Subtract',
  tfjs: { factory: 'Subtract', custom: 'Subtract' },
  pytorch: { forward: (c) => sameShapes(c, 'subtract').join(' - ') },
  category: 'merge',
  doc: 'The first input minus the second (Keras `Subtract`): exactly two inputs of one shape (or broadcastable).',
  arity: 'merge',
  attrs: {},
  outputShape(inputs) {
    if (inputs.length !== 2) throw new ShapeError(`subtract takes exactly two inputs, got ${inputs.length}`, 'mismatch');
    return elementwise('subtract', inputs);
  },
};

export const dot: OpDef = {
  name: 'dot',
  kerasClass: 'Dot',
  tfjs: { factory: 'dot' },
  category: 'merge',
  doc: 'Dot product of two inputs along `axes` (Keras `Dot`); the result keeps the other axes of both.',
  arity: 'merge',
  attrs: {
    axes: {
      schema: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'integer' }, minItems: 2, maxItems: 2 }] },
      required: true,
      doc: 'Axis (batch is 0; negatives count from the end) of each input to reduce, or one for both.',
    },
    normalize: attr.bool({ default: false, doc: 'L2-normalise both inputs along the axes first (cosine similarity).' }),
  },
  outputShape(inputs, a) {
    if (inputs.length !== 2) throw new ShapeError(`dot takes exactly two inputs, got ${inputs.length}`, 'invalid');
    const [x, y] = inputs as [Shape, Shape];
    const axes = Array.isArray(a.axes) ? (a.axes as number[]) : [a.axes as number, a.axes as number];
    const ax = axisIndex(axes[0]!, x, 'dot'), ay = axisIndex(axes[1]!, y, 'dot');
    if (x[ax] !== null && y[ay] !== null && x[ax] !== y[ay]) {
      throw new ShapeError(`dot axes ${JSON.stringify(a.axes)}: dimension ${x[ax]} of ${formatShape(x)} differs from ${y[ay]} of ${formatShape(y)}`, 'mismatch');
    }
    const out = [...x.filter((_, k) => k !== ax), ...y.filter((_, k) => k !== ay)];
    return out.length ? out : [1];
  },
};
