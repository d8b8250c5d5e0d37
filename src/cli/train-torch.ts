/**
 * `modelspec train <spec> --engine torch [--nproc N] [--device cpu|cuda]`: the recipe run by
 * PyTorch (python/modelspec_train.py) under torchrun, data-parallel with DDP. modelspec compiles
 * the spec, exports it (<out>/model.py), builds the TensorFlow.js model folder the run starts from
 * and ends in (<out>/model: evaluate and predict read it), and hands the resolved recipe over in
 * <out>/run.json. PyTorch is not an npm dependency: without it this says what is missing (exit 2).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFile } from '../compile.js';
import { renderDiagnostics } from '../diagnostics/render.js';
import type { OpRegistry } from '../ops/index.js';
import { writeFileAtomic, makeFolders } from '../io/atomic.js';
import { resolveTrainingConfig, ConfigError, type DatasetName, type TrainingConfig } from '../train/config.js';
import type { TypedGraph } from '../types/ir.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, defaultCifarDir } from '../train/data/cifar10.js';
import { MNIST_FILES, mnistPackageDir } from '../train/data/mnist.js';
import { CIFAR10_CLASSES, MNIST_CLASSES } from '../train/data/dataset.js';
import { pytorchModuleText } from './export.js';
import { EXIT } from './output.js';
import { lockFolder } from '../io/lock.js';
import { readTextBounded } from '../io/read.js';
import { seedMathRandom } from '../train/rng.js';
import { epochBar, type EpochBar } from '../train/progress.js';
import { curvesSvg } from '../train/chart.js';
import type { EpochRecord } from '../train/checkpoint.js';
import { UsageError } from './plugins.js';

export interface TorchTrainOptions {
  set: string[];
  registry: OpRegistry;
  out: string;
  nproc: number;
  device: 'cpu' | 'cuda';
  dataset?: 'mnist' | 'cifar10';
  dataDir?: string;
  epochs?: number;
  batchSize?: number;
  limit?: number;
  seed?: number;
  force?: boolean;
  resume?: boolean;
  /** A progress bar per epoch on stderr (default: yes). */
  progress?: boolean;
  log: (line: string) => void;
}

/** The Python that runs PyTorch: $MODELSPEC_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH. */
export function torchPython(): string {
  return process.env.MODELSPEC_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
}

