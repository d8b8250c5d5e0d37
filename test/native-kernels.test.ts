/**
 * modelspec's native kernels (native/, loaded by src/backends/tfjs/wasm-kernels/native.ts) through
 * the wasm backend's kernels, against the cpu backend's kernels, property-tested with fast-check.
 *
 * On this machine kind (x86-64 with AVX2/FMA and a C++ compiler) `npm run build` builds the addon,
 * and this file fails when it is missing. With MODELSPEC_NATIVE=0 the addon is not loaded, and the
 * same comparisons check that the wasm kernels fall back (no native call) and still agree.
 *
 * Each case writes the same inputs to both backends, runs the kernel registered for 'wasm' (ours,
 * dispatching to the addon) and the one registered for 'cpu' directly, and compares: same shape,
 * max |ours - cpu| <= TOL * sqrt(K) * max(1, max |cpu|), with K the length of the sum behind each
 * output element (kh*kw*cin for the convolution, kh*kw*cout for its input gradient, n*ho*wo for its
 * filter gradient; the cpu backend sums in float64, the native kernels in float32 with FMA), and
 * that nothing is left on the wasm heap. The native-call counter (kernels.calls) must move by one per
 * case: the wasm kernel really took the native path. Every case runs with each instruction set the
 * CPU has (AVX-512 and AVX2 here), then once more with kernels.options.native off (the wasm path,
 * which must not call the addon; for Conv2D and FusedConv2D that is the backend's own kernel, given
 * 'same' padding explicitly because its own 'same' is wrong with unequal strides). Shapes: batch 1-5, odd sizes, strides 1-2 (3 for pooling),
 * same/valid/explicit padding, channel counts that are not multiples of 8 or 16.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { describeBackend, loadTf, type Tf } from '../src/build.js';
import { nativeKernels, nativeStatus, registerWasmTrainingKernels, type KernelContext } from '../src/backends/tfjs/wasm-kernels.js';

const DISABLED = process.env.MODELSPEC_NATIVE === '0';
const TOL = 1e-6; // times sqrt(K), relative to max(1, max |cpu|)
const RUNS = { numRuns: 60, seed: 20261128 };

let tf: Tf;
let isas: string[] = [];
/** The registered kernels' context: their options (native on or off) and their native-call counts. */
let kernels: KernelContext;

beforeAll(async () => {
  tf = (await loadTf('wasm')).tf;
  kernels = registerWasmTrainingKernels(tf); // registered by loadTf: its context
  await loadTf('cpu');
  const nk = nativeKernels();
  if (nk) {
    const initial = nk.isa;
    isas = ['avx512', 'avx2'].filter((isa) => nk.setIsa(isa as 'avx2') === isa);
    nk.setIsa(initial);
  }
});

afterAll(() => {
  kernels.options.native = true;
});

describe('the native kernels are there', () => {
  if (DISABLED) {
    it('MODELSPEC_NATIVE=0: the addon is not loaded, and the backend line does not mention it', () => {
      expect(nativeKernels()).toBeUndefined();
      expect(nativeStatus().reason).toMatch(/MODELSPEC_NATIVE=0/);
      expect(describeBackend('wasm')).not.toMatch(/native/);
    });
  } else {
    it('the addon is built (npm run build) and loads on this machine (x86-64 with AVX2/FMA); the backend line says so', () => {
      const s = nativeStatus();
      expect(s.kernels, `native kernels missing: ${s.reason} (run npm run build; set MODELSPEC_NATIVE=0 to test without them)`).toBeDefined();
      expect(isas).toContain('avx2');
      expect(describeBackend('wasm')).toMatch(/convolutions, batch normalisation and max-pool gradients on native (AVX2|AVX-512) kernels/);
    });

    it('its functions check their arguments (types, lengths) instead of reading past them', () => {
      const nk = nativeKernels()!;
      const p = Int32Array.of(1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 1, 0, 0);
      expect(() => nk.conv2d(new Float32Array(9), new Float32Array(1), new Float32Array(8), p)).toThrow(/y has 8 elements, the shapes need 9/);
      expect(() => nk.conv2dBackpropFilter(new Float32Array(9), new Float32Array(9), new Float32Array(1), Int32Array.of(1, 3))).toThrow(/params/);
      expect(() => nk.maxPoolGrad(new Float64Array(9) as never, new Float32Array(9), new Float32Array(9), Int32Array.of(1, 3, 3, 1, 3, 3, 1, 1, 1, 1, 0, 0))).toThrow(/Float32Array/);
      expect(() => nk.batchNorm(new Float32Array(10), new Float32Array(4), new Float32Array(4), null, null, 1e-3, new Float32Array(10))).toThrow(/not a multiple of the channels/);
      expect(() => nk.batchNorm(new Float32Array(8), new Float32Array(4), new Float32Array(3), null, null, 1e-3, new Float32Array(8))).toThrow(/variance has 3 elements, the shapes need 4/);
      // A view with an offset into a larger buffer (as the wasm heap's views are): only its own elements are touched.
      const buf = new Float32Array(64).fill(7);
      nk.conv2d(new Float32Array(9).fill(1), Float32Array.of(2), buf.subarray(20, 29), p);
      expect(Array.from(buf.subarray(18, 31))).toEqual([7, 7, 2, 2, 2, 2, 2, 2, 2, 2, 2, 7, 7]);
    });
  }
});

