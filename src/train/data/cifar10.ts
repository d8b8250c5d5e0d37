/**
 * CIFAR-10, binary version: data_batch_1.bin .. data_batch_5.bin and test_batch.bin, each a run of
 * 3,073-byte records (1 label byte, then 3,072 pixel bytes: the 1,024 red values of the 32x32
 * image row by row, then green, then blue). Read from a local folder (--data-dir, or the cache);
 * downloaded into the cache only when asked (--download) and the network allows.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { describeReadError, MAX_DATA_BYTES, readFileBounded } from '../../io/read.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { writeFileAtomic, makeFolders } from '../../io/atomic.js';
import { DataError } from './idx.js';
import { CIFAR10_CLASSES, type RawDataset, type Split } from './dataset.js';

export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
const PIXELS = 32 * 32;
const RECORD = 1 + 3 * PIXELS;

/** The default cache folder: $MODELSPEC_CACHE_DIR/datasets/cifar-10-batches-bin, else ~/.cache/modelspec/... */
export function defaultCifarDir(): string {
  const base = process.env.MODELSPEC_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'modelspec');
  return join(base, 'datasets', 'cifar-10-batches-bin');
}

/** The folder that holds the .bin files: DIR itself, or DIR/cifar-10-batches-bin as the archive extracts. */
function batchesDir(dir: string): string {
  if (!existsSync(join(dir, CIFAR10_TEST_FILE)) && existsSync(join(dir, 'cifar-10-batches-bin', CIFAR10_TEST_FILE))) return join(dir, 'cifar-10-batches-bin');
  return dir;
}

/** Decode CIFAR-10 binary records into NHWC uint8 images and labels. */
export function parseCifarBatch(buf: Uint8Array, what: string, maxRecords = Infinity): Split {
  if (buf.length % RECORD !== 0) {
    throw new DataError(`${what} is truncated or not a CIFAR-10 binary batch: ${buf.length.toLocaleString('en-US')} bytes is not a whole number of ${RECORD}-byte records (1 label byte + 3,072 pixel bytes)`);
  }
  const count = Math.min(buf.length / RECORD, maxRecords);
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  for (let r = 0; r < count; r++) {
    const o = r * RECORD;
    const label = buf[o]!;
    if (label > 9) throw new DataError(`${what}: record ${r} has label ${label}; CIFAR-10 labels are 0-9`);
    labels[r] = label;
    const base = r * 3 * PIXELS;
    for (let p = 0; p < PIXELS; p++) {
      images[base + 3 * p] = buf[o + 1 + p]!;
      images[base + 3 * p + 1] = buf[o + 1 + PIXELS + p]!;
      images[base + 3 * p + 2] = buf[o + 1 + 2 * PIXELS + p]!;
    }
  }
  return { images, labels, count };
}

/** Encode NHWC uint8 images and labels as CIFAR-10 binary records (tests write their data with it). */
export function encodeCifarBatch(images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(labels.length * RECORD);
  for (let r = 0; r < labels.length; r++) {
    const o = r * RECORD;
    out[o] = labels[r]!;
    for (let p = 0; p < PIXELS; p++) {
      for (let c = 0; c < 3; c++) out[o + 1 + c * PIXELS + p] = images[r * 3 * PIXELS + 3 * p + c]!;
    }
  }
  return out;
}

function readBatch(dir: string, file: string, maxRecords?: number): Split {
  const path = join(dir, file);
  let buf: Buffer;
  try {
    buf = readFileBounded(path, MAX_DATA_BYTES);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw missing(dir, file);
    throw new DataError(`CIFAR-10: cannot read ${path} (${describeReadError(e)})`);
  }
  return parseCifarBatch(buf, `CIFAR-10 ${path}`, maxRecords);
}

