/**
 * Image folders (issue 17): the folder read as Keras' image_dataset_from_directory reads it
 * (classes sorted, files in os.walk order, the numpy-seeded shuffle and split, checked against
 * lists numpy 2.4.6 printed), the resize as tf.image.resize (checked against tfjs'
 * half-pixel resizeBilinear), PNG and JPEG; then a 3-class classifier on PNGs the test draws (and
 * one JPEG) trained through the built CLI with 2 workers: loss falls, the class names are saved
 * with the model, evaluate reads the validation files and `--data`, predict prints class names,
 * --resume continues; and each new error, compared with its golden file
 * (test/golden/image-folder/, UPDATE_GOLDEN=1 rewrites them).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../src/build.js';
import { indexImageFolder, loadImageFolder, splitFiles } from '../src/train/data/image-folder.js';
import { decodeImage, resizeBilinear } from '../src/train/data/images.js';
import { numpyShuffle } from '../src/train/rng.js';
import { readModelDir } from '../src/train/model-io.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-images-'));

interface Run { code: number | null; stdout: string; stderr: string }
function cli(args: string[], cwd = ROOT): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Compare with test/golden/image-folder/<name>.txt; UPDATE_GOLDEN=1 rewrites it (review the diff). */
function golden(name: string, actual: string): void {
  const file = join(ROOT, 'test', 'golden', 'image-folder', `${name}.txt`);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(join(ROOT, 'test', 'golden', 'image-folder'), { recursive: true });
    writeFileSync(file, actual);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const p = new PNG({ width, height });
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const [r, g, b] = pixel(x, y);
    p.data.set([r, g, b, 255], 4 * (y * width + x));
  }
  return PNG.sync.write(p);
}

const CLASSES = ['horizontal', 'vertical', 'checks'];
/** Three classes told apart by stripes, with noise; sizes vary (10x10 to 12x11) and are resized to the input's 8x8. */
function drawFolder(dir: string, perClass: number): void {
  let s = 7;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  CLASSES.forEach((c, ci) => {
    mkdirSync(join(dir, c), { recursive: true });
    for (let k = 0; k < perClass; k++) {
      writeFileSync(join(dir, c, `${k}.png`), png(10 + (k % 3), 10 + (k % 2), (x, y) => {
        const on = ci === 0 ? y % 4 < 2 : ci === 1 ? x % 4 < 2 : (x % 4 < 2) === (y % 4 < 2);
        const v = on ? 200 + rnd() * 55 : rnd() * 60;
        return [v, v * 0.8, v * 0.5];
      }));
    }
  });
  // One JPEG, written with the encoder of the library that decodes it.
  const rgba = Buffer.alloc(12 * 12 * 4);
  for (let i = 0; i < 144; i++) rgba.set([(Math.floor(i / 12) % 4 < 2 ? 230 : 20), 100, 50, 255], 4 * i);
  writeFileSync(join(dir, 'horizontal', 'photo.jpg'), jpeg.encode({ data: rgba, width: 12, height: 12 }, 95).data);
}

const SPEC = `modelspec: 1
name: stripes
inputs:
  image: {shape: [8, 8, 3]}
layers:
  - conv2d: {filters: 4, kernel_size: 3, activation: relu}
  - flatten: {}
  - dense: {units: $classes, activation: softmax}
params:
  classes: {type: int, default: 3}
training:
  dataset: {image_folder: {path: images, validation_split: 0.25, seed: 1}}
  optimizer: {adam: {learning_rate: 0.01}}
  batch_size: 8
  epochs: 3
`;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
});

