/**
 * The long fuzz run: `npx tsx scripts/fuzz.ts --cases 100000 [--seed N] [--workers 2] [--kind K]`.
 *
 * Runs the properties of test/fuzz/harness.ts on cases from test/fuzz/arbitraries.ts in worker
 * processes (a case that crashes V8 or runs out of memory takes its worker down, not the run),
 * in batches of fast-check runs with seeds derived from --seed. A failing case is shrunk by
 * fast-check, minimised by delta debugging, and written to test/fuzz/corpus/ as a regression
 * input, which the short run in `npm test` replays. Prints the cases tried, the failures and
 * the slowest case. Exit code 1 when something failed.
 *
 * Options: --cases N (default 10000), --seed N (default: the time), --workers N (default 2),
 * --batch N (cases per fast-check run, default 500), --kind garbage|yamlish|structural|mutation|
 * library|text|bomb (default: all), --time-limit ms (default 1000), --heap MB (worker heap,
 * default 1536: a TypeScript program for the spec2ts check takes a few hundred MB), --no-save
 * (do not write the corpus), --no-codegen (leave spec2ts out; by default every case goes through
 * it too, and each batch's modules are type-checked at the end of the batch), --from-batch N (start at
 * batch N, to replay part of an earlier run with the same --seed and --batch).
 *
 * Kill fuzzing of the file-writing commands (test/fuzz/kill.ts): `--kill static|train|KIND[,KIND]`
 * runs --cases cases (static: build, import, spec2ts and graph in turn) of the built CLI killed
 * with SIGKILL at random moments, --workers at a time, and prints the cases run every 100 cases and
 * at the end (with --time-budget S, it stops starting cases after S seconds and says how many ran).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { FuzzCase } from '../test/fuzz/harness.js';

interface Options {
  cases: number;
  seed: number;
  workers: number;
  batch: number;
  kind?: string;
  timeLimitMs: number;
  heapMb: number;
  save: boolean;
  codegen: boolean;
  /** First batch to run (to replay part of an earlier run: batch b has seed --seed + b * 1000003). */
  fromBatch: number;
  /** Kill fuzzing: the kinds of test/fuzz/kill.ts to run instead of the compiler properties. */
  kill?: string;
  /** Kill fuzzing: stop starting cases after this many seconds. */
  timeBudget?: number;
}

