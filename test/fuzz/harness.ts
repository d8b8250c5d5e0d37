/**
 * The properties every input must satisfy, checked on one fuzz case:
 *
 *  1. compileSource never throws (and never answers with MS9001, an internal error);
 *  2. every diagnostic has a code of the catalogue with the catalogue's severity and a message;
 *     a span, when present, lies inside a file of the compilation (0 <= start <= end <= length,
 *     integers), as do the spans of its related notes; rendering the diagnostics (code frames)
 *     and their JSON form does not throw;
 *  3. a failed compilation says why: at least one error diagnostic; a successful one has none;
 *  4. no run (compiling, and rendering the diagnostics with code frames) takes over the time
 *     limit (1 s of CPU time; see `timeLimitMs` and `timed`);
 *  5. compiling twice gives identical diagnostics and identical graph JSON;
 *  6. a successful compile's totals equal the sum of its nodes' params and MACs, node ids are
 *     unique, every input of a node is an earlier node, every output is a node;
 *  7. nothing is polluted: Object.prototype and the resource limits are as before.
 *
 * And, for the code generator (when `codegen` is given): generateSource never throws, is
 * deterministic, succeeds exactly when the front end does, and its code type-checks (the
 * type check is batched by the caller: see codegen.ts).
 */
import { compileSource, diagnosticToJson, renderDiagnostics, type CompileResult, type Limits } from '../../src/index.js';
import { Msg } from '../../src/diagnostics/messages.js';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import type { Diagnostic, SourceSpan } from '../../src/types/diagnostic.js';
import { PROJECT, virtualHost } from './project.js';

/** One input of the fuzzer: a spec text at a path of the virtual project, and how it is compiled. */
export interface FuzzCase {
  /** Which generator made it (garbage, yamlish, structural, mutation, text-mutation, bomb, corpus). */
  kind: string;
  /** Path of the spec in the virtual project (see project.ts). */
  file: string;
  text: string;
  /** Files added to or replaced in the virtual project. */
  files?: Record<string, string>;
  /** `--set` arguments. */
  set?: string[];
  limits?: Partial<Limits>;
  allowOutsideRoot?: boolean;
  /** For corpus entries: what the case found. */
  note?: string;
}

export interface CaseResult {
  /** CPU milliseconds of the first compile (of the fastest of up to three, when it was over the limit). */
  ms: number;
  ok: boolean;
  diagnostics: number;
  failures: string[];
}

/** What generating code for a case needs: see codegen.ts. */
export interface CodegenHook {
  /** Generate the module (kept for the batched type check when `collect`), with any inconsistency found. */
  generate(c: FuzzCase, collect: boolean): { ok: boolean; code?: string; library?: boolean; diagnostics: Diagnostic[]; problems: string[] };
}

export interface RunOptions {
  /** Time limit of one compile (default 1000 ms). */
  timeLimitMs?: number;
  codegen?: CodegenHook;
}

const CATALOGUE = new Map<string, string>(Object.values(Msg).map((m) => [m.code, m.severity]));
const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const ARRAY_PROTO_KEYS = Object.getOwnPropertyNames(Array.prototype).sort().join(',');

export function defaultCasePath(name = 'spec.yaml'): string {
  return `${PROJECT}/specs/${name}`;
}

/** Process warnings emitted during the last compile (a library printing to stderr is a side effect too). */
let warnings: string[] = [];

function compileCase(c: FuzzCase): CompileResult {
  const emit = process.emitWarning;
  warnings = [];
  process.emitWarning = ((w: string | Error) => { warnings.push(String(w instanceof Error ? w.message : w).split('\n')[0]!); }) as typeof process.emitWarning;
  try {
    return compileSource(c.file, c.text, {
      host: virtualHost(c.files),
      ...(c.set ? { set: c.set } : {}),
      ...(c.limits ? { limits: c.limits } : {}),
      ...(c.allowOutsideRoot ? { allowOutsideRoot: true } : {}),
    });
  } finally {
    process.emitWarning = emit;
  }
}

