/**
 * Training on the user's arrays (issue 17 items 1, 3, 4, 5, 6), on generated data:
 * - a regression MLP on an .npz its spec names (validation_split), through the built command
 *   line: the loss falls, --workers 2 and --resume continue the run, `evaluate --data` and
 *   `predict --data` reload the model;
 * - a siamese net (two inputs) on pairs made from MNIST, `train --data pairs.npz`, workers and resume;
 * - a U-Net-like segmenter: per-pixel class numbers (sparse) and a second output, per-output
 *   losses, loss_weights and metrics, named as Keras names them (mask_loss, val_presence_auc);
 *   the total loss is the weighted sum; evaluate and predict on the arrays;
 * - int32 token ids for an embedding input;
 * - arrays that do not fit the model are refused before anything trains, naming what is wrong;
 * - validation_split takes the last fraction; a split over the memory budget is read from disk
 *   row for row the same; one .npy file per name.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/build.js';
import { train, TrainError } from '../src/train/trainer.js';
import { evaluateArraysModel, predictArrays } from '../src/train/array-inference.js';
import { loadMnist } from '../src/train/data/mnist.js';
import { mulberry32 } from '../src/train/rng.js';
import { f32, i32, npyBytes, writeNpz } from './npz.js';
import { gatherRows, loadArrayData } from '../src/train/data/arrays.js';
import { ROOT, spec } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const FIX = (name: string) => join(ROOT, 'test', 'fixtures', 'train', name);
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-arrays-'));

function cli(args: string[], cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

type Epoch = Record<string, number>;
const epochs = (out: string): Epoch[] => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Epoch & { event: string }).filter((e) => (e as { event?: string }).event === 'epoch');

let tf: Tf;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
  tf = (await loadTf('cpu')).tf;
});

/** y = x . w + 1 + noise, 4 features. */
function regression(n: number, seed: number) {
  const r = mulberry32(seed), w = [1, -2, 0.5, 3];
  const x = Array.from({ length: n * 4 }, () => r() * 2 - 1);
  const y = Array.from({ length: n }, (_, i) => x.slice(4 * i, 4 * i + 4).reduce((s, v, k) => s + v * w[k]!, 1) + 0.01 * (r() - 0.5));
  return { x: f32([n, 4], x), y: f32([n, 1], y) };
}

/** 6x6 images with one 3x3 square of class 1 or 2 (brightness c/2), its mask of class numbers, and which classes are present. */
function masks(n: number, seed: number) {
  const r = mulberry32(seed);
  const img = new Float32Array(n * 36), mask = new Int32Array(n * 36), pres = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const c = 1 + Math.floor(r() * 2), r0 = Math.floor(r() * 4), c0 = Math.floor(r() * 4);
    for (let y = r0; y < r0 + 3; y++) for (let x = c0; x < c0 + 3; x++) { img[i * 36 + y * 6 + x] = c / 2; mask[i * 36 + y * 6 + x] = c; }
    pres[i * 3] = 1;
    pres[i * 3 + c] = 1;
  }
  return { image: f32([n, 6, 6, 1], img), mask: i32([n, 6, 6], mask), presence: f32([n, 3], pres) };
}

