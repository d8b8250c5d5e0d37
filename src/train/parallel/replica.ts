/**
 * One replica of the model, in the main thread or in a worker: loads the shared weights,
 * computes the loss, accuracy and gradients of a shard of a batch, and predicts.
 *
 * The gradients come from `model.trainOnBatch` itself, with an optimizer that records the
 * gradients instead of applying them: the loss (cross-entropy plus the weight penalties), the
 * accuracy, dropout in training mode and the BatchNorm moving-statistics update are exactly
 * those of the in-process path.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../../backends/tfjs/backend.js';
import { mulberry32 } from '../rng.js';
import { xRowOf, yRowOf, type Layout, type WeightEntry } from './protocol.js';

/** The parts of tfjs-layers' LayerVariable used here (its typings leave some out). */
interface LayerVariable {
  readonly originalName: string;
  readonly shape: (number | null)[];
  readonly trainable: boolean;
  read(): TF.Variable;
  write(v: TF.Tensor): unknown;
}

/** The flat layout of a model's weights (`model.weights` order). */
export function layoutOf(model: TF.LayersModel): Layout {
  const entries: WeightEntry[] = [];
  let offset = 0;
  for (const w of model.weights as unknown as LayerVariable[]) {
    const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    entries.push({ name: w.originalName, shape: w.shape.map((d) => d ?? 1), offset, size, trainable: w.trainable });
    offset += size;
  }
  const outShape = model.outputs[0]!.shape;
  return {
    entries,
    total: offset,
    inputShape: model.inputs[0]!.shape.slice(1) as number[],
    inputs: model.inputs.length,
    classes: outShape[outShape.length - 1]!,
  };
}

/** Why a model does not fit a layout, or undefined. */
export function layoutMismatch(model: TF.LayersModel, layout: Layout): string | undefined {
  const own = layoutOf(model);
  if (own.entries.length !== layout.entries.length) return `${own.entries.length} weights, expected ${layout.entries.length}`;
  for (let i = 0; i < own.entries.length; i++) {
    const a = own.entries[i]!, b = layout.entries[i]!;
    if (a.name !== b.name || a.size !== b.size || a.trainable !== b.trainable) return `weight ${i} is ${a.name} [${a.shape}], expected ${b.name} [${b.shape}]`;
  }
  return undefined;
}

export interface ShardResult {
  loss: number;
  accuracy: number;
  /** Every value trainOnBatch returned (loss first), for array datasets' named metrics. */
  values?: number[];
}

/** Cut n packed rows (each `row` floats) into one array per part (`sizes` floats per row each). */
export function unpackRows(rows: Float32Array, n: number, sizes: readonly number[]): Float32Array[] {
  const row = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length === 1) return [rows.slice(0, n * row)];
  const out = sizes.map((s) => new Float32Array(n * s));
  for (let i = 0; i < n; i++) {
    let col = i * row;
    sizes.forEach((s, k) => {
      out[k]!.set(rows.subarray(col, col + s), i * s);
      col += s;
    });
  }
  return out;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * The tensors of n samples: the model's inputs (an image fed to every input, or each input its
 * own array) and its targets (one-hot rows, or each output its own target).
 */
export function batchTensors(tf: Tf, layout: Layout, x: Float32Array, y: Float32Array | undefined, n: number, copy: boolean): { xs: TF.Tensor[]; ys: TF.Tensor[] } {
  const p = layout.packed;
  if (!p) {
    const size = prod(layout.inputShape);
    const xs = x.subarray(0, n * size);
    const xt = tf.tensor(copy ? xs.slice() : xs, [n, ...layout.inputShape]);
    const ys = y ? [tf.tensor2d(copy ? y.slice(0, n * layout.classes) : y.subarray(0, n * layout.classes), [n, layout.classes])] : [];
    return { xs: new Array<TF.Tensor>(layout.inputs).fill(xt), ys };
  }
  const xs = unpackRows(x, n, p.inputs.map((i) => prod(i.shape)))
    .map((a, k) => (p.inputs[k]!.int ? tf.tensor(Int32Array.from(a), [n, ...p.inputs[k]!.shape], 'int32') : tf.tensor(a, [n, ...p.inputs[k]!.shape])));
  const ys = y ? unpackRows(y, n, p.targets.map(prod)).map((a, k) => {
    const classes = p.oneHot[k];
    if (!classes) return tf.tensor(a, [n, ...p.targets[k]!]);
    // Class numbers, one-hot over the output's last axis (the sparse loss is computed as the categorical one on them).
    const sparseShape = p.targets[k]![p.targets[k]!.length - 1] === 1 && p.targets[k]!.length > 0 ? p.targets[k]!.slice(0, -1) : p.targets[k]!;
    return tf.tidy(() => tf.oneHot(tf.tensor(Int32Array.from(a), [n, ...sparseShape], 'int32'), classes).toFloat());
  }) : [];
  return { xs, ys };
}

/** trainOnBatch's values as a shard result. */
export const shardResult = (res: number | number[]): ShardResult => {
  const v = Array.isArray(res) ? res : [res];
  return { loss: v[0]!, accuracy: v[1] ?? NaN, values: v };
};

