/**
 * Model and checkpoint folders on disk, without tfjs-node's file:// handlers:
 * `model.json` (tfjs layers-model format, loadable by tf.loadLayersModel) + `weights.bin`, and
 * beside them what training adds. A folder is written under a temporary name and renamed into
 * place, so a reader (or a run killed mid-write) never sees half of one.
 */
import type { LossSpec } from './losses.js';
import type { OutputCompile } from './outputs.js';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { describeReadError, MAX_DATA_BYTES, MAX_JSON_BYTES, readFileBounded, ReadError, readTextBounded } from '../io/read.js';
import { basename, dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import { shareRepeatedInputs } from '../backends/tfjs/repeated-inputs.js';
import { aboutTarget, GENERATOR, removeStaleTemps, makeFolders } from '../io/atomic.js';
import { insideFolder } from '../io/fs-problems.js';

/** What modelspec records about a trained model, in model.json's userDefinedMetadata.modelspec. */
export interface ModelMeta {
  spec: string;
  parameters: Record<string, unknown>;
  dataset?: string;
  classes?: readonly string[];
  /** The dataset array each model input reads, in the model's input order. */
  inputs?: { name: string; reads: 'image' }[];
  imageShape?: [number, number, number];
  /** The image folder the model was trained on (dataset image_folder): `evaluate` reads its validation files. */
  imageFolder?: { path: string; validation_split: number; seed: number };
  /** Present when the training set's per-pixel mean is subtracted: the file holding it (float32). */
  pixelMean?: string;
  epoch?: number;
  metrics?: Record<string, number>;
  /** The loss the model was trained with (evaluate reports it); absent: categorical_crossentropy. */
  loss?: LossSpec;
  /** Trained on arrays: what each input takes, and each output's loss, weight and metrics (evaluate and predict on arrays). */
  arrays?: { inputs: { name: string; shape: number[]; int: boolean }[]; targets: { name: string; shape: number[] }[]; outputs: OutputCompile[] };
  /** SHA-256 of the weights (hex), written by `build`: a reader refuses weights that are not these. */
  weightsSha256?: string;
}

export interface ModelFiles {
  /** model.json content. */
  json: Record<string, unknown>;
  weights: Uint8Array;
}

const toBytes = (d: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array => {
  if (!d) return new Uint8Array(0);
  if (!Array.isArray(d)) return new Uint8Array(d);
  const total = d.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of d) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out;
};

/** model.json + weights.bin of a model, in memory. */
export async function modelFiles(tf: Tf, model: TF.LayersModel, meta: ModelMeta): Promise<ModelFiles> {
  let files: ModelFiles | undefined;
  await model.save(tf.io.withSaveHandler(async (a) => {
    const weights = toBytes(a.weightData);
    files = {
      weights,
      json: {
        format: 'layers-model',
        generatedBy: `${GENERATOR} (TensorFlow.js ${tf.version.tfjs})`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }],
        userDefinedMetadata: { modelspec: meta },
      },
    };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return files!;
}

/**
 * Write a folder atomically: the files go into a temporary sibling that is then renamed to `dir`.
 * An existing `dir` is replaced (moved aside first, then removed).
 */
export function writeDirAtomic(dir: string, files: Record<string, string | Uint8Array>): void {
  makeFolders(dirname(dir));
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    for (const [name, data] of Object.entries(files)) writeFileSync(join(tmp, name), data);
    let old: string | undefined;
    if (existsSync(dir)) {
      old = join(dirname(dir), `.${basename(dir)}.old-${process.pid}-${Date.now()}`);
      renameSync(dir, old);
    }
    renameSync(tmp, dir);
    if (old) rmSync(old, { recursive: true, force: true });
    removeStaleTemps(dirname(dir), `.${basename(dir)}.`);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw aboutTarget(e, dir);
  }
}

export function modelDirFiles(files: ModelFiles): Record<string, string | Uint8Array> {
  return { 'model.json': JSON.stringify(files.json) + '\n', 'weights.bin': files.weights };
}

export class ModelDirError extends Error {}

/** Read model.json and its weights from a folder, checking that the weights are all there. */
export function readModelDir(dir: string): ModelFiles & { meta: ModelMeta | undefined } {
  const path = join(dir, 'model.json');
  if (!existsSync(path)) throw new ModelDirError(`${dir} holds no model.json (give a model folder, a checkpoint folder or a training --out folder)`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readTextBounded(path, MAX_JSON_BYTES)) as Record<string, unknown>;
  } catch (e) {
    throw new ModelDirError(e instanceof ReadError ? `cannot read ${path}: ${e.why}` : `${path} is not valid JSON (${(e as Error).message})`);
  }
  const manifest = (json.weightsManifest as { paths: string[]; weights: TF.io.WeightsManifestEntry[] }[] | undefined) ?? [];
  if (!Array.isArray(manifest) || !manifest.every((g) => g !== null && typeof g === 'object' && Array.isArray(g.paths) && Array.isArray(g.weights))) {
    throw new ModelDirError(`${path}: weightsManifest is not a list of { paths, weights } groups; the file is damaged or was not written by TensorFlow.js`);
  }
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    for (const p of group.paths) {
      let file: string;
      try {
        file = insideFolder(dir, p, path, 'a weights file');
      } catch (e) {
        throw new ModelDirError((e as Error).message);
      }
      try {
        parts.push(readFileBounded(file, MAX_DATA_BYTES));
      } catch (e) {
        throw new ModelDirError(`${file}, named by ${path}, cannot be read: ${describeReadError(e)}`);
      }
    }
  }
  const weights = Buffer.concat(parts);
  const expected = manifest.flatMap((g) => g.weights).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * (w.dtype === 'float32' || w.dtype === 'int32' ? 4 : 1), 0);
  if (weights.length !== expected) throw new ModelDirError(`${dir}: the weights are ${weights.length} bytes, model.json describes ${expected}`);
  const meta = (json.userDefinedMetadata as { modelspec?: ModelMeta } | undefined)?.modelspec;
  if (typeof meta?.weightsSha256 === 'string' && createHash('sha256').update(weights).digest('hex') !== meta.weightsSha256) {
    throw new ModelDirError(`${dir}: the weights do not belong to this model.json (their digest differs from the one it records; was a build interrupted?); build the model again`);
  }
  return { json, weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength), meta };
}

