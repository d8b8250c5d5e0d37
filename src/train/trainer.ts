/**
 * The training loop: a spec and its `training:` recipe -> a trained model, checkpoints, a JSON
 * Lines log of metrics and a chart. Our own batched loop over `model.trainOnBatch`, so that
 * shuffling and augmentation are seeded per epoch and per batch (a run resumed mid-epoch
 * continues with the same batches), the callbacks run as Keras runs them (src/train/callbacks.ts),
 * and a stop request (SIGINT) is honoured between two batches with a checkpoint.
 *
 * Output folder (--out):
 *   checkpoints/epoch-NNN/     one per improving epoch (best-only on checkpoint.monitor)
 *   checkpoints/state-.../     the latest state when it is not a best epoch, for --resume
 *   last.json, best.json       the checkpoint to resume from, the best one
 *   model/                     the final model (model.json + weights.bin), for evaluate and predict
 *   metrics.jsonl              one JSON object per line: start, epoch, resume, interrupted, stopped (NaN), end
 *   curves.svg                 loss and accuracy per epoch
 *
 * Batches are assembled (gathered, augmented, one-hot) by src/train/batches.ts; with --workers
 * N > 1 each step runs data-parallel over worker threads (src/train/parallel/), with the model
 * and optimizer of record here in the main thread.
 */
import { appendFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { MAX_DATA_BYTES, readTextBounded } from '../io/read.js';
import { dirname, join, relative, resolve } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { compileFile } from '../compile.js';
import type { TypedGraph as Graph } from '../types/ir.js';
import { renderDiagnostics } from '../diagnostics/render.js';
import { builtinRegistry, type OpRegistry } from '../ops/index.js';
import { buildFromGraph } from '../backends/tfjs/interpreter.js';
import { idOfLayerName } from '../backends/tfjs/config.js';
import { describeBackend, loadTf, type BackendName, type Tf } from '../backends/tfjs/backend.js';
import { checkOverwrite, GENERATOR, RefusedOverwrite, writeFileAtomic, makeFolders } from '../io/atomic.js';
import { ConfigError, resolveLoss, resolveTrainingConfig, type DatasetName, type TrainingConfig, type TrainingOverrides } from './config.js';
import { loadDataset } from './data/index.js';
import { ImageFolderProblem, loadImageFolder } from './data/image-folder.js';
import { DataError } from './data/idx.js';
import { spanAt } from '../load/yaml.js';
import { formatShape } from '../types/shape.js';
import { prepare, type PreparedData } from './preprocess.js';
import { BatchAssembler } from './batches.js';
import { isArrayData, type ArrayData, type ArraySplit } from './data/arrays.js';
import { ArrayBatches, evaluateArrays, loadArrayRun, outputCompiles, packedOf, RecipeError } from './array-run.js';
import { compileOutputs, namedValues, stepNames, type OutputCompile } from './outputs.js';
import type { Packed } from './parallel/protocol.js';
import { BestTracker, checkFinite, NonFiniteLoss, piecewiseLr, ReduceLROnPlateau } from './callbacks.js';
import { deriveSeed, mulberry32, permutation, seedMathRandom } from './rng.js';
import { evaluateSplit, evaluateSplitWith, type Evaluation } from './evaluate.js';
import { makeOptimizer, setLearningRate } from './optimizer.js';
import { tfLoss, type LossSpec } from './losses.js';
import { DataParallelEngine } from './parallel/engine.js';
import { defaultWorkers } from './parallel/index.js';
import type { ModelSource } from './parallel/protocol.js';
import type { PreparedSplit } from './preprocess.js';
import { FileProblem, fileProblem } from '../io/fs-problems.js';
import { RunFolder } from './run-folder.js';
import {
  checkpointDir, optimizerFiles, readCheckpoint, readPointer, restoreOptimizer, saveCheckpoint,
  type EpochRecord, type LoadedCheckpoint, type TrainState,
} from './checkpoint.js';
import { loadWeightsInto, modelDirFiles, modelFiles, writeDirAtomic, type ModelMeta } from './model-io.js';
import { epochBar, formatDuration, type ProgressMode } from './progress.js';
import { curvesSvg } from './chart.js';

/** A problem with the spec, the recipe, the data or the output folder: reported without a stack trace. */
export class TrainError extends Error {}

export interface TrainOptions {
  spec: string;
  set?: string[];
  /** Ops other than the built-in ones: worker threads then rebuild the model from its tfjs topology. */
  registry?: OpRegistry;
  overrides?: TrainingOverrides;
  dataDir?: string;
  download?: boolean;
  /** Use the first N samples of each split. */
  limit?: number;
  backend?: BackendName;
  /**
   * Replicas for data-parallel training and evaluation, the main thread included (--workers);
   * 1 trains in-process. Default: defaultWorkers(backend), 2 on wasm and cpu with 2+ cores, 1 on node.
   */
  workers?: number;
  /** A TensorFlow.js namespace to use as it is (tests). */
  tf?: Tf;
  out: string;
  resume?: boolean;
  /** Start over in an --out folder that holds a run. */
  force?: boolean;
  /** Preprocessed data to use instead of loading the recipe's dataset (tests). */
  data?: PreparedData;
  /** Lines for stdout. */
  log?: (line: string) => void;
  progress?: ProgressMode;
  /** Polled between batches: true stops the run with a checkpoint (SIGINT). */
  shouldStop?: () => boolean;
  /** After each epoch's checkpoint (tests measure memory here). */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
}

export interface TrainResult {
  status: 'done' | 'interrupted';
  backend: string;
  /** Replicas used (1: in-process). */
  workers: number;
  out: string;
  history: EpochRecord[];
  /** Epochs completed. */
  epoch: number;
  /** The test split (images) or the validation split (arrays: every value by Keras name in `values`). */
  test?: { loss: number; accuracy: number; count: number; values?: Record<string, number> };
  /** The checkpoint last.json names. */
  checkpoint?: string;
  seconds: number;
}

const fmt = (v: number | undefined, d = 4) => (v === undefined ? '-' : v.toFixed(d));
const fmtLr = (v: number) => Number(v.toPrecision(6)).toString();
const count = (n: number) => n.toLocaleString('en-US');

/** An epoch's record with what the trainer measures beyond Keras' history. */
type EpochLog = EpochRecord & { input_fraction?: number };

function describeRecipe(c: TrainingConfig, steps: number): string {
  const opt = `${c.optimizer.name} (learning_rate ${fmtLr(c.optimizer.learning_rate)})`;
  const extras = [
    c.lr_schedule ? `piecewise schedule (epoch > ${c.lr_schedule.piecewise.boundaries.join('/')})` : '',
    c.reduce_lr_on_plateau ? `ReduceLROnPlateau on ${c.reduce_lr_on_plateau.monitor} (factor ${fmtLr(c.reduce_lr_on_plateau.factor)}, patience ${c.reduce_lr_on_plateau.patience})` : '',
    c.augmentation ? `augmentation (shifts ${c.augmentation.width_shift}/${c.augmentation.height_shift}, ${c.augmentation.horizontal_flip ? 'horizontal flips' : 'no flips'})` : '',
  ].filter(Boolean);
  const loss = (l: LossSpec) => `${l.name}${l.from_logits ? ' (from_logits)' : ''}`;
  const losses = c.losses
    ? Object.entries(c.losses).map(([id, l]) => `${id}: ${loss(l)}${c.loss_weights?.[id] !== undefined ? ` x ${c.loss_weights[id]}` : ''}`).join(', ')
    : loss(c.loss);
  return `recipe: ${opt}, ${losses}, batch ${c.batch_size}, ${c.epochs} epoch${c.epochs === 1 ? '' : 's'} (${steps} steps each), seed ${c.seed}`
    + `${extras.length ? `; ${extras.join('; ')}` : ''}; checkpoints: ${c.checkpoint.save_best_only ? 'best only' : 'every epoch'} on ${c.checkpoint.monitor}`;
}


/** The metrics log after a resume: the epochs up to the checkpoint, whatever the killed run had written after it. */
function reconcileLog(path: string, history: readonly EpochRecord[]): void {
  const keep: string[] = [];
  const logged = new Set<number>();
  const last = history.length ? history[history.length - 1]!.epoch : 0;
  if (existsSync(path)) {
    for (const line of readTextBounded(path, MAX_DATA_BYTES).split('\n')) {
      if (!line.trim()) continue;
      let ev: { event?: string; epoch?: number };
      try {
        ev = JSON.parse(line) as typeof ev;
      } catch {
        continue; // a line cut short by a kill
      }
      if (ev.event === 'epoch' && (ev.epoch === undefined || ev.epoch > last || logged.has(ev.epoch))) continue;
      if (ev.event === 'epoch') logged.add(ev.epoch!);
      keep.push(line);
    }
  }
  for (const r of history) if (!logged.has(r.epoch)) keep.push(JSON.stringify({ event: 'epoch', ...r }));
  writeFileAtomic(path, keep.map((l) => `${l}\n`).join(''));
}

/**
 * Train, with the --out folder locked for the run; a file-system error (permission denied, a
 * full disk, a file where a folder belongs) is a FileProblem that names the path.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const out = resolve(opts.out);
  const folder = RunFolder.open(out);
  for (const n of folder.notes) (opts.log ?? (() => {}))(n);
  let failed = true;
  try {
    const r = await trainIn(folder, opts);
    failed = false;
    return r;
  } catch (e) {
    throw fileProblem(e, 'write') ?? e;
  } finally {
    folder.close(failed);
  }
}

/**
 * One run, in named steps: the start (resume or afresh), the spec and its recipe, the data, the
 * model checked against the data, then the epochs (src/train/trainer.ts's TrainingRun) and the end.
 */
async function trainIn(folder: RunFolder, opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  const out = folder.out;
  const registry = opts.registry ?? builtinRegistry();
  const t0 = Date.now();
  const resumed = opts.resume ? readResumePoint(out, opts.set) : refuseToReplaceRun(out, !!opts.force);
  guardModelFolder(out, !!opts.force);
  const { graph, config, set, declared } = compileRecipe(opts, registry, resumed);
  // --force: the previous run is set aside, and goes once this one has written its first checkpoint.
  if (!resumed && opts.force) folder.setAside();
  const limit = resumed ? resumed.state.limit : opts.limit;
  const dataDir = opts.dataDir !== undefined ? resolve(opts.dataDir) : resumed?.state.dataDir;

  // The data (first: a problem with it is reported without loading TensorFlow.js), then TensorFlow.js.
  // Arrays are read after: they are checked against the built model's inputs and outputs.
  const onArrays = config.dataset.name === 'arrays' && !opts.data;
  const images = onArrays ? undefined : opts.data ?? await loadPrepared(config, { dataDir, limit, download: opts.download, log, graph }).catch((e: unknown) => {
    // A folder the spec names: where it names it.
    throw e instanceof ImageFolderProblem && declared && !resumed && opts.overrides?.imageFolder === undefined ? new DataError(`${e.message}\n  (the folder of training.dataset.image_folder.path, ${declared})`) : e;
  });
  if (images?.train.count === 0) throw new TrainError(`the ${images.name} training split is empty`);
  const { tf, backend } = opts.tf ? { tf: opts.tf, backend: opts.tf.getBackend() } : await loadTf(opts.backend);
  log(`backend: ${describeBackend(backend as BackendName) ?? backend}`);

  // The model, checked against the data. TensorFlow.js' initialisers and dropout draw their seeds
  // from Math.random when given none: seed it for the run, so a run is reproducible from --seed.
  const unseed = seedMathRandom(config.seed, resumed?.state.epoch ?? 0, resumed?.state.partial?.batch ?? 0);
  let model: TF.LayersModel;
  try {
    model = buildFromGraph(tf, graph, registry);
  } catch (e) {
    unseed();
    throw e;
  }
  const optimizer = makeOptimizer(tf, config.optimizer);
  let engine: DataParallelEngine | undefined;
  try {
    let data: PreparedData | ArrayData, arrays: RunParts['arrays'];
    if (images) {
      data = images;
      checkModelFitsData(model, graph, images, config);
      model.compile({ optimizer, loss: tfLoss(tf, config.loss), metrics: ['accuracy'] });
    } else {
      ({ data, arrays } = prepareArrayRun(model, config, limit));
      compileOutputs(tf, model, optimizer, arrays.outs);
    }
    engine = await openEngine(tf, backend, model, optimizer, graph, opts, config.loss, arrays?.packed);
    const run = new TrainingRun({ opts, folder, log, t0, tf, backend, graph, config, set, data, ...(arrays ? { arrays } : {}), model, optimizer, engine, resumed, limit, dataDir });
    return await run.run();
  } finally {
    unseed();
    // Workers end on every way out: done, interrupted, NaN, an error.
    await engine?.close();
    model.dispose();
    optimizer.dispose();
  }
}

/** An array run's data, checked against the model, and each output's loss and metrics. */
function prepareArrayRun(model: TF.LayersModel, config: TrainingConfig, limit: number | undefined): { data: ArrayData; arrays: NonNullable<RunParts['arrays']> } {
  try {
    const outs = outputCompiles(model, config);
    const data = loadArrayRun(model, config, outs, limit);
    if (data.train.count === 0) throw new TrainError(`the training arrays ${data.name} hold no samples`);
    return { data, arrays: { outs, packed: packedOf(data, outs) } };
  } catch (e) {
    if (e instanceof RecipeError) throw new TrainError(e.message);
    throw e;
  }
}

/** --resume: the checkpoint last.json names, read whole; its --set values are the run's. */
function readResumePoint(out: string, set: string[] | undefined): LoadedCheckpoint {
  const ptr = readPointer(out, 'last');
  if (!ptr) throw new TrainError(`--resume: ${out} holds no checkpoint (no last.json); start a run there without --resume`);
  let dir = join(out, String(ptr.checkpoint));
  let resumed: LoadedCheckpoint;
  try {
    dir = checkpointDir(out, ptr);
    resumed = readCheckpoint(dir);
  } catch (e) {
    if (e instanceof FileProblem) throw new TrainError(`--resume: ${e.message}`);
    throw new TrainError(`--resume: the checkpoint ${dir} cannot be read: ${(e as Error).message}`);
  }
  if (set?.length && JSON.stringify(set) !== JSON.stringify(resumed.state.set)) {
    throw new TrainError(`--resume: the checkpoint was trained with ${resumed.state.set.length ? `--set ${resumed.state.set.join(' --set ')}` : 'no --set'}; leave --set out to resume with its values`);
  }
  return resumed;
}

/** A fresh run in a folder that holds one: refused without --force (exit 2, usage, as for every command). */
function refuseToReplaceRun(out: string, force: boolean): undefined {
  if (existsSync(join(out, 'last.json')) && !force) {
    const ptr = readPointer(out, 'last');
    throw new RefusedOverwrite(`${out} already holds a training run (last checkpoint ${ptr?.checkpoint ?? '?'}, epoch ${ptr?.epoch ?? '?'}); pass --resume to continue it, --force to start over, or choose another --out`);
  }
  return undefined;
}

/** Never replace a model folder that modelspec did not write. */
function guardModelFolder(out: string, force: boolean): void {
  try {
    checkOverwrite(join(out, 'model', 'model.json'), force, (text) => {
      try {
        return String((JSON.parse(text) as { generatedBy?: unknown }).generatedBy ?? '').startsWith(GENERATOR);
      } catch {
        return false;
      }
    });
  } catch (e) {
    if (e instanceof RefusedOverwrite) throw e;
    throw new TrainError((e as Error).message);
  }
}

/** The spec compiled with the run's --set values, and its recipe (a resumed run keeps its own, --epochs aside). */
function compileRecipe(opts: TrainOptions, registry: OpRegistry, resumed: LoadedCheckpoint | undefined) {
  const set = resumed ? resumed.state.set : (opts.set ?? []);
  const compiled = compileFile(opts.spec, { set, registry });
  if (!compiled.ok || !compiled.graph) {
    throw new TrainError(`the spec has errors:\n${renderDiagnostics(compiled.diagnostics.filter((d) => d.severity === 'error'), compiled.sources, { cwd: process.cwd() })}`);
  }
  try {
    const config: TrainingConfig = resumed
      ? { ...resumed.state.config, loss: resolveLoss(resumed.state.config.loss), epochs: opts.overrides?.epochs ?? resumed.state.config.epochs }
      : resolveTrainingConfig(compiled.ast?.training, opts.overrides, dirname(resolve(opts.spec)));
    const doc = compiled.docs.values().next().value;
    const span = config.dataset.image_folder && doc ? spanAt(doc, '/training/dataset/image_folder/path') : undefined;
    const at = span && compiled.sources.lineCol(span);
    const declared = at ? `${relative(process.cwd(), span!.file) || span!.file}:${at.line}:${at.column}` : undefined;
    return { graph: compiled.graph, config, set, declared };
  } catch (e) {
    if (e instanceof ConfigError) throw new TrainError(e.message);
    throw e;
  }
}

async function loadPrepared(
  config: TrainingConfig,
  o: { dataDir: string | undefined; limit: number | undefined; download: boolean | undefined; log: (line: string) => void; graph: Graph },
): Promise<PreparedData> {
  const folder = config.dataset.image_folder;
  if (config.dataset.name === 'image_folder' && folder) {
    const raw = loadImageFolder({ path: folder.path, imageShape: imageInputShape(o.graph), validationSplit: folder.validation_split, seed: folder.seed, ...(o.limit !== undefined ? { limit: o.limit } : {}) });
    return prepare(raw, { subtractPixelMean: config.dataset.subtract_pixel_mean });
  }
  const raw = await loadDataset(config.dataset.name as DatasetName, {
    ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.download ? { download: true } : {}),
    log: o.log,
  });
  return prepare(raw, { subtractPixelMean: config.dataset.subtract_pixel_mean });
}

