/**
 * Gradients tfjs-core 4.22 lacks for layers modelspec builds. Keras' Masking multiplies its input
 * by `any(x != mask_value, -1)`, and tfjs has no gradient for Any nor NotEqual (nor the other comparisons): a Masking layer after
 * a trainable one (a conv1d or time_distributed dense before the recurrent layers) failed to train
 * on every backend ("gradient function not found for Any"). The mask is boolean, a step function
 * of x: its gradient is zero almost everywhere, as TensorFlow's (no gradient: None) amounts to.
 */
import type { Tf } from './backend.js';

let done = false;

/** Boolean-valued kernels and their inputs: a step function of them, so a zero gradient. */
const STEP_KERNELS: Readonly<Record<string, readonly string[]>> = {
  Any: ['x'], All: ['x'],
  NotEqual: ['a', 'b'], Equal: ['a', 'b'], Greater: ['a', 'b'], GreaterEqual: ['a', 'b'], Less: ['a', 'b'], LessEqual: ['a', 'b'],
};

export function registerMissingGradients(tf: Tf): void {
  if (done) return;
  done = true;
  for (const [kernelName, inputs] of Object.entries(STEP_KERNELS)) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: [...inputs],
      gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i]!.shape, 'float32')])),
    });
  }
}
