/** Rendering diagnostics: `file:line:col - error MS2002: message`, a code frame and a hint. */
import { codeFrameColumns } from '@babel/code-frame';
import type { Diagnostic, SourceSpan } from '../types/diagnostic.js';
import type { Sources } from './sources.js';
import { escapeTerminal } from '../io/terminal.js';

export interface RenderOptions {
  /** Show a code frame under the headline (default true). */
  frame?: boolean;
  /** Make paths relative to this directory. */
  cwd?: string;
  color?: boolean;
  /**
   * Code frames, hints and notes for the first this many diagnostics; the rest get their headline
   * only (default 100): a file of 10,000 broken lines answers with 10,000 lines, not 100,000.
   */
  maxFrames?: number;
}

export const DEFAULT_MAX_FRAMES = 100;

function location(span: SourceSpan | undefined, sources: Sources, cwd?: string): string {
  if (!span) return '';
  const lc = sources.lineCol(span);
  const file = cwd && span.file.startsWith(cwd + '/') ? span.file.slice(cwd.length + 1) : span.file;
  return lc ? `${file}:${lc.line}:${lc.column}` : file;
}

/** Longest line a code frame shows in full; longer ones are cut to a window around the span. */
const MAX_FRAME_LINE = 160;

function frame(span: SourceSpan, sources: Sources): string | undefined {
  const src = sources.get(span.file);
  if (!src) return undefined;
  const start = src.lineCol(span.start);
  const lineStart = span.start - (start.column - 1);
  const lineEndRaw = src.text.indexOf('\n', span.start);
  const lineEnd = lineEndRaw < 0 ? src.text.length : lineEndRaw;
  if (lineEnd - lineStart > MAX_FRAME_LINE) {
    // A very long line (minified or hostile input): show a window around the span only.
    const from = Math.max(lineStart, span.start - 60);
    const to = Math.min(lineEnd, from + 120);
    const text = `${from > lineStart ? '…' : ''}${src.text.slice(from, to)}${to < lineEnd ? '…' : ''}`;
    const col = span.start - from + (from > lineStart ? 1 : 0);
    const width = Math.max(1, Math.min(span.end, to) - span.start);
    const gutter = String(start.line);
    return `> ${gutter} | ${text}\n  ${' '.repeat(gutter.length)} | ${' '.repeat(col)}${'^'.repeat(width)}`;
  }
  let endOffset = Math.max(span.start + 1, span.end);
  // Underline at most to the end of the first line of the span.
  const nl = src.text.indexOf('\n', span.start);
  if (nl >= 0 && endOffset > nl) endOffset = Math.max(span.start + 1, nl);
  const end = src.lineCol(endOffset);
  // Only the lines the frame shows are handed over (with the number of the first): the code frame
  // splits all it is given into lines, so a file with thousands of diagnostics took seconds.
  const first = Math.max(1, start.line - 2);
  const excerpt = src.lines(first, end.line + 1);
  const frameOpts = { highlightCode: false, linesAbove: 2, linesBelow: 1, startLine: first } as Parameters<typeof codeFrameColumns>[2];
  return codeFrameColumns(excerpt, { start, end }, frameOpts);
}

/** A diagnostic as text for a terminal: control and bidi characters in it escaped (escapeTerminal). */
export function renderDiagnostic(d: Diagnostic, sources: Sources, opts: RenderOptions = {}): string {
  return escapeTerminal(renderRaw(d, sources, opts));
}

function renderRaw(d: Diagnostic, sources: Sources, opts: RenderOptions): string {
  const loc = location(d.span, sources, opts.cwd);
  const head = `${loc ? loc + ' - ' : ''}${d.severity} ${d.code}: ${d.message}`;
  const lines = [head];
  if (d.span && opts.frame !== false) {
    const f = frame(d.span, sources);
    if (f) lines.push(f);
  }
  for (const r of d.related ?? []) lines.push(`  ${location(r.span, sources, opts.cwd)}: ${r.message}`);
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join('\n');
}

export function renderDiagnostics(diags: readonly Diagnostic[], sources: Sources, opts: RenderOptions = {}): string {
  const max = opts.maxFrames ?? DEFAULT_MAX_FRAMES;
  if (diags.length <= max) return diags.map((d) => renderDiagnostic(d, sources, opts)).join('\n\n');
  const full = diags.slice(0, max).map((d) => renderDiagnostic(d, sources, opts)).join('\n\n');
  const rest = diags.slice(max).map((d) => {
    const loc = location(d.span, sources, opts.cwd);
    return escapeTerminal(`${loc ? loc + ' - ' : ''}${d.severity} ${d.code}: ${d.message}`);
  });
  return `${full}\n\n(code frames for the first ${max} of ${diags.length} diagnostics; the rest in brief)\n${rest.join('\n')}`;
}

/** JSON form of a diagnostic, with positions resolved, for `--json`. */
export function diagnosticToJson(d: Diagnostic, sources: Sources) {
  const pos = (span: SourceSpan | undefined) => {
    if (!span) return undefined;
    const start = sources.lineCol(span);
    const end = sources.get(span.file)?.lineCol(span.end);
    return { file: span.file, line: start?.line, column: start?.column, endLine: end?.line, endColumn: end?.column };
  };
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    ...(d.span ? { location: pos(d.span) } : {}),
    ...(d.hint ? { hint: d.hint } : {}),
    ...(d.related ? { related: d.related.map((r) => ({ message: r.message, location: pos(r.span) })) } : {}),
  };
}
