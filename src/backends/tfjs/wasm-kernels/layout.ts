/**
 * Moving data around, in JavaScript on the wasm heap: tiles, slices, and copies that need not copy.
 * tfjs-backend-wasm's Tile is a scalar loop over the output's coordinates (a [1, 1, 1, 16]
 * BatchNorm factor tiled to [128, 32, 32, 16]: ~130-400 ms; here: doubling block copies, ~1 ms),
 * its Slice copies the whole input first (~8 ms for [128, 32, 32, 16] -> 31 x 31; here ~1 ms), and
 * its Identity and same-dtype Cast copy where sharing the data is enough. (Its Transpose is a fast
 * loop, faster than one in JS: it is kept, and used by the kernels here.)
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { Heap, sizeOf, stridesOf } from './heap.js';

type Typed = Float32Array | Int32Array | Uint8Array;

/** dst (of shape x.shape * reps) = tile(src of `shape`, reps). */
export function tileInto(src: Typed, shape: readonly number[], reps: readonly number[], dst: Typed): void {
  const r = shape.length;
  if (r === 0) {
    dst[0] = src[0]!;
    return;
  }
  const outShape = shape.map((d, i) => d * reps[i]!);
  const inStr = stridesOf(shape);
  const outStr = stridesOf(outShape);
  // fill(dim, so, d): write the block of `dst` for a fixed index prefix of length `dim`.
  const fill = (dim: number, so: number, d: number): void => {
    const n = shape[dim]!;
    if (dim === r - 1) {
      for (let j = 0; j < n; j++) dst[d + j] = src[so + j]!;
    } else {
      for (let i = 0; i < n; i++) fill(dim + 1, so + i * inStr[dim]!, d + i * outStr[dim]!);
    }
    // Repeat the first tile along this axis by doubling copies.
    const block = n * outStr[dim]!;
    const full = block * reps[dim]!;
    let have = block;
    while (have < full) {
      const m = Math.min(have, full - have);
      dst.copyWithin(d + have, d, d + m);
      have += m;
    }
  };
  if (sizeOf(outShape) > 0) fill(0, 0, 0);
}

/** dst = src[begin : begin + size] (dense result). */
export function sliceInto(src: Typed, shape: readonly number[], begin: readonly number[], size: readonly number[], dst: Typed): void {
  const r = shape.length;
  if (sizeOf(size) === 0) return;
  // Trailing axes taken whole merge into one run with the last partial axis.
  let k = r - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const str = stridesOf(shape);
  const run = size[k]! * str[k]!;
  let so = 0;
  for (let i = 0; i <= k; i++) so += begin[i]! * str[i]!;
  const idx = new Array<number>(k).fill(0);
  const count = sizeOf(size.slice(0, k));
  let d = 0;
  for (let it = 0; it < count; it++) {
    if (run >= 48) dst.set(src.subarray(so, so + run), d);
    else for (let j = 0; j < run; j++) dst[d + j] = src[so + j]!;
    d += run;
    for (let ax = k - 1; ax >= 0; ax--) {
      so += str[ax]!;
      if (++idx[ax]! < size[ax]!) break;
      so -= str[ax]! * size[ax]!;
      idx[ax] = 0;
    }
  }
}

const NUMERIC = new Set(['float32', 'int32', 'bool']);

export function layoutKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined): Record<string, KernelFunc> {
  return {
    /** Share the data (as Reshape does, and as the cpu backend's Identity does) instead of copying it. */
    Identity: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      if (x.dtype === 'string') return native('Identity')!(args);
      heapOf(args.backend).backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
    Cast: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { dtype } = args.attrs as { dtype: string };
      if (x.dtype !== dtype || x.dtype === 'string') return native('Cast')!(args);
      heapOf(args.backend).backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
    Tile: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { reps } = args.attrs as { reps: number[] };
      if (!NUMERIC.has(x.dtype) || reps.length !== x.shape.length) return native('Tile')!(args);
      const h = heapOf(args.backend);
      const out = h.out(x.shape.map((d, i) => d * reps[i]!), x.dtype);
      tileInto(h.view(x), x.shape, reps, h.view(out));
      return out;
    },
    Slice: (args) => {
      const { x } = args.inputs as { x: TensorInfo };
      const a = args.attrs as { begin: number | number[]; size?: number | number[] };
      if (!NUMERIC.has(x.dtype)) return native('Slice')!(args);
      const h = heapOf(args.backend);
      const [begin, size] = h.tf.slice_util.parseSliceParams(x as never, a.begin, a.size) as [number[], number[]];
      const out = h.out(size, x.dtype);
      sliceInto(h.view(x), x.shape, begin, size, h.view(out));
      return out;
    },
  };
}
