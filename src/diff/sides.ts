/**
 * The two sides of a diff: a spec file, or `REV:path` read from git (its `use:` files
 * then come from the same revision), each compiled with its own `--set` values.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DEFAULT_LIMITS, limitsWith } from '../limits.js';
import { describeReadError, ReadError, readTextBounded } from '../io/read.js';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { compileSource, fsHost, parseSpec, type CompileFlags, type CompileResult, type FrontEndResult, type Host } from '../compile.js';
import { Sources } from '../diagnostics/sources.js';
import { diag } from '../diagnostics/diagnostics.js';
import type { OpRegistry } from '../ops/index.js';

export type SideSource =
  | { kind: 'file'; path: string }
  | { kind: 'git'; rev: string; path: string };

/** A path that exists is a file; otherwise `REV:path` (or `:path`, the index) names a file in git. */
export function parseSide(arg: string, cwd = process.cwd()): SideSource {
  if (existsSync(resolve(cwd, arg))) return { kind: 'file', path: arg };
  const m = /^([^:]*):(.+)$/.exec(arg);
  if (m && !/^[A-Za-z]$/.test(m[1]!)) return { kind: 'git', rev: m[1]!, path: m[2]! };
  return { kind: 'file', path: arg };
}

/** Reads files as they are at a git revision; files outside the repository from disk. */
export class GitHost implements Host {
  private readonly cache = new Map<string, string>();
  constructor(readonly top: string, readonly rev: string) {}

  static open(rev: string, cwd = process.cwd()): GitHost {
    const top = git(['rev-parse', '--show-toplevel'], cwd).trim();
    return new GitHost(top, rev);
  }

  /** The work-tree path that `path` of `REV:path` names: relative to the top, or to cwd when it starts with ./ or ../ (as git reads it). */
  pathOf(path: string, cwd = process.cwd()): string {
    if (isAbsolute(path)) return path;
    return /^\.\.?\//.test(path) ? resolve(cwd, path) : join(this.top, path);
  }

  private tree: Set<string> | undefined;

  /** Whether a path exists at the revision (the compiler looks for the project root with it). */
  exists(path: string): boolean {
    const rel = relative(this.top, path).split('\\').join('/');
    if (rel.startsWith('..') || isAbsolute(rel)) return existsSync(path);
    if (rel === '.git' || rel === '') return true;
    if (!this.tree) {
      // One listing of the revision (or the index) instead of a git process per question.
      let out = '';
      try {
        out = this.rev === '' ? git(['ls-files', '-z'], this.top) : git(['ls-tree', '-r', '--name-only', '-z', '--end-of-options', this.rev], this.top);
      } catch {
        // An unknown revision: readFile says so.
      }
      this.tree = new Set();
      for (const f of out.split('\0')) {
        if (!f) continue;
        this.tree.add(f);
        for (let i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) this.tree.add(f.slice(0, i));
      }
    }
    return this.tree.has(rel);
  }

  readFile(path: string, limit: number = DEFAULT_LIMITS.maxFileBytes): string {
    const rel = relative(this.top, path);
    if (rel.startsWith('..') || isAbsolute(rel)) return readTextBounded(path, limit);
    const hit = this.cache.get(rel);
    if (hit !== undefined) return hit;
    let text: string;
    try {
      text = git(['show', '--end-of-options', `${this.rev}:${rel.split('\\').join('/')}`], this.top, limit + 1);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOBUFS') throw new Error(`more than ${limit} bytes at ${this.rev || 'the index'}; the limit is ${limit} (maxFileBytes)`);
      const msg = String((e as { stderr?: unknown }).stderr ?? (e as Error).message);
      const err = new Error(/does not exist|exists on disk, but not in|not in the index/.test(msg) ? `not in ${this.rev || 'the index'}` : msg.trim().split('\n')[0]) as NodeJS.ErrnoException;
      if (/does not exist|exists on disk, but not in|not in the index/.test(msg)) err.code = 'ENOENT';
      throw err;
    }
    this.cache.set(rel, text);
    return text;
  }
}

/**
 * Runs git with arguments that cannot be taken for options: revisions are checked by `isRevision`
 * and follow `--end-of-options`, paths follow `--`.
 */
function git(args: string[], cwd: string, maxBuffer = 64 * 1024 * 1024): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer });
}

export interface LoadedSide {
  /** How the report names this side: `HEAD~1:specs/resnet-v1.yaml (n=18)`. */
  label: string;
  result: CompileResult;
}

export interface LoadOptions {
  set: readonly string[];
  registry: OpRegistry;
  cwd?: string;
  /** Text to compile instead of reading the side (the git diff driver's temporary files). */
  text?: string;
  /** Name of the side in the report, instead of the argument. */
  label?: string;
  /** Read `use:` files through this host (default: the side's own). */
  host?: Host;
  /** Resource limits (--limit) and whether `use:` may leave the project (--allow-outside-root). */
  compile?: CompileFlags;
  /**
   * Parses of files read from disk, by path and text, shared by the two sides: the same file with
   * other parameters (the common case) is parsed and validated once.
   */
  parsed?: Map<string, FrontEndResult>;
}

export function sideLabel(name: string, set: readonly string[]): string {
  return set.length ? `${name} (${set.join(', ')})` : name;
}

export function loadSide(arg: string, opts: LoadOptions): LoadedSide {
  const cwd = opts.cwd ?? process.cwd();
  const src: SideSource = opts.text !== undefined ? { kind: 'file', path: arg } : parseSide(arg, cwd);
  const sources = new Sources();
  const label = sideLabel(opts.label ?? arg, opts.set);
  let host: Host;
  let file: string;
  if (src.kind === 'git') {
    if (!isRevision(src.rev)) return { label, result: failed(sources, `cannot read '${arg}': '${src.rev}' is not a git revision (a revision does not start with '-' and holds no control characters)`) };
    let gitHost: GitHost;
    try {
      gitHost = GitHost.open(src.rev, cwd);
    } catch (e) {
      return { label, result: failed(sources, `cannot read '${arg}': not in a git repository (${firstLine(e)})`) };
    }
    host = opts.host ?? gitHost;
    file = gitHost.pathOf(src.path, cwd);
  } else {
    host = opts.host ?? fsHost;
    file = resolve(cwd, src.path);
  }
  let text: string;
  try {
    text = opts.text ?? host.readFile(file, limitsWith(opts.compile?.limits).maxFileBytes);
  } catch (e) {
    return { label, result: failed(sources, `cannot read '${arg}': ${src.kind === 'file' || e instanceof ReadError ? describeReadError(e) : firstLine(e)}`) };
  }
  const compileOpts = { ...opts.compile, registry: opts.registry, host, sources };
  let front: FrontEndResult | undefined;
  if (opts.parsed && src.kind === 'file' && !opts.host) {
    const key = `${file}\0${text}`;
    front = opts.parsed.get(key);
    if (!front) opts.parsed.set(key, (front = parseSpec(file, text, compileOpts)));
  }
  return { label, result: compileSource(file, text, { ...compileOpts, set: [...opts.set], ...(front ? { front } : {}) }) };
}

/** A revision as `REV:path` may name it: never one git could take for an option. */
export function isRevision(rev: string): boolean {
  return !rev.startsWith('-') && !/[\0-\x1f\x7f]/.test(rev);
}

function firstLine(e: unknown): string {
  return String((e as Error).message ?? e).trim().split('\n')[0]!;
}

function failed(sources: Sources, message: string): CompileResult {
  return { ok: false, diagnostics: [diag('fileRead', message, undefined)], sources, docs: new Map() };
}
