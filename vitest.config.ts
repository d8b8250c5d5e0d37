import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The slowest test files, in seconds of vitest's duration on the last full CI run (2 cores): they
 * start first, so that no long file begins when the others are done and leaves a core idle at the
 * end. Vitest orders by its own cache of durations when it has one (not in CI's clean checkout, where
 * it falls back to file size); a file not listed keeps vitest's order, after these.
 */
const HEAVY: Record<string, number> = {
  'test/pytorch-cli.test.ts': 58,
  'test/pytorch-export.test.ts': 52,
  'test/fuzz-kill.test.ts': 48,
  'test/fuzz.test.ts': 39,
  'test/spec2ts.test.ts': 27,
  'test/inputs.test.ts': 25,
  'test/train.test.ts': 24,
  'test/run-folders.test.ts': 19,
  'test/train-parallel.test.ts': 18,
  'test/limits.test.ts': 17,
  'test/import-structure.test.ts': 14,
  'test/train-arrays-run.test.ts': 12,
  'test/sequence-models.test.ts': 11,
};

class HeavyFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const weight = (f: TestSpecification) => HEAVY[relative(f.project.config.root, f.moduleId).split('\\').join('/')] ?? 0;
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => weight(b.f) - weight(a.f) || a.i - b.i).map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    // One test file per core. Vitest's default is one fewer than the cores: on CI's 2 cores, one
    // file at a time, with a core idle whenever that file runs single-threaded JavaScript.
    // VITEST_MAX_WORKERS (or --maxWorkers) still overrides it.
    maxWorkers: Math.max(1, availableParallelism()),
    sequence: { sequencer: HeavyFirst },
  },
});
