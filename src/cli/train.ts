/** `modelspec train <spec>`: the spec's training recipe, end to end (src/train/trainer.ts). */
import { basename, extname, join } from 'node:path';
import type { OpRegistry } from '../ops/index.js';
import { fileProblem } from '../io/fs-problems.js';
import { EXIT } from './output.js';
import { UsageError } from './plugins.js';
import { escapeTerminal } from '../io/terminal.js';
import { statSync } from 'node:fs';
import { describeReadError } from '../io/read.js';
import { DataError } from '../train/data/idx.js';

export interface TrainCommandOptions {
  set: string[];
  registry?: OpRegistry;
  dataset?: 'mnist' | 'cifar10';
  /** --data: an .npz or .npy file of arrays, or an image folder (a folder of class folders). */
  data?: string;
  /** --validation-split: an image folder's validation fraction. */
  validationSplit?: number;
  dataDir?: string;
  download?: boolean;
  epochs?: number;
  batchSize?: number;
  maxExamples?: number;
  backend?: 'node' | 'wasm' | 'cpu';
  /** Data-parallel replicas, the main thread included (default: by backend). */
  workers?: number;
  out?: string;
  resume?: boolean;
  force?: boolean;
  seed?: number;
  progress: boolean;
}

/** Exit code of a run stopped by SIGINT (128 + 2), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** --data PATH, by what it is: a folder is an image folder. */
function dataOverride(o: TrainCommandOptions): { imageFolder: string } | { data: string } {
  if (o.dataset) throw new UsageError(`--data ${o.data} and --dataset ${o.dataset} name two datasets; give one`);
  let folder: boolean;
  try {
    folder = statSync(o.data!).isDirectory();
  } catch (e) {
    throw new DataError(`--data ${o.data}: ${describeReadError(e)}`);
  }
  return folder ? { imageFolder: o.data! } : { data: o.data! };
}

export async function runTrain(spec: string, o: TrainCommandOptions): Promise<number> {
  const { train, TrainError } = await import('../train/trainer.js');
  const { ModelDirError } = await import('../train/model-io.js');
  const { BackendUnavailable } = await import('../backends/tfjs/backend.js');

  let stops = 0;
  const onSigint = () => {
    stops++;
    if (stops === 1) process.stderr.write('\nSIGINT: stopping after this batch and saving a checkpoint (Ctrl-C again quits at once)\n');
    else process.exit(EXIT_INTERRUPTED);
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await train({
      spec,
      set: o.set,
      registry: o.registry,
      overrides: {
        ...(o.dataset ? { dataset: o.dataset } : {}),
        ...(o.data !== undefined ? dataOverride(o) : {}),
        ...(o.validationSplit !== undefined ? { validationSplit: o.validationSplit } : {}),
        ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
        ...(o.batchSize !== undefined ? { batch_size: o.batchSize } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
      },
      ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
      ...(o.download ? { download: true } : {}),
      ...(o.maxExamples !== undefined ? { limit: o.maxExamples } : {}),
      ...(o.backend ? { backend: o.backend } : {}),
      ...(o.workers !== undefined ? { workers: o.workers } : {}),
      out: o.out ?? join('runs', basename(spec, extname(spec))),
      resume: !!o.resume,
      force: !!o.force,
      progress: o.progress ? 'auto' : 'none',
      log: (line) => process.stdout.write(escapeTerminal(`${line}\n`)),
      shouldStop: () => stops > 0,
    });
    return result.status === 'interrupted' ? EXIT_INTERRUPTED : EXIT.ok;
  } catch (e) {
    if (e instanceof BackendUnavailable) throw new UsageError(e.message);
    const problem = e instanceof TrainError || e instanceof DataError || e instanceof ModelDirError ? e : fileProblem(e, 'write');
    if (problem) {
      process.stderr.write(escapeTerminal(`modelspec train: ${problem.message}\n`));
      return EXIT.problems;
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
