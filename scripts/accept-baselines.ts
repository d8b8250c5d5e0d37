/** Rewrites test/baselines/expected/*.errors.txt from the current compiler. Review the diff before committing. */
import { readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { baselineOutput, EXPECTED_DIR, listCases } from '../test/baselines/harness.js';

const cases = new Set(listCases());
let n = 0;
for (const name of cases) {
  const file = join(EXPECTED_DIR, `${name}.errors.txt`);
  writeFileSync(`${file}.tmp`, baselineOutput(name));
  renameSync(`${file}.tmp`, file);
  n++;
}
for (const f of readdirSync(EXPECTED_DIR)) {
  if (f.endsWith('.errors.txt') && !cases.has(f.replace(/\.errors\.txt$/, ''))) rmSync(join(EXPECTED_DIR, f));
}
console.log(`wrote ${n} baselines to ${EXPECTED_DIR}`);
