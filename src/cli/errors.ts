/**
 * Failures that are not bugs, as messages for the user: one mapping for every command.
 *
 * "internal error (MS9001)" is kept for what is left: a real bug. A file-system or environment
 * error (permission denied, a directory where a file belongs, a full disk, a FIFO given as a
 * spec) names the path and says what to do, and exits 1; a usage error (a refused overwrite, a
 * plugin that cannot be loaded) exits 2. The exit codes are the README's table.
 */
import { RefusedOverwrite } from '../io/atomic.js';
import { ModelTooLarge, UnsupportedByTfjs } from '../backends/tfjs/config.js';
import { ReadError } from '../io/read.js';
import { fileProblem } from '../io/fs-problems.js';
import { escapeTerminal } from '../io/terminal.js';
import { Msg } from '../diagnostics/messages.js';
import { EXIT } from './output.js';
import { UsageError } from './plugins.js';

export interface Failure {
  message: string;
  code: number;
}

/** The user-facing form of an error that is not a bug; undefined for a bug (an internal error). */
export function describeFailure(e: unknown): Failure | undefined {
  if (e instanceof UsageError || e instanceof RefusedOverwrite) return { message: e.message, code: EXIT.usage };
  if (e instanceof ModelTooLarge) return { message: e.message, code: EXIT.problems };
  // A layer or attribute value TensorFlow.js cannot build (elu with alpha != 1, softmax over another axis): the spec's, not a bug.
  if (e instanceof UnsupportedByTfjs) return { message: e.message, code: EXIT.problems };
  if (e instanceof ReadError) return { message: `cannot read '${e.path}': ${e.why}`, code: EXIT.problems };
  // Any other file-system error: the one table of errno codes in src/io/fs-problems.ts.
  const problem = fileProblem(e, 'write');
  if (problem) return { message: problem.message, code: EXIT.problems };
  if (e instanceof RangeError && /Array buffer allocation failed|Invalid typed array length|Invalid array length|Array buffer/i.test(e.message)) {
    return { message: `out of memory: ${e.message}; the model or data is too large for this machine`, code: EXIT.problems };
  }
  return undefined;
}

/**
 * Print what went wrong on standard error, as `<program>: ...`, and give the exit code: the
 * message of `describeFailure`, or for a bug "internal error" and how to see where it happened.
 */
export function reportFailure(program: string, e: unknown): number {
  const failure = describeFailure(e);
  if (failure) {
    process.stderr.write(escapeTerminal(`${program}: ${failure.message}\n`));
    return failure.code;
  }
  process.stderr.write(escapeTerminal(`${program}: internal error (${Msg.internal.code}): ${(e as Error)?.message ?? String(e)}\n`));
  if (process.env.MODELSPEC_DEBUG) process.stderr.write(escapeTerminal(`${(e as Error)?.stack ?? String(e)}\n`));
  else process.stderr.write('set MODELSPEC_DEBUG=1 to see where it happened, and please report it\n');
  return EXIT.usage;
}
