/**
 * The seed's callbacks and the recipe (issue 6): the piecewise schedule with its strictly-greater
 * comparisons at 80/81, 120/121, 160/161, 180/181 (and against a transcription of the book's
 * lr_schedule over 200 epochs), ReduceLROnPlateau as Keras runs it, best-only checkpoint
 * decisions, checkpoints on disk (model, optimizer state, epoch, metrics; pointers; cleanup),
 * non-finite losses, and the `training:` section: schema diagnostics and defaults.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/build.js';
import { BestTracker, checkFinite, NonFiniteLoss, piecewiseLr, ReduceLROnPlateau } from '../src/train/callbacks.js';
import { ConfigError, resolveTrainingConfig, type PlateauConfig } from '../src/train/config.js';
import { optimizerFiles, readCheckpoint, readPointer, restoreOptimizer, saveCheckpoint, type TrainState } from '../src/train/checkpoint.js';
import { loadModelDir, loadWeightsInto, modelFiles } from '../src/train/model-io.js';
import { compileFile } from '../src/index.js';
import { codes, compileYaml, spec } from './helpers.js';

const SEED_SCHEDULE = { base: 1e-3, boundaries: [80, 120, 160, 180], factors: [1e-1, 1e-2, 1e-3, 0.5e-3] };

/** The book's lr_schedule (resnet-cifar10-2.2.1.py), transcribed. */
function bookLrSchedule(epoch: number): number {
  let lr = 1e-3;
  if (epoch > 180) lr *= 0.5e-3;
  else if (epoch > 160) lr *= 1e-3;
  else if (epoch > 120) lr *= 1e-2;
  else if (epoch > 80) lr *= 1e-1;
  return lr;
}

describe('the piecewise learning-rate schedule', () => {
  it('changes only after each boundary (strictly greater)', () => {
    const at = (e: number) => piecewiseLr(SEED_SCHEDULE, e);
    const cases: [number, number][] = [
      [0, 1e-3], [80, 1e-3], [81, 1e-4], [120, 1e-4], [121, 1e-5], [160, 1e-5], [161, 1e-6], [180, 1e-6], [181, 5e-7], [199, 5e-7],
    ];
    for (const [e, lr] of cases) expect(at(e), `epoch ${e}`).toBeCloseTo(lr, 15);
  });

  it("equals the book's lr_schedule at every epoch of the 200", () => {
    for (let e = 0; e < 200; e++) expect(piecewiseLr(SEED_SCHEDULE, e)).toBe(bookLrSchedule(e));
  });

  it('is what specs/resnet-v1.yaml declares', () => {
    const r = compileFile(spec('resnet-v1.yaml'));
    const c = resolveTrainingConfig(r.ast?.training);
    expect(c.lr_schedule?.piecewise).toEqual(SEED_SCHEDULE);
    expect(c.reduce_lr_on_plateau).toEqual({ monitor: 'val_loss', factor: Math.sqrt(0.1), patience: 5, cooldown: 0, min_lr: 0.5e-6, min_delta: 1e-4 });
    expect(c.checkpoint).toEqual({ monitor: 'val_accuracy', save_best_only: true });
    expect(c.augmentation).toEqual({ width_shift: 0.1, height_shift: 0.1, horizontal_flip: true, fill: 'nearest' });
    expect(c.dataset).toEqual({ name: 'cifar10', feed: {}, subtract_pixel_mean: true, validation: 'test' });
    expect([c.optimizer, c.batch_size, c.epochs]).toEqual([{ name: 'adam', learning_rate: 1e-3 }, 32, 200]);
  });
});

