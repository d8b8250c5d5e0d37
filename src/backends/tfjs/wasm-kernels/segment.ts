/**
 * UnsortedSegmentSum in JavaScript on the wasm heap: tfjs-backend-wasm 4.22 has none, and it is the
 * gradient of Gather, so an Embedding layer (every text model) could not train on wasm. out[s] is
 * the sum of the rows x[i] with segmentIds[i] = s; ids outside [0, numSegments) are dropped, as in
 * TensorFlow and tfjs' cpu backend.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { Heap, sizeOf } from './heap.js';

export function segmentKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined): Record<string, KernelFunc> {
  return {
    UnsortedSegmentSum: (args) => {
      const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
      const { numSegments } = args.attrs as unknown as { numSegments: number };
      const fallback = native('UnsortedSegmentSum');
      if ((x.dtype !== 'float32' && x.dtype !== 'int32') || segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
        if (fallback) return fallback(args);
        throw new Error(`UnsortedSegmentSum on wasm: only ${x.dtype === 'float32' || x.dtype === 'int32' ? 'one segment id per row of x' : 'float32 and int32'} (x ${JSON.stringify(x.shape)} ${x.dtype}, segmentIds ${JSON.stringify(segmentIds.shape)})`);
      }
      const h = heapOf(args.backend);
      const out = h.out([numSegments, ...x.shape.slice(1)], x.dtype);
      // Views after the output is made: making it may grow the heap and detach older views.
      const dst = h.view(out) as Float32Array | Int32Array;
      const src = h.view(x) as Float32Array | Int32Array;
      const ids = h.view(segmentIds) as Int32Array;
      const row = sizeOf(x.shape.slice(1));
      dst.fill(0);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i]!;
        if (s < 0 || s >= numSegments) continue;
        const d = s * row, o = i * row;
        for (let j = 0; j < row; j++) dst[d + j]! += src[o + j]!;
      }
      return out;
    },
  };
}
