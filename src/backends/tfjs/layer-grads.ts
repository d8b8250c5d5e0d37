/**
 * Gradients tfjs-core 4.22 lacks for layers that tfjs-layers itself registers, on every backend:
 *  - comparisons (Greater, ...): zero almost everywhere. ThresholdedReLU computes
 *    `x * cast(x > theta)`, and training anything below it failed with "gradient function not
 *    found for Greater".
 *  - Conv3DBackpropInputV2 (Conv3DTranspose's forward op), as tfjs-core's Conv2DBackpropInput
 *    gradient in 3D: w.r.t. its input a conv3d of the upstream gradient, w.r.t. the filter
 *    Conv3DBackpropFilterV2 of the upstream gradient and the input.
 * A gradient tfjs already has is left alone.
 */
import type * as TF from '@tensorflow/tfjs';
import type { NamedAttrMap } from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

export function registerLayerGradients(tf: Tf): void {
  for (const kernelName of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual']) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy: TF.Tensor | TF.Tensor[], saved: TF.Tensor[]) => ({ a: () => tf.zerosLike(saved[0]!), b: () => tf.zerosLike(saved[1]!) }),
    });
  }
  if (!tf.getGradient('Conv3DBackpropInputV2')) {
    tf.registerGradient({
      kernelName: 'Conv3DBackpropInputV2',
      inputsToSave: ['dy', 'filter'],
      gradFunc: (ddx: TF.Tensor | TF.Tensor[], saved: TF.Tensor[], attrs: NamedAttrMap) => {
        const [dy, filter] = saved as [TF.Tensor5D, TF.Tensor5D];
        const g = ddx as TF.Tensor5D;
        const { strides, pad } = attrs as unknown as { strides: [number, number, number]; pad: 'valid' | 'same' };
        return {
          dy: () => tf.conv3d(g, filter, strides, pad),
          filter: () => tf.engine().runKernel('Conv3DBackpropFilterV2', { x: g, dy }, { strides, pad, filterShape: filter.shape } as unknown as NamedAttrMap) as TF.Tensor,
        };
      },
    });
  }
}
