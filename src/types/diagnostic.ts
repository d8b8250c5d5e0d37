/** Diagnostics are values: the compiler collects them and never throws at the user. */

export type Severity = 'error' | 'warning';

/** A half-open byte range [start, end) in one source file (or the command line). */
export interface SourceSpan {
  file: string;
  start: number;
  end: number;
}

export interface RelatedInfo {
  message: string;
  span: SourceSpan;
}

export interface Diagnostic {
  /** Stable code from the catalogue, e.g. `MS2002`. */
  code: string;
  severity: Severity;
  message: string;
  span?: SourceSpan;
  hint?: string;
  /** Secondary locations: "instantiated from", "declared here", ... */
  related?: RelatedInfo[];
}

/** A resolved position, 1-based line and column, as editors show them. */
export interface LineCol {
  line: number;
  column: number;
}
