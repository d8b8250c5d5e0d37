/**
 * NumPy's array files, read as numpy writes them: `.npy` (a magic string, a version, a header
 * that is a Python dict literal with descr, fortran_order and shape, then the data in C order)
 * and `.npz` (a zip of .npy members, np.savez stored, np.savez_compressed deflated). Only the
 * header is read when an array is opened; rows are read on demand with positioned reads, so an
 * array larger than the memory budget is read in chunks (`forEachChunk`), never whole. Members
 * of a stored .npz are read in place in the zip the same way; a deflated member is inflated into
 * memory, and refused when it would exceed the budget.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { regularFileSize } from '../../io/read.js';
import { DataError } from './idx.js';

export type NpyDtype = 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'float32' | 'float64';

const DESCR: Record<string, NpyDtype> = {
  b1: 'bool', i1: 'int8', u1: 'uint8', i2: 'int16', u2: 'uint16', i4: 'int32', u4: 'uint32', i8: 'int64', f4: 'float32', f8: 'float64',
};
const SIZE: Record<NpyDtype, number> = { bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, float32: 4, float64: 8 };

/** The default memory budget for one array: larger ones are read in chunks of at most this many bytes. */
export const ARRAY_BUDGET_BYTES = 256 * 1024 * 1024;

export interface NpyArray {
  /** The file (and member, for .npz) for messages: `x.npz:images`. */
  what: string;
  dtype: NpyDtype;
  littleEndian: boolean;
  shape: number[];
  /** Where the data starts in `file`, or in `bytes` when the data is in memory. */
  file?: string;
  offset: number;
  bytes?: Uint8Array;
}

/** Elements per row (every axis but the first) and the rows (the first axis). */
export const rowsOf = (a: NpyArray) => (a.shape.length ? a.shape[0]! : 1);
export const rowSize = (a: NpyArray) => a.shape.slice(1).reduce((x, y) => x * y, 1);

/** Parse an .npy header from its first bytes: the header and the offset of the data. */
export function parseNpyHeader(buf: Uint8Array, what: string): { dtype: NpyDtype; littleEndian: boolean; shape: number[]; dataOffset: number } {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) throw new DataError(`${what} is not a NumPy .npy array (no \\x93NUMPY magic at its start)`);
  const major = buf[6]!;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const [len, start] = major === 1 ? [view.getUint16(8, true), 10] : major <= 3 ? [view.getUint32(8, true), 12] : [-1, 0];
  if (len < 0) throw new DataError(`${what}: .npy format version ${major} is not one numpy writes (1, 2 or 3)`);
  if (buf.length < start + len) throw new DataError(`${what} is truncated inside its header`);
  const header = new TextDecoder().decode(buf.subarray(start, start + len));
  const descr = /'descr'\s*:\s*'([<>|=])([a-z]\d+)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new DataError(`${what}: the .npy header is not one numpy writes: ${header.trim()}`);
  const dtype = DESCR[descr[2]!];
  if (!dtype) throw new DataError(`${what} holds ${descr[1]}${descr[2]} values; modelspec reads bool, int8/16/32/64, uint8/16/32, float32 and float64`);
  if (fortran[1] === 'True') throw new DataError(`${what} is in Fortran order; save it in C order (np.ascontiguousarray) and try again`);
  const dims = shape[1]!.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { dtype, littleEndian: descr[1] !== '>', shape: dims, dataOffset: start + len };
}

