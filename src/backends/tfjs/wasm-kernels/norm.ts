/**
 * FusedBatchNorm (batch normalisation at inference: each channel's affine map) on the native
 * kernels (native.ts) when they are loaded. The backend's own took ~10 ms per layer of ResNet20 at
 * batch 256 ([256, 32, 32, 16]), more than the convolutions around it; the native one reads and
 * writes at memory speed. (A JS loop was no faster than the backend's.) Computed as the cpu backend
 * does, offset + (x - mean) * scale / sqrt(variance + epsilon), in float32. Mean, variance, offset
 * and scale must each have one value per channel (the last axis); anything else (other broadcasts,
 * dtypes), and everything without the native kernels, goes to the backend's kernel.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type Heap } from './heap.js';
import type { KernelContext } from './options.js';

export function normKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined, k: KernelContext): Record<string, KernelFunc> {
  return {
    FusedBatchNorm: (args) => {
      const { x, mean, variance, offset, scale } = args.inputs as { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };
      const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
      const c = x.shape.at(-1) ?? 0;
      const perChannel = (t: TensorInfo | undefined) => !t || (t.dtype === 'float32' && sizeOf(t.shape) === c);
      const nk = k.natives();
      if (!nk || x.dtype !== 'float32' || x.shape.length === 0 || c === 0 || sizeOf(x.shape) === 0 || ![mean, variance, offset, scale].every(perChannel)) {
        return native('FusedBatchNorm')!(args);
      }
      const h = heapOf(args.backend);
      const out = h.out(x.shape);
      // Views after the last allocation (heap.ts).
      nk.batchNorm(h.f32(x), h.f32(mean), h.f32(variance), offset ? h.f32(offset) : null, scale ? h.f32(scale) : null, varianceEpsilon, h.f32(out));
      k.countNative('FusedBatchNorm');
      return out;
    },
  };
}
