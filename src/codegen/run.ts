/**
 * The `spec2ts` command, as a function: specs -> generated modules under `--out`, or with
 * `--check`, the list of generated files that differ from what the specs give.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { describeReadError, readTextBounded } from '../io/read.js';
import { basename, join, relative, resolve, sep } from 'node:path';
import { renderDiagnostics } from '../diagnostics/render.js';
import { checkOverwrite, RefusedOverwrite, writeFileAtomic } from '../io/atomic.js';
import { generateFile, isGenerated } from './index.js';

export interface Spec2tsOptions {
  /** Output folder (default `generated`). */
  out?: string;
  /** Spec files are placed under `out` by their path relative to this folder (default `specs`). */
  root?: string;
  check?: boolean;
  force?: boolean;
  /** Working directory (default: the process's). */
  cwd?: string;
}

export interface Spec2tsResult {
  stdout: string;
  stderr: string;
  /** 0 fine, 1 problems (spec errors, drift, unreadable specs), 2 usage (a refused overwrite: pass --force). */
  code: number;
}

const posix = (p: string) => p.split(sep).join('/');

/** Bytes of a generated file read back (to compare, or to tell that spec2ts wrote it). */
const MAX_GENERATED_BYTES = 16 * 1024 * 1024;

/** A generated file's text; undefined for one that cannot be read (a FIFO, a directory, too large). */
function readGenerated(path: string): string | undefined {
  try {
    return readTextBounded(path, MAX_GENERATED_BYTES);
  } catch {
    return undefined;
  }
}

/** All `.yaml`/`.yml` files under `dir`, sorted. */
export function findSpecs(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ya?ml$/.test(name)) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

function generatedFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && isGenerated(readGenerated(p) ?? '')) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/** Where the module for `spec` goes: `out/<path relative to root>.ts`, or `out/<file name>.ts` outside root. */
export function outputPath(spec: string, out: string, root: string): string {
  const rel = relative(resolve(root), resolve(spec));
  const inside = !rel.startsWith('..') && !rel.startsWith(sep) && rel !== '';
  return join(out, (inside ? rel : basename(spec)).replace(/\.ya?ml$/i, '') + '.ts');
}

export function runSpec2ts(specsGiven: readonly string[], opts: Spec2tsOptions = {}): Spec2tsResult {
  const cwd = opts.cwd ?? process.cwd();
  const out = resolve(cwd, opts.out ?? 'generated');
  const root = resolve(cwd, opts.root ?? 'specs');
  const all = specsGiven.length === 0;
  const specs = all ? findSpecs(root) : specsGiven.map((s) => resolve(cwd, s));
  let stdout = '';
  let stderr = '';
  let code = 0;
  const produced = new Map<string, string>();
  for (const spec of specs) {
    const display = posix(relative(cwd, spec) || spec);
    let r: ReturnType<typeof generateFile>;
    try {
      r = generateFile(spec, { displayPath: display });
    } catch (e) {
      // A missing spec, a directory, a FIFO, a device, one too large: said per file, as check does.
      stderr += `spec2ts: cannot read '${display}': ${describeReadError(e)}\n`;
      code = Math.max(code, 1);
      continue;
    }
    if (!r.ok || r.code === undefined) {
      if (r.library) {
        if (!all) stdout += `${display}: a block library (blocks and no layers); nothing to generate\n`;
        continue;
      }
      stderr += `${renderDiagnostics(r.diagnostics.filter((d) => d.severity === 'error'), r.sources, { cwd })}\n`;
      code = Math.max(code, 1);
      continue;
    }
    const target = outputPath(spec, out, root);
    if (produced.has(target)) {
      stderr += `spec2ts: ${display} and ${produced.get(target)} would both be written to ${posix(relative(cwd, target))}\n`;
      code = Math.max(code, 1);
      continue;
    }
    produced.set(target, display);
    const current = existsSync(target) ? readGenerated(target) ?? '' : undefined;
    const shown = posix(relative(cwd, target));
    if (current === r.code) continue;
    if (opts.check) {
      stderr += `${shown} ${current === undefined ? 'is missing' : 'differs from what'} ${display} ${current === undefined ? 'gives' : 'gives'}\n`;
      code = Math.max(code, 1);
      continue;
    }
    try {
      checkOverwrite(target, !!opts.force, isGenerated);
    } catch (e) {
      if (!(e instanceof RefusedOverwrite)) throw e;
      stderr += `spec2ts: ${shown} exists and was not written by spec2ts (no banner); pass --force to replace it\n`;
      // A refused overwrite is a usage matter (pass --force): exit 2, as for every command.
      code = Math.max(code, 2);
      continue;
    }
    writeFileAtomic(target, r.code);
    stdout += `wrote ${shown}\n`;
  }
  // With no specs named, a generated file whose spec is gone is stale.
  if (all) {
    for (const f of generatedFiles(out)) {
      if (produced.has(f)) continue;
      const shown = posix(relative(cwd, f));
      if (opts.check) {
        stderr += `${shown} was generated from a spec that no longer exists\n`;
        code = Math.max(code, 1);
      } else stdout += `note: ${shown} was generated from a spec that no longer exists; delete it if it is not needed\n`;
    }
  }
  if (opts.check && code === 0) stdout += `generated files are up to date (${produced.size} module${produced.size === 1 ? '' : 's'} in ${posix(relative(cwd, out)) || '.'})\n`;
  else if (!opts.check && code === 0 && stdout === '') stdout += `generated files are up to date (${produced.size} module${produced.size === 1 ? '' : 's'})\n`;
  return { stdout, stderr, code };
}
