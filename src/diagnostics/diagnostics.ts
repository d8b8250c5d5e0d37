/** Creating and collecting diagnostics. */
import type { Diagnostic, RelatedInfo, SourceSpan } from '../types/diagnostic.js';
import { Msg, type MsgKey } from './messages.js';
import { closest, distance } from 'fastest-levenshtein';

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

/** "did you mean 'filters'?" when a candidate is close enough to be a likely typo. */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  if (list.length === 0) return undefined;
  const lower = name.toLowerCase();
  const exactCase = list.find((c) => c.toLowerCase() === lower || c.replace(/_/g, '') === lower.replace(/_/g, ''));
  if (exactCase) return `did you mean '${exactCase}'?`;
  const best = closest(name, list);
  const limit = Math.max(2, Math.floor(name.length / 3));
  return distance(name, best) <= limit ? `did you mean '${best}'?` : undefined;
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
export class DiagnosticSink {
  private readonly seen = new Map<string, { index: number; count: number }>();
  constructor(readonly list: Diagnostic[]) {}

  push(d: Diagnostic): void {
    const key = `${d.code}|${d.span?.file}|${d.span?.start}|${d.span?.end}`;
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
