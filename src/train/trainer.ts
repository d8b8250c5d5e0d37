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
import { join, relative, resolve } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { compileFile } from '../compile.js';
import { renderDiagnostics } from '../diagnostics/render.js';
import { builtinRegistry, type OpRegistry } from '../ops/index.js';
import { buildFromGraph } from '../backends/tfjs/interpreter.js';
import { idOfLayerName } from '../backends/tfjs/config.js';
import { describeBackend, loadTf, type BackendName, type Tf } from '../backends/tfjs/backend.js';
import { checkOverwrite, GENERATOR, RefusedOverwrite, writeFileAtomic, makeFolders } from '../io/atomic.js';
import { ConfigError, resolveTrainingConfig, type TrainingConfig, type TrainingOverrides } from './config.js';
import { loadDataset } from './data/index.js';
import { prepare, type PreparedData } from './preprocess.js';
import { BatchAssembler } from './batches.js';
import { BestTracker, checkFinite, NonFiniteLoss, piecewiseLr, ReduceLROnPlateau } from './callbacks.js';
import { deriveSeed, mulberry32, permutation } from './rng.js';
import { evaluateSplit, evaluateSplitWith, type Evaluation } from './evaluate.js';
import { makeOptimizer, setLearningRate } from './optimizer.js';
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
  test?: { loss: number; accuracy: number; count: number };
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
  return `recipe: ${opt}, ${c.loss}, batch ${c.batch_size}, ${c.epochs} epoch${c.epochs === 1 ? '' : 's'} (${steps} steps each), seed ${c.seed}`
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

