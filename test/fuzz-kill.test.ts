/**
 * The short kill-fuzz run of `npm test` (issue 12): the file-writing commands of the built CLI,
 * killed with SIGKILL at random moments over an older output of their own; after each kill every
 * file is the old complete version or the new complete one, and `train --resume` works (see
 * test/fuzz/kill.ts). 200 cases of build/import/spec2ts/graph and 10 of train; the long run is
 * `npx tsx scripts/fuzz.ts --kill static|train --cases N` (docs/robustness.md has its figures).
 *
 * Environment: FUZZ_SEED (default fixed), FUZZ_SCALE (multiplies the case counts).
 */
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupKill, prepareKill, runKillCases, type KillKind, type KillResult } from './fuzz/kill.js';
import { ROOT } from './helpers.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
/** Cases per kind: the cheap ones (a spawn of ~0.4 s) take most of the 200. */
const CASES: Record<KillKind, number> = { graph: 90, import: 90, build: 12, spec2ts: 8, train: 10 };

const seen: string[] = [];
afterAll(() => console.log(`kill fuzz (seed ${SEED}): ${seen.join('; ')}`));

describe('kill fuzz: SIGKILL at random moments leaves old or new complete files', () => {
  it.each(Object.entries(CASES) as [KillKind, number][])('%s: %i cases', async (kind, n) => {
    expect(existsSync(`${ROOT}dist/cli/modelspec.js`), 'run npm run build first').toBe(true);
    const t = prepareKill(kind);
    const results: KillResult[] = [];
    try {
      await runKillCases(t, Math.round(n * SCALE), SEED, 2, (r) => results.push(r));
    } finally {
      cleanupKill(t);
    }
    const sum = (f: (r: KillResult) => number) => results.reduce((a, r) => a + f(r), 0);
    seen.push(`${kind} ${results.length} cases (${results.filter((r) => !r.finished).length} killed; files: ${sum((r) => r.old)} old, ${sum((r) => r.fresh)} new, ${sum((r) => r.temp)} temporary)`);
    expect(results.flatMap((r) => r.failures)).toEqual([]);
    expect(results.length).toBe(Math.round(n * SCALE));
    // The clock must land kills after the command began writing at least once in a while.
    if (kind === 'train') expect(sum((r) => r.fresh)).toBeGreaterThan(0);
  }, 300_000);
});
