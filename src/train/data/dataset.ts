/** A labelled image dataset as read from disk: uint8 pixels (NHWC) and class labels (uint16 past 256 classes). */
export interface Split {
  /** count * height * width * channels bytes, NHWC. */
  images: Uint8Array;
  labels: Labels;
  count: number;
}

/** Class numbers: bytes, or uint16 for an image folder of more than 256 classes. */
export type Labels = Uint8Array | Uint16Array;

export interface RawDataset {
  name: string;
  /** [height, width, channels] of one image. */
  imageShape: [number, number, number];
  classes: readonly string[];
  train: Split;
  test: Split;
  /** Where it was read from, for messages. */
  source: string;
}

/** The first `limit` samples of a split (all of them when limit is undefined or larger). */
export function limitSplit(s: Split, imageSize: number, limit?: number): Split {
  if (limit === undefined || limit >= s.count) return s;
  return { images: s.images.subarray(0, limit * imageSize), labels: s.labels.subarray(0, limit), count: limit };
}

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
