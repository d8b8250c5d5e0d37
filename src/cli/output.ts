import { escapeTerminal } from '../io/terminal.js';

import { EXIT } from '../diagnostics/outcome.js';

/** What a command returns (the library's workflows return it too); `main` prints it. */
export { EXIT, type CommandOutput } from '../diagnostics/outcome.js';

/**
 * Print a command's output and set the exit code. Text has its control and bidi characters
 * escaped (escapeTerminal); JSON (`json`) and bytes (a PNG) are printed as they are.
 */
export function emit(out: { stdout: string | Uint8Array; stderr: string; code: number }, opts: { json?: boolean } = {}): void {
  if (out.stderr) process.stderr.write(escapeTerminal(out.stderr));
  if (typeof out.stdout === 'string' ? out.stdout : out.stdout.length) process.stdout.write(typeof out.stdout === 'string' && !opts.json ? escapeTerminal(out.stdout) : out.stdout);
  process.exitCode = out.code;
}

/**
 * A reader that stops early (`| head`, a pager quit) ends the process quietly, with the exit code
 * set so far, as diff(1) does, instead of an EPIPE stack trace. Installed once by the command
 * line's main, so it covers what commands print as they go (train's log, evaluate, predict) too.
 */
export function exitQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok);
    throw e;
  });
}