/** Why PyTorch cannot be used, or undefined when it can. */
export function torchMissing(python = torchPython()): string | undefined {
  const r = spawnSync(python, ['-c', 'import torch, torch.distributed.run'], { encoding: 'utf8' });
  if (r.error) return `${python} cannot be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `${python} cannot import torch (${r.stderr.trim().split('\n').pop() ?? 'import failed'})`;
  return undefined;
}

export const TORCH_HINT = "install PyTorch: Debian's python3-torch (apt-get install -y python3-torch) or pip install torch; set MODELSPEC_PYTHON to the Python that has it";

/** python/<name> of the package: from src/cli/, dist/cli/ or a chunk in dist/cli/chunks/. */
export function packagedPython(name: string): string {
  const candidates = [`../../python/${name}`, `../../../python/${name}`].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

/** Refuse what this engine cannot do here, before anything is written. Returns the Python to run. */
function checkTorchRun(o: TorchTrainOptions): string {
  const python = torchPython();
  const missing = torchMissing(python);
  if (missing) throw new UsageError(`--engine torch needs PyTorch: ${missing}; ${TORCH_HINT}`);
  if (o.device === 'cuda' && spawnSync(python, ['-c', 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)']).status !== 0) {
    throw new UsageError('--device cuda: PyTorch sees no CUDA GPU here; use --device cpu');
  }
  if (o.resume) {
    if (o.force) throw new UsageError('--resume continues the run in --out and --force replaces it: give one of them');
    for (const f of ['run.json', join('checkpoints', 'last.pt')]) {
      if (!existsSync(join(o.out, f))) throw new UsageError(`--resume: ${o.out} holds no PyTorch run to continue (${join(o.out, f)} is missing); start one without --resume`);
    }
    return python;
  }
  // A run of either engine (run.json: torch; last.json: tfjs) is not overwritten unasked.
  if ((existsSync(join(o.out, 'run.json')) || existsSync(join(o.out, 'last.json'))) && !o.force) throw new UsageError(`${o.out} already holds a run; pass --force to start over`);
  return python;
}

/**
 * `--resume`: the run folder's own run.json again (model.py, recipe, data, --max-examples), with
 * `--epochs` as the new total, and PyTorch continues from checkpoints/last.pt.
 */
async function resumeTorchRun(python: string, o: TorchTrainOptions): Promise<number> {
  const lock = lockFolder(o.out, '--out');
  try {
    const runJson = join(o.out, 'run.json');
    let run: { epochs: number; resume?: boolean; progress?: boolean; title?: string; model_py: string; model_dir: string; out: string; dataset: { pixel_mean_out?: string } };
    try {
      run = JSON.parse(readTextBounded(runJson, 1 << 20)) as typeof run;
      if (typeof run.epochs !== 'number' || typeof run.dataset !== 'object' || run.dataset === null) throw new Error('not a run description');
    } catch (e) {
      throw new UsageError(`--resume: ${runJson} is not a PyTorch run description (${(e as Error).message}); start a new run with --force`);
    }
    if (o.epochs !== undefined) run.epochs = o.epochs;
    run.resume = true;
    run.progress = o.progress ?? true;
    // What the run reads and runs stays in its folder, wherever run.json says it is.
    run.out = resolve(o.out);
    run.model_py = resolve(o.out, 'model.py');
    run.model_dir = resolve(o.out, 'model');
    if (run.dataset.pixel_mean_out !== undefined) run.dataset.pixel_mean_out = resolve(o.out, 'model', 'pixel_mean.bin');
    writeFileAtomic(runJson, JSON.stringify(run, null, 2) + '\n');
    o.log(`engine: PyTorch (${python}), ${o.nproc} process${o.nproc > 1 ? 'es' : ''} on ${o.device} under torchrun; resuming ${o.out} up to epoch ${run.epochs}`);
    return finishTorchRun(await runTorchrun(python, o.nproc, resolve(runJson), progressRelay(o.progress ?? true, run.epochs)), o, typeof run.title === 'string' ? run.title : 'PyTorch run');
  } finally {
    lock.release();
  }
}

/** The exit code for torchrun's; after a run, the chart of its metrics log and the closing line. */
function finishTorchRun(code: number, o: TorchTrainOptions, title: string): number {
  if (code !== 0) {
    process.stderr.write(`modelspec train: the PyTorch run failed (torchrun exit ${code}); see the messages above and ${o.out}\n`);
    return code === 1 ? EXIT.problems : EXIT.usage;
  }
  const history = readTextBounded(join(o.out, 'metrics.jsonl'), 64 << 20).split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as EpochRecord);
  writeFileAtomic(join(o.out, 'curves.svg'), curvesSvg(history, title));
  o.log(`wrote ${join(o.out, 'model')} (model.json + weights.bin), ${join(o.out, 'model.pt')}, checkpoints in ${join(o.out, 'checkpoints')}, ${join(o.out, 'metrics.jsonl')}, ${join(o.out, 'curves.svg')}`);
  return EXIT.ok;
}

/** The recipe with the command line's overrides; undefined (after saying why) when it is wrong. */
function torchRecipe(training: unknown, o: TorchTrainOptions): TrainingConfig | undefined {
  try {
    const config = resolveTrainingConfig(training, {
      ...(o.dataset ? { dataset: o.dataset } : {}),
      ...(o.epochs !== undefined ? { epochs: o.epochs } : {}),
      ...(o.batchSize !== undefined ? { batch_size: o.batchSize } : {}),
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
    if (config.dataset.name === 'arrays' || config.dataset.name === 'image_folder') {
      process.stderr.write(`modelspec train: --engine torch trains on mnist and cifar10 only; train ${config.dataset.name === 'arrays' ? 'array datasets' : 'on an image folder'} with the tfjs engine\n`);
      return undefined;
    }
    if (config.loss.name !== 'categorical_crossentropy' || config.loss.from_logits) {
      process.stderr.write(`modelspec train: --engine torch trains with categorical_crossentropy only; training.loss is ${config.loss.name} (train with the tfjs engine)\n`);
      return undefined;
    }
    return config;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`modelspec train: ${e.message}\n`);
    return undefined;
  }
}

/** <out>/model: the tfjs model folder with Keras-initialised weights (drawn from --seed) that the run starts from and ends in. */
async function writeStartModel(graph: TypedGraph, config: TrainingConfig, spec: string, modelDir: string, registry: OpRegistry): Promise<void> {
  const { loadTf } = await import('../backends/tfjs/backend.js');
  const { buildFromGraph } = await import('../backends/tfjs/interpreter.js');
  const { modelFiles, modelDirFiles, writeDirAtomic } = await import('../train/model-io.js');
  const { tf } = await loadTf('cpu');
  const name = config.dataset.name as 'mnist' | 'cifar10';
  // Seeded as the tfjs engine seeds its model: the same --seed starts both engines from the same weights.
  const unseed = seedMathRandom(config.seed);
  let built: ReturnType<typeof buildFromGraph>;
  try {
    built = buildFromGraph(tf, graph, registry);
  } finally {
    unseed();
  }
  try {
    writeDirAtomic(modelDir, modelDirFiles(await modelFiles(tf, built, {
      spec,
      parameters: { ...graph.params },
      dataset: name,
      classes: name === 'mnist' ? MNIST_CLASSES : CIFAR10_CLASSES,
      inputs: built.inputNames.map((n) => ({ name: n, reads: 'image' as const })),
      imageShape: name === 'mnist' ? [28, 28, 1] : [32, 32, 3],
      ...(config.dataset.subtract_pixel_mean ? { pixelMean: 'pixel_mean.bin' } : {}),
    })));
  } finally {
    built.dispose();
  }
}

/** The dataset's files, as python/modelspec_train.py reads them. */
function datasetFiles(name: 'mnist' | 'cifar10', dataDir: string): Record<string, string | string[]> {
  if (name === 'mnist') {
    return { train_images: join(dataDir, MNIST_FILES.trainImages), train_labels: join(dataDir, MNIST_FILES.trainLabels), test_images: join(dataDir, MNIST_FILES.testImages), test_labels: join(dataDir, MNIST_FILES.testLabels) };
  }
  const cifarDir = existsSync(join(dataDir, CIFAR10_TEST_FILE)) || !existsSync(join(dataDir, 'cifar-10-batches-bin')) ? dataDir : join(dataDir, 'cifar-10-batches-bin');
  return { train: CIFAR10_TRAIN_FILES.map((f) => join(cifarDir, f)), test: join(cifarDir, CIFAR10_TEST_FILE) };
}

/** The `@@progress {json}` lines rank 0 prints while an epoch runs, drawn as the tfjs engine's bar. */
function progressRelay(show: boolean, epochs: number): { line(text: string): boolean; stop(): void } {
  let bar: EpochBar | undefined;
  let epoch = 0;
  return {
    line(text) {
      if (!text.startsWith('@@progress ')) {
        // The epoch's summary line follows its last batch.
        if (bar && text.startsWith(`epoch ${epoch}/`)) { bar.stop(); bar = undefined; }
        return false;
      }
      if (!show) return true;
      let p: { epoch: number; done: number; total: number; loss: number; accuracy: number; ips: number; eta: number };
      try {
        p = JSON.parse(text.slice('@@progress '.length)) as typeof p;
      } catch {
        return true;
      }
      if (p.epoch !== epoch) {
        bar?.stop();
        epoch = p.epoch;
        bar = epochBar('auto', `epoch ${epoch}/${epochs}`, p.total, 0);
      }
      bar!.update(p.done, { loss: p.loss, accuracy: p.accuracy, imagesPerSecond: p.ips, eta: p.eta });
      return true;
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

/** Run torchrun, relaying rank 0's lines (torchrun's --tee prefixes each replica's lines with [rank]:). Returns its exit code. */
async function runTorchrun(python: string, nproc: number, runJson: string, progress: { line(text: string): boolean; stop(): void }): Promise<number> {
  // Debian's torchrun (Python 3.11) crashes unless --redirects and --tee are given, and with the value 3
  // (both streams: Python 3.11's Flag iteration skips it): tee stdout (each line prefixed by its rank).
  const args = ['-m', 'torch.distributed.run', '--standalone', `--nproc_per_node=${nproc}`, '--redirects', '1', '--tee', '1', packagedPython('modelspec_train.py'), runJson];
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1', PYTHONUNBUFFERED: '1' } });
  const relay = (stream: NodeJS.ReadableStream, write: (s: string) => void) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const m = /^\[(?:[^\]]*?)(\d+)\]:(.*)$/.exec(l);
        const text = m ? m[2]! : l;
        if (m && m[1] !== '0') continue;
        if (!progress.line(text)) write(`${text}\n`);
      }
    });
  };
  relay(child.stdout!, (s) => process.stdout.write(s));
  relay(child.stderr!, (s) => process.stderr.write(s));
  const code = await new Promise<number>((res) => child.on('close', (c) => res(c ?? EXIT.usage)));
  progress.stop();
  return code;
}

export async function runTorchTrain(spec: string, o: TorchTrainOptions): Promise<number> {
  const python = checkTorchRun(o);
  if (o.resume) return resumeTorchRun(python, o);
  const result = compileFile(spec, { set: o.set, registry: o.registry });
  if (!result.ok || !result.graph || !result.ast) {
    process.stderr.write(renderDiagnostics(result.diagnostics, result.sources, { cwd: process.cwd() }) + '\n');
    return EXIT.problems;
  }
  const graph = result.graph;
  const config = torchRecipe(result.ast.training, o);
  if (!config) return EXIT.problems;
  if (config.batch_size % o.nproc !== 0) throw new UsageError(`--nproc ${o.nproc} must divide the batch size ${config.batch_size} (each batch is shared out)`);
  const mod = pytorchModuleText(spec, { set: o.set, format: 'pytorch', force: true, registry: o.registry });
  if (mod.text === undefined) {
    process.stderr.write(mod.stderr);
    return EXIT.problems;
  }
  makeFolders(o.out);
  // One run at a time in a folder, as with the tfjs engine (a stale lock of a killed run is taken over).
  const lock = lockFolder(o.out, '--out');
  try {
    const modelPy = join(o.out, 'model.py');
    writeFileAtomic(modelPy, mod.text);
    const modelDir = join(o.out, 'model');
    const specRel = relative(process.cwd(), resolve(spec)) || spec;
    await writeStartModel(graph, config, specRel, modelDir, o.registry);
    const name = config.dataset.name as DatasetName; // torchRecipe refuses arrays and image folders
    const dataDir = o.dataDir ?? (name === 'mnist' ? mnistPackageDir() : defaultCifarDir());
    const title = `${graph.name} on ${name} (PyTorch)`;
    const run = {
      model_py: resolve(modelPy),
      model_dir: resolve(modelDir),
      out: resolve(o.out),
      device: o.device,
      inputs: graph.inputs.length,
      classes: (name === 'mnist' ? MNIST_CLASSES : CIFAR10_CLASSES).length,
      seed: config.seed,
      epochs: config.epochs,
      batch_size: config.batch_size,
      ...(o.limit !== undefined ? { limit: o.limit } : {}),
      dataset: { name, files: datasetFiles(name, dataDir), subtract_pixel_mean: config.dataset.subtract_pixel_mean, validation: config.dataset.validation, pixel_mean_out: resolve(modelDir, 'pixel_mean.bin') },
      checkpoint: config.checkpoint,
      ...(config.lr_schedule ? { lr_schedule: config.lr_schedule } : {}),
      ...(config.reduce_lr_on_plateau ? { reduce_lr_on_plateau: config.reduce_lr_on_plateau } : {}),
      ...(config.augmentation ? { augmentation: config.augmentation } : {}),
      threads_per_process: 1,
      progress: o.progress ?? true,
      title,
    };
    writeFileAtomic(join(o.out, 'run.json'), JSON.stringify(run, null, 2) + '\n');
    o.log(`engine: PyTorch (${python}), ${o.nproc} process${o.nproc > 1 ? 'es' : ''} on ${o.device} under torchrun${o.nproc > 1 ? ` (DDP, ${o.device === 'cuda' ? 'NCCL' : 'gloo'}; each batch of ${config.batch_size} shared out; BatchNorm statistics per replica)` : ''}`);
    o.log(`model: ${graph.name} (${specRel}), exported to ${modelPy}; data: ${name} from ${dataDir}${o.limit !== undefined ? ` (--max-examples ${o.limit})` : ''}`);
    return finishTorchRun(await runTorchrun(python, o.nproc, resolve(o.out, 'run.json'), progressRelay(o.progress ?? true, config.epochs)), o, title);
  } finally {
    lock.release();
  }
}
