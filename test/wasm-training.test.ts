/**
 * Training on the wasm backend (issue 3, "Done when", second bullet).
 *
 * - Each seed model (MNIST CNN, Y-network, ResNet20v1 (n=3), ResNet20v2 (n=2)) built by the
 *   interpreter runs one training step (trainOnBatch, Adam, categorical cross-entropy, a tiny
 *   random batch) on wasm with a finite loss and updated weights.
 * - For the MNIST CNN, with identical initial weights (built on cpu, seeded, copied with
 *   getWeights/setWeights into a model built on wasm), identical seeded inputs and the same
 *   dropout mask (the Dropout layers are given a seed after building), the loss and the gradient
 *   of every trainable weight agree between wasm and cpu, and so does the first trainOnBatch loss.
 * - A small ResNet written inline (the layer kinds of ResNet20v1: BatchNorm in training mode,
 *   strided and 1x1 projection convolutions, a residual add, average pooling), the same way (no
 *   dropout there), so that the BatchNorm backward pieces (Tile, the Sum and Mean gradients),
 *   AvgPoolGrad and the strided convolution gradients take part.
 * - The convolution gradient kernels that modelspec registers for wasm
 *   (src/backends/tfjs/wasm-kernels/), through tf.grad, against the cpu backend over many random
 *   shapes. (test/wasm-kernels.test.ts tests every kernel there directly, with fast-check.)
 *
 * Data moves between backends only as plain arrays (dataSync -> tf.tensor); tf.setBackend
 * switches between the computations. The cpu backend's convolution gradients are slow, so its
 * inputs are tiny (batch 2 for the MNIST CNN).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type Tf } from '../src/build.js';
import { spec } from './helpers.js';
import { mulberry32 as prng } from '../src/train/rng.js';

/** Tolerances, stated in the test names. */
const GRAD_REL_TOL = 1e-4; // max |g_wasm - g_cpu| <= GRAD_REL_TOL * max |g_cpu|, per weight tensor
const LOSS_REL_TOL = 1e-5; // |L_wasm - L_cpu| <= LOSS_REL_TOL * |L_cpu|
const KERNEL_REL_TOL = 1e-5; // max |dW_wasm - dW_cpu| <= KERNEL_REL_TOL * max(1, max |dW_cpu|)
// ResNet: BatchNorm's backward pass divides by the batch standard deviation (of 3 images here),
// which magnifies float32 rounding differences in the convolutions below it.
const RESNET_GRAD_REL_TOL = 1e-4; // max |g_wasm - g_cpu| <= RESNET_GRAD_REL_TOL * (max |g_cpu| over the weight's layer)

let tf: Tf;

beforeAll(async () => {
  // Loading wasm registers modelspec's training kernels; loading cpu afterwards makes both available.
  const wasm = await loadTf('wasm');
  expect(wasm.backend).toBe('wasm');
  tf = wasm.tf;
  await loadTf('cpu');
  expect(tf.findBackend('wasm')).toBeTruthy();
  expect(tf.findBackend('cpu')).toBeTruthy();
  expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeTruthy();
});

async function use(backend: 'wasm' | 'cpu'): Promise<void> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
  expect(tf.getBackend()).toBe(backend);
}


