/**
 * Data-parallel training and inference over worker threads, on the main thread's side.
 *
 * The main thread holds the model of record and the one optimizer, and is itself replica 0;
 * W - 1 workers hold replicas. A training step splits the batch into W contiguous shards; every
 * replica computes the loss, accuracy and gradients of its shard for the same weights (and, in
 * training mode, its shard's BatchNorm statistics); the main thread averages the gradients
 * weighted by shard size (for a model without batch statistics, the full batch's gradient),
 * applies ONE optimizer step, averages the updated BatchNorm moving statistics the same way,
 * and writes the new weights into a SharedArrayBuffer every worker reloads before its next
 * request. Checkpoints, the optimizer state, resume and evaluation see only the main thread's
 * model and optimizer, as with one worker.
 *
 * Batches, gradients and predictions move through SharedArrayBuffers; messages carry offsets.
 * With workers: 1 nothing is started and trainStep is model.trainOnBatch, the in-process path.
 */
import type * as TF from '@tensorflow/tfjs';
import type { BackendName, Tf } from '../../backends/tfjs/backend.js';
import { deriveSeed } from '../rng.js';
import type { LossSpec } from '../losses.js';
import { WorkerPool } from './pool.js';
import { outRowOf, xRowOf, yRowOf, type Layout, type ModelSource, type Packed } from './protocol.js';
import { batchTensors, layoutOf, Replica, shardResult, type ShardResult } from './replica.js';

export interface EngineOptions {
  tf: Tf;
  /** The model of record (compiled with `optimizer` for training). */
  model: TF.LayersModel;
  /** The optimizer that applies the averaged gradients (training only). */
  optimizer?: TF.Optimizer;
  backend: BackendName;
  /** Replicas, the main thread included: 1 = in-process, no threads. */
  workers: number;
  /** How workers build their replica. */
  source: ModelSource;
  /** The run's loss, for the workers' replicas (the main thread's model is compiled with it already). */
  loss?: LossSpec;
  /** Array datasets: how a batch's rows are packed, and each output's loss and metrics. */
  packed?: Packed;
}

interface Shard {
  start: number;
  n: number;
}

/** n rows in `parts` contiguous shards as equal as can be (the first ones one row larger); empty ones left out. */
export function splitRows(n: number, parts: number): Shard[] {
  const out: Shard[] = [];
  const base = Math.floor(n / parts), extra = n % parts;
  let start = 0;
  for (let k = 0; k < parts; k++) {
    const m = base + (k < extra ? 1 : 0);
    out.push({ start, n: m });
    start += m;
  }
  return out;
}

/** A Float32Array over shared memory that grows on demand. */
class SharedRows {
  array = new Float32Array(new SharedArrayBuffer(0));
  ensure(floats: number): Float32Array {
    if (this.array.length < floats) this.array = new Float32Array(new SharedArrayBuffer(floats * 4));
    return this.array;
  }
}

const isShared = (a: Float32Array) => typeof SharedArrayBuffer !== 'undefined' && a.buffer instanceof SharedArrayBuffer;

export class DataParallelEngine {
  private readonly stagingX = new SharedRows();
  private readonly stagingY = new SharedRows();
  private readonly stagingOut = new SharedRows();
  private readonly mainOut: Float32Array;
  private readonly avg: Float32Array;
  private version = 0;
  private closed = false;
  /**
   * Where the main thread's time goes in data-parallel steps (milliseconds, summed): its own shard,
   * waiting for the workers after it, and the serial part (averaging, the optimizer step, publishing the weights).
   */
  readonly stats = { steps: 0, shardMs: 0, waitMs: 0, serialMs: 0 };
  private readonly rowSize: number;
  private readonly yRow: number;
  private readonly outRow: number;

  private constructor(
    private readonly o: EngineOptions,
    readonly layout: Layout,
    private readonly replica: Replica,
    private readonly pool: WorkerPool | undefined,
    private readonly weights: Float32Array,
    private readonly workerOut: Float32Array[],
  ) {
    this.mainOut = new Float32Array(layout.total);
    this.avg = new Float32Array(layout.total);
    this.rowSize = xRowOf(layout);
    this.yRow = yRowOf(layout);
    this.outRow = outRowOf(layout);
  }

  /** Replicas, the main thread included. */
  get workers(): number {
    return (this.pool?.size ?? 0) + 1;
  }

  get backend(): BackendName {
    return this.o.backend;
  }