/** The [height, width, channels] an image folder's images are brought to: the model's first input's. */
function imageInputShape(graph: Graph): [number, number, number] {
  const input = graph.nodes.find((n) => n.id === graph.inputs[0]);
  const shape = input?.outputShape ?? [];
  if (shape.length !== 3 || shape.some((d) => d === null) || (shape[2] !== 1 && shape[2] !== 3)) {
    throw new TrainError(`an image folder feeds images of a fixed size, grey or RGB: input '${graph.inputs[0]}' of ${graph.name} takes ${formatShape(shape, false)}; give it a shape [height, width, 1 or 3]`);
  }
  return shape as [number, number, number];
}

/** The feed names inputs of the model, each input takes the dataset's images, the one output its classes. */
function checkModelFitsData(model: TF.LayersModel, graph: Graph, data: PreparedData, config: TrainingConfig): void {
  // The spec's input ids (a tfjs name may carry a prefix: idOfLayerName).
  const inputIds = model.inputNames.map(idOfLayerName);
  for (const k of Object.keys(config.dataset.feed)) {
    if (!inputIds.includes(k)) throw new TrainError(`training.dataset.feed names '${k}', which is not an input of ${graph.name} (inputs: ${inputIds.join(', ')})`);
  }
  model.inputs.forEach((t, i) => {
    const shape = t.shape.slice(1);
    if (JSON.stringify(shape) !== JSON.stringify(data.imageShape)) {
      throw new TrainError(`input '${idOfLayerName(model.inputNames[i]!)}' of ${graph.name} takes [${shape.join(', ')}], but ${data.name} images are [${data.imageShape.join(', ')}]; set the input shape to match (e.g. --set input_shape=[${data.imageShape.join(',')}] where the spec has that parameter)`);
    }
  });
  const classes = data.classes.length;
  if (config.loss.name === 'sparse_categorical_crossentropy') {
    throw new TrainError(`training.loss sparse_categorical_crossentropy takes class numbers, but ${data.name} labels are fed one-hot; use categorical_crossentropy (with from_logits: true for an output without softmax)`);
  }
  if (model.outputs.length !== 1 || JSON.stringify(model.outputs[0]!.shape.slice(1)) !== JSON.stringify([classes])) {
    const folder = config.dataset.image_folder;
    if (folder) {
      throw new TrainError(`${graph.name} must have one output of ${classes} class probabilities, one per class folder of ${folder.path} (${describeClasses(data.classes)}); it has ${model.outputs.map((o) => `[${o.shape.slice(1).join(', ')}]`).join(', ')}${model.outputs.length === 1 ? `: set its units to ${classes}` : ''}`);
    }
    throw new TrainError(`${graph.name} must have one output of ${classes} class probabilities for ${data.name}; it has ${model.outputs.map((o) => `[${o.shape.slice(1).join(', ')}]`).join(', ')}`);
  }
}

