/**
 * Training kernels that @tensorflow/tfjs-backend-wasm lacks, registered for the
 * wasm backend. Each is written with other tfjs ops (which run on wasm's own
 * kernels: strided slices and matrix products) and is tested against the cpu
 * backend in test/wasm-kernels.test.ts.
 *
 * Conv2DBackpropFilter: dW[i, j] = sum over batch and output positions of
 * x_padded[n, h*sh + i, w*sw + j, :]^T dy[n, h, w, :] -- one strided slice and one
 * matMul per kernel tap.
 */
import type { KernelConfig, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  incRef(dataId: object): void;
}

let registered = false;

export function registerWasmTrainingKernels(tf: Tf): void {
  if (registered) return;
  registered = true;
  const conv2dBackpropFilter: KernelConfig = {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }: { inputs: NamedTensorInfoMap; backend: unknown; attrs?: NamedAttrMap }) => {
      const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
        strides: number | [number, number];
        pad: 'valid' | 'same' | number;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
      if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter on wasm supports NHWC only');
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, 'channelsLast',
      );
      const engine = tf.engine();
      const wasm = backend as WasmBackendLike;
      const result = tf.tidy(() => {
        // Wrapping the inputs in tensors that tidy() disposes: take a reference first, or their data would be freed.
        wasm.incRef(x.dataId);
        wasm.incRef(dy.dataId);
        const xt = engine.makeTensorFromTensorInfo(x) as import('@tensorflow/tfjs').Tensor4D;
        const dyt = engine.makeTensorFromTensorInfo(dy) as import('@tensorflow/tfjs').Tensor4D;
        const { batchSize: n, inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo, strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
        const p = info.padInfo;
        const xp = p.top || p.bottom || p.left || p.right ? tf.pad(xt, [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]]) : xt;
        const dy2 = dyt.reshape([n * ho * wo, cout]);
        const taps = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const slice = tf.stridedSlice(xp, [0, i, j, 0], [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, cin], [1, sh, sw, 1]);
            taps.push(tf.matMul(slice.reshape([n * ho * wo, cin]), dy2, true, false));
          }
        }
        return tf.stack(taps).reshape(filterShape);
      });
      // Copy into a buffer the engine owns, then free the intermediate.
      const out = wasm.makeOutput(filterShape, 'float32');
      wasm.typedArrayFromHeap(out).set(result.dataSync() as Float32Array);
      result.dispose();
      return out;
    },
  };
  tf.registerKernel(conv2dBackpropFilter);
}
