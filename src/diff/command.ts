/**
 * `modelspec diff <a> <b>`: the semantic diff of two specs (files, `REV:path` from git,
 * or one file with other `--set` values). Exit codes as diff(1): 0 same architecture,
 * 1 different, 2 trouble (a side that does not compile, a usage error).
 *
 * `modelspec git-diff-driver ...`: the same, called by git as an external diff driver.
 */
import { execFileSync } from 'node:child_process';
import { DEFAULT_LIMITS } from '../limits.js';
import { describeReadError, readTextBounded, regularFileSize } from '../io/read.js';
import { diag } from '../diagnostics/diagnostics.js';
import { Sources } from '../diagnostics/sources.js';
import { resolve } from 'node:path';
import { diagnosticToJson, renderDiagnostics } from '../diagnostics/render.js';
import type { OpRegistry } from '../ops/index.js';
import { diffGraphs } from './diff.js';
import { diffJson, formatDiffMarkdown, formatDiffText } from './report.js';
import { loadSide, type LoadedSide } from './sides.js';
import type { FrontEndResult } from '../compile.js';
import { formatInt, formatMacs, kerasRows } from '../report/summary.js';
import { EXIT, type CommandOutput } from '../diagnostics/outcome.js';
import type { CompileFlags } from '../compile.js';


