/**
 * Sum and Mean over leading axes (the bias and BatchNorm gradients: a [N, H, W, C] tensor summed
 * over N, H and W). tfjs-backend-wasm first transposes the reduced axes to the end, with its slow
 * transpose (~45 ms for [128, 26, 26, 64]); here the tensor is read as [1, M, 1, C] and averaged by
 * XNNPACK's average pooling with an M x 1 window (~2 ms), times M for a sum. A product with a row of
 * ones would be as fast to run, but XNNPACK packs its second operand first (~100 ms at this size).
 * Other reductions go to the backend's own kernels.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { Heap, sizeOf } from './heap.js';
import type { KernelContext } from './options.js';

/** If `axes` are exactly the leading axes 0..k-1 (k < rank): [M, C] = the sizes before and after. */
function leadingSplit(shape: readonly number[], axis: number | number[]): { m: number; c: number; axes: number[] } | undefined {
  const r = shape.length;
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + r : a)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= r) return undefined;
  if (axes.some((a, i) => a !== i)) return undefined;
  const m = sizeOf(shape.slice(0, axes.length));
  const c = sizeOf(shape.slice(axes.length));
  return { m, c, axes };
}

function reduceLeading(h: Heap, x: TensorInfo, keepDims: boolean, mean: boolean, split: { m: number; c: number; axes: number[] }): TensorInfo {
  const { m, c, axes } = split;
  const out = h.run('AvgPool', { x: h.reshaped(x, [1, m, 1, c]) }, { filterSize: [m, 1], strides: [m, 1], pad: 'valid' });
  if (!mean) {
    const v = h.f32(out);
    for (let i = 0; i < c; i++) v[i] = v[i]! * m;
  }
  out.shape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d)).filter((_, i) => keepDims || !axes.includes(i));
  return out;
}

export function reduceKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined, k: KernelContext): Record<string, KernelFunc> {
  const make =
    (name: 'Sum' | 'Mean'): KernelFunc =>
    (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
      const split = x.dtype === 'float32' ? leadingSplit(x.shape, axis) : undefined;
      // Tiny reductions: the pooling operator's setup costs more than the backend's loop. (XNNPACK
      // rejects a 1 x 1 window.)
      if (!split || split.m < 2 || split.m * split.c < k.options.reduceMinSize) return native(name)!(args);
      return reduceLeading(heapOf(args.backend), x, keepDims, name === 'Mean', split);
    };
  return { Sum: make('Sum'), Mean: make('Mean') };
}
