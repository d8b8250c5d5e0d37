/**
 * Training kernels for the wasm backend, registered when it is selected.
 *
 * - Conv2DBackpropFilter: missing from @tensorflow/tfjs-backend-wasm, so no conv net could train.
 *   The weight gradient is itself a convolution: with x^T = x transposed to [Cin, H, W, N] and
 *   dy^T = dy transposed to [Ho, Wo, N, Cout], dW^T = conv2d(x^T, dy^T, dilation = stride), which
 *   runs on wasm's fast (XNNPACK) Conv2D.
 * - Conv2DBackpropInput: wasm has one, a slow scalar loop. For stride 1 the input gradient is the
 *   full convolution of dy with the kernel rotated by 180 degrees and its channels swapped, again
 *   one fast Conv2D; other strides use the original kernel.
 *
 * Both are tested against the cpu backend (test/wasm-training.test.ts, test/wasm-kernels.test.ts).
 */
import type * as TF from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  incRef(dataId: object): void;
}

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

let registered = false;

/**
 * Run `compute` on tensors wrapping the kernel's inputs and copy its result into a buffer the engine
 * owns. The inputs get a reference first, or disposing the wrappers would free data still in use.
 */
function viaOps(tf: Tf, backend: unknown, inputs: TensorInfo[], compute: (...ts: TF.Tensor[]) => TF.Tensor): TensorInfo {
  const wasm = backend as WasmBackendLike;
  const engine = tf.engine();
  const result = tf.tidy(() => {
    const wrapped = inputs.map((t) => {
      wasm.incRef(t.dataId);
      return engine.makeTensorFromTensorInfo(t);
    });
    return compute(...wrapped);
  });
  const out = wasm.makeOutput(result.shape, 'float32');
  wasm.typedArrayFromHeap(out).set(result.dataSync() as Float32Array);
  result.dispose();
  return out;
}

export function registerWasmTrainingKernels(tf: Tf): void {
  if (registered) return;
  registered = true;

  const conv2dBackpropFilter: KernelConfig = {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
      if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
      const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
      return viaOps(tf, backend, [x, dy], (xt, dyt) => {
        const { inChannels: cin, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, batchSize: n } = info;
        const p = info.padInfo;
        let xp = xt as TF.Tensor4D;
        if (p.top || p.bottom || p.left || p.right) xp = tf.pad(xp, [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]]);
        // Rows and columns past the last window do not contribute.
        const needH = (ho - 1) * sh + kh, needW = (wo - 1) * sw + kw;
        if (xp.shape[1] !== needH || xp.shape[2] !== needW) xp = tf.slice(xp, [0, 0, 0, 0], [n, needH, needW, cin]);
        const xT = tf.transpose(xp, [3, 1, 2, 0]) as TF.Tensor4D; // [Cin, H, W, N]
        const dyT = tf.transpose(dyt!, [1, 2, 0, 3]) as TF.Tensor4D; // [Ho, Wo, N, Cout]
        const dwT = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]); // [Cin, kh, kw, Cout]
        return tf.transpose(dwT, [1, 2, 0, 3]);
      });
    },
  };
  tf.registerKernel(conv2dBackpropFilter);

  const native = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (native) {
    const nativeFunc = native.kernelFunc as KernelFunc;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({
      ...native,
      kernelFunc: (args) => {
        const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
        const a = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
        const info = tf.backend_util.computeConv2DInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
        if (a.dataFormat === 'NCHW' || info.strideHeight !== 1 || info.strideWidth !== 1) return nativeFunc(args as Parameters<KernelFunc>[0]);
        return viaOps(tf, args.backend, [dy, filter], (dyt, w) => {
          const { filterHeight: kh, filterWidth: kw, inHeight: h, inWidth: wd, outHeight: ho, outWidth: wo } = info;
          const p = info.padInfo;
          const top = kh - 1 - p.top, left = kw - 1 - p.left;
          const bottom = h + kh - 1 - ho - top, right = wd + kw - 1 - wo - left;
          const dyp = tf.pad(dyt as TF.Tensor4D, [[0, 0], [top, bottom], [left, right], [0, 0]]);
          // Kernel rotated by 180 degrees, input and output channels swapped: [kh, kw, Cout, Cin].
          const wr = tf.transpose(tf.reverse(w as TF.Tensor4D, [0, 1]), [0, 1, 3, 2]) as TF.Tensor4D;
          return tf.conv2d(dyp, wr, 1, 'valid');
        });
      },
    });
  }
}

export type { NamedAttrMap };
