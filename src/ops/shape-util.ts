/** Keras' shape arithmetic, shared by the op families. */
import { formatShape, type Dim, type Shape } from '../types/shape.js';
import { ShapeError } from './types.js';

export function pair(v: unknown): [number, number] {
  if (Array.isArray(v)) return [v[0] as number, v[1] as number];
  return [v as number, v as number];
}

/** An int or a list of ints as `n` ints (a 3D window's `kernel_size: 3` is [3, 3, 3]). */
export function tuple(v: unknown, n: number): number[] {
  return Array.isArray(v) ? (v as number[]).slice() : Array.from({ length: n }, () => v as number);
}

/** Keras' conv output length (`compute_conv_output_shape`); padding 'valid' | 'same'. */
export function convLength(n: Dim, kernel: number, stride: number, padding: string, dilation = 1): Dim {
  if (n === null) return null;
  const dk = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.floor((n - 1) / stride) + 1 : Math.floor((n - dk) / stride) + 1;
}

/** Keras' `deconv_output_length`. */
export function deconvLength(n: Dim, kernel: number, stride: number, padding: string, outputPadding: number | null, dilation = 1): Dim {
  if (n === null) return null;
  const k = kernel + (kernel - 1) * (dilation - 1);
  if (outputPadding === null) return padding === 'valid' ? n * stride + Math.max(k - stride, 0) : n * stride;
  const pad = padding === 'same' ? Math.floor(k / 2) : 0;
  return (n - 1) * stride + k - 2 * pad + outputPadding;
}

export function requireRank(input: Shape, rank: number, op: string, what = 'input'): void {
  if (input.length !== rank) {
    const expected = rank === 3 ? '(batch, height, width, channels)' : `rank ${rank + 1} (batch included)`;
    throw new ShapeError(`${op} needs a ${expected} ${what}, got shape ${formatShape(input)}`);
  }
}

/** `shape[index]`, which the op needs known: a None there is an error naming the axis (batch counted, as Keras does). */
export function requireKnown(shape: Shape, index: number, op: string, what: string): number {
  const d = shape[index];
  if (d === null || d === undefined) {
    throw new ShapeError(`${op} needs a known ${what}, but axis ${index + 1} of its input ${formatShape(shape)} is None (a dimension of any size)`);
  }
  return d;
}

/** Every dimension of `shape` known (flatten, reshape): the first None is an error naming its axis. */
export function requireAllKnown(shape: Shape, op: string, why: string): number[] {
  const i = shape.indexOf(null);
  if (i >= 0) throw new ShapeError(`${op} needs every dimension of its input known ${why}, but axis ${i + 1} of ${formatShape(shape)} is None (a dimension of any size)`);
  return shape as number[];
}

/** Spatial output dims; a dim below 1 is an error that names the attribute at fault. */
/** Spatial output dims (height, width); any below 1 is an error that says why. */
export function checkPositive(dims: Dim[], op: string, input: Shape, detail: string): void {
  if (dims.some((d) => d !== null && d < 1)) {
    throw new ShapeError(`${op} would produce an empty output (height ${dims[0]}, width ${dims[1]}) from input ${formatShape(input)} (${detail})`);
  }
}

/** Keras axis (batch counted as axis 0, negatives from the end) -> index into a batchless shape. */
export function axisIndex(axis: number, shape: Shape, op: string): number {
  const rankWithBatch = shape.length + 1;
  const a = axis < 0 ? rankWithBatch + axis : axis;
  if (a <= 0 || a >= rankWithBatch) {
    throw new ShapeError(`${op} axis ${axis} is out of range for input ${formatShape(shape)}${a === 0 ? ' (axis 0 is the batch)' : ''}`, 'invalid', 'axis');
  }
  return a - 1;
}

export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
