/**
 * The V8 code cache of src/io/compile-cache.ts (spec2ts's ts-morph and TypeScript): written when a
 * process ends, used by the next, and never trusted when it is cut short or corrupt. Each case is
 * a fresh `node` process (the cache is written on exit) loading a CommonJS module through the
 * built dist/io/compile-cache.js.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const MODULE = join(ROOT, 'dist', 'io', 'compile-cache.js');
const TMP = mkdtempSync(join(tmpdir(), 'modelspec-compile-cache-'));
const PKG = join(TMP, 'node_modules', 'big');
const CACHE = join(TMP, 'cache');

/** Load the module `big` with the cache in CACHE; what it computed, and the loader's counts. */
function load(env: Record<string, string> = {}): { value: number; loaded: number; accepted: number } {
  const script = `
    import { createRequire } from 'node:module';
    import { enableCompileCache } from ${JSON.stringify(pathToFileURL(MODULE).href)};
    const stats = enableCompileCache(${JSON.stringify(CACHE)}, (f) => f.includes('/node_modules/big/'));
    const big = createRequire(${JSON.stringify(join(TMP, 'main.js'))})('big');
    console.log(JSON.stringify({ value: big.run(), loaded: stats.loaded(), accepted: stats.accepted() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, MODELSPEC_NO_COMPILE_CACHE: '', ...env } });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as { value: number; loaded: number; accepted: number };
}

const entries = () => (existsSync(CACHE) ? readdirSync(CACHE) : []);

beforeAll(() => {
  if (!existsSync(MODULE)) throw new Error('dist/io/compile-cache.js is missing: run npm run build first (npm ci does it)');
  mkdirSync(join(PKG, 'lib'), { recursive: true });
  writeFileSync(join(PKG, 'package.json'), JSON.stringify({ name: 'big', main: 'index.js' }));
  // Enough functions for a code cache worth the name; a relative require, __dirname and module.exports as Node gives them.
  const fns = Array.from({ length: 300 }, (_, i) => `function f${i}(x) { return x + ${i} * (x % 7); }`).join('\n');
  writeFileSync(join(PKG, 'index.js'), `${fns}\nconst lib = require('./lib/two.js');\nmodule.exports.run = () => f299(1) + lib.two + (__dirname.endsWith('big') ? 1000 : 0) + (require.resolve('./lib/two.js').endsWith('two.js') ? 1 : 0);\n`);
  writeFileSync(join(PKG, 'lib', 'two.js'), 'exports.two = 2;\n');
});

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe('the code cache of big CommonJS packages', () => {
  const VALUE = 1 + 299 * 1 + 2 + 1000 + 1;

  it('is written when the first process ends, and accepted by the next', () => {
    expect(load()).toEqual({ value: VALUE, loaded: 2, accepted: 0 });
    expect(entries()).toHaveLength(2);
    expect(entries().every((n) => n.endsWith('.v8cache'))).toBe(true);
    expect(load()).toEqual({ value: VALUE, loaded: 2, accepted: 2 });
  });

  it.each([
    ['cut short', (b: Buffer) => b.subarray(0, b.length >> 1)],
    ['with flipped bits in its body (V8 checks only the header)', (b: Buffer) => Buffer.from(b.map((x, i) => (i > b.length - 64 ? x ^ 0x5a : x)))],
    ['empty', () => Buffer.alloc(0)],
  ])('%s, is ignored, and written again', (_, spoil) => {
    for (const n of entries()) writeFileSync(join(CACHE, n), spoil(readFileSync(join(CACHE, n))));
    expect(load()).toEqual({ value: VALUE, loaded: 2, accepted: 0 });
    expect(load()).toEqual({ value: VALUE, loaded: 2, accepted: 2 });
  });

  it('is another entry when the file changes', () => {
    writeFileSync(join(PKG, 'lib', 'two.js'), 'exports.two = 2; // changed\n');
    expect(load()).toEqual({ value: VALUE, loaded: 2, accepted: 1 });
    expect(entries()).toHaveLength(3);
    expect(load()).toEqual({ value: VALUE, loaded: 2, accepted: 2 });
  });

  it('MODELSPEC_NO_COMPILE_CACHE=1 turns it off', () => {
    rmSync(CACHE, { recursive: true, force: true });
    expect(load({ MODELSPEC_NO_COMPILE_CACHE: '1' })).toEqual({ value: VALUE, loaded: 0, accepted: 0 });
    expect(entries()).toEqual([]);
  });
});
