/** What a command returns; `main` prints it. Keeping commands pure makes them testable in-process. */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  code: number;
}

/** Exit codes: 0 fine, 1 problems in the input, 2 usage or internal error. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;
