/**
 * Data-parallel training and inference over worker_threads (see engine.ts for the design), and
 * the API the throughput benchmark (bench/train-throughput.ts) is written against.
 */
import { availableParallelism } from 'node:os';
import type * as TF from '@tensorflow/tfjs';
import { compileFile } from '../../compile.js';
import { renderDiagnostics } from '../../diagnostics/render.js';
import { builtinRegistry } from '../../ops/index.js';
import { buildFromGraph } from '../../backends/tfjs/interpreter.js';
import { loadTf, type BackendName, type Tf } from '../../backends/tfjs/backend.js';
import { deriveSeed, mulberry32 } from '../rng.js';
import { makeOptimizer } from '../optimizer.js';
import { DataParallelEngine } from './engine.js';
import type { Packed } from './protocol.js';

export { DataParallelEngine, splitRows, type EngineOptions } from './engine.js';
export { WorkerPool, WorkerError } from './pool.js';
export type { Layout, ModelSource } from './protocol.js';

/**
 * Replicas (the main thread counted) when --workers is not given: $MODELSPEC_WORKERS when set;
 * else 2 on the wasm and cpu backends, which use one thread each, when the machine has two or
 * more cores; 1 on node, whose native TensorFlow already uses every core.
 */
export function defaultWorkers(backend: string): number {
  const env = Number(process.env.MODELSPEC_WORKERS);
  if (Number.isInteger(env) && env >= 1) return env;
  if (backend === 'node' || backend === 'tensorflow') return 1;
  return availableParallelism() >= 2 ? 2 : 1;
}

/**
 * An inference-only engine for a loaded model (evaluate, predict): `workers - 1` worker threads
 * rebuild it from its tfjs topology and read its weights from shared memory.
 */
export async function openInference(tf: Tf, model: TF.LayersModel, backend: string, workers: number, packed?: Packed): Promise<DataParallelEngine> {
  const b: BackendName = backend === 'tensorflow' ? 'node' : (backend as BackendName);
  return DataParallelEngine.open({ tf, model, backend: b, workers, source: { kind: 'topology', topology: model.toJSON(null, false) }, ...(packed ? { packed } : {}) });
}

export interface DataParallelOptions {
  spec: string;
  set?: string[];
  backend: 'wasm' | 'cpu' | 'node';
  workers: number;
  optimizer?: { name: 'adam' | 'sgd' | 'rmsprop'; learning_rate: number };
  seed?: number;
}

export interface DataParallel {
  readonly workers: number;
  readonly backend: string;
  /** x: n images NHWC flattened, y: n one-hot rows; returns the batch's mean loss and accuracy. */
  trainStep(x: Float32Array, y: Float32Array, n: number): Promise<{ loss: number; accuracy: number }>;
  /** returns n rows of class probabilities, flattened. */
  predict(x: Float32Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
  /** Beyond the benchmark's contract (tests): the averaged gradients of a batch without a step, layout order. */
  gradients(x: Float32Array, y: Float32Array, n: number): Promise<Float32Array>;
  /** Every weight's value, layout order. */
  weights(): Float32Array;
  /** The flat layout of the weights. */
  readonly layout: DataParallelEngine['layout'];
  /** Where the main thread's time went in data-parallel steps (see DataParallelEngine.stats). */
  readonly stats: DataParallelEngine['stats'];
}

/** Compile a spec, build its model (initialised from `seed`), and start `workers - 1` worker threads. */
export async function openDataParallel(o: DataParallelOptions): Promise<DataParallel> {
  const registry = builtinRegistry();
  const compiled = compileFile(o.spec, { set: o.set ?? [], registry });
  if (!compiled.ok || !compiled.graph) {
    throw new Error(`the spec has errors:\n${renderDiagnostics(compiled.diagnostics.filter((d) => d.severity === 'error'), compiled.sources, { cwd: process.cwd() })}`);
  }
  const graph = compiled.graph;
  const { tf, backend } = await loadTf(o.backend);
  const seed = o.seed ?? 0;
  const random = Math.random;
  Math.random = mulberry32(deriveSeed(seed, 3, 0, 0));
  let model: TF.LayersModel;
  try {
    model = buildFromGraph(tf, graph, registry);
  } finally {
    Math.random = random;
  }
  const optimizer = makeOptimizer(tf, o.optimizer ?? { name: 'adam', learning_rate: 1e-3 });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  let engine: DataParallelEngine;
  try {
    engine = await DataParallelEngine.open({ tf, model, optimizer, backend: backend as BackendName, workers: o.workers, source: { kind: 'graph', graph } });
  } catch (e) {
    model.dispose();
    optimizer.dispose();
    throw e;
  }
  let step = 0;
  let closed = false;
  return {
    workers: engine.workers,
    backend,
    layout: engine.layout,
    stats: engine.stats,
    trainStep: (x, y, n) => engine.trainStep(x, y, n, deriveSeed(seed, 5, step++)),
    predict: (x, n) => engine.predict(x, n),
    gradients: (x, y, n) => engine.gradients(x, y, n, deriveSeed(seed, 5, step)),
    weights: () => engine.weightValues(),
    close: async () => {
      if (closed) return;
      closed = true;
      await engine.close();
      model.dispose();
      optimizer.dispose();
    },
  };
}
