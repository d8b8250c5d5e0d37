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
import type { Layout, WeightEntry } from './protocol.js';

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
}

export class Replica {
  private readonly vars: LayerVariable[];
  private readonly byVarName = new Map<string, WeightEntry>();
  private readonly capture: TF.Optimizer;
  private sink: Float32Array | undefined;
  private readonly rowSize: number;
  /** Tensors made from a shared buffer must own their data: the cpu backend keeps the array it is given. */
  private readonly copyInputs: boolean;

  constructor(private readonly tf: Tf, readonly model: TF.LayersModel, readonly layout: Layout) {
    this.vars = model.weights as unknown as LayerVariable[];
    this.vars.forEach((v, i) => this.byVarName.set(v.read().name, layout.entries[i]!));
    this.rowSize = layout.inputShape.reduce((a, b) => a * b, 1);
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

  private own(a: Float32Array): Float32Array {
    return this.copyInputs ? a.slice() : a;
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
    const { inputShape, classes, inputs } = this.layout;
    const xt = tf.tensor(this.own(x.subarray(0, n * this.rowSize)), [n, ...inputShape]);
    const yt = tf.tensor2d(this.own(y.subarray(0, n * classes)), [n, classes]);
    const model = this.model;
    const prev = model.optimizer;
    const random = Math.random;
    model.optimizer = this.capture;
    this.sink = out;
    if (seed !== undefined) Math.random = mulberry32(seed);
    let res: number | number[];
    try {
      res = await model.trainOnBatch(inputs === 1 ? xt : new Array<TF.Tensor>(inputs).fill(xt), yt);
    } finally {
      Math.random = random;
      if (prev) model.optimizer = prev;
      this.sink = undefined;
      tf.dispose([xt, yt]);
    }
    this.readWeights(out, 'non-trainable');
    const [loss, accuracy] = res as number[];
    return { loss: loss!, accuracy: accuracy! };
  }

  /** Class probabilities of n samples into `out` (n * classes). */
  predict(x: Float32Array, n: number, out: Float32Array): void {
    const tf = this.tf;
    const { inputShape, inputs } = this.layout;
    tf.tidy(() => {
      const t = tf.tensor(this.own(x.subarray(0, n * this.rowSize)), [n, ...inputShape]);
      const p = this.model.predict(inputs === 1 ? t : new Array<TF.Tensor>(inputs).fill(t), { batchSize: n }) as TF.Tensor;
      out.set(p.dataSync() as Float32Array);
    });
  }

  dispose(): void {
    this.capture.dispose();
  }
}