type Operand = { values: Float32Array; shape: number[] };
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function runKernel(backendName: 'wasm' | 'cpu', name: string, operands: Record<string, Operand | undefined>, attrs: object) {
  const backend = tf.findBackend(backendName) as KernelBackend;
  const kernel = tf.getKernel(name, backendName);
  if (!kernel) throw new Error(`no ${name} kernel for ${backendName}`);
  const inputs: Record<string, TensorInfo> = {};
  for (const [k, o] of Object.entries(operands)) if (o) inputs[k] = { dataId: backend.write(o.values, o.shape, 'float32'), shape: o.shape, dtype: 'float32' };
  const before = backend.numDataIds();
  const out = (kernel.kernelFunc as KernelFunc)({ inputs, backend, attrs: attrs as never }) as TensorInfo;
  const values = (backend.readSync(out.dataId) as Float32Array).slice();
  const shape = [...out.shape];
  backend.disposeData(out.dataId);
  const leaked = backend.numDataIds() - before;
  for (const t of Object.values(inputs)) backend.disposeData(t.dataId);
  return { values, shape, leaked };
}

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

/** The largest relative difference seen per kernel (reported in the test output). */
const worst: Record<string, number> = {};

/**
 * ours (wasm, on each instruction set) against cpu. k: the sum length behind one output element.
 */
function compare(name: string, operands: Record<string, Operand | undefined>, attrs: object, k: number, tol = TOL * Math.sqrt(Math.max(1, k))) {
  const ref = runKernel('cpu', name, operands, attrs);
  let maxRef = 1;
  for (const v of ref.values) maxRef = Math.max(maxRef, Math.abs(v));
  const nk = nativeKernels();
  const initial = nk?.isa;
  try {
    // Each instruction set, then the wasm path (kernels.options.native off: the fallback).
    for (const isa of DISABLED ? ['wasm path'] : [...isas, 'wasm path']) {
      const native = isa !== 'wasm path';
      if (native) nk!.setIsa(isa as 'avx2');
      kernels.options.native = native;
      const calls = kernels.calls[name] ?? 0;
      const got = runKernel('wasm', name, operands, attrs);
      const what = `${name} (${isa}) ${JSON.stringify(attrs)} shapes ${JSON.stringify(Object.values(operands).map((o) => o?.shape))}`;
      expect(got.shape, what).toEqual(ref.shape);
      expect(got.leaked, `${what}: wasm tensors left behind`).toBe(0);
      expect((kernels.calls[name] ?? 0) - calls, `${what}: native calls`).toBe(native ? 1 : 0);
      let diff = 0;
      for (let i = 0; i < ref.values.length; i++) {
        const d = Math.abs(got.values[i]! - ref.values[i]!);
        diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
      }
      const rel = diff / maxRef;
      worst[name] = Math.max(worst[name] ?? 0, rel / Math.sqrt(Math.max(1, k)));
      if (!(rel <= tol)) throw new Error(`${what}: relative difference ${rel} > ${tol}`);
    }
  } finally {
    kernels.options.native = true;
    if (nk && initial) nk.setIsa(initial);
  }
}

