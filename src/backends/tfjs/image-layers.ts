/**
 * Image layers TensorFlow.js 4.22 lacks or cannot run, as Keras defines them, registered under
 * Keras' class names (src/backends/tfjs/custom-layers.ts registers them):
 *
 * - SpatialDropout2D / SpatialDropout3D: Dropout with noise shape (batch, 1, 1, channels) /
 *   (batch, 1, 1, 1, channels): whole channels dropped at training time, the identity at inference.
 * - Resizing: tfjs-layers' Resizing.call hands resizeBilinear the list of inputs that predict() and
 *   fit() pass, and fails. Here: tf.image.resize as Keras calls it (half-pixel centres, no
 *   antialias), after a centred crop to the target aspect ratio with crop_to_aspect_ratio.
 * - RandomWidth / RandomHeight: at training time the width (height) is resized by a factor drawn
 *   from [1 + lower, 1 + upper] per batch, as Keras 2's layers; the identity at inference (tfjs'
 *   RandomWidth cannot be applied in a functional model, RandomHeight is not in its bundle).
 *
 * Config keys are tfjs' camelCase.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

type Config = Record<string, unknown>;
type Shape = (number | null)[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ImageLayerClass = (new (config: any) => TF.layers.Layer) & { className: string };

const single = (s: Shape | Shape[]): Shape => (Array.isArray(s[0]) ? (s as Shape[])[0]! : (s as Shape));
const one = (x: TF.Tensor | TF.Tensor[]): TF.Tensor => (Array.isArray(x) ? x[0]! : x);

/**
 * A small seeded generator for the random layers' factors (Math.random without a seed): mulberry32,
 * as src/train/rng.ts's, which a back end cannot import (train comes after backends in the pipeline).
 */
function uniform(seed: number | null): () => number {
  if (seed === null) return Math.random;
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** tf.image.resize of a (batch, h, w, c) image as Keras does it: half-pixel centres, no corner alignment. */
function resize(tf: Tf, x: TF.Tensor, size: [number, number], interpolation: string): TF.Tensor {
  const img = x as TF.Tensor4D;
  return interpolation === 'nearest'
    ? tf.image.resizeNearestNeighbor(img, size, false, true)
    : tf.image.resizeBilinear(img, size, false, true);
}

/** SpatialDropout2D (rank 2) or SpatialDropout3D (rank 3), channels last. */
export function makeSpatialDropout(rank: 2 | 3) {
  return (tf: Tf): ImageLayerClass => {
    class SpatialDropout extends tf.layers.Layer {
      static className = `SpatialDropout${rank}D`;
      readonly rate: number;
      readonly seed: number | null;
      constructor(c: Config) {
        super(c);
        this.rate = c.rate as number;
        this.seed = (c.seed as number | null | undefined) ?? null;
        this.supportsMasking = true;
      }
      override computeOutputShape(s: Shape | Shape[]): Shape {
        return single(s);
      }
      override call(inputs: TF.Tensor | TF.Tensor[], kwargs: Record<string, unknown>): TF.Tensor {
        return tf.tidy(() => {
          const x = one(inputs);
          if (!kwargs.training || this.rate <= 0) return tf.clone(x);
          const noise = [x.shape[0]!, ...Array<number>(rank).fill(1), x.shape[rank + 1]!];
          return tf.dropout(x, this.rate, noise, this.seed ?? undefined);
        });
      }
      override getConfig(): TF.serialization.ConfigDict {
        return { ...super.getConfig(), rate: this.rate, seed: this.seed, dataFormat: 'channels_last' };
      }
    }
    Object.defineProperty(SpatialDropout, 'name', { value: `SpatialDropout${rank}D` });
    return SpatialDropout as unknown as ImageLayerClass;
  };
}

/** The centred window of a (h, w) image with the aspect ratio of (th, tw), as Keras' smart_resize crops. */
export function aspectCrop(h: number, w: number, th: number, tw: number): { top: number; left: number; height: number; width: number } {
  const height = Math.min(h, Math.trunc((w * th) / tw));
  const width = Math.min(w, Math.trunc((h * tw) / th));
  return { top: Math.trunc((h - height) / 2), left: Math.trunc((w - width) / 2), height, width };
}

export function makeResizing(tf: Tf): ImageLayerClass {
  class Resizing extends tf.layers.Layer {
    static className = 'Resizing';
    readonly height: number;
    readonly width: number;
    readonly interpolation: string;
    readonly cropToAspectRatio: boolean;
    constructor(c: Config) {
      super(c);
      this.height = c.height as number;
      this.width = c.width as number;
      this.interpolation = (c.interpolation as string | undefined) ?? 'bilinear';
      this.cropToAspectRatio = Boolean(c.cropToAspectRatio);
    }
    override computeOutputShape(s: Shape | Shape[]): Shape {
      const x = single(s);
      return [x[0]!, this.height, this.width, x[3]!];
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        let x = one(inputs);
        if (this.cropToAspectRatio) {
          const c = aspectCrop(x.shape[1]!, x.shape[2]!, this.height, this.width);
          x = tf.slice(x, [0, c.top, c.left, 0], [-1, c.height, c.width, -1]);
        }
        return resize(tf, x, [this.height, this.width], this.interpolation);
      });
    }
    override getConfig(): TF.serialization.ConfigDict {
      return { ...super.getConfig(), height: this.height, width: this.width, interpolation: this.interpolation, cropToAspectRatio: this.cropToAspectRatio };
    }
  }
  return Resizing as unknown as ImageLayerClass;
}

/** RandomHeight (axis 1) or RandomWidth (axis 2). */
export function makeRandomSize(axis: 1 | 2) {
  const className = axis === 1 ? 'RandomHeight' : 'RandomWidth';
  return (tf: Tf): ImageLayerClass => {
    class RandomSize extends tf.layers.Layer {
      static className = className;
      readonly factor: number | [number, number];
      readonly interpolation: string;
      readonly seed: number | null;
      private readonly draw: () => number;
      constructor(c: Config) {
        super(c);
        this.factor = c.factor as number | [number, number];
        this.interpolation = (c.interpolation as string | undefined) ?? 'bilinear';
        this.seed = (c.seed as number | null | undefined) ?? null;
        this.draw = uniform(this.seed);
      }
      override computeOutputShape(s: Shape | Shape[]): Shape {
        const x = [...single(s)];
        x[axis] = null;
        return x;
      }
      override call(inputs: TF.Tensor | TF.Tensor[], kwargs: Record<string, unknown>): TF.Tensor {
        return tf.tidy(() => {
          const x = one(inputs);
          if (!kwargs.training) return tf.clone(x);
          const [lower, upper] = Array.isArray(this.factor) ? this.factor : [-this.factor, this.factor];
          const f = 1 + lower + (upper - lower) * this.draw();
          const size: [number, number] = [x.shape[1]!, x.shape[2]!];
          size[axis - 1] = Math.max(1, Math.trunc(f * size[axis - 1]!));
          return resize(tf, x, size, this.interpolation);
        });
      }
      override getConfig(): TF.serialization.ConfigDict {
        return { ...super.getConfig(), factor: this.factor, interpolation: this.interpolation, seed: this.seed };
      }
    }
    Object.defineProperty(RandomSize, 'name', { value: className });
    return RandomSize as unknown as ImageLayerClass;
  };
}
