/**
 * Convolution gradients through the wasm backend's fast (XNNPACK) Conv2D and matrix product.
 *
 * Conv2DBackpropFilter (missing from tfjs-backend-wasm), dW[kh, kw, Cin, Cout], two ways:
 * - "conv": the weight gradient is itself a convolution. With x^T[Cin, H', W', N] (x padded,
 *   cropped to the rows and columns some window reads, and transposed) and dy^T[Ho, Wo, N, Cout],
 *   dW^T = conv2d(x^T, dy^T, dilation = stride), then a small transpose. The padding and the
 *   transposes are the backend's own (fast) PadV2 and Transpose.
 * - "im2col", for few input channels (the first layer: Cin = 1 or 3, where that convolution would
 *   produce only kh*kw*Cin output pixels, and most of its time goes to XNNPACK packing dy^T as
 *   its filter): the patch matrix P[N*Ho*Wo, kh*kw*Cin] is built in JS, and
 *   dW^T = dy^T[Cout, N*Ho*Wo] x P, a product whose packed operand is the small P; in blocks of
 *   ~8192 output pixels that stay in cache (the backend's transpose of all of a [86528, 64] dy
 *   takes ~40 ms, of blocks ~4 ms in all), summed.
 *
 * Conv2DBackpropInput (tfjs-backend-wasm's own is a scalar loop): dx is the correlation of dy,
 * dilated by the stride (zeros between its rows and columns) and padded by kernel - 1 - padding,
 * with the kernel rotated by 180 degrees and its channels swapped: one stride-1 Conv2D. The padding
 * is the convolution's own (no copy of dy); the dilation is one PadV2 of dy seen as
 * [N*Ho, 1, Wo, 1, C]. (Paddings larger than the kernel, possible with explicit padding, are
 * handled by one JS pass that places dy in a zero grid, dropping what falls outside.)
 *
 * With the native kernels loaded (native.ts), Conv2D, FusedConv2D (bias and linear/relu/relu6)
 * and both gradients run on them instead, on views of the heap, for float32 NHWC tensors with
 * dilation 1; anything else takes the paths above (Conv2D and FusedConv2D: the backend's own).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { sizeOf, type Heap } from './heap.js';
import type { KernelContext, WasmKernelOptions } from './options.js';
import type { NativeKernels } from './native.js';

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

/** The fused activations the native kernels apply (others: the backend's FusedConv2D). */
const NATIVE_ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

type Shape4 = [number, number, number, number];

/** The im2col way pays a JS pass writing kh*kw*Cin*N*Ho*Wo values; the conv way struggles when kh*kw*Cin is small. */
function useIm2col(o: WasmKernelOptions, ci: number, kh: number, kw: number): boolean {
  if (o.filterGrad !== 'auto') return o.filterGrad === 'im2col';
  return ci * kh * kw <= o.im2colMaxTaps;
}

