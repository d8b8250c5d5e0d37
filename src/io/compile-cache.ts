/**
 * A V8 code cache for the big CommonJS packages that a command loads from node_modules: ts-morph
 * and the TypeScript compiler it bundles (13 MB of JavaScript), which every `spec2ts` parsed and
 * compiled afresh: about three quarters of a second of CPU per start (docs/performance.md).
 * Node 20 has no `module.enableCompileCache()` (22.1 has); this does what it does, for the files
 * chosen: `require` compiles them through `vm.Script` with the cached data of the last run, and
 * when there was none (or V8 refused it: another Node, other flags, another file), the code cache
 * is taken when the process exits, with the functions the command compiled, and written atomically.
 *
 * Where: node_modules/.cache/modelspec-v8/ beside the package, or, where that cannot be written
 * (a global install), a folder of the user's own under the temporary folder (mode 0700; one that
 * another user owns is not used). An entry's name is a hash of the file's path, size and mtime,
 * Node's version and the architecture; V8 itself checks the source and its flags. A cache that
 * cannot be read, is cut short or corrupt is ignored (V8 rejects it) and written again.
 * MODELSPEC_NO_COMPILE_CACHE=1 turns it off.
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, lstatSync, mkdirSync, statSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { writeFileAtomic } from './atomic.js';
import { readFileBounded } from './read.js';

/** Bytes of one cache entry (TypeScript's is ~10 MB). */
const MAX_CACHE_BYTES = 256 * 1024 * 1024;

interface Compiled {
  script: Script;
  file: string;
  accepted: boolean;
}

/** Node's internals that a require hook uses (stable since Node 0.x; v8-compile-cache and others rely on them). */
interface NodeModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string): unknown;
}
type ModuleStatics = { prototype: NodeModule; _resolveFilename(request: string, parent: NodeModule, isMain: boolean, options?: unknown): string; _extensions: unknown; _cache: unknown };

/** The cache folder: node_modules/.cache/modelspec-v8 of the package at `packageRoot`, else one in the temporary folder; undefined if neither can be used. */
export function compileCacheDir(packageRoot: string): string | undefined {
  const local = join(packageRoot, 'node_modules', '.cache', 'modelspec-v8');
  try {
    mkdirSync(local, { recursive: true });
    accessSync(local, constants.W_OK);
    return local;
  } catch {
    // (a read-only or global install)
  }
  const uid = process.getuid?.() ?? 0;
  const tmp = join(tmpdir(), `modelspec-v8-${uid}`);
  try {
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    const st = lstatSync(tmp);
    // Another user's folder (or a link to one) could hold code caches that are not ours.
    if (!st.isDirectory() || (process.getuid && st.uid !== uid) || (st.mode & 0o022) !== 0) return undefined;
    return tmp;
  } catch {
    return undefined;
  }
}

/**
 * Compile the CommonJS files whose path `select` accepts with a code cache kept in `dir`, from now
 * on in this process. Returns how many such files were loaded and how many with a cache V8 accepted.
 */
export function enableCompileCache(dir: string | undefined, select: (file: string) => boolean): { loaded(): number; accepted(): number } {
  const compiled: Compiled[] = [];
  const stats = { loaded: () => compiled.length, accepted: () => compiled.filter((c) => c.accepted).length };
  if (!dir || process.env.MODELSPEC_NO_COMPILE_CACHE === '1') return stats;
  const M = Module as unknown as ModuleStatics;
  const original = M.prototype._compile;
  M.prototype._compile = function (this: NodeModule, content: string, filename: string): unknown {
    if (!select(filename)) return original.call(this, content, filename);
    const cacheFile = join(dir, `${entryKey(filename)}.v8cache`);
    const cachedData = readEntry(cacheFile);
    // The wrapper Node itself puts around a CommonJS module; the require given is the module's own.
    const wrapper = `(function (exports, require, module, __filename, __dirname) { ${content.startsWith('#!') ? `//${content}` : content}\n});`;
    const script = new Script(wrapper, { filename, ...(cachedData ? { cachedData } : {}) });
    compiled.push({ script, file: cacheFile, accepted: cachedData !== undefined && !script.cachedDataRejected });
    const mod = this;
    const require = createRequire(filename);
    const ownRequire = Object.assign((id: string) => mod.require(id), {
      resolve: Object.assign((request: string, options?: unknown) => M._resolveFilename(request, mod, false, options), { paths: require.resolve.paths }),
      main: require.main,
      extensions: M._extensions,
      cache: M._cache,
    });
    const fn = script.runInThisContext() as (exports: unknown, require: unknown, module: unknown, filename: string, dir: string) => unknown;
    return fn.call(mod.exports, mod.exports, ownRequire, mod, filename, dirname(filename));
  };
  process.once('exit', () => {
    for (const c of compiled) {
      if (c.accepted) continue;
      try {
        const data = c.script.createCachedData();
        writeFileAtomic(c.file, Buffer.concat([digest(data), data]));
      } catch {
        // A cache is an optimisation: a full disk or a read-only folder costs only the next start's time.
      }
    }
  });
  return stats;
}

const digest = (data: Uint8Array) => createHash('sha256').update(data).digest();

/**
 * An entry's code cache, or undefined when it is missing, unreadable or corrupt. The entry is the
 * SHA-256 of the data, then the data: V8 (11, Node 20) checks the data's header, not its body, and
 * would run a code cache with flipped bits.
 */
function readEntry(file: string): Buffer | undefined {
  try {
    const entry = readFileBounded(file, MAX_CACHE_BYTES);
    const data = entry.subarray(32);
    return entry.length > 32 && digest(data).equals(entry.subarray(0, 32)) ? data : undefined;
  } catch {
    return undefined;
  }
}

/** The name of a file's cache entry: its path, size and modification time, Node's version and the architecture. */
function entryKey(file: string): string {
  const st = statSync(file);
  return createHash('sha256').update(`${file}\0${st.size}\0${st.mtimeMs}\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32);
}
