/** The recipe's optimizer as a TensorFlow.js optimizer (shared by the trainer and src/train/parallel). */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import type { OptimizerConfig } from './config.js';

export function makeOptimizer(tf: Tf, o: OptimizerConfig): TF.Optimizer {
  switch (o.name) {
    case 'adam':
      return tf.train.adam(o.learning_rate, o.beta_1 ?? 0.9, o.beta_2 ?? 0.999, o.epsilon ?? 1e-7);
    case 'sgd':
      return o.momentum ? tf.train.momentum(o.learning_rate, o.momentum, o.nesterov ?? false) : tf.train.sgd(o.learning_rate);
    case 'rmsprop':
      return tf.train.rmsprop(o.learning_rate, o.rho ?? 0.9, o.momentum ?? 0, o.epsilon ?? 1e-7, o.centered ?? false);
  }
}

/** Set the learning rate of a tfjs optimizer (SGD keeps it as a tensor; the others as a number). */
export function setLearningRate(opt: TF.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}