afterAll(() => {
  if (Object.keys(worst).length) console.log('worst |ours - cpu| / max(1, max |cpu|) / sqrt(K):', Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', '));
});

// ---------------------------------------------------------------------------------------------

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
  pad: 'same' | 'valid' | number | 'explicit';
  explicit: [number, number, number, number];
  seed: number;
}

const convCase: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 5 }),
    h: fc.integer({ min: 1, max: 13 }),
    w: fc.integer({ min: 1, max: 13 }),
    ci: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 41 })),
    co: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 41 })),
    kh: fc.integer({ min: 1, max: 4 }),
    kw: fc.integer({ min: 1, max: 4 }),
    sh: fc.integer({ min: 1, max: 2 }),
    sw: fc.integer({ min: 1, max: 2 }),
    pad: fc.oneof(fc.constant('same' as const), fc.constant('valid' as const), fc.integer({ min: 0, max: 2 }), fc.constant('explicit' as const)),
    explicit: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  })
  // A numeric pad sizes both output dims from the filter height and row stride (tfjs-core), so it needs square ones.
  .map((c) => (typeof c.pad === 'number' ? { ...c, kw: c.kh, sw: c.sh } : c))
  .filter((c) => {
    const [t, b, l, r] = typeof c.pad === 'number' ? [c.pad, c.pad, c.pad, c.pad] : c.pad === 'explicit' ? c.explicit : [0, 0, 0, 0];
    if (c.pad !== 'same' && (c.h + t + b < c.kh || c.w + l + r < c.kw)) return false;
    // Keep the cpu backend's side cheap (it multiplies in plain JS).
    return c.n * c.h * c.w * c.ci * c.co * c.kh * c.kw <= 3e6;
  });

function convAttrs(c: ConvCase) {
  const pad = c.pad === 'explicit' ? [[0, 0], [c.explicit[0], c.explicit[1]], [c.explicit[2], c.explicit[3]], [0, 0]] : c.pad;
  return { strides: [c.sh, c.sw], pad, dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: typeof c.pad === 'number' ? ('floor' as const) : undefined };
}

function convOperands(c: ConvCase) {
  const a = convAttrs(c);
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, c.kw, c.ci, c.co], [c.sh, c.sw], 1, a.pad as never, a.dimRoundingMode);
  const yShape = info.outShape as number[];
  return {
    attrs: a,
    yShape,
    x: { values: values(c.seed, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] },
    filter: { values: values(c.seed + 1, c.kh * c.kw * c.ci * c.co), shape: [c.kh, c.kw, c.ci, c.co] },
    dy: { values: values(c.seed + 2, size(yShape)), shape: yShape },
    bias: { values: values(c.seed + 3, c.co), shape: [c.co] },
  };
}

const mode = DISABLED ? 'the wasm path (MODELSPEC_NATIVE=0)' : 'native, on each instruction set';

