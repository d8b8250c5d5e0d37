/**
 * Delta debugging on a failing case's text: drop lines, then characters, while the same failure
 * remains, so the corpus keeps minimal reproducers. Bounded by a time budget.
 */
import { runCase, type FuzzCase, type RunOptions } from './harness.js';

/** What a failure is, without the details that change as the input shrinks (numbers, quoted text). */
export function signature(failures: readonly string[]): string {
  const first = failures[0] ?? '';
  const ts = /error (TS\d+): ([^\n]*)/.exec(first);
  const line = ts ? `${first.split('\n')[0]} ${ts[1]} ${ts[2]!.replace(/'[^']*'/g, "'…'")}` : first.split('\n')[0]!.replace(/'[^']*'/g, "'…'").replace(/\b\d+(\.\d+)?\b/g, 'N');
  return line.slice(0, 160);
}

export function minimize(c: FuzzCase, opts: RunOptions & { budgetMs?: number } = {}): FuzzCase {
  const want = signature(runCase(c, opts).failures);
  if (!want) return c;
  const deadline = performance.now() + (opts.budgetMs ?? 30_000);
  const fails = (text: string) => performance.now() < deadline && signature(runCase({ ...c, text }, opts).failures) === want;
  let text = c.text;
  for (const unit of ['\n', '']) {
    let parts = unit ? text.split(unit) : [...text];
    if (unit === '' && parts.length > 4000) break;
    for (let chunk = Math.max(1, Math.floor(parts.length / 2)); chunk >= 1; chunk = Math.floor(chunk / 2)) {
      for (let i = 0; i < parts.length && performance.now() < deadline; ) {
        const candidate = [...parts.slice(0, i), ...parts.slice(i + chunk)];
        if (fails(candidate.join(unit))) parts = candidate;
        else i += chunk;
      }
      if (performance.now() >= deadline) break;
    }
    text = parts.join(unit);
  }
  return { ...c, text };
}