const uniform = (rand: () => number, n: number, lo = 0, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

function oneHot(labels: number[], classes: number): TF.Tensor2D {
  const data = new Float32Array(labels.length * classes);
  labels.forEach((l, i) => (data[i * classes + l] = 1));
  return tf.tensor2d(data, [labels.length, classes]);
}

describe('one training step on the wasm backend', () => {
  const models = [
    { title: 'MNIST CNN', spec: 'mnist-cnn.yaml', set: [] as string[], inputs: [[28, 28, 1]] },
    { title: 'Y-network', spec: 'y-network.yaml', set: [], inputs: [[28, 28, 1], [28, 28, 1]] },
    { title: 'ResNet20v1 (n=3)', spec: 'resnet-v1.yaml', set: ['n=3'], inputs: [[32, 32, 3]] },
    { title: 'ResNet20v2 (n=2)', spec: 'resnet-v2.yaml', set: ['n=2'], inputs: [[32, 32, 3]] },
  ];

  it.each(models)('$title: trainOnBatch (adam, categorical cross-entropy, batch 2) gives a finite loss and moves the weights', async (c) => {
    await use('wasm');
    const before = tf.memory().numTensors;
    const model = await buildModel(spec(c.spec), c.set, { tf });
    const rand = prng(42);
    const batch = 2;
    const xs = c.inputs.map((shape) => tf.tensor(uniform(rand, batch * size(shape)), [batch, ...shape]));
    const y = oneHot([3, 7], 10);
    try {
      model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
      const w0 = model.trainableWeights.map((w) => w.read().dataSync().slice());
      const loss = (await model.trainOnBatch(xs.length === 1 ? xs[0]! : xs, y)) as number;
      expect(tf.getBackend()).toBe('wasm');
      expect(typeof loss).toBe('number');
      expect(Number.isFinite(loss), `loss ${loss}`).toBe(true);
      expect(loss).toBeGreaterThan(0);
      // Every trainable weight took the step (Adam moves each weight with a nonzero gradient by ~lr).
      const moved = model.trainableWeights.map((w, i) => maxAbsDiff(w.read().dataSync(), w0[i]!) > 0);
      expect(moved.filter((m) => !m).length, 'trainable weights that did not move').toBe(0);
      // And the parameters stay finite.
      for (const w of model.trainableWeights) expect(w.read().dataSync().every(Number.isFinite)).toBe(true);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
      tf.dispose([...xs, y]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('MNIST CNN: wasm agrees with cpu from identical weights, inputs and dropout mask', () => {
  const BATCH = 2;
  const LABELS = [3, 7];
  interface Run {
    weights: { shape: number[]; data: Float32Array }[];
    names: string[];
    loss: number;
    grads: Float32Array[];
    stepLoss: number;
  }

  /** Build on `backend` (with the given initial weights if any), compute loss and gradients, then take one training step. */
  async function run(backend: 'wasm' | 'cpu', initial?: Run['weights']): Promise<Run> {
    await use(backend);
    const model = await buildModel(spec('mnist-cnn.yaml'), [], { tf });
    const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout');
    expect(dropouts.length).toBe(1);
    for (const l of dropouts) (l as unknown as { seed: number }).seed = 1234; // the same mask on both backends
    // The first model's weights are made deterministic, so that every run measures the same thing:
    // seeded glorot_uniform kernels (limit sqrt(6 / (fan_in + fan_out))) and small nonzero biases.
    // The second model gets the first one's weights.
    const rand = prng(11);
    const ws = initial
      ? initial.map((w) => tf.tensor(w.data, w.shape))
      : model.getWeights().map((w) => {
          const receptive = size(w.shape.slice(0, -2));
          const limit = w.rank === 1 ? 0.1 : Math.sqrt(6 / (receptive * (w.shape.at(-2)! + w.shape.at(-1)!)));
          return tf.tensor(uniform(rand, w.size, -limit, limit), w.shape);
        });
    model.setWeights(ws);
    tf.dispose(ws);
    const weights = model.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync().slice() as Float32Array }));
    const x = tf.tensor4d(uniform(prng(7), BATCH * 28 * 28), [BATCH, 28, 28, 1]);
    const y = oneHot(LABELS, 10);
    try {
      expect(model.losses.length, 'MNIST CNN has no regularization losses').toBe(0);
      const vars = model.trainableWeights.map((w) => w.read() as TF.Variable); // LayerVariable.read() is the tf.Variable
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as TF.Tensor)) as TF.Scalar,
        vars,
      );
      // Dropout is active in these computations (else the seeded mask would prove nothing).
      const inference = tf.tidy(() => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: false }) as TF.Tensor)).dataSync()[0]!);
      expect(Math.abs(inference - value.dataSync()[0]!)).toBeGreaterThan(1e-4);
      const result = {
        weights,
        names: model.trainableWeights.map((w) => w.originalName),
        loss: value.dataSync()[0]!,
        grads: vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array),
      };
      tf.dispose([value, ...Object.values(grads)]);
      model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
      const stepLoss = (await model.trainOnBatch(x, y)) as number;
      expect(tf.getBackend()).toBe(backend);
      return { ...result, stepLoss };
    } finally {
      model.optimizer?.dispose();
      model.dispose();
      tf.dispose([x, y]);
    }
  }

  let cpu: Run;
  let wasm: Run;
  beforeAll(async () => {
    cpu = await run('cpu');
    wasm = await run('wasm', cpu.weights);
  }, 60_000);

  it('starts from identical weights', () => {
    expect(wasm.weights.length).toBe(cpu.weights.length);
    wasm.weights.forEach((w, i) => {
      expect(w.shape).toEqual(cpu.weights[i]!.shape);
      expect(maxAbsDiff(w.data, cpu.weights[i]!.data)).toBe(0);
    });
  });

  it(`the loss and the first trainOnBatch loss agree: |L_wasm - L_cpu| <= ${LOSS_REL_TOL} * |L_cpu|`, () => {
    const d = Math.abs(wasm.loss - cpu.loss);
    const dStep = Math.abs(wasm.stepLoss - cpu.stepLoss);
    console.log(`MNIST CNN loss: cpu ${cpu.loss}, wasm ${wasm.loss}, |diff| ${d}; first step: cpu ${cpu.stepLoss}, wasm ${wasm.stepLoss}, |diff| ${dStep}`);
    expect(Number.isFinite(cpu.loss) && Number.isFinite(wasm.loss)).toBe(true);
    expect(d).toBeLessThanOrEqual(LOSS_REL_TOL * Math.abs(cpu.loss));
    // trainOnBatch's loss is the same quantity, computed by tfjs-layers' training loop.
    expect(dStep).toBeLessThanOrEqual(LOSS_REL_TOL * Math.abs(cpu.stepLoss));
    expect(Math.abs(cpu.stepLoss - cpu.loss)).toBeLessThanOrEqual(LOSS_REL_TOL * Math.abs(cpu.loss));
  });

  it(`the gradient of every trainable weight agrees: max |g_wasm - g_cpu| <= ${GRAD_REL_TOL} * max |g_cpu| per weight`, () => {
    expect(wasm.names).toEqual(cpu.names);
    expect(cpu.grads.length).toBe(8); // 3 conv2d + dense, kernel and bias
    const rows = cpu.grads.map((g, i) => {
      const scale = maxAbs(g);
      const diff = maxAbsDiff(wasm.grads[i]!, g);
      return { weight: cpu.names[i]!, scale, diff, rel: diff / scale };
    });
    console.log('MNIST CNN gradients, wasm vs cpu:\n' + rows.map((r) => `  ${r.weight}: max |g| ${r.scale.toExponential(3)}, max |diff| ${r.diff.toExponential(3)}, relative ${r.rel.toExponential(3)}`).join('\n'));
    console.log(`  overall max relative difference: ${Math.max(...rows.map((r) => r.rel)).toExponential(3)} (tolerance ${GRAD_REL_TOL})`);
    for (const r of rows) {
      expect(r.scale, `${r.weight}: the gradient is not all zero`).toBeGreaterThan(0);
      expect(r.rel, r.weight).toBeLessThanOrEqual(GRAD_REL_TOL);
    }
  });
});