describe('ReduceLROnPlateau', () => {
  const cfg: PlateauConfig = { monitor: 'val_loss', factor: Math.sqrt(0.1), patience: 5, cooldown: 0, min_lr: 0.5e-6, min_delta: 1e-4 };
  const run = (c: PlateauConfig, values: number[], lr0 = 1e-3) => {
    const r = new ReduceLROnPlateau(c);
    let lr = lr0;
    return values.map((v) => (lr = r.onEpochEnd({ [c.monitor]: v }, lr)));
  };

  it('reduces by factor after `patience` epochs without an improvement larger than min_delta', () => {
    // Improves for 2 epochs, then stalls (changes below min_delta do not count).
    const lrs = run(cfg, [1.0, 0.9, 0.9, 0.89995, 0.95, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]);
    const r1 = 1e-3 * Math.sqrt(0.1);
    expect(lrs.slice(0, 6)).toEqual([1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3]);
    expect(lrs[6]).toBeCloseTo(r1, 15); // the 5th epoch without improvement
    expect(lrs.slice(7, 11)).toEqual([r1, r1, r1, r1].map((x) => lrs[6]!));
    expect(lrs[11]).toBeCloseTo(r1 * Math.sqrt(0.1), 15); // 5 more
  });

  it('an improvement resets the wait; accuracy is maximised', () => {
    const lrs = run({ ...cfg, monitor: 'val_accuracy', patience: 2 }, [0.5, 0.5, 0.6, 0.6, 0.6]);
    expect(lrs.slice(0, 4)).toEqual([1e-3, 1e-3, 1e-3, 1e-3]);
    expect(lrs[4]).toBeCloseTo(1e-3 * Math.sqrt(0.1), 15);
  });

  it('never goes below min_lr, and stops reducing there', () => {
    const lrs = run({ ...cfg, patience: 1, min_lr: 2e-4 }, [1, 1, 1, 1, 1, 1], 1e-3);
    expect(lrs[1]).toBeCloseTo(3.1623e-4, 7);
    expect(lrs.slice(2)).toEqual([2e-4, 2e-4, 2e-4, 2e-4]);
  });

  it('waits `cooldown` epochs after a reduction', () => {
    // As Keras counts: the epoch that ends the cooldown may already count towards patience.
    const lrs = run({ ...cfg, patience: 1, cooldown: 2, factor: 0.5 }, [1, 1, 1, 1, 1, 1, 1]);
    expect(lrs).toEqual([1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4]);
    expect(run({ ...cfg, patience: 1, cooldown: 0, factor: 0.5 }, [1, 1, 1, 1])).toEqual([1e-3, 5e-4, 2.5e-4, 1.25e-4]);
  });

  it('its state survives a checkpoint (JSON) and continues the same', () => {
    const a = new ReduceLROnPlateau(cfg);
    let lr = 1e-3;
    for (const v of [1, 0.9, 0.9, 0.9]) lr = a.onEpochEnd({ val_loss: v }, lr);
    const b = new ReduceLROnPlateau(cfg, JSON.parse(JSON.stringify(a.state)));
    let lrA = lr, lrB = lr;
    for (const v of [0.9, 0.9, 0.9]) {
      lrA = a.onEpochEnd({ val_loss: v }, lrA);
      lrB = b.onEpochEnd({ val_loss: v }, lrB);
    }
    expect(lrB).toBe(lrA);
    expect(lrA).toBeLessThan(1e-3);
  });
});

