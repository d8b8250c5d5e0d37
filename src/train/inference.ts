/**
 * A trained model put to use, as library functions (issue #13, item 2): `evaluateModel` (loss,
 * accuracy and confusion matrix on the test split of a dataset) and `predictImages` (the top
 * classes of PNG or IDX images). They return their results and throw typed errors
 * (ModelDirError, DataError, BackendUnavailable, ReadError); progress goes to a `log` callback.
 * `modelspec evaluate` and `modelspec predict` (src/cli/) parse flags, call them and print.
 * TensorFlow.js and the training modules are loaded on first call.
 */
import { join, relative, resolve } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { BackendName } from '../backends/tfjs/backend.js';
import { insideFolder } from '../io/fs-problems.js';
import type { ModelMeta } from './model-io.js';

export type DatasetName = 'mnist' | 'cifar10';

/** TensorFlow.js on the chosen backend (BackendUnavailable if it is not there) and the model a folder holds. */
export async function openTrainedModel(dir: string, backendName: BackendName | undefined, onBackend: (backend: BackendName) => void = () => {}) {
  const { loadTf } = await import('../backends/tfjs/backend.js');
  const { loadModelDir } = await import('./model-io.js');
  const { locateModelDir } = await import('./locate.js');
  const found = locateModelDir(dir);
  const loaded = await loadTf(backendName);
  onBackend(loaded.backend);
  const { model, meta } = await loadModelDir(loaded.tf, found.dir);
  return { tf: loaded.tf, backend: loaded.backend, found, model, meta };
}

export interface EvaluateModelOptions {
  /** Default: the dataset the model was trained on (model.json). */
  dataset?: DatasetName;
  /** An image folder (class sub-folders named as the model's classes): all its images. */
  data?: string;
  dataDir?: string;
  /** Only the first N test examples. */
  maxExamples?: number;
  batchSize?: number;
  backend?: BackendName;
  /** Replicas for data-parallel inference (default: by backend, for 2,048 images or more). */
  workers?: number;
  /** Progress lines: the backend, then the model. */
  log?: (line: string) => void;
}

export interface EvaluateModelResult {
  model: string;
  /** mnist, cifar10 or image_folder. */
  dataset: DatasetName | 'image_folder';
  /** Which images: a dataset's test split, an image folder's validation files, or all of a folder's (--data). */
  split: 'test' | 'validation' | 'all';
  /** The image folder read, when it is one. */
  source?: string;
  count: number;
  loss: number;
  accuracy: number;
  classes: readonly string[];
  confusion: number[][];
  seconds: number;
  backend: BackendName;
  /** Whether the training pixel mean was subtracted from the images. */
  pixelMeanSubtracted: boolean;
}

type EvaluationSet = Pick<EvaluateModelResult, 'dataset' | 'split' | 'source' | 'classes'> & { images: Uint8Array; labels: import('./data/dataset.js').Labels; count: number };

/** The images evaluate reads: --data's image folder (all of it), the run's image folder (its validation files), or a dataset's test split. */
async function evaluationSet(o: EvaluateModelOptions, meta: ModelMeta | undefined, shape: (number | null)[], modelDir: string): Promise<EvaluationSet> {
  const { ModelDirError } = await import('./model-io.js');
  const { loadImageFolder } = await import('./data/image-folder.js');
  const { loadDataset } = await import('./data/index.js');
  const limit = o.maxExamples !== undefined ? { limit: o.maxExamples } : {};
  const folder = o.data !== undefined ? { path: resolve(o.data), validation_split: 0, seed: 0 } : !o.dataset && meta?.dataset === 'image_folder' ? meta.imageFolder : undefined;
  if (folder || (!o.dataset && meta?.dataset === 'image_folder')) {
    if (!folder) throw new ModelDirError(`${modelDir}/model.json says the model was trained on an image folder, but not which; pass --data DIR`);
    if (shape.length !== 3 || shape.some((d) => d === null)) throw new ModelDirError(`the model takes [${shape.join(', ')}] inputs; an image folder feeds images of a fixed size [height, width, channels]`);
    if (o.data === undefined && !(folder.validation_split > 0)) {
      throw new ModelDirError(`the model was trained on all of image folder ${folder.path} (no validation_split): pass --data DIR with a folder of held-out images`);
    }
    const raw = loadImageFolder({ path: folder.path, imageShape: shape as [number, number, number], validationSplit: folder.validation_split, seed: folder.seed, ...limit, ...(meta?.classes ? { classes: meta.classes } : {}) });
    const split = o.data !== undefined ? raw.train : raw.test;
    return { dataset: 'image_folder', split: o.data !== undefined ? 'all' : 'validation', source: folder.path, classes: raw.classes, ...split };
  }
  const name = o.dataset ?? (meta?.dataset as DatasetName | undefined);
  if (!name) throw new ModelDirError(`${modelDir}/model.json does not say which dataset the model was trained on; pass --dataset mnist|cifar10 or --data DIR`);
  const raw = await loadDataset(name, { ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}), ...limit });
  if (JSON.stringify(shape) !== JSON.stringify(raw.imageShape)) {
    throw new ModelDirError(`the model takes [${shape.join(', ')}] inputs, but ${name} images are [${raw.imageShape.join(', ')}]`);
  }
  return { dataset: name, split: 'test', classes: raw.classes, ...raw.test };
}

