/**
 * Training end to end (issue 6), through the built command line (dist/cli/modelspec.js) and the
 * library: the MNIST CNN and the Y-network train a few steps on a few hundred real MNIST images
 * (--max-examples) and the loss falls; ResNet20v1 trains on a small CIFAR-format set written here, with
 * the seed's augmentation and callbacks on, and its loss falls; a run killed with SIGKILL
 * mid-epoch resumes from an intact checkpoint and continues the epoch count; SIGINT saves a
 * checkpoint mid-epoch and exits with 130, and --resume continues from that batch; a NaN loss
 * stops with a clear message; over 3 epochs tf.memory().numTensors does not grow; evaluate and
 * predict read what train wrote.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/build.js';
import { train, TrainError } from '../src/train/trainer.js';
import { loadMnist } from '../src/train/data/mnist.js';
import { prepare } from '../src/train/preprocess.js';
import { encodeIdx } from '../src/train/data/idx.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, encodeCifarBatch } from '../src/train/data/cifar10.js';
import { readCheckpoint, readPointer } from '../src/train/checkpoint.js';
import { readModelDir } from '../src/train/model-io.js';
import { ROOT, spec } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const tmp = (p = 'modelspec-train-') => mkdtempSync(join(tmpdir(), p));

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

/** Run the CLI; `until` (a pattern on stdout) sends `signal` the moment it matches. */
function cli(args: string[], until?: { pattern: RegExp; signal: NodeJS.Signals }): Promise<Run & { matched: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', matched = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (until && !matched && until.pattern.test(stdout)) {
        matched = true;
        child.kill(until.signal);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, matched }));
  });
}

interface EpochEvent { event: 'epoch'; epoch: number; loss: number; accuracy: number; val_loss?: number; val_accuracy?: number; lr: number }
const events = (out: string) => readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string } & Partial<EpochEvent>);
const epochs = (out: string) => events(out).filter((e): e is EpochEvent => e.event === 'epoch');

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
});