describe('best-only checkpoint decisions and non-finite losses', () => {
  it('val_accuracy must be strictly greater than the best so far; NaN never is', () => {
    const t = new BestTracker('val_accuracy');
    expect([0.5, 0.6, 0.6, 0.55, NaN, 0.61].map((v) => t.update({ val_accuracy: v }))).toEqual([true, true, false, false, false, true]);
    expect(t.best).toBe(0.61);
    const l = new BestTracker('val_loss');
    expect([1, 0.8, 0.9, 0.7].map((v) => l.update({ val_loss: v }))).toEqual([true, true, false, true]);
    expect(new BestTracker('val_accuracy', 0.9).update({ val_accuracy: 0.85 })).toBe(false);
  });

  it('NaN or infinite losses stop training with a clear message', () => {
    expect(() => checkFinite(0.3, 1, 1)).not.toThrow();
    expect(() => checkFinite(NaN, 3, 12)).toThrow(NonFiniteLoss);
    expect(() => checkFinite(NaN, 3, 12)).toThrow(/the loss became NaN at epoch 3, batch 12: training stopped \(lower the learning rate/);
    expect(() => checkFinite(Infinity, 1, 2)).toThrow(/became Infinity/);
  });
});

describe('checkpoints on disk', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await loadTf('cpu')).tf;
  });

  const build = () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'softmax', name: 'probs' })] });
    const opt = tf.train.adam(1e-2);
    m.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    return { m, opt };
  };
  const state = (epoch: number, reason: TrainState['reason'], best: number): TrainState => ({
    format: 'modelspec-checkpoint', version: 1, spec: 's.yaml', specPath: '/s.yaml', set: [],
    config: resolveTrainingConfig({ dataset: 'mnist' }), epoch, lr: 1e-2, best, reason, savedAt: '',
    plateau: { best: Infinity, wait: 0, cooldownCounter: 0 },
    history: Array.from({ length: epoch }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1), accuracy: 0.5, lr: 1e-2, seconds: 1, images_per_second: 1 })),
  });

  it('writes model, optimizer state, epoch and metrics; best-only folders stay, state folders are replaced', async () => {
    const out = mkdtempSync(join(tmpdir(), 'modelspec-ckpt-'));
    const { m, opt } = build();
    const x = tf.randomNormal([8, 4]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 0, 1], 'int32'), 3);
    await m.trainOnBatch(x, y);
    await m.trainOnBatch(x, y);
    const parts = async (s: TrainState) => ({ model: await modelFiles(tf, m, { spec: 's.yaml', parameters: {}, epoch: s.epoch }), optimizer: await optimizerFiles(tf, opt), state: s });
    const before = tf.memory().numTensors;
    expect(saveCheckpoint(out, await parts(state(1, 'best', 0.5)), { best: true })).toBe('checkpoints/epoch-001');
    expect(tf.memory().numTensors).toBe(before); // the optimizer's iteration tensor is disposed
    expect(saveCheckpoint(out, await parts(state(2, 'epoch', 0.5)), { best: false })).toBe('checkpoints/state-epoch-002');
    expect(saveCheckpoint(out, await parts(state(3, 'epoch', 0.5)), { best: false })).toBe('checkpoints/state-epoch-003');
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['epoch-001', 'state-epoch-003']);
    expect(readPointer(out, 'last')).toMatchObject({ checkpoint: 'checkpoints/state-epoch-003', epoch: 3, reason: 'epoch', metrics: { epoch: 3 } });
    expect(readPointer(out, 'best')).toMatchObject({ checkpoint: 'checkpoints/epoch-001', epoch: 1 });
    const interrupted = { ...state(3, 'interrupted', 0.5), partial: { batch: 7, seen: 56, lossSum: 1, accSum: 1, seconds: 2 } };
    expect(saveCheckpoint(out, await parts(interrupted), { best: false })).toBe('checkpoints/interrupted-epoch-004-batch-00007');
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['epoch-001', 'interrupted-epoch-004-batch-00007']);
    expect(saveCheckpoint(out, await parts(state(4, 'best', 0.7)), { best: true })).toBe('checkpoints/epoch-004');
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['epoch-001', 'epoch-004']);
    expect(readdirSync(out).filter((f) => f.includes('tmp'))).toEqual([]);

    // Read back: the state (Infinity survives JSON), the weights, the optimizer's moments and step count.
    const c = readCheckpoint(join(out, 'checkpoints', 'epoch-004'));
    expect(c.state.epoch).toBe(4);
    expect(c.state.plateau?.best).toBe(Infinity);
    expect(c.state.history).toHaveLength(4);
    const { m: m2, opt: opt2 } = build();
    loadWeightsInto(tf, m2, c.model);
    m.getWeights().forEach((w, i) => expect(Array.from(m2.getWeights()[i]!.dataSync())).toEqual(Array.from(w.dataSync())));
    await restoreOptimizer(tf, opt2, c.dir);
    const [w1, w2] = [await opt.getWeights(), await opt2.getWeights()];
    expect(w2.map((w) => w.name)).toEqual(w1.map((w) => w.name));
    w1.forEach((w, i) => expect(Array.from(w2[i]!.tensor.dataSync())).toEqual(Array.from(w.tensor.dataSync())));
    expect(w2[0]!.name).toBe('iter');
    expect(w2[0]!.tensor.dataSync()[0]).toBe(2);
    // The next step from the restored pair equals the next step of the original (to float32 rounding:
    // tfjs recomputes Adam's beta powers as pow(beta, t) on restore, where training multiplied them up).
    await m.trainOnBatch(x, y);
    await m2.trainOnBatch(x, y);
    m.getWeights().forEach((w, i) => {
      const [a, b] = [w.dataSync(), m2.getWeights()[i]!.dataSync()];
      a.forEach((v, k) => expect(Math.abs(b[k]! - v)).toBeLessThan(1e-6 * Math.max(1, Math.abs(v))));
    });
    // A checkpoint folder is also a model folder that tf.loadLayersModel reads.
    const loaded = await loadModelDir(tf, c.dir);
    expect(loaded.meta).toMatchObject({ spec: 's.yaml', epoch: 4 });
    expect(JSON.parse(readFileSync(join(c.dir, 'optimizer.json'), 'utf8')).class).toBe('Adam');
    expect(existsSync(join(c.dir, 'state.json'))).toBe(true);
    tf.dispose([x, y, ...w1.filter((w) => w.name === 'iter').map((w) => w.tensor), ...w2.filter((w) => w.name === 'iter').map((w) => w.tensor)]);
    for (const d of [m, m2, loaded.model]) d.dispose();
    opt.dispose();
    opt2.dispose();
  });
});