function missing(dir: string, file: string): DataError {
  return new DataError(
    `CIFAR-10: ${file} not found in ${dir}. Put the binary version there (cifar-10-binary.tar.gz extracted: ${CIFAR10_TRAIN_FILES.join(', ')}, ${CIFAR10_TEST_FILE}; `
    + `or the folder cifar-10-batches-bin), point --data-dir at it, or pass --download to fetch it into ${dir} (needs network access)`,
  );
}

function concat(parts: Split[]): Split {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const images = new Uint8Array(count * 3 * PIXELS);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const p of parts) {
    images.set(p.images, n * 3 * PIXELS);
    labels.set(p.labels, n);
    n += p.count;
  }
  return { images, labels, count };
}

export interface CifarOptions {
  dataDir?: string;
  limit?: number;
  /** Fetch the archive into the folder when the files are missing. */
  download?: boolean;
  /** Progress messages (the download). */
  log?: (line: string) => void;
}

export async function loadCifar10(opts: CifarOptions = {}): Promise<RawDataset> {
  let dir = batchesDir(opts.dataDir ?? defaultCifarDir());
  const present = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].every((f) => existsSync(join(dir, f)));
  if (!present && opts.download) {
    await downloadCifar10(dir, opts.log ?? (() => {}));
    dir = batchesDir(dir);
  }
  // Training batches in order, only as many as --max-examples needs.
  const parts: Split[] = [];
  let need = opts.limit ?? Infinity;
  for (const f of CIFAR10_TRAIN_FILES) {
    if (need <= 0) break;
    if (!existsSync(join(dir, f))) throw missing(dir, f);
    const s = readBatch(dir, f, need);
    parts.push(s);
    need -= s.count;
  }
  const test = readBatch(dir, CIFAR10_TEST_FILE, opts.limit);
  return { name: 'cifar10', imageShape: [32, 32, 3], classes: CIFAR10_CLASSES, train: concat(parts), test, source: dir };
}

/** Download the binary archive and extract its .bin files into `dir`. */
export async function downloadCifar10(dir: string, log: (line: string) => void, url = CIFAR10_URL): Promise<void> {
  log(`downloading CIFAR-10 from ${url} into ${dir} ...`);
  let body: Uint8Array;
  try {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    body = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new DataError(`CIFAR-10: the download from ${url} failed (${cause?.code ?? cause?.message ?? (e as Error).message}); without network access, copy the binary version into ${dir} yourself`);
  }
  const n = extractCifarArchive(body, dir);
  log(`extracted ${n} files into ${dir}`);
}

/** Extract the .bin files of cifar-10-binary.tar.gz (a gzip'd ustar archive) into `dir`; returns how many. */
export function extractCifarArchive(targz: Uint8Array, dir: string): number {
  let tar: Uint8Array;
  try {
    tar = gunzipSync(targz);
  } catch (e) {
    throw new DataError(`CIFAR-10: the archive is not gzip data (${(e as Error).message})`);
  }
  makeFolders(dir);
  let written = 0;
  for (let o = 0; o + 512 <= tar.length;) {
    const header = tar.subarray(o, o + 512);
    if (header.every((b) => b === 0)) break;
    const str = (a: number, b: number) => Buffer.from(header.subarray(a, b)).toString('latin1').replace(/\0.*$/s, '');
    const name = (str(345, 500) ? `${str(345, 500)}/` : '') + str(0, 100);
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(header[156]!);
    if (Number.isNaN(size) || o + 512 + size > tar.length) throw new DataError(`CIFAR-10: the archive is truncated at ${name}`);
    const base = name.split('/').pop()!;
    if ((type === '0' || type === '\0') && base.endsWith('.bin')) {
      writeFileAtomic(join(dir, base), tar.subarray(o + 512, o + 512 + size));
      written++;
    }
    o += 512 + Math.ceil(size / 512) * 512;
  }
  if (!written) throw new DataError('CIFAR-10: the archive holds no .bin files; is it the binary version (cifar-10-binary.tar.gz)?');
  return written;
}