describe('modelspec train on real MNIST (a few hundred images)', () => {
  it('the MNIST CNN: loss falls; writes checkpoints, model, log, chart; evaluate and predict read them', async () => {
    const out = tmp();
    const r = await cli(['train', 'specs/mnist-cnn.yaml', '--max-examples', '320', '--epochs', '2', '--batch-size', '32', '--out', out, '--backend', 'wasm']);
    expect(r.stderr.replace(/^epoch .*$/gm, '').trim()).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: wasm/m);
    expect(r.stdout).toMatch(/^data: mnist, 320 training \/ 320 test images 28x28x1 \(--max-examples 320\)$/m);
    expect(r.stdout).toMatch(/^epoch 2\/2: loss [\d.]+ - accuracy [\d.]+ - val_loss [\d.]+ - val_accuracy [\d.]+ - lr 0.001 - /m);
    expect(r.stdout).toMatch(/^test: loss [\d.]+, accuracy [\d.]+% \(320 images\)$/m);
    expect(r.stderr).toMatch(/epoch 1\/2 \[=+\] 10\/10 batches \| ETA 0s \| loss [\d.]+ accuracy [\d.]+ \| \d+ img\/s/);
    const [e1, e2] = epochs(out);
    expect(e2!.loss).toBeLessThan(e1!.loss);
    expect(e2!.val_loss).toBeLessThan(e1!.val_loss!);
    for (const f of ['model/model.json', 'model/weights.bin', 'curves.svg', 'last.json', 'best.json']) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, 'curves.svg'), 'utf8')).toMatch(/^<svg[^]*<polyline[^]*validation[^]*<\/svg>\n$/);
    expect(events(out).map((e) => e.event)).toEqual(['start', 'epoch', 'epoch', 'end']);
    const best = readPointer(out, 'best')!;
    expect(readdirSync(join(out, 'checkpoints'))).toContain(best.checkpoint.split('/')[1]);

    const ev = await cli(['evaluate', out, '--max-examples', '200', '--backend', 'wasm']);
    expect(ev.code).toBe(0);
    expect(ev.stdout).toMatch(/^loss [\d.]+, accuracy [\d.]+% /m);
    expect(ev.stdout).toMatch(/^true \\ predicted +0 +1 +2 +3 +4 +5 +6 +7 +8 +9$/m);
    const rows = ev.stdout.split('\n').filter((l) => /^\d +\d/.test(l));
    expect(rows).toHaveLength(10);
    expect(rows.reduce((a, l) => a + l.trim().split(/\s+/).slice(1, 11).map(Number).reduce((x, y) => x + y, 0), 0)).toBe(200);
    const evJson = await cli(['evaluate', join(out, best.checkpoint), '--max-examples', '100', '--json', '--backend', 'wasm']);
    expect(JSON.parse(evJson.stdout)).toMatchObject({ dataset: 'mnist', count: 100 });
    // A reader that stops after the first line (`| head -1`): a quiet exit, no EPIPE stack trace.
    const early = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'evaluate', out, '--max-examples', '200', '--backend', 'wasm'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.once('data', (d: Buffer) => {
        stdout += d.toString();
        child.stdout.destroy();
      });
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });
    expect(early.stdout).not.toMatch(/accuracy/);
    expect([early.code, early.stderr]).toEqual([0, '']);

    // predict: a PNG and an IDX file made from test images.
    const m = loadMnist({ limit: 3 });
    const png = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 784; i++) {
      png.data[4 * i] = png.data[4 * i + 1] = png.data[4 * i + 2] = m.test.images[i]!;
      png.data[4 * i + 3] = 255;
    }
    const dir = tmp();
    writeFileSync(join(dir, 'seven.png'), PNG.sync.write(png));
    writeFileSync(join(dir, 'three.idx'), encodeIdx('uint8', [3, 28, 28], m.test.images));
    const p = await cli(['predict', out, join(dir, 'seven.png'), join(dir, 'three.idx'), '--top', '2', '--backend', 'wasm']);
    expect(p.code).toBe(0);
    const lines = p.stdout.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/seven\.png: \d \([\d.]+%\)  \d \([\d.]+%\)$/);
    expect(lines[1]).toMatch(/three\.idx\[0\]: \d/);
    // The PNG and the first IDX image are the same picture: the same answer.
    expect(lines[0]!.split(': ')[1]).toBe(lines[1]!.split(': ')[1]);
    const bad = await cli(['predict', out, join(dir, 'missing.png')]);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/modelspec predict: .*missing.png: file not found/)]);
  }, 120_000);

  it('the Y-network, the same image fed to both inputs: loss falls', async () => {
    const out = tmp();
    const r = await cli(['train', 'specs/y-network.yaml', '--max-examples', '256', '--epochs', '2', '--batch-size', '32', '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^model: y_network \(specs\/y-network.yaml\), 208,394 parameters$/m);
    const [e1, e2] = epochs(out);
    expect(e2!.loss).toBeLessThan(e1!.loss);
    const meta = readModelDir(join(out, 'model')).meta!;
    expect(meta.inputs).toEqual([{ name: 'left_input', reads: 'image' }, { name: 'right_input', reads: 'image' }]);
  }, 120_000);

  it('usage problems are clear: a second run in the same --out, a wrong dataset for the model', async () => {
    const out = tmp();
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'last.json'), JSON.stringify({ checkpoint: 'checkpoints/epoch-001', epoch: 1, reason: 'best' }));
    await expect(train({ spec: spec('mnist-cnn.yaml'), out })).rejects.toThrow(/already holds a training run \(last checkpoint checkpoints\/epoch-001, epoch 1\); pass --resume to continue it, --force to start over/);
    const foreign = tmp();
    mkdirSync(join(foreign, 'model'));
    writeFileSync(join(foreign, 'model', 'model.json'), '{"format": "layers-model"}');
    await expect(train({ spec: spec('mnist-cnn.yaml'), out: foreign })).rejects.toThrow(/model.json exists and was not written by modelspec; pass --force to replace it/);
    const r = await cli(['train', 'specs/mnist-cnn.yaml', '--dataset', 'cifar10', '--data-dir', tmp(), '--out', tmp()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/modelspec train: CIFAR-10: data_batch_1.bin not found in/);
    const r2 = await cli(['train', 'specs/mnist-cnn.yaml', '--resume', '--out', tmp()]);
    expect([r2.code, r2.stderr]).toEqual([1, expect.stringMatching(/--resume: .* holds no checkpoint \(no last.json\)/)]);
  }, 60_000);
});

