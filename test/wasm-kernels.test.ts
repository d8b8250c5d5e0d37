/**
 * The wasm training kernels (src/backends/tfjs/wasm-kernels/) against the cpu backend's kernels,
 * property-tested over random shapes with fast-check.
 *
 * Each case writes the same inputs to both backends, runs the kernel registered for 'wasm' (ours)
 * and the one registered for 'cpu' (tfjs-backend-cpu's reference) directly (no engine, no
 * setBackend), and compares the outputs: shape equal, values within the tolerance in the test's
 * name. Every case also checks that the wasm backend holds no more data afterwards than before
 * (no intermediate left on the heap). Shapes are tiny (the cpu backend is slow) but cover strides,
 * 'same', 'valid' and explicit padding, windows larger than their stride (overlapping) and ties in
 * max pooling; the size thresholds of the kernels are lowered so that the fast paths run on them.
 * The gradients of Sum and Mean that the module replaces on wasm are compared through tf.grad.
 * The optional native kernels are switched off here (kernels.options.native), so that these are
 * the XNNPACK and JS paths; test/native-kernels.test.ts tests the native ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { loadTf, type Tf } from '../src/build.js';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, type KernelContext, type WasmKernelOptions } from '../src/backends/tfjs/wasm-kernels.js';

let tf: Tf;
/** The registered kernels' context; its options are set here to take every path on small shapes. */
let kernels: KernelContext;
let saved: WasmKernelOptions;

beforeAll(async () => {
  tf = (await loadTf('wasm')).tf;
  kernels = registerWasmTrainingKernels(tf); // registered by loadTf: its context
  saved = { ...kernels.options };
  await loadTf('cpu'); // both backends initialised; the current one does not matter for direct kernel calls
  // Take the fast paths on small shapes too.
  kernels.options.reduceMinSize = 0;
  // The XNNPACK and JS paths, not the native kernels (test/native-kernels.test.ts tests those).
  kernels.options.native = false;
});

afterAll(() => {
  Object.assign(kernels.options, saved);
});

type Dtype = 'float32' | 'int32' | 'bool';
interface Operand {
  values: Float32Array | Int32Array | Uint8Array;
  shape: number[];
  dtype?: Dtype;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Run kernel `name` of `backendName` directly on fresh copies of the operands; the output as plain data. */
function runKernel(backendName: 'wasm' | 'cpu', name: string, operands: Record<string, Operand>, attrs: object) {
  const backend = tf.findBackend(backendName) as KernelBackend;
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) throw new Error(`no ${name} kernel for ${backendName}`);
  const inputs: Record<string, TensorInfo> = {};
  for (const [k, o] of Object.entries(operands)) {
    const dtype = o.dtype ?? 'float32';
    inputs[k] = { dataId: backend.write(o.values, o.shape, dtype), shape: o.shape, dtype };
  }
  const before = backendName === 'wasm' ? backend.numDataIds() : 0;
  const out = (kernel.kernelFunc as KernelFunc)({ inputs, backend, attrs: attrs as never }) as TensorInfo;
  const values = (backend.readSync(out.dataId) as Float32Array).slice();
  const result = { values, shape: [...out.shape], dtype: out.dtype };
  backend.disposeData(out.dataId);
  for (const t of Object.values(inputs)) backend.disposeData(t.dataId);
  // Only the output was added, and now it is gone too.
  const leaked = backendName === 'wasm' ? backend.numDataIds() - (before - Object.keys(inputs).length) : 0;
  return { ...result, leaked };
}

