/**
 * Training checkpoints: a folder under <out>/checkpoints/ with the model (model.json +
 * weights.bin), the optimizer's state (optimizer.json + optimizer.bin: its iteration count and
 * moment estimates), the training state (state.json: epoch, metrics, history, learning rate,
 * callback state, recipe) and, when used, the training set's per-pixel mean. Each folder is
 * written under a temporary name and renamed into place; then <out>/last.json (what --resume
 * reads) and, for a new best, <out>/best.json are replaced atomically. A run killed at any
 * moment leaves last.json naming a complete checkpoint.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { MAX_DATA_BYTES, MAX_JSON_BYTES, readFileBounded, readTextBounded } from '../io/read.js';
import { join, relative } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import { writeFileAtomic } from '../io/atomic.js';
import { FileProblem, fileProblem, insideFolder } from '../io/fs-problems.js';
import type { TrainingConfig } from './config.js';
import type { PlateauState } from './callbacks.js';
import { arrayBufferOf, modelDirFiles, readModelDir, writeDirAtomic, type ModelFiles } from './model-io.js';

export interface EpochRecord {
  /** 1-based, as Keras prints it. */
  epoch: number;
  loss: number;
  accuracy: number;
  val_loss?: number;
  val_accuracy?: number;
  lr: number;
  seconds: number;
  images_per_second: number;
  /** Array datasets: every value by its Keras name (`out1_loss`, `val_out1_accuracy`). */
  [metric: string]: number | undefined;
}

export interface TrainState {
  format: 'modelspec-checkpoint';
  version: 1;
  /** The spec, as given on the command line, and its absolute path. */
  spec: string;
  specPath: string;
  set: string[];
  config: TrainingConfig;
  limit?: number;
  /** The dataset folder given with --data-dir (absolute), used again by --resume. */
  dataDir?: string;
  /** Epochs completed. */
  epoch: number;
  /** Progress inside epoch `epoch + 1` when the run was interrupted mid-epoch. */
  partial?: { batch: number; seen: number; lossSum: number; accSum: number; seconds: number; /** Array datasets: every step value's running sum. */ sums?: number[] };
  lr: number;
  plateau?: PlateauState;
  /** The best monitored value so far (checkpoint.monitor). */
  best?: number;
  history: EpochRecord[];
  /** best: a new best epoch; saved: an epoch kept because save_best_only is off; epoch: state for resuming only. */
  reason: 'best' | 'saved' | 'epoch' | 'interrupted';
  savedAt: string;
}

export interface Pointer {
  checkpoint: string;
  epoch: number;
  reason: TrainState['reason'];
  metrics?: Partial<EpochRecord>;
}

/** JSON has no Infinity: callback states start at ±Infinity, so encode them. */
const encodeNumbers = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { nonFinite: String(v) } : v);
const decodeNumbers = (_k: string, v: unknown) =>
  v !== null && typeof v === 'object' && 'nonFinite' in (v as object) && Object.keys(v as object).length === 1 ? Number((v as { nonFinite: string }).nonFinite) : v;

export async function optimizerFiles(tf: Tf, optimizer: TF.Optimizer): Promise<{ json: string; bin: Uint8Array }> {
  const weights = await optimizer.getWeights();
  try {
    const { data, specs } = await tf.io.encodeWeights(weights);
    const bytes = new Uint8Array(Array.isArray(data) ? await new Blob(data).arrayBuffer() : data);
    return { json: JSON.stringify({ class: optimizer.getClassName(), weights: specs }) + '\n', bin: bytes };
  } finally {
    // getWeights makes a fresh scalar for the iteration count; the rest are the optimizer's own variables.
    for (const w of weights) if (w.name === 'iter') w.tensor.dispose();
  }
}

export async function restoreOptimizer(tf: Tf, optimizer: TF.Optimizer, dir: string): Promise<void> {
  const meta = JSON.parse(readTextBounded(join(dir, 'optimizer.json'), MAX_JSON_BYTES)) as { class: string; weights: TF.io.WeightsManifestEntry[] };
  if (meta.class !== optimizer.getClassName()) throw new Error(`the checkpoint's optimizer is ${meta.class}, this run's is ${optimizer.getClassName()}`);
  const named = tf.io.decodeWeights(arrayBufferOf(readFileBounded(join(dir, 'optimizer.bin'), MAX_DATA_BYTES)), meta.weights);
  const list = meta.weights.map((w) => ({ name: w.name, tensor: named[w.name]! }));
  try {
    await optimizer.setWeights(list);
  } finally {
    tf.dispose(Object.values(named));
  }
}