/** A small residual network in the spec language: the layer kinds of ResNet20v1 at a size the cpu backend differentiates quickly. */
const TINY_RESNET = `modelspec: 1
name: tiny_resnet
inputs:
  image: {shape: [12, 12, 2]}
layers:
  - conv2d: {filters: 4, kernel_size: 3, padding: same}
  - batch_normalization: {}
  - activation: relu
  - branches:
      - - conv2d: {filters: 6, kernel_size: 1, strides: 2, padding: same}
      - - conv2d: {filters: 6, kernel_size: 3, strides: 2, padding: same}
        - batch_normalization: {}
        - activation: relu
        - conv2d: {filters: 6, kernel_size: 3, padding: same}
        - batch_normalization: {}
    merge: add
  - activation: relu
  - average_pooling2d: {pool_size: 3}
  - flatten: {}
  - dense: {units: 10, activation: softmax}
`;

describe('a small ResNet: wasm agrees with cpu from identical weights and inputs (BatchNorm in training mode, strided and 1x1 convolutions, average pooling)', () => {
  const BATCH = 3;
  const LABELS = [1, 8, 4];

  /** Loss and gradients for every trainable weight, from the given initial weights (else seeded ones). */
  async function run(backend: 'wasm' | 'cpu', initial?: { shape: number[]; data: Float32Array }[]) {
    await use(backend);
    const model = await buildModel(TINY_RESNET, [], { tf });
    const rand = prng(5);
    const ws = initial
      ? initial.map((w) => tf.tensor(w.data, w.shape))
      : model.getWeights().map((w, i) => {
          const receptive = size(w.shape.slice(0, -2));
          const limit = w.rank === 1 ? 0.1 : Math.sqrt(6 / (receptive * (w.shape.at(-2)! + w.shape.at(-1)!)));
          // BatchNorm's gammas and moving variances near 1 (the variances must stay positive).
          return /gamma|variance/.test(model.weights[i]!.originalName) ? tf.tensor(uniform(rand, w.size, 0.8, 1.2), w.shape) : tf.tensor(uniform(rand, w.size, -limit, limit), w.shape);
        });
    model.setWeights(ws);
    tf.dispose(ws);
    const weights = model.getWeights().map((w) => ({ shape: w.shape, data: w.dataSync().slice() as Float32Array }));
    const x = tf.tensor4d(uniform(prng(9), BATCH * 12 * 12 * 2, -1, 1), [BATCH, 12, 12, 2]);
    const y = oneHot(LABELS, 10);
    try {
      const vars = model.trainableWeights.map((w) => w.read() as TF.Variable);
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.metrics.categoricalCrossentropy(y, model.apply(x, { training: true }) as TF.Tensor)) as TF.Scalar,
        vars,
      );
      const result = { weights, names: model.trainableWeights.map((w) => w.originalName), loss: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!.dataSync().slice() as Float32Array) };
      tf.dispose([value, ...Object.values(grads)]);
      expect(tf.getBackend()).toBe(backend);
      return result;
    } finally {
      model.dispose();
      tf.dispose([x, y]);
    }
  }

  it(`the loss agrees (|L_wasm - L_cpu| <= ${LOSS_REL_TOL} * |L_cpu|), and so does every gradient: max |g_wasm - g_cpu| <= ${RESNET_GRAD_REL_TOL} * max |g| (the largest gradient of the layer)`, async () => {
    const before = tf.memory().numTensors;
    const cpu = await run('cpu');
    const wasm = await run('wasm', cpu.weights);
    expect(tf.memory().numTensors).toBe(before);
    expect(wasm.names).toEqual(cpu.names);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThanOrEqual(LOSS_REL_TOL * Math.abs(cpu.loss));
    // A convolution's bias right before BatchNorm has a gradient of zero in exact arithmetic
    // (BatchNorm subtracts the batch mean), so a weight's difference is measured against the
    // largest gradient of its layer.
    const layerOf = (name: string) => name.slice(0, name.lastIndexOf('/'));
    const layerScale = new Map<string, number>();
    cpu.grads.forEach((g, i) => layerScale.set(layerOf(cpu.names[i]!), Math.max(layerScale.get(layerOf(cpu.names[i]!)) ?? 0, maxAbs(g))));
    const rows = cpu.grads.map((g, i) => {
      const scale = layerScale.get(layerOf(cpu.names[i]!))!;
      return { weight: cpu.names[i]!, scale, rel: maxAbsDiff(wasm.grads[i]!, g) / scale };
    });
    const worst = rows.reduce((a, b) => (b.rel > a.rel ? b : a));
    console.log(`small ResNet gradients, wasm vs cpu: ${rows.length} weights, worst relative max difference ${worst.rel.toExponential(3)} (${worst.weight}; tolerance ${RESNET_GRAD_REL_TOL})`);
    for (const r of rows) {
      expect(r.scale, `${r.weight}: the layer's gradient is not all zero`).toBeGreaterThan(0);
      expect(r.rel, r.weight).toBeLessThanOrEqual(RESNET_GRAD_REL_TOL);
    }
  }, 60_000);
});

