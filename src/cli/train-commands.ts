/**
 * The training commands: `train` (a spec's recipe, end to end), `evaluate` (a trained model on
 * a dataset's test split) and `predict` (a trained model on image files). Registered on the main
 * program by `registerTrainCommands`; each loads its implementation, and TensorFlow.js, on first
 * use, so the static commands start as fast as before and never load TensorFlow.js.
 */
import { basename, extname, join } from 'node:path';
import { Command, Option } from 'commander';
import { builtinRegistry } from '../ops/index.js';
import { UsageError } from './plugins.js';
import { fraction, nonNegativeInt, pluginOption, positiveInt, renamedLimitOption, setOption } from './options.js';

const backendOption = () => new Option('--backend <name>', 'TensorFlow.js backend (default: the best present, node > wasm > cpu)').choices(['node', 'wasm', 'cpu']);
const datasetOption = (what: string) => new Option('--dataset <name>', what).choices(['mnist', 'cifar10']);
const dataOption = (what: string) => new Option('--data <path>', what);
const TRAIN_DATA = "the user's data instead of the recipe's dataset: an .npz or .npy file of arrays, mapped to the spec's inputs and outputs by name, "
  + "or an image folder, one sub-folder of PNG or JPEG images per class, read as Keras' image_dataset_from_directory (its validation_split and seed are kept)";
const validationSplitOption = () => new Option('--validation-split <f>', "with an image folder: the fraction of its images kept for validation, as Keras (default: the recipe's, else 0)").argParser(fraction);
const dataDirOption = () => new Option('--data-dir <dir>', 'folder with the dataset files (MNIST: the four IDX files; CIFAR-10: data_batch_1..5.bin, test_batch.bin)');
const maxExamplesOption = (what: string) => new Option('--max-examples <n>', what).argParser(positiveInt);
const workersOption = (what: string) => new Option('--workers <n>', what).argParser(positiveInt);

type Backend = 'node' | 'wasm' | 'cpu';

interface TrainFlags {
  engine: 'tfjs' | 'torch'; nproc: number; device: 'cpu' | 'cuda';
  set: string[]; dataset?: 'mnist' | 'cifar10'; data?: string; validationSplit?: number; dataDir?: string; download?: boolean; epochs?: number; batchSize?: number;
  maxExamples?: number; backend?: Backend; workers?: number; out?: string; resume?: boolean; force?: boolean; seed?: number; progress: boolean;
}

/** train --engine torch: the recipe run by PyTorch (src/cli/train-torch.ts); an exit code. */
async function torchTrain(spec: string, o: TrainFlags): Promise<number> {
  if (o.data !== undefined) {
    process.stderr.write('modelspec train: --engine torch trains on mnist and cifar10 only; train on --data (arrays or an image folder) with the tfjs engine\n');
    return 2;
  }
  const { runTorchTrain } = await import('./train-torch.js');
  return runTorchTrain(spec, {
    set: o.set, registry: builtinRegistry(), out: o.out ?? join('runs', basename(spec, extname(spec))), nproc: o.nproc, device: o.device,
    ...(o.dataset ? { dataset: o.dataset } : {}), ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
    ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}), ...(o.maxExamples !== undefined ? { limit: o.maxExamples } : {}), ...(o.seed !== undefined ? { seed: o.seed } : {}),
    force: !!o.force, resume: !!o.resume, progress: o.progress, log: (line) => process.stdout.write(`${line}\n`),
  });
}

