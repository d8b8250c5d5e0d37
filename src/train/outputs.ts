/**
 * Several outputs, as Keras compiles them: a loss per output (training.loss, one for all or a
 * map output id -> loss), loss_weights, metrics per output, and the names Keras gives the values
 * (`loss`, then `out1_loss` per output when there are several, then `accuracy` or
 * `out1_accuracy`). TensorFlow.js' compile takes a loss per output but no loss weights: each
 * output's loss is multiplied by its weight inside the loss function, and the per-output losses
 * reported are divided by it again (Keras reports them unweighted).
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import { resolveMetric, tfLoss, type LossSpec, type MetricName, type ResolvedMetric } from './losses.js';

/** One model output's loss, weight and metrics (serialisable: workers compile the same). */
export interface OutputCompile {
  name: string;
  loss: LossSpec;
  weight: number;
  /** As the recipe names them (`accuracy` resolved by loss and output width at compile). */
  metrics: MetricName[];
  /** The output's last axis. */
  width: number;
}

/** Metrics computed per batch in the training step (AUC needs every prediction: only at validation). */
const stepMetrics = (o: OutputCompile) => o.metrics.filter((m) => m !== 'auc');

/** The names of trainOnBatch's values, in its order, as Keras names them. */
export function stepNames(outs: readonly OutputCompile[]): string[] {
  const multi = outs.length > 1;
  const names = ['loss'];
  if (multi) for (const o of outs) names.push(`${o.name}_loss`);
  for (const o of outs) for (const m of stepMetrics(o)) names.push(multi ? `${o.name}_${m}` : m);
  return names;
}

/** The values trainOnBatch returned, by name, the per-output losses unweighted. */
export function namedValues(outs: readonly OutputCompile[], values: readonly number[]): Record<string, number> {
  const names = stepNames(outs);
  const r: Record<string, number> = {};
  names.forEach((n, i) => (r[n] = values[i]!));
  if (outs.length > 1) for (const o of outs) if (o.weight !== 0 && o.weight !== 1) r[`${o.name}_loss`]! /= o.weight;
  return r;
}

/** A metric as a TensorFlow.js function of (y_true, y_pred): the mean over every row, as Keras' metrics. */
export function tfMetric(tf: Tf, metric: ResolvedMetric, k = 5): (yTrue: TF.Tensor, yPred: TF.Tensor) => TF.Tensor {
  const fn = (yTrue: TF.Tensor, yPred: TF.Tensor) => tf.tidy(() => {
    const last = yPred.rank - 1;
    switch (metric) {
      case 'binary_accuracy': return tf.mean(tf.cast(tf.equal(tf.reshape(yTrue, yPred.shape), tf.cast(tf.greater(yPred, 0.5), 'float32')), 'float32'));
      case 'categorical_accuracy': return tf.mean(tf.cast(tf.equal(tf.argMax(yTrue, last), tf.argMax(yPred, last)), 'float32'));
      case 'sparse_categorical_accuracy':
        return tf.mean(tf.cast(tf.equal(tf.cast(tf.reshape(yTrue, yPred.shape.slice(0, last)), 'int32'), tf.argMax(yPred, last)), 'float32'));
      case 'top_k_categorical_accuracy': {
        const score = tf.sum(tf.mul(yPred, tf.oneHot(tf.argMax(yTrue, last), yPred.shape[last]!)), last, true);
        return tf.mean(tf.cast(tf.less(tf.sum(tf.cast(tf.greater(yPred, score), 'float32'), last), k), 'float32'));
      }
      case 'mae': return tf.mean(tf.abs(tf.sub(yTrue, yPred)));
      case 'mse': return tf.mean(tf.square(tf.sub(yTrue, yPred)));
      case 'auc': throw new Error('auc is computed over every prediction, not per batch');
    }
  });
  Object.defineProperty(fn, 'name', { value: metric });
  return fn;
}

/** Compile `model` for its outputs: a loss per output (weighted), the metrics per output. */
export function compileOutputs(tf: Tf, model: TF.LayersModel, optimizer: TF.Optimizer, outs: readonly OutputCompile[]): void {
  const loss = outs.map((o) => {
    // Sparse targets come one-hot (src/train/parallel/replica.ts batchTensors): the same loss in its categorical form.
    const f = tfLoss(tf, o.loss.name === 'sparse_categorical_crossentropy' ? { ...o.loss, name: 'categorical_crossentropy' } : o.loss);
    return o.weight === 1 ? f : (yt: TF.Tensor, yp: TF.Tensor) => tf.tidy(() => tf.mul(f(yt, yp), o.weight));
  });
  const metrics: Record<string, ((a: TF.Tensor, b: TF.Tensor) => TF.Tensor)[]> = {};
  model.outputNames.forEach((n, i) => {
    const o = outs[i]!;
    metrics[n] = stepMetrics(o).map((m) => {
      const r = resolveMetric(m, o.loss.name, o.width);
      return tfMetric(tf, r === 'sparse_categorical_accuracy' ? 'categorical_accuracy' : r);
    });
  });
  model.compile({ optimizer, loss, metrics: metrics as never });
}