describe('the training: section', () => {
  it('is validated like the rest of the spec: positions, did-you-mean, ranges', () => {
    const r = compileYaml(`
inputs: {x: {shape: [4]}}
layers:
  - dense: 2
training:
  dataset: {name: cifar, feed: {x: image}}
  optimiser: adam
  epochs: 0
  lr_schedule: {piecewise: {boundaries: [80], factors: [0.1]}}
  reduce_lr_on_plateau: {factor: 1.5}
  augmentation: {fill: reflect}
`);
    expect(codes(r)).toEqual(['MS2006', 'MS2001', 'MS2005', 'MS2005', 'MS2006']);
    const messages = r.diagnostics.map((d) => d.message);
    expect(messages[0]).toMatch(/'training.dataset.name' must be one of "mnist", "cifar10"; got "cifar"/);
    expect(messages[1]).toMatch(/unknown key 'optimiser' in 'training'/);
    expect(r.diagnostics[1]!.hint).toMatch(/did you mean 'optimizer'/);
    expect(messages[2]).toMatch(/'training.epochs' must be >= 1, got 0/);
    expect(messages[3]).toMatch(/'training.reduce_lr_on_plateau.factor' must be < 1, got 1.5/);
  });

  it('the seed specs and the short forms are valid; defaults fill the rest; flags override', () => {
    for (const s of ['mnist-cnn.yaml', 'y-network.yaml', 'resnet-v1.yaml', 'resnet-v2.yaml']) expect(compileFile(spec(s)).ok, s).toBe(true);
    const y = resolveTrainingConfig(compileFile(spec('y-network.yaml')).ast?.training);
    expect(y.dataset.feed).toEqual({ left_input: 'image', right_input: 'image' });
    const short = resolveTrainingConfig({ dataset: 'mnist', optimizer: 'sgd' });
    expect(short).toMatchObject({ dataset: { name: 'mnist', validation: 'test', subtract_pixel_mean: false }, optimizer: { name: 'sgd', learning_rate: 0.01 }, batch_size: 32, epochs: 1, seed: 0 });
    expect(resolveTrainingConfig({ dataset: 'mnist', epochs: 10 }, { epochs: 2, batch_size: 8, dataset: 'cifar10', seed: 3 })).toMatchObject({ epochs: 2, batch_size: 8, seed: 3, dataset: { name: 'cifar10' } });
    expect(() => resolveTrainingConfig({})).toThrow(/no dataset.*--dataset mnist\|cifar10/);
    expect(() => resolveTrainingConfig({ dataset: 'mnist', lr_schedule: { piecewise: { boundaries: [1, 2], factors: [0.1] } } })).toThrow(ConfigError);
    expect(() => resolveTrainingConfig({ dataset: 'mnist', lr_schedule: { piecewise: { boundaries: [5, 2], factors: [0.1, 0.1] } } })).toThrow(/boundaries must increase/);
    expect(resolveTrainingConfig({ dataset: { name: 'mnist', validation: 'none' } }).checkpoint.monitor).toBe('accuracy');
  });
});
