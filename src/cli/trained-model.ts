/**
 * What `evaluate` and `predict` share: their library functions' errors answered as the CLI does:
 * a backend that is not there is a usage error (exit 2); a broken model directory or unreadable
 * data is a problem of the input (exit 1).
 */
import { fileProblem } from '../io/fs-problems.js';
import { EXIT } from './output.js';
import { UsageError } from './plugins.js';
import { escapeTerminal } from '../io/terminal.js';

/** Run `modelspec <command>`, reporting a model directory or data error as a problem of the input. */
export async function reportingInputErrors(command: string, run: () => Promise<number>): Promise<number> {
  const { DataError } = await import('../train/data/idx.js');
  const { ModelDirError } = await import('../train/model-io.js');
  const { BackendUnavailable } = await import('../backends/tfjs/backend.js');
  try {
    return await run();
  } catch (e) {
    if (e instanceof BackendUnavailable) throw new UsageError(e.message);
    const problem = e instanceof DataError || e instanceof ModelDirError ? e : fileProblem(e, 'read');
    if (problem) {
      process.stderr.write(escapeTerminal(`modelspec ${command}: ${problem.message}\n`));
      return EXIT.problems;
    }
    throw e;
  }
}