describe('training on arrays', () => {
  it('a regression MLP on the .npz its spec names: the loss falls, --workers 2, then --resume, evaluate and predict reload it', async () => {
    const dir = tmp();
    copyFileSync(FIX('regression.yaml'), join(dir, 'regression.yaml'));
    writeNpz(join(dir, 'regression.npz'), regression(160, 1));
    const out = join(dir, 'run');
    const first = await cli(['train', 'regression.yaml', '--out', out, '--epochs', '2', '--workers', '2', '--backend', 'cpu', '--no-progress'], dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/data: arrays regression.npz, 120 training \/ 40 validation samples; input x \[4\], target y \[1\]/);
    expect(first.stdout).toMatch(/epoch 1\/2: loss [\d.]+ - mae [\d.]+ - val_loss [\d.]+ - val_mae [\d.]+ - lr/);
    // Resumed in-process from the checkpoint the data-parallel run wrote.
    const resumed = await cli(['train', 'regression.yaml', '--out', out, '--resume', '--epochs', '3', '--workers', '1', '--backend', 'cpu', '--no-progress'], dir);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/continuing at epoch 3/);
    const log = epochs(out);
    expect(log.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(Object.keys(log[0]!)).toEqual(expect.arrayContaining(['loss', 'mae', 'val_loss', 'val_mae']));
    expect(log[0]!.accuracy).toBeUndefined(); // Keras logs no accuracy for a regression
    expect(log[2]!.loss).toBeLessThan(log[1]!.loss!);
    expect(log[1]!.loss).toBeLessThan(log[0]!.loss!);
    expect(log[2]!.val_loss).toBeLessThan(log[0]!.val_loss!);

    const ev = await cli(['evaluate', out, '--data', 'regression.npz', '--backend', 'cpu', '--json'], dir);
    expect(ev.code).toBe(0);
    const r = JSON.parse(ev.stdout) as Record<string, number>;
    expect(r.count).toBe(160);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.mae).toBeGreaterThan(0);
    const pr = await cli(['predict', out, '--data', 'regression.npz', '--max-examples', '3', '--backend', 'cpu'], dir);
    expect(pr.code).toBe(0);
    const lines = pr.stdout.trim().split('\n').map((l) => JSON.parse(l) as { sample: number; outputs: { y: number[] } });
    expect(lines.map((l) => l.sample)).toEqual([0, 1, 2]);
    expect(lines[0]!.outputs.y).toHaveLength(1);
  }, 180_000);

  it('a siamese net on pairs made from MNIST: two inputs by name, --data, then --resume with --workers 2', async () => {
    const dir = tmp();
    const raw = loadMnist({ limit: 400 });
    const size = 28 * 28, n = 128, r = mulberry32(7);
    const left = new Float32Array(n * size), right = new Float32Array(n * size), same = new Float32Array(n);
    const labels = raw.train.labels;
    for (let i = 0; i < n; i++) {
      // Half the pairs of one digit, half of two.
      const want = i % 2 === 0;
      let j = Math.floor(r() * 400);
      while ((labels[j] === labels[i]) !== want) j = (j + 1) % 400;
      for (let k = 0; k < size; k++) { left[i * size + k] = raw.train.images[i * size + k]! / 255; right[i * size + k] = raw.train.images[j * size + k]! / 255; }
      same[i] = want ? 1 : 0;
    }
    writeNpz(join(dir, 'pairs.npz'), { left: f32([n, 28, 28, 1], left), right: f32([n, 28, 28, 1], right), same: f32([n, 1], same) });
    const out = join(dir, 'run');
    const lines: string[] = [];
    await train({ spec: FIX('tiny-siamese.yaml'), out, tf, workers: 1, progress: 'none', log: (l) => lines.push(l), overrides: { data: join(dir, 'pairs.npz'), epochs: 2 } });
    expect(lines.join('\n')).toMatch(/input left \[28, 28, 1\], input right \[28, 28, 1\], target same \[1\]/);
    // Resumed by the command line with two workers (the recipe's --data comes from the checkpoint).
    const resumed = await cli(['train', FIX('tiny-siamese.yaml'), '--out', out, '--resume', '--epochs', '3', '--workers', '2', '--backend', 'cpu', '--no-progress'], dir);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toMatch(/workers: 2 \(data-parallel/);
    const log = epochs(out);
    expect(log.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(Object.keys(log[0]!)).toEqual(expect.arrayContaining(['loss', 'accuracy']));
    expect(log[0]!.auc).toBeUndefined(); // AUC needs every prediction: on validation data and by evaluate only
    expect(log[2]!.loss).toBeLessThan(log[0]!.loss!);
    const ev = await evaluateArraysModel(out, join(dir, 'pairs.npz'), { backend: 'cpu' });
    expect(Object.keys(ev.values)).toEqual(['loss', 'accuracy', 'auc']);
    expect(ev.values.loss).toBeLessThan(log[0]!.loss!);
  }, 180_000);

  it('a U-Net-like segmenter: per-pixel class numbers, two outputs, per-output losses, loss_weights and metrics named as Keras names them; --resume with 2 workers', async () => {
    const dir = tmp();
    copyFileSync(FIX('tiny-unet.yaml'), join(dir, 'unet.yaml'));
    writeNpz(join(dir, 'masks.npz'), masks(96, 3));
    writeNpz(join(dir, 'masks-val.npz'), masks(32, 4));
    const out = join(dir, 'run');
    const lines: string[] = [];
    const opts = { spec: join(dir, 'unet.yaml'), out, tf, workers: 1, progress: 'none' as const, log: (l: string) => lines.push(l) };
    await train({ ...opts, overrides: { epochs: 2 } });
    // Resumed with two workers: per-pixel targets split between the threads as well.
    await train({ ...opts, workers: 2, resume: true, overrides: { epochs: 3 } });
    expect(lines.join('\n')).toMatch(/workers: 2 \(data-parallel/);
    expect(lines.join('\n')).toMatch(/recipe: adam \(learning_rate 0.02\), mask: sparse_categorical_crossentropy, presence: binary_crossentropy x 0.5/);
    const log = epochs(out);
    expect(log.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const keys = ['loss', 'mask_loss', 'presence_loss', 'mask_accuracy', 'presence_binary_accuracy',
      'val_loss', 'val_mask_loss', 'val_presence_loss', 'val_mask_accuracy', 'val_presence_binary_accuracy', 'val_presence_auc'];
    expect(Object.keys(log[0]!)).toEqual(expect.arrayContaining(keys));
    for (const e of log) {
      // The total is the weighted sum of the outputs' losses (no weight penalties here), as Keras reports it.
      expect(e.loss).toBeCloseTo(e.mask_loss! + 0.5 * e.presence_loss!, 5);
      expect(e.val_loss).toBeCloseTo(e.val_mask_loss! + 0.5 * e.val_presence_loss!, 5);
    }
    expect(log[2]!.loss).toBeLessThan(log[0]!.loss!);
    // The reloaded model on the validation arrays gives the last epoch's validation values.
    const ev = await evaluateArraysModel(out, join(dir, 'masks-val.npz'), { backend: 'cpu' });
    expect(ev.count).toBe(32);
    for (const k of ['loss', 'mask_loss', 'mask_accuracy', 'presence_auc']) expect(ev.values[k]).toBeCloseTo(log[2]![`val_${k}`]!, 5);
    const pred = await predictArrays(out, join(dir, 'masks-val.npz'), { backend: 'cpu', maxExamples: 2 });
    expect(pred).toHaveLength(2);
    const mask = pred[0]!.outputs.mask as number[][][];
    expect([mask.length, mask[0]!.length, mask[0]![0]!.length]).toEqual([6, 6, 3]);
    expect(mask[0]![0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5); // a per-pixel softmax
    expect(pred[0]!.outputs.presence).toHaveLength(3);
  }, 120_000);

  it('int32 token ids feed an embedding input (a text classifier with two outputs); --resume with 2 workers', async () => {
    const dir = tmp();
    const n = 64, r = mulberry32(5);
    const tokens = Array.from({ length: n * 8 }, () => Math.floor(r() * 20));
    const topic = new Float32Array(n * 5), sentiment = new Float32Array(n);
    for (let i = 0; i < n; i++) { topic[i * 5 + (tokens[i * 8]! % 5)] = 1; sentiment[i] = tokens[i * 8 + 1]! > 9 ? 1 : 0; }
    writeNpz(join(dir, 'text.npz'), { tokens: i32([n, 8], tokens), topic: f32([n, 5], topic), sentiment: f32([n, 1], sentiment) });
    const out = join(dir, 'run');
    const set = ['vocab_size=20', 'seq_len=8', 'embed_dim=4', 'filters=2', 'hidden=4', 'dropout=0'];
    const lines: string[] = [];
    const res = await train({ spec: spec('examples/text-classifier.yaml'), set, out, tf, workers: 1, progress: 'none', log: (l) => lines.push(l), overrides: { data: join(dir, 'text.npz'), epochs: 3, batch_size: 16 } });
    expect(lines.join('\n')).toMatch(/input tokens \[8\], target topic \[5\], target sentiment \[1\]/);
    expect(res.history[2]!.topic_loss).toBeLessThan(res.history[0]!.topic_loss!);
    // --resume with two workers: int32 ids go to the threads as int32.
    const more = await train({ spec: spec('examples/text-classifier.yaml'), set, out, tf, workers: 2, resume: true, progress: 'none', overrides: { epochs: 4 } });
    expect(more.history.map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(more.history[3]!.loss).toBeLessThan(more.history[0]!.loss!);
    // Float token ids are refused before training: an embedding takes integers.
    writeNpz(join(dir, 'float.npz'), { tokens: f32([n, 8], tokens), topic: f32([n, 5], topic), sentiment: f32([n, 1], sentiment) });
    await expect(train({ spec: spec('examples/text-classifier.yaml'), set, out: join(dir, 'run2'), tf, workers: 1, progress: 'none', overrides: { data: join(dir, 'float.npz') } }))
      .rejects.toThrow(/input 'tokens' takes integer token ids \(int32\), but .*float\.npz:tokens holds float32 values/);
  }, 120_000);

  it('refuses arrays that do not fit the model before anything trains, naming the input, the expected and the found shape', async () => {
    const dir = tmp();
    writeNpz(join(dir, 'wrong.npz'), { x: f32([8, 5], new Float32Array(40)), y: f32([8, 1], new Float32Array(8)) });
    writeNpz(join(dir, 'unnamed.npz'), { features: f32([8, 4], new Float32Array(32)), y: f32([8, 1], new Float32Array(8)) });
    const run = (data: string, extra: object = {}) => train({ spec: FIX('regression.yaml'), out: join(dir, `run-${data}`), tf, workers: 1, progress: 'none', overrides: { data: join(dir, data) }, ...extra });
    await expect(run('wrong.npz')).rejects.toThrow(/input 'x' takes samples of shape \[4\], but .*wrong\.npz:x holds 8 samples of shape \[5\]/);
    await expect(run('unnamed.npz')).rejects.toThrow(/no array for input 'x': the arrays are features, y; name one 'x'/);
    const bad = await cli(['train', FIX('regression.yaml'), '--data', join(dir, 'wrong.npz'), '--out', join(dir, 'cli'), '--backend', 'cpu', '--no-progress']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^modelspec train: input 'x' takes samples of shape \[4\]/);
    expect(existsSync(join(dir, 'cli', 'metrics.jsonl'))).toBe(false);
    // A per-output map that names no output of the model.
    const spec2 = join(dir, 'two.yaml');
    copyFileSync(FIX('tiny-unet.yaml'), spec2);
    writeFileSync(spec2, readFileSync(spec2, 'utf8').replace('loss_weights: {presence: 0.5}', 'loss_weights: {presense: 0.5}'));
    await expect(train({ spec: spec2, out: join(dir, 'run-two'), tf, workers: 1, progress: 'none' })).rejects.toThrow(TrainError);
    await expect(train({ spec: spec2, out: join(dir, 'run-two2'), tf, workers: 1, progress: 'none' })).rejects.toThrow(/training.loss_weights names 'presense', which is not an output of the model \(outputs: mask, presence\)/);
  }, 120_000);
});

describe('array datasets: splits and reading', () => {
  const expected = {
    inputs: [{ name: 'x', role: 'input' as const, shape: [4] }],
    outputs: [{ name: 'y', role: 'output' as const, shape: [1] }],
  };

  it("validation_split holds out the LAST fraction (Keras: split_at = ceil(n * (1 - f))); a split over the budget is read from disk, row for row the same", () => {
    const dir = tmp();
    const data = regression(10, 2);
    writeNpz(join(dir, 'r.npz'), data);
    const mem = loadArrayData({ train: join(dir, 'r.npz'), validationSplit: 0.25, ...expected });
    expect([mem.train.count, mem.validation!.count, mem.validation!.start]).toEqual([8, 2, 8]); // ceil(10 * 0.75) = 8
    expect(mem.train.memory).toBeDefined();
    const disk = loadArrayData({ train: join(dir, 'r.npz'), validationSplit: 0.25, ...expected, budget: 64 });
    expect(disk.train.memory).toBeUndefined();
    const rows = Int32Array.from([1, 0, 1]);
    const read = (d: typeof mem, split: typeof mem.train) => {
      const x = new Float32Array(3 * 4), y = new Float32Array(3);
      gatherRows(d, split, rows, 0, split === d.train ? 3 : 2, x, y);
      return [Array.from(x), Array.from(y)];
    };
    expect(read(disk, disk.train)).toEqual(read(mem, mem.train));
    expect(read(disk, disk.validation!)).toEqual(read(mem, mem.validation!));
    // Row 0 of the validation split (read second: rows[1] = 0) is sample 8, row 1 sample 9.
    expect(read(mem, mem.validation!)[1]!.slice(0, 2)).toEqual([data.y.data[9]!, data.y.data[8]!]);
  });

  it('takes one .npy file per input and output name', () => {
    const dir = tmp();
    const data = regression(6, 3);
    writeFileSync(join(dir, 'features.npy'), npyBytes(data.x));
    writeFileSync(join(dir, 'targets.npy'), npyBytes(data.y));
    const d = loadArrayData({ train: { x: join(dir, 'features.npy'), y: join(dir, 'targets.npy') }, ...expected });
    expect([d.train.count, d.xRow, d.yRow]).toEqual([6, 4, 1]);
    expect(Array.from(d.train.memory!.y)).toEqual(Array.from(data.y.data));
  });
});
