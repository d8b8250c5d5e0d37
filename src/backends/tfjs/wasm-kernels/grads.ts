/**
 * Gradients of Sum and Mean on wasm without a JS-built tensor of ones.
 *
 * tfjs-core's gradient of Sum is dy (reshaped to keep the reduced axes as 1) times ones(x.shape),
 * and Mean's that divided by the reduced size; ones() fills a JS typed array of x's size and copies
 * it onto the heap. Every BatchNormalization layer in training computes moments (two Means over
 * N, H and W), so in ResNet20 this was ~40 tensors of up to 2 M values per step: ~0.9 s of a 3.4 s
 * step. Here, on the wasm backend and for float32, the same values come from tiling the reshaped dy
 * (the Tile kernel of layout.ts): dy * 1 = dy and (dy * 1) / n = dy / n exactly. Other backends and
 * dtypes keep tfjs-core's gradient. Gradients are registered per kernel name for all backends, so
 * the choice is made when the gradient runs.
 */
import type * as TF from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';

export function registerReductionGradients(tf: Tf): void {
  for (const name of ['Sum', 'Mean'] as const) {
    const original = tf.getGradient(name) as GradConfig | undefined;
    if (!original?.gradFunc) continue;
    const fallback = original.gradFunc;
    tf.registerGradient({
      ...original,
      gradFunc: (dy: TF.Tensor | TF.Tensor[], saved: TF.Tensor[], attrs: NamedAttrMap) => {
        const [x] = saved;
        if (Array.isArray(dy) || !x || tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || dy.dtype !== 'float32') return fallback(dy, saved, attrs);
        const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
        const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
        const reps = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
        const reduceSize = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
        return {
          x: () => {
            const g = tf.reshape(dy, kept);
            return tf.tile(name === 'Mean' ? tf.div(g, reduceSize) : g, reps);
          },
        };
      },
    });
  }
}