function readAt(file: string, position: number, length: number, into?: Uint8Array): Uint8Array {
  const out = into ? into.subarray(0, length) : new Uint8Array(length);
  const fd = openSync(file, 'r');
  try {
    let done = 0;
    while (done < length) {
      const n = readSync(fd, out, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? out : out.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** Open an .npy file: its header only. */
export function openNpy(path: string): NpyArray {
  const size = regularFileSize(path);
  const head = readAt(path, 0, Math.min(size, 65536 + 12));
  const h = parseNpyHeader(head, path);
  checkLength(h, size - h.dataOffset, path);
  return { what: path, dtype: h.dtype, littleEndian: h.littleEndian, shape: h.shape, file: path, offset: h.dataOffset };
}

function checkLength(h: { dtype: NpyDtype; shape: number[] }, available: number, what: string): void {
  const need = h.shape.reduce((a, b) => a * b, 1) * SIZE[h.dtype];
  if (available < need) throw new DataError(`${what} is truncated: its header declares shape (${h.shape.join(', ')}) of ${h.dtype}, ${need} bytes, but ${available} follow`);
}

/** Open every member of an .npz archive, by name (`x.npy` -> `x`). */
export function openNpz(path: string, budget = ARRAY_BUDGET_BYTES): Record<string, NpyArray> {
  const size = regularFileSize(path);
  const tail = readAt(path, Math.max(0, size - 65557), Math.min(size, 65557));
  const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new DataError(`${path} is not an .npz archive (no zip directory at its end)`);
  const entries = tv.getUint16(eocd + 10, true);
  let cdSize = tv.getUint32(eocd + 12, true), cdOffset = tv.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff) {
    // Zip64: the end-of-directory locator just before, pointing at the zip64 record.
    const loc = eocd - 20;
    const rec = Number(tv.getBigUint64(loc + 8, true));
    const r = new DataView(readAt(path, rec, 56).buffer);
    cdSize = Number(r.getBigUint64(40, true));
    cdOffset = Number(r.getBigUint64(48, true));
  }
  const cd = readAt(path, cdOffset, cdSize);
  const v = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const out: Record<string, NpyArray> = {};
  for (let i = 0, p = 0; i < entries; i++) {
    if (v.getUint32(p, true) !== 0x02014b50) throw new DataError(`${path}: the zip directory is damaged`);
    const method = v.getUint16(p + 10, true);
    let csize = v.getUint32(p + 20, true), usize = v.getUint32(p + 24, true), local = v.getUint32(p + 42, true);
    const nameLen = v.getUint16(p + 28, true), extraLen = v.getUint16(p + 30, true), commentLen = v.getUint16(p + 32, true);
    const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
    // Zip64 sizes and offset, in the order the 0xffffffff fields appear.
    for (let e = p + 46 + nameLen; e < p + 46 + nameLen + extraLen;) {
      const id = v.getUint16(e, true), len = v.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        if (usize === 0xffffffff) { usize = Number(v.getBigUint64(q, true)); q += 8; }
        if (csize === 0xffffffff) { csize = Number(v.getBigUint64(q, true)); q += 8; }
        if (local === 0xffffffff) local = Number(v.getBigUint64(q, true));
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (!name.endsWith('.npy')) continue;
    const lh = new DataView(readAt(path, local, 30).buffer);
    const dataStart = local + 30 + lh.getUint16(26, true) + lh.getUint16(28, true);
    const key = name.slice(0, -4);
    const what = `${path}:${key}`;
    if (method === 0) {
      const h = parseNpyHeader(readAt(path, dataStart, Math.min(usize, 65536 + 12)), what);
      checkLength(h, usize - h.dataOffset, what);
      out[key] = { what, dtype: h.dtype, littleEndian: h.littleEndian, shape: h.shape, file: path, offset: dataStart + h.dataOffset };
    } else if (method === 8) {
      if (usize > budget) throw new DataError(`${what} is compressed and ${usize} bytes when inflated, over the ${budget}-byte memory budget; save it with np.savez (stored, read in chunks) or as an .npy file`);
      const bytes = new Uint8Array(inflateRawSync(readAt(path, dataStart, csize)));
      const h = parseNpyHeader(bytes, what);
      checkLength(h, bytes.length - h.dataOffset, what);
      out[key] = { what, dtype: h.dtype, littleEndian: h.littleEndian, shape: h.shape, offset: h.dataOffset, bytes };
    } else {
      throw new DataError(`${what} uses zip compression method ${method}; numpy writes stored (0) or deflated (8) members`);
    }
  }
  return out;
}

/** Open an array file: .npy (one array, named by the file) or .npz (its members). */
export function openArrays(path: string, budget = ARRAY_BUDGET_BYTES): Record<string, NpyArray> {
  if (path.endsWith('.npz')) return openNpz(path, budget);
  if (path.endsWith('.npy')) return { [path.replace(/^.*[\\/]/, '').slice(0, -4)]: openNpy(path) };
  throw new DataError(`${path}: array files are .npy or .npz`);
}

/**
 * Rows [start, start + count) of an array, as float32 (every dtype converted), row after row;
 * `into` and `scratch` (the file's bytes) are reused when given.
 */
export function readRows(a: NpyArray, start: number, count: number, into?: Float32Array, scratch?: Uint8Array): Float32Array {
  const per = rowSize(a), size = SIZE[a.dtype];
  const n = count * per;
  const raw = a.bytes
    ? a.bytes.subarray(a.offset + start * per * size, a.offset + (start + count) * per * size)
    : readAt(a.file!, a.offset + start * per * size, n * size, scratch);
  const out = into ?? new Float32Array(n);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = a.littleEndian;
  switch (a.dtype) {
    case 'bool': case 'uint8': for (let i = 0; i < n; i++) out[i] = raw[i]!; break;
    case 'int8': for (let i = 0; i < n; i++) out[i] = v.getInt8(i); break;
    case 'int16': for (let i = 0; i < n; i++) out[i] = v.getInt16(2 * i, le); break;
    case 'uint16': for (let i = 0; i < n; i++) out[i] = v.getUint16(2 * i, le); break;
    case 'int32': for (let i = 0; i < n; i++) out[i] = v.getInt32(4 * i, le); break;
    case 'uint32': for (let i = 0; i < n; i++) out[i] = v.getUint32(4 * i, le); break;
    case 'int64': for (let i = 0; i < n; i++) out[i] = Number(v.getBigInt64(8 * i, le)); break;
    case 'float32': for (let i = 0; i < n; i++) out[i] = v.getFloat32(4 * i, le); break;
    case 'float64': for (let i = 0; i < n; i++) out[i] = v.getFloat64(8 * i, le); break;
  }
  return out;
}

/**
 * Every row of an array, in chunks: the file's bytes and their float32 values together stay
 * within `budget` bytes (two buffers, allocated once and reused).
 */
export function forEachChunk(a: NpyArray, budget: number, fn: (rows: Float32Array, start: number, count: number) => void): void {
  const per = rowSize(a);
  const rowsPer = Math.max(1, Math.floor(budget / Math.max(1, per * (4 + SIZE[a.dtype]))));
  const rows = Math.min(rowsPer, rowsOf(a));
  const buf = new Float32Array(rows * per);
  const scratch = a.bytes ? undefined : new Uint8Array(rows * per * SIZE[a.dtype]);
  for (let start = 0; start < rowsOf(a); start += rowsPer) {
    const count = Math.min(rowsPer, rowsOf(a) - start);
    fn(readRows(a, start, count, buf.subarray(0, count * per), scratch), start, count);
  }
}

/** What a model input or output takes: its name, its shape without the batch axis (null: any), and whether it takes integers. */
export interface Expected {
  name: string;
  role: 'input' | 'output';
  shape: (number | null)[];
  integer?: boolean;
}

const INTEGER: readonly NpyDtype[] = ['bool', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64'];

/**
 * The arrays checked against what the model takes, before anything trains: one array per
 * input and output by name, its shape (batch axis aside) and dtype, and the same number of rows
 * in all. Returns that number.
 */
export function checkArrays(arrays: Record<string, NpyArray>, expected: readonly Expected[], opts: { sparse?: readonly string[] } = {}): number {
  let rows: { n: number; what: string } | undefined;
  for (const e of expected) {
    const a = Object.hasOwn(arrays, e.name) ? arrays[e.name] : undefined;
    if (!a) throw new DataError(`no array for ${e.role} '${e.name}': the arrays are ${Object.keys(arrays).join(', ') || 'none'}; name one '${e.name}' (np.savez(file, ${e.name}=...))`);
    const want = opts.sparse?.includes(e.name) ? e.shape.slice(0, -1) : e.shape;
    const found = a.shape.slice(1);
    const fits = found.length === want.length && want.every((d, i) => d === null || d === found[i])
      // sparse labels may also keep a last axis of 1, as Keras accepts
      || (opts.sparse?.includes(e.name) && found.length === want.length + 1 && found[found.length - 1] === 1);
    const dims = (s: (number | null)[]) => `[${s.map((d) => d ?? 'None').join(', ')}]`;
    if (!fits) throw new DataError(`${e.role} '${e.name}' takes samples of shape ${dims(want)}, but ${a.what} holds ${a.shape[0] ?? 1} samples of shape ${dims(found)} (array shape (${a.shape.join(', ')}))`);
    if (e.integer && !INTEGER.includes(a.dtype)) throw new DataError(`${e.role} '${e.name}' takes integer token ids (int32), but ${a.what} holds ${a.dtype} values; save it as an integer array (x.astype('int32'))`);
    if (rows && rows.n !== rowsOf(a)) throw new DataError(`${a.what} has ${rowsOf(a)} samples but ${rows.what} has ${rows.n}; every input and output needs one row per sample`);
    rows ??= { n: rowsOf(a), what: a.what };
  }
  return rows?.n ?? 0;
}
