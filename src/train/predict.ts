/**
 * Images for `modelspec predict`: PNG files (decoded with pngjs; any bit depth, colour type or
 * interlacing) and IDX files of uint8 images, turned into the model's input: resized when their
 * size differs (bilinear), grey or RGB as the model wants, scaled to [0, 1], optionally
 * inverted, minus the training set's pixel mean when the model was trained with it.
 */
import { describeReadError, MAX_IMAGE_FILE_BYTES, readFileBounded } from '../io/read.js';
import { createRequire } from 'node:module';
import type { Tf } from '../backends/tfjs/backend.js';
import { DataError, parseIdx } from './data/idx.js';

export interface InputImage {
  /** The file, and `[i]` for the i-th image of an IDX file. */
  name: string;
  width: number;
  height: number;
  channels: number;
  /** uint8 pixels, HWC. */
  pixels: Uint8Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

/**
 * Pixels of one image `predict` decodes (4096 x 4096): checked in the PNG header (IHDR) or the IDX
 * header before anything is decoded, so a small file that declares 30000 x 30000 pixels (3.6 GB
 * of RGBA) is refused at once. docs/robustness.md lists it.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

function checkPixels(path: string, width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(`${path}: the image declares ${width} x ${height} pixels; the limit is ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} pixels (4096 x 4096): scale it down first`);
  }
}

/** Width and height from a PNG's IHDR chunk (which must come first), before decoding. */
function pngSize(buf: Buffer, path: string): { width: number; height: number } {
  if (buf.length < 24 || buf.toString('latin1', 12, 16) !== 'IHDR') throw new DataError(`${path}: not a readable PNG (no IHDR header chunk)`);
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Read one image file (PNG) or several (IDX), keeping `channels` channels (1: grey, 3: RGB). */
export function readImages(path: string, channels: number, limit = Infinity): InputImage[] {
  let buf: Buffer;
  try {
    buf = readFileBounded(path, MAX_IMAGE_FILE_BYTES);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${path}: file not found` : `${path}: cannot read (${describeReadError(e)})`);
  }
  if (PNG_SIGNATURE.every((b, i) => buf[i] === b)) return [decodePng(buf, path, channels)];
  if (buf.length >= 4 && buf[0] === 0 && buf[1] === 0) return idxImages(buf, path, channels, limit);
  throw new DataError(`${path} is neither a PNG nor an IDX file`);
}

// Loaded at run time rather than bundled into the CLI, which the static commands start from.
const load = createRequire(import.meta.url);

function decodePng(buf: Buffer, path: string, channels: number): InputImage {
  const { PNG } = load('pngjs') as typeof import('pngjs');
  const { width: w, height: h } = pngSize(buf, path);
  checkPixels(path, w, h);
  let png: import('pngjs').PNG;
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    throw new DataError(`${path}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png; // RGBA, 8 bits per channel
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    // Transparent pixels are composited over black (MNIST's background).
    const a = data[4 * i + 3]! / 255;
    const r = data[4 * i]! * a, g = data[4 * i + 1]! * a, b = data[4 * i + 2]! * a;
    if (channels === 1) pixels[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else {
      pixels[3 * i] = Math.round(r);
      pixels[3 * i + 1] = Math.round(g);
      pixels[3 * i + 2] = Math.round(b);
    }
  }
  return { name: path, width, height, channels, pixels };
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
export function toModelInput(tf: Tf, img: InputImage, shape: [number, number, number], opts: { invert?: boolean; pixelMean?: Float32Array }): Float32Array {
  const [h, w, c] = shape;
  let values: Float32Array;
  if (img.height === h && img.width === w) values = Float32Array.from(img.pixels, (v) => v / 255);
  else {
    values = tf.tidy(() => {
      const t = tf.tensor4d(Float32Array.from(img.pixels, (v) => v / 255), [1, img.height, img.width, c]);
      return tf.image.resizeBilinear(t, [h, w], true).dataSync() as Float32Array;
    });
  }
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
