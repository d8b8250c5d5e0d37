/**
 * How spec2ts lays its code out: statement lines with indentation (Writer), JSDoc text, object
 * literals, and lines broken at MAX_LINE columns.
 *
 * Why a line breaker of its own rather than ts-morph's formatter (`SourceFile.formatText`, the
 * TypeScript language service's): that formatter fixes indentation and spacing but never breaks a
 * line by its width. Tried on a 140-column `s.layer('conv2d', { ... }, x0);` statement, it returned
 * the line unchanged, and took ~300 ms for that one statement, cold (2026-12-04, `npx tsx`, the
 * shared 2-core development machine), so it would neither give the committed generated/ text nor keep spec2ts fast. The
 * breaker here only ever breaks the last object literal of a call, one property a line.
 */
import { propertyKey } from './expr.js';

/** Lines of code with indentation; bodies of functions, passed to ts-morph as statements. */
export class Writer {
  readonly lines: string[] = [];
  private depth = 0;
  line(s: string): void {
    this.lines.push('  '.repeat(this.depth) + s);
  }
  block(header: string, body: () => void, close = '}'): void {
    this.line(`${header} {`);
    this.depth++;
    body();
    this.depth--;
    this.line(close);
  }
  indent(body: () => void): void {
    this.depth++;
    body();
    this.depth--;
  }
  get column(): number {
    return this.depth * 2;
  }
  text(): string {
    return this.lines.join('\n');
  }
}

/**
 * JSDoc text: no `*\/` can end the comment early, line breaks of any kind are newlines, and long
 * lines are wrapped at spaces (so a spec's one-paragraph `doc` reads as a paragraph).
 */
export function docText(s: string, width = 96): string {
  const safe = s.replace(/\r\n?|\u2028|\u2029/g, '\n').replace(/\*\//g, '*\\/').trim();
  return safe.split('\n').map((line) => {
    const out: string[] = [];
    let cur = '';
    for (const word of line.split(' ')) {
      if (cur && cur.length + 1 + word.length > width) {
        out.push(cur);
        cur = word;
      } else cur = cur ? `${cur} ${word}` : word;
    }
    out.push(cur);
    return out.join('\n');
  }).join('\n');
}

/** `{ a, b: 1 }` from key/code pairs (shorthand where the code is the key). */
export function objectLiteral(entries: readonly (readonly [string, string])[]): string {
  if (entries.length === 0) return '{}';
  return `{ ${entries.map(([k, v]) => (v === k && k !== '__proto__' ? k : `${propertyKey(k)}: ${v}`)).join(', ')} }`;
}

/** An object literal on one line, or one property a line when the line would be too long. */
export function objectLines(entries: readonly (readonly [string, string])[], column: number): string {
  const one = objectLiteral(entries);
  if (column + one.length + 1 <= MAX_LINE || entries.length < 2) return one;
  return `{\n${entries.map(([k, v]) => `  ${v === k && k !== '__proto__' ? k : `${propertyKey(k)}: ${v}`},`).join('\n')}\n}`;
}

/** Items joined by `, ` into lines of at most `width` characters, each line ending with a comma. */
export function wrapList(items: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const it of items) {
    const next = cur ? `${cur} ${it},` : `${it},`;
    if (cur && next.length > width) {
      lines.push(cur);
      cur = `${it},`;
    } else cur = next;
  }
  if (cur) lines.push(cur);
  return lines;
}

export function indentText(text: string, levels: number): string {
  const pad = '  '.repeat(levels);
  return text.split('\n').map((l) => (l ? pad + l : l)).join('\n');
}

export const MAX_LINE = 110;

/**
 * Write `prefix + code` as one statement; when the line is too long, the last object literal
 * argument is broken into one property per line. Multi-line code (branch lists) is indented.
 */
export function emitCall(w: Writer, prefix: string, code: string): void {
  const text = prefix + code;
  const lines = text.split('\n');
  if (lines.length === 1 && w.column + text.length > MAX_LINE) {
    const broken = breakObject(text);
    if (broken) {
      for (const l of broken.split('\n')) w.line(l);
      return;
    }
  }
  lines.forEach((l) => w.line(l));
}

/** Break the last top-level `{ ... }` of a one-line call into lines. */
function breakObject(text: string): string | undefined {
  // Find the outermost object literals (depth counted over (), [], {} outside strings).
  let depth = 0;
  let quoteChar: string | undefined;
  let start = -1;
  let best: [number, number] | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoteChar) {
      if (c === '\\') i++;
      else if (c === quoteChar) quoteChar = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') { quoteChar = c; continue; }
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '{') {
      if (depth === 1 && start < 0) start = i;
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 1 && start >= 0) { best = [start, i]; start = -1; }
    }
  }
  if (!best) return undefined;
  const [a, b] = best;
  const inner = text.slice(a + 1, b).trim();
  if (!inner) return undefined;
  const props = splitTopLevel(inner);
  if (props.length < 2) return undefined;
  return `${text.slice(0, a)}{\n${props.map((p) => `  ${p.trim()},`).join('\n')}\n}${text.slice(b + 1)}`;
}

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoteChar: string | undefined;
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoteChar) {
      if (c === '\\') i++;
      else if (c === quoteChar) quoteChar = undefined;
      continue;
    }
    if (c === "'" || c === '"' || c === '`') { quoteChar = c; continue; }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 0) { out.push(s.slice(from, i)); from = i + 1; }
  }
  out.push(s.slice(from));
  return out.filter((p) => p.trim() !== '');
}