/** A seeded uniform source for operand values (fast-check picks the seed). */
function values(seed: number, n: number, lo = -1, hi = 1, levels = 0): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const u = s / 4294967296;
    out[i] = levels ? lo + ((hi - lo) * Math.floor(u * levels)) / (levels - 1 || 1) : lo + (hi - lo) * u;
  }
  return out;
}

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Compare ours against cpu: same shape and dtype, max |ours - cpu| <= tol * max(1, max |cpu|), nothing left on the heap. */
function compare(name: string, operands: Record<string, Operand>, attrs: object, tol: number): number {
  const ref = runKernel('cpu', name, operands, attrs);
  const got = runKernel('wasm', name, operands, attrs);
  expect(got.shape, `${name} shape`).toEqual(ref.shape);
  expect(got.dtype, `${name} dtype`).toBe(ref.dtype);
  expect(got.leaked, `${name}: wasm tensors left behind`).toBe(0);
  const rel = maxAbsDiff(got.values, ref.values) / Math.max(1, maxAbs(ref.values));
  if (!(rel <= tol)) throw new Error(`${name} ${JSON.stringify(attrs)} shapes ${JSON.stringify(Object.values(operands).map((o) => o.shape))}: relative difference ${rel} > ${tol}`);
  return rel;
}

const RUNS = { numRuns: 150, seed: 20261127 };

describe('the kernels are registered for wasm only', () => {
  it('each of them has a wasm kernel, and the cpu kernels are the backend-cpu ones', () => {
    for (const name of WASM_TRAINING_KERNELS) {
      expect(tf.getKernel(name, 'wasm'), name).toBeTruthy();
      expect(tf.getKernel(name, 'cpu'), name).toBeTruthy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Convolution gradients

interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pad: 'same' | 'valid' | number;
  seed: number;
}

const convCase: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 9 }),
    w: fc.integer({ min: 1, max: 9 }),
    ci: fc.integer({ min: 1, max: 5 }),
    co: fc.integer({ min: 1, max: 4 }),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    pad: fc.oneof(fc.constant('same' as const), fc.constant('valid' as const), fc.integer({ min: 0, max: 3 })),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  // A numeric pad sizes both output dims from the filter height and row stride (tfjs-core), so it needs square ones.
  .map((c) => (typeof c.pad === 'number' ? { ...c, kw: c.kh, sw: c.sh } : c))
  .filter((c) => {
    const p = typeof c.pad === 'number' ? c.pad : 0;
    return c.pad === 'same' || (c.h + 2 * p >= c.kh && c.w + 2 * p >= c.kw);
  });

function convShapes(c: ConvCase) {
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, c.kw, c.ci, c.co], [c.sh, c.sw], 1, c.pad, typeof c.pad === 'number' ? 'floor' : undefined);
  return { dyShape: info.outShape as number[] };
}

const convAttrs = (c: ConvCase) => ({ strides: [c.sh, c.sw], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: typeof c.pad === 'number' ? 'floor' : undefined });

const CONV_TOL = 1e-5;