export function weightSpecs(json: Record<string, unknown>): TF.io.WeightsManifestEntry[] {
  return ((json.weightsManifest as { weights: TF.io.WeightsManifestEntry[] }[] | undefined) ?? []).flatMap((g) => g.weights);
}

const arrayBufferOf = (u: Uint8Array): ArrayBuffer => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

/** Load a LayersModel from a folder (topology and weights), with modelspec's metadata. */
export async function loadModelDir(tf: Tf, dir: string): Promise<{ model: TF.LayersModel; meta: ModelMeta | undefined; files: ModelFiles }> {
  const files = readModelDir(dir);
  const model = await tf.loadLayersModel(tf.io.fromMemory({
    modelTopology: files.json.modelTopology as object,
    weightSpecs: weightSpecs(files.json),
    weightData: arrayBufferOf(files.weights),
  }));
  shareRepeatedInputs(model); // tfjs' predict disposes a tensor given twice to one layer too early
  return { model, meta: files.meta, files };
}

/** Set a model's weights from saved files (same architecture): by weight name, all of them. */
export function loadWeightsInto(tf: Tf, model: TF.LayersModel, files: ModelFiles): void {
  const named = tf.io.decodeWeights(arrayBufferOf(files.weights), weightSpecs(files.json));
  try {
    model.loadWeights(named, true);
  } finally {
    tf.dispose(Object.values(named));
  }
}

export { arrayBufferOf };
