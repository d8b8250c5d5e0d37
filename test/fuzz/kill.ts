/**
 * Kill fuzzing of the commands that write files (issue 12): the built CLI (dist/) writes over an
 * older complete output of its own, and is stopped with SIGKILL at a random moment. After each
 * kill, every file in the output folder must be the old complete version or the new complete one
 * (a temporary file of an atomic write, `<name>.tmp-<pid>-<time>`, may be left over: nothing
 * reads it, and the next write of that file removes it); for `train`, `train --resume` must then
 * work and reach the requested epochs.
 *
 * Kinds: graph (DOT), import (a Keras JSON into a spec), spec2ts (a TypeScript module), build (a
 * tfjs model: model.json and weights.bin; build's weights are drawn afresh, so its new version is
 * checked by shape: the sizes of the new model, and a model.json whose recorded weight digest
 * matches weights.bin), train (a tiny run with --force over a finished one, then --resume).
 *
 * Cost: a case is one spawned CLI (0.4-3 s on a loaded 2-core machine, less when the kill comes
 * early), plus, for train, the resume. The kill moments follow the command's time T on this machine
 * (see KillClock): most cases land at the end, where the writing is.
 * The short share runs in `npm test` (test/fuzz-kill.test.ts); the long one is
 * `npx tsx scripts/fuzz.ts --kill static|train --cases N`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCheckpoint, readPointer, checkpointDir } from '../../src/train/checkpoint.js';
import { readModelDir } from '../../src/train/model-io.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/modelspec.js');
const SPEC2TS = join(ROOT, 'dist/cli/spec2ts.js');
const MNIST = join(ROOT, 'specs/mnist-cnn.yaml');
const TINY = join(ROOT, 'test/fixtures/train/tiny-dense.yaml');

export const KILL_KINDS = ['graph', 'import', 'spec2ts', 'build', 'train'] as const;
export type KillKind = (typeof KILL_KINDS)[number];
export const STATIC_KINDS: readonly KillKind[] = ['graph', 'import', 'spec2ts', 'build'];

type Files = Map<string, Buffer>;

/** What one kind needs: the command that writes the new version, the old version's files, the new version's (or a check). */
interface Target {
  kind: KillKind;
  /** A folder holding what every case needs (specs, inputs), and the old output to copy. */
  base: string;
  /** The output folder, relative to a case folder. */
  out: string;
  /** Arguments (node + script) of the command that writes the new version, run in a case folder. */
  argv: string[];
  old: Files;
  /** The new version's files, when the command is deterministic. */
  fresh?: Files;
  /** A file that is neither old nor (the known) new: a complaint, or undefined when it is a complete new version. */
  checkNew?: (rel: string, data: Buffer, all: Files) => string | undefined;
  /** Seconds the command took, measured. */
  seconds: number;
}

export interface KillResult {
  kind: KillKind;
  delayMs: number;
  /** How the files were found: old, new, temporary leftovers; and whether the process ended before the kill. */
  old: number;
  fresh: number;
  temp: number;
  finished: boolean;
  failures: string[];
  ms: number;
}

const TEMP = /\.tmp-\d+-\d+$/;

/** Every file under `dir`, by path relative to it. */
export function readTree(dir: string, base = dir, into: Files = new Map()): Files {
  if (!existsSync(dir)) return into;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) readTree(p, base, into);
    else into.set(relative(base, p), readFileSync(p));
  }
  return into;
}

