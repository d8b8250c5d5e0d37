/**
 * The user's own arrays as a training dataset (`training.dataset: {arrays: ...}`, `train --data`),
 * as Keras' `model.fit(x, y)` takes them: .npz archives or .npy files (src/train/data/npy.ts),
 * mapped to the model's inputs and outputs BY NAME:
 *   - the array named as an input's id feeds that input, the array named as an output's id is
 *     that output's target (np.savez(f, left=..., right=..., same=...));
 *   - a model with one input may name its array `x`, a model with one output `y` (Keras' names);
 *   - per-name .npy files: `{left: l.npy, right: r.npy, same: s.npy}`, or one .npy file named
 *     after the input/output (x.npy).
 * Shapes and dtypes are checked against the model before anything trains (checkArrays).
 *
 * A split is kept in memory as packed rows (one sample's inputs side by side, then its
 * targets, float32) when that fits the memory budget; a larger one stays on disk and each batch
 * reads its rows with positioned reads, so memory stays within the budget whatever the file size.
 */
import { ARRAY_BUDGET_BYTES, checkArrays, openArrays, readRows, rowSize, type Expected, type NpyArray } from './npy.js';
import { DataError } from './idx.js';

/** Where a split's arrays are: one .npz or .npy file, or one .npy file per input/output name. */
export type ArrayFiles = string | Record<string, string>;

/** One model input or output as the arrays feed it: its sample shape (as stored) and floats per sample. */
export interface FeedShape {
  name: string;
  shape: number[];
  size: number;
  /** An integer input (token ids for an embedding): fed as int32. */
  int: boolean;
}

export interface ArraySplit {
  count: number;
  /** Rows [start, start + count) of the arrays. */
  start: number;
  inputs: NpyArray[];
  targets: NpyArray[];
  /** The packed rows (count * xRow, count * yRow), when the split fits the budget. */
  memory?: { x: Float32Array; y: Float32Array };
}

export interface ArrayData {
  kind: 'arrays';
  /** The files, for messages and the log. */
  name: string;
  inputs: FeedShape[];
  targets: FeedShape[];
  xRow: number;
  yRow: number;
  train: ArraySplit;
  validation?: ArraySplit;
}

export const isArrayData = (d: unknown): d is ArrayData => (d as { kind?: unknown } | undefined)?.kind === 'arrays';

function openFiles(files: ArrayFiles, budget: number): Record<string, NpyArray> {
  if (typeof files === 'string') return openArrays(files, budget);
  const out: Record<string, NpyArray> = {};
  for (const [name, file] of Object.entries(files)) {
    const opened = openArrays(file, budget);
    const arrays = Object.values(opened);
    if (arrays.length !== 1) throw new DataError(`${file} (for '${name}') holds ${arrays.length} arrays; give one .npy file per name`);
    out[name] = arrays[0]!;
  }
  return out;
}

/** The arrays under the model's names: an input's or output's own name first, then `x` / `y` for a model with one input / output. */
function byModelNames(arrays: Record<string, NpyArray>, inputs: readonly Expected[], outputs: readonly Expected[]): Record<string, NpyArray> {
  const out: Record<string, NpyArray> = { ...arrays };
  const take = (list: readonly Expected[], alias: string) => {
    for (const e of list) {
      const own = Object.hasOwn(arrays, e.name) ? arrays[e.name] : undefined;
      const a = own ?? (list.length === 1 && Object.hasOwn(arrays, alias) ? arrays[alias] : undefined);
      if (a) out[e.name] = a;
    }
  };
  take(inputs, 'x');
  take(outputs, 'y');
  return out;
}

function packInto(split: ArraySplit, rows: ArrayLike<number>, from: number, n: number, x: Float32Array, y: Float32Array, xRow: number, yRow: number): void {
  const fill = (arrays: NpyArray[], out: Float32Array, row: number) => {
    let col = 0;
    for (const a of arrays) {
      const per = rowSize(a);
      for (let i = 0; i < n; i++) {
        const r = split.start + rows[from + i]!;
        readRows(a, r, 1, out.subarray(i * row + col, i * row + col + per));
      }
      col += per;
    }
  };
  fill(split.inputs, x, xRow);
  fill(split.targets, y, yRow);
}

/**
 * Samples rows[from .. from + n) of a split (indices within the split) as packed rows into x
 * (n * xRow) and y (n * yRow).
 */
export function gatherRows(data: ArrayData, split: ArraySplit, rows: ArrayLike<number>, from: number, n: number, x: Float32Array, y: Float32Array): void {
  const { xRow, yRow } = data;
  const m = split.memory;
  if (!m) {
    packInto(split, rows, from, n, x, y, xRow, yRow);
    return;
  }
  for (let i = 0; i < n; i++) {
    const r = rows[from + i]!;
    x.set(m.x.subarray(r * xRow, (r + 1) * xRow), i * xRow);
    y.set(m.y.subarray(r * yRow, (r + 1) * yRow), i * yRow);
  }
}