function parseArgs(argv: string[]): Options & { worker: boolean } {
  const o: Options & { worker: boolean } = {
    cases: 10_000, seed: Date.now() % 2 ** 31, workers: Math.min(2, cpus().length), batch: 500, timeLimitMs: 1000, heapMb: 1536, save: true, codegen: true, fromBatch: 0, worker: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`);
      return v;
    };
    switch (a) {
      case '--cases': o.cases = num(); break;
      case '--seed': o.seed = num(); break;
      case '--workers': o.workers = Math.max(1, num()); break;
      case '--batch': o.batch = Math.max(1, num()); break;
      case '--kind': o.kind = argv[++i]; break;
      case '--time-limit': o.timeLimitMs = num(); break;
      case '--heap': o.heapMb = num(); break;
      case '--no-save': o.save = false; break;
      case '--from-batch': o.fromBatch = Math.max(0, num()); break;
      case '--codegen': o.codegen = true; break;
      case '--no-codegen': o.codegen = false; break;
      case '--worker': o.worker = true; break;
      case '--kill': o.kill = argv[++i]; break;
      case '--time-budget': o.timeBudget = num(); break;
      default: throw new Error(`unknown option ${a}`);
    }
  }
  return o;
}

// ---- messages between the run and its workers ------------------------------------

type Job = { batch: number; seed: number; runs: number };
type ToParent =
  | { type: 'case'; c: FuzzCase }
  | { type: 'result'; kind: string; ms: number; ok: boolean; diagnostics: number; textLength: number; head: string }
  | { type: 'failure'; c: FuzzCase; failures: string[]; shrinkRuns: number }
  | { type: 'harness-error'; message: string }
  | { type: 'typechecked'; n: number }
  | { type: 'known'; bugs: string[] }
  | { type: 'done'; batch: number };

// ---- worker ------------------------------------------------------------------

async function worker(o: Options): Promise<void> {
  const { anyCase, CASE_KINDS } = await import('../test/fuzz/arbitraries.js');
  const { runCase } = await import('../test/fuzz/harness.js');
  const { minimize } = await import('../test/fuzz/minimize.js');
  const { codegenHook } = await import('../test/fuzz/codegen.js');
  const { knownBugs } = await import('../test/fuzz/known.js');
  const hook = o.codegen ? await codegenHook() : undefined;
  const arb = o.kind ? CASE_KINDS[o.kind as keyof typeof CASE_KINDS] : anyCase;
  if (!arb) throw new Error(`unknown kind ${o.kind}; the kinds are ${Object.keys(CASE_KINDS).join(', ')}`);
  const send = (m: ToParent) => process.send!(m);
  const runOpts = { timeLimitMs: o.timeLimitMs, ...(hook ? { codegen: hook } : {}) };
  process.on('message', (job: Job) => {
    let shrinking = false;
    let shrinkRuns = 0;
    let details: fc.RunDetails<[FuzzCase]>;
    try {
      details = fc.check(
      fc.property(arb, (c) => {
        if (shrinking) shrinkRuns++;
        else send({ type: 'case', c });
        const r = runCase(c, runOpts);
        if (!shrinking) send({ type: 'result', kind: c.kind, ms: r.ms, ok: r.ok, diagnostics: r.diagnostics, textLength: c.text.length, head: c.text.slice(0, 160) });
        if (r.failures.length === 0) return true;
        // Too slow is recorded as it is: shrinking it would take a second a step.
        if (r.failures.every((f) => f.startsWith('the compile took'))) {
          if (!shrinking) send({ type: 'failure', c, failures: r.failures, shrinkRuns: 0 });
          return true;
        }
        shrinking = true;
        return false;
      }),
      { seed: job.seed, numRuns: job.runs },
    );
    } catch (e) {
      // A generator that throws is a bug of the harness, not of the compiler: say so and go on.
      send({ type: 'harness-error', message: (e as Error).stack ?? String(e) });
      send({ type: 'done', batch: job.batch });
      return;
    }
    // The modules spec2ts generated in this batch must type-check.
    if (hook) {
      for (const f of hook.typecheckPending()) {
        const known = knownBugs(f.errors);
        if (known) { send({ type: 'known', bugs: known }); continue; }
        const failures = [`spec2ts: the generated module does not type-check:\n${f.errors}`];
        send({ type: 'failure', c: { ...f.c, kind: `spec2ts-${f.c.kind}` }, failures, shrinkRuns: 0 });
      }
      send({ type: 'typechecked', n: hook.checked });
    }
    if (details.failed && details.counterexample) {
      const shrunk = details.counterexample[0];
      const small = minimize(shrunk, { ...runOpts, budgetMs: 60_000 });
      const failures = runCase(small, runOpts).failures;
      const final = failures.length ? small : shrunk;
      const finalFailures = failures.length ? failures : runCase(shrunk, runOpts).failures;
      send({ type: 'failure', c: final, failures: finalFailures, shrinkRuns });
    }
    send({ type: 'done', batch: job.batch });
  });
}

// ---- the run -----------------------------------------------------------------

async function main(o: Options): Promise<number> {
  const { saveCase } = await import('../test/fuzz/corpus.js');
  const { signature } = await import('../test/fuzz/minimize.js');
  const started = performance.now();
  const byKind = new Map<string, { n: number; ok: number }>();
  let tried = 0, shrinkRuns = 0, crashes = 0, harnessErrors = 0;
  const typechecked = new Map<number, number>();
  const knownSpec2ts = new Map<string, number>();
  const failures = new Map<string, { count: number; example: string; saved?: string }>();
  let slowest = { ms: 0, kind: '', head: '', textLength: 0 };
  const batches = Math.ceil(o.cases / o.batch);
  let nextBatch = o.fromBatch;
  let lastReport = performance.now();
  const self = fileURLToPath(import.meta.url);

  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, node ${process.version}`;
  console.log(`fuzz: ${o.cases} cases, seed ${o.seed}, ${o.workers} worker(s), ${o.kind ?? 'all kinds'}, time limit ${o.timeLimitMs} ms${o.codegen ? ', spec2ts' : ''}; ${machine}, load average ${loadavg()[0]!.toFixed(1)}`);

  /** Every failure is counted; the first case of each kind of failure is written to the corpus (and printed). */
  const record = (f: string[], c: FuzzCase) => {
    // Slow inputs are told apart by what they are: each may be a different problem.
    const sig = signature(f) + (f.every((x) => x.startsWith('the compile took')) ? ` (${c.kind}: ${JSON.stringify(c.text.slice(0, 60))})` : '');
    const hit = failures.get(sig);
    if (hit) { hit.count++; return; }
    const saved = o.save ? saveCase(c, f.join('\n').split('\n').slice(0, 6).join('\n')) : undefined;
    failures.set(sig, { count: 1, example: JSON.stringify(c).slice(0, 300), ...(saved ? { saved } : {}) });
    console.log(`  FAILURE ${sig}${saved ? ` -> test/fuzz/corpus/${saved}` : ''}\n    ${f.join('\n    ').split('\n').slice(0, 12).join('\n    ')}`);
  };

  await new Promise<void>((done) => {
    let live = 0;
    const start = () => {
      if (nextBatch >= batches) {
        if (live === 0) done();
        return;
      }
      const args = ['--worker', '--time-limit', String(o.timeLimitMs), ...(o.kind ? ['--kind', o.kind] : []), ...(o.save ? [] : ['--no-save']), o.codegen ? '--codegen' : '--no-codegen'];
      const child: ChildProcess = fork(self, args, { execArgv: [...process.execArgv, `--max-old-space-size=${o.heapMb}`], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      live++;
      let current: unknown;
      let job: Job | undefined;
      const give = () => {
        if (nextBatch >= batches) { child.kill(); return; }
        const batch = nextBatch++;
        job = { batch, seed: (o.seed + batch * 1_000_003) % 2 ** 31, runs: Math.min(o.batch, o.cases - batch * o.batch) };
        child.send(job);
      };
      child.on('message', (m: ToParent) => {
        switch (m.type) {
          case 'case': current = m.c; break;
          case 'result': {
            tried++;
            const k = byKind.get(m.kind) ?? { n: 0, ok: 0 };
            k.n++;
            if (m.ok) k.ok++;
            byKind.set(m.kind, k);
            if (m.ms > slowest.ms) slowest = { ms: m.ms, kind: m.kind, head: m.head, textLength: m.textLength };
            current = undefined;
            if (performance.now() - lastReport > 15_000) {
              lastReport = performance.now();
              console.log(`  ${tried} cases, ${failures.size} distinct failure(s), slowest ${slowest.ms.toFixed(0)} ms, ${((performance.now() - started) / 1000).toFixed(0)} s`);
            }
            break;
          }
          case 'failure':
            shrinkRuns += m.shrinkRuns;
            record(m.failures, m.c);
            break;
          case 'typechecked': typechecked.set(child.pid ?? 0, m.n); break;
          case 'known': for (const b of m.bugs) knownSpec2ts.set(b, (knownSpec2ts.get(b) ?? 0) + 1); break;
          case 'harness-error':
            harnessErrors++;
            console.log(`  HARNESS ERROR (not counted as a compiler failure): ${m.message.split('\n').slice(0, 6).join('\n    ')}`);
            break;
          case 'done': job = undefined; give(); break;
        }
      });
      child.on('exit', (code, signal) => {
        live--;
        if (job && current) {
          // The case that was running took the process down (V8 fatal error, out of memory).
          crashes++;
          tried++;
          record([`the process died (${signal ?? `exit code ${code}`}) on this case`], current as FuzzCase);
        }
        start();
      });
      give();
    };
    for (let i = 0; i < o.workers; i++) start();
  });

  const secs = (performance.now() - started) / 1000;
  console.log(`\nfuzz: ${tried} cases tried in ${secs.toFixed(0)} s (seed ${o.seed}; ${shrinkRuns} more runs while shrinking; ${machine}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
  for (const [k, v] of [...byKind].sort()) console.log(`  ${k.padEnd(18)} ${String(v.n).padStart(7)} cases, ${String(v.ok).padStart(6)} compiled without errors`);
  if (o.codegen) {
    console.log(`spec2ts: ${[...typechecked.values()].reduce((a, b) => a + b, 0)} generated modules type-checked; known bugs of src/codegen (test/fuzz/known.ts), not counted as failures:`);
    for (const [b, n] of knownSpec2ts) console.log(`  ${n}x ${b}`);
  }
  console.log(`failures: ${failures.size} distinct${crashes ? ` (${crashes} crashed a worker)` : ''}${harnessErrors ? `; ${harnessErrors} batch(es) cut short by a harness error` : ''}`);
  for (const [sig, f] of failures) console.log(`  ${f.count}x ${sig}${f.saved ? ` (test/fuzz/corpus/${f.saved})` : ''}`);
  console.log(`slowest case: ${slowest.ms.toFixed(0)} ms (${slowest.kind}, ${slowest.textLength} characters: ${JSON.stringify(slowest.head.slice(0, 80))})`);
  return failures.size ? 1 : 0;
}

// ---- kill fuzzing -------------------------------------------------------------

async function killMain(o: Options): Promise<number> {
  const { KILL_KINDS, STATIC_KINDS, prepareKill, runKillCases, cleanupKill } = await import('../test/fuzz/kill.js');
  type Kind = (typeof KILL_KINDS)[number];
  const kinds: Kind[] = o.kill === 'static' ? [...STATIC_KINDS] : (o.kill!.split(',') as Kind[]);
  for (const k of kinds) if (!KILL_KINDS.includes(k)) throw new Error(`unknown kill kind ${k}; the kinds are static, ${KILL_KINDS.join(', ')}`);
  const machine = `${cpus()[0]?.model ?? 'unknown CPU'} x${cpus().length}, node ${process.version}`;
  const started = performance.now();
  console.log(`kill fuzz: ${o.cases} cases of ${kinds.join(', ')}, seed ${o.seed}, ${o.workers} at a time${o.timeBudget ? `, time budget ${o.timeBudget} s` : ''}; ${machine}, load average ${loadavg()[0]!.toFixed(1)}`);
  const stats = new Map<string, { n: number; killed: number; old: number; fresh: number; temp: number; failed: number }>();
  const failures: string[] = [];
  let total = 0;
  const overBudget = () => o.timeBudget !== undefined && (performance.now() - started) / 1000 > o.timeBudget;
  // Rounds of 20 cases per kind, in turn, so that a run cut short by its budget covers every kind.
  const perKind = Math.ceil(o.cases / kinds.length);
  const targets = new Map(kinds.map((k) => [k, prepareKill(k)]));
  try {
    for (let round = 0; round * 20 < perKind && !overBudget(); round++) {
      for (const k of kinds) {
        if (overBudget()) break;
        const n = Math.min(20, perKind - round * 20);
        await runKillCases(targets.get(k)!, n, (o.seed + round * 1_000_003 + KILL_KINDS.indexOf(k)) >>> 0, o.workers, (r) => {
          const s = stats.get(k) ?? { n: 0, killed: 0, old: 0, fresh: 0, temp: 0, failed: 0 };
          s.n++; if (!r.finished) s.killed++; s.old += r.old; s.fresh += r.fresh; s.temp += r.temp;
          if (r.failures.length) { s.failed++; failures.push(r.failures.join('\n    ')); console.log(`  FAILURE ${r.failures.join('\n    ')}`); }
          stats.set(k, s);
          if (++total % 100 === 0) console.log(`  ${total} cases, ${failures.length} failed, ${((performance.now() - started) / 1000).toFixed(0)} s`);
        });
      }
    }
  } finally {
    for (const t of targets.values()) cleanupKill(t);
  }
  const secs = (performance.now() - started) / 1000;
  console.log(`\nkill fuzz: ${total} cases in ${secs.toFixed(0)} s (seed ${o.seed}; ${machine}; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')})${total < o.cases ? `; stopped by the time budget after ${total} of ${o.cases}` : ''}`);
  for (const [k, s] of stats) console.log(`  ${k.padEnd(8)} ${String(s.n).padStart(6)} cases, ${String(s.killed).padStart(6)} killed before the end; files found: ${s.old} old, ${s.fresh} new, ${s.temp} temporary; ${s.failed} failed`);
  return failures.length ? 1 : 0;
}

const opts = parseArgs(process.argv.slice(2));
if (opts.worker) await worker(opts);
else if (opts.kill) process.exitCode = await killMain(opts);
else process.exitCode = await main(opts);
