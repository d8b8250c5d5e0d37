/**
 * Baseline tests, in the manner of the TypeScript compiler's: each bad spec in
 * `cases/` is compiled as `modelspec check` would, and the rendered diagnostics
 * (file:line:col, code frame, hint) must equal `expected/<case>.errors.txt`.
 *
 * A case may say on its second line `# args: --set n=0 --set k=v` for parameters, and
 * `# export: pytorch` to be exported (`modelspec export --format pytorch`) instead of checked.
 * Files under `cases/lib/` are helpers for cases (libraries for `use:`), not cases.
 * `npm run accept-baselines` rewrites the expected files after a deliberate change:
 * read the diff before committing it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFile } from '../../src/index.js';
import { renderDiagnostics } from '../../src/diagnostics/render.js';
import { pytorchModuleText } from '../../src/train/export.js';
import { builtinRegistry } from '../../src/ops/index.js';

export const CASES_DIR = fileURLToPath(new URL('./cases', import.meta.url));
export const EXPECTED_DIR = fileURLToPath(new URL('./expected', import.meta.url));

export function listCases(): string[] {
  return readdirSync(CASES_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort();
}

function caseArgs(text: string): string[] {
  const m = /^# args:(.*)$/m.exec(text.split('\n').slice(0, 3).join('\n'));
  if (!m) return [];
  const words = m[1]!.trim().split(/\s+/);
  const sets: string[] = [];
  for (let i = 0; i < words.length; i++) if (words[i] === '--set' && words[i + 1] !== undefined) sets.push(words[++i]!);
  return sets;
}

export function baselineOutput(name: string): string {
  const path = join(CASES_DIR, `${name}.yaml`);
  const text = readFileSync(path, 'utf8');
  const set = caseArgs(text);
  if (/^# export: pytorch$/m.test(text.split('\n').slice(0, 3).join('\n'))) return exportOutput(name, path, set);
  const r = compileFile(path, { set });
  const exit = r.ok ? 0 : 1;
  const body = r.diagnostics.length ? renderDiagnostics(r.diagnostics, r.sources, { cwd: CASES_DIR }) + '\n' : '';
  const args = set.length ? `modelspec check ${name}.yaml ${set.map((s) => `--set ${s}`).join(' ')}` : `modelspec check ${name}.yaml`;
  return `$ ${args}\n${body}exit code: ${exit}\n`;
}

/** `modelspec export --format pytorch` of a case: its diagnostics, rendered relative to cases/. */
function exportOutput(name: string, path: string, set: string[]): string {
  const cwd = process.cwd();
  process.chdir(CASES_DIR);
  try {
    const r = pytorchModuleText(path, { set, format: 'pytorch', force: false, registry: builtinRegistry() });
    return `$ modelspec export ${name}.yaml --format pytorch\n${r.stderr}exit code: ${r.text === undefined ? 1 : 0}\n`;
  } finally {
    process.chdir(cwd);
  }
}