/** Class names for a message: all of them, or the first few and how many more. */
function describeClasses(classes: readonly string[]): string {
  const shown = classes.slice(0, 8).map((c) => `'${c}'`).join(', ');
  return classes.length > 8 ? `${shown} and ${classes.length - 8} more` : shown;
}

/** The data-parallel engine (--workers; 1: in-process). Worker threads rebuild the model from the graph, or from its topology when plugins add ops. */
async function openEngine(tf: Tf, backend: string, model: TF.LayersModel, optimizer: TF.Optimizer, graph: Graph, opts: TrainOptions, loss: LossSpec, packed?: Packed): Promise<DataParallelEngine> {
  const engineBackend: BackendName = backend === 'tensorflow' ? 'node' : (backend as BackendName);
  const workers = opts.workers ?? defaultWorkers(engineBackend);
  if (!(Number.isInteger(workers) && workers >= 1)) throw new TrainError(`--workers must be a whole number >= 1, not ${workers}`);
  const source: ModelSource = opts.registry
    ? { kind: 'topology', topology: model.toJSON(null, false) }
    : { kind: 'graph', graph };
  return DataParallelEngine.open({ tf, model, optimizer, backend: engineBackend, workers, source, loss, ...(packed ? { packed } : {}) });
}

interface RunParts {
  opts: TrainOptions;
  folder: RunFolder;
  log: (line: string) => void;
  t0: number;
  tf: Tf;
  backend: string;
  graph: Graph;
  config: TrainingConfig;
  set: string[];
  data: PreparedData | ArrayData;
  /** Array datasets: each output's loss and metrics, and the packed rows. */
  arrays?: { outs: OutputCompile[]; packed: Packed };
  model: TF.LayersModel;
  optimizer: TF.Optimizer;
  engine: DataParallelEngine;
  resumed: LoadedCheckpoint | undefined;
  limit: number | undefined;
  dataDir: string | undefined;
}