export function convKernels(heapOf: (backend: unknown) => Heap, native: (name: string) => KernelFunc | undefined, k: KernelContext): Record<string, KernelFunc> {
  return {
    Conv2D: (args) => {
      const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
      const a = args.attrs as unknown as ConvAttrs;
      const nk = k.natives();
      if (!nk || !nativeConvFits(x, filter, a)) return native('Conv2D')!(explicitSamePadding(heapOf(args.backend), args));
      return nativeConv2D(heapOf(args.backend), nk, k, 'Conv2D', x, filter, a, undefined, 0);
    },

    FusedConv2D: (args) => {
      const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
      const a = args.attrs as unknown as ConvAttrs & { activation?: string };
      const nk = k.natives();
      const act = NATIVE_ACTIVATIONS[a.activation ?? 'linear'];
      const biasFits = !bias || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === filter.shape[3]);
      if (!nk || act === undefined || preluActivationWeights || !biasFits || !nativeConvFits(x, filter, a)) return native('FusedConv2D')!(explicitSamePadding(heapOf(args.backend), args));
      return nativeConv2D(heapOf(args.backend), nk, k, 'FusedConv2D', x, filter, a, bias, act);
    },

    Conv2DBackpropFilter: (args) => {
      const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
      const a = args.attrs as unknown as ConvAttrs & { filterShape: Shape4 };
      if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
      const h = heapOf(args.backend);
      const info = h.tf.backend_util.computeConv2DInfo(x.shape as Shape4, a.filterShape, a.strides, 1, a.pad as never, a.dimRoundingMode, false, 'channelsLast');
      if (sizeOf(x.shape) === 0 || sizeOf(dy.shape) === 0) return zeros(h, a.filterShape);
      const nk = k.natives();
      if (nk && x.dtype === 'float32' && dy.dtype === 'float32' && sameShape(dy.shape, info.outShape)) {
        const out = h.out(a.filterShape);
        nk.conv2dBackpropFilter(h.f32(x), h.f32(dy), h.f32(out), nativeConvParams(info));
        k.countNative('Conv2DBackpropFilter');
        return out;
      }
      return useIm2col(k.options, info.inChannels, info.filterHeight, info.filterWidth) ? filterGradIm2col(h, x, dy, info, k.options.im2colChunk) : filterGradConv(h, x, dy, info);
    },

    Conv2DBackpropInput: (args) => {
      const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
      const a = args.attrs as unknown as ConvAttrs & { inputShape: Shape4 };
      if (a.dataFormat === 'NCHW') return native('Conv2DBackpropInput')!(args);
      const h = heapOf(args.backend);
      const info = h.tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as Shape4, a.strides, 1, a.pad as never, a.dimRoundingMode, false, 'channelsLast');
      if (sizeOf(dy.shape) === 0 || sizeOf(filter.shape) === 0) return zeros(h, a.inputShape);
      const nk = k.natives();
      if (nk && dy.dtype === 'float32' && filter.dtype === 'float32' && sameShape(dy.shape, info.outShape)) {
        const out = h.out(a.inputShape);
        nk.conv2dBackpropInput(h.f32(dy), h.f32(filter), h.f32(out), nativeConvParams(info));
        k.countNative('Conv2DBackpropInput');
        return out;
      }
      return inputGrad(h, dy, filter, info);
    },
  };
}

/**
 * The backend's Conv2D and FusedConv2D with pad 'same' and unequal strides compute wrong values
 * (tfjs-backend-wasm 4.22: x [1, 1, 4, 1], filter [2, 1, 1, 6], strides [1, 2]; XNNPACK's own
 * 'same' mode); the same padding given explicitly is right. So 'same' goes to them explicitly.
 */
function explicitSamePadding(h: Heap, args: Parameters<KernelFunc>[0]): Parameters<KernelFunc>[0] {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const a = args.attrs as unknown as ConvAttrs;
  if (a.pad !== 'same' || a.dataFormat === 'NCHW' || x.shape.length !== 4 || filter.shape.length !== 4) return args;
  const info = h.tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, a.dilations ?? 1, 'same', a.dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  return { ...args, attrs: { ...args.attrs, pad: [[0, 0], [top, bottom], [left, right], [0, 0]] } as never };
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** What the native convolution covers: float32 NHWC, rank 4, dilation 1, no empty operand. */
function nativeConvFits(x: TensorInfo, filter: TensorInfo, a: ConvAttrs): boolean {
  const d = a.dilations;
  const unitDilation = d === undefined || d === 1 || (Array.isArray(d) && d.every((v) => v === 1));
  return (
    a.dataFormat !== 'NCHW' &&
    unitDilation &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    x.shape.length === 4 &&
    filter.shape.length === 4 &&
    x.shape[3] === filter.shape[2] &&
    sizeOf(x.shape) > 0 &&
    sizeOf(filter.shape) > 0
  );
}

/** [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, padTop, padLeft], as native/src/addon.cpp reads them. */
export function nativeConvParams(info: ConvInfo): Int32Array {
  return Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );
}

function nativeConv2D(h: Heap, nk: NativeKernels, k: KernelContext, name: string, x: TensorInfo, filter: TensorInfo, a: ConvAttrs, bias: TensorInfo | undefined, act: number): TensorInfo {
  const info = h.tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, a.strides, 1, a.pad as never, a.dimRoundingMode, false, 'channelsLast');
  const out = h.out(info.outShape);
  // Views after the last allocation (heap.ts).
  if (sizeOf(info.outShape) > 0) nk.conv2d(h.f32(x), h.f32(filter), h.f32(out), nativeConvParams(info), bias ? h.f32(bias) : null, act);
  k.countNative(name);
  return out;
}