export interface CheckpointParts {
  model: ModelFiles;
  optimizer: { json: string; bin: Uint8Array };
  state: TrainState;
  pixelMean?: Float32Array;
}

export const checkpointName = (state: TrainState): string => {
  const e = String(state.partial ? state.epoch + 1 : state.epoch).padStart(3, '0');
  if (state.reason === 'best' || state.reason === 'saved') return `epoch-${e}`;
  if (state.reason === 'interrupted') return state.partial ? `interrupted-epoch-${e}-batch-${String(state.partial.batch).padStart(5, '0')}` : `interrupted-epoch-${e}`;
  return `state-epoch-${e}`;
};

/** Write a checkpoint folder and point last.json (and best.json for a new best) at it; remove superseded non-best folders. */
export function saveCheckpoint(out: string, parts: CheckpointParts, opts: { best: boolean }): string {
  const name = checkpointName(parts.state);
  const rel = `checkpoints/${name}`;
  const files: Record<string, string | Uint8Array> = {
    ...modelDirFiles(parts.model),
    'optimizer.json': parts.optimizer.json,
    'optimizer.bin': parts.optimizer.bin,
    'state.json': JSON.stringify(parts.state, encodeNumbers, 1) + '\n',
  };
  if (parts.pixelMean) files['pixel_mean.bin'] = new Uint8Array(parts.pixelMean.buffer, parts.pixelMean.byteOffset, parts.pixelMean.byteLength);
  writeDirAtomic(join(out, rel), files);
  const last = parts.state.history[parts.state.history.length - 1];
  const pointer: Pointer = { checkpoint: rel, epoch: parts.state.epoch, reason: parts.state.reason, ...(last ? { metrics: last } : {}) };
  writeFileAtomic(join(out, 'last.json'), JSON.stringify(pointer, null, 1) + '\n');
  if (opts.best) writeFileAtomic(join(out, 'best.json'), JSON.stringify(pointer, null, 1) + '\n');
  // State and interruption folders are only for resuming: keep the one last.json names.
  const dir = join(out, 'checkpoints');
  for (const f of readdirSync(dir)) {
    if ((f.startsWith('state-') || f.startsWith('interrupted-') || f.startsWith('.')) && f !== name) rmSync(join(dir, f), { recursive: true, force: true });
  }
  return rel;
}

export function readPointer(out: string, which: 'last' | 'best'): Pointer | undefined {
  const p = join(out, `${which}.json`);
  if (!existsSync(p)) return undefined;
  let ptr: Pointer;
  try {
    ptr = JSON.parse(readTextBounded(p, MAX_JSON_BYTES)) as Pointer;
  } catch (e) {
    throw fileProblem(e, 'read', p) ?? new FileProblem(`${p} is not valid JSON (${(e as Error).message}); the run folder is damaged: start over with --force`, p);
  }
  if (ptr === null || typeof ptr !== 'object') throw new FileProblem(`${p} does not name a checkpoint; the run folder is damaged: start over with --force`, p);
  return ptr;
}

/** The checkpoint folder a pointer names: inside `out/checkpoints/`, or refused (a FileProblem). */
export function checkpointDir(out: string, ptr: Pointer, which: 'last' | 'best' = 'last'): string {
  const source = join(out, `${which}.json`);
  const dir = insideFolder(out, ptr.checkpoint, source, 'a checkpoint');
  insideFolder(join(out, 'checkpoints'), relative(join(out, 'checkpoints'), dir), source, 'a checkpoint');
  return dir;
}

export interface LoadedCheckpoint {
  dir: string;
  state: TrainState;
  model: ModelFiles;
  pixelMean?: Float32Array;
}

export function readCheckpoint(dir: string): LoadedCheckpoint {
  const model = readModelDir(dir);
  const state = JSON.parse(readTextBounded(join(dir, 'state.json'), MAX_JSON_BYTES), decodeNumbers) as TrainState;
  const out: LoadedCheckpoint = { dir, state, model };
  const meanPath = insideFolder(dir, 'pixel_mean.bin', join(dir, 'state.json'), 'the pixel mean');
  if (existsSync(meanPath)) out.pixelMean = readPixelMean(meanPath);
  return out;
}

export function readPixelMean(path: string): Float32Array {
  const b = readFileBounded(path, MAX_DATA_BYTES);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
