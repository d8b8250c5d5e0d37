/**
 * The training recipe with every default filled in: the spec's `training:` section (already
 * validated by the schema, src/train/schema.ts) overridden by command-line flags.
 */
import type { DATASETS, MONITORS } from './schema.js';
import { resolve as resolvePath } from 'node:path';
import { lossByName, type LossSpec, type MetricName } from './losses.js';

export type DatasetName = (typeof DATASETS)[number];
/** A value of the epoch's logs: one of MONITORS, or a per-output one (`val_out1_accuracy`). */
export type Monitor = (typeof MONITORS)[number] | (string & {});

/** Array files: one .npz/.npy, or one .npy per input/output name; absolute once the run resolves them against the spec's folder. */
export type ArrayFiles = string | Record<string, string>;

export interface ArraysConfig {
  train: ArrayFiles;
  validation?: ArrayFiles;
  /** Keras' validation_split: the last fraction of the training arrays. */
  validation_split?: number;
}

export interface OptimizerConfig {
  name: 'adam' | 'sgd' | 'rmsprop';
  learning_rate: number;
  beta_1?: number;
  beta_2?: number;
  epsilon?: number;
  momentum?: number;
  nesterov?: boolean;
  rho?: number;
  centered?: boolean;
}

export interface PiecewiseSchedule {
  base: number;
  boundaries: number[];
  factors: number[];
}

export interface PlateauConfig {
  monitor: Monitor;
  factor: number;
  patience: number;
  cooldown: number;
  min_lr: number;
  min_delta: number;
}

export interface AugmentConfig {
  width_shift: number;
  height_shift: number;
  horizontal_flip: boolean;
  fill: 'nearest';
}

/** `training.dataset: {image_folder: {...}}` (or `train --data DIR`), with its defaults filled in. */
export interface ImageFolderConfig {
  /** Absolute: resolved against the spec's folder (or, from --data, the working folder). */
  path: string;
  validation_split: number;
  seed: number;
}

export interface TrainingConfig {
  dataset: {
    /** `arrays`: the user's arrays (dataset.arrays); `image_folder`: a folder of class folders. */
    name: DatasetName | 'arrays' | 'image_folder';
    arrays?: ArraysConfig;
    /** With name image_folder. */
    image_folder?: ImageFolderConfig;
    /** Model input name -> dataset array name; empty: every input reads `image`. */
    feed: Record<string, 'image'>;
    subtract_pixel_mean: boolean;
    validation: 'test' | 'none';
  };
  optimizer: OptimizerConfig;
  /** By Keras name, with its options (from_logits, delta). */
  loss: LossSpec;
  /** training.loss as a map: output id -> its loss (outputs not named take `loss`). */
  losses?: Record<string, LossSpec>;
  /** Output id -> weight of its loss in the total (Keras loss_weights). */
  loss_weights?: Record<string, number>;
  metrics: MetricName[];
  /** training.metrics as a map: output id -> its metrics (outputs not named take `metrics`). */
  output_metrics?: Record<string, MetricName[]>;
  batch_size: number;
  epochs: number;
  seed: number;
  lr_schedule?: { piecewise: PiecewiseSchedule };
  reduce_lr_on_plateau?: PlateauConfig;
  checkpoint: { monitor: Monitor; save_best_only: boolean };
  augmentation?: AugmentConfig;
}

/** Command-line overrides (flags win over the spec). */
export interface TrainingOverrides {
  dataset?: DatasetName;
  /** --data FILE: an .npz or .npy file of arrays (replaces the recipe's dataset). */
  data?: string;
  /** `--data DIR`: an image folder (resolved against the working folder). */
  imageFolder?: string;
  /** `--validation-split F`: the image folder's validation fraction. */
  validationSplit?: number;
  epochs?: number;
  batch_size?: number;
  seed?: number;
}

export class ConfigError extends Error {}

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : {});

const OPTIMIZER_DEFAULT_LR = { adam: 0.001, sgd: 0.01, rmsprop: 0.001 } as const;

/**
 * training.loss: a Keras name or alias (`mse`), or a mapping of one name to its options
 * (`{sparse_categorical_crossentropy: {from_logits: true}}`, `{huber: {delta: 2}}`); a recipe saved
 * by an older run holds the bare name.
 */
export function resolveLoss(raw: unknown): LossSpec {
  if (raw === undefined) return { name: 'categorical_crossentropy' };
  if (typeof obj(raw).name === 'string') return raw as LossSpec; // already resolved (a checkpoint's recipe)
  const [name, options] = typeof raw === 'string' ? [raw, {}] : (Object.entries(obj(raw))[0] ?? ['', {}]);
  const known = lossByName(name);
  if (!known) throw new ConfigError(`training.loss: '${name}' is not a loss modelspec has`);
  return { ...(obj(options) as Omit<LossSpec, 'name'>), name: known };
}