type ConvInfo = ReturnType<Heap['tf']['backend_util']['computeConv2DInfo']>;

function zeros(h: Heap, shape: number[]): TensorInfo {
  const out = h.out(shape);
  h.f32(out).fill(0);
  return out;
}

function filterGradConv(h: Heap, x: TensorInfo, dy: TensorInfo, info: ConvInfo): TensorInfo {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  // x padded, and cropped to the rows and columns some window reads: [N, needH, needW, Cin].
  const needH = (ho - 1) * sh + kh;
  const needW = (wo - 1) * sw + kw;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const bottom = needH - top - H;
  const right = needW - left - W;
  const temps: TensorInfo[] = [];
  try {
    let xp = x;
    if (top > 0 || left > 0 || bottom > 0 || right > 0) {
      xp = h.run('PadV2', { x }, { paddings: [[0, 0], [top, Math.max(0, bottom)], [left, Math.max(0, right)], [0, 0]], constantValue: 0 });
      temps.push(xp);
    }
    if (bottom < 0 || right < 0) {
      xp = h.run('Slice', { x: xp }, { begin: [0, 0, 0, 0], size: [n, needH, needW, ci] });
      temps.push(xp);
    }
    const xT = h.run('Transpose', { x: xp }, { perm: [3, 1, 2, 0] }); // [Cin, needH, needW, N]
    temps.push(xT);
    const dyT = h.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, N, Cout]
    temps.push(dyT);
    const dwT = h.run('Conv2D', { x: xT, filter: dyT }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw] }); // [Cin, kh, kw, Cout]
    temps.push(dwT);
    return h.run('Transpose', { x: dwT }, { perm: [1, 2, 0, 3] });
  } finally {
    h.free(...temps);
  }
}

function filterGradIm2col(h: Heap, x: TensorInfo, dy: TensorInfo, info: ConvInfo, im2colChunk: number): TensorInfo {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const taps = kh * kw * ci;
  const q = n * ho * wo;
  // In chunks of output pixels (rows of P, columns of dy^T), small enough to stay in cache: the
  // backend's transpose of a whole [N*Ho*Wo, Cout] dy is slow when it is large (~40 ms at 86528 x 64).
  const chunk = Math.max(1, Math.min(q, Math.floor(im2colChunk / wo) * wo));
  const p = h.out([chunk, taps]);
  const acc = new Float32Array(co * taps);
  try {
    const rowLen = W * ci;
    const bStride = H * rowLen;
    const seg = kw * ci;
    for (let q0 = 0; q0 < q; q0 += chunk) {
      const rows = Math.min(chunk, q - q0);
      // P[(b, y, x), (i, j, c)] = x padded at (b, y*sh + i, x*sw + j, c): runs of kw*ci values per tap row.
      const src = h.f32(x);
      const dst = h.f32(p);
      let d = 0;
      for (let r = q0; r < q0 + rows; r++) {
        const xo = r % wo;
        const y = Math.floor(r / wo) % ho;
        const b = Math.floor(r / (wo * ho));
        const sx0 = xo * sw - pl;
        for (let i = 0; i < kh; i++, d += seg) {
          const sy = y * sh + i - pt;
          if (sy < 0 || sy >= H) {
            dst.fill(0, d, d + seg);
            continue;
          }
          const rowBase = b * bStride + sy * rowLen;
          if (sx0 >= 0 && sx0 + kw <= W) {
            const s0 = rowBase + sx0 * ci;
            for (let k = 0; k < seg; k++) dst[d + k] = src[s0 + k]!;
          } else {
            for (let j = 0; j < kw; j++) {
              const sx = sx0 + j;
              const o = d + j * ci;
              if (sx < 0 || sx >= W) for (let c = 0; c < ci; c++) dst[o + c] = 0;
              else for (let c = 0; c < ci; c++) dst[o + c] = src[rowBase + sx * ci + c]!;
            }
          }
        }
      }
      // dW^T += dy^T[Cout, rows] x P[rows, taps]: only P, the smaller operand, is packed.
      const dyc = h.alias(dy, [rows, co], q0 * co);
      const pc = h.alias(p, [rows, taps]);
      let dyT: TensorInfo | undefined;
      let part: TensorInfo | undefined;
      try {
        dyT = h.run('Transpose', { x: dyc }, { perm: [1, 0] });
        part = h.matMul(dyT, pc, co, rows, taps);
        const v = h.f32(part);
        for (let k = 0; k < acc.length; k++) acc[k] = acc[k]! + v[k]!;
      } finally {
        h.dropAlias(dyc, pc);
        h.free(dyT, part);
      }
    }
    const out = h.out([kh, kw, ci, co]);
    const o = h.f32(out);
    for (let t = 0; t < taps; t++) for (let c = 0; c < co; c++) o[t * co + c] = acc[c * taps + t]!;
    return out;
  } finally {
    h.free(p);
  }
}

