/**
 * A model trained on arrays put to use: `evaluateArraysModel` (every output's loss and metrics
 * on an .npz/.npy file, named as training named them) and `predictArrays` (every output's raw
 * values per sample, for JSON). The arrays are mapped to the model by name as in training
 * (src/train/data/arrays.ts); predict needs the inputs only.
 */
import { relative } from 'node:path';
import type { BackendName } from '../backends/tfjs/backend.js';
import { openTrainedModel } from './inference.js';

export interface ArrayInferenceOptions {
  backend?: BackendName;
  /** Replicas for data-parallel inference (default 1). */
  workers?: number;
  batchSize?: number;
  /** Only the first N samples. */
  maxExamples?: number;
  log?: (line: string) => void;
}

export interface ArrayEvaluation {
  model: string;
  data: string;
  count: number;
  /** loss, out1_loss, out1_accuracy... as training logged them. */
  values: Record<string, number>;
  seconds: number;
  backend: BackendName;
}

/** Open a model folder and its arrays; `withTargets`: the outputs' targets too (evaluate). */
async function openArrayRun(dir: string, file: string, o: ArrayInferenceOptions, withTargets: boolean) {
  const { ModelDirError } = await import('./model-io.js');
  const { loadArrayData } = await import('./data/arrays.js');
  const { idOfLayerName } = await import('../backends/tfjs/config.js');
  const { describeBackend } = await import('../backends/tfjs/backend.js');
  const log = o.log ?? (() => {});
  const opened = await openTrainedModel(dir, o.backend, (b) => log(`backend: ${describeBackend(b)}`));
  const { model, meta, found } = opened;
  try {
    const outs = meta?.arrays?.outputs;
    if (withTargets && !outs) throw new ModelDirError(`${found.dir}/model.json was not trained on arrays (it holds no per-output losses); evaluate it on its dataset without --data`);
    const inputs = model.inputs.map((t, i) => ({ name: idOfLayerName(model.inputNames[i]!), role: 'input' as const, shape: t.shape.slice(1), integer: t.dtype === 'int32' }));
    const outputs = withTargets ? model.outputs.map((t, i) => ({ name: outs![i]!.name, role: 'output' as const, shape: t.shape.slice(1), sparse: outs![i]!.loss.name === 'sparse_categorical_crossentropy' })) : [];
    const data = loadArrayData({ train: file, inputs, outputs, ...(o.maxExamples !== undefined ? { limit: o.maxExamples } : {}) });
    log(`model: ${relative(process.cwd(), found.dir) || found.dir} (${found.how}${meta?.epoch !== undefined ? `, ${meta.epoch} epoch${meta.epoch === 1 ? '' : 's'}` : ''}${meta?.spec ? `, from ${meta.spec}` : ''})`);
    return { ...opened, data, outs };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Every output's loss and metrics on the arrays of `file`, as training reported them. */
export async function evaluateArraysModel(dir: string, file: string, o: ArrayInferenceOptions = {}): Promise<ArrayEvaluation> {
  const { packedOf, evaluateArrays } = await import('./array-run.js');
  const { openInference } = await import('./parallel/index.js');
  const { tf, backend, model, found, data, outs } = await openArrayRun(dir, file, o, true);
  const packed = packedOf(data, outs!);
  const engine = await openInference(tf, model, backend, o.workers ?? 1, packed);
  try {
    const t0 = Date.now();
    const values = await evaluateArrays(tf, model, (x, n) => engine.predict(x, n), data, data.train, outs!, packed, o.batchSize ?? 256);
    return { model: found.dir, data: file, count: data.train.count, values, seconds: (Date.now() - t0) / 1000, backend };
  } finally {
    await engine.close();
    model.dispose();
  }
}

/** One sample's outputs, by output id: each the output's values nested as its shape. */
export interface ArrayPrediction {
  sample: number;
  outputs: Record<string, unknown>;
}

/** Nest a flat row as `shape` (number[] for one axis, number[][] for two...). */
function nest(row: Float32Array, shape: readonly number[]): unknown {
  if (shape.length <= 1) return Array.from(row);
  const per = row.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nest(row.subarray(i * per, (i + 1) * per), shape.slice(1)));
}

/** Every output's values for every sample of the input arrays in `file`. */
export async function predictArrays(dir: string, file: string, o: ArrayInferenceOptions = {}): Promise<ArrayPrediction[]> {
  const { splitBatches } = await import('./data/arrays.js');
  const { idOfLayerName } = await import('../backends/tfjs/config.js');
  const { openInference } = await import('./parallel/index.js');
  const { unpackRows } = await import('./parallel/replica.js');
  const { tf, backend, model, data } = await openArrayRun(dir, file, o, false);
  const shapes = model.outputs.map((t) => t.shape.slice(1).map((d) => d ?? 1));
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const names = model.outputNames.map(idOfLayerName);
  const packed = { inputs: data.inputs.map((f) => ({ shape: f.shape, int: f.int })), targets: [], outputs: sizes, oneHot: [], compile: [] };
  const engine = await openInference(tf, model, backend, o.workers ?? 1, packed);
  const out: ArrayPrediction[] = [];
  try {
    for (const b of splitBatches(data, data.train, o.batchSize ?? 256)) {
      const p = unpackRows(await engine.predict(b.x, b.n), b.n, sizes);
      for (let i = 0; i < b.n; i++) {
        out.push({ sample: b.start + i, outputs: Object.fromEntries(names.map((n, k) => [n, nest(p[k]!.subarray(i * sizes[k]!, (i + 1) * sizes[k]!), shapes[k]!)])) });
      }
    }
    return out;
  } finally {
    await engine.close();
    model.dispose();
  }
}
