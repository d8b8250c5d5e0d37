/**
 * What the main thread and the workers of data-parallel training say to each other, and the
 * layout of the shared weight and gradient buffers. All float data moves through
 * SharedArrayBuffers (shared, never copied by postMessage); messages carry only offsets,
 * counts, seeds and a weight version.
 */
import type { LossSpec } from '../losses.js';
import type { OutputCompile } from '../outputs.js';
import type { TypedGraph } from '../../types/ir.js';
import type { BackendName } from '../../backends/tfjs/backend.js';

/** One model weight (a LayerVariable) in the flat buffers, in `model.weights` order. */
export interface WeightEntry {
  /** The variable's name without the per-thread uniquifying suffix (LayerVariable.originalName). */
  name: string;
  shape: number[];
  /** In float32 elements. */
  offset: number;
  size: number;
  /** Trainable weights carry gradients; the others (BatchNorm moving statistics) carry their updated values. */
  trainable: boolean;
}

export interface Layout {
  entries: WeightEntry[];
  /** Floats in a weight (or gradient) buffer. */
  total: number;
  /** Model input shape without the batch dimension, the number of inputs (each reads the image) and of classes. */
  inputShape: number[];
  inputs: number;
  classes: number;
  /** Array datasets: every input fed its own array and every output its own target, packed side by side in a row. */
  packed?: Packed;
}

/** The rows of an array dataset: per sample, each input's values, then each output's target's. */
export interface Packed {
  inputs: { shape: number[]; int: boolean }[];
  /** Each output's target, per sample (the output's shape, or without its last axis for class numbers). */
  targets: number[][];
  /** Floats per sample of each output's prediction. */
  outputs: number[];
  /**
   * Per output, the number of classes when its target holds class numbers (sparse losses): fed
   * one-hot, since TensorFlow.js checks a target's shape against the output's for any loss but its own sparse one.
   */
  oneHot: (number | null)[];
  compile: OutputCompile[];
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
/** Floats per sample of a batch's x, y and of a prediction. */
export const xRowOf = (l: Layout) => (l.packed ? l.packed.inputs.reduce((a, i) => a + prod(i.shape), 0) : prod(l.inputShape));
export const yRowOf = (l: Layout) => (l.packed ? l.packed.targets.reduce((a, t) => a + prod(t), 0) : l.classes);
export const outRowOf = (l: Layout) => (l.packed ? l.packed.outputs.reduce((a, b) => a + b, 0) : l.classes);

/** How a worker builds its replica: from the compiled graph (as the trainer did), or from a saved topology (evaluate, predict). */
export type ModelSource =
  | { kind: 'graph'; graph: TypedGraph }
  | { kind: 'topology'; topology: unknown };

/** workerData of a replica. */
export interface WorkerInit {
  backend: BackendName;
  source: ModelSource;
  layout: Layout;
  /** The current weights, written by the main thread between steps (layout order). */
  weights: SharedArrayBuffer;
  /** This worker's output: gradients of trainable weights, updated values of the others. */
  grads: SharedArrayBuffer;
  index: number;
  /** The run's loss (training.loss); absent: categorical_crossentropy. */
  loss?: LossSpec;
}

export interface StepRequest {
  type: 'step';
  id: number;
  /** Weight version: the worker reloads the shared weights when it differs from the last it loaded. */
  version: number;
  x: SharedArrayBuffer;
  /** Float offsets of this shard's first row in x and y. */
  xOffset: number;
  y: SharedArrayBuffer;
  yOffset: number;
  n: number;
  /** Math.random seed for the shard (dropout); undefined keeps the worker's stream. */
  seed?: number;
}

export interface PredictRequest {
  type: 'predict';
  id: number;
  version: number;
  x: SharedArrayBuffer;
  xOffset: number;
  n: number;
  out: SharedArrayBuffer;
  outOffset: number;
}

export type Request = StepRequest | PredictRequest;
/** A request before the pool numbers it. */
export type RequestBody = Omit<StepRequest, 'id'> | Omit<PredictRequest, 'id'>;

export type Reply =
  | { type: 'ready'; backend: string }
  | { type: 'done'; id: number; loss?: number; accuracy?: number; values?: number[] }
  | { type: 'error'; id: number; message: string; stack?: string };
