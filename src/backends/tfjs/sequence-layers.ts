/**
 * Sequence layers that TensorFlow.js 4.22 lacks, as tfjs layers registered for serialization under
 * Keras' class names (so a model.json that holds them loads back, and Keras JSON names them as
 * Keras does): UpSampling1D and ZeroPadding1D. Each is a few tensor ops whose gradients tfjs has
 * (tile/reshape, pad), on every backend. And a faster Orthogonal initializer (below).
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

type Factory = (config: unknown) => TF.layers.Layer;

const made = new WeakMap<object, Record<string, Factory>>();

/**
 * The sequence layers' factories for this tfjs, by the tfjs factory name an op's mapping gives
 * (`upSampling1d`), made and registered (with the Orthogonal initializer) once per tfjs instance.
 * Long (~95 lines) by design: the classes are declared in here because their base class,
 * tf.layers.Layer, comes from the tfjs instance loaded at run time (tfjs is imported lazily).
 */
export function sequenceLayerFactories(tf: Tf): Record<string, Factory> {
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

  /**
   * tfjs' Orthogonal (every recurrent kernel's default) as Keras computes it, QR of a normal matrix
   * with Q's columns signed by R's diagonal, but the QR (modified Gram-Schmidt, in float64) in
   * JavaScript: tfjs' linalg.qr is a loop of small tensor ops, 3.2-4.0 s for one LSTM(64)'s 64x256
   * on the cpu backend; building specs/lstm-text-classifier.yaml on cpu took 14.5 s with it, 0.19 s
   * with this (2026-12-04, the 2-core shared dev machine, `buildModel` timed in node). Registered under tfjs' class name, so 'orthogonal' finds it and
   * Keras JSON still says Orthogonal.
   */
  class Orthogonal extends tf.serialization.Serializable {
    static className = 'Orthogonal';
    readonly gain: number;
    readonly seed: number | undefined;
    constructor(args: { gain?: number; seed?: number } = {}) {
      super();
      this.gain = args.gain ?? 1;
      this.seed = args.seed;
    }
    apply(shape: number[], dtype?: TF.DataType): TF.Tensor {
      if (shape.length < 2) throw new Error('orthogonal initializer: the shape must be at least 2D');
      const cols = shape[shape.length - 1]!;
      const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const [m, n] = [Math.max(rows, cols), Math.min(rows, cols)];
      const a = Float64Array.from(tf.tidy(() => tf.randomNormal([m, n], 0, 1, 'float32', this.seed)).dataSync());
      const q = orthonormalColumns(a, m, n);
      // q is (m, n); the result is (rows, cols): q itself, or its transpose when rows < cols.
      const out = new Float32Array(rows * cols);
      for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = this.gain * (rows >= cols ? q[i * n + j]! : q[j * n + i]!);
      return tf.tensor(out, shape, dtype === 'int32' ? 'int32' : 'float32');
    }
    getConfig(): TF.serialization.ConfigDict {
      return { gain: this.gain, ...(this.seed !== undefined ? { seed: this.seed } : {}) };
    }
  }

  tf.serialization.registerClass(Orthogonal);
  tf.serialization.registerClass(UpSampling1D);
  tf.serialization.registerClass(ZeroPadding1D);
  f = {
    upSampling1d: (config) => new UpSampling1D(config as never),
    zeroPadding1d: (config) => new ZeroPadding1D(config as never),
  };
  made.set(tf, f);
  return f;
}

/**
 * The Q of a's QR (a: m x n, row-major, m >= n) by modified Gram-Schmidt: orthonormal columns, each
 * with a positive component along a's column (R's diagonal positive, as Keras makes it with
 * sign(diag(r))). A column that is numerically dependent (never, for a normal matrix) is left zero.
 */
export function orthonormalColumns(a: Float64Array, m: number, n: number): Float64Array {
  const q = Float64Array.from(a);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < j; k++) {
      let dot = 0;
      for (let i = 0; i < m; i++) dot += q[i * n + k]! * q[i * n + j]!;
      for (let i = 0; i < m; i++) q[i * n + j]! -= dot * q[i * n + k]!;
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += q[i * n + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < m; i++) q[i * n + j] = norm > 1e-12 ? q[i * n + j]! / norm : 0;
  }
  return q;
}
