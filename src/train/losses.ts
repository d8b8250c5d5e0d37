/**
 * Keras' losses and metrics, by their Keras names, as Keras 3 defines them (keras/src/losses/losses.py,
 * keras/src/backend/tensorflow/nn.py, keras/src/metrics/): each in two forms that compute the
 * same thing,
 *   - over rows in JavaScript (`lossRows`, `metricRows`): the last axis is the row, every other
 *     axis (batch, pixels, time steps) is a row of its own, and the value is the mean over rows,
 *     as Keras' default reduction (sum_over_batch_size) takes it; used where outputs are already
 *     plain arrays (data-parallel evaluation) and as the tests' reference;
 *   - as a TensorFlow.js function of (y_true, y_pred) for model.compile (`tfLoss`).
 * Probabilities are clipped to [epsilon, 1 - epsilon], epsilon = 1e-7 (keras.backend.epsilon()).
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import { KERAS_LOSSES } from './schema.js';

export const EPSILON = 1e-7;

export const LOSS_NAMES = KERAS_LOSSES;
export type LossName = (typeof LOSS_NAMES)[number];
/** Keras' short names for losses. */
export const LOSS_ALIASES: Record<string, LossName> = { mse: 'mean_squared_error', mae: 'mean_absolute_error' };

export const METRIC_NAMES = [
  'accuracy', 'binary_accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy', 'top_k_categorical_accuracy',
  'mae', 'mse', 'auc',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
/** A metric after `accuracy` is resolved. */
export type ResolvedMetric = Exclude<MetricName, 'accuracy'>;

export interface LossSpec {
  name: LossName;
  /** binary/categorical/sparse cross-entropy: the output is logits, not probabilities. Default false. */
  from_logits?: boolean;
  /** huber: where the loss turns from quadratic to linear. Default 1.0. */
  delta?: number;
}

/** A loss by Keras name or alias (undefined: not one we have). */
export function lossByName(name: string): LossName | undefined {
  return (LOSS_NAMES as readonly string[]).includes(name) ? (name as LossName) : LOSS_ALIASES[name];
}

/**
 * `accuracy` as Keras resolves it (keras/src/trainers/compile_utils.py get_metric): binary when
 * the output has one unit per row, sparse categorical when the labels are class numbers (one
 * fewer axis than the output, or one column against several), categorical otherwise. The loss
 * says which labels a run has: sparse_categorical_crossentropy takes class numbers.
 */
export function resolveAccuracy(loss: LossName, outputLastDim: number): ResolvedMetric {
  if (outputLastDim === 1) return 'binary_accuracy';
  if (loss === 'sparse_categorical_crossentropy') return 'sparse_categorical_accuracy';
  return 'categorical_accuracy';
}

export function resolveMetric(name: MetricName, loss: LossName, outputLastDim: number): ResolvedMetric {
  return name === 'accuracy' ? resolveAccuracy(loss, outputLastDim) : name;
}

const clip = (p: number) => Math.min(Math.max(p, EPSILON), 1 - EPSILON);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** log(softmax(row))[k], computed stably (max subtracted). */
function logSoftmaxAt(row: ArrayLike<number>, k: number): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return row[k]! - max - Math.log(sum);
}

/** One row's loss. `t` is the row of targets (one class number for the sparse loss), `p` the row of outputs. */
export function lossOfRow(spec: LossSpec, t: ArrayLike<number>, p: ArrayLike<number>): number {
  const k = p.length;
  switch (spec.name) {
    case 'binary_crossentropy': {
      let s = 0;
      for (let i = 0; i < k; i++) {
        const z = t[i]!, x = p[i]!;
        // from_logits: tf.nn.sigmoid_cross_entropy_with_logits, max(x, 0) - x z + log(1 + exp(-|x|)).
        s += spec.from_logits
          ? Math.max(x, 0) - x * z + Math.log1p(Math.exp(-Math.abs(x)))
          : -(z * Math.log(clip(x)) + (1 - z) * Math.log(1 - clip(x)));
      }
      return s / k;
    }
    case 'categorical_crossentropy':
    case 'sparse_categorical_crossentropy': {
      const sparse = spec.name === 'sparse_categorical_crossentropy';
      if (spec.from_logits) {
        if (sparse) return -logSoftmaxAt(p, t[0]!);
        let s = 0;
        for (let i = 0; i < k; i++) if (t[i]) s -= t[i]! * logSoftmaxAt(p, i);
        return s;
      }
      // The row renormalised to sum 1, clipped, -sum(target * log).
      let sum = 0;
      for (let i = 0; i < k; i++) sum += p[i]!;
      if (sparse) return -Math.log(clip(p[t[0]!]! / sum));
      let s = 0;
      for (let i = 0; i < k; i++) if (t[i]) s -= t[i]! * Math.log(clip(p[i]! / sum));
      return s;
    }
    case 'mean_squared_error':
    case 'mean_absolute_error':
    case 'huber': {
      const delta = spec.delta ?? 1;
      let s = 0;
      for (let i = 0; i < k; i++) {
        const d = Math.abs(t[i]! - p[i]!);
        s += spec.name === 'mean_squared_error' ? d * d
          : spec.name === 'mean_absolute_error' ? d
            : d <= delta ? 0.5 * d * d : delta * d - 0.5 * delta * delta;
      }
      return s / k;
    }
  }
}

/** Targets per row: 1 for the sparse loss and sparse metric (class numbers), the output's width otherwise. */
export const targetWidth = (sparse: boolean, outputWidth: number) => (sparse ? 1 : outputWidth);

