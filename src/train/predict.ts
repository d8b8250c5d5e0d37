/**
 * Images for `modelspec predict`: PNG and JPEG files (src/train/data/images.ts) and IDX files of
 * uint8 images, turned into the model's input as an image folder's images are for training:
 * grey or RGB as the model wants, resized when their size differs (bilinear, as Keras),
 * scaled to [0, 1], optionally inverted, minus the training set's pixel mean when the model
 * was trained with it.
 */
import { describeReadError, MAX_IMAGE_FILE_BYTES, readFileBounded } from '../io/read.js';
import type { Tf } from '../backends/tfjs/backend.js';
import { DataError, parseIdx } from './data/idx.js';
import { checkPixels, decodeImage, resizeBilinear } from './data/images.js';

export { MAX_IMAGE_PIXELS } from './data/images.js';

export interface InputImage {
  /** The file, and `[i]` for the i-th image of an IDX file. */
  name: string;
  width: number;
  height: number;
  channels: number;
  /** uint8 pixels, HWC. */
  pixels: Uint8Array;
}

/** Read one image file (PNG or JPEG) or several (IDX), keeping `channels` channels (1: grey, 3: RGB). */
export function readImages(path: string, channels: number, limit = Infinity): InputImage[] {
  let buf: Buffer;
  try {
    buf = readFileBounded(path, MAX_IMAGE_FILE_BYTES);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${describeReadError(e)})`);
  }
  const image = decodeImage(buf, path, channels);
  if (image) return [{ name: path, ...image }];
  if (buf.length >= 4 && buf[0] === 0 && buf[1] === 0) return idxImages(buf, path, channels, limit);
  throw new DataError(`${path} is neither a PNG, a JPEG nor an IDX file`);
}

function idxImages(buf: Buffer, path: string, channels: number, limit: number): InputImage[] {
  const a = parseIdx(buf, path);
  if (a.type !== 'uint8') throw new DataError(`${path}: IDX images must be uint8, this file holds ${a.type}`);
  let shape = a.shape;
  if (shape.length === 2) shape = [1, ...shape];
  if (shape.length === 3) shape = [...shape, 1];
  if (shape.length !== 4 || (shape[3] !== 1 && shape[3] !== 3)) throw new DataError(`${path}: expected IDX images [N, height, width] or [N, height, width, 1 or 3], found [${a.shape.join(', ')}]`);
  const [n, h, w, c] = shape as [number, number, number, number];
  checkPixels(path, w, h);
  const size = h * w * c;
  const out: InputImage[] = [];
  for (let k = 0; k < Math.min(n, limit); k++) {
    const src = (a.data as Uint8Array).subarray(k * size, (k + 1) * size);
    let pixels: Uint8Array = src;
    if (c !== channels) {
      pixels = new Uint8Array(h * w * channels);
      for (let i = 0; i < h * w; i++) {
        if (channels === 1) pixels[i] = Math.round(0.299 * src[3 * i]! + 0.587 * src[3 * i + 1]! + 0.114 * src[3 * i + 2]!);
        else pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = src[i]!;
      }
    }
    out.push({ name: n === 1 && a.shape.length === 2 ? path : `${path}[${k}]`, width: w, height: h, channels, pixels });
  }
  return out;
}

/** One image -> the model's input values [h, w, c] (float32), preprocessed as in training. */
export function toModelInput(_tf: Tf, img: InputImage, shape: [number, number, number], opts: { invert?: boolean; pixelMean?: Float32Array }): Float32Array {
  const [h, w, c] = shape;
  // Resized as an image folder's images are for training (then rounded to bytes there, so here too).
  const values = resizeBilinear(img.pixels, img.height, img.width, c, h, w);
  for (let i = 0; i < values.length; i++) values[i] = Math.min(255, Math.max(0, Math.round(values[i]!))) / 255;
  if (opts.invert) for (let i = 0; i < values.length; i++) values[i] = 1 - values[i]!;
  if (opts.pixelMean) for (let i = 0; i < values.length; i++) values[i]! -= opts.pixelMean[i]!;
  return values;
}

/** The k most probable classes, best first. */
export function topK(probs: ArrayLike<number>, k: number, classes?: readonly string[]): { label: string; index: number; probability: number }[] {
  return Array.from(probs, (p, i) => ({ index: i, probability: p, label: classes?.[i] ?? String(i) }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}
