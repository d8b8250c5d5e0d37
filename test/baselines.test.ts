import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Msg } from '../src/diagnostics/messages.js';
import { baselineOutput, EXPECTED_DIR, listCases } from './baselines/harness.js';

const cases = listCases();

describe('diagnostic baselines', () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  for (const name of cases) {
    it(name, () => {
      const file = join(EXPECTED_DIR, `${name}.errors.txt`);
      expect(existsSync(file), `missing ${file}: run npm run accept-baselines`).toBe(true);
      expect(baselineOutput(name)).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('every diagnostic code of the catalogue has a baseline that shows it with line:col', () => {
    const all = cases.map((c) => readFileSync(join(EXPECTED_DIR, `${c}.errors.txt`), 'utf8')).join('\n');
    const missing = Object.values(Msg)
      .filter((m) => m.code !== 'MS9001')
      .filter((m) => !new RegExp(`:\\d+:\\d+ - (error|warning) ${m.code}:`).test(all));
    expect(missing.map((m) => `${m.code} ${m.title}`)).toEqual([]);
  });
});
