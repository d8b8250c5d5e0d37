/** Loading a dataset by name. */
import type { DatasetName } from '../config.js';
import type { RawDataset } from './dataset.js';
import { loadMnist } from './mnist.js';
import { loadCifar10 } from './cifar10.js';

export interface LoadOptions {
  dataDir?: string;
  /** The first N samples of each split. */
  limit?: number;
  download?: boolean;
  log?: (line: string) => void;
}

export async function loadDataset(name: DatasetName, opts: LoadOptions = {}): Promise<RawDataset> {
  const common = { ...(opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {}), ...(opts.limit !== undefined ? { limit: opts.limit } : {}) };
  if (name === 'mnist') return loadMnist(common);
  return loadCifar10({ ...common, ...(opts.download ? { download: true } : {}), ...(opts.log ? { log: opts.log } : {}) });
}

export { DataError } from './idx.js';
export type { RawDataset, Split } from './dataset.js';
export { MNIST_CLASSES, CIFAR10_CLASSES } from './dataset.js';