/** The epochs of one run and what they write: the log, the checkpoints, the final model and chart. */
class TrainingRun {
  private readonly out: string;
  private readonly specRel: string;
  private readonly logPath: string;
  private readonly steps: number;
  private lr: number;
  private plateau: ReduceLROnPlateau | undefined;
  private tracker: BestTracker;
  private history: EpochLog[] = [];
  private startEpoch = 0;
  private partial: TrainState['partial'];
  private checkpoint: string | undefined;

  constructor(private readonly p: RunParts) {
    this.out = p.folder.out;
    this.specRel = relative(process.cwd(), resolve(p.opts.spec)) || p.opts.spec;
    this.logPath = join(this.out, 'metrics.jsonl');
    this.steps = Math.ceil(p.data.train.count / p.config.batch_size);
    this.lr = p.config.optimizer.learning_rate;
    this.plateau = p.config.reduce_lr_on_plateau ? new ReduceLROnPlateau(p.config.reduce_lr_on_plateau) : undefined;
    this.tracker = new BestTracker(p.config.checkpoint.monitor);
  }

  async run(): Promise<TrainResult> {
    const { config, data, engine } = this.p;
    this.describe();
    makeFolders(this.out);
    if (this.p.resumed) await this.restore(this.p.resumed);
    else this.start();
    const batches = isArrayData(data)
      ? new ArrayBatches(data, engine.batchBuffers(config.batch_size))
      : new BatchAssembler({
        split: data.train, imageShape: data.imageShape, classes: data.classes.length, batchSize: config.batch_size, seed: config.seed,
        ...(config.augmentation ? { augmentation: config.augmentation } : {}),
        buffers: engine.batchBuffers(config.batch_size),
      });
    for (let e = this.startEpoch; e < config.epochs; e++) {
      const stopped = await this.epoch(e, batches);
      if (stopped) return stopped;
    }
    return this.finish();
  }