describe('convolution gradients against the cpu backend', () => {
  for (const path of ['conv', 'im2col'] as const) {
    it(`Conv2DBackpropFilter (${path} way${path === 'im2col' ? ', in blocks of 5 output pixels' : ''}), ${RUNS.numRuns} random shapes with strides 1-3 and same/valid/explicit padding: max |dW - dW_cpu| <= ${CONV_TOL} * max(1, max |dW_cpu|)`, () => {
      kernels.options.filterGrad = path;
      kernels.options.im2colChunk = 5; // several blocks, the last one partial
      try {
        fc.assert(
          fc.property(convCase, (c) => {
            const { dyShape } = convShapes(c);
            if (size(dyShape) === 0) return;
            const x = { values: values(c.seed, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] };
            const dy = { values: values(c.seed + 1, size(dyShape)), shape: dyShape };
            compare('Conv2DBackpropFilter', { x, dy }, { ...convAttrs(c), filterShape: [c.kh, c.kw, c.ci, c.co] }, CONV_TOL);
          }),
          RUNS,
        );
      } finally {
        kernels.options.filterGrad = saved.filterGrad;
        kernels.options.im2colChunk = saved.im2colChunk;
      }
    });
  }

  it(`Conv2DBackpropInput, ${RUNS.numRuns} random shapes with strides 1-3 and same/valid/explicit padding (also padding beyond the kernel): max |dx - dx_cpu| <= ${CONV_TOL} * max(1, max |dx_cpu|)`, () => {
    fc.assert(
      fc.property(convCase, (c) => {
        const { dyShape } = convShapes(c);
        if (size(dyShape) === 0) return;
        const dy = { values: values(c.seed, size(dyShape)), shape: dyShape };
        const filter = { values: values(c.seed + 1, c.kh * c.kw * c.ci * c.co), shape: [c.kh, c.kw, c.ci, c.co] };
        compare('Conv2DBackpropInput', { dy, filter }, { ...convAttrs(c), inputShape: [c.n, c.h, c.w, c.ci] }, CONV_TOL);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Pooling gradients

interface PoolCase {
  n: number;
  h: number;
  w: number;
  c: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  pad: 'same' | 'valid';
  seed: number;
  levels: number;
}

const poolCase: fc.Arbitrary<PoolCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 8 }),
    w: fc.integer({ min: 1, max: 8 }),
    c: fc.integer({ min: 1, max: 5 }),
    fh: fc.integer({ min: 1, max: 4 }),
    fw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 3 }),
    sw: fc.integer({ min: 1, max: 3 }),
    pad: fc.constantFrom('same' as const, 'valid' as const),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    // 0: distinct values; 2-3: few distinct values, so that windows hold ties (the first maximum wins).
    levels: fc.constantFrom(0, 2, 3),
  })
  .filter((c) => c.pad === 'same' || (c.h >= c.fh && c.w >= c.fw));

const POOL_TOL = 1e-6;

describe('pooling gradients against the cpu backend', () => {
  it(`MaxPoolGrad, ${RUNS.numRuns} random shapes (overlapping windows, strides 1-3, same/valid, ties): max |dx - dx_cpu| <= ${POOL_TOL} * max(1, max |dx_cpu|)`, () => {
    fc.assert(
      fc.property(poolCase, (c) => {
        const attrs = { filterSize: [c.fh, c.fw], strides: [c.sh, c.sw], pad: c.pad };
        const xShape = [c.n, c.h, c.w, c.c];
        const x = { values: values(c.seed, size(xShape), -1, 1, c.levels), shape: xShape };
        const y = runKernel('cpu', 'MaxPool', { x }, attrs);
        const dy = { values: values(c.seed + 1, size(y.shape)), shape: y.shape };
        compare('MaxPoolGrad', { dy, input: x, output: { values: y.values, shape: y.shape } }, attrs, POOL_TOL);
      }),
      RUNS,
    );
  });

  it(`MaxPoolGrad with 2 x 2 windows and stride 2 (its unrolled path; odd sizes leave partial windows at the edges), 100 random shapes with ties: max |dx - dx_cpu| <= ${POOL_TOL} * max(1, max |dx_cpu|)`, () => {
    fc.assert(
      fc.property(
        poolCase.map((c) => ({ ...c, fh: 2, fw: 2, sh: 2, sw: 2 })).filter((c) => c.pad === 'same' || (c.h >= 2 && c.w >= 2)),
        (c) => {
          const attrs = { filterSize: [2, 2], strides: [2, 2], pad: c.pad };
          const xShape = [c.n, c.h, c.w, c.c];
          const x = { values: values(c.seed, size(xShape), -1, 1, c.levels), shape: xShape };
          const y = runKernel('cpu', 'MaxPool', { x }, attrs);
          const dy = { values: values(c.seed + 1, size(y.shape)), shape: y.shape };
          compare('MaxPoolGrad', { dy, input: x, output: { values: y.values, shape: y.shape } }, attrs, POOL_TOL);
        },
      ),
      { ...RUNS, numRuns: 100 },
    );
  });

  it(`AvgPoolGrad, ${RUNS.numRuns} random shapes (overlapping windows, strides 1-3, same/valid): max |dx - dx_cpu| <= ${POOL_TOL} * max(1, max |dx_cpu|)`, () => {
    fc.assert(
      fc.property(poolCase, (c) => {
        const attrs = { filterSize: [c.fh, c.fw], strides: [c.sh, c.sw], pad: c.pad };
        const xShape = [c.n, c.h, c.w, c.c];
        const yShape = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], [c.fh, c.fw], [c.sh, c.sw], 1, c.pad).outShape as number[];
        const dy = { values: values(c.seed, size(yShape)), shape: yShape };
        compare('AvgPoolGrad', { dy, input: { values: values(c.seed + 1, size(xShape)), shape: xShape } }, attrs, POOL_TOL);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Reductions, products, layout

const shapeArb = (minRank: number, maxRank: number, maxDim: number) => fc.array(fc.integer({ min: 1, max: maxDim }), { minLength: minRank, maxLength: maxRank });
const SUM_TOL = 1e-5;

describe('reductions, products and layout kernels against the cpu backend', () => {
  for (const name of ['Sum', 'Mean'] as const) {
    it(`${name}, ${RUNS.numRuns} random shapes and axes (leading axes through the fast path, others through the backend's own): max |r - r_cpu| <= ${SUM_TOL} * max(1, max |r_cpu|)`, () => {
      fc.assert(
        fc.property(
          shapeArb(1, 4, 7).chain((shape) =>
            fc.record({
              shape: fc.constant(shape),
              axes: fc.oneof(
                fc.integer({ min: 1, max: shape.length }).map((k) => Array.from({ length: k }, (_, i) => i)), // leading
                fc.subarray(Array.from({ length: shape.length }, (_, i) => i), { minLength: 1 }),
              ),
              negative: fc.boolean(),
              keepDims: fc.boolean(),
              seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            }),
          ),
          (c) => {
            const axis = c.negative ? c.axes.map((a) => a - c.shape.length) : c.axes;
            compare(name, { x: { values: values(c.seed, size(c.shape)), shape: c.shape } }, { axis, keepDims: c.keepDims }, SUM_TOL);
          },
        ),
        RUNS,
      );
    });
  }

  it(`BatchMatMul, ${RUNS.numRuns} random shapes (ranks 2-4, broadcast batch, transposeA/transposeB): max |c - c_cpu| <= ${CONV_TOL} * max(1, max |c_cpu|)`, () => {
    fc.assert(
      fc.property(
        fc.record({
          m: fc.integer({ min: 1, max: 6 }),
          k: fc.integer({ min: 1, max: 6 }),
          n: fc.integer({ min: 1, max: 6 }),
          batch: shapeArb(0, 2, 3),
          broadcastA: fc.boolean(),
          broadcastB: fc.boolean(),
          transposeA: fc.boolean(),
          transposeB: fc.boolean(),
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        }),
        (c) => {
          const batchA = c.broadcastA && !c.broadcastB ? c.batch.map(() => 1) : c.batch;
          const batchB = c.broadcastB ? c.batch.map(() => 1) : c.batch;
          const aShape = [...batchA, ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])];
          const bShape = [...batchB, ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])];
          const a = { values: values(c.seed, size(aShape)), shape: aShape };
          const b = { values: values(c.seed + 1, size(bShape)), shape: bShape };
          compare('BatchMatMul', { a, b }, { transposeA: c.transposeA, transposeB: c.transposeB }, CONV_TOL);
        },
      ),
      RUNS,
    );
  });

  it(`Tile, ${RUNS.numRuns} random shapes, repetitions and dtypes (float32, int32, bool): exact`, () => {
    fc.assert(
      fc.property(
        shapeArb(1, 4, 4).chain((shape) =>
          fc.record({
            shape: fc.constant(shape),
            reps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: shape.length, maxLength: shape.length }),
            dtype: fc.constantFrom<Dtype>('float32', 'int32', 'bool'),
            seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          }),
        ),
        (c) => {
          const raw = values(c.seed, size(c.shape), -5, 5);
          const v = c.dtype === 'float32' ? raw : c.dtype === 'int32' ? Int32Array.from(raw, Math.round) : Uint8Array.from(raw, (x) => (x > 0 ? 1 : 0));
          compare('Tile', { x: { values: v, shape: c.shape, dtype: c.dtype } }, { reps: c.reps }, 0);
        },
      ),
      RUNS,
    );
  });

  it(`Slice, ${RUNS.numRuns} random shapes and windows (float32, int32): exact`, () => {
    fc.assert(
      fc.property(
        shapeArb(1, 4, 6).chain((shape) =>
          fc
            .tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }).chain((b) => fc.tuple(fc.constant(b), fc.integer({ min: 1, max: d - b })))))
            .map((bs) => ({ shape, begin: bs.map((t) => t[0]), size: bs.map((t) => t[1]) })),
        ),
        fc.constantFrom<Dtype>('float32', 'int32'),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (c, dtype, seed) => {
          const raw = values(seed, size(c.shape), -100, 100);
          const v = dtype === 'float32' ? raw : Int32Array.from(raw, Math.round);
          compare('Slice', { x: { values: v, shape: c.shape, dtype } }, { begin: c.begin, size: c.size }, 0);
        },
      ),
      RUNS,
    );
  });

  it('Identity and Cast to the same dtype share the data (exact), and the copy outlives the input', () => {
    tf.tidy(() => {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const x = { values: dtype === 'float32' ? values(3, 24) : dtype === 'int32' ? Int32Array.from({ length: 24 }, (_, i) => i - 7) : Uint8Array.from({ length: 24 }, (_, i) => i % 2), shape: [2, 3, 4], dtype };
        compare('Identity', { x }, {}, 0);
        compare('Cast', { x }, { dtype }, 0);
      }
      compare('Cast', { x: { values: values(5, 12, -3, 3), shape: [12] } }, { dtype: 'int32' }, 0); // another dtype: the backend's Cast
    });
    // Engine-level: a clone survives the disposal of its source, with its values.
    const before = tf.memory().numTensors;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

// ---------------------------------------------------------------------------------------------
// The gradients of Sum and Mean (grads.ts), through the engine

describe('the gradients of Sum and Mean on wasm against cpu', () => {
  it(`d/dx sum(r * f(x, axes)) for f = sum and mean, 40 random shapes and axes: max |g - g_cpu| <= ${SUM_TOL} * max(1, max |g_cpu|)`, async () => {
    const gradOn = async (backend: 'wasm' | 'cpu', fn: 'sum' | 'mean', shape: number[], axes: number[], keepDims: boolean, seed: number) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor(values(seed, size(shape)), shape);
        const g = tf.grad((t: ReturnType<typeof tf.tensor>) => {
          const y = fn === 'sum' ? tf.sum(t, axes, keepDims) : tf.mean(t, axes, keepDims);
          const r = tf.tensor(values(seed + 1, y.size), y.shape);
          return tf.sum(tf.mul(y, r));
        })(x);
        return g.dataSync().slice();
      });
    };
    const current = tf.getBackend();
    try {
      await fc.assert(
        fc.asyncProperty(
          shapeArb(1, 4, 5).chain((shape) =>
            fc.record({
              shape: fc.constant(shape),
              axes: fc.subarray(Array.from({ length: shape.length }, (_, i) => i), { minLength: 1 }),
              keepDims: fc.boolean(),
              fn: fc.constantFrom('sum' as const, 'mean' as const),
              seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            }),
          ),
          async (c) => {
            const ref = await gradOn('cpu', c.fn, c.shape, c.axes, c.keepDims, c.seed);
            const got = await gradOn('wasm', c.fn, c.shape, c.axes, c.keepDims, c.seed);
            const rel = maxAbsDiff(got, ref) / Math.max(1, maxAbs(ref));
            expect(rel, JSON.stringify(c)).toBeLessThanOrEqual(SUM_TOL);
          },
        ),
        { numRuns: 40, seed: RUNS.seed },
      );
    } finally {
      await tf.setBackend(current);
    }
  });
});
