/**
 * An image folder as Keras' `image_dataset_from_directory` reads one: one sub-folder per class
 * (class names in sorted order, hidden folders skipped), the images of each class found
 * recursively in sorted order, the whole file list shuffled with numpy's RandomState(seed), and
 * the last `validation_split` of it (int(split * count) files) kept for validation. PNG and JPEG
 * files are read (Keras also lists .bmp and .gif, which are refused here with their name rather
 * than left out), converted to the model input's channels and resized to its height and width
 * (bilinear, as Keras), then stored as uint8 pixels: a RawDataset like MNIST's or CIFAR-10's, its
 * validation files as the test split.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { join, relative } from 'node:path';
import { describeReadError, MAX_IMAGE_FILE_BYTES, readFileBounded } from '../../io/read.js';
import { numpyShuffle } from '../rng.js';
import { DataError } from './idx.js';
import { decodeImage, resizeBilinear } from './images.js';
import type { RawDataset, Split } from './dataset.js';

/** What `image_dataset_from_directory` lists (lower-cased endings); modelspec decodes the first three. */
const READ = ['.png', '.jpg', '.jpeg'];
const LISTED = [...READ, '.bmp', '.gif'];

/** A problem with the folder itself (not there, no class folders, a class without images), not with one of its files. */
export class ImageFolderProblem extends DataError {}

export interface ImageFolderIndex {
  /** Sub-folder names, sorted: class i is classes[i]. */
  classes: string[];
  /** Image paths, class after class, each class's in Keras' order (before the shuffle). */
  files: string[];
  labels: number[];
}

/** Python's sort order for str (code points), which Keras sorts names with. */
const byCodePoint = (a: string, b: string): number => {
  const x = [...a], y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d) return d;
  }
  return x.length - y.length;
};

function listDir(dir: string, what: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ImageFolderProblem(`${what} ${dir}: no such folder`);
    if (code === 'ENOTDIR') throw new ImageFolderProblem(`${what} ${dir} is a file, not a folder of class folders`);
    throw new ImageFolderProblem(`${what} ${dir}: cannot list it (${describeReadError(e)})`);
  }
}

/** The image files under one class folder, as Keras walks it: folders by sorted path, files by sorted name. */
function classFiles(dir: string): string[] {
  const found: { root: string; name: string }[] = [];
  const walk = (root: string) => {
    for (const e of listDir(root, 'image folder')) {
      if (e.isDirectory()) walk(join(root, e.name)); // not into linked folders, as os.walk
      else if (LISTED.some((x) => e.name.toLowerCase().endsWith(x))) found.push({ root, name: e.name });
    }
  };
  walk(dir);
  found.sort((a, b) => byCodePoint(relative(dir, a.root), relative(dir, b.root)) || byCodePoint(a.name, b.name));
  return found.map((f) => join(f.root, f.name));
}

/** The classes and files of an image folder; a folder without class folders, or a class folder without images, is an error. */
export function indexImageFolder(dir: string): ImageFolderIndex {
  const classes = listDir(dir, 'image folder')
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isFolder(join(dir, e.name)))))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (!classes.length) {
    throw new ImageFolderProblem(`image folder ${dir} holds no class folders: put the images of each class in a sub-folder named after it (${join(dir, 'cats')}/, ${join(dir, 'dogs')}/, ...)`);
  }
  const files: string[] = [], labels: number[] = [];
  classes.forEach((c, i) => {
    const found = classFiles(join(dir, c));
    if (!found.length) throw new ImageFolderProblem(`image folder ${dir}: the class folder '${c}' holds no images (.png, .jpg, .jpeg); every class needs at least one`);
    for (const f of found) {
      files.push(f);
      labels.push(i);
    }
  });
  return { classes, files, labels };
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export interface ImageFolderOptions {
  /** The folder of class folders. */
  path: string;
  /** [height, width, channels] the images are brought to (the model input's). */
  imageShape: [number, number, number];
  /** The fraction of the (shuffled) files kept for validation, from the end; 0: none. */
  validationSplit: number;
  /** Seed of the shuffle (numpy's RandomState). */
  seed: number;
  /** The first N files of each subset. */
  limit?: number;
  /**
   * The class names a trained model has (evaluate): each class folder must be one of them, and its
   * images get that class's number; default: the folder's own classes.
   */
  classes?: readonly string[];
}

/** Keras' split of the shuffled files: the last int(split * n) for validation, the rest for training. */
export function splitFiles(n: number, validationSplit: number, seed: number): { train: number[]; validation: number[] } {
  const order = numpyShuffle(n, seed);
  const nVal = Math.floor(validationSplit * n);
  return { train: order.slice(0, n - nVal), validation: order.slice(n - nVal) };
}

/** Read, decode and resize the listed files into one split. */
function readSplit(files: readonly string[], labels: readonly number[], picks: readonly number[], shape: [number, number, number], classCount: number): Split {
  const [h, w, c] = shape;
  const size = h * w * c;
  const images = new Uint8Array(picks.length * size);
  const out = classCount > 256 ? new Uint16Array(picks.length) : new Uint8Array(picks.length);
  picks.forEach((k, i) => {
    const path = files[k]!;
    let buf: Buffer;
    try {
      buf = readFileBounded(path, MAX_IMAGE_FILE_BYTES);
    } catch (e) {
      throw new DataError(`${path}: cannot read (${describeReadError(e)})`);
    }
    const img = decodeImage(buf, path, c);
    if (!img) throw new DataError(`${path}: not an image modelspec reads (PNG or JPEG, found by their contents); convert it or move it out of the class folder`);
    const values = resizeBilinear(img.pixels, img.height, img.width, c, h, w);
    for (let j = 0; j < size; j++) images[i * size + j] = Math.min(255, Math.max(0, Math.round(values[j]!)));
    out[i] = labels[k]!;
  });
  return { images, labels: out, count: picks.length };
}

/** An image folder as a dataset: training files, and the validation files as its test split. */
export function loadImageFolder(o: ImageFolderOptions): RawDataset {
  const index = indexImageFolder(o.path);
  let labels = index.labels;
  const classes = o.classes ?? index.classes;
  if (o.classes) {
    const map = index.classes.map((c) => o.classes!.indexOf(c));
    const unknown = index.classes.filter((_, i) => map[i]! < 0);
    if (unknown.length) throw new DataError(`image folder ${o.path}: the class folder${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} ${unknown.length > 1 ? 'are not classes' : 'is not a class'} of the model (its classes: ${o.classes.join(', ')})`);
    labels = labels.map((l) => map[l]!);
  }
  const unread = index.files.find((f) => !READ.some((x) => f.toLowerCase().endsWith(x)));
  if (unread) throw new DataError(`${unread}: modelspec reads PNG and JPEG images, not ${unread.slice(unread.lastIndexOf('.'))}; convert it or move it out of the class folder`);
  const { train, validation } = splitFiles(index.files.length, o.validationSplit, o.seed);
  const take = (picks: number[]) => (o.limit !== undefined ? picks.slice(0, o.limit) : picks);
  return {
    name: 'image_folder',
    imageShape: o.imageShape,
    classes,
    train: readSplit(index.files, labels, take(train), o.imageShape, classes.length),
    test: readSplit(index.files, labels, take(validation), o.imageShape, classes.length),
    source: o.path,
  };
}