export class Replica {
  private readonly vars: LayerVariable[];
  private readonly byVarName = new Map<string, WeightEntry>();
  private readonly capture: TF.Optimizer;
  private sink: Float32Array | undefined;
  /** Tensors made from a shared buffer must own their data: the cpu backend keeps the array it is given. */
  private readonly copyInputs: boolean;

  constructor(private readonly tf: Tf, readonly model: TF.LayersModel, readonly layout: Layout) {
    this.vars = model.weights as unknown as LayerVariable[];
    this.vars.forEach((v, i) => this.byVarName.set(v.read().name, layout.entries[i]!));
    this.copyInputs = tf.getBackend() !== 'wasm';
    // An optimizer that records the gradients trainOnBatch computes instead of applying them.
    this.capture = tf.train.sgd(0);
    this.capture.applyGradients = (grads: TF.NamedTensorMap | { name: string; tensor: TF.Tensor }[]) => {
      const list = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
      const out = this.sink!;
      for (const { name, tensor } of list) {
        const e = this.byVarName.get(name);
        if (!e) throw new Error(`data-parallel: a gradient for an unknown variable ${name}`);
        if (tensor) out.set(tensor.dataSync() as Float32Array, e.offset);
        else out.fill(0, e.offset, e.offset + e.size);
      }
    };
  }

  /** Set every weight from a buffer in layout order. */
  loadWeights(src: Float32Array): void {
    const tf = this.tf;
    tf.tidy(() => {
      this.layout.entries.forEach((e, i) => {
        this.vars[i]!.write(tf.tensor(src.slice(e.offset, e.offset + e.size), e.shape));
      });
    });
  }

  /** Read every weight into a buffer in layout order. */
  readWeights(dst: Float32Array, only?: 'non-trainable'): void {
    this.layout.entries.forEach((e, i) => {
      if (only && e.trainable) return;
      dst.set(this.vars[i]!.read().dataSync() as Float32Array, e.offset);
    });
  }

  /** Set the non-trainable weights (BatchNorm moving statistics) from a buffer in layout order. */
  loadNonTrainable(src: Float32Array): void {
    const tf = this.tf;
    tf.tidy(() => {
      this.layout.entries.forEach((e, i) => {
        if (!e.trainable) this.vars[i]!.write(tf.tensor(src.slice(e.offset, e.offset + e.size), e.shape));
      });
    });
  }

  /** The variables trainOnBatch updates, in its order, with the names an optimizer knows them by. */
  trainable(): { name: string; entry: WeightEntry }[] {
    const m = this.model as unknown as { collectedTrainableWeights?: LayerVariable[] };
    const list = m.collectedTrainableWeights ?? (this.model.trainableWeights as unknown as LayerVariable[]);
    return list.map((v) => ({ name: v.read().name, entry: this.byVarName.get(v.read().name)! }));
  }

  /**
   * Loss, accuracy and gradients of n samples (x: n rows of the input, y: n one-hot rows). Writes the
   * gradients of the trainable weights and the updated non-trainable weights into `out` (layout
   * order); the model's trainable weights are unchanged, its non-trainable ones updated.
   */
  async gradStep(x: Float32Array, y: Float32Array, n: number, out: Float32Array, seed?: number): Promise<ShardResult> {
    const tf = this.tf;
    const { xs, ys } = batchTensors(tf, this.layout, x, y, n, this.copyInputs);
    const model = this.model;
    const prev = model.optimizer;
    const random = Math.random;
    model.optimizer = this.capture;
    this.sink = out;
    if (seed !== undefined) Math.random = mulberry32(seed);
    let res: number | number[];
    try {
      res = await model.trainOnBatch(xs.length === 1 ? xs[0]! : xs, ys.length === 1 ? ys[0]! : ys);
    } finally {
      Math.random = random;
      if (prev) model.optimizer = prev;
      this.sink = undefined;
      tf.dispose([...new Set(xs), ...ys]);
    }
    this.readWeights(out, 'non-trainable');
    return shardResult(res);
  }

  /** Class probabilities of n samples into `out` (n * classes), or each output's values side by side (array datasets). */
  predict(x: Float32Array, n: number, out: Float32Array): void {
    const tf = this.tf;
    const { xs } = batchTensors(tf, this.layout, x, undefined, n, this.copyInputs);
    try {
      tf.tidy(() => {
        const p = this.model.predict(xs.length === 1 ? xs[0]! : xs, { batchSize: n });
        const outs = (Array.isArray(p) ? p : [p]).map((t) => t.dataSync() as Float32Array);
        if (outs.length === 1) {
          out.set(outs[0]!);
          return;
        }
        const sizes = outs.map((o) => o.length / Math.max(1, n));
        const row = sizes.reduce((a, b) => a + b, 0);
        for (let i = 0; i < n; i++) {
          let col = i * row;
          outs.forEach((o, k) => {
            out.set(o.subarray(i * sizes[k]!, (i + 1) * sizes[k]!), col);
            col += sizes[k]!;
          });
        }
      });
    } finally {
      tf.dispose([...new Set(xs)]);
    }
  }

  dispose(): void {
    this.capture.dispose();
  }
}