describe('the wasm convolution gradient kernels (Conv2DBackpropFilter, Conv2DBackpropInput) against the cpu backend', () => {
  interface ConvCase {
    batch: number;
    h: number;
    w: number;
    cin: number;
    cout: number;
    kh: number;
    kw: number;
    sh: number;
    sw: number;
    /** 'same' / 'valid', as Keras layers use; a number (explicit padding, rounding down) as tf.conv2d also allows. */
    pad: 'same' | 'valid' | number;
  }

  /**
   * Random cases: batch 1-3, sizes 5-12 (height and width apart), channels 1-4, kernel 1-5, strides
   * 1-3 (each apart for rows and columns), same/valid; explicit padding 0-2 (square kernel and
   * strides); and every combination of the extremes of kernel, stride and size (batch 3, 4 -> 4
   * channels).
   */
  function cases(): ConvCase[] {
    const rand = prng(2024);
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    const out: ConvCase[] = [];
    for (let i = 0; i < 80; i++) {
      out.push({
        batch: int(1, 3),
        h: int(5, 12),
        w: int(5, 12),
        cin: int(1, 4),
        cout: int(1, 4),
        kh: int(1, 5),
        kw: int(1, 5),
        sh: int(1, 3),
        sw: int(1, 3),
        pad: rand() < 0.5 ? 'same' : 'valid',
      });
    }
    // Explicit padding: square kernels and strides only (tfjs-core's computeOutputShape2D sizes
    // both output dims from the filter height and row stride when the padding is a number).
    for (let i = 0; i < 16; i++) {
      const k = int(1, 5);
      const st = int(1, 3);
      out.push({ batch: int(1, 3), h: int(5, 12), w: int(5, 12), cin: int(1, 4), cout: int(1, 4), kh: k, kw: k, sh: st, sw: st, pad: int(0, 2) });
    }
    for (const pad of ['same', 'valid'] as const) {
      for (const k of [1, 5]) {
        for (const s of [1, 3]) {
          for (const n of [5, 12]) out.push({ batch: 3, h: n, w: n, cin: 4, cout: 4, kh: k, kw: k, sh: s, sw: s, pad });
        }
      }
    }
    return out;
  }

  const conv = (c: ConvCase, x: TF.Tensor4D, w: TF.Tensor4D) =>
    typeof c.pad === 'number' ? tf.conv2d(x, w, [c.sh, c.sw], c.pad, 'NHWC', 1, 'floor') : tf.conv2d(x, w, [c.sh, c.sw], c.pad);

  /** dW = d/dW sum(conv2d(x, W) * r), on the current backend, as a plain array. */
  function filterGrad(c: ConvCase, x: Float32Array, w: Float32Array, r: Float32Array, rShape: number[]): Float32Array {
    return tf.tidy(() => {
      const xt = tf.tensor4d(x, [c.batch, c.h, c.w, c.cin]);
      const rt = tf.tensor4d(r, rShape as [number, number, number, number]);
      const g = tf.grad((wt: TF.Tensor) => tf.sum(tf.mul(conv(c, xt, wt as TF.Tensor4D), rt)));
      return g(tf.tensor4d(w, [c.kh, c.kw, c.cin, c.cout])).dataSync().slice() as Float32Array;
    });
  }

  /** dx = d/dx sum(conv2d(x, W) * r), on the current backend. */
  function inputGrad(c: ConvCase, x: Float32Array, w: Float32Array, r: Float32Array, rShape: number[]): Float32Array {
    return tf.tidy(() => {
      const wt = tf.tensor4d(w, [c.kh, c.kw, c.cin, c.cout]);
      const rt = tf.tensor4d(r, rShape as [number, number, number, number]);
      const g = tf.grad((xt: TF.Tensor) => tf.sum(tf.mul(conv(c, xt as TF.Tensor4D, wt), rt)));
      return g(tf.tensor4d(x, [c.batch, c.h, c.w, c.cin])).dataSync().slice() as Float32Array;
    });
  }

  /** Random operands of a case: x, W and the output weighting r (whose shape is the output's). */
  function operands(c: ConvCase, rand: () => number) {
    const p = typeof c.pad === 'number' ? c.pad : 0;
    const valid = c.pad !== 'same';
    const ho = valid ? Math.floor((c.h + 2 * p - c.kh) / c.sh) + 1 : Math.ceil(c.h / c.sh);
    const wo = valid ? Math.floor((c.w + 2 * p - c.kw) / c.sw) + 1 : Math.ceil(c.w / c.sw);
    const rShape = [c.batch, ho, wo, c.cout];
    return {
      x: uniform(rand, c.batch * c.h * c.w * c.cin, -1, 1),
      w: uniform(rand, c.kh * c.kw * c.cin * c.cout, -1, 1),
      r: uniform(rand, size(rShape), -1, 1),
      rShape,
    };
  }

  it(`input gradient matches cpu over ${cases().length} shapes (every stride through modelspec's kernel): max |dx_wasm - dx_cpu| <= ${KERNEL_REL_TOL} * max(1, max |dx_cpu|)`, async () => {
    const rand = prng(7);
    const failures: string[] = [];
    let worst = 0;
    for (const c of cases()) {
      const { x, w, r, rShape } = operands(c, rand);
      await use('cpu');
      const ref = inputGrad(c, x, w, r, rShape);
      await use('wasm');
      const got = inputGrad(c, x, w, r, rShape);
      const rel = maxAbsDiff(got, ref) / Math.max(1, maxAbs(ref));
      worst = Math.max(worst, rel);
      if (!(rel <= KERNEL_REL_TOL)) failures.push(`${JSON.stringify(c)}: relative max difference ${rel}`);
    }
    console.log(`Conv2DBackpropInput wasm vs cpu: worst relative max difference ${worst.toExponential(3)} (tolerance ${KERNEL_REL_TOL})`);
    expect(failures).toEqual([]);
  });

  it(`matches cpu over ${cases().length} shapes (same, valid, explicit padding): max |dW_wasm - dW_cpu| <= ${KERNEL_REL_TOL} * max(1, max |dW_cpu|)`, async () => {
    const rand = prng(99);
    let worst = { rel: 0, c: undefined as ConvCase | undefined };
    let kernelCalls = 0;
    const failures: string[] = [];
    for (const c of cases()) {
      const { x, w, r, rShape } = operands(c, rand);
      await use('cpu');
      const ref = filterGrad(c, x, w, r, rShape);
      await use('wasm');
      const profile = await tf.profile(() => filterGrad(c, x, w, r, rShape));
      if (profile.kernels.some((k) => k.name === 'Conv2DBackpropFilter')) kernelCalls++;
      const got = profile.result as unknown as Float32Array;
      const rel = maxAbsDiff(got, ref) / Math.max(1, maxAbs(ref));
      if (rel > worst.rel) worst = { rel, c };
      if (!(rel <= KERNEL_REL_TOL)) failures.push(`${JSON.stringify(c)}: relative max difference ${rel}`);
    }
    console.log(`Conv2DBackpropFilter wasm vs cpu over ${cases().length} shapes: worst relative max difference ${worst.rel.toExponential(3)} at ${JSON.stringify(worst.c)} (tolerance ${KERNEL_REL_TOL})`);
    expect(kernelCalls, 'every wasm gradient went through the Conv2DBackpropFilter kernel').toBe(cases().length);
    expect(failures).toEqual([]);
  });
});
