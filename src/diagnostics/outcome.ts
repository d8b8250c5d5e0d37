/**
 * What a library workflow (build, graph, diff, export, import) returns, and the exit codes it
 * picks: the command line only prints it (cli/output.ts emit) and exits with `code`.
 */
export interface CommandOutput {
  stdout: string;
  stderr: string;
  code: number;
}

/** Exit codes: 0 fine, 1 problems in the input, 2 usage or internal error. */
export const EXIT = { ok: 0, problems: 1, usage: 2 } as const;
