/**
 * UnsortedSegmentSum, which tfjs-backend-wasm lacks: the gradient of Gather (an `embedding`'s
 * backward pass) needs it. In JavaScript on the wasm heap: out[ids[i]] += x[i] for each row i.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { Heap, sizeOf } from './heap.js';

export function segmentKernels(heapOf: (backend: unknown) => Heap): Record<string, KernelFunc> {
  return {
    UnsortedSegmentSum: ({ inputs, backend, attrs }) => {
      const h = heapOf(backend);
      const x = inputs.x as TensorInfo, ids = inputs.segmentIds as TensorInfo;
      const n = (attrs as unknown as { numSegments: number }).numSegments;
      const rows = sizeOf(ids.shape);
      const row = rows === 0 ? 0 : sizeOf(x.shape) / rows;
      const out = h.out([n, ...x.shape.slice(ids.shape.length)], x.dtype);
      const dst = h.view(out), src = h.view(x), seg = h.view(ids);
      dst.fill(0);
      for (let i = 0; i < rows; i++) {
        const s = seg[i]!;
        if (s < 0 || s >= n) continue; // TF drops out-of-range ids
        const d = s * row, o = i * row;
        for (let j = 0; j < row; j++) dst[d + j]! += src[o + j]!;
      }
      return out;
    },
  };
}
