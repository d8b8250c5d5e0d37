/**
 * Keras' losses and metrics (src/train/losses.ts) against values worked out here by hand from
 * Keras 3's formulas, clipping to [1e-7, 1 - 1e-7] included: the JavaScript row form and the
 * TensorFlow.js form that model.compile uses.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/build.js';
import { auc, lossRows, metricRows, resolveAccuracy, tfLoss, type LossSpec } from '../src/train/losses.js';

const eps = 1e-7;
let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});

/** A loss in both forms; `tShape`/`pShape` give the tensors' shapes. */
function both(spec: LossSpec, y: number[], p: number[], tShape: number[], pShape: number[]): [number, number] {
  const width = pShape[pShape.length - 1]!;
  const js = lossRows(spec, y, p, width);
  const t = tf.tidy(() => tfLoss(tf, spec)(tf.tensor(y, tShape), tf.tensor(p, pShape)).dataSync()[0]!);
  return [js, t];
}

describe('losses, by hand from Keras formulas', () => {
  it('binary_crossentropy: clipped probabilities, mean over the last axis, then over rows', () => {
    // Row 1: targets [1, 0], outputs [0.9, 0.2]; row 2: [0, 1], outputs [0 (clipped to 1e-7), 1 (clipped to 1 - 1e-7)].
    const row1 = (-Math.log(0.9) - Math.log(1 - 0.2)) / 2;
    const row2 = (-Math.log(1 - eps) - Math.log(1 - eps)) / 2;
    const [js, t] = both({ name: 'binary_crossentropy' }, [1, 0, 0, 1], [0.9, 0.2, 0, 1], [2, 2], [2, 2]);
    expect(js).toBeCloseTo((row1 + row2) / 2, 10);
    expect(t).toBeCloseTo((row1 + row2) / 2, 5);
    // A wrong, confident answer costs -log(1e-7) = 16.118..., not infinity.
    const [wrong] = both({ name: 'binary_crossentropy' }, [1], [0], [1, 1], [1, 1]);
    expect(wrong).toBeCloseTo(-Math.log(eps), 8);
  });

  it('binary_crossentropy from_logits: max(x,0) - x z + log(1 + exp(-|x|))', () => {
    const x = [2, -1], z = [1, 1];
    const want = ((Math.max(2, 0) - 2 + Math.log(1 + Math.exp(-2))) + (0 + 1 + Math.log(1 + Math.exp(-1)))) / 2;
    const [js, t] = both({ name: 'binary_crossentropy', from_logits: true }, z, x, [1, 2], [1, 2]);
    expect(js).toBeCloseTo(want, 10);
    expect(t).toBeCloseTo(want, 5);
  });

  it('categorical_crossentropy: renormalised, clipped, -sum(y log p)', () => {
    // [0.2, 0.6, 0.2] against class 1; [1, 0, 0] against class 2 (0 clipped to 1e-7); [1, 1, 2] (sum 4) against class 2.
    const want = (-Math.log(0.6) - Math.log(eps) - Math.log(2 / 4)) / 3;
    const [js, t] = both({ name: 'categorical_crossentropy' }, [0, 1, 0, 0, 0, 1, 0, 0, 1], [0.2, 0.6, 0.2, 1, 0, 0, 1, 1, 2], [3, 3], [3, 3]);
    expect(js).toBeCloseTo(want, 9);
    expect(t).toBeCloseTo(want, 4);
  });

  it('sparse_categorical_crossentropy, probabilities and logits, per pixel', () => {
    const want = (-Math.log(0.6) - Math.log(0.7)) / 2;
    const [js, t] = both({ name: 'sparse_categorical_crossentropy' }, [1, 0], [0.2, 0.6, 0.2, 0.7, 0.2, 0.1], [2], [2, 3]);
    expect(js).toBeCloseTo(want, 10);
    expect(t).toBeCloseTo(want, 5);
    // Logits [1, 2, 3] against class 2: -log(e^3 / (e + e^2 + e^3)); a 1x1x2 "image" of per-pixel logits.
    const lw = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    const [jl, tl] = both({ name: 'sparse_categorical_crossentropy', from_logits: true }, [2], [1, 2, 3], [1, 1, 1, 1], [1, 1, 1, 3]);
    expect(jl).toBeCloseTo(lw, 10);
    expect(tl).toBeCloseTo(lw, 5);
  });

  it('mean_squared_error, mean_absolute_error, huber (delta 1 and 2)', () => {
    const y = [0, 0, 1, 3], p = [0.5, -2, 1, 0];
    // differences 0.5, 2, 0, 3
    expect(both({ name: 'mean_squared_error' }, y, p, [2, 2], [2, 2])[1]).toBeCloseTo((0.25 + 4 + 0 + 9) / 4, 5);
    expect(lossRows({ name: 'mean_squared_error' }, y, p, 2)).toBeCloseTo((0.25 + 4 + 0 + 9) / 4, 10);
    expect(both({ name: 'mean_absolute_error' }, y, p, [2, 2], [2, 2])[1]).toBeCloseTo((0.5 + 2 + 0 + 3) / 4, 5);
    expect(lossRows({ name: 'mean_absolute_error' }, y, p, 2)).toBeCloseTo((0.5 + 2 + 0 + 3) / 4, 10);
    // huber: 0.5 d^2 for d <= delta, delta d - 0.5 delta^2 above.
    const h1 = (0.5 * 0.25 + (2 - 0.5) + 0 + (3 - 0.5)) / 4;
    const [hj, ht] = both({ name: 'huber' }, y, p, [2, 2], [2, 2]);
    expect(hj).toBeCloseTo(h1, 10);
    expect(ht).toBeCloseTo(h1, 5);
    const h2 = (0.5 * 0.25 + 0.5 * 4 + 0 + (2 * 3 - 2)) / 4;
    expect(both({ name: 'huber', delta: 2 }, y, p, [2, 2], [2, 2])[0]).toBeCloseTo(h2, 10);
  });
});