  static async open(o: EngineOptions): Promise<DataParallelEngine> {
    const layout = { ...layoutOf(o.model), ...(o.packed ? { packed: o.packed } : {}) };
    const replica = new Replica(o.tf, o.model, layout);
    const W = Math.max(1, Math.floor(o.workers));
    if (W === 1) return new DataParallelEngine(o, layout, replica, undefined, new Float32Array(0), []);
    const weights = new Float32Array(new SharedArrayBuffer(layout.total * 4));
    replica.readWeights(weights);
    const grads = Array.from({ length: W - 1 }, () => new SharedArrayBuffer(layout.total * 4));
    let pool: WorkerPool;
    try {
      pool = await WorkerPool.open(grads.map((g, i) => ({ backend: o.backend, source: o.source, layout, weights: weights.buffer as SharedArrayBuffer, grads: g, index: i + 1, ...(o.loss ? { loss: o.loss } : {}) })));
    } catch (e) {
      replica.dispose();
      throw e;
    }
    return new DataParallelEngine(o, layout, replica, pool, weights, grads.map((g) => new Float32Array(g)));
  }

  /**
   * The main thread's weights changed outside a step (a checkpoint loaded): copy them to the
   * shared buffer, so every worker reloads them before its next request.
   */
  publishWeights(): void {
    if (!this.pool) return;
    this.replica.readWeights(this.weights);
    this.version++;
  }

  /** Buffers for `rows` samples that the workers read without a copy (shared memory when there are workers). */
  batchBuffers(rows: number): { x: Float32Array; y: Float32Array } {
    const make = (floats: number) => (this.pool ? new Float32Array(new SharedArrayBuffer(floats * 4)) : new Float32Array(floats));
    return { x: make(rows * this.rowSize), y: make(rows * this.yRow) };
  }

  private shared(a: Float32Array, floats: number, staging: SharedRows): { buf: SharedArrayBuffer; offset: number } {
    if (isShared(a)) return { buf: a.buffer as SharedArrayBuffer, offset: a.byteOffset / 4 };
    const s = staging.ensure(floats);
    s.set(a.subarray(0, floats));
    return { buf: s.buffer as SharedArrayBuffer, offset: 0 };
  }

  /**
   * Every replica's loss, accuracy and gradients for its shard: their average (weights by shard size)
   * into this.avg (gradients of trainable weights, updated values of the others), and the batch's loss and accuracy.
   */
  private async shardedGradients(x: Float32Array, y: Float32Array, n: number, seed: number): Promise<ShardResult> {
    const pool = this.pool!;
    const classes = this.yRow;
    const X = this.shared(x, n * this.rowSize, this.stagingX);
    const Y = this.shared(y, n * classes, this.stagingY);
    const shards = splitRows(n, this.workers);
    const replies = shards.slice(1).map((s, j) =>
      s.n === 0 ? undefined : pool.request(j, {
        type: 'step', version: this.version, x: X.buf, xOffset: X.offset + s.start * this.rowSize, y: Y.buf, yOffset: Y.offset + s.start * classes, n: s.n, seed: deriveSeed(seed, j + 1),
      }));
    let mainResult: ShardResult | undefined;
    const t0 = performance.now();
    let t1 = t0;
    try {
      const s0 = shards[0]!;
      if (s0.n > 0) mainResult = await this.replica.gradStep(x.subarray(0, s0.n * this.rowSize), y.subarray(0, s0.n * classes), s0.n, this.mainOut, deriveSeed(seed, 0));
      t1 = performance.now();
    } finally {
      // Whatever happens here, wait for the workers before the buffers are touched again.
      await Promise.allSettled(replies);
    }
    this.stats.steps++;
    this.stats.shardMs += t1 - t0;
    this.stats.waitMs += performance.now() - t1;
    const results: (ShardResult | undefined)[] = [mainResult];
    for (const r of replies) {
      const d = r ? await r : undefined;
      results.push(d ? { loss: d.loss!, accuracy: d.accuracy!, ...(d.values ? { values: d.values } : {}) } : undefined);
    }
    const outs = [this.mainOut, ...this.workerOut];
    const avg = this.avg;
    let loss = 0, accuracy = 0, first = true;
    const values = results.find((r) => r?.values)?.values?.map(() => 0);
    shards.forEach((s, k) => {
      if (s.n === 0) return;
      const w = s.n / n;
      const g = outs[k]!;
      const len = avg.length;
      if (first) for (let i = 0; i < len; i++) avg[i] = w * g[i]!;
      else for (let i = 0; i < len; i++) avg[i]! += w * g[i]!;
      first = false;
      loss += w * results[k]!.loss;
      accuracy += w * results[k]!.accuracy;
      results[k]!.values?.forEach((v, i) => (values![i]! += w * v));
    });
    return { loss, accuracy, ...(values ? { values } : {}) };
  }