describe("the folder as Keras' image_dataset_from_directory reads it", () => {
  it('classes sorted, files in os.walk order, shuffled and split as numpy and Keras do', () => {
    const dir = tmp();
    for (const f of ['b/2.png', 'b/10.png', 'a/x/1.png', 'a/x/z/3.png', 'a/x-y/2.jpg', 'a/0.JPEG', 'c/0.png']) {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), '');
    }
    mkdirSync(join(dir, '.hidden'));
    writeFileSync(join(dir, '.hidden', 'x.png'), '');
    writeFileSync(join(dir, 'a', 'notes.txt'), '');
    writeFileSync(join(dir, 'top.png'), ''); // not in a class folder: not listed, as in Keras
    symlinkSync(join(dir, 'c'), join(dir, 'd')); // a linked class folder is a class
    const index = indexImageFolder(dir);
    expect(index.classes).toEqual(['a', 'b', 'c', 'd']);
    // sorted(os.walk(...)) orders folders by their path: 'a', 'a/x', 'a/x-y', 'a/x/z' ('-' < '/'), not depth first.
    expect(index.files.map((f) => f.slice(dir.length + 1))).toEqual(['a/0.JPEG', 'a/x/1.png', 'a/x-y/2.jpg', 'a/x/z/3.png', 'b/10.png', 'b/2.png', 'c/0.png', 'd/0.png']);
    expect(index.labels).toEqual([0, 0, 0, 0, 1, 1, 2, 3]);
  });

  it("numpy's RandomState(seed).shuffle, and the last int(split * n) files for validation", () => {
    // python3 -c "import numpy as np; r = np.random.RandomState(S); l = list(range(N)); r.shuffle(l); print(l)" (numpy 2.4.6)
    expect(numpyShuffle(10, 1)).toEqual([2, 9, 6, 4, 0, 3, 1, 7, 8, 5]);
    expect(numpyShuffle(7, 0)).toEqual([6, 2, 1, 3, 0, 5, 4]);
    expect(numpyShuffle(1000, 42).slice(0, 12)).toEqual([521, 737, 740, 660, 411, 678, 626, 513, 859, 136, 811, 76]);
    expect(numpyShuffle(3, 123456)).toEqual([2, 0, 1]);
    expect(splitFiles(10, 0.25, 1)).toEqual({ train: [2, 9, 6, 4, 0, 3, 1, 7], validation: [8, 5] });
    expect(splitFiles(10, 0, 1).validation).toEqual([]);
  });

  it('resizes as tf.image.resize (bilinear, half-pixel centres), up and down', async () => {
    const { tf } = await loadTf('cpu');
    const src = Array.from({ length: 5 * 7 * 3 }, (_, i) => (i * 37) % 256);
    for (const [h, w] of [[3, 4], [8, 11], [5, 7], [1, 1]] as const) {
      const want = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(src, [1, 5, 7, 3]), [h, w], false, true).dataSync());
      const got = resizeBilinear(src, 5, 7, 3, h, w);
      expect(got.length).toBe(want.length);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 3));
    }
  });

  it('decodes PNG and JPEG to grey or RGB; a JPEG within its quality of the pixels written', () => {
    const dir = tmp();
    drawFolder(dir, 1);
    const jpg = decodeImage(readFileSync(join(dir, 'horizontal', 'photo.jpg')), 'photo.jpg', 3)!;
    expect([jpg.width, jpg.height, jpg.channels]).toEqual([12, 12, 3]);
    expect(Math.abs(jpg.pixels[0]! - 230)).toBeLessThan(12); // row 0 is bright red
    expect(Math.abs(jpg.pixels[3 * 12 * 2]! - 20)).toBeLessThan(12); // row 2 dark
    const grey = decodeImage(png(2, 1, (x) => (x ? [255, 0, 0] : [0, 0, 255])), 'p.png', 1)!;
    expect(Array.from(grey.pixels)).toEqual([29, 76]); // 0.114 * 255, 0.299 * 255
    const ds = loadImageFolder({ path: dir, imageShape: [8, 8, 1], validationSplit: 0, seed: 0 });
    expect([ds.classes, ds.train.count, ds.test.count, ds.train.images.length]).toEqual([['checks', 'horizontal', 'vertical'], 4, 0, 4 * 64]);
  });
});

describe('an image-folder classifier through the CLI', () => {
  it('trains with 2 workers (loss falls), saves its class names; evaluate, predict and --resume follow', async () => {
    const dir = tmp();
    drawFolder(join(dir, 'images'), 12);
    writeFileSync(join(dir, 'stripes.yaml'), SPEC);
    const r = await cli(['train', 'stripes.yaml', '--out', 'run', '--epochs', '2', '--workers', '2', '--backend', 'cpu', '--no-progress'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^data: image folder images \(3 classes: 'checks', 'horizontal', 'vertical'\), 28 training \/ 9 validation \(validation_split 0.25, seed 1\) images 8x8x3$/m);
    expect(r.stdout).toMatch(/^workers: 2 /m);
    expect(r.stdout).toMatch(/^validation: loss [\d.]+, accuracy [\d.]+% \(9 images\)$/m);
    const meta = readModelDir(join(dir, 'run', 'model')).meta!;
    expect(meta).toMatchObject({ dataset: 'image_folder', classes: ['checks', 'horizontal', 'vertical'], imageFolder: { path: join(dir, 'images'), validation_split: 0.25, seed: 1 } });

    const ev = await cli(['evaluate', 'run', '--backend', 'cpu'], dir);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/^data: image folder images, 9 validation images$/m);
    expect(ev.stdout).toMatch(/^true \\ predicted +check +horiz +verti$/m);
    // The validation images read again: the loss the run reported for them.
    const reported = Number(/^validation: loss ([\d.]+)/m.exec(r.stdout)![1]);
    expect(Number(/^loss ([\d.]+)/m.exec(ev.stdout)![1])).toBeCloseTo(reported, 3);

    const p = await cli(['predict', 'run', 'images/vertical/0.png', 'images/horizontal/photo.jpg', '--top', '3', '--backend', 'cpu'], dir);
    expect(p.code, p.stderr).toBe(0);
    const lines = p.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^images\/vertical\/0\.png: (checks|horizontal|vertical) \([\d.]+%\)  (checks|horizontal|vertical) \([\d.]+%\)  (checks|horizontal|vertical) \([\d.]+%\)$/);
    expect(lines[1]).toMatch(/^images\/horizontal\/photo\.jpg: (checks|horizontal|vertical) \(/);

    // --resume to a third epoch, with 2 workers: the recipe and the folder come from the checkpoint.
    const more = await cli(['train', join(dir, 'stripes.yaml'), '--out', join(dir, 'run'), '--resume', '--epochs', '3', '--workers', '2', '--backend', 'cpu', '--no-progress']);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stdout).toMatch(/^resuming from .* \(2 epochs done\): continuing at epoch 3$/m);
    const es = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; epoch: number; loss: number; val_loss?: number }).filter((e) => e.event === 'epoch');
    expect(es.map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(es[2]!.loss).toBeLessThan(es[0]!.loss);
    expect(es[0]!.val_loss).toBeDefined();

    // evaluate --data: all the images of a folder, by class name; a class the model lacks is an error.
    mkdirSync(join(dir, 'other', 'zigzag'), { recursive: true });
    writeFileSync(join(dir, 'other', 'zigzag', '0.png'), png(8, 8, () => [1, 2, 3]));
    const bad = await cli(['evaluate', 'run', '--data', 'other', '--backend', 'cpu'], dir);
    golden('evaluate-unknown-class', `$ modelspec evaluate run --data other --backend cpu\n${bad.stderr.split(dir).join('<dir>')}exit code: ${bad.code}\n`);
    const { evaluateModel } = await import('../src/train/inference.js');
    const all = await evaluateModel(join(dir, 'run'), { data: join(dir, 'images', '..', 'images'), backend: 'cpu', workers: 1 });
    expect(all).toMatchObject({ dataset: 'image_folder', split: 'all', count: 37, classes: ['checks', 'horizontal', 'vertical'] });
    expect(all.confusion.map((row) => row.reduce((a, b) => a + b, 0))).toEqual([12, 13, 12]);
  }, 60_000);
});

