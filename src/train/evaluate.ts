/**
 * Evaluation: loss (categorical cross-entropy, plus the weight penalties, as Keras reports it),
 * accuracy and the confusion matrix of a model on a preprocessed split, in batches.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import type { PreparedSplit } from './preprocess.js';
import { oneHot } from './preprocess.js';
import { lossOfRow, tfLoss, type LossSpec } from './losses.js';

export interface Evaluation {
  loss: number;
  accuracy: number;
  count: number;
  /** confusion[true][predicted] */
  confusion?: number[][];
}

/** Run `model` over a split. `inputs` is the number of model inputs (each reads the image). */
export function evaluateSplit(
  tf: Tf,
  model: TF.LayersModel,
  split: PreparedSplit,
  classes: number,
  opts: EvaluateOptions = {},
): Evaluation {
  const bs = opts.batchSize ?? 256;
  const [h, w, c] = (model.inputs[0]!.shape.slice(1) as number[]);
  const size = h! * w! * c!;
  const nInputs = model.inputs.length;
  let ceSum = 0;
  let correct = 0;
  const confusion = opts.confusion ? emptyConfusion(classes) : undefined;
  for (let start = 0; start < split.count; start += bs) {
    const n = Math.min(bs, split.count - start);
    const labels = split.labels.subarray(start, start + n);
    const [ce, pred] = tf.tidy(() => {
      const x = tf.tensor4d(split.x.subarray(start * size, (start + n) * size), [n, h!, w!, c!]);
      const y = tf.tensor2d(oneHot(labels, classes), [n, classes]);
      const p = model.predict(nInputs === 1 ? x : new Array(nInputs).fill(x)) as TF.Tensor2D;
      // The run's loss as Keras computes it (categorical_crossentropy: renormalised over the classes, clipped to [eps, 1 - eps]), summed over the batch.
      const ceSum = tf.mul(tfLoss(tf, opts.loss ?? CATEGORICAL)(y, p), n);
      return [ceSum.dataSync()[0]!, tf.argMax(p, -1).dataSync() as Int32Array] as const;
    });
    ceSum += ce;
    for (let i = 0; i < n; i++) {
      if (pred[i] === labels[i]) correct++;
      if (confusion) confusion[labels[i]!]![pred[i]!]!++;
    }
    opts.onBatch?.(start + n);
  }
  return evaluation(tf, model, split.count, ceSum, correct, confusion);
}

/** Keras' epsilon (keras.backend.epsilon()). */
export const EPSILON = 1e-7;

export interface EvaluateOptions {
  batchSize?: number;
  confusion?: boolean;
  onBatch?: (done: number) => void;
  /** The run's loss; default categorical_crossentropy. */
  loss?: LossSpec;
}
const CATEGORICAL: LossSpec = { name: 'categorical_crossentropy' };

/**
 * Keras' categorical_crossentropy of one row of predictions against a class (from_logits off):
 * the row renormalised to sum 1, clipped to [epsilon, 1 - epsilon], -log of the class' entry.
 * A row that is not a distribution (a relu or linear output) gets the loss Keras gives it, not
 * the near-zero loss of an unnormalised value clipped at 1.
 */
export function crossEntropyRow(row: Float32Array, label: number): number {
  let sum = 0;
  for (let k = 0; k < row.length; k++) sum = Math.fround(sum + row[k]!);
  const q = Math.fround(Math.min(Math.max(Math.fround(row[label]! / sum), EPSILON), 1 - EPSILON));
  return -Math.log(q);
}

/** Class probabilities of n input rows (n * classes, row by row): the data-parallel engine's predict. */
export type PredictRows = (x: Float32Array, n: number) => Promise<Float32Array>;

/**
 * evaluateSplit with the probabilities from `predict` (data-parallel inference over worker
 * threads, src/train/parallel/): the same loss (cross-entropy of probabilities clipped as Keras
 * clips them, plus the weight penalties of `model`), accuracy and confusion matrix, computed in
 * JavaScript from the probabilities.
 */
export async function evaluateSplitWith(
  tf: Tf,
  model: TF.LayersModel,
  predict: PredictRows,
  split: PreparedSplit,
  classes: number,
  opts: EvaluateOptions = {},
): Promise<Evaluation> {
  const bs = opts.batchSize ?? 256;
  const size = split.count ? split.x.length / split.count : 0;
  let ceSum = 0;
  let correct = 0;
  const confusion = opts.confusion ? emptyConfusion(classes) : undefined;
  // A loss other than categorical_crossentropy on probabilities: Keras' formula row by row.
  const custom = opts.loss && (opts.loss.name !== 'categorical_crossentropy' || opts.loss.from_logits) ? opts.loss : undefined;
  for (let start = 0; start < split.count; start += bs) {
    const n = Math.min(bs, split.count - start);
    const p = await predict(split.x.subarray(start * size, (start + n) * size), n);
    for (let i = 0; i < n; i++) {
      const label = split.labels[start + i]!;
      if (!(label >= 0 && label < classes)) throw new RangeError(`label ${label} at ${start + i} is outside 0..${classes - 1}`);
      let best = 0;
      for (let k = 1; k < classes; k++) if (p[i * classes + k]! > p[i * classes + best]!) best = k;
      const row = p.subarray(i * classes, (i + 1) * classes);
      ceSum += custom ? lossOfRow(custom, oneHot([label], classes), row) : crossEntropyRow(row, label);
      if (best === label) correct++;
      if (confusion) confusion[label]![best]!++;
    }
    opts.onBatch?.(start + n);
  }
  return evaluation(tf, model, split.count, ceSum, correct, confusion);
}

function emptyConfusion(classes: number): number[][] {
  return Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
}

/** The mean cross-entropy plus the model's weight penalties (as Keras reports the loss), and the accuracy. */
function evaluation(tf: Tf, model: TF.LayersModel, count: number, ceSum: number, correct: number, confusion: number[][] | undefined): Evaluation {
  const penalty = weightPenalty(tf, model);
  return { loss: count ? ceSum / count + penalty : NaN, accuracy: count ? correct / count : NaN, count, ...(confusion ? { confusion } : {}) };
}

/** The model's weight penalties (kernel_regularizer...), which Keras adds to the loss it reports. */
export function weightPenalty(tf: Tf, model: TF.LayersModel): number {
  return tf.tidy(() => {
    const losses = (model as unknown as { calculateLosses(): TF.Scalar[] }).calculateLosses();
    return losses.length ? tf.addN(losses).dataSync()[0]! : 0;
  });
}

/** The confusion matrix as a text table (rows: true class, columns: predicted). */
export function formatConfusion(confusion: number[][], classes: readonly string[]): string {
  const short = classes.map((c) => (c.length > 5 ? c.slice(0, 5) : c));
  const width = Math.max(5, ...confusion.flat().map((v) => String(v).length), ...short.map((s) => s.length));
  const labelWidth = Math.max(...classes.map((c) => c.length), 'true \\ predicted'.length);
  const pad = (s: string, n: number) => s.padStart(n);
  const lines = [`${'true \\ predicted'.padEnd(labelWidth)} ${short.map((s) => pad(s, width)).join(' ')}`];
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    const recall = total ? `  ${((100 * row[i]!) / total).toFixed(1)}%` : '';
    lines.push(`${classes[i]!.padEnd(labelWidth)} ${row.map((v) => pad(String(v), width)).join(' ')}${recall}`);
  });
  return lines.join('\n');
}