/** One loss written as a string or a one-key mapping to its options: is `raw` that form? */
function isOneLoss(raw: unknown): boolean {
  if (typeof raw === 'string' || typeof obj(raw).name === 'string') return true;
  const keys = Object.keys(obj(raw));
  return keys.length === 1 && lossByName(keys[0]!) !== undefined;
}

/** training.loss: one loss for every output, or a map output id -> loss. */
function resolveLosses(raw: unknown): Pick<TrainingConfig, 'loss' | 'losses'> {
  if (raw === undefined || isOneLoss(raw)) return { loss: resolveLoss(raw) };
  const losses: Record<string, LossSpec> = {};
  for (const [id, l] of Object.entries(obj(raw))) {
    try {
      losses[id] = resolveLoss(l);
    } catch (e) {
      throw new ConfigError(`training.loss.${id}: ${(e as Error).message.replace(/^training\.loss: /, '')}`);
    }
  }
  return { loss: { name: 'categorical_crossentropy' }, losses };
}

/**
 * training.dataset (or --data) as the user's arrays, undefined for a built-in dataset; the spec's
 * files are relative to the spec's folder, --data's to the working folder (as for an image folder).
 */
function resolveArrays(ds: Raw, data: string | undefined, specDir: string): ArraysConfig | undefined {
  if (data !== undefined) return { train: resolvePath(data), ...(typeof ds.validation_split === 'number' ? { validation_split: ds.validation_split } : {}) };
  if (ds.arrays === undefined) return undefined;
  const a = typeof ds.arrays === 'string' ? { train: ds.arrays } : obj(ds.arrays);
  const files = (v: unknown): ArrayFiles => (typeof v === 'string'
    ? resolvePath(specDir, v)
    : Object.fromEntries(Object.entries(obj(v)).map(([k, f]) => [k, resolvePath(specDir, f as string)])));
  if (a.train === undefined) throw new ConfigError('training.dataset.arrays names no train: file (arrays: {train: data.npz})');
  return {
    train: files(a.train),
    ...(a.validation !== undefined ? { validation: files(a.validation) } : {}),
    ...(typeof ds.validation_split === 'number' ? { validation_split: ds.validation_split } : {}),
  };
}

/** The image folder a run reads, if any: --data DIR, else the spec's (its path relative to the spec's folder). */
function imageFolderOf(t: Raw, overrides: TrainingOverrides, specDir: string): ImageFolderConfig | undefined {
  const declared = obj(obj(t.dataset).image_folder);
  if (overrides.dataset || (overrides.imageFolder === undefined && declared.path === undefined)) return undefined;
  return {
    path: overrides.imageFolder !== undefined ? resolvePath(overrides.imageFolder) : resolvePath(specDir, declared.path as string),
    validation_split: overrides.validationSplit ?? (declared.validation_split as number | undefined) ?? 0,
    seed: (declared.seed as number | undefined) ?? overrides.seed ?? (t.seed as number | undefined) ?? 0,
  };
}

/** training.dataset with --dataset / --data: a built-in dataset by name, the user's arrays, or an image folder. */
function resolveDataset(t: Raw, overrides: TrainingOverrides, specDir: string): TrainingConfig['dataset'] {
  const ds = typeof t.dataset === 'string' ? { name: t.dataset } : obj(t.dataset);
  const imageFolder = overrides.data === undefined ? imageFolderOf(t, overrides, specDir) : undefined;
  const arrays = overrides.dataset || imageFolder ? undefined : resolveArrays(ds, overrides.data, specDir);
  const name = imageFolder ? 'image_folder' : arrays ? 'arrays' : (overrides.dataset ?? ds.name) as DatasetName | undefined;
  if (!imageFolder && overrides.validationSplit !== undefined) throw new ConfigError(`--validation-split splits an image folder; ${name ?? 'this dataset'} ${name === 'arrays' ? 'takes training.dataset.validation_split' : 'has its own test split'}`);
  if (!name) {
    throw new ConfigError("no dataset: the spec's training: section names none (dataset: mnist, cifar10, {arrays: data.npz} or {image_folder: {path: DIR}}); "
      + 'pass --dataset mnist|cifar10, --data data.npz or --data DIR');
  }
  let validation: 'test' | 'none' = (ds.validation as 'test' | 'none' | undefined) ?? 'test';
  // An image folder's validation files stand for the test split; without validation_split there are none.
  if (imageFolder) validation = imageFolder.validation_split > 0 ? 'test' : 'none';
  // Arrays without validation data: nothing to validate on.
  else if (arrays && arrays.validation === undefined && !arrays.validation_split) validation = 'none';
  return {
    name,
    ...(arrays ? { arrays } : {}),
    ...(imageFolder ? { image_folder: imageFolder } : {}),
    feed: { ...(obj(ds.feed) as Record<string, 'image'>) },
    subtract_pixel_mean: ds.subtract_pixel_mean === true,
    validation,
  };
}

