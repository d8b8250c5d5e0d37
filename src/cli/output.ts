/** What a command returns; `main` prints it. Keeping commands pure makes them testable in-process. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  code: number;
}

/** Exit codes: 0 fine, 1 problems in the input, 2 usage or internal error. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;

/** Print a command's output and set the exit code. A reader that stops early (`| head`, a pager
 *  quit) ends the process quietly with that code, as diff(1) does, instead of an EPIPE stack trace. */
export function emit(out: { stdout: string | Uint8Array; stderr: string; code: number }): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(out.code);
    throw e;
  });
  if (out.stderr) process.stderr.write(out.stderr);
  if (typeof out.stdout === 'string' ? out.stdout : out.stdout.length) process.stdout.write(out.stdout);
  process.exitCode = out.code;
}
