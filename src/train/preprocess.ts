/**
 * Preprocessing as in the seed: pixels scaled to [0, 1], optionally the training set's
 * per-pixel mean subtracted (train and test alike), labels one-hot.
 */
import type { Labels, RawDataset } from './data/dataset.js';

/** uint8 pixels -> float32 in [0, 1]. */
export function scaleToUnit(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]! / 255;
  return out;
}

/** The mean over samples of every pixel position (`np.mean(x_train, axis=0)`): one image. */
export function pixelMean(x: Float32Array, count: number): Float32Array {
  if (count === 0) throw new Error('pixelMean of an empty set');
  const size = x.length / count;
  const sum = new Float64Array(size);
  for (let n = 0; n < count; n++) {
    const o = n * size;
    for (let i = 0; i < size; i++) sum[i]! += x[o + i]!;
  }
  return Float32Array.from(sum, (s) => s / count);
}

/** x -= mean, per image, in place. */
export function subtractMean(x: Float32Array, mean: Float32Array): Float32Array {
  const size = mean.length;
  for (let o = 0; o < x.length; o += size) {
    for (let i = 0; i < size; i++) x[o + i]! -= mean[i]!;
  }
  return x;
}

/** Class indices -> one-hot rows (float32, count * classes). */
export function oneHot(labels: ArrayLike<number>, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(l >= 0 && l < classes)) throw new RangeError(`label ${l} at ${i} is outside 0..${classes - 1}`);
    out[i * classes + l] = 1;
  }
  return out;
}

export interface PreparedSplit {
  /** count * height * width * channels float32, NHWC, preprocessed. */
  x: Float32Array;
  labels: Labels;
  count: number;
}

export interface PreparedData {
  name: string;
  imageShape: [number, number, number];
  classes: readonly string[];
  train: PreparedSplit;
  test: PreparedSplit;
  /** The training set's per-pixel mean, when it was subtracted (saved with the model for predict). */
  pixelMean?: Float32Array;
}

export function prepare(raw: RawDataset, opts: { subtractPixelMean: boolean }): PreparedData {
  const train: PreparedSplit = { x: scaleToUnit(raw.train.images), labels: raw.train.labels, count: raw.train.count };
  const test: PreparedSplit = { x: scaleToUnit(raw.test.images), labels: raw.test.labels, count: raw.test.count };
  const out: PreparedData = { name: raw.name, imageShape: raw.imageShape, classes: raw.classes, train, test };
  if (opts.subtractPixelMean) {
    const mean = pixelMean(train.x, train.count);
    subtractMean(train.x, mean);
    subtractMean(test.x, mean);
    out.pixelMean = mean;
  }
  return out;
}