export const DIFF_FORMATS = ['text', 'markdown', 'json'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

export interface DiffOptions {
  /** `--set` values for both sides, then each side's own. */
  set: string[];
  leftSet: string[];
  rightSet: string[];
  format: DiffFormat;
  registry: OpRegistry;
  compile?: CompileFlags;
  /** List renamed layers instead of counting them. */
  names?: boolean;
  /** Renamed layers alone make the exit code 1 (by default ids do not count). */
  strictNames?: boolean;
}

function problems(side: LoadedSide, which: string): string {
  const r = side.result;
  if (r.ok && r.library) return `modelspec diff: the ${which} side, ${side.label}, is a block library (blocks, no layers): there is no model to compare; diff a spec that uses it\n`;
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  return `modelspec diff: the ${which} side, ${side.label}, has ${errors} error${errors === 1 ? '' : 's'}:\n${renderDiagnostics(r.diagnostics, r.sources, { cwd: process.cwd() })}\n`;
}

/** The semantic diff of two specs (files, `REV:path`, or one file with other --set values): exit code as diff(1). */
export function diffSpecs(a: string, b: string, opts: DiffOptions): CommandOutput {
  const parsed = new Map<string, FrontEndResult>();
  const left = loadSide(a, { set: [...opts.set, ...opts.leftSet], registry: opts.registry, parsed, ...(opts.compile ? { compile: opts.compile } : {}) });
  const right = loadSide(b, { set: [...opts.set, ...opts.rightSet], registry: opts.registry, parsed, ...(opts.compile ? { compile: opts.compile } : {}) });
  const bad = [[left, 'left'], [right, 'right']].filter(([s]) => !(s as LoadedSide).result.ok || !(s as LoadedSide).result.graph) as [LoadedSide, string][];
  if (bad.length) {
    if (opts.format === 'json') {
      const json = { ok: false, errors: Object.fromEntries(bad.map(([s, w]) => [w, { label: s.label, diagnostics: s.result.diagnostics.map((d) => diagnosticToJson(d, s.result.sources)) }])) };
      return { stdout: JSON.stringify(json, null, 2) + '\n', stderr: '', code: EXIT.usage };
    }
    return { stdout: '', stderr: bad.map(([s, w]) => problems(s, w)).join('\n'), code: EXIT.usage };
  }
  const warnings = [left, right].filter((s) => s.result.diagnostics.length).map((s) => renderDiagnostics(s.result.diagnostics, s.result.sources, { cwd: process.cwd() }) + '\n').join('\n');
  const d = diffGraphs({ label: left.label, graph: left.result.graph! }, { label: right.label, graph: right.result.graph! }, { registry: opts.registry });
  const report = { registry: opts.registry, names: !!opts.names };
  const stdout = opts.format === 'json' ? JSON.stringify(diffJson(d), null, 2) + '\n' : opts.format === 'markdown' ? formatDiffMarkdown(d, report) : formatDiffText(d, report);
  const same = d.identical && !(opts.strictNames && d.namesDiffer);
  return { stdout, stderr: warnings, code: same ? EXIT.ok : EXIT.problems };
}

/**
 * git's external diff protocol: `path old-file old-hex old-mode new-file new-hex new-mode`
 * (and, for a rename, `new-path` and a message). Always exits 0: git stops at a driver
 * that fails (a usage error, fewer arguments than git passes, is the only exit 2). Specs that do not compile (a block library, a half-edited file) get
 * git's own text diff, with a line that says why.
 */
export function gitDiffDriver(args: readonly string[], opts: { registry: OpRegistry; format?: DiffFormat }): CommandOutput {
  if (args.length < 7) return { stdout: '', stderr: 'modelspec git-diff-driver: expected the 7 arguments git passes to an external diff (path old-file old-hex old-mode new-file new-hex new-mode)\n', code: EXIT.usage };
  const [path, oldFile, , , newFile] = args as [string, string, string, string, string];
  const newPath = args[7] ?? path;
  const cwd = process.cwd();
  const header = `diff --modelspec a/${path} b/${newPath}\n`;
  const side = (tmp: string, name: string, prefix: string): LoadedSide | undefined => {
    if (tmp === '/dev/null') return undefined;
    let text: string;
    try {
      text = readTextBounded(tmp, DEFAULT_LIMITS.maxFileBytes);
    } catch (e) {
      return { label: `${prefix}/${name}`, result: { ok: false, diagnostics: [diag('fileRead', `cannot read '${tmp}': ${describeReadError(e)}`, undefined)], sources: new Sources(), docs: new Map() } };
    }
    return loadSide(resolve(cwd, name), { set: [], registry: opts.registry, text, label: `${prefix}/${name}` });
  };
  const left = side(oldFile, path, 'a');
  const right = side(newFile, newPath, 'b');
  const ok = (s: LoadedSide | undefined) => !!s && s.result.ok && !!s.result.graph;
  if (ok(left) && ok(right)) {
    const d = diffGraphs({ label: left!.label, graph: left!.result.graph! }, { label: right!.label, graph: right!.result.graph! }, { registry: opts.registry });
    const report = { registry: opts.registry };
    const body = opts.format === 'markdown' ? formatDiffMarkdown(d, report) : opts.format === 'json' ? JSON.stringify(diffJson(d), null, 2) + '\n' : formatDiffText(d, report);
    return { stdout: header + body, stderr: '', code: EXIT.ok };
  }
  const one = left ?? right;
  if ((!left || !right) && ok(one)) {
    const g = one!.result.graph!;
    const what = left ? 'deleted' : 'new';
    return { stdout: `${header}${what} spec ${one!.label}: ${g.name}, ${formatInt(kerasRows(g).length)} layers, ${formatInt(g.totals.total)} params, ${formatMacs(g.totals.macs)} MACs\n`, stderr: '', code: EXIT.ok };
  }
  const why = [left, right].filter((s): s is LoadedSide => !!s && !ok(s)).map((s) => {
    if (s.result.ok && s.result.library) return `${s.label} is a block library`;
    const errors = s.result.diagnostics.filter((x) => x.severity === 'error');
    return `${s.label}: ${errors.length} error${errors.length === 1 ? '' : 's'}${errors[0] ? ` (${errors[0].code}: ${errors[0].message})` : ''}`;
  });
  return { stdout: `${header}modelspec: no model to compare, so the text diff: ${why.join('; ')}\n${textDiff(oldFile, newFile, path, newPath)}`, stderr: '', code: EXIT.ok };
}

/** git's own text diff of two files, with their repository names in the headers. */
function textDiff(oldFile: string, newFile: string, path: string, newPath: string): string {
  // Only of regular files (git's own temporary files): git would read a FIFO or a device without end.
  for (const f of [oldFile, newFile]) {
    if (f === '/dev/null') continue;
    try {
      regularFileSize(f);
    } catch {
      return '';
    }
  }
  let out = '';
  try {
    out = execFileSync('git', ['diff', '--no-index', '--no-ext-diff', '--no-color', '--', oldFile, newFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    out = String((e as { stdout?: unknown }).stdout ?? '');
  }
  return out
    .split('\n')
    .filter((l) => !l.startsWith('diff --git '))
    .map((l) => (l.startsWith('--- ') && l !== '--- /dev/null' ? `--- a/${path}` : l.startsWith('+++ ') && l !== '+++ /dev/null' ? `+++ b/${newPath}` : l))
    .join('\n');
}
