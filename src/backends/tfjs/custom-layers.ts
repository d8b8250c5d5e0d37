/**
 * Keras layers that TensorFlow.js 4.22 lacks, as tfjs layers registered for serialization under
 * Keras' class names (so a model.json that holds them loads back, and Keras JSON names them as
 * Keras does): UpSampling1D and ZeroPadding1D. Each is a few tensor ops whose gradients tfjs has
 * (tile/reshape, pad), on every backend.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

type Factory = (config: unknown) => TF.layers.Layer;

const made = new WeakMap<object, Record<string, Factory>>();

/** The custom layers' factories for this tfjs (classes defined and registered once per tfjs instance). */
function customFactories(tf: Tf): Record<string, Factory> {
  let f = made.get(tf);
  if (f) return f;
  const one = (x: TF.Tensor | TF.Tensor[]) => (Array.isArray(x) ? x[0]! : x);
  const shape = (s: TF.Shape | TF.Shape[]) => (Array.isArray(s[0]) ? s[0] : s) as (number | null)[];

  class UpSampling1D extends tf.layers.Layer {
    static className = 'UpSampling1D';
    readonly size: number;
    constructor(args: { size?: number; name?: string }) {
      super(args);
      this.size = args.size ?? 2;
    }
    override computeOutputShape(s: TF.Shape | TF.Shape[]): TF.Shape {
      const [b, t, c] = shape(s);
      return [b ?? null, t === null || t === undefined ? null : t * this.size, c ?? null];
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        const x = one(inputs);
        const [b, t, c] = x.shape as [number, number, number];
        return tf.reshape(tf.tile(tf.expandDims(x, 2), [1, 1, this.size, 1]), [b, t * this.size, c]);
      });
    }
    override getConfig(): TF.serialization.ConfigDict {
      return { ...super.getConfig(), size: this.size };
    }
  }

  class ZeroPadding1D extends tf.layers.Layer {
    static className = 'ZeroPadding1D';
    readonly padding: [number, number];
    constructor(args: { padding?: number | number[]; name?: string }) {
      super(args);
      const p = args.padding ?? 1;
      this.padding = typeof p === 'number' ? [p, p] : [p[0]!, p[1]!];
    }
    override computeOutputShape(s: TF.Shape | TF.Shape[]): TF.Shape {
      const [b, t, c] = shape(s);
      return [b ?? null, t === null || t === undefined ? null : t + this.padding[0] + this.padding[1], c ?? null];
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => tf.pad(one(inputs), [[0, 0], this.padding, [0, 0]]));
    }
    override getConfig(): TF.serialization.ConfigDict {
      return { ...super.getConfig(), padding: [...this.padding] };
    }
  }

  tf.serialization.registerClass(UpSampling1D);
  tf.serialization.registerClass(ZeroPadding1D);
  f = {
    upSampling1d: (config) => new UpSampling1D(config as never),
    zeroPadding1d: (config) => new ZeroPadding1D(config as never),
  };
  made.set(tf, f);
  return f;
}

/** Register the custom layers with this tfjs's serialization (so model.json files that use them load). */
export function registerCustomLayers(tf: Tf): void {
  customFactories(tf);
}

/** `tf.layers[factory]`, or one of the custom layers above; undefined for neither. */
export function layerFactory(tf: Tf, factory: string): Factory | undefined {
  return (tf.layers as unknown as Record<string, Factory | undefined>)[factory] ?? customFactories(tf)[factory];
}