function inputGrad(h: Heap, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo {
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: ci, outHeight: ho, outWidth: wo, outChannels: co, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Kernel rotated by 180 degrees, input and output channels swapped: [kh, kw, Cout, Cin].
  const wr = h.out([kh, kw, co, ci]);
  let dyd: TensorInfo | undefined;
  try {
    {
      const w = h.f32(filter);
      const r = h.f32(wr);
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) {
          const s = ((kh - 1 - i) * kw + (kw - 1 - j)) * ci * co;
          const d = (i * kw + j) * co * ci;
          for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) r[d + o * ci + c] = w[s + c * co + o]!;
        }
    }
    // dx = correlation of (dy dilated by the stride, placed at (top, left) in an [H + kh - 1, W + kw - 1] grid) with wr.
    const top = kh - 1 - pt;
    const left = kw - 1 - pl;
    const hd = H + kh - 1;
    const wd = W + kw - 1;
    const bottom = hd - top - ((ho - 1) * sh + 1);
    const right = wd - left - ((wo - 1) * sw + 1);
    if (sh === 1 && sw === 1 && top >= 0 && left >= 0 && bottom >= 0 && right >= 0) {
      return h.run('Conv2D', { x: dy, filter: wr }, { strides: 1, pad: [[0, 0], [top, bottom], [left, right], [0, 0]], dataFormat: 'NHWC', dilations: 1 });
    }
    // Dilated by the backend's PadV2: [N*Ho, 1, Wo, 1, C] padded after the unit axes -> [N, Ho*sh, Wo*sw, C]
    // (each value followed by sh - 1 zero rows and sw - 1 zero columns); the rest is the conv's padding.
    const bottomD = bottom - (sh - 1);
    const rightD = right - (sw - 1);
    if (top >= 0 && left >= 0 && bottomD >= 0 && rightD >= 0) {
      dyd = h.run('PadV2', { x: h.reshaped(dy, [n * ho, 1, wo, 1, co]) }, { paddings: [[0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0 });
      dyd.shape = [n, ho * sh, wo * sw, co];
      return h.run('Conv2D', { x: dyd, filter: wr }, { strides: 1, pad: [[0, 0], [top, bottomD], [left, rightD], [0, 0]], dataFormat: 'NHWC', dilations: 1 });
    }
    dyd = h.out([n, hd, wd, co]);
    const g = h.f32(dy);
    const z = h.f32(dyd);
    z.fill(0);
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < ho; y++) {
        const r = top + y * sh;
        if (r < 0 || r >= hd) continue;
        for (let xo = 0; xo < wo; xo++) {
          const c0 = left + xo * sw;
          if (c0 < 0 || c0 >= wd) continue;
          const s = ((b * ho + y) * wo + xo) * co;
          const d = ((b * hd + r) * wd + c0) * co;
          for (let o = 0; o < co; o++) z[d + o] = g[s + o]!;
        }
      }
    }
    return h.run('Conv2D', { x: dyd, filter: wr }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
  } finally {
    h.free(wr, dyd);
  }
}
