/**
 * Data-parallel training and inference over worker threads (src/train/parallel, issue 8 item 3)
 * and the input pipeline (src/train/batches.ts, item 4), on the wasm backend with tiny data.
 *
 * - The MNIST CNN without dropout: the gradient averaged over 2 replicas (the main thread and a
 *   worker, each with half the batch) equals the one-replica full-batch gradient, per weight
 *   tensor within GRAD_REL_TOL of the tensor's largest gradient; one SGD step leaves the same
 *   weights (WEIGHT_ABS_TOL) and reports the same loss and accuracy; predictions agree (PROB_ABS_TOL).
 * - ResNet (n=1, BatchNorm): each replica normalises with its own shard's statistics, so the
 *   2-replica gradient is the size-weighted mean of the one-replica gradients of the two shards,
 *   and the moving mean and variance are the weighted mean of the shards' updates.
 * - The built command line with --workers 2: the loss falls, a checkpoint is resumed with
 *   workers, metrics.jsonl records the workers and the input pipeline's share, evaluate with
 *   workers gives the in-process result, and every process exits.
 * - Dropout in the replicas is seeded per step and shard (the same seed, the same gradients).
 * - A process that never closes its workers still exits.
 * - The JS batch assembly (gather, augmentation, one-hot) equals augment.ts's tensor gather.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/build.js';
import { openDataParallel, splitRows, type DataParallel } from '../src/train/parallel/index.js';
import { loadMnist } from '../src/train/data/mnist.js';
import { oneHot, prepare } from '../src/train/preprocess.js';
import { BatchAssembler } from '../src/train/batches.js';
import { applyPlan, samplePlan } from '../src/train/augment.js';
import { deriveSeed, mulberry32, permutation } from '../src/train/rng.js';
import { ROOT, spec } from './helpers.js';

/** Tolerances. */
const GRAD_REL_TOL = 1e-5; // max |g_2 - g_1| <= GRAD_REL_TOL * max |g_1|, per weight tensor
const WEIGHT_ABS_TOL = 1e-6; // max |w_2 - w_1| after one SGD step (learning rate 0.1)
const LOSS_REL_TOL = 1e-6; // |L_2 - L_1| <= LOSS_REL_TOL * L_1
const PROB_ABS_TOL = 1e-6; // max |p_2 - p_1| over class probabilities

const CLI = `${ROOT}dist/cli/modelspec.js`;
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-parallel-'));

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
function run(cmd: string, args: string[], timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    // A process kept alive by a leaked worker would hang: kill it and let the test fail on its exit code.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Per weight tensor: the largest difference relative to the largest |a|. */
function worstRelative(dp: DataParallel, a: Float32Array, b: Float32Array, only: 'trainable' | 'non-trainable'): number {
  let worst = 0;
  for (const e of dp.layout.entries) {
    if (e.trainable !== (only === 'trainable')) continue;
    let diff = 0, scale = 0;
    for (let i = e.offset; i < e.offset + e.size; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      scale = Math.max(scale, Math.abs(a[i]!));
    }
    worst = Math.max(worst, diff / Math.max(scale, 1e-12));
  }
  return worst;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

let tf: Tf;
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first');
  tf = (await loadTf('wasm')).tf;
});