function run(argv: string[], cwd: string): { seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, argv, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { seconds: (performance.now() - t0) / 1000 };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Make the old and new versions of one kind's output, and time the command. */
export function prepareKill(kind: KillKind): Target {
  const base = mkdtempSync(join(tmpdir(), `modelspec-kill-${kind}-`));
  const caseDir = join(base, 'case');
  mkdirSync(caseDir);
  const two = (what: (version: 'old' | 'new', dir: string) => string[], out: string) => {
    // The old version goes into case/, the new one into fresh/ (to know it), timed.
    const fresh = join(base, 'fresh');
    mkdirSync(fresh);
    run(what('old', caseDir), caseDir);
    const { seconds } = run(what('new', fresh), fresh);
    return { old: readTree(join(caseDir, out)), fresh: readTree(join(fresh, out)), seconds, argv: what('new', caseDir) };
  };
  switch (kind) {
    case 'graph': {
      const r = two((v) => [CLI, 'graph', MNIST, '--set', `filters=${v === 'old' ? 8 : 16}`, '--format', 'dot', '--out', 'out/model.dot'], 'out');
      return { kind, base, out: 'out', ...r };
    }
    case 'import': {
      for (const f of [8, 16]) run([CLI, 'build', MNIST, '--set', `filters=${f}`, '--format', 'keras-json', '--out', join(base, `keras-${f}`)], base);
      const r = two((v) => [CLI, 'import', join(base, `keras-${v === 'old' ? 8 : 16}`, 'model.json'), '--out', 'out/spec.yaml'], 'out');
      return { kind, base, out: 'out', ...r };
    }
    case 'spec2ts': {
      for (const [v, units] of [['old', 10], ['new', 12]] as const) {
        mkdirSync(join(base, `specs-${v}`));
        writeFileSync(join(base, `specs-${v}`, 'tiny.yaml'), readFileSync(TINY, 'utf8').replace('units: 10', `units: ${units}`).replace(/^# yaml-language-server.*\n/, ''));
      }
      const r = two((v) => [SPEC2TS, join(base, `specs-${v}`, 'tiny.yaml'), '--root', join(base, `specs-${v}`), '--out', 'out'], 'out');
      return { kind, base, out: 'out', ...r };
    }
    case 'build': {
      const r = two((v) => [CLI, 'build', MNIST, '--set', `filters=${v === 'old' ? 8 : 16}`, '--out', 'out'], 'out');
      const newWeights = r.fresh.get('weights.bin')!.length;
      const checkNew = (rel: string, data: Buffer, all: Files): string | undefined => {
        if (rel === 'weights.bin') return data.length === newWeights ? undefined : `weights.bin has ${data.length} bytes: neither the old (${r.old.get('weights.bin')!.length}) nor the new (${newWeights})`;
        if (rel === 'model.json') {
          let j: { userDefinedMetadata?: { modelspec?: { weightsSha256?: string; parameters?: { filters?: number } } } };
          try {
            j = JSON.parse(data.toString('utf8')) as typeof j;
          } catch {
            return 'model.json is not complete JSON';
          }
          const m = j.userDefinedMetadata?.modelspec;
          if (m?.parameters?.filters !== 16) return 'model.json is neither the old one nor one of the new model';
          const w = all.get('weights.bin');
          // The new model.json is written last: its weights must be there beside it.
          if (!w || sha(w) !== m.weightsSha256) return 'the new model.json is beside weights that are not its own';
          return undefined;
        }
        return `unexpected file ${rel}`;
      };
      return { kind, base, out: 'out', old: r.old, seconds: r.seconds, argv: r.argv, checkNew };
    }
    case 'train': {
      const common = ['--max-examples', '32', '--batch-size', '16', '--no-progress', '--workers', '1', '--backend', 'wasm'];
      run([CLI, 'train', TINY, ...common, '--epochs', '1', '--out', 'run'], caseDir);
      const argv = [CLI, 'train', TINY, ...common, '--epochs', '2', '--force', '--out', 'run'];
      const fresh = join(base, 'fresh');
      mkdirSync(fresh);
      const { seconds } = run(argv, fresh);
      return { kind, base, out: 'run', argv, old: readTree(join(caseDir, 'run')), seconds, checkNew: (rel) => checkRunFile(rel) };
    }
  }
}

/** A train --out file that is not the old run's: its own checks come in checkRun (the folder as a whole). */
function checkRunFile(rel: string): string | undefined {
  return /^(\.lock|\.lock\.stale-\d+|\.[^/]+\.(tmp|old)-\d+-\d+\/[^/]+|\.previous-run\/.*|last\.json|best\.json|metrics\.jsonl|curves\.svg|model\/[^/]+|checkpoints\/[^/]+\/[^/]+)$/.test(rel) ? undefined : `unexpected file ${rel}`;
}

/** The run folder after a kill: every pointer names a complete checkpoint, every folder is complete, the log parses. */
function checkRun(dir: string, files: Files): string[] {
  const problems: string[] = [];
  const aside = [...files.keys()].some((f) => f.startsWith('.previous-run/'));
  for (const which of ['last', 'best'] as const) {
    try {
      const ptr = readPointer(dir, which);
      if (ptr) readCheckpoint(checkpointDir(dir, ptr, which));
      else if (which === 'last' && !aside && files.has('metrics.jsonl')) {
        // A run with a log but no last.json: only a new run killed before its first checkpoint, with the old one set aside.
        problems.push('no last.json and no previous run set aside');
      }
    } catch (e) {
      problems.push(`${which}.json: ${(e as Error).message}`);
    }
  }
  const folders = new Set([...files.keys()].filter((f) => /^(checkpoints\/[^/]+|model)\//.test(f) && !f.startsWith('.')).map((f) => f.split('/').slice(0, f.startsWith('model/') ? 1 : 2).join('/')));
  for (const f of folders) {
    if (f.split('/').pop()!.startsWith('.')) continue; // a folder being written under its temporary name
    try {
      if (f === 'model') readModelDir(join(dir, f));
      else readCheckpoint(join(dir, f));
    } catch (e) {
      problems.push(`${f}: ${(e as Error).message}`);
    }
  }
  const log = files.get('metrics.jsonl');
  if (log) for (const line of log.toString('utf8').split('\n').filter(Boolean)) {
    try { JSON.parse(line); } catch { problems.push(`metrics.jsonl has a broken line: ${line.slice(0, 80)}`); }
  }
  const svg = files.get('curves.svg');
  if (svg && !svg.toString('utf8').trimEnd().endsWith('</svg>')) problems.push('curves.svg is cut short');
  return problems;
}

/** One case: the old version in a fresh folder, the command, SIGKILL after `delayMs`, then the checks. */
export async function runKillCase(t: Target, delayMs: number): Promise<KillResult> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(t.base, 'c-'));
  cpSync(join(t.base, 'case'), dir, { recursive: true });
  const finished = await new Promise<boolean>((resolve, reject) => {
    const child = spawn(process.execPath, t.argv, { cwd: dir, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(false);
      else if (code === 0) resolve(true);
      else reject(new Error(`${t.argv.slice(1).join(' ')} exited with ${code} (not killed)`));
    });
  });
  const out = join(dir, t.out);
  const files = readTree(out);
  const r: KillResult = { kind: t.kind, delayMs, old: 0, fresh: 0, temp: 0, finished, failures: [], ms: 0 };
  for (const [rel, data] of files) {
    const name = rel.startsWith('.previous-run/') ? rel.slice('.previous-run/'.length) : rel;
    if (TEMP.test(rel)) r.temp++;
    else if (t.old.get(name)?.equals(data)) r.old++;
    else if (t.fresh?.get(rel)?.equals(data)) r.fresh++;
    else {
      const why = t.checkNew ? t.checkNew(rel, data, files) : `${rel} is neither the old nor the new version (${data.length} bytes)`;
      if (why) r.failures.push(why);
      else r.fresh++;
    }
  }
  if (t.kind === 'train') {
    r.failures.push(...checkRun(out, files));
    if (!r.failures.length) {
      // --resume must work on whatever the kill left: the old run (put back if it was set aside), or the new one.
      const res = spawnSync(process.execPath, [CLI, 'train', TINY, '--resume', '--epochs', '2', '--out', 'run', '--no-progress', '--workers', '1', '--backend', 'wasm'], { cwd: dir, encoding: 'utf8' });
      if (res.status !== 0) r.failures.push(`train --resume exited ${res.status}: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      else if (readPointer(out, 'last')?.epoch !== 2) r.failures.push(`after --resume last.json is at epoch ${readPointer(out, 'last')?.epoch}, not 2`);
      else if (existsSync(join(out, '.previous-run')) || existsSync(join(out, '.lock'))) r.failures.push('after --resume, .previous-run or .lock is still there');
    }
  }
  if (r.failures.length) r.failures.unshift(`${t.kind}, killed after ${delayMs.toFixed(0)} ms (${files.size} files: ${r.old} old, ${r.fresh} new, ${r.temp} temporary); folder kept: ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  r.ms = performance.now() - t0;
  return r;
}

/**
 * The kill moments: a quarter of the cases uniform over [0, T], the others in [0.85 T, T], where
 * the writing is (at the end, for every kind but train). T follows the machine: it starts at 1.25 times
 * the measured time and grows 5% after a kill that found only old files, shrinks 5% after a case
 * that finished before its kill.
 */
class KillClock {
  private T: number;
  constructor(seconds: number, private readonly rand: () => number) {
    // Measured alone; cases run two at a time on a loaded machine take longer.
    this.T = 1.25 * seconds * 1000;
  }
  next(i: number): number {
    return i % 4 === 0 ? this.rand() * this.T : (0.85 + 0.15 * this.rand()) * this.T;
  }
  saw(r: KillResult): void {
    if (r.finished) this.T *= 0.95;
    else if (r.fresh === 0 && r.temp === 0) this.T *= 1.05;
  }
}

export function cleanupKill(t: Target): void {
  rmSync(t.base, { recursive: true, force: true });
}

/** Run `n` cases of kind `t` with `parallel` at a time; `onResult` sees each. */
export async function runKillCases(t: Target, n: number, seed: number, parallel: number, onResult: (r: KillResult) => void): Promise<void> {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const clock = new KillClock(t.seconds, rand);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const r = await runKillCase(t, clock.next(i));
      clock.saw(r);
      onResult(r);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
}

export const statOk = (p: string) => existsSync(p) && statSync(p).isFile();