  /**
   * One training step on n samples (x: n input rows, y: n one-hot rows): the batch's mean loss and
   * accuracy. `seed` seeds each shard's dropout (replica k: deriveSeed(seed, k)); with one
   * worker the run's own Math.random stream is used, as before data-parallel training existed.
   */
  async trainStep(x: Float32Array, y: Float32Array, n: number, seed = 0): Promise<ShardResult> {
    this.assertOpen();
    const { tf, model, optimizer } = this.o;
    if (!optimizer) throw new Error('data-parallel: this engine has no optimizer (inference only)');
    if (!this.pool) {
      const { xs, ys } = batchTensors(tf, this.layout, x, y, n, false);
      try {
        return shardResult(await model.trainOnBatch(xs.length === 1 ? xs[0]! : xs, ys.length === 1 ? ys[0]! : ys));
      } finally {
        tf.dispose([...new Set(xs), ...ys]);
      }
    }
    const t0 = performance.now();
    const before = this.stats.shardMs + this.stats.waitMs;
    const r = await this.shardedGradients(x, y, n, seed);
    const avg = this.avg;
    const grads = this.replica.trainable().map(({ name, entry }) => ({ name, tensor: tf.tensor(avg.slice(entry.offset, entry.offset + entry.size), entry.shape) }));
    try {
      optimizer.applyGradients(grads);
    } finally {
      tf.dispose(grads.map((g) => g.tensor));
    }
    this.replica.loadNonTrainable(avg);
    this.replica.readWeights(this.weights);
    this.version++;
    this.stats.serialMs += performance.now() - t0 - (this.stats.shardMs + this.stats.waitMs - before);
    return r;
  }

  /**
   * The averaged gradients of a batch, in layout order (trainable weights: gradients; the others:
   * their updated values), without a step: the model is left as it was. For tests.
   */
  async gradients(x: Float32Array, y: Float32Array, n: number, seed = 0): Promise<Float32Array> {
    this.assertOpen();
    const saved = new Float32Array(this.layout.total);
    this.replica.readWeights(saved, 'non-trainable');
    try {
      if (!this.pool) {
        await this.replica.gradStep(x, y, n, this.mainOut, seed);
        return this.mainOut.slice();
      }
      await this.shardedGradients(x, y, n, seed);
      return this.avg.slice();
    } finally {
      this.replica.loadNonTrainable(saved);
    }
  }

  /** Class probabilities of n samples (n * classes, row by row), the rows shared out over the replicas. */
  async predict(x: Float32Array, n: number): Promise<Float32Array> {
    this.assertOpen();
    const classes = this.outRow;
    if (!this.pool || n < 2 * this.workers) {
      const out = new Float32Array(n * classes);
      if (n > 0) this.replica.predict(x, n, out);
      return out;
    }
    const pool = this.pool;
    const X = this.shared(x, n * this.rowSize, this.stagingX);
    const out = this.stagingOut.ensure(n * classes);
    const shards = splitRows(n, this.workers);
    const replies = shards.slice(1).map((s, j) =>
      pool.request(j, { type: 'predict', version: this.version, x: X.buf, xOffset: X.offset + s.start * this.rowSize, n: s.n, out: out.buffer as SharedArrayBuffer, outOffset: s.start * classes }));
    try {
      const s0 = shards[0]!;
      this.replica.predict(x.subarray(0, s0.n * this.rowSize), s0.n, out.subarray(0, s0.n * classes));
    } finally {
      await Promise.allSettled(replies);
    }
    await Promise.all(replies);
    return out.slice(0, n * classes);
  }

  /** Every weight's current value (layout order), for tests. */
  weightValues(): Float32Array {
    const out = new Float32Array(this.layout.total);
    this.replica.readWeights(out);
    return out;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('data-parallel: the engine is closed');
  }

  /** Terminate the workers and release what the engine made (not the model or the optimizer). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.replica.dispose();
    await this.pool?.close();
  }
}