/** The recipe with its defaults; `specDir` is the spec's folder, which the paths of its data files are relative to. */
export function resolveTrainingConfig(raw: unknown, overrides: TrainingOverrides = {}, specDir = '.'): TrainingConfig {
  const t = obj(raw);

  const dataset = resolveDataset(t, overrides, specDir);
  const arrays = dataset.arrays;

  let optimizer: OptimizerConfig;
  if (typeof t.optimizer === 'string') {
    const n = t.optimizer as OptimizerConfig['name'];
    optimizer = { name: n, learning_rate: OPTIMIZER_DEFAULT_LR[n] };
  } else if (t.optimizer !== undefined) {
    const [n, settings] = Object.entries(obj(t.optimizer))[0] as [OptimizerConfig['name'], unknown];
    optimizer = { name: n, learning_rate: OPTIMIZER_DEFAULT_LR[n], ...(obj(settings) as Partial<OptimizerConfig>) };
  } else {
    optimizer = { name: 'adam', learning_rate: OPTIMIZER_DEFAULT_LR.adam };
  }

  const config: TrainingConfig = {
    dataset,
    optimizer,
    ...resolveLosses(t.loss),
    ...(t.loss_weights !== undefined ? { loss_weights: { ...(obj(t.loss_weights) as Record<string, number>) } } : {}),
    // Keras compiles no metric unless asked; mnist and cifar10 have always reported accuracy.
    metrics: Array.isArray(t.metrics) ? (t.metrics as MetricName[]) : arrays ? [] : ['accuracy'],
    ...(t.metrics !== undefined && !Array.isArray(t.metrics) ? { output_metrics: { ...(obj(t.metrics) as Record<string, MetricName[]>) } } : {}),
    batch_size: overrides.batch_size ?? (t.batch_size as number | undefined) ?? 32,
    epochs: overrides.epochs ?? (t.epochs as number | undefined) ?? 1,
    seed: overrides.seed ?? (t.seed as number | undefined) ?? 0,
    checkpoint: {
      // Keras' ModelCheckpoint monitors val_loss; the built-in image datasets keep val_accuracy.
      monitor: (obj(t.checkpoint).monitor as Monitor | undefined) ?? (arrays ? 'val_loss' : 'val_accuracy'),
      save_best_only: (obj(t.checkpoint).save_best_only as boolean | undefined) ?? true,
    },
  };
  if (t.lr_schedule !== undefined) {
    const p = obj(obj(t.lr_schedule).piecewise);
    const schedule: PiecewiseSchedule = {
      base: (p.base as number | undefined) ?? optimizer.learning_rate,
      boundaries: p.boundaries as number[],
      factors: p.factors as number[],
    };
    if (schedule.boundaries.length !== schedule.factors.length) {
      throw new ConfigError(`training.lr_schedule.piecewise: ${schedule.boundaries.length} boundaries but ${schedule.factors.length} factors; give one factor per boundary`);
    }
    for (let i = 1; i < schedule.boundaries.length; i++) {
      if (schedule.boundaries[i]! <= schedule.boundaries[i - 1]!) throw new ConfigError('training.lr_schedule.piecewise: boundaries must increase');
    }
    config.lr_schedule = { piecewise: schedule };
  }
  if (t.reduce_lr_on_plateau !== undefined) {
    const r = obj(t.reduce_lr_on_plateau);
    config.reduce_lr_on_plateau = {
      monitor: (r.monitor as Monitor | undefined) ?? 'val_loss',
      factor: (r.factor as number | undefined) ?? 0.1,
      patience: (r.patience as number | undefined) ?? 10,
      cooldown: (r.cooldown as number | undefined) ?? 0,
      min_lr: (r.min_lr as number | undefined) ?? 0,
      min_delta: (r.min_delta as number | undefined) ?? 1e-4,
    };
  }
  if (t.augmentation !== undefined) {
    const a = obj(t.augmentation);
    config.augmentation = {
      width_shift: (a.width_shift as number | undefined) ?? 0,
      height_shift: (a.height_shift as number | undefined) ?? 0,
      horizontal_flip: (a.horizontal_flip as boolean | undefined) ?? false,
      fill: 'nearest',
    };
  }
  const needsVal = (m: Monitor) => m.startsWith('val_');
  if (config.dataset.validation === 'none') {
    if (needsVal(config.checkpoint.monitor)) config.checkpoint.monitor = config.checkpoint.monitor.slice(4) as Monitor;
    if (config.reduce_lr_on_plateau && needsVal(config.reduce_lr_on_plateau.monitor)) {
      throw new ConfigError(`training.reduce_lr_on_plateau monitors ${config.reduce_lr_on_plateau.monitor}, but dataset.validation is none`);
    }
  }
  return config;
}