/** A small CIFAR-format set: 4 classes told apart by colour, with noise; 5 training batches + a test batch. */
function writeSmallCifar(dir: string, perFile: number, testCount: number): void {
  mkdirSync(dir, { recursive: true });
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const batch = (n: number) => {
    const labels = Array.from({ length: n }, (_, i) => i % 4);
    const images = new Uint8Array(n * 3072);
    labels.forEach((l, k) => {
      const colour = [l & 1 ? 200 : 50, l & 2 ? 200 : 50, 120];
      for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) images[k * 3072 + 3 * p + c] = Math.max(0, Math.min(255, colour[c]! + Math.round((rand() - 0.5) * 120)));
    });
    return encodeCifarBatch(images, labels);
  };
  for (const f of CIFAR10_TRAIN_FILES) writeFileSync(join(dir, f), batch(perFile));
  writeFileSync(join(dir, CIFAR10_TEST_FILE), batch(testCount));
}

describe('ResNet20v1 on a small CIFAR-format set, with the seed recipe', () => {
  it('trains with augmentation, the schedule, ReduceLROnPlateau and best-only checkpoints; loss falls', async () => {
    const data = tmp();
    writeSmallCifar(data, 16, 16);
    const out = tmp();
    const r = await cli(['train', 'specs/resnet-v1.yaml', '--data-dir', data, '--epochs', '3', '--batch-size', '16', '--out', out, '--no-progress']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^model: resnet_v1 \(specs\/resnet-v1.yaml\), 274,442 parameters$/m);
    expect(r.stdout).toMatch(/^data: cifar10, 80 training \/ 16 test images 32x32x3, per-pixel mean subtracted$/m);
    expect(r.stdout).toMatch(/piecewise schedule \(epoch > 80\/120\/160\/180\); ReduceLROnPlateau on val_loss \(factor 0.316228, patience 5\); augmentation \(shifts 0.1\/0.1, horizontal flips\); checkpoints: best only on val_accuracy/);
    const es = epochs(out);
    expect(es.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(es[2]!.loss).toBeLessThan(es[0]!.loss);
    expect(es.every((e) => e.lr === 1e-3)).toBe(true);
    const state = readCheckpoint(join(out, readPointer(out, 'last')!.checkpoint)).state;
    expect(state.plateau).toMatchObject({ wait: expect.any(Number), cooldownCounter: 0 });
    expect(existsSync(join(out, 'model', 'pixel_mean.bin'))).toBe(true);
    expect(readFileSync(join(out, 'model', 'pixel_mean.bin')).length).toBe(32 * 32 * 3 * 4);
    // Checkpoints exist exactly for the epochs that improved val_accuracy.
    let best = -Infinity;
    const improved = es.filter((e) => (e.val_accuracy! > best ? ((best = e.val_accuracy!), true) : false)).map((e) => `epoch-${String(e.epoch).padStart(3, '0')}`);
    expect(readdirSync(join(out, 'checkpoints')).filter((f) => f.startsWith('epoch-')).sort()).toEqual(improved);
  }, 150_000);
});

describe('interruptions', () => {
  it('SIGKILL mid-epoch: the last checkpoint is intact, --resume continues the epoch count', async () => {
    const out = tmp();
    const args = ['train', 'specs/mnist-cnn.yaml', '--max-examples', '384', '--batch-size', '32', '--epochs', '4', '--out', out, '--no-progress'];
    const killed = await cli(args, { pattern: /^epoch 2\/4: /m, signal: 'SIGKILL' });
    expect(killed.matched).toBe(true);
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.stdout).not.toMatch(/^epoch 3\/4: /m);
    const last = readPointer(out, 'last')!;
    expect(last.epoch).toBe(2);
    const ckpt = readCheckpoint(join(out, last.checkpoint)); // throws on a partial folder
    expect(ckpt.state.epoch).toBe(2);
    expect(ckpt.state.partial).toBeUndefined();
    expect(ckpt.state.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(ckpt.model.weights.length).toBe(80_266 * 4);
    expect(existsSync(join(out, 'model'))).toBe(false);

    const resumed = await cli(['train', 'specs/mnist-cnn.yaml', '--resume', '--out', out, '--no-progress']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`resuming from .*${last.checkpoint} \\(2 epochs done\\): continuing at epoch 3`));
    expect(resumed.stdout).not.toMatch(/^epoch [12]\/4: /m);
    expect(resumed.stdout).toMatch(/^epoch 3\/4: [^]*^epoch 4\/4: /m);
    expect(epochs(out).map((e) => e.epoch)).toEqual([1, 2, 3, 4]);
    expect(events(out).map((e) => e.event)).toEqual(['start', 'epoch', 'epoch', 'resume', 'epoch', 'epoch', 'end']);
    expect(readCheckpoint(join(out, readPointer(out, 'last')!.checkpoint)).state.epoch).toBe(4);
    expect(readModelDir(join(out, 'model')).meta?.epoch).toBe(4);
  }, 120_000);

  it('SIGINT mid-epoch saves a checkpoint and exits with 130; --resume continues from that batch', async () => {
    const out = tmp();
    const args = ['train', 'specs/mnist-cnn.yaml', '--max-examples', '640', '--batch-size', '32', '--epochs', '2', '--out', out, '--no-progress', '--set', 'filters=16'];
    const r = await cli(args, { pattern: /^epoch 1\/2: /m, signal: 'SIGINT' });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: stopping after this batch and saving a checkpoint/);
    const m = /^interrupted in epoch 2 after batch (\d+) of 20: saved .*(checkpoints\/interrupted-epoch-002-batch-\d+); continue with --resume$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const last = readPointer(out, 'last')!;
    expect(last.checkpoint).toBe(m![2]);
    const state = readCheckpoint(join(out, last.checkpoint)).state;
    expect(state).toMatchObject({ epoch: 1, reason: 'interrupted', partial: { batch: Number(m![1]) } });

    const resumed = await cli(['train', 'specs/mnist-cnn.yaml', '--resume', '--out', out, '--no-progress']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`continuing at epoch 2, batch ${Number(m![1]) + 1} of 20`));
    expect(resumed.stdout).toMatch(/^model: mnist_cnn \(specs\/mnist-cnn.yaml, --set filters=16\)/m);
    expect(epochs(out).map((e) => e.epoch)).toEqual([1, 2]);
    expect(readdirSync(join(out, 'checkpoints')).some((f) => f.startsWith('interrupted-'))).toBe(false);
  }, 120_000);
});