describe('diagnostics', () => {
  /** `modelspec train` on a copy of the spec in a fresh folder, its output with that folder shown as <dir>. */
  async function trainCase(name: string, make: (dir: string) => void, args: string[] = [], spec = SPEC): Promise<void> {
    const dir = tmp();
    writeFileSync(join(dir, 'stripes.yaml'), spec);
    make(dir);
    const all = ['train', 'stripes.yaml', '--out', 'run', '--backend', 'cpu', '--no-progress', ...args];
    const r = await cli(all, dir);
    golden(name, `$ modelspec ${all.join(' ')}\n${r.stderr.split(dir).join('<dir>')}exit code: ${r.code}\n`);
  }

  it('a folder that is not there, without class folders, a class folder without images', async () => {
    await Promise.all([
      trainCase('missing-folder', () => {}),
      trainCase('data-file-not-npz', (d) => writeFileSync(join(d, 'x.npz'), ''), ['--data', 'x.npz']), // a file is arrays, a folder an image folder
      trainCase('no-class-folders', (d) => {
        mkdirSync(join(d, 'images'));
        writeFileSync(join(d, 'images', 'a.png'), png(2, 2, () => [0, 0, 0]));
      }),
      trainCase('empty-class-folder', (d) => {
        drawFolder(join(d, 'images'), 2);
        mkdirSync(join(d, 'images', 'zebra'));
        writeFileSync(join(d, 'images', 'zebra', 'readme.txt'), 'no images yet');
      }),
    ]);
  }, 60_000);

  it('a file that does not decode, a GIF, an output that does not match the classes', async () => {
    await Promise.all([
      trainCase('undecodable-file', (d) => {
        drawFolder(join(d, 'images'), 2);
        writeFileSync(join(d, 'images', 'checks', 'broken.png'), 'not a png at all');
      }),
      trainCase('truncated-png', (d) => {
        drawFolder(join(d, 'images'), 2);
        writeFileSync(join(d, 'images', 'checks', 'cut.png'), png(10, 10, () => [9, 9, 9]).subarray(0, 60));
      }),
      trainCase('gif-file', (d) => {
        drawFolder(join(d, 'images'), 2);
        writeFileSync(join(d, 'images', 'vertical', 'anim.gif'), 'GIF89a');
      }),
      trainCase('output-size', (d) => drawFolder(join(d, 'images'), 2), ['--set', 'classes=10']),
      trainCase('validation-split-without-folder', () => {}, ['--validation-split', '0.3'], SPEC.replace(/dataset: \{image_folder: .*\}\}/, 'dataset: mnist')),
      trainCase('input-without-size', (d) => drawFolder(join(d, 'images'), 2), [], SPEC.replace('[8, 8, 3]', '[null, null, 3]').replace('conv2d: {filters: 4, kernel_size: 3, activation: relu}', 'global_average_pooling2d: {}').replace('  - flatten: {}\n', '')),
    ]);
  }, 60_000);
});