export function registerTrainCommands(program: Command): void {
  program
    .command('train')
    .description("train a spec with its training: recipe (flags override it); writes checkpoints, the model, a metrics log and a chart to --out")
    .argument('<spec>', 'spec file')
    .addOption(setOption())
    .addOption(pluginOption())
    .addOption(datasetOption("dataset (default: the recipe's)"))
    .addOption(dataOption(TRAIN_DATA)).addOption(validationSplitOption())
    .addOption(dataDirOption())
    .option('--download', 'download CIFAR-10 into --data-dir (or the cache) when its files are missing; needs network access')
    .addOption(new Option('--epochs <n>', "number of epochs (default: the recipe's); with --resume, the total to reach").argParser(positiveInt))
    .addOption(new Option('--batch-size <n>', "samples per step (default: the recipe's)").argParser(positiveInt))
    .addOption(renamedLimitOption())
    .addOption(maxExamplesOption('use only the first N samples of the training and of the test split (quick runs)'))
    .addOption(backendOption())
    .addOption(workersOption('data-parallel training over N threads, the main one included: each batch is split N ways, gradients averaged (default: $MODELSPEC_WORKERS, else 2 on wasm and cpu with 2+ cores, 1 on node; 1 = in-process)'))
    .option('--out <dir>', 'output folder (default: runs/<spec file name>)')
    .option('--resume', 'continue the run in --out from its last checkpoint (epoch count, optimizer state and callbacks included)')
    .option('--force', 'start over in an --out folder that already holds a run')
    .addOption(new Option('--seed <n>', "seed of the shuffling and augmentation (default: the recipe's, else 0)").argParser(nonNegativeInt))
    .option('--no-progress', 'no progress bar')
    .addOption(new Option('--engine <name>', 'tfjs (default) or torch: run the recipe in PyTorch under torchrun (needs python3-torch)').choices(['tfjs', 'torch']).default('tfjs'))
    .addOption(new Option('--nproc <n>', '--engine torch: data-parallel processes (DDP)').default(1).argParser(positiveInt))
    .addOption(new Option('--device <device>', '--engine torch: cpu or cuda').choices(['cpu', 'cuda']).default('cpu'))
    .action(async (spec: string, o: TrainFlags) => {
      if (o.engine === 'torch') {
        process.exitCode = await torchTrain(spec, o);
        return;
      }
      const { runTrain } = await import('./train.js');
      process.exitCode = await runTrain(spec, o);
    });

  program
    .command('evaluate')
    .description('evaluate a trained model on the test split of its dataset: loss, accuracy, confusion matrix')
    .argument('<dir>', 'a model folder (model.json + weights.bin), a checkpoint folder, or a train --out folder')
    .addOption(datasetOption('dataset (default: the one the model was trained on)'))
    .addOption(dataOption('a model trained on arrays: the .npz or .npy arrays to evaluate it on (inputs and targets, by name as in training); '
      + 'a model trained on an image folder: an image folder (class sub-folders named as its classes), all its images (default: that folder\'s validation images)'))
    .addOption(dataDirOption())
    .addOption(renamedLimitOption())
    .addOption(maxExamplesOption('evaluate only the first N test samples'))
    .addOption(new Option('--batch-size <n>', 'samples per step (default 256)').argParser(positiveInt))
    .addOption(backendOption())
    .addOption(workersOption('split each batch over N threads, the main one included (default: as train, when there are 2,048 images or more; 1 = in-process)'))
    .option('--json', 'print the results as JSON')
    .action(async (dir: string, o: { dataset?: 'mnist' | 'cifar10'; data?: string; dataDir?: string; maxExamples?: number; batchSize?: number; backend?: Backend; workers?: number; json?: boolean }) => {
      const { runEvaluate } = await import('./evaluate.js');
      process.exitCode = await runEvaluate(dir, o);
    });

  program
    .command('predict')
    .description('classify images with a trained model: PNG files, or IDX files of images; prints the top classes. With --data: every output of the model for each sample of an .npz/.npy file, as JSON')
    .argument('<dir>', 'a model folder, a checkpoint folder, or a train --out folder')
    .argument('[images...]', 'PNG or IDX files')
    .option('--data <file>', "arrays (.npz or .npy) mapped to the model's inputs by name: prints every output's raw values per sample as JSON")
    .addOption(new Option('--top <k>', 'classes to show per image').default(3).argParser(positiveInt))
    .option('--invert', 'invert the pixels first (dark digits on a light background, for MNIST models)')
    .addOption(renamedLimitOption())
    .addOption(maxExamplesOption('at most N images from each IDX file'))
    .addOption(backendOption())
    .addOption(workersOption('split batches of images over N threads, the main one included (default 1, in-process)'))
    .option('--json', 'print the predictions as JSON')
    .action(async (dir: string, images: string[], o: { data?: string; top: number; invert?: boolean; maxExamples?: number; backend?: Backend; workers?: number; json?: boolean }) => {
      const { runPredict } = await import('./predict.js');
      process.exitCode = await runPredict(dir, images, o);
    });
}