describe(`convolutions (${mode}) against the cpu backend`, () => {
  it(`Conv2D, ${RUNS.numRuns} random shapes (batch 1-5, strides 1-2, same/valid/explicit padding, cin/cout 1-41): max |y - y_cpu| <= ${TOL} * sqrt(kh*kw*cin) * max(1, max |y_cpu|)`, () => {
    fc.assert(
      fc.property(convCase, (c) => {
        const o = convOperands(c);
        if (size(o.yShape) === 0) return;
        compare('Conv2D', { x: o.x, filter: o.filter }, o.attrs, c.kh * c.kw * c.ci);
      }),
      RUNS,
    );
  });

  it(`FusedConv2D with a bias and relu, relu6 or linear, ${RUNS.numRuns} random shapes: max |y - y_cpu| <= ${TOL} * sqrt(kh*kw*cin) * max(1, max |y_cpu|)`, () => {
    fc.assert(
      fc.property(convCase, fc.constantFrom('relu', 'relu6', 'linear'), fc.boolean(), (c, activation, withBias) => {
        const o = convOperands(c);
        if (size(o.yShape) === 0) return;
        // Values up to 8, so that relu6 clips.
        const x = { ...o.x, values: o.x.values.map((v) => v * 8) };
        compare('FusedConv2D', { x, filter: o.filter, bias: withBias ? o.bias : undefined }, { ...o.attrs, activation }, c.kh * c.kw * c.ci);
      }),
      RUNS,
    );
  });

  it(`Conv2DBackpropInput, ${RUNS.numRuns} random shapes: max |dx - dx_cpu| <= ${TOL} * sqrt(kh*kw*cout) * max(1, max |dx_cpu|)`, () => {
    fc.assert(
      fc.property(convCase, (c) => {
        const o = convOperands(c);
        if (size(o.yShape) === 0) return;
        compare('Conv2DBackpropInput', { dy: o.dy, filter: o.filter }, { ...o.attrs, inputShape: [c.n, c.h, c.w, c.ci] }, c.kh * c.kw * c.co);
      }),
      RUNS,
    );
  });

  it(`Conv2DBackpropFilter, ${RUNS.numRuns} random shapes: max |dW - dW_cpu| <= ${TOL} * sqrt(n*ho*wo) * max(1, max |dW_cpu|)`, () => {
    fc.assert(
      fc.property(convCase, (c) => {
        const o = convOperands(c);
        if (size(o.yShape) === 0) return;
        compare('Conv2DBackpropFilter', { x: o.x, dy: o.dy }, { ...o.attrs, filterShape: [c.kh, c.kw, c.ci, c.co] }, size(o.yShape) / c.co);
      }),
      RUNS,
    );
  });

  it('the three on the MNIST CNN layer shapes (batch 3: 28x28x1 -> 26x26x64, 13x13x64 -> 11x11x64)', () => {
    for (const c of [
      { n: 3, h: 28, w: 28, ci: 1, co: 64 },
      { n: 3, h: 13, w: 13, ci: 64, co: 64 },
    ]) {
      const cc: ConvCase = { ...c, kh: 3, kw: 3, sh: 1, sw: 1, pad: 'valid', explicit: [0, 0, 0, 0], seed: 5 };
      const o = convOperands(cc);
      compare('Conv2D', { x: o.x, filter: o.filter }, o.attrs, 9 * c.ci);
      compare('Conv2DBackpropFilter', { x: o.x, dy: o.dy }, { ...o.attrs, filterShape: [3, 3, c.ci, c.co] }, size(o.yShape) / c.co);
      compare('Conv2DBackpropInput', { dy: o.dy, filter: o.filter }, { ...o.attrs, inputShape: [c.n, c.h, c.w, c.ci] }, 9 * c.co);
    }
  });
  // Channel counts around the vector and tile widths (8/16/32 floats): panels of taps that cross
  // kernel positions (cin not a multiple of the panel width), half-empty tiles (cout 16), ResNet20's
  // stage shapes and its stride-2 transitions (3x3 and the 1x1 shortcut), at a small batch.
  it('the three on ResNet-like shapes (channels 8/16/24/32/48 and odd ones, stride 1 and 2, same/valid, 3x3 and 1x1)', () => {
    const cases: Array<Partial<ConvCase> & { h: number; ci: number; co: number }> = [
      { h: 12, ci: 16, co: 16 },
      { h: 9, ci: 16, co: 16, pad: 'valid' },
      { h: 8, ci: 32, co: 32 },
      { h: 6, ci: 64, co: 64, n: 1 },
      { h: 11, ci: 16, co: 32, sh: 2, sw: 2 },
      { h: 10, ci: 16, co: 32, sh: 2, sw: 2, pad: 'valid' },
      { h: 8, ci: 32, co: 64, sh: 2, sw: 2 },
      { h: 12, ci: 16, co: 32, kh: 1, kw: 1, sh: 2, sw: 2 },
      { h: 7, ci: 8, co: 16 },
      { h: 7, ci: 24, co: 24 },
      { h: 7, ci: 48, co: 16, sh: 2, sw: 2 },
      { h: 9, ci: 17, co: 15 },
      { h: 7, ci: 33, co: 31, pad: 'valid' },
      { h: 9, ci: 15, co: 16, sh: 2, sw: 1 },
      { h: 6, ci: 3, co: 16 },
    ];
    for (const [i, c] of cases.entries()) {
      const cc: ConvCase = { n: 2, w: c.h + (i % 3), kh: 3, kw: 3, sh: 1, sw: 1, pad: 'same', explicit: [0, 0, 0, 0], seed: 11 + i, ...c };
      const o = convOperands(cc);
      compare('Conv2D', { x: o.x, filter: o.filter }, o.attrs, cc.kh * cc.kw * cc.ci);
      compare('Conv2DBackpropInput', { dy: o.dy, filter: o.filter }, { ...o.attrs, inputShape: [cc.n, cc.h, cc.w, cc.ci] }, cc.kh * cc.kw * cc.co);
      compare('Conv2DBackpropFilter', { x: o.x, dy: o.dy }, { ...o.attrs, filterShape: [cc.kh, cc.kw, cc.ci, cc.co] }, size(o.yShape) / cc.co);
    }
  });
});

