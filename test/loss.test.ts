/**
 * The loss is Keras' categorical_crossentropy (issue 12): predictions renormalised to sum 1 over
 * the classes, clipped to [1e-7, 1 - 1e-7], -log of the true class' entry; in training (the
 * compiled loss of model.trainOnBatch) and in evaluation (evaluateSplit, and evaluateSplitWith of
 * the data-parallel path) alike. Checked against the formula computed here in double precision
 * from the model's own outputs, with outputs that are not distributions (a relu layer: rows that
 * sum to more than 1, to less, and a true class at 0), where the old evaluation gave ~1e-7.
 * Then through the CLI: a relu-output model trained by `train`: its val_loss and `evaluate`'s
 * loss are of the size of the training loss, not ~1e-7.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadTf } from '../src/build.js';
import { crossEntropyRow, evaluateSplit, evaluateSplitWith } from '../src/train/evaluate.js';
import { ROOT } from './helpers.js';

const EPS = 1e-7;
/** Keras: y_pred / sum(y_pred, -1), clip(eps, 1 - eps), -sum(y_true * log(y_pred)). */
const keras = (row: number[], label: number) => {
  const sum = row.reduce((a, b) => a + b, 0);
  return -Math.log(Math.min(Math.max(row[label]! / sum, EPS), 1 - EPS));
};

async function reluModel() {
  const { tf } = await loadTf('cpu');
  // 4 pixels -> 3 relu outputs, weights chosen so that the rows are far from distributions.
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [1, 1, 4] }),
      tf.layers.dense({ units: 3, activation: 'relu', useBias: false }),
    ],
  });
  model.setWeights([tf.tensor2d([[2, 0.5, 0], [1, 3, 0.1], [0, 0.2, 4], [-1, 1, 0.3]], [4, 3])]);
  return { tf, model };
}

const X = new Float32Array([
  1, 0, 0, 0, // -> [2, 0.5, 0]: sums to 2.5, class 2 at 0 (clipped to eps)
  0.1, 0.1, 0.1, 0.1, // -> [0.2, 0.47, 0.44]: sums to 1.11
  0, 1, 1, 0, // -> [1, 3.2, 4.1]: sums to 8.3
  0.05, 0, 0, 0, // -> [0.1, 0.025, 0]: sums to 0.125
]);
const LABELS = new Uint8Array([2, 1, 0, 0]);

describe("categorical cross-entropy as Keras computes it", () => {
  it('evaluation (both paths) and training give the formula, on outputs that are not distributions', async () => {
    const { tf, model } = await reluModel();
    const p = (model.predict(tf.tensor4d(X, [4, 1, 1, 4])) as TF.Tensor2D).arraySync();
    const expected = p.map((row, i) => keras(row, LABELS[i]!));
    // The cases the formula must cover: a clipped zero, rows summing to more and to less than 1.
    expect(expected[0]).toBeCloseTo(-Math.log(EPS), 4);
    expect(p.map((r) => r.reduce((a, b) => a + b, 0))).toEqual([expect.closeTo(2.5, 5), expect.closeTo(1.11, 5), expect.closeTo(8.3, 5), expect.closeTo(0.125, 5)]);
    const mean = expected.reduce((a, b) => a + b, 0) / 4;
    expect(mean).toBeGreaterThan(1); // the old evaluation clipped [2, 0.5, 0]'s and [1, 3.2, 4.1]'s entries at 1 - eps: ~0

    const split = { x: X, labels: LABELS, count: 4 };
    expect(evaluateSplit(tf, model, split, 3, { batchSize: 3 }).loss).toBeCloseTo(mean, 5);
    const predict = async (x: Float32Array, n: number) => (model.predict(tf.tensor4d(x, [n, 1, 1, 4])) as TF.Tensor).dataSync() as Float32Array;
    expect((await evaluateSplitWith(tf, model, predict, split, 3, { batchSize: 3 })).loss).toBeCloseTo(mean, 5);
    p.forEach((row, i) => expect(crossEntropyRow(new Float32Array(row), LABELS[i]!)).toBeCloseTo(expected[i]!, 5));

    // Training: the compiled loss of a step that changes nothing (learning rate 0).
    model.compile({ optimizer: tf.train.sgd(0), loss: 'categoricalCrossentropy' });
    const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3);
    const trained = (await model.trainOnBatch(tf.tensor4d(X, [4, 1, 1, 4]), y)) as number;
    expect(trained).toBeCloseTo(mean, 5);
    model.dispose();
  });

  it('train and evaluate through the CLI: a relu output gets val_loss and loss of the size of its training loss', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-loss-'));
    const spec = join(dir, 'relu.yaml');
    writeFileSync(spec, readFileSync(`${ROOT}test/fixtures/train/tiny-dense.yaml`, 'utf8').replace('activation: softmax', 'activation: relu').replace(/^# yaml-language-server.*\n/, ''));
    const out = join(dir, 'run');
    const cli = (args: string[]) => spawnSync(process.execPath, [`${ROOT}dist/cli/modelspec.js`, ...args], { cwd: ROOT, encoding: 'utf8' });
    const t = cli(['train', spec, '--max-examples', '96', '--batch-size', '32', '--epochs', '1', '--workers', '1', '--no-progress', '--out', out]);
    expect(t.status, t.stderr).toBe(0);
    const epoch = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; loss: number; val_loss: number }).find((e) => e.event === 'epoch')!;
    expect(epoch.loss).toBeGreaterThan(0.5);
    expect(epoch.val_loss).toBeGreaterThan(0.1 * epoch.loss);
    const ev = cli(['evaluate', out, '--max-examples', '96', '--workers', '1', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    expect((JSON.parse(ev.stdout) as { loss: number }).loss).toBeCloseTo(epoch.val_loss, 4);
  }, 60_000);
});
