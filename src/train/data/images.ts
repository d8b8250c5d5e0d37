/**
 * Image files as training data and as `predict`'s input: PNG (decoded with pngjs; any bit depth,
 * colour type or interlacing) and JPEG (decoded with jpeg-js; baseline and progressive), to uint8
 * pixels with the channels the model takes (1: grey, 3: RGB), and resized as Keras resizes
 * (`tf.image.resize`, bilinear, half-pixel centres, no antialiasing).
 *
 * The pixel count an image declares (PNG: its IHDR chunk; JPEG: its frame header) is checked
 * against MAX_IMAGE_PIXELS before anything is decoded, so a small file that declares 30000 x 30000
 * pixels is refused at once. Both decoders are loaded at run time, not bundled into the CLI that
 * the static commands start from.
 */
import { createRequire } from 'node:module';
import { DataError } from './idx.js';

/** Pixels of one decoded image (4096 x 4096); docs/robustness.md lists it. */
export const MAX_IMAGE_PIXELS = 4096 * 4096;

export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  /** uint8 pixels, HWC. */
  pixels: Uint8Array;
}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47] as const;
export const isPng = (buf: Uint8Array): boolean => PNG_SIGNATURE.every((b, i) => buf[i] === b);
/** A JPEG starts with its SOI marker, FF D8, and a next marker. */
export const isJpeg = (buf: Uint8Array): boolean => buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;

export function checkPixels(path: string, width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS) {
    throw new DataError(`${path}: the image declares ${width} x ${height} pixels; the limit is ${MAX_IMAGE_PIXELS.toLocaleString('en-US')} pixels (4096 x 4096): scale it down first`);
  }
}

/** Width and height from a PNG's IHDR chunk (which must come first), before decoding. */
function pngSize(buf: Uint8Array, path: string): { width: number; height: number } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 24 || b.toString('latin1', 12, 16) !== 'IHDR') throw new DataError(`${path}: not a readable PNG (no IHDR header chunk)`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}

/** Width and height from a JPEG's frame header (SOFn), found by walking its marker segments. */
function jpegSize(buf: Uint8Array, path: string): { width: number; height: number } {
  let o = 2;
  while (o + 4 <= buf.length) {
    if (buf[o] !== 0xff) break;
    const marker = buf[o + 1]!;
    if (marker === 0xff) { o++; continue; } // fill byte
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { o += 2; continue; } // no length
    const len = (buf[o + 2]! << 8) | buf[o + 3]!;
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof && o + 9 <= buf.length) return { height: (buf[o + 5]! << 8) | buf[o + 6]!, width: (buf[o + 7]! << 8) | buf[o + 8]! };
    if (marker === 0xda || marker === 0xd9 || len < 2) break; // scan data or the end, and no frame header yet
    o += 2 + len;
  }
  throw new DataError(`${path}: not a readable JPEG (no frame header before its image data)`);
}

// Loaded at run time rather than bundled into the CLI, which the static commands start from.
const load = createRequire(import.meta.url);

/** RGBA pixels -> `channels` channels; transparent pixels composited over black (MNIST's background). */
function fromRgba(data: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const pixels = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const a = data[4 * i + 3]! / 255;
    const r = data[4 * i]! * a, g = data[4 * i + 1]! * a, b = data[4 * i + 2]! * a;
    if (channels === 1) pixels[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else {
      pixels[3 * i] = Math.round(r);
      pixels[3 * i + 1] = Math.round(g);
      pixels[3 * i + 2] = Math.round(b);
    }
  }
  return pixels;
}

export function decodePng(buf: Uint8Array, path: string, channels: number): DecodedImage {
  const { PNG } = load('pngjs') as typeof import('pngjs');
  const { width: w, height: h } = pngSize(buf, path);
  checkPixels(path, w, h);
  let png: import('pngjs').PNG;
  try {
    png = PNG.sync.read(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength));
  } catch (e) {
    throw new DataError(`${path}: not a readable PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png; // RGBA, 8 bits per channel
  return { width, height, channels, pixels: fromRgba(data, width, height, channels) };
}

export function decodeJpeg(buf: Uint8Array, path: string, channels: number): DecodedImage {
  const jpeg = load('jpeg-js') as typeof import('jpeg-js');
  const { width: w, height: h } = jpegSize(buf, path);
  checkPixels(path, w, h);
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 });
  } catch (e) {
    throw new DataError(`${path}: not a readable JPEG (${String((e as Error)?.message ?? e)})`);
  }
  if (!img.width || !img.height) throw new DataError(`${path}: not a readable JPEG (no image in it)`);
  return { width: img.width, height: img.height, channels, pixels: fromRgba(img.data, img.width, img.height, channels) };
}

/** A PNG or JPEG file's bytes -> pixels with `channels` channels; undefined when it is neither. */
export function decodeImage(buf: Uint8Array, path: string, channels: number): DecodedImage | undefined {
  if (isPng(buf)) return decodePng(buf, path, channels);
  if (isJpeg(buf)) return decodeJpeg(buf, path, channels);
  return undefined;
}

/** For one output position: the two source positions and the weight of the second (TensorFlow's half-pixel scaler). */
function interpolation(outSize: number, inSize: number): { lo: Int32Array; hi: Int32Array; t: Float32Array } {
  const scale = inSize / outSize;
  const lo = new Int32Array(outSize), hi = new Int32Array(outSize), t = new Float32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    const x = (i + 0.5) * scale - 0.5;
    const f = Math.floor(x);
    lo[i] = Math.max(f, 0);
    hi[i] = Math.min(Math.ceil(x), inSize - 1);
    t[i] = x - f;
  }
  return { lo, hi, t };
}

/**
 * Bilinear resize of HWC pixels to outH x outW, as `tf.image.resize(method='bilinear')` (Keras'
 * `image_dataset_from_directory` default): half-pixel centres, edges clamped, no antialiasing.
 * Float values in the pixels' range (not rounded).
 */
export function resizeBilinear(pixels: ArrayLike<number>, h: number, w: number, c: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(outH * outW * c);
  if (h === outH && w === outW) {
    for (let i = 0; i < out.length; i++) out[i] = pixels[i]!;
    return out;
  }
  const ys = interpolation(outH, h), xs = interpolation(outW, w);
  for (let y = 0; y < outH; y++) {
    const top = ys.lo[y]! * w, bottom = ys.hi[y]! * w, ty = ys.t[y]!;
    for (let x = 0; x < outW; x++) {
      const l = xs.lo[x]!, r = xs.hi[x]!, tx = xs.t[x]!;
      for (let k = 0; k < c; k++) {
        const tl = pixels[(top + l) * c + k]!, tr = pixels[(top + r) * c + k]!;
        const bl = pixels[(bottom + l) * c + k]!, br = pixels[(bottom + r) * c + k]!;
        const upper = tl + (tr - tl) * tx, lower = bl + (br - bl) * tx;
        out[(y * outW + x) * c + k] = upper + (lower - upper) * ty;
      }
    }
  }
  return out;
}
