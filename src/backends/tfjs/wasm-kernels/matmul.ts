/**
 * BatchMatMul: tfjs-backend-wasm multiplies on XNNPACK only without transposes and with batch 1;
 * with transposeA or transposeB (as in every Dense layer's gradients), or a batch, it runs a scalar
 * blocked loop (2.3 instead of ~20 GFLOP/s). Here a transposed operand is transposed first (one JS
 * pass of the backend's Transpose) and a batch is run one matrix at a time on the fast path.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type Heap } from './heap.js';

export function matMulKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined): Record<string, KernelFunc> {
  return {
    BatchMatMul: (args) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
      const ra = a.shape.length;
      const rb = b.shape.length;
      const outerA = a.shape.slice(0, -2);
      const outerB = b.shape.slice(0, -2);
      const batchA = sizeOf(outerA);
      const batchB = sizeOf(outerB);
      const simpleBatch = batchA === batchB || batchA === 1 || batchB === 1;
      if (a.dtype !== 'float32' || b.dtype !== 'float32' || !simpleBatch || (!transposeA && !transposeB && batchA === 1 && batchB === 1)) {
        return native('BatchMatMul')!(args);
      }
      const h = heapOf(args.backend);
      const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
      const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
      const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
      const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
      if (k !== kb) return native('BatchMatMul')!(args); // let it report the error
      const outOuter = h.tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
      const batch = Math.max(batchA, batchB);
      if (sizeOf(outOuter) !== batch) return native('BatchMatMul')!(args);
      const swapLast = (r: number) => [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
      // The backend's Transpose is a fast loop (unlike its transposed product).
      const a2 = transposeA ? h.run('Transpose', { x: a }, { perm: swapLast(ra) }) : a;
      const b2 = transposeB ? h.run('Transpose', { x: b }, { perm: swapLast(rb) }) : b;
      try {
        const outShape = [...outOuter, m, n];
        if (batch === 1) {
          const out = h.matMul(h.reshaped(a2, [m, k]), b2, m, k, n);
          out.shape = outShape;
          return out;
        }
        const out = h.out(outShape);
        for (let i = 0; i < batch; i++) {
          const ai = h.alias(a2, [m, k], batchA === 1 ? 0 : i * m * k);
          const bi = h.alias(b2, [k, n], batchB === 1 ? 0 : i * k * n);
          try {
            const r = h.matMul(ai, bi, m, k, n);
            h.f32(out).set(h.f32(r), i * m * n);
            h.free(r);
          } finally {
            h.dropAlias(ai, bi);
          }
        }
        return out;
      } finally {
        if (a2 !== a) h.free(a2);
        if (b2 !== b) h.free(b2);
      }
    },
  };
}