/** The mean loss over the rows of `y` (targets) and `p` (outputs, rows of `width`). */
export function lossRows(spec: LossSpec, y: ArrayLike<number>, p: ArrayLike<number>, width: number): number {
  const rows = p.length / width;
  const tw = targetWidth(spec.name === 'sparse_categorical_crossentropy', width);
  const yy = Array.from(y);
  const pp = Array.from(p);
  let s = 0;
  for (let r = 0; r < rows; r++) s += lossOfRow(spec, yy.slice(r * tw, (r + 1) * tw), pp.slice(r * width, (r + 1) * width));
  return rows ? s / rows : NaN;
}

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
};

/** Keras AUC (ROC, 200 thresholds, interpolation: the trapezoids between the thresholds' points). */
export function auc(y: ArrayLike<number>, p: ArrayLike<number>, numThresholds = 200): number {
  const thresholds = [-EPSILON];
  for (let i = 0; i < numThresholds - 2; i++) thresholds.push((i + 1) / (numThresholds - 1));
  thresholds.push(1 + EPSILON);
  const tpr: number[] = [], fpr: number[] = [];
  for (const th of thresholds) {
    let tp = 0, fp = 0, fn = 0, tn = 0;
    for (let i = 0; i < p.length; i++) {
      const pos = p[i]! > th, label = y[i]! > 0.5;
      if (pos && label) tp++; else if (pos) fp++; else if (label) fn++; else tn++;
    }
    tpr.push(tp + fn ? tp / (tp + fn) : 0);
    fpr.push(fp + tn ? fp / (fp + tn) : 0);
  }
  let area = 0;
  for (let i = 0; i < thresholds.length - 1; i++) area += (fpr[i]! - fpr[i + 1]!) * (tpr[i]! + tpr[i + 1]!) / 2;
  return area;
}

/** A metric over the rows of `y` and `p` (outputs in rows of `width`): the mean over rows (AUC: over every value). */
export function metricRows(metric: ResolvedMetric, y: ArrayLike<number>, p: ArrayLike<number>, width: number, k = 5): number {
  if (metric === 'auc') return auc(y, p);
  const rows = p.length / width;
  const sparse = metric === 'sparse_categorical_accuracy';
  const tw = targetWidth(sparse, width);
  let s = 0;
  for (let r = 0; r < rows; r++) {
    const t = Array.from({ length: tw }, (_, i) => y[r * tw + i]!);
    const q = Array.from({ length: width }, (_, i) => p[r * width + i]!);
    switch (metric) {
      case 'binary_accuracy': {
        let hit = 0;
        for (let i = 0; i < width; i++) if ((q[i]! > 0.5 ? 1 : 0) === t[i]) hit++;
        s += hit / width;
        break;
      }
      case 'categorical_accuracy': s += argmax(q) === argmax(t) ? 1 : 0; break;
      case 'sparse_categorical_accuracy': s += argmax(q) === t[0] ? 1 : 0; break;
      case 'top_k_categorical_accuracy': {
        // in_top_k: the true class' score is among the k largest.
        const score = q[argmax(t)]!;
        s += q.filter((v) => v > score).length < k ? 1 : 0;
        break;
      }
      case 'mae': s += t.reduce((a, v, i) => a + Math.abs(v - q[i]!), 0) / width; break;
      case 'mse': s += t.reduce((a, v, i) => a + (v - q[i]!) ** 2, 0) / width; break;
    }
  }
  return rows ? s / rows : NaN;
}

/**
 * The loss as a TensorFlow.js function for model.compile: per-row losses averaged over every
 * row (batch and spatial axes), Keras' sum_over_batch_size.
 */
export function tfLoss(tf: Tf, spec: LossSpec): (yTrue: TF.Tensor, yPred: TF.Tensor) => TF.Tensor {
  return (yTrue, yPred) => tf.tidy(() => {
    const last = yPred.rank - 1;
    switch (spec.name) {
      case 'binary_crossentropy': {
        if (spec.from_logits) {
          const x = yPred, z = yTrue;
          return tf.mean(tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x))))));
        }
        const q = tf.clipByValue(yPred, EPSILON, 1 - EPSILON);
        return tf.neg(tf.mean(tf.add(tf.mul(yTrue, tf.log(q)), tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, q))))));
      }
      case 'categorical_crossentropy':
      case 'sparse_categorical_crossentropy': {
        const k = yPred.shape[last]!;
        const y = spec.name === 'sparse_categorical_crossentropy'
          ? tf.oneHot(tf.cast(tf.reshape(yTrue, yPred.shape.slice(0, last)), 'int32'), k).toFloat()
          : yTrue;
        const logq = spec.from_logits
          ? tf.logSoftmax(yPred, last)
          : tf.log(tf.clipByValue(tf.div(yPred, tf.sum(yPred, last, true)), EPSILON, 1 - EPSILON));
        return tf.mean(tf.neg(tf.sum(tf.mul(y, logq), last)));
      }
      case 'mean_squared_error': return tf.mean(tf.square(tf.sub(yTrue, yPred)));
      case 'mean_absolute_error': return tf.mean(tf.abs(tf.sub(yTrue, yPred)));
      case 'huber': {
        const delta = spec.delta ?? 1;
        const d = tf.abs(tf.sub(yTrue, yPred));
        return tf.mean(tf.where(tf.lessEqual(d, delta), tf.mul(0.5, tf.square(d)), tf.sub(tf.mul(delta, d), 0.5 * delta * delta)));
      }
    }
  });
}