async function trainIn(folder: RunFolder, opts: TrainOptions): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  const out = folder.out;
  const registry = opts.registry ?? builtinRegistry();
  const t0 = Date.now();

  // Resume, or start afresh.
  let resumed: LoadedCheckpoint | undefined;
  if (opts.resume) {
    const ptr = readPointer(out, 'last');
    if (!ptr) throw new TrainError(`--resume: ${out} holds no checkpoint (no last.json); start a run there without --resume`);
    let dir = join(out, String(ptr.checkpoint));
    try {
      dir = checkpointDir(out, ptr);
      resumed = readCheckpoint(dir);
    } catch (e) {
      if (e instanceof FileProblem) throw new TrainError(`--resume: ${e.message}`);
      throw new TrainError(`--resume: the checkpoint ${dir} cannot be read: ${(e as Error).message}`);
    }
    if (opts.set?.length && JSON.stringify(opts.set) !== JSON.stringify(resumed.state.set)) {
      throw new TrainError(`--resume: the checkpoint was trained with ${resumed.state.set.length ? `--set ${resumed.state.set.join(' --set ')}` : 'no --set'}; leave --set out to resume with its values`);
    }
  } else if (existsSync(join(out, 'last.json'))) {
    if (!opts.force) {
      const ptr = readPointer(out, 'last');
      // A refused overwrite: exit 2 (usage), as for every command.
      throw new RefusedOverwrite(`${out} already holds a training run (last checkpoint ${ptr?.checkpoint ?? '?'}, epoch ${ptr?.epoch ?? '?'}); pass --resume to continue it, --force to start over, or choose another --out`);
    }
  }

  // Never replace a model folder that modelspec did not write.
  try {
    checkOverwrite(join(out, 'model', 'model.json'), !!opts.force, (text) => {
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

  const set = resumed ? resumed.state.set : (opts.set ?? []);
  const compiled = compileFile(opts.spec, { set, registry });
  if (!compiled.ok || !compiled.graph) {
    throw new TrainError(`the spec has errors:\n${renderDiagnostics(compiled.diagnostics.filter((d) => d.severity === 'error'), compiled.sources, { cwd: process.cwd() })}`);
  }
  const graph = compiled.graph;
  let config: TrainingConfig;
  try {
    config = resumed
      ? { ...resumed.state.config, epochs: opts.overrides?.epochs ?? resumed.state.config.epochs }
      : resolveTrainingConfig(compiled.ast?.training, opts.overrides);
  } catch (e) {
    if (e instanceof ConfigError) throw new TrainError(e.message);
    throw e;
  }
  // --force: the previous run is set aside, and goes once this one has written its first checkpoint.
  if (!resumed && opts.force) folder.setAside();
  const limit = resumed ? resumed.state.limit : opts.limit;
  const dataDir = opts.dataDir !== undefined ? resolve(opts.dataDir) : resumed?.state.dataDir;

  // TensorFlow.js and the data.
  const { tf, backend } = opts.tf ? { tf: opts.tf, backend: opts.tf.getBackend() } : await loadTf(opts.backend);
  log(`backend: ${describeBackend(backend as BackendName) ?? backend}`);
  const data = opts.data ?? prepare(
    await loadDataset(config.dataset.name, {
      ...(dataDir !== undefined ? { dataDir } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(opts.download ? { download: true } : {}),
      log,
    }),
    { subtractPixelMean: config.dataset.subtract_pixel_mean },
  );
  const classes = data.classes.length;
  const N = data.train.count;
  if (N === 0) throw new TrainError(`the ${data.name} training split is empty`);

  // The model, checked against the data. TensorFlow.js' initialisers and dropout draw their seeds
  // from Math.random when given none: seed it for the run, so a run is reproducible from --seed.
  const unseeded = Math.random;
  Math.random = mulberry32(deriveSeed(config.seed, 3, resumed?.state.epoch ?? 0, resumed?.state.partial?.batch ?? 0));
  let model: TF.LayersModel;
  try {
    model = buildFromGraph(tf, graph, registry);
  } catch (e) {
    Math.random = unseeded;
    throw e;
  }
  const optimizer = makeOptimizer(tf, config.optimizer);
  let engine: DataParallelEngine | undefined;
  try {
    const feed = config.dataset.feed;
    // The spec's input ids (a tfjs name may carry a prefix: idOfLayerName).
    const inputIds = model.inputNames.map(idOfLayerName);
    for (const k of Object.keys(feed)) {
      if (!inputIds.includes(k)) throw new TrainError(`training.dataset.feed names '${k}', which is not an input of ${graph.name} (inputs: ${inputIds.join(', ')})`);
    }
    model.inputs.forEach((t, i) => {
      const shape = t.shape.slice(1);
      if (JSON.stringify(shape) !== JSON.stringify(data.imageShape)) {
        throw new TrainError(`input '${idOfLayerName(model.inputNames[i]!)}' of ${graph.name} takes [${shape.join(', ')}], but ${data.name} images are [${data.imageShape.join(', ')}]; set the input shape to match (e.g. --set input_shape=[${data.imageShape.join(',')}] where the spec has that parameter)`);
      }
    });
    if (model.outputs.length !== 1 || JSON.stringify(model.outputs[0]!.shape.slice(1)) !== JSON.stringify([classes])) {
      throw new TrainError(`${graph.name} must have one output of ${classes} class probabilities for ${data.name}; it has ${model.outputs.map((o) => `[${o.shape.slice(1).join(', ')}]`).join(', ')}`);
    }
    model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    const engineBackend: BackendName = backend === 'tensorflow' ? 'node' : (backend as BackendName);
    const workers = opts.workers ?? defaultWorkers(engineBackend);
    if (!(Number.isInteger(workers) && workers >= 1)) throw new TrainError(`--workers must be a whole number >= 1, not ${workers}`);
    const source: ModelSource = opts.registry
      ? { kind: 'topology', topology: model.toJSON(null, false) }
      : { kind: 'graph', graph };
    engine = await DataParallelEngine.open({ tf, model, optimizer, backend: engineBackend, workers, source });
    return await run(engine);
  } finally {
    Math.random = unseeded;
    // Workers end on every way out: done, interrupted, NaN, an error.
    await engine?.close();
    model.dispose();
    optimizer.dispose();
  }

  async function run(engine: DataParallelEngine): Promise<TrainResult> {
    const B = config.batch_size;
    const steps = Math.ceil(N / B);
    const specRel = relative(process.cwd(), resolve(opts.spec)) || opts.spec;
    const meta = (epoch: number, metrics?: Record<string, number>): ModelMeta => ({
      spec: specRel,
      parameters: { ...graph.params },
      dataset: data.name,
      classes: data.classes,
      inputs: model.inputNames.map(idOfLayerName).map((name) => ({ name, reads: (Object.hasOwn(config.dataset.feed, name) ? config.dataset.feed[name] : undefined) ?? 'image' })),
      imageShape: data.imageShape,
      ...(data.pixelMean ? { pixelMean: 'pixel_mean.bin' } : {}),
      epoch,
      ...(metrics ? { metrics } : {}),
    });

    log(`model: ${graph.name} (${specRel}${set.length ? `, --set ${set.join(' ')}` : ''}), ${count(graph.totals.total)} parameters`);
    log(`data: ${data.name}, ${count(N)} training / ${count(data.test.count)} test images ${data.imageShape.join('x')}${limit !== undefined ? ` (--max-examples ${limit})` : ''}${data.pixelMean ? ', per-pixel mean subtracted' : ''}`);
    log(describeRecipe(config, steps));
    log(engine.workers > 1
      ? `workers: ${engine.workers} (data-parallel: each batch split between the main thread and ${engine.workers - 1} worker thread${engine.workers > 2 ? 's' : ''}, gradients averaged, one optimizer step)`
      : `workers: 1 (in-process${backend === 'tensorflow' || backend === 'node' ? '; native TensorFlow uses every core itself' : ''})`);

    makeFolders(out);
    const logPath = join(out, 'metrics.jsonl');
    const event = (e: Record<string, unknown>) => appendFileSync(logPath, JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n');

    let lr = config.optimizer.learning_rate;
    let plateau = config.reduce_lr_on_plateau ? new ReduceLROnPlateau(config.reduce_lr_on_plateau) : undefined;
    let tracker = new BestTracker(config.checkpoint.monitor);
    let history: EpochLog[] = [];
    let startEpoch = 0;
    let partial: TrainState['partial'];
    let checkpoint: string | undefined;

    if (resumed) {
      const s = resumed.state;
      try {
        loadWeightsInto(tf, model, resumed.model);
      } catch (e) {
        throw new TrainError(`--resume: the checkpoint ${resumed.dir} does not fit ${specRel}: ${(e as Error).message}`);
      }
      await restoreOptimizer(tf, optimizer, resumed.dir);
      engine.publishWeights();
      lr = s.lr;
      if (plateau && s.plateau) plateau = new ReduceLROnPlateau(config.reduce_lr_on_plateau!, s.plateau);
      tracker = new BestTracker(config.checkpoint.monitor, s.best);
      history = [...s.history];
      startEpoch = s.epoch;
      partial = s.partial;
      checkpoint = relative(out, resumed.dir);
      reconcileLog(logPath, history);
      const where = partial ? `epoch ${s.epoch + 1}, batch ${partial.batch + 1} of ${steps}` : `epoch ${s.epoch + 1}`;
      log(`resuming from ${relative(process.cwd(), resumed.dir) || resumed.dir} (${s.epoch} epoch${s.epoch === 1 ? '' : 's'} done): continuing at ${where}`);
      event({ event: 'resume', from: checkpoint, epoch: s.epoch, ...(partial ? { batch: partial.batch } : {}) });
    } else {
      event({
        event: 'start', spec: specRel, set, parameters: graph.params, backend, workers: engine.workers, dataset: data.name,
        train: N, test: data.test.count, ...(limit !== undefined ? { limit } : {}), config,
      });
    }

    const state = (epoch: number, reason: TrainState['reason'], p?: TrainState['partial']): TrainState => ({
      format: 'modelspec-checkpoint', version: 1, spec: opts.spec, specPath: resolve(opts.spec), set, config,
      ...(limit !== undefined ? { limit } : {}),
      ...(dataDir !== undefined ? { dataDir } : {}),
      epoch, ...(p ? { partial: p } : {}), lr,
      ...(plateau ? { plateau: plateau.state } : {}),
      best: tracker.best, history, reason, savedAt: new Date().toISOString(),
    });
    const save = async (s: TrainState, best: boolean): Promise<string> => {
      const last = s.history[s.history.length - 1];
      const metrics = last ? Object.fromEntries(Object.entries(last).filter(([, v]) => typeof v === 'number')) as Record<string, number> : undefined;
      const rel = saveCheckpoint(out, {
        model: await modelFiles(tf, model, meta(s.epoch, metrics)),
        optimizer: await optimizerFiles(tf, optimizer),
        state: s,
        ...(data.pixelMean ? { pixelMean: data.pixelMean } : {}),
      }, { best });
      folder.commit(); // --force: the new run has its first checkpoint; the previous one can go
      return rel;
    };

    const batches = new BatchAssembler({
      split: data.train, imageShape: data.imageShape, classes, batchSize: B, seed: config.seed,
      ...(config.augmentation ? { augmentation: config.augmentation } : {}),
      buffers: engine.batchBuffers(B),
    });
    const evaluate = async (split: PreparedSplit): Promise<Evaluation> => engine.workers > 1
      ? evaluateSplitWith(tf, model, (x, n) => engine.predict(x, n), split, classes, { batchSize: Math.max(B, 256) })
      : evaluateSplit(tf, model, split, classes, { batchSize: Math.max(B, 256) });

    for (let e = startEpoch; e < config.epochs; e++) {
      // LearningRateScheduler.on_epoch_begin (not again when resuming inside the epoch).
      if (!partial && config.lr_schedule) lr = piecewiseLr(config.lr_schedule.piecewise, e);
      setLearningRate(optimizer, lr);
      const perm = permutation(N, mulberry32(deriveSeed(config.seed, e, 1)));
      let batch = partial?.batch ?? 0;
      let seen = partial?.seen ?? 0;
      let lossSum = partial?.lossSum ?? 0;
      let accSum = partial?.accSum ?? 0;
      const before = partial?.seconds ?? 0;
      partial = undefined;
      const epochStart = Date.now();
      const seenAtStart = seen;
      const label = `epoch ${e + 1}/${config.epochs}`;
      const bar = epochBar(opts.progress ?? 'auto', label, steps, batch);
      // The input pipeline's share of the training steps (assembling, augmenting, one-hot).
      let inputMs = 0, stepMs = 0;
      try {
        for (; batch < steps; batch++) {
          const start = batch * B;
          const n = Math.min(B, N - start);
          const stepStart = performance.now();
          const b = batches.assemble(perm, e, batch, start, n);
          inputMs += performance.now() - stepStart;
          const { loss, accuracy: acc } = await engine.trainStep(b.x, b.y, n, deriveSeed(config.seed, e, 4, batch));
          stepMs += performance.now() - stepStart;
          checkFinite(loss, e + 1, batch + 1);
          lossSum += loss * n;
          accSum += acc * n;
          seen += n;
          const elapsed = (Date.now() - epochStart) / 1000;
          const rate = (seen - seenAtStart) / Math.max(elapsed, 1e-3);
          bar.update(batch + 1, { loss: lossSum / seen, accuracy: accSum / seen, imagesPerSecond: rate, eta: (N - seen) / rate });
          // The loop only awaits promises that settle at once: give timers (the progress bar) and signals (SIGINT) their turn.
          await new Promise((r) => setImmediate(r));
          if (batch + 1 < steps && opts.shouldStop?.()) {
            bar.stop();
            const p = { batch: batch + 1, seen, lossSum, accSum, seconds: before + elapsed };
            checkpoint = await save(state(e, 'interrupted', p), false);
            event({ event: 'interrupted', epoch: e + 1, batch: batch + 1, checkpoint });
            log(`interrupted in epoch ${e + 1} after batch ${batch + 1} of ${steps}: saved ${join(relative(process.cwd(), out) || '.', checkpoint)}; continue with --resume`);
            return { status: 'interrupted', backend, workers: engine.workers, out, history, epoch: e, checkpoint, seconds: (Date.now() - t0) / 1000 };
          }
        }
      } catch (err) {
        if (err instanceof NonFiniteLoss) {
          event({ event: 'stopped', reason: err.message, epoch: e + 1, batch: batch + 1 });
          throw new TrainError(`${err.message}${checkpoint ? `; the last good checkpoint is ${join(relative(process.cwd(), out) || '.', checkpoint)}` : ''}`);
        }
        throw err;
      } finally {
        bar.stop();
      }
      const trainSeconds = before + (Date.now() - epochStart) / 1000;
      const record: EpochLog = { epoch: e + 1, loss: lossSum / seen, accuracy: accSum / seen, lr, seconds: trainSeconds, images_per_second: (seen - seenAtStart) / Math.max((Date.now() - epochStart) / 1000, 1e-3) };
      const inputFraction = stepMs > 0 ? inputMs / stepMs : undefined;
      if (inputFraction !== undefined) record.input_fraction = Number(inputFraction.toPrecision(3));
      if (config.dataset.validation === 'test' && data.test.count > 0) {
        const v = await evaluate(data.test);
        record.val_loss = v.loss;
        record.val_accuracy = v.accuracy;
      }
      record.seconds = before + (Date.now() - epochStart) / 1000;
      history.push(record);
      // on_epoch_end, in the seed's order: ModelCheckpoint, then ReduceLROnPlateau.
      const improved = tracker.update(record);
      if (plateau) lr = plateau.onEpochEnd(record, lr);
      const reason: TrainState['reason'] = improved ? 'best' : config.checkpoint.save_best_only ? 'epoch' : 'saved';
      checkpoint = await save(state(e + 1, reason), improved);
      event({ event: 'epoch', ...record, checkpoint, ...(improved ? { best: true } : {}) });
      const vals = record.val_loss !== undefined ? ` - val_loss ${fmt(record.val_loss)} - val_accuracy ${fmt(record.val_accuracy)}` : '';
      const note = improved ? `${config.checkpoint.monitor} improved to ${fmt(tracker.best)}, saved ${checkpoint}` : `${config.checkpoint.monitor} did not improve from ${fmt(tracker.best)}`;
      const lrNote = lr !== record.lr ? ` (ReduceLROnPlateau: lr -> ${fmtLr(lr)})` : '';
      const input = inputFraction !== undefined ? `, input ${(100 * inputFraction).toFixed(1)}%` : '';
      log(`${label}: loss ${fmt(record.loss)} - accuracy ${fmt(record.accuracy)}${vals} - lr ${fmtLr(record.lr)} - ${formatDuration(record.seconds)} (${record.images_per_second.toFixed(0)} img/s${input}); ${note}${lrNote}`);
      await opts.onEpochEnd?.(record);
      if (e + 1 < config.epochs && opts.shouldStop?.()) {
        event({ event: 'interrupted', epoch: e + 1, checkpoint });
        log(`interrupted after epoch ${e + 1}: saved ${join(relative(process.cwd(), out) || '.', checkpoint)}; continue with --resume`);
        return { status: 'interrupted', backend, workers: engine.workers, out, history, epoch: e + 1, checkpoint, seconds: (Date.now() - t0) / 1000 };
      }
    }

    if (startEpoch >= config.epochs) log(`nothing to train: ${startEpoch} epoch${startEpoch === 1 ? '' : 's'} already done (--epochs sets the total to reach)`);
    // The end: the test set, the final model, the chart.
    const last = history[history.length - 1];
    let test: TrainResult['test'];
    if (last?.val_loss !== undefined && config.dataset.validation === 'test' && startEpoch < config.epochs) {
      test = { loss: last.val_loss, accuracy: last.val_accuracy!, count: data.test.count };
    } else if (data.test.count > 0) {
      const v = await evaluate(data.test);
      test = { loss: v.loss, accuracy: v.accuracy, count: v.count };
    }
    const epochsDone = Math.max(config.epochs, startEpoch);
    const files = modelDirFiles(await modelFiles(tf, model, meta(epochsDone, test ? { test_loss: test.loss, test_accuracy: test.accuracy } : undefined)));
    if (data.pixelMean) files['pixel_mean.bin'] = new Uint8Array(data.pixelMean.buffer, data.pixelMean.byteOffset, data.pixelMean.byteLength);
    writeDirAtomic(join(out, 'model'), files);
    writeFileAtomic(join(out, 'curves.svg'), curvesSvg(history, `${graph.name} on ${data.name}`));
    const seconds = (Date.now() - t0) / 1000;
    event({ event: 'end', epochs: epochsDone, ...(test ? { test_loss: test.loss, test_accuracy: test.accuracy, test_count: test.count } : {}), seconds });
    const shown = relative(process.cwd(), out) || '.';
    if (test) log(`test: loss ${fmt(test.loss)}, accuracy ${(100 * test.accuracy).toFixed(2)}% (${count(test.count)} images)`);
    log(`wrote ${join(shown, 'model')}/ (model.json, weights.bin), ${join(shown, 'metrics.jsonl')}, ${join(shown, 'curves.svg')}; checkpoints in ${join(shown, 'checkpoints')}/`);
    log(`time: ${formatDuration(seconds)} on ${backend}${engine.workers > 1 ? ` with ${engine.workers} workers` : ''}`);
    return { status: 'done', backend, workers: engine.workers, out, history, epoch: epochsDone, ...(test ? { test } : {}), ...(checkpoint ? { checkpoint } : {}), seconds };
  }
}