  private event(e: Record<string, unknown>): void {
    appendFileSync(this.logPath, JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n');
  }

  private shown(): string {
    return relative(process.cwd(), this.out) || '.';
  }

  private describe(): void {
    const { graph, set, data, limit, config, engine, backend, log } = this.p;
    log(`model: ${graph.name} (${this.specRel}${set.length ? `, --set ${set.join(' ')}` : ''}), ${count(graph.totals.total)} parameters`);
    const limited = limit !== undefined ? ` (--max-examples ${limit})` : '';
    if (isArrayData(data)) {
      const feeds = [...data.inputs.map((f) => `input ${f.name} [${f.shape.join(', ')}]`), ...data.targets.map((f) => `target ${f.name} [${f.shape.join(', ')}]`)];
      log(`data: arrays ${relative(process.cwd(), data.name) || data.name}, ${count(data.train.count)} training / ${count(data.validation?.count ?? 0)} validation samples${limited}; ${feeds.join(', ')}`);
    } else {
      const folder = config.dataset.image_folder;
      const what = folder ? `image folder ${relative(process.cwd(), folder.path) || '.'} (${data.classes.length} classes: ${describeClasses(data.classes)})` : data.name;
      const held = folder ? `validation (validation_split ${folder.validation_split}, seed ${folder.seed})` : 'test';
      log(`data: ${what}, ${count(data.train.count)} training / ${count(data.test.count)} ${held} images ${data.imageShape.join('x')}${limited}${data.pixelMean ? ', per-pixel mean subtracted' : ''}`);
    }
    log(describeRecipe(config, this.steps));
    log(engine.workers > 1
      ? `workers: ${engine.workers} (data-parallel: each batch split between the main thread and ${engine.workers - 1} worker thread${engine.workers > 2 ? 's' : ''}, gradients averaged, one optimizer step)`
      : `workers: 1 (in-process${backend === 'tensorflow' || backend === 'node' ? '; native TensorFlow uses every core itself' : ''})`);
  }

  /** A fresh run: the start event. */
  private start(): void {
    const { graph, set, backend, engine, data, limit, config } = this.p;
    this.event({
      event: 'start', spec: this.specRel, set, parameters: graph.params, backend, workers: engine.workers, dataset: isArrayData(data) ? 'arrays' : data.name,
      train: data.train.count, ...(isArrayData(data) ? { validation: data.validation?.count ?? 0 } : { test: data.test.count }), ...(limit !== undefined ? { limit } : {}), config,
    });
  }

  /** --resume: weights, optimizer, learning rate, callbacks and history from the checkpoint; the log trimmed to it. */
  private async restore(resumed: LoadedCheckpoint): Promise<void> {
    const { tf, model, optimizer, engine, config, log } = this.p;
    const s = resumed.state;
    try {
      loadWeightsInto(tf, model, resumed.model);
    } catch (e) {
      throw new TrainError(`--resume: the checkpoint ${resumed.dir} does not fit ${this.specRel}: ${(e as Error).message}`);
    }
    await restoreOptimizer(tf, optimizer, resumed.dir);
    engine.publishWeights();
    this.lr = s.lr;
    if (this.plateau && s.plateau) this.plateau = new ReduceLROnPlateau(config.reduce_lr_on_plateau!, s.plateau);
    this.tracker = new BestTracker(config.checkpoint.monitor, s.best);
    this.history = [...s.history];
    this.startEpoch = s.epoch;
    this.partial = s.partial;
    this.checkpoint = relative(this.out, resumed.dir);
    reconcileLog(this.logPath, this.history);
    const where = this.partial ? `epoch ${s.epoch + 1}, batch ${this.partial.batch + 1} of ${this.steps}` : `epoch ${s.epoch + 1}`;
    log(`resuming from ${relative(process.cwd(), resumed.dir) || resumed.dir} (${s.epoch} epoch${s.epoch === 1 ? '' : 's'} done): continuing at ${where}`);
    this.event({ event: 'resume', from: this.checkpoint, epoch: s.epoch, ...(this.partial ? { batch: this.partial.batch } : {}) });
  }

  private state(epoch: number, reason: TrainState['reason'], partial?: TrainState['partial']): TrainState {
    const { opts, set, config, limit, dataDir } = this.p;
    return {
      format: 'modelspec-checkpoint', version: 1, spec: opts.spec, specPath: resolve(opts.spec), set, config,
      ...(limit !== undefined ? { limit } : {}),
      ...(dataDir !== undefined ? { dataDir } : {}),
      epoch, ...(partial ? { partial } : {}), lr: this.lr,
      ...(this.plateau ? { plateau: this.plateau.state } : {}),
      best: this.tracker.best, history: this.history, reason, savedAt: new Date().toISOString(),
    };
  }

  private meta(epoch: number, metrics?: Record<string, number>): ModelMeta {
    const { graph, data, model, config, arrays } = this.p;
    if (isArrayData(data)) {
      return {
        spec: this.specRel, parameters: { ...graph.params }, dataset: 'arrays', loss: config.loss,
        arrays: { inputs: data.inputs.map(({ name, shape, int }) => ({ name, shape, int })), targets: data.targets.map(({ name, shape }) => ({ name, shape })), outputs: arrays!.outs },
        epoch, ...(metrics ? { metrics } : {}),
      };
    }
    return {
      spec: this.specRel,
      parameters: { ...graph.params },
      dataset: data.name,
      classes: data.classes,
      loss: config.loss,
      inputs: model.inputNames.map(idOfLayerName).map((name) => ({ name, reads: (Object.hasOwn(config.dataset.feed, name) ? config.dataset.feed[name] : undefined) ?? 'image' })),
      imageShape: data.imageShape,
      ...(config.dataset.image_folder ? { imageFolder: config.dataset.image_folder } : {}),
      ...(data.pixelMean ? { pixelMean: 'pixel_mean.bin' } : {}),
      epoch,
      ...(metrics ? { metrics } : {}),
    };
  }

  private async save(s: TrainState, best: boolean): Promise<string> {
    const { tf, model, optimizer, data, folder } = this.p;
    const last = s.history[s.history.length - 1];
    const metrics = last ? Object.fromEntries(Object.entries(last).filter(([, v]) => typeof v === 'number')) as Record<string, number> : undefined;
    const rel = saveCheckpoint(this.out, {
      model: await modelFiles(tf, model, this.meta(s.epoch, metrics)),
      optimizer: await optimizerFiles(tf, optimizer),
      state: s,
      ...(!isArrayData(data) && data.pixelMean ? { pixelMean: data.pixelMean } : {}),
    }, { best });
    folder.commit(); // --force: the new run has its first checkpoint; the previous one can go
    return rel;
  }

  /** An array split's values by Keras name (loss, out1_loss, accuracy...). */
  private evaluateArrays(split: ArraySplit): Promise<Record<string, number>> {
    const { tf, model, engine, config, arrays } = this.p;
    return evaluateArrays(tf, model, (x, n) => engine.predict(x, n), this.p.data as ArrayData, split, arrays!.outs, arrays!.packed, Math.max(config.batch_size, 256));
  }

  private evaluate(split: PreparedSplit): Promise<Evaluation> | Evaluation {
    const { tf, model, engine, config } = this.p;
    const data = this.p.data as PreparedData;
    const classes = data.classes.length;
    const batchSize = Math.max(config.batch_size, 256);
    return engine.workers > 1
      ? evaluateSplitWith(tf, model, (x, n) => engine.predict(x, n), split, classes, { batchSize, loss: config.loss })
      : evaluateSplit(tf, model, split, classes, { batchSize, loss: config.loss });
  }

  private interrupted(epoch: number): TrainResult {
    const { backend, engine, t0 } = this.p;
    return { status: 'interrupted', backend, workers: engine.workers, out: this.out, history: this.history, epoch, checkpoint: this.checkpoint!, seconds: (Date.now() - t0) / 1000 };
  }

  /** Epoch e (0-based): its batches, then validation, checkpoint and callbacks; a result when the run stops here. */
  private async epoch(e: number, batches: Batches): Promise<TrainResult | undefined> {
    const { config, optimizer, opts, log } = this.p;
    // LearningRateScheduler.on_epoch_begin (not again when resuming inside the epoch).
    if (!this.partial && config.lr_schedule) this.lr = piecewiseLr(config.lr_schedule.piecewise, e);
    setLearningRate(optimizer, this.lr);
    const partial = this.partial;
    this.partial = undefined;
    const label = `epoch ${e + 1}/${config.epochs}`;
    const pass = await this.trainBatches(e, batches, label, partial);
    if (pass.stoppedAt !== undefined) {
      this.checkpoint = await this.save(this.state(e, 'interrupted', pass.progress), false);
      this.event({ event: 'interrupted', epoch: e + 1, batch: pass.stoppedAt, checkpoint: this.checkpoint });
      log(`interrupted in epoch ${e + 1} after batch ${pass.stoppedAt} of ${this.steps}: saved ${join(this.shown(), this.checkpoint)}; continue with --resume`);
      return this.interrupted(e);
    }
    const record = await this.endOfEpoch(e, label, pass);
    await opts.onEpochEnd?.(record);
    if (e + 1 < config.epochs && opts.shouldStop?.()) {
      this.event({ event: 'interrupted', epoch: e + 1, checkpoint: this.checkpoint });
      log(`interrupted after epoch ${e + 1}: saved ${join(this.shown(), this.checkpoint!)}; continue with --resume`);
      return this.interrupted(e + 1);
    }
    return undefined;
  }

  /** The training steps of epoch e, from where a resumed run stopped; stops between two batches when asked to. */
  private async trainBatches(e: number, batches: Batches, label: string, from: TrainState['partial']): Promise<EpochPass> {
    const { config, engine, opts, data } = this.p;
    const B = config.batch_size, N = data.train.count, steps = this.steps;
    const perm = permutation(N, mulberry32(deriveSeed(config.seed, e, 1)));
    const progress = {
      batch: from?.batch ?? 0, seen: from?.seen ?? 0, lossSum: from?.lossSum ?? 0, accSum: from?.accSum ?? 0, seconds: from?.seconds ?? 0,
      ...(this.p.arrays ? { sums: from?.sums ?? [] } : {}),
    };
    const pass: EpochPass = { progress, before: progress.seconds, epochStart: Date.now(), seenAtStart: progress.seen, inputMs: 0, stepMs: 0 };
    const bar = epochBar(opts.progress ?? 'auto', label, steps, progress.batch);
    try {
      for (; progress.batch < steps; progress.batch++) {
        const start = progress.batch * B;
        const n = Math.min(B, N - start);
        const stepStart = performance.now();
        const b = batches.assemble(perm, e, progress.batch, start, n);
        // The input pipeline's share of the training steps (assembling, augmenting, one-hot).
        pass.inputMs += performance.now() - stepStart;
        const { loss, accuracy: acc, values } = await engine.trainStep(b.x, b.y, n, deriveSeed(config.seed, e, 4, progress.batch));
        pass.stepMs += performance.now() - stepStart;
        checkFinite(loss, e + 1, progress.batch + 1);
        progress.lossSum += loss * n;
        progress.accSum += acc * n;
        progress.sums = progress.sums && values?.map((v, i) => (progress.sums![i] ?? 0) + v * n);
        progress.seen += n;
        const elapsed = (Date.now() - pass.epochStart) / 1000;
        const rate = (progress.seen - pass.seenAtStart) / Math.max(elapsed, 1e-3);
        bar.update(progress.batch + 1, {
          loss: progress.lossSum / progress.seen, accuracy: progress.accSum / progress.seen, imagesPerSecond: rate, eta: (N - progress.seen) / rate,
          ...(progress.sums ? { values: this.stepValues(progress.sums, progress.seen) } : {}),
        });
        // The loop only awaits promises that settle at once: give timers (the progress bar) and signals (SIGINT) their turn.
        await new Promise((r) => setImmediate(r));
        if (progress.batch + 1 < steps && opts.shouldStop?.()) {
          bar.stop();
          progress.batch += 1;
          progress.seconds = pass.before + elapsed;
          return { ...pass, stoppedAt: progress.batch };
        }
      }
    } catch (err) {
      if (err instanceof NonFiniteLoss) {
        this.event({ event: 'stopped', reason: err.message, epoch: e + 1, batch: progress.batch + 1 });
        throw new TrainError(`${err.message}${this.checkpoint ? `; the last good checkpoint is ${join(this.shown(), this.checkpoint)}` : ''}`);
      }
      throw err;
    } finally {
      bar.stop();
    }
    return pass;
  }

  /** The epoch's record (with validation), its checkpoint, the callbacks (ModelCheckpoint, then ReduceLROnPlateau, as the seed orders them) and its line. */
  private async endOfEpoch(e: number, label: string, pass: EpochPass): Promise<EpochLog> {
    const { config, data, log } = this.p;
    const { seen, lossSum, accSum, sums } = pass.progress;
    const record: EpochLog = {
      epoch: e + 1, loss: lossSum / seen, accuracy: accSum / seen, lr: this.lr, seconds: pass.before + (Date.now() - pass.epochStart) / 1000,
      images_per_second: (seen - pass.seenAtStart) / Math.max((Date.now() - pass.epochStart) / 1000, 1e-3),
    };
    const inputFraction = pass.stepMs > 0 ? pass.inputMs / pass.stepMs : undefined;
    if (inputFraction !== undefined) record.input_fraction = Number(inputFraction.toPrecision(3));
    if (isArrayData(data)) {
      // Keras' names and only those: no accuracy unless a metric gives one.
      delete (record as Partial<EpochLog>).accuracy;
      Object.assign(record, this.stepValues(sums ?? [], seen));
      if (config.dataset.validation === 'test' && data.validation?.count) {
        for (const [k, v] of Object.entries(await this.evaluateArrays(data.validation))) record[`val_${k}`] = v;
      }
    } else if (config.dataset.validation === 'test' && data.test.count > 0) {
      const v = await this.evaluate(data.test);
      record.val_loss = v.loss;
      record.val_accuracy = v.accuracy;
    }
    record.seconds = pass.before + (Date.now() - pass.epochStart) / 1000;
    this.history.push(record);
    const improved = this.tracker.update(record);
    if (this.plateau) this.lr = this.plateau.onEpochEnd(record, this.lr);
    const reason: TrainState['reason'] = improved ? 'best' : config.checkpoint.save_best_only ? 'epoch' : 'saved';
    this.checkpoint = await this.save(this.state(e + 1, reason), improved);
    this.event({ event: 'epoch', ...record, checkpoint: this.checkpoint, ...(improved ? { best: true } : {}) });
    const vals = isArrayData(data) ? '' : record.val_loss !== undefined ? ` - val_loss ${fmt(record.val_loss)} - val_accuracy ${fmt(record.val_accuracy)}` : '';
    const shown = isArrayData(data) ? this.arrayLine(record) : `loss ${fmt(record.loss)} - accuracy ${fmt(record.accuracy)}`;
    const monitor = config.checkpoint.monitor;
    const note = improved ? `${monitor} improved to ${fmt(this.tracker.best)}, saved ${this.checkpoint}` : `${monitor} did not improve from ${fmt(this.tracker.best)}`;
    const lrNote = this.lr !== record.lr ? ` (ReduceLROnPlateau: lr -> ${fmtLr(this.lr)})` : '';
    const input = inputFraction !== undefined ? `, input ${(100 * inputFraction).toFixed(1)}%` : '';
    log(`${label}: ${shown}${vals} - lr ${fmtLr(record.lr)} - ${formatDuration(record.seconds)} (${record.images_per_second.toFixed(0)} ${isArrayData(data) ? 'samples' : 'img'}/s${input}); ${note}${lrNote}`);
    return record;
  }

  /** An array run's closing values on its validation split: the last epoch's when it ran now, else evaluated. */
  private async finalArrays(last: EpochLog | undefined, trainedNow: boolean): Promise<TrainResult['test']> {
    const split = (this.p.data as ArrayData).validation;
    if (!split?.count) return undefined;
    let values: Record<string, number>;
    if (last?.val_loss !== undefined && trainedNow) {
      values = Object.fromEntries(Object.entries(last).filter(([k]) => k.startsWith('val_')).map(([k, v]) => [k.slice(4), v as number]));
    } else {
      values = await this.evaluateArrays(split);
    }
    return { loss: values.loss!, accuracy: values.accuracy ?? NaN, count: split.count, values };
  }

  /** The running means of trainOnBatch's values, by Keras name. */
  private stepValues(sums: readonly number[], seen: number): Record<string, number> {
    return namedValues(this.p.arrays!.outs, sums.map((v) => v / Math.max(seen, 1)));
  }

  /** An array run's epoch line: every value Keras logs, in its order (training values, then val_). */
  private arrayLine(record: EpochLog): string {
    const skip = new Set(['epoch', 'lr', 'seconds', 'images_per_second', 'input_fraction']);
    const keys = Object.keys(record).filter((k) => !skip.has(k));
    return [...keys.filter((k) => !k.startsWith('val_')), ...keys.filter((k) => k.startsWith('val_'))].map((k) => `${k} ${fmt(record[k])}`).join(' - ');
  }

  /** The end: the test set, the final model, the chart, the end event. */
  private async finish(): Promise<TrainResult> {
    const { config, data, tf, model, graph, backend, engine, t0, log } = this.p;
    const startEpoch = this.startEpoch;
    if (startEpoch >= config.epochs) log(`nothing to train: ${startEpoch} epoch${startEpoch === 1 ? '' : 's'} already done (--epochs sets the total to reach)`);
    const last = this.history[this.history.length - 1];
    let test: TrainResult['test'];
    if (isArrayData(data)) {
      test = await this.finalArrays(last, startEpoch < config.epochs);
    } else if (last?.val_loss !== undefined && config.dataset.validation === 'test' && startEpoch < config.epochs) {
      test = { loss: last.val_loss, accuracy: last.val_accuracy!, count: data.test.count };
    } else if (data.test.count > 0) {
      const v = await this.evaluate(data.test);
      test = { loss: v.loss, accuracy: v.accuracy, count: v.count };
    }
    const epochsDone = Math.max(config.epochs, startEpoch);
    const testMetrics = test?.values ? Object.fromEntries(Object.entries(test.values).map(([k, v]) => [`test_${k}`, v])) : test ? { test_loss: test.loss, test_accuracy: test.accuracy } : undefined;
    const files = modelDirFiles(await modelFiles(tf, model, this.meta(epochsDone, testMetrics)));
    if (!isArrayData(data) && data.pixelMean) files['pixel_mean.bin'] = new Uint8Array(data.pixelMean.buffer, data.pixelMean.byteOffset, data.pixelMean.byteLength);
    writeDirAtomic(join(this.out, 'model'), files);
    const metric = this.p.arrays ? stepNames(this.p.arrays.outs).find((n) => !n.endsWith('loss')) : undefined;
    writeFileAtomic(join(this.out, 'curves.svg'), curvesSvg(this.history, `${graph.name} on ${isArrayData(data) ? relative(process.cwd(), data.name) || data.name : data.name}`, metric));
    const seconds = (Date.now() - t0) / 1000;
    this.event({ event: 'end', epochs: epochsDone, ...(testMetrics && test ? { ...testMetrics, test_count: test.count } : {}), seconds });
    const shown = this.shown();
    if (test?.values) log(`validation (${count(test.count)} samples): ${Object.entries(test.values).map(([k, v]) => `${k} ${fmt(v)}`).join(' - ')}`);
    else if (test) log(`${config.dataset.image_folder ? 'validation' : 'test'}: loss ${fmt(test.loss)}, accuracy ${(100 * test.accuracy).toFixed(2)}% (${count(test.count)} images)`);
    log(`wrote ${join(shown, 'model')}/ (model.json, weights.bin), ${join(shown, 'metrics.jsonl')}, ${join(shown, 'curves.svg')}; checkpoints in ${join(shown, 'checkpoints')}/`);
    log(`time: ${formatDuration(seconds)} on ${backend}${engine.workers > 1 ? ` with ${engine.workers} workers` : ''}`);
    return { status: 'done', backend, workers: engine.workers, out: this.out, history: this.history, epoch: epochsDone, ...(test ? { test } : {}), ...(this.checkpoint ? { checkpoint: this.checkpoint } : {}), seconds };
  }
}

/** A run's batches: images (gathered, augmented, one-hot) or packed array rows. */
type Batches = Pick<BatchAssembler, 'assemble'>;

/** One epoch's training pass: the running sums (what a mid-epoch checkpoint keeps) and its timings. */
interface EpochPass {
  progress: NonNullable<TrainState['partial']>;
  /** Seconds spent in this epoch before a resume. */
  before: number;
  epochStart: number;
  seenAtStart: number;
  inputMs: number;
  stepMs: number;
  /** Set when the run stopped mid-epoch: the batches done. */
  stoppedAt?: number;
}
