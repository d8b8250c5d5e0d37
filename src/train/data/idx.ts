/**
 * The IDX file format (as MNIST is distributed): two zero bytes, a type byte, the number of
 * dimensions, then each dimension as a big-endian uint32, then the data in C order
 * (multi-byte values big-endian).
 */
import { describeReadError, MAX_DATA_BYTES, readFileBounded } from '../../io/read.js';

export class DataError extends Error {}

export const IDX_TYPES = {
  0x08: 'uint8',
  0x09: 'int8',
  0x0b: 'int16',
  0x0c: 'int32',
  0x0d: 'float32',
  0x0e: 'float64',
} as const;
export type IdxType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES];
const SIZE: Record<IdxType, number> = { uint8: 1, int8: 1, int16: 2, int32: 4, float32: 4, float64: 8 };

export interface IdxArray {
  type: IdxType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Parse an IDX buffer. `what` names it in errors (a path, usually). */
export function parseIdx(buf: Uint8Array, what = 'IDX data'): IdxArray {
  if (buf.length < 4) throw new DataError(`${what} is truncated: ${buf.length} bytes, shorter than the 4-byte IDX header`);
  if (buf[0] !== 0 || buf[1] !== 0) {
    throw new DataError(`${what} is not an IDX file: it starts with 0x${hex(buf[0]!)}${hex(buf[1]!)}, not 0x0000${buf[0] === 0x1f && buf[1] === 0x8b ? ' (it is gzip-compressed: gunzip it first)' : ''}`);
  }
  const type = IDX_TYPES[buf[2] as keyof typeof IDX_TYPES];
  if (!type) throw new DataError(`${what} has an unknown IDX element type 0x${hex(buf[2]!)} (known: 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64)`);
  const ndim = buf[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) throw new DataError(`${what} is truncated: ${buf.length} bytes, shorter than its ${headerBytes}-byte header (${ndim} dimensions)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * SIZE[type];
  if (buf.length < expected) {
    throw new DataError(`${what} is truncated: ${buf.length.toLocaleString('en-US')} bytes, but its header (${type} [${shape.join(', ')}]) needs ${expected.toLocaleString('en-US')}`);
  }
  if (buf.length > expected) {
    throw new DataError(`${what} has ${(buf.length - expected).toLocaleString('en-US')} bytes after the ${count.toLocaleString('en-US')} elements its header (${type} [${shape.join(', ')}]) announces`);
  }
  const body = buf.subarray(headerBytes);
  let data: IdxArray['data'];
  switch (type) {
    // A view of the bytes read (nothing else holds them), not a copy: Uint8Array.from(body) went
    // element by element, ~1 s of CPU for MNIST's 47 MB of training images in every train run,
    // --max-examples 32 too.
    case 'uint8': data = new Uint8Array(body.buffer, body.byteOffset, count); break;
    case 'int8': data = new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + count)); break;
    default: {
      const read = {
        int16: (o: number) => view.getInt16(o, false),
        int32: (o: number) => view.getInt32(o, false),
        float32: (o: number) => view.getFloat32(o, false),
        float64: (o: number) => view.getFloat64(o, false),
      }[type];
      const Ctor = { int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array }[type];
      const arr = new Ctor(count);
      for (let i = 0; i < count; i++) arr[i] = read(headerBytes + i * SIZE[type]);
      data = arr;
    }
  }
  return { type, shape, data };
}

/** Read an IDX file; a missing or unreadable file is a DataError that names it. */
export function readIdx(path: string, what = path): IdxArray {
  let buf: Buffer;
  try {
    buf = readFileBounded(path, MAX_DATA_BYTES);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${what}: file not found (${path})` : `${what}: cannot read ${path} (${describeReadError(e)})`);
  }
  return parseIdx(buf, what);
}

/** Encode an array as IDX (tests write their own files with it; predict reads them back). */
export function encodeIdx(type: IdxType, shape: readonly number[], values: ArrayLike<number>): Uint8Array {
  const code = Number(Object.entries(IDX_TYPES).find(([, t]) => t === type)![0]);
  const header = 4 + 4 * shape.length;
  const out = new Uint8Array(header + values.length * SIZE[type]);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < values.length; i++) {
    const o = header + i * SIZE[type];
    const v = values[i]!;
    switch (type) {
      case 'uint8': view.setUint8(o, v); break;
      case 'int8': view.setInt8(o, v); break;
      case 'int16': view.setInt16(o, v, false); break;
      case 'int32': view.setInt32(o, v, false); break;
      case 'float32': view.setFloat32(o, v, false); break;
      case 'float64': view.setFloat64(o, v, false); break;
    }
  }
  return out;
}

const hex = (b: number) => b.toString(16).padStart(2, '0').toUpperCase();