describe('the averaged gradient of 2 replicas is the full-batch gradient', () => {
  it(`MNIST CNN, no dropout: gradients within ${GRAD_REL_TOL} (relative), one SGD step within ${WEIGHT_ABS_TOL}, predictions within ${PROB_ABS_TOL}`, async () => {
    const n = 48;
    const data = prepare(loadMnist({ limit: n }), { subtractPixelMean: false });
    const x = data.train.x, y = oneHot(data.train.labels, 10);
    const opts = { spec: spec('mnist-cnn.yaml'), set: ['dropout=0', 'filters=8'], backend: 'wasm' as const, optimizer: { name: 'sgd' as const, learning_rate: 0.1 }, seed: 7 };
    const [one, two] = await Promise.all([openDataParallel({ ...opts, workers: 1 }), openDataParallel({ ...opts, workers: 2 })]);
    try {
      expect([one.workers, two.workers]).toEqual([1, 2]);
      expect(maxAbsDiff(one.weights(), two.weights())).toBe(0); // the same seeded initial weights
      const g1 = await one.gradients(x, y, n);
      const g2 = await two.gradients(x, y, n);
      expect(worstRelative(one, g1, g2, 'trainable')).toBeLessThan(GRAD_REL_TOL);
      // A shard of odd size: the mean is weighted by shard size.
      const g1odd = await one.gradients(x, y, 37);
      const g2odd = await two.gradients(x, y, 37);
      expect(worstRelative(one, g1odd, g2odd, 'trainable')).toBeLessThan(GRAD_REL_TOL);

      const r1 = await one.trainStep(x, y, n);
      const r2 = await two.trainStep(x, y, n);
      expect(Math.abs(r2.loss - r1.loss)).toBeLessThan(LOSS_REL_TOL * r1.loss);
      expect(r2.accuracy).toBeCloseTo(r1.accuracy, 6);
      expect(maxAbsDiff(one.weights(), two.weights())).toBeLessThan(WEIGHT_ABS_TOL);

      // Inference over 2 replicas: the worker predicts with the updated weights.
      const p1 = await one.predict(x, n);
      const p2 = await two.predict(x, n);
      expect(p2.length).toBe(n * 10);
      expect(maxAbsDiff(p1, p2)).toBeLessThan(PROB_ABS_TOL);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  }, 90_000);

  it('ResNet with BatchNorm: per-shard statistics, the moving statistics averaged', async () => {
    const n = 6;
    let s = 3;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const x = Float32Array.from({ length: n * 32 * 32 * 3 }, () => rand() - 0.5);
    const y = oneHot(Array.from({ length: n }, (_, i) => i % 10), 10);
    const opts = { spec: spec('resnet-v1.yaml'), set: ['n=1'], backend: 'wasm' as const, seed: 3 };
    const [one, two] = await Promise.all([openDataParallel({ ...opts, workers: 1 }), openDataParallel({ ...opts, workers: 2 })]);
    try {
      expect(one.layout.entries.some((e) => !e.trainable)).toBe(true);
      const [a, b] = splitRows(n, 2);
      const ga = await one.gradients(x.subarray(a!.start * 3072), y.subarray(a!.start * 10), a!.n);
      const gb = await one.gradients(x.subarray(b!.start * 3072), y.subarray(b!.start * 10), b!.n);
      const mean = ga.map((v, i) => (a!.n * v + b!.n * gb[i]!) / n);
      const g2 = await two.gradients(x, y, n);
      expect(worstRelative(one, mean, g2, 'trainable')).toBeLessThan(GRAD_REL_TOL);
      expect(worstRelative(one, mean, g2, 'non-trainable')).toBeLessThan(GRAD_REL_TOL);
      // A step moves the moving statistics of the main thread's model (what checkpoints save) to that mean.
      await two.trainStep(x, y, n);
      const w = two.weights();
      for (const e of two.layout.entries.filter((e) => !e.trainable)) {
        for (let i = e.offset; i < e.offset + e.size; i++) expect(Math.abs(w[i]! - mean[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(mean[i]!)));
      }
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  }, 90_000);
});

describe('dropout in replicas', () => {
  it('is seeded per step and shard: the same seed, the same masks', async () => {
    const n = 16;
    const data = prepare(loadMnist({ limit: n }), { subtractPixelMean: false });
    const x = data.train.x, y = oneHot(data.train.labels, 10);
    const dp = await openDataParallel({ spec: spec('mnist-cnn.yaml'), set: ['filters=4', 'dropout=0.5'], backend: 'wasm', workers: 2, seed: 11 });
    try {
      const a = await dp.gradients(x, y, n);
      const b = await dp.gradients(x, y, n);
      expect(maxAbsDiff(a, b)).toBe(0);
      // Another step, another seed: other masks, other gradients.
      await dp.trainStep(x, y, n);
      const w = dp.weights();
      const c = await dp.gradients(x, y, n);
      expect(maxAbsDiff(dp.weights(), w)).toBe(0);
      expect(maxAbsDiff(a, c)).toBeGreaterThan(0);
    } finally {
      await dp.close();
    }
  }, 60_000);
});

describe('modelspec train --workers 2 (the built command line)', () => {
  it('the loss falls; --resume continues with workers; evaluate with workers agrees; every process exits', async () => {
    const out = tmp();
    const common = ['--max-examples', '320', '--batch-size', '32', '--out', out, '--no-progress', '--workers', '2', '--set', 'filters=16'];
    const first = await run(process.execPath, [CLI, 'train', 'specs/mnist-cnn.yaml', '--epochs', '1', ...common]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^workers: 2 \(data-parallel: each batch split between the main thread and 1 worker thread/m);
    expect(first.stdout).toMatch(/^epoch 1\/1: loss [\d.]+ .* \(\d+ img\/s, input \d+\.\d%\); /m);
    const resumed = await run(process.execPath, [CLI, 'train', 'specs/mnist-cnn.yaml', '--resume', '--epochs', '2', '--out', out, '--no-progress', '--workers', '2']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/continuing at epoch 2/);
    const events = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['start', 'epoch', 'end', 'resume', 'epoch', 'end']);
    expect(events[0]).toMatchObject({ workers: 2 });
    const [e1, e2] = events.filter((e) => e.event === 'epoch') as { loss: number; input_fraction: number }[];
    expect(e2!.loss).toBeLessThan(e1!.loss);
    expect(e1!.input_fraction).toBeGreaterThan(0);
    expect(e1!.input_fraction).toBeLessThan(0.05);

    const ev1 = await run(process.execPath, [CLI, 'evaluate', out, '--max-examples', '300', '--json', '--workers', '1']);
    const ev2 = await run(process.execPath, [CLI, 'evaluate', out, '--max-examples', '300', '--json', '--workers', '2']);
    expect([ev1.code, ev2.code]).toEqual([0, 0]);
    const [j1, j2] = [JSON.parse(ev1.stdout), JSON.parse(ev2.stdout)] as { loss: number; accuracy: number; confusion: number[][] }[];
    expect(j2!.accuracy).toBe(j1!.accuracy);
    expect(j2!.confusion).toEqual(j1!.confusion);
    expect(Math.abs(j2!.loss - j1!.loss)).toBeLessThan(1e-5 * j1!.loss);
  }, 180_000);

  it('a process that never closes its workers still exits', async () => {
    const dir = tmp();
    const script = join(dir, 'leak.mts');
    writeFileSync(script, [
      `import { openDataParallel } from ${JSON.stringify(pathToFileURL(`${ROOT}src/train/parallel/index.ts`).href)};`,
      `const dp = await openDataParallel({ spec: ${JSON.stringify(spec('mnist-cnn.yaml'))}, set: ['filters=4'], backend: 'wasm', workers: 2 });`,
      `const p = await dp.predict(new Float32Array(8 * 784), 8);`,
      `console.log('predicted', p.length, dp.workers);`,
    ].join('\n'));
    const r = await run(process.execPath, ['--import', 'tsx', script], 60_000);
    expect(r.stdout.trim(), r.stderr).toBe('predicted 80 2');
    expect([r.code, r.signal]).toEqual([0, null]);
  }, 90_000);
});

describe('the input pipeline (src/train/batches.ts)', () => {
  it('gathers, augments and one-hots as augment.ts does, into reused buffers', () => {
    const count = 40, h = 8, w = 6, c = 3, classes = 5;
    const x = Float32Array.from({ length: count * h * w * c }, (_, i) => Math.sin(i));
    const labels = Uint8Array.from({ length: count }, (_, i) => i % classes);
    const augmentation = { width_shift: 0.3, height_shift: 0.25, horizontal_flip: true, fill: 'nearest' as const };
    const asm = new BatchAssembler({ split: { x, labels, count }, imageShape: [h, w, c], classes, batchSize: 16, augmentation, seed: 9 });
    const perm = permutation(count, mulberry32(1));
    const size = h * w * c;
    for (const [batch, start, n] of [[0, 0, 16], [2, 32, 8]] as const) {
      const b = asm.assemble(perm, 1, batch, start, n);
      const gathered = new Float32Array(n * size);
      for (let i = 0; i < n; i++) gathered.set(x.subarray(perm[start + i]! * size, (perm[start + i]! + 1) * size), i * size);
      const plan = samplePlan(augmentation, n, h, w, mulberry32(deriveSeed(9, 1, 2, batch)));
      const expected = tf.tidy(() => applyPlan(tf, tf.tensor4d(gathered, [n, h, w, c]), plan).dataSync() as Float32Array);
      expect(Array.from(b.x)).toEqual(Array.from(expected));
      expect(Array.from(b.y)).toEqual(Array.from(oneHot(Array.from({ length: n }, (_, i) => labels[perm[start + i]!]!), classes)));
    }
    const plain = new BatchAssembler({ split: { x, labels, count }, imageShape: [h, w, c], classes, batchSize: 16, seed: 9 });
    const b = plain.assemble(perm, 0, 0, 0, 4);
    expect(Array.from(b.x.subarray(size, 2 * size))).toEqual(Array.from(x.subarray(perm[1]! * size, (perm[1]! + 1) * size)));
  });
});