/**
 * The CPU time (user + system, all the process' threads) that `run` takes, in ms. Not the wall time:
 * on a 2-core machine that other jobs load, a compile waits for a core as long as it runs, which is
 * not the compiler's doing; on an idle machine the two agree (CPU time is a little more: GC threads).
 */
function timed<T>(run: () => T): { value: T; ms: number } {
  const t = process.cpuUsage();
  const value = run();
  const d = process.cpuUsage(t);
  return { value, ms: (d.user + d.system) / 1000 };
}

function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message).split('\n').slice(0, 8).join('\n') : String(e);
}

function checkSpan(span: SourceSpan, r: CompileResult, what: string, failures: string[]): void {
  const src = r.sources.get(span.file);
  if (!src) {
    failures.push(`${what}: span in '${span.file}', which is not a source of this compilation`);
    return;
  }
  const { start, end } = span;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > src.text.length) {
    failures.push(`${what}: span [${start}, ${end}) is not inside '${span.file}' (length ${src.text.length})`);
  }
}

/** Check the diagnostics; returns the milliseconds their rendering took (part of what a user waits for). */
function checkDiagnostics(r: CompileResult, failures: string[]): number {
  for (const d of r.diagnostics) {
    const what = `${d.code} '${String(d.message).slice(0, 120)}'`;
    const severity = CATALOGUE.get(d.code);
    if (severity === undefined) failures.push(`${what}: code not in the catalogue`);
    else if (severity !== d.severity) failures.push(`${what}: severity ${d.severity}, the catalogue says ${severity}`);
    if (d.code === Msg.internal.code) failures.push(`${what}: internal error`);
    if (typeof d.message !== 'string' || d.message.trim() === '') failures.push(`${d.code}: empty message`);
    if (d.span) checkSpan(d.span, r, what, failures);
    for (const rel of d.related ?? []) checkSpan(rel.span, r, `${what} (related '${rel.message}')`, failures);
  }
  let renderMs = 0;
  try {
    renderMs = timed(() => renderDiagnostics(r.diagnostics, r.sources)).ms;
    renderDiagnostics(r.diagnostics, r.sources, { frame: false, cwd: PROJECT });
    for (const d of r.diagnostics) JSON.stringify(diagnosticToJson(d, r.sources));
  } catch (e) {
    failures.push(`rendering the diagnostics threw: ${describeError(e)}`);
  }
  const errors = r.diagnostics.filter((d) => d.severity === 'error').length;
  if (!r.ok && errors === 0) failures.push('the compile failed without an error diagnostic');
  if (r.ok && errors > 0) failures.push(`the compile succeeded with ${errors} error diagnostic(s)`);
  if (r.ok && !r.graph && !r.library) failures.push('the compile succeeded without a graph');
  return renderMs;
}

function checkGraph(r: CompileResult, failures: string[]): void {
  const g = r.graph;
  if (!g) return;
  const sum = { trainable: 0, nonTrainable: 0, macs: 0 };
  const seen = new Set<string>();
  for (const n of g.nodes) {
    if (seen.has(n.id)) failures.push(`node id '${n.id}' occurs twice`);
    for (const i of n.inputs) if (!seen.has(i)) failures.push(`node '${n.id}' takes '${i}', which is not an earlier node`);
    seen.add(n.id);
    sum.trainable += n.params.trainable;
    sum.nonTrainable += n.params.nonTrainable;
    sum.macs += n.macs;
    for (const k of [n.params.trainable, n.params.nonTrainable, n.macs]) {
      if (!Number.isSafeInteger(k) || k < 0) failures.push(`node '${n.id}' has a count ${k} that is not a non-negative safe integer`);
    }
  }
  for (const o of g.outputs) if (!seen.has(o)) failures.push(`output '${o}' is not a node`);
  const t = g.totals;
  if (t.trainable !== sum.trainable || t.nonTrainable !== sum.nonTrainable || t.macs !== sum.macs || t.total !== sum.trainable + sum.nonTrainable) {
    failures.push(`totals ${JSON.stringify(t)} differ from the sum of the nodes ${JSON.stringify({ ...sum, total: sum.trainable + sum.nonTrainable })}`);
  }
}

