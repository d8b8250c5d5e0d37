/**
 * NumPy arrays (src/train/data/npy.ts) on files numpy 2.4.6 wrote (test/fixtures/arrays/, the
 * commands in its README): .npy in several dtypes and both byte orders, stored and compressed
 * .npz, chunked reading equal to whole reading, and the checks against what a model takes that
 * run before training (naming the input, the expected and the found shape).
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkArrays, forEachChunk, openArrays, openNpy, readRows } from '../src/train/data/npy.js';
import { ROOT } from './helpers.js';

const F = (name: string) => join(ROOT, 'test', 'fixtures', 'arrays', name);

describe('.npy and .npz as numpy writes them', () => {
  it('reads float32, int64 and big-endian float64 .npy', () => {
    const x = openNpy(F('x-f4.npy'));
    expect([x.dtype, x.shape]).toEqual(['float32', [4, 3, 2]]);
    expect(Array.from(readRows(x, 0, 4))).toEqual(Array.from({ length: 24 }, (_, i) => i / 8));
    expect(Array.from(readRows(x, 2, 1))).toEqual([12, 13, 14, 15, 16, 17].map((v) => v / 8));
    const t = openNpy(F('tokens-i8.npy'));
    expect([t.dtype, t.shape, Array.from(readRows(t, 0, 2))]).toEqual(['int64', [2, 3], [1, 2, 3, 4, 5, -6]]);
    const b = openNpy(F('be-f8.npy'));
    expect([b.littleEndian, Array.from(readRows(b, 0, 1))]).toEqual([false, [1.5, -2.25]]);
  });

  it('reads a stored .npz in place and a compressed one inflated, members by name', () => {
    const pairs = openArrays(F('pairs.npz'));
    expect(Object.keys(pairs).sort()).toEqual(['left', 'right', 'same']);
    expect(pairs.left!.file).toBe(F('pairs.npz')); // stored: read from the zip, not loaded
    expect(Array.from(readRows(pairs.left!, 4, 1))).toEqual([7, 7, 7, 7]);
    expect(Array.from(readRows(pairs.same!, 0, 5))).toEqual([1, 0, 1, 1, 0]);
    const reg = openArrays(F('regression.npz'));
    expect(reg.x!.bytes).toBeDefined();
    expect(Array.from(readRows(reg.y!, 0, 6))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(readRows(reg.x!, 5, 1)[1]).toBeCloseTo(1, 6);
    // A compressed member over the budget is refused with what to do instead.
    expect(() => openArrays(F('regression.npz'), 64)).toThrow(/over the 64-byte memory budget; save it with np.savez/);
  });

  it('chunked reading gives every row once, in order, as whole reading does', () => {
    const x = openNpy(F('x-f4.npy'));
    const seen: number[] = [];
    const starts: number[] = [];
    forEachChunk(x, 6 * 8 * 3, (rows, start, count) => { // 3 rows of 6 float32 (file bytes + values) per chunk
      starts.push(start);
      seen.push(...Array.from(rows.subarray(0, count * 6)));
    });
    expect(starts).toEqual([0, 3]);
    expect(seen).toEqual(Array.from(readRows(x, 0, 4)));
  });

  it('refuses files numpy did not write as arrays, Fortran order, truncation', () => {
    expect(() => openNpy(F('README.md'))).toThrow(/not a NumPy .npy array/);
    expect(() => openNpy(F('fortran.npy'))).toThrow(/Fortran order; save it in C order/);
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-npy-'));
    const cut = join(dir, 'cut.npy');
    writeFileSync(cut, readFileSync(F('x-f4.npy')).subarray(0, 150));
    expect(() => openNpy(cut)).toThrow(/truncated: its header declares shape \(4, 3, 2\) of float32, 96 bytes, but 22 follow/);
    copyFileSync(F('x-f4.npy'), join(dir, 'x.dat'));
    expect(() => openArrays(join(dir, 'x.dat'))).toThrow(/array files are .npy or .npz/);
  });
});

describe('arrays checked against the model before training', () => {
  const pairs = () => openArrays(F('pairs.npz'));
  it('passes arrays that fit, and counts the samples', () => {
    expect(checkArrays(pairs(), [
      { name: 'left', role: 'input', shape: [2, 2, 1] },
      { name: 'right', role: 'input', shape: [null, 2, 1] },
      { name: 'same', role: 'output', shape: [1] },
    ])).toBe(5);
  });
  it('names the input, the expected and the found shape', () => {
    expect(() => checkArrays(pairs(), [{ name: 'left', role: 'input', shape: [28, 28, 1] }]))
      .toThrow(`input 'left' takes samples of shape [28, 28, 1], but ${F('pairs.npz')}:left holds 5 samples of shape [2, 2, 1] (array shape (5, 2, 2, 1))`);
    expect(() => checkArrays(pairs(), [{ name: 'image', role: 'input', shape: [2, 2, 1] }]))
      .toThrow("no array for input 'image': the arrays are left, right, same; name one 'image'");
  });
  it('token inputs take integers; sparse labels drop the class axis; every array has the same samples', () => {
    expect(() => checkArrays(pairs(), [{ name: 'right', role: 'input', shape: [2, 2, 1], integer: true }]))
      .toThrow(/takes integer token ids \(int32\), but .*holds float32 values/);
    const reg = openArrays(F('regression.npz'));
    expect(checkArrays(reg, [{ name: 'y', role: 'output', shape: [10] }], { sparse: ['y'] })).toBe(6);
    expect(() => checkArrays({ ...reg, left: pairs().left! }, [
      { name: 'x', role: 'input', shape: [2] }, { name: 'left', role: 'input', shape: [2, 2, 1] },
    ])).toThrow(/has 5 samples but .*regression.npz:x has 6/);
  });
});