describe('metrics, by hand', () => {
  it('accuracy resolves as Keras resolves it', () => {
    expect(resolveAccuracy('binary_crossentropy', 1)).toBe('binary_accuracy');
    expect(resolveAccuracy('mean_squared_error', 1)).toBe('binary_accuracy');
    expect(resolveAccuracy('sparse_categorical_crossentropy', 10)).toBe('sparse_categorical_accuracy');
    expect(resolveAccuracy('categorical_crossentropy', 10)).toBe('categorical_accuracy');
  });

  it('binary, categorical, sparse categorical and top-k accuracy', () => {
    // threshold 0.5, strictly above: 0.5 counts as 0.
    expect(metricRows('binary_accuracy', [1, 0, 1, 0], [0.7, 0.5, 0.5, 0.1], 1)).toBe(0.5 + 0.25);
    expect(metricRows('categorical_accuracy', [0, 1, 0, 1, 0, 0], [0.1, 0.8, 0.1, 0.3, 0.6, 0.1], 3)).toBe(0.5);
    expect(metricRows('sparse_categorical_accuracy', [1, 0], [0.1, 0.8, 0.1, 0.3, 0.6, 0.1], 3)).toBe(0.5);
    // 6 classes, true class ranked 5th (in the top 5) and 6th (not).
    const p = [0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
    expect(metricRows('top_k_categorical_accuracy', [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1], [...p, ...p], 6)).toBe(0.5);
    expect(metricRows('top_k_categorical_accuracy', [0, 0, 1, 0, 0, 0], p, 6, 2)).toBe(0);
  });

  it('mae, mse', () => {
    expect(metricRows('mae', [0, 1, 2, 3], [1, 1, 2, 1], 2)).toBeCloseTo((1 + 0 + 0 + 2) / 4, 12);
    expect(metricRows('mse', [0, 1, 2, 3], [1, 1, 2, 1], 2)).toBeCloseTo((1 + 0 + 0 + 4) / 4, 12);
  });

  it('auc: ROC area by trapezoids over 200 thresholds', () => {
    // Perfectly separated scores: area 1; reversed: 0; all equal scores: 0.5 (one trapezoid from (0,0) to (1,1)).
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBeCloseTo(1, 12);
    expect(auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBeCloseTo(0, 12);
    expect(auc([0, 1], [0.5, 0.5])).toBeCloseTo(0.5, 12);
    // labels 0,1,0,1 scores 0.1,0.4,0.45,0.8 (one of four positive-negative pairs misordered): sklearn's exact ROC AUC is 0.75, and the thresholds
    // (multiples of 1/199) separate every pair of distinct scores here, so Keras' value is the same.
    expect(auc([0, 1, 0, 1], [0.1, 0.4, 0.45, 0.8])).toBeCloseTo(0.75, 12);
  });
});

describe('training.loss in a run', () => {
  it('a logits model trains with categorical_crossentropy from_logits, in-process and with 2 workers; evaluate reports the same loss', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { evaluateModel, train } = await import('../src/index.js');
    const { ROOT } = await import('./helpers.js');
    const spec = `${ROOT}test/fixtures/train/tiny-logits.yaml`;
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-loss-'));
    const lines: string[] = [];
    for (const workers of [1, 2]) {
      const out = join(dir, `run${workers}`);
      const r = await train({ spec, out, limit: 128, workers, backend: 'cpu', progress: 'none', log: (l) => lines.push(l) });
      expect(r.status).toBe('done');
      const losses = r.history.map((h) => h.loss);
      expect(losses[2]!).toBeLessThan(losses[0]!);
      // Logits are not probabilities: the loss on them as probabilities would not be finite or would be near 0.
      expect(r.test!.loss).toBeGreaterThan(0.05);
      const ev = await evaluateModel(out, { maxExamples: 128, workers: 1, backend: 'cpu' });
      expect(ev.loss).toBeCloseTo(r.test!.loss, 4);
    }
    expect(lines.join('\n')).toMatch(/recipe: sgd \(learning_rate 0\.1\), categorical_crossentropy \(from_logits\)/);
  }, 180_000);
});

describe('training.loss refused where it cannot apply', () => {
  it('sparse_categorical_crossentropy on one-hot mnist labels is a TrainError before training, naming what to use', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { train, TrainError } = await import('../src/train/trainer.js');
    const { ROOT } = await import('./helpers.js');
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-loss-'));
    const spec = join(dir, 'sparse.yaml');
    writeFileSync(spec, readFileSync(`${ROOT}test/fixtures/train/tiny-dense.yaml`, 'utf8').replace('  dataset: mnist\n', '  dataset: mnist\n  loss: sparse_categorical_crossentropy\n'));
    const run = train({ spec, out: join(dir, 'run'), limit: 32, workers: 1, backend: 'cpu', progress: 'none' });
    await expect(run).rejects.toBeInstanceOf(TrainError);
    await expect(run).rejects.toThrow('training.loss sparse_categorical_crossentropy takes class numbers, but mnist labels are fed one-hot; use categorical_crossentropy');
  }, 60_000);
});
