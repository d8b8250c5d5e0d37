/**
 * Keras' GRU with `reset_after: true` (Keras 2's default, the cuDNN form), which TensorFlow.js 4.22
 * refuses ("GRUCell does not support reset_after parameter set to true"). A cell that extends tfjs'
 * GRUCell with Keras' weights and step:
 *
 *   bias (2, 3u): row 0 the input bias, row 1 the recurrent bias
 *   [x_z, x_r, x_h] = x W + b_in          [r_z, r_r, r_h] = h W_rec + b_rec
 *   z = rec_act(x_z + r_z)   r = rec_act(x_r + r_r)   hh = act(x_h + r * r_h)
 *   h' = z * h + (1 - z) * hh
 *
 * and a GRU layer that extends tfjs' GRU (so tfjs' RNN loop gives go_backwards, return_sequences,
 * masking, dropout masks and unknown lengths) with that cell when reset_after is true. It is
 * registered under tfjs' class name `GRU`: with reset_after false (what a model.json without it
 * gets) everything is tfjs' own GRU, its config unchanged. The step uses only MatMul, Add, Mul,
 * Sub, Split, Reshape and the activations, whose gradients tfjs has on every backend.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend.js';

type Config = Record<string, unknown>;
type Shape = (number | null)[];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ctor = new (config: any) => TF.layers.Layer;

/** The fields of tfjs' GRUCell the reset_after step reads (they are not in its public typings). */
interface CellFields {
  units: number; useBias: boolean; dropout: number; recurrentDropout: number;
  kernel: TF.LayerVariable; recurrentKernel: TF.LayerVariable; bias: TF.LayerVariable | null;
  kernelInitializer: unknown; recurrentInitializer: unknown; biasInitializer: unknown;
  kernelRegularizer: unknown; recurrentRegularizer: unknown; biasRegularizer: unknown;
  kernelConstraint: unknown; recurrentConstraint: unknown; biasConstraint: unknown;
  activation: { apply(x: TF.Tensor): TF.Tensor }; recurrentActivation: { apply(x: TF.Tensor): TF.Tensor };
  dropoutMask: TF.Tensor[] | null; recurrentDropoutMask: TF.Tensor[] | null;
}

/** A dropout mask as tfjs' RNN cells make them: ones dropped with `rate` (scaled), at training time only. */
function dropoutMask(tf: Tf, like: TF.Tensor, rate: number, training: boolean): TF.Tensor {
  return tf.tidy(() => {
    const ones = tf.onesLike(like);
    return training ? tf.dropout(ones, rate) : ones;
  });
}

/** tfjs' GRU class with a Keras reset_after cell, made for this tfjs (its GRU and GRUCell as bases). */
export function makeGruClass(tf: Tf): Ctor & { className: string } {
  const registry = tf.serialization.SerializationMap.getMap().classNameMap as unknown as Record<string, [Ctor, unknown]>;
  const BaseCell = registry.GRUCell![0];
  const BaseGru = registry.GRU![0];

  class ResetAfterGRUCell extends BaseCell {
    static className = 'GRUCell';
    constructor(c: Config) {
      super({ ...c, resetAfter: false });
    }
    private get f(): CellFields {
      return this as unknown as CellFields;
    }
    override build(s: Shape | Shape[]): void {
      const x = (Array.isArray(s[0]) ? s[0] : s) as Shape;
      const f = this.f, u = f.units;
      const add = (name: string, shape: number[], init: unknown, reg: unknown, con: unknown) =>
        this.addWeight(name, shape, 'float32', init as never, reg as never, true, con as never);
      f.kernel = add('kernel', [x[x.length - 1] as number, 3 * u], f.kernelInitializer, f.kernelRegularizer, f.kernelConstraint);
      f.recurrentKernel = add('recurrent_kernel', [u, 3 * u], f.recurrentInitializer, f.recurrentRegularizer, f.recurrentConstraint);
      f.bias = f.useBias ? add('bias', [2, 3 * u], f.biasInitializer, f.biasRegularizer, f.biasConstraint) : null;
      this.built = true;
    }
    /** inputs [x_t (batch, features), h (batch, units)] -> [h', h']. */
    override call(inputs: TF.Tensor | TF.Tensor[], kwargs: Record<string, unknown>): TF.Tensor[] {
      return tf.tidy(() => {
        const f = this.f;
        let [x, h] = inputs as TF.Tensor[];
        const training = (kwargs.training as boolean | undefined) ?? false;
        if (f.dropout > 0 && f.dropout < 1) {
          f.dropoutMask ??= [tf.keep(dropoutMask(tf, x!, f.dropout, training))];
          x = tf.mul(x!, f.dropoutMask[0]!);
        }
        const hIn = f.recurrentDropout > 0 && f.recurrentDropout < 1
          ? tf.mul(h!, (f.recurrentDropoutMask ??= [tf.keep(dropoutMask(tf, h!, f.recurrentDropout, training))])[0]!)
          : h!;
        let mx = tf.matMul(x!, f.kernel.read());
        let mh = tf.matMul(hIn, f.recurrentKernel.read());
        if (f.bias) {
          const [bIn, bRec] = tf.split(f.bias.read(), 2, 0);
          mx = tf.add(mx, tf.reshape(bIn!, [-1]));
          mh = tf.add(mh, tf.reshape(bRec!, [-1]));
        }
        const [xz, xr, xh] = tf.split(mx, 3, 1);
        const [rz, rr, rh] = tf.split(mh, 3, 1);
        const z = f.recurrentActivation.apply(tf.add(xz!, rz!));
        const r = f.recurrentActivation.apply(tf.add(xr!, rr!));
        const hh = f.activation.apply(tf.add(xh!, tf.mul(r, rh!)));
        const next = tf.add(tf.mul(z, h!), tf.mul(tf.sub(1, z), hh));
        return [next, next];
      });
    }
    override getConfig(): TF.serialization.ConfigDict {
      return { ...super.getConfig(), resetAfter: true };
    }
  }

  class GRU extends BaseGru {
    static className = 'GRU';
    readonly resetAfter: boolean;
    constructor(c: Config) {
      const resetAfter = (c.resetAfter as boolean | undefined) ?? false;
      super({ ...c, resetAfter: false });
      this.resetAfter = resetAfter;
      if (resetAfter) (this as unknown as { cell: TF.layers.Layer }).cell = new ResetAfterGRUCell(c);
    }
  }
  return GRU as unknown as Ctor & { className: string };
}