/** The output a user sees, as one string: equal strings for equal compilations. */
function fingerprint(r: CompileResult): string {
  return JSON.stringify({ ok: r.ok, library: r.library ?? false, diagnostics: r.diagnostics, graph: r.graph ?? null });
}

const DEFAULT_LIMITS_AT_START: Readonly<Limits> = { ...DEFAULT_LIMITS };

function checkNoPollution(failures: string[]): void {
  if (Object.getOwnPropertyNames(Object.prototype).sort().join(',') !== PROTO_KEYS) failures.push('Object.prototype was modified');
  if (Object.getOwnPropertyNames(Array.prototype).sort().join(',') !== ARRAY_PROTO_KEYS) failures.push('Array.prototype was modified');
  if (({} as Record<string, unknown>).polluted !== undefined) failures.push('{}.polluted is defined');
  // Limits are values passed down each compilation; the defaults must come out of every one unchanged.
  for (const k of Object.keys(DEFAULT_LIMITS_AT_START) as (keyof Limits)[]) {
    if (DEFAULT_LIMITS[k] !== DEFAULT_LIMITS_AT_START[k]) failures.push(`the default limit ${k} is ${DEFAULT_LIMITS[k]} after the compile, not ${DEFAULT_LIMITS_AT_START[k]}`);
  }
}

/** Run one case and check every property; `failures` is empty when all hold. */
export function runCase(c: FuzzCase, opts: RunOptions = {}): CaseResult {
  const limit = opts.timeLimitMs ?? 1000;
  const failures: string[] = [];
  let first: CompileResult;
  let ms: number;
  try {
    ({ value: first, ms } = timed(() => compileCase(c)));
  } catch (e) {
    checkNoPollution(failures);
    return { ms: 0, ok: false, diagnostics: 0, failures: [`compileSource threw: ${describeError(e)}`, ...failures] };
  }
  for (const w of warnings) failures.push(`the compile printed a process warning: ${w}`);
  // The time of a run is what `modelspec check` spends: compiling and rendering the diagnostics.
  const renderMs = checkDiagnostics(first, failures);
  ms += renderMs;
  checkGraph(first, failures);
  checkNoPollution(failures);
  // Determinism, and a second and third measurement when the first was over the limit (a GC
  // pause or a cold JIT is not the compiler's doing; a slow compiler is slow every time).
  for (let attempt = 0; attempt < (ms > limit ? 2 : 1); attempt++) {
    let again: CompileResult;
    let ms2: number;
    try {
      ({ value: again, ms: ms2 } = timed(() => compileCase(c)));
    } catch (e) {
      failures.push(`compileSource threw the second time: ${describeError(e)}`);
      break;
    }
    ms = Math.min(ms, ms2 + renderMs);
    if (attempt === 0 && fingerprint(again) !== fingerprint(first)) failures.push('compiling twice gave different results');
  }
  if (ms > limit) failures.push(`the compile took ${ms.toFixed(0)} ms of CPU time (limit ${limit} ms)`);
  if (opts.codegen) checkCodegen(c, opts.codegen, failures);
  return { ms, ok: first.ok, diagnostics: first.diagnostics.length, failures };
}

function checkCodegen(c: FuzzCase, hook: CodegenHook, failures: string[]): void {
  let a, b;
  try {
    a = hook.generate(c, true);
    b = hook.generate(c, false);
  } catch (e) {
    failures.push(`spec2ts threw: ${describeError(e)}`);
    return;
  }
  if (a.ok !== b.ok || a.code !== b.code) failures.push('spec2ts gave different code for the same spec');
  failures.push(...a.problems.map((p) => `spec2ts: ${p}`));
}
