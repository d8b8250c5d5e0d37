/** Errors of generated builders: the compiler's diagnostics (code and message), thrown. */
import { Msg, type Said } from '../diagnostics/messages.js';

export interface Problem {
  /** The diagnostic code the compiler reports for the same problem, e.g. `MS4005`. */
  code: string;
  message: string;
}

/**
 * A spec value problem found while building: the same code and message as the compiler's
 * diagnostic for the same parameter values. Several problems (e.g. all invalid options) are
 * reported together, one per line of `message`.
 */
export class SpecValueError extends Error {
  readonly code: string;
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'SpecValueError';
    this.problems = problems;
    this.code = problems[0]?.code ?? Msg.internal.code;
  }
}

/** Throw the compiler's diagnostic `code` with `message`. */
export function fail(code: string, message: string): never {
  throw new SpecValueError([{ code, message }]);
}

/** A catalogue message (`Say`) as a problem: its code and message. */
export function problem(s: Said): Problem {
  return { code: Msg[s.key].code, message: s.message };
}

/** Throw a catalogue message (`Say`), with the compiler's code for it. */
export function failWith(s: Said): never {
  throw new SpecValueError([problem(s)]);
}