/** Every row of a split in order, packed (for evaluation), `batch` rows at a time. */
export function* splitBatches(data: ArrayData, split: ArraySplit, batch: number): Generator<{ x: Float32Array; y: Float32Array; n: number; start: number }> {
  const x = new Float32Array(batch * data.xRow), y = new Float32Array(batch * data.yRow);
  const order = Int32Array.from({ length: split.count }, (_, i) => i);
  for (let start = 0; start < split.count; start += batch) {
    const n = Math.min(batch, split.count - start);
    gatherRows(data, split, order, start, n, x, y);
    yield { x: x.subarray(0, n * data.xRow), y: y.subarray(0, n * data.yRow), n, start };
  }
}

function makeSplit(data: Pick<ArrayData, 'xRow' | 'yRow'>, inputs: NpyArray[], targets: NpyArray[], start: number, count: number, budget: number): ArraySplit {
  const split: ArraySplit = { count, start, inputs, targets };
  if (count * (data.xRow + data.yRow) * 4 > budget) return split;
  // Contiguous chunks of each array (one positioned read each), scattered into the packed rows.
  const fill = (arrays: NpyArray[], out: Float32Array, row: number) => {
    let col = 0;
    for (const a of arrays) {
      const per = rowSize(a);
      const chunk = Math.max(1, Math.min(count, Math.floor((16 << 20) / Math.max(1, per * 4))));
      const buf = new Float32Array(chunk * per);
      for (let s = 0; s < count; s += chunk) {
        const n = Math.min(chunk, count - s);
        const rows = readRows(a, start + s, n, buf.subarray(0, n * per));
        for (let i = 0; i < n; i++) out.set(rows.subarray(i * per, (i + 1) * per), (s + i) * row + col);
      }
      col += per;
    }
  };
  const x = new Float32Array(count * data.xRow), y = new Float32Array(count * data.yRow);
  fill(inputs, x, data.xRow);
  fill(targets, y, data.yRow);
  split.memory = { x, y };
  return split;
}

export interface ArrayLoadOptions {
  train: ArrayFiles;
  validation?: ArrayFiles;
  /** Keras' validation_split: the LAST fraction of the training arrays, before any shuffling. */
  validationSplit?: number;
  inputs: readonly Expected[];
  /** One per model output; `sparse` when its loss takes class numbers (the target drops the last axis). */
  outputs: readonly (Expected & { sparse?: boolean })[];
  /** The first N samples of each split. */
  limit?: number;
  budget?: number;
}

/** Open, map by name and check the arrays of a run; small splits are read into memory. */
export function loadArrayData(o: ArrayLoadOptions): ArrayData {
  const budget = o.budget ?? ARRAY_BUDGET_BYTES;
  const open = (files: ArrayFiles) => {
    const arrays = byModelNames(openFiles(files, budget), o.inputs, o.outputs);
    const rows = checkArrays(arrays, [...o.inputs, ...o.outputs], { sparse: o.outputs.filter((e) => e.sparse).map((e) => e.name) });
    return { rows, inputs: o.inputs.map((e) => arrays[e.name]!), targets: o.outputs.map((e) => arrays[e.name]!) };
  };
  const train = open(o.train);
  const feed = (e: Expected, a: NpyArray): FeedShape => ({ name: e.name, shape: a.shape.slice(1), size: rowSize(a), int: !!e.integer });
  const inputs = o.inputs.map((e, i) => feed(e, train.inputs[i]!));
  const targets = o.outputs.map((e, i) => feed(e, train.targets[i]!));
  const shape = { xRow: inputs.reduce((s, f) => s + f.size, 0), yRow: targets.reduce((s, f) => s + f.size, 0) };
  const cap = (n: number) => (o.limit !== undefined ? Math.min(n, o.limit) : n);
  let trainCount = train.rows;
  let validation: ArraySplit | undefined;
  if (o.validation !== undefined) {
    const v = open(o.validation);
    v.inputs.forEach((a, i) => sameSampleShape(a, train.inputs[i]!));
    v.targets.forEach((a, i) => sameSampleShape(a, train.targets[i]!));
    validation = makeSplit(shape, v.inputs, v.targets, 0, cap(v.rows), budget);
  } else if (o.validationSplit) {
    // keras.src.trainers.data_adapters.data_adapter_utils.train_validation_split: split_at = ceil(n * (1 - split)).
    const at = Math.ceil(train.rows * (1 - o.validationSplit));
    if (at <= 0 || at >= train.rows) throw new DataError(`validation_split ${o.validationSplit} of ${train.rows} samples leaves ${at <= 0 ? 'no training' : 'no validation'} samples`);
    validation = makeSplit(shape, train.inputs, train.targets, at, cap(train.rows - at), budget);
    trainCount = at;
  }
  const describe = (f: ArrayFiles) => (typeof f === 'string' ? f : Object.values(f).join(', '));
  return {
    kind: 'arrays', name: describe(o.train), inputs, targets, ...shape,
    train: makeSplit(shape, train.inputs, train.targets, 0, cap(trainCount), budget),
    ...(validation ? { validation } : {}),
  };
}

function sameSampleShape(a: NpyArray, b: NpyArray): void {
  if (JSON.stringify(a.shape.slice(1)) !== JSON.stringify(b.shape.slice(1))) {
    throw new DataError(`${a.what} holds samples of shape [${a.shape.slice(1).join(', ')}], but the training array ${b.what} holds [${b.shape.slice(1).join(', ')}]`);
  }
}
