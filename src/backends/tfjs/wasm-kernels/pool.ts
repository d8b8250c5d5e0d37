/**
 * Pooling gradients in JavaScript, a pass over the windows with the channels innermost.
 *
 * - MaxPoolGrad: each window's gradient goes to its maximum; as in the cpu backend, the first
 *   maximum in row-major window order, and no element when the window holds only -Infinity (or
 *   NaN). The backend's own kernel took ~100 ms for a [128, 26, 26, 64] input, this ~10; with the
 *   native kernels loaded (native.ts), the same on 8 channels at a time in AVX2.
 * - AvgPoolGrad: each window's gradient spread evenly over its elements, divided by the full window
 *   size as the cpu backend does (padding included).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type Heap } from './heap.js';
import type { KernelContext } from './options.js';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** MaxPoolGrad and AvgPoolGrad. Long (~125 lines): the two kernels as closures over heapOf, each with its native and JS paths. */
export function poolKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined, k: KernelContext): Record<string, KernelFunc> {
  return {
    MaxPoolGrad: (args) => {
      const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
      const a = args.attrs as unknown as PoolAttrs;
      if (input.dtype !== 'float32' || dy.dtype !== 'float32') return native('MaxPoolGrad')!(args);
      const h = heapOf(args.backend);
      const info = h.tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
      const { batchSize: n, inHeight: H, inWidth: W, inChannels: C, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
      const pt = info.padInfo.top;
      const pl = info.padInfo.left;
      const out = h.out(input.shape);
      const nk = k.natives();
      if (nk && sizeOf(input.shape) > 0 && dy.shape.length === 4 && dy.shape.every((d, i) => d === info.outShape[i])) {
        nk.maxPoolGrad(h.f32(input), h.f32(dy), h.f32(out), Int32Array.of(n, H, W, C, ho, wo, fh, fw, sh, sw, pt, pl));
        k.countNative('MaxPoolGrad');
        return out;
      }
      const dx = h.f32(out);
      const x = h.f32(input);
      const g = h.f32(dy);
      dx.fill(0);
      const best = new Float32Array(C);
      const at = new Int32Array(C);
      const rowStride = W * C;
      const twoByTwo = fh === 2 && fw === 2 && sh === 2 && sw === 2; // the common case, unrolled
      let gi = 0;
      for (let b = 0; b < n; b++) {
        const base = b * H * rowStride;
        for (let yo = 0; yo < ho; yo++) {
          const y0 = yo * sh - pt;
          const yStart = Math.max(0, y0);
          const yEnd = Math.min(H, y0 + fh);
          for (let xo = 0; xo < wo; xo++, gi += C) {
            const x0 = xo * sw - pl;
            const xStart = Math.max(0, x0);
            const xEnd = Math.min(W, x0 + fw);
            if (twoByTwo && yEnd - yStart === 2 && xEnd - xStart === 2) {
              const o0 = base + yStart * rowStride + xStart * C;
              const o1 = o0 + C;
              const o2 = o0 + rowStride;
              const o3 = o2 + C;
              for (let c = 0; c < C; c++) {
                const v0 = x[o0 + c]!;
                const v1 = x[o1 + c]!;
                const v2 = x[o2 + c]!;
                const v3 = x[o3 + c]!;
                let m = -Infinity;
                let k = -1;
                if (v0 > m) (m = v0), (k = 0);
                if (v1 > m) (m = v1), (k = 1);
                if (v2 > m) (m = v2), (k = 2);
                if (v3 > m) k = 3;
                const gv = g[gi + c]!;
                if (k === 0) dx[o0 + c] = gv;
                else if (k === 1) dx[o1 + c] = gv;
                else if (k === 2) dx[o2 + c] = gv;
                else if (k === 3) dx[o3 + c] = gv;
              }
              continue;
            }
            best.fill(-Infinity);
            at.fill(-1);
            for (let yy = yStart; yy < yEnd; yy++) {
              for (let xx = xStart; xx < xEnd; xx++) {
                const o = base + yy * rowStride + xx * C;
                for (let c = 0; c < C; c++) {
                  const v = x[o + c]!;
                  if (v > best[c]!) {
                    best[c] = v;
                    at[c] = o + c;
                  }
                }
              }
            }
            for (let c = 0; c < C; c++) {
              const i = at[c]!;
              if (i >= 0) dx[i] = dx[i]! + g[gi + c]!;
            }
          }
        }
      }
      return out;
    },

    AvgPoolGrad: (args) => {
      const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
      const a = args.attrs as unknown as PoolAttrs;
      if (input.dtype !== 'float32' || dy.dtype !== 'float32') return native('AvgPoolGrad')!(args);
      const h = heapOf(args.backend);
      const info = h.tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
      const { batchSize: n, inHeight: H, inWidth: W, inChannels: C, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
      const pt = info.padInfo.top;
      const pl = info.padInfo.left;
      const out = h.out(input.shape);
      const dx = h.f32(out);
      const g = h.f32(dy);
      dx.fill(0);
      const scale = 1 / (fh * fw);
      const rowStride = W * C;
      let gi = 0;
      for (let b = 0; b < n; b++) {
        const base = b * H * rowStride;
        for (let yo = 0; yo < ho; yo++) {
          const y0 = yo * sh - pt;
          const yStart = Math.max(0, y0);
          const yEnd = Math.min(H, y0 + fh);
          for (let xo = 0; xo < wo; xo++, gi += C) {
            const x0 = xo * sw - pl;
            const xStart = Math.max(0, x0);
            const xEnd = Math.min(W, x0 + fw);
            for (let yy = yStart; yy < yEnd; yy++) {
              for (let xx = xStart; xx < xEnd; xx++) {
                const o = base + yy * rowStride + xx * C;
                for (let c = 0; c < C; c++) dx[o + c] = dx[o + c]! + g[gi + c]! * scale;
              }
            }
          }
        }
      }
      return out;
    },
  };
}
