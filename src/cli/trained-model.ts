/**
 * What `evaluate` and `predict` share: TensorFlow.js with the chosen backend (one that is not
 * there is a usage error), the trained model a directory holds, and their input errors (a broken
 * model directory, unreadable data) answered with exit code 1.
 */
import type { BackendName } from '../backends/tfjs/backend.js';
import { fileProblem } from '../io/fs-problems.js';
import { EXIT } from './output.js';
import { UsageError } from './plugins.js';
import { escapeTerminal } from '../io/terminal.js';

export async function openTrainedModel(dir: string, backendName: BackendName | undefined, onBackend: (backend: BackendName) => void = () => {}) {
  const { loadTf, BackendUnavailable } = await import('../backends/tfjs/backend.js');
  const { loadModelDir } = await import('../train/model-io.js');
  const { locateModelDir } = await import('../train/locate.js');
  const found = locateModelDir(dir);
  let loaded;
  try {
    loaded = await loadTf(backendName);
  } catch (e) {
    if (e instanceof BackendUnavailable) throw new UsageError(e.message);
    throw e;
  }
  onBackend(loaded.backend);
  const { model, meta } = await loadModelDir(loaded.tf, found.dir);
  return { tf: loaded.tf, backend: loaded.backend, found, model, meta };
}

/** Run `modelspec <command>`, reporting a model directory or data error as a problem of the input. */
export async function reportingInputErrors(command: string, run: () => Promise<number>): Promise<number> {
  const { DataError } = await import('../train/data/idx.js');
  const { ModelDirError } = await import('../train/model-io.js');
  try {
    return await run();
  } catch (e) {
    const problem = e instanceof DataError || e instanceof ModelDirError ? e : fileProblem(e, 'read');
    if (problem) {
      process.stderr.write(escapeTerminal(`modelspec ${command}: ${problem.message}\n`));
      return EXIT.problems;
    }
    throw e;
  }
}