/** A trained model (a model, checkpoint or train --out folder) on the test split of its dataset, or on an image folder. */
export async function evaluateModel(dir: string, o: EvaluateModelOptions = {}): Promise<EvaluateModelResult> {
  const { ModelDirError } = await import('./model-io.js');
  const { readPixelMean } = await import('./checkpoint.js');
  const { scaleToUnit, subtractMean } = await import('./preprocess.js');
  const { evaluateSplit, evaluateSplitWith } = await import('./evaluate.js');
  const { defaultWorkers, openInference } = await import('./parallel/index.js');
  const { describeBackend } = await import('../backends/tfjs/backend.js');
  const log = o.log ?? (() => {});
  const { tf, backend, found, model, meta } = await openTrainedModel(dir, o.backend, (b) => log(`backend: ${describeBackend(b)}`));
  try {
    if (!o.dataset && o.data === undefined && meta?.arrays) throw new ModelDirError(`${found.dir} was trained on arrays; evaluate it on arrays with --data file.npz`);
    const shown = relative(process.cwd(), found.dir) || found.dir;
    log(`model: ${shown} (${found.how}${meta?.epoch !== undefined ? `, ${meta.epoch} epoch${meta.epoch === 1 ? '' : 's'}` : ''}${meta?.spec ? `, from ${meta.spec}` : ''})`);
    const data = await evaluationSet(o, meta, model.inputs[0]!.shape.slice(1), found.dir);
    const outputs = model.outputs[0]!.shape[model.outputs[0]!.shape.length - 1];
    if (outputs !== data.classes.length) throw new ModelDirError(`the model has ${outputs} outputs, but the data has ${data.classes.length} classes (${data.classes.join(', ')})`);
    const x = scaleToUnit(data.images);
    if (meta?.pixelMean) subtractMean(x, readPixelMean(insideFolder(found.dir, meta.pixelMean, join(found.dir, 'model.json'), 'the pixel mean')));
    const classes = data.classes;
    const t0 = Date.now();
    const split = { x, labels: data.labels, count: data.count };
    // The loss the model was trained with (model.json's modelspec metadata), as training reported it.
    const evalOpts = { confusion: true, ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(meta?.loss ? { loss: meta.loss } : {}) };
    // Worker threads pay for themselves from a few thousand images on.
    const workers = o.workers ?? (data.count >= 2048 ? defaultWorkers(backend) : 1);
    let r;
    if (workers > 1) {
      const engine = await openInference(tf, model, backend, workers);
      try {
        r = await evaluateSplitWith(tf, model, (xs, n) => engine.predict(xs, n), split, classes.length, evalOpts);
      } finally {
        await engine.close();
      }
    } else r = evaluateSplit(tf, model, split, classes.length, evalOpts);
    const seconds = (Date.now() - t0) / 1000;
    const { dataset, split: which, source } = data;
    return { model: found.dir, dataset, split: which, ...(source ? { source } : {}), count: r.count, loss: r.loss, accuracy: r.accuracy, classes, confusion: r.confusion!, seconds, backend, pixelMeanSubtracted: !!meta?.pixelMean };
  } finally {
    model.dispose();
  }
}

export interface PredictImagesOptions {
  /** Classes to return per image (default 3). */
  top?: number;
  /** Invert the pixels first (dark digits on a light background, for MNIST models). */
  invert?: boolean;
  /** At most N images from each IDX file. */
  maxExamples?: number;
  backend?: BackendName;
  /** Replicas for data-parallel inference (default 1). */
  workers?: number;
}

export interface Prediction { image: string; top: { label: string; index: number; probability: number }[] }

/** The top classes of each image (PNG files, or IDX files of images) under a trained model. */
export async function predictImages(dir: string, files: string[], o: PredictImagesOptions = {}): Promise<Prediction[]> {
  const { readPixelMean } = await import('./checkpoint.js');
  const { readImages, toModelInput, topK } = await import('./predict.js');
  const { openInference } = await import('./parallel/index.js');
  const { tf, backend, found, model, meta } = await openTrainedModel(dir, o.backend);
  let engine: Awaited<ReturnType<typeof openInference>> | undefined;
  try {
    const shape = model.inputs[0]!.shape.slice(1) as [number, number, number];
    const mean = meta?.pixelMean ? readPixelMean(insideFolder(found.dir, meta.pixelMean, join(found.dir, 'model.json'), 'the pixel mean')) : undefined;
    const images = files.flatMap((f) => readImages(f, shape[2], o.maxExamples));
    const size = shape[0] * shape[1] * shape[2];
    const results: Prediction[] = [];
    const bs = 256;
    // Batches split over worker threads (--workers): worth it for thousands of images.
    if ((o.workers ?? 1) > 1 && images.length > 1) engine = await openInference(tf, model, backend, o.workers!);
    for (let s = 0; s < images.length; s += bs) {
      const chunk = images.slice(s, s + bs);
      const x = new Float32Array(chunk.length * size);
      chunk.forEach((img, i) => x.set(toModelInput(tf, img, shape, { ...(o.invert ? { invert: true } : {}), ...(mean ? { pixelMean: mean } : {}) }), i * size));
      let probs: ArrayLike<number>[];
      if (engine) {
        const flat = await engine.predict(x, chunk.length);
        const k = engine.layout.classes;
        probs = chunk.map((_, i) => flat.subarray(i * k, (i + 1) * k));
      } else {
        probs = tf.tidy(() => {
          const t = tf.tensor4d(x, [chunk.length, ...shape]);
          const p = model.predict(model.inputs.length === 1 ? t : new Array<TF.Tensor>(model.inputs.length).fill(t)) as TF.Tensor2D;
          return p.arraySync();
        });
      }
      chunk.forEach((img, i) => results.push({ image: img.name, top: topK(probs[i]!, o.top ?? 3, meta?.classes) }));
    }
    return results;
  } finally {
    await engine?.close();
    model.dispose();
  }
}
