/** Creating and collecting diagnostics. */
import type { Diagnostic, RelatedInfo, SourceSpan } from '../types/diagnostic.js';
import { Msg, type MsgKey } from './messages.js';
import { distance } from 'fastest-levenshtein';

export interface DiagExtra {
  hint?: string;
  related?: RelatedInfo[];
}

export function diag(key: MsgKey, message: string, span: SourceSpan | undefined, extra: DiagExtra = {}): Diagnostic {
  const def = Msg[key];
  const d: Diagnostic = { code: def.code, severity: def.severity, message };
  if (span) d.span = span;
  if (extra.hint) d.hint = extra.hint;
  if (extra.related && extra.related.length > 0) d.related = extra.related;
  return d;
}

/**
 * "did you mean 'filters'?" when a candidate is close enough to be a likely typo: one that differs
 * only in case or underscores, else the first of the closest within the edit distance limit.
 * One pass, and no distance computed where the lengths alone rule a candidate out: a spec with
 * thousands of ids and thousands of wrong references made this quadratic with a large factor.
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  const bare = lower.replace(/_/g, '');
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c !== '' && ((c.length === name.length && c.toLowerCase() === lower) || sameButUnderscores(c, bare))) return `did you mean '${c}'?`;
    if (Math.abs(c.length - name.length) > Math.min(limit, bestDistance - 1)) continue;
    const d = distance(name, c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== undefined && bestDistance <= limit ? `did you mean '${best}'?` : undefined;
}

/** Whether `c` without its underscores is `bare` (compared as they are; no string is built). */
function sameButUnderscores(c: string, bare: string): boolean {
  if (c.length < bare.length) return false;
  let j = 0;
  for (let i = 0; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    if (ch === 95) continue; // _
    if (j >= bare.length || ch !== bare.charCodeAt(j)) return false;
    j++;
  }
  return j === bare.length;
}

export function hasErrors(diags: readonly Diagnostic[]): boolean {
  return diags.some((d) => d.severity === 'error');
}

/** Errors first by position, stable otherwise. */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) => {
    const fa = a.span?.file ?? '', fb = b.span?.file ?? '';
    if (fa !== fb) return fa < fb ? -1 : 1;
    return (a.span?.start ?? -1) - (b.span?.start ?? -1);
  });
}

/**
 * Collects diagnostics, keeping one per code and source span: an item expanded
 * many times (in a loop, or a block called from several places) reports its
 * problem once, with a note of how often it occurred.
 */
/** Diagnostics of one code at one span are one diagnostic, however often they are reported. */
const sinkKey = (code: string, span: SourceSpan | undefined) => `${code}|${span?.file}|${span?.start}|${span?.end}`;

export class DiagnosticSink {
  private readonly seen = new Map<string, { index: number; count: number }>();
  constructor(readonly list: Diagnostic[]) {}

  /**
   * Count one more report of a diagnostic already made (same code and span), without making it
   * again: false when there is none yet. For the reports that cost something to word.
   */
  again(code: string, span: SourceSpan): boolean {
    const hit = this.seen.get(sinkKey(code, span));
    if (hit) hit.count++;
    return hit !== undefined;
  }

  push(d: Diagnostic): void {
    const key = sinkKey(d.code, d.span);
    const hit = this.seen.get(key);
    if (hit) { hit.count++; return; }
    this.seen.set(key, { index: this.list.length, count: 1 });
    this.list.push(d);
  }

  /** Add "(N times)" notes to repeated diagnostics. */
  finish(): void {
    for (const { index, count } of this.seen.values()) {
      if (count < 2) continue;
      const d = this.list[index]!;
      this.list[index] = { ...d, message: `${d.message} (and ${count - 1} more time${count === 2 ? '' : 's'} where this item is expanded again)` };
    }
  }
}