describe('in the library', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await loadTf('wasm')).tf;
  });

  it('over 3 epochs tf.memory().numTensors does not grow, and all is released at the end', async () => {
    const data = prepare(loadMnist({ limit: 96 }), { subtractPixelMean: false });
    const start = tf.memory().numTensors;
    const counts: number[] = [];
    const r = await train({
      spec: spec('mnist-cnn.yaml'), set: ['filters=8'], tf, data, out: tmp(), progress: 'none',
      overrides: { epochs: 3, batch_size: 32 },
      onEpochEnd: () => { counts.push(tf.memory().numTensors); },
    });
    expect(r.status).toBe('done');
    expect(counts).toHaveLength(3);
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
    expect(tf.memory().numTensors).toBe(start);
  }, 60_000);

  it('a NaN loss stops training with a clear message', async () => {
    // NaN pixels: the first step turns the weights into NaN, so the L2 penalty makes the second loss NaN.
    const data = prepare(loadMnist({ limit: 64 }), { subtractPixelMean: false });
    data.train.x.fill(NaN);
    const start = tf.memory().numTensors;
    const out = tmp();
    const err = await train({ spec: `${ROOT}test/fixtures/train/tiny-dense.yaml`, tf, data, out, progress: 'none' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainError);
    expect((err as Error).message).toBe('the loss became NaN at epoch 1, batch 2: training stopped (lower the learning rate, or check the data for NaN or infinite values)');
    expect(events(out).at(-1)).toMatchObject({ event: 'stopped', epoch: 1, batch: 2 });
    expect(tf.memory().numTensors).toBe(start);
  }, 60_000);
});
