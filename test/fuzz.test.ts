/**
 * The short fuzz run of `npm test`: the regression corpus, then a few thousand cases of every
 * generator of test/fuzz/arbitraries.ts through the properties of test/fuzz/harness.ts (no
 * exception, catalogue codes with spans inside their files, deterministic output, consistent
 * totals, no pollution, and no compile over the time limit). The long run is scripts/fuzz.ts.
 *
 * Environment: FUZZ_SEED (default fixed, so CI is reproducible; any other explores new cases),
 * FUZZ_SCALE (multiplies the case counts), FUZZ_TIME_LIMIT_MS (default 3000: the target is 1 s,
 * `npm test` runs the test files in parallel on a shared machine; the slowest case is printed).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CASE_KINDS } from './fuzz/arbitraries.js';
import { codegenHook } from './fuzz/codegen.js';
import { listCorpus } from './fuzz/corpus.js';
import { runCase, type FuzzCase, type RunOptions } from './fuzz/harness.js';
import { KNOWN_SPEC2TS_BUGS, knownBugs } from './fuzz/known.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 3000);

/** Cases per generator: 2,190 in all (plus the corpus). */
const RUNS: Record<keyof typeof CASE_KINDS, number> = {
  garbage: 400,
  yamlish: 400,
  structural: 500,
  mutation: 450,
  library: 100,
  text: 300,
  bomb: 40,
};

const stats = { cases: 0, ok: 0, maxMs: 0, slowest: '', totalMs: 0 };
const hook = await codegenHook();
/** spec2ts (with ts-morph) costs more than the compiler: every fourth case goes through it here, every case in the long run. */
const CODEGEN_EVERY = Number(process.env.FUZZ_CODEGEN_EVERY ?? 4);

function check(c: FuzzCase, allCodegen = false): void {
  const codegen = hook && (allCodegen || stats.cases % CODEGEN_EVERY === 0);
  const opts: RunOptions = { timeLimitMs: TIME_LIMIT_MS, ...(codegen ? { codegen: hook } : {}) };
  const r = runCase(c, opts);
  stats.cases++;
  stats.totalMs += r.ms;
  if (r.ok) stats.ok++;
  if (r.ms > stats.maxMs) {
    stats.maxMs = r.ms;
    stats.slowest = `${c.kind}: ${JSON.stringify(c.text.slice(0, 60))}`;
  }
  if (r.failures.length) throw new Error(`${r.failures.join('\n')}\n\ncase: ${JSON.stringify(c).slice(0, 2000)}`);
}

describe('fuzz: the regression corpus', () => {
  const corpus = listCorpus();
  it.each(corpus.map((c) => [c.name, c] as const))('%s', (_, c) => {
    // spec2ts for the corpus entries found through it (the big bombs would only cost time there).
    expect(() => check(c, c.kind.startsWith('spec2ts') || KNOWN_SPEC2TS_BUGS.some((b) => b.reproducers.includes(c.kind)))).not.toThrow();
  });
});

describe(`fuzz: properties hold on generated cases (seed ${SEED})`, () => {
  for (const [kind, runs] of Object.entries(RUNS) as [keyof typeof CASE_KINDS, number][]) {
    it(`${kind}: ${Math.round(runs * SCALE)} cases`, () => {
      fc.assert(fc.property(CASE_KINDS[kind], (c) => check(c)), { seed: SEED, numRuns: Math.round(runs * SCALE), endOnFailure: true });
    }, 120_000);
  }
});

describe('fuzz: spec2ts', () => {
  it.runIf(hook)('every module generated above type-checks under --strict', () => {
    const failures = hook!.typecheckPending();
    const unknown = failures.filter((f) => !knownBugs(f.errors));
    expect(unknown.map((f) => `${f.errors}\ncase: ${JSON.stringify(f.c).slice(0, 1500)}`)).toEqual([]);
    const known = failures.filter((f) => knownBugs(f.errors));
    if (known.length) console.log(`spec2ts: ${known.length} module(s) still fail with known bugs of src/codegen: ${[...new Set(known.flatMap((f) => knownBugs(f.errors)!))].join('; ')}`);
    // A reproducer that type-checks now: its bug was fixed, take it off the list.
    const failing = new Set(known.map((f) => f.c.kind));
    expect(KNOWN_SPEC2TS_BUGS.flatMap((b) => b.reproducers).filter((r) => !failing.has(r))).toEqual([]);
    expect(hook!.checked).toBeGreaterThan(50);
  }, 300_000);
});

afterAll(() => {
  // Shown with the test output: what was run and the slowest case.
  console.log(
    `fuzz: ${stats.cases} cases (seed ${SEED}), ${stats.ok} compiled without errors, mean ${(stats.totalMs / Math.max(1, stats.cases)).toFixed(1)} ms, ` +
      `slowest ${stats.maxMs.toFixed(0)} ms (${stats.slowest}), time limit ${TIME_LIMIT_MS} ms${hook ? `, ${hook.checked} spec2ts modules type-checked` : ', spec2ts not available'}`,
  );
});
