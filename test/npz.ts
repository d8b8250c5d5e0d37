/**
 * Writing .npy and stored .npz files as numpy writes them (format 1.0, little-endian, C order;
 * np.savez's zip of members without compression), for tests that generate array datasets.
 * The reader (src/train/data/npy.ts) is checked against files numpy itself wrote in
 * test/train-arrays.test.ts; this writer is checked against the reader there too.
 */
import { writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export type NpyData = { dtype: 'float32'; data: Float32Array; shape: number[] } | { dtype: 'int32'; data: Int32Array; shape: number[] };

export function npyBytes(a: NpyData): Buffer {
  const descr = a.dtype === 'float32' ? '<f4' : '<i4';
  const shape = `(${a.shape.join(', ')}${a.shape.length === 1 ? ',' : ''})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // magic (6) + version (2) + length (2) + header + '\n', padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength)]);
}

/** A stored (np.savez) .npz archive of the named arrays. */
export function writeNpz(path: string, arrays: Record<string, NpyData>): void {
  const locals: Buffer[] = [], central: Buffer[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    const data = npyBytes(a), fname = Buffer.from(`${name}.npy`), crc = crc32(data);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0); lh.writeUInt16LE(20, 4); lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(data.length, 18); lh.writeUInt32LE(data.length, 22); lh.writeUInt16LE(fname.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0); ch.writeUInt16LE(20, 4); ch.writeUInt16LE(20, 6); ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(data.length, 20); ch.writeUInt32LE(data.length, 24); ch.writeUInt16LE(fname.length, 28); ch.writeUInt32LE(offset, 42);
    locals.push(lh, fname, data);
    central.push(ch, fname);
    offset += 30 + fname.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(Object.keys(arrays).length, 8); end.writeUInt16LE(Object.keys(arrays).length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...locals, cd, end]));
}

export const f32 = (shape: number[], data: ArrayLike<number>): NpyData => ({ dtype: 'float32', data: Float32Array.from(data), shape });
export const i32 = (shape: number[], data: ArrayLike<number>): NpyData => ({ dtype: 'int32', data: Int32Array.from(data), shape });
