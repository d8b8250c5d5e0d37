/**
 * What a run on the user's arrays needs beside the image path: each output's loss, weight and
 * metrics from the recipe (checked against the model's outputs), the arrays opened and checked
 * against the model, the batches (packed rows, src/train/data/arrays.ts) and the evaluation:
 * every output's loss and metrics computed as Keras defines them (src/train/losses.ts) from the
 * predictions, named as Keras names them.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import { idOfLayerName } from '../backends/tfjs/config.js';
import type { TrainingConfig } from './config.js';
import { gatherRows, loadArrayData, splitBatches, type ArrayData, type ArraySplit } from './data/arrays.js';
import type { Expected } from './data/npy.js';
import { lossRows, metricRows, auc, resolveMetric, METRIC_NAMES, type LossSpec } from './losses.js';
import type { OutputCompile } from './outputs.js';
import { weightPenalty } from './evaluate.js';
import { unpackRows } from './parallel/replica.js';
import type { Packed } from './parallel/protocol.js';

export class RecipeError extends Error {}

const lastDim = (t: TF.SymbolicTensor) => t.shape[t.shape.length - 1] ?? 1;

/** Each model output's loss (training.loss, one or by output id), weight (loss_weights) and metrics, in the model's output order. */
export function outputCompiles(model: TF.LayersModel, config: TrainingConfig): OutputCompile[] {
  const ids = model.outputNames.map(idOfLayerName);
  const known = (what: string, keys: string[]) => {
    for (const k of keys) if (!ids.includes(k)) throw new RecipeError(`training.${what} names '${k}', which is not an output of the model (outputs: ${ids.join(', ')})`);
  };
  known('loss', Object.keys(config.losses ?? {}));
  known('loss_weights', Object.keys(config.loss_weights ?? {}));
  known('metrics', Object.keys(config.output_metrics ?? {}));
  return ids.map((name, i) => {
    const loss: LossSpec | undefined = config.losses ? config.losses[name] : config.loss;
    if (!loss) throw new RecipeError(`training.loss gives no loss for output '${name}' (outputs: ${ids.join(', ')}); name one for every output`);
    const metrics = config.output_metrics ? (config.output_metrics[name] ?? []) : config.metrics;
    for (const m of metrics) if (!(METRIC_NAMES as readonly string[]).includes(m)) throw new RecipeError(`training.metrics: '${m}' is not a metric modelspec has (${METRIC_NAMES.join(', ')})`);
    return { name, loss, weight: config.loss_weights?.[name] ?? 1, metrics, width: lastDim(model.outputs[i]!) };
  });
}

/** What the model's inputs and outputs take, for checkArrays. */
function expected(model: TF.LayersModel, outs: readonly OutputCompile[]): { inputs: Expected[]; outputs: (Expected & { sparse: boolean })[] } {
  return {
    inputs: model.inputs.map((t, i) => ({ name: idOfLayerName(model.inputNames[i]!), role: 'input', shape: t.shape.slice(1), integer: t.dtype === 'int32' })),
    outputs: model.outputs.map((t, i) => ({ name: outs[i]!.name, role: 'output', shape: t.shape.slice(1), sparse: outs[i]!.loss.name === 'sparse_categorical_crossentropy' })),
  };
}

/** The run's arrays, opened, mapped to the model by name and checked. */
export function loadArrayRun(model: TF.LayersModel, config: TrainingConfig, outs: readonly OutputCompile[], limit: number | undefined): ArrayData {
  const a = config.dataset.arrays!;
  return loadArrayData({
    train: a.train,
    ...(a.validation !== undefined ? { validation: a.validation } : {}),
    ...(a.validation_split ? { validationSplit: a.validation_split } : {}),
    ...expected(model, outs),
    ...(limit !== undefined ? { limit } : {}),
  });
}

/** The packed-row layout the data-parallel engine and its replicas feed the model with. */
export function packedOf(data: ArrayData, outs: OutputCompile[]): Packed {
  return {
    inputs: data.inputs.map((f) => ({ shape: f.shape, int: f.int })),
    targets: data.targets.map((f) => f.shape),
    oneHot: outs.map((o) => (o.loss.name === 'sparse_categorical_crossentropy' ? o.width : null)),
    // A sparse target holds one class number per row of the output (a trailing axis of 1 or none).
    outputs: data.targets.map((f, i) => (outs[i]!.loss.name === 'sparse_categorical_crossentropy' ? f.size * outs[i]!.width : f.size)),
    compile: outs,
  };
}

/** Batches of shuffled training samples gathered into the engine's buffers. */
export class ArrayBatches {
  constructor(private readonly data: ArrayData, private readonly buffers: { x: Float32Array; y: Float32Array }) {}

  assemble(perm: Int32Array, _epoch: number, _batch: number, start: number, n: number): { x: Float32Array; y: Float32Array; n: number } {
    const { xRow, yRow } = this.data;
    gatherRows(this.data, this.data.train, perm, start, n, this.buffers.x, this.buffers.y);
    return { x: this.buffers.x.subarray(0, n * xRow), y: this.buffers.y.subarray(0, n * yRow), n };
  }
}

/** Predictions of n packed input rows: each output's values side by side (the engine's predict). */
export type PredictPacked = (x: Float32Array, n: number) => Promise<Float32Array>;

/**
 * Every output's loss and metrics over a split, named as Keras names them (`loss`, `out1_loss`,
 * `out1_accuracy`; one output: `loss`, `accuracy`): the total is the weighted sum of the
 * outputs' losses plus the weight penalties.
 */
export async function evaluateArrays(tf: Tf, model: TF.LayersModel, predict: PredictPacked, data: ArrayData, split: ArraySplit, outs: readonly OutputCompile[], packed: Packed, batch: number): Promise<Record<string, number>> {
  const sums = new Map<string, number>();
  const add = (k: string, v: number) => sums.set(k, (sums.get(k) ?? 0) + v);
  const aucData = outs.map(() => ({ y: [] as number[], p: [] as number[] }));
  const multi = outs.length > 1;
  for (const b of splitBatches(data, split, batch)) {
    const p = unpackRows(await predict(b.x, b.n), b.n, packed.outputs);
    const y = unpackRows(b.y, b.n, data.targets.map((t) => t.size));
    outs.forEach((o, i) => {
      add(`${o.name}_loss`, lossRows(o.loss, y[i]!, p[i]!, o.width) * b.n);
      for (const m of o.metrics) {
        if (m === 'auc') {
          for (const v of y[i]!) aucData[i]!.y.push(v);
          for (const v of p[i]!) aucData[i]!.p.push(v);
        } else {
          add(multi ? `${o.name}_${m}` : m, metricRows(resolveMetric(m, o.loss.name, o.width), y[i]!, p[i]!, o.width) * b.n);
        }
      }
    });
  }
  const n = split.count;
  const out: Record<string, number> = { loss: weightPenalty(tf, model) };
  for (const o of outs) out.loss! += o.weight * sums.get(`${o.name}_loss`)! / n;
  // Keras' order: the per-output losses (several outputs only), then each output's metrics.
  for (const [k, v] of sums) if (multi || !outs.some((o) => k === `${o.name}_loss`)) out[k] = v / n;
  outs.forEach((o, i) => {
    if (o.metrics.includes('auc')) out[multi ? `${o.name}_auc` : 'auc'] = auc(aucData[i]!.y, aucData[i]!.p);
  });
  return out;
}