describe(`MaxPoolGrad (${mode}) against the cpu backend`, () => {
  it(`${RUNS.numRuns * 2} random shapes (windows 1-4, overlapping, strides 1-3, same/valid, ties, channels 1-37): max |dx - dx_cpu| <= 1e-6 * max(1, max |dx_cpu|)`, () => {
    fc.assert(
      fc.property(
        fc
          .record({
            n: fc.integer({ min: 1, max: 3 }),
            h: fc.integer({ min: 1, max: 9 }),
            w: fc.integer({ min: 1, max: 9 }),
            c: fc.integer({ min: 1, max: 37 }),
            fh: fc.integer({ min: 1, max: 4 }),
            fw: fc.integer({ min: 1, max: 4 }),
            sh: fc.integer({ min: 1, max: 3 }),
            sw: fc.integer({ min: 1, max: 3 }),
            pad: fc.constantFrom('same' as const, 'valid' as const),
            seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
            // 0: distinct values; 2-3: few distinct values, so that windows hold ties (the first maximum wins).
            levels: fc.constantFrom(0, 2, 3),
          })
          .filter((c) => c.pad === 'same' || (c.h >= c.fh && c.w >= c.fw)),
        (c) => {
          const attrs = { filterSize: [c.fh, c.fw], strides: [c.sh, c.sw], pad: c.pad };
          const xShape = [c.n, c.h, c.w, c.c];
          const x = { values: values(c.seed, size(xShape), -1, 1, c.levels), shape: xShape };
          const y = runKernel('cpu', 'MaxPool', { x }, attrs);
          const dy = { values: values(c.seed + 1, size(y.shape)), shape: y.shape };
          compare('MaxPoolGrad', { dy, input: x, output: { values: y.values, shape: y.shape } }, attrs, 1, 1e-6);
        },
      ),
      { ...RUNS, numRuns: RUNS.numRuns * 2 },
    );
  });

  it('-Infinity and NaN: no gradient from a window without a maximum; NaN is never the maximum', () => {
    const xv = Float32Array.of(-Infinity, -Infinity, NaN, -Infinity, NaN, 2, 1, NaN, 0.5, 0.5, 0.5, 0.5);
    const x = { values: xv, shape: [1, 2, 6, 1] };
    const attrs = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' };
    const y = runKernel('cpu', 'MaxPool', { x }, attrs);
    compare('MaxPoolGrad', { dy: { values: Float32Array.of(1, 2, 3), shape: y.shape }, input: x, output: { values: y.values, shape: y.shape } }, attrs, 1, 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe(`FusedBatchNorm (${mode}) against the cpu backend`, () => {
  it(`${RUNS.numRuns} random shapes (rank 1-4, channels 1-37, with and without offset and scale): max |y - y_cpu| <= 1e-6 * max(1, max |y_cpu|)`, () => {
    fc.assert(
      fc.property(
        fc.record({
          lead: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 0, maxLength: 3 }),
          c: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 6, max: 37 })),
          offset: fc.boolean(),
          scale: fc.boolean(),
          eps: fc.constantFrom(1e-3, 1e-5, 0.1),
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        }),
        (c) => {
          const shape = [...c.lead, c.c];
          const ch = (seed: number, lo: number, hi: number) => ({ values: values(seed, c.c, lo, hi), shape: [c.c] });
          compare(
            'FusedBatchNorm',
            {
              x: { values: values(c.seed, size(shape), -3, 3), shape },
              mean: ch(c.seed + 1, -1, 1),
              variance: ch(c.seed + 2, 0.01, 2),
              offset: c.offset ? ch(c.seed + 3, -1, 1) : undefined,
              scale: c.scale ? ch(c.seed + 4, -2, 2) : undefined,
            },
            { varianceEpsilon: c.eps },
            1,
            1e-6,
          );
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('in use', () => {
  it(DISABLED ? 'a training step and a prediction of a conv + batch-norm + max-pool model make no native call' : 'a training step of a conv + batch-norm + max-pool model runs Conv2D and both gradients, FusedBatchNorm and MaxPoolGrad natively; a prediction runs FusedConv2D natively', async () => {
    const before = { ...kernels.calls };
    await tf.setBackend('wasm');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [9, 9, 3], filters: 5, kernelSize: 3, activation: 'relu', padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 6, kernelSize: 2, strides: 2, activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const x = tf.randomUniform([4, 9, 9, 3]);
    const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2);
    await model.trainOnBatch(x, y);
    const p = model.predict(x) as ReturnType<typeof tf.zeros>;
    await p.data();
    const moved = (k: string) => (kernels.calls[k] ?? 0) - (before[k] ?? 0);
    tf.dispose([x, y, p]);
    model.dispose();
    for (const k of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'FusedConv2D', 'FusedBatchNorm']) {
      if (DISABLED) expect(moved(k), k).toBe(0);
      else expect(moved(k), k).toBeGreaterThan(0);
    }
  });

  it('kernels.options.native = false: the same kernels take the wasm paths and agree with the native ones', () => {
    if (DISABLED) return; // no native kernels to compare with
    const c: ConvCase = { n: 2, h: 7, w: 6, ci: 5, co: 9, kh: 3, kw: 2, sh: 2, sw: 1, pad: 'same', explicit: [0, 0, 0, 0], seed: 9 };
    const o = convOperands(c);
    const attrs = { ...o.attrs, filterShape: [3, 2, 5, 9] };
    const a = runKernel('wasm', 'Conv2DBackpropFilter', { x: o.x, dy: o.dy }, attrs);
    const calls = kernels.calls.Conv2DBackpropFilter ?? 0;
    kernels.options.native = false;
    try {
      const b = runKernel('wasm', 'Conv2DBackpropFilter', { x: o.x, dy: o.dy }, attrs);
      expect(kernels.calls.Conv2DBackpropFilter ?? 0).toBe(calls);
      for (let i = 0; i < a.values.length; i++) expect(Math.abs(a.values[i]! - b.values[i]!)).toBeLessThan(1e-5);
    } finally {
      kernels.options.native = true;
    }
  });

  it('MODELSPEC_NATIVE=0 in a fresh process: not loaded, the backend line says nothing of it, and a convolution gradient on wasm gives the same values', () => {
    const script = `
      import { loadTf, describeBackend } from './src/build.js';
      import { nativeKernels } from './src/backends/tfjs/wasm-kernels.js';
      const { tf } = await loadTf('wasm');
      const x = tf.tensor4d(Array.from({ length: 2 * 6 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 6, 5, 3]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
      const [gx, gw] = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a, b, 1, 'same'))))([x, w]);
      console.log(JSON.stringify({ loaded: nativeKernels() !== undefined, line: describeBackend('wasm'), g: [...gx.dataSync(), ...gw.dataSync()] }));
    `;
    const run = (env: Record<string, string>) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), env: { ...process.env, ...env }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { loaded: boolean; line: string; g: number[] };
    };
    const off = run({ MODELSPEC_NATIVE: '0' });
    expect(off.loaded).toBe(false);
    expect(off.line).not.toMatch(/native/);
    if (DISABLED) return;
    const on = run({ MODELSPEC_NATIVE: '1' });
    expect(on.loaded).toBe(true);
    let m = 0;
    let d = 0;
    for (let i = 0; i < on.g.length; i++) {
      m = Math.max(m, Math.abs(off.g[i]!));
      d = Math.max(d, Math.abs(on.g[i]! - off.g[i]!));
    }
    expect(d / Math.max(1, m)).toBeLessThan(1e-5);
  });
});
