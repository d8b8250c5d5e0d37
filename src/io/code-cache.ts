/**
 * Loading a generated CommonJS file with V8's code cache.
 *
 * The precompiled validators (dist/validate/*.generated.cjs, half a megabyte of ajv output) are
 * parsed on every start of the CLI, and the functions a spec needs are compiled on first use:
 * together 60-90 ms of a cold `modelspec check` or `diff`. The build step runs them once on the
 * project's own specs and saves V8's code cache beside them (`<file>.v8cache`); loading with it
 * skips both parsing and compiling. V8 checks that the cache fits (same V8 version and flags,
 * same source); when it does not, or is missing, the file is simply compiled as usual.
 */
import { readFileBounded, readTextBounded } from './read.js';

/** Bytes of the CLI's bundle and of its code cache. */
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';

export const CODE_CACHE_SUFFIX = '.v8cache';

/** The function around a CommonJS module's code, as Node's own loader has it. */
const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;

export interface LoadedScript<T> {
  exports: T;
  /** The V8 script, for `createCachedData()` at build time. */
  script: Script;
  /** Whether a code cache was given and accepted. */
  cached: boolean;
}

/** Run a CommonJS file as `require` would, with its code cache when there is one that fits. */
export function loadWithCodeCache<T>(file: string, opts: { useCache?: boolean } = {}): LoadedScript<T> {
  const source = readTextBounded(file, MAX_BUNDLE_BYTES);
  let cachedData: Buffer | undefined;
  if (opts.useCache !== false) {
    try {
      cachedData = readFileBounded(file + CODE_CACHE_SUFFIX, MAX_BUNDLE_BYTES);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new Script(wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const fn = script.runInThisContext() as (exports: unknown, require: NodeRequire, module: unknown, filename: string, dir: string) => void;
  const module = { exports: {} as T };
  fn.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script, cached: cachedData !== undefined && !script.cachedDataRejected };
}
