/** The texts diagnostics point into, with offset -> line:column mapping. */
import type { LineCol, SourceSpan } from '../types/diagnostic.js';

export class SourceText {
  private lineStarts: number[] | undefined;
  constructor(readonly file: string, readonly text: string) {}

  private starts(): number[] {
    if (!this.lineStarts) {
      const s = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text.charCodeAt(i) === 10) s.push(i + 1);
      this.lineStarts = s;
    }
    return this.lineStarts;
  }

  /** The text of lines `from`..`to` (1-based, inclusive, clamped to the file), without the last newline. */
  lines(from: number, to: number): string {
    const s = this.starts();
    const a = s[Math.max(0, from - 1)] ?? this.text.length;
    const next = s[Math.min(s.length, to)];
    return this.text.slice(a, next === undefined ? this.text.length : next - 1);
  }

  /** 1-based line and column of an offset. */
  lineCol(offset: number): LineCol {
    const s = this.starts();
    let lo = 0, hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid]! <= offset) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - s[lo]! + 1 };
  }
}

/** All source texts of one compilation, by file name. */
export class Sources {
  private map = new Map<string, SourceText>();
  add(file: string, text: string): SourceText {
    const s = new SourceText(file, text);
    this.map.set(file, s);
    return s;
  }
  get(file: string): SourceText | undefined {
    return this.map.get(file);
  }
  /** A copy that shares the texts: what one compile adds (its `--set` line) does not reach the other. */
  copy(): Sources {
    const c = new Sources();
    for (const [k, v] of this.map) c.map.set(k, v);
    return c;
  }
  lineCol(span: SourceSpan): LineCol | undefined {
    return this.map.get(span.file)?.lineCol(span.start);
  }
}

/** Pseudo-file name used for diagnostics about `--set` arguments. */
export const COMMAND_LINE = '<command line>';
