/**
 * The compiler against an independent Keras reference.
 *
 * test/reference/keras-mock.ts is a small mock of the Keras functional API (shapes, weights and
 * Keras' `model.layers` order), sharing no code with src/; test/reference/seed-models.ts
 * transcribes the seed's Python model builders into it. For every seed spec and several parameter
 * values, the compiled graph must list the same layers in the same order as Keras would, with the
 * same class, output shape, parameter counts and inbound connections (compared by position in the
 * layer list, not by name), and the documented Keras totals.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileFile } from '../src/index.js';
import { builtinRegistry } from '../src/ops/index.js';
import { summaryJson } from '../src/report/summary.js';
import { clearSession, Conv2D, Input, Model, add, type Shape, Activation, Dense, Flatten } from './reference/keras-mock.js';
import { mnistCnn, resnet_v1, resnet_v2, yNetwork } from './reference/seed-models.js';

const SPECS = join(import.meta.dirname, '..', 'specs');

const shapeStr = (s: readonly (number | null)[]) => `(${['None', ...s.map((d) => (d === null ? 'None' : String(d)))].join(', ')})`;
const inboundStr = (apps: readonly (readonly number[])[]) => (apps.length ? apps.map((a) => `[${a.join(', ')}]`).join(' | ') : '[]');
const row = (i: number, cls: string, shape: readonly (number | null)[], trainable: number, nonTrainable: number, inbound: readonly (readonly number[])[]) =>
  `${i}: ${cls} ${shapeStr(shape)} ${trainable}/${nonTrainable} <- ${inboundStr(inbound)}`;

interface Totals {
  layers: number;
  total: number;
  trainable: number;
  nonTrainable: number;
}

function referenceRows(model: Model): { rows: string[]; totals: Totals } {
  const rows = model.rows().map((r) => row(r.index, r.className, r.outputShape, r.trainable, r.nonTrainable, r.inbound));
  return {
    rows,
    totals: { layers: model.layers.length, total: model.countParams(), trainable: model.trainableParams, nonTrainable: model.nonTrainableParams },
  };
}

function compiledRows(spec: string, set: string[]): { rows: string[]; totals: Totals; layerParamSum: Totals } {
  const result = compileFile(join(SPECS, spec), { set });
  const errors = result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`);
  expect(errors, `${spec} ${set.join(' ')} does not compile`).toEqual([]);
  expect(result.ok).toBe(true);
  const graph = result.graph!;
  const summary = summaryJson(graph, builtinRegistry());
  const index = new Map(summary.layers.map((l, i) => [l.id, i]));
  const pos = (id: string) => index.get(id) ?? -1; // -1: an input that is not a listed layer
  const rows = summary.layers.map((l, i) => {
    const apps = [l.inputs, ...(l.sharedApplications ?? []).map((a) => a.inputs)].filter((a) => a.length > 0);
    return row(i, l.class, l.outputShape, l.trainable, l.nonTrainable, apps.map((a) => a.map(pos)));
  });
  const layerParamSum = summary.layers.reduce(
    (t, l) => ({ layers: t.layers + 1, total: t.total + l.params, trainable: t.trainable + l.trainable, nonTrainable: t.nonTrainable + l.nonTrainable }),
    { layers: 0, total: 0, trainable: 0, nonTrainable: 0 },
  );
  return {
    rows,
    totals: { layers: summary.layerCount, total: summary.params.total, trainable: summary.params.trainable, nonTrainable: summary.params.nonTrainable },
    layerParamSum,
  };
}

/** Computed on first use, inside a test, so that a failure is reported by that test. */
function lazy<T>(f: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}

function build(f: () => Model): Model {
  clearSession();
  return f();
}

interface Case {
  title: string;
  spec: string;
  set: string[];
  reference: () => Model;
}

const cases: Case[] = [
  { title: 'MNIST CNN (defaults)', spec: 'mnist-cnn.yaml', set: [], reference: () => mnistCnn() },
  { title: 'Y-network (defaults)', spec: 'y-network.yaml', set: [], reference: () => yNetwork() },
  ...[3, 5, 18].map((n) => ({ title: `ResNet${6 * n + 2}v1 (n=${n})`, spec: 'resnet-v1.yaml', set: [`n=${n}`], reference: () => resnet_v1([32, 32, 3], 6 * n + 2) })),
  { title: 'ResNet20v1, num_classes=100', spec: 'resnet-v1.yaml', set: ['n=3', 'num_classes=100'], reference: () => resnet_v1([32, 32, 3], 20, 100) },
  { title: 'ResNet20v1, input 64x64x3', spec: 'resnet-v1.yaml', set: ['n=3', 'input_shape=[64,64,3]'], reference: () => resnet_v1([64, 64, 3], 20) },
  {
    title: 'ResNet32v1, input 64x64x3, num_classes=100',
    spec: 'resnet-v1.yaml',
    set: ['n=5', 'input_shape=[64,64,3]', 'num_classes=100'],
    reference: () => resnet_v1([64, 64, 3], 32, 100),
  },
  ...[2, 6, 12].map((n) => ({ title: `ResNet${9 * n + 2}v2 (n=${n})`, spec: 'resnet-v2.yaml', set: [`n=${n}`], reference: () => resnet_v2([32, 32, 3], 9 * n + 2) })),
  { title: 'ResNet56v2, num_classes=100', spec: 'resnet-v2.yaml', set: ['n=6', 'num_classes=100'], reference: () => resnet_v2([32, 32, 3], 56, 100) },
  { title: 'ResNet20v2, input 64x64x3', spec: 'resnet-v2.yaml', set: ['n=2', 'input_shape=[64,64,3]'], reference: () => resnet_v2([64, 64, 3], 20) },
  {
    title: 'ResNet110v2, input 64x64x3, num_classes=100',
    spec: 'resnet-v2.yaml',
    set: ['n=12', 'input_shape=[64,64,3]', 'num_classes=100'],
    reference: () => resnet_v2([64, 64, 3], 110, 100),
  },
];

describe('the compiled seed specs match the Keras reference layer by layer', () => {
  for (const c of cases) {
    describe(`${c.title}: ${c.spec} ${c.set.join(' ')}`.trim(), () => {
      const ref = lazy(() => referenceRows(build(c.reference)));
      const got = lazy(() => compiledRows(c.spec, c.set));

      it('has the same number of layers', () => {
        expect(got().rows.length).toBe(ref().rows.length);
        expect(got().totals.layers).toBe(ref().totals.layers);
      });

      it('lists the same layers in Keras order: class, output shape, trainable/non-trainable params, inbound layers', () => {
        expect(got().rows).toEqual(ref().rows);
      });

      it('has the same parameter totals', () => {
        expect(got().totals).toEqual(ref().totals);
        expect(got().layerParamSum).toEqual(ref().totals);
      });
    });
  }
});

/** Numbers Keras reports for the seed models (shared/reference/seed-models.md). */
const documented: { title: string; spec: string; set: string[]; reference: () => Model; expected: Partial<Totals> }[] = [
  { title: 'MNIST CNN', spec: 'mnist-cnn.yaml', set: [], reference: () => mnistCnn(), expected: { layers: 9, total: 80_266, trainable: 80_266, nonTrainable: 0 } },
  { title: 'Y-network', spec: 'y-network.yaml', set: [], reference: () => yNetwork(), expected: { layers: 24, total: 208_394 } },
  {
    title: 'ResNet20v1',
    spec: 'resnet-v1.yaml',
    set: ['n=3'],
    reference: () => resnet_v1([32, 32, 3], 20),
    expected: { layers: 72, total: 274_442, trainable: 273_066, nonTrainable: 1_376 },
  },
  { title: 'ResNet32v1', spec: 'resnet-v1.yaml', set: ['n=5'], reference: () => resnet_v1([32, 32, 3], 32), expected: { total: 470_218 } },
  {
    title: 'ResNet56v2',
    spec: 'resnet-v2.yaml',
    set: ['n=6'],
    reference: () => resnet_v2([32, 32, 3], 56),
    expected: { layers: 190, total: 1_673_738, trainable: 1_663_338 },
  },
];

describe('documented Keras numbers', () => {
  for (const d of documented) {
    it(`${d.title}: the reference reproduces them`, () => {
      const ref = referenceRows(build(d.reference)).totals;
      expect(ref).toMatchObject(d.expected);
    });
    it(`${d.title}: the compiled spec reproduces them`, () => {
      expect(compiledRows(d.spec, d.set).totals).toMatchObject(d.expected);
    });
  }
});

/** Checks of the mock itself against Keras behaviour known independently of this project. */
describe('the Keras mock', () => {
  it('computes conv/pool output shapes like Keras (valid: floor((n-k)/s)+1, same: ceil(n/s))', () => {
    clearSession();
    const rows = mnistCnn().rows().map((r) => `${r.className} ${shapeStr(r.outputShape)} ${r.trainable}`);
    // The MNIST CNN summary as Keras prints it.
    expect(rows).toEqual([
      'InputLayer (None, 28, 28, 1) 0',
      'Conv2D (None, 26, 26, 64) 640',
      'MaxPooling2D (None, 13, 13, 64) 0',
      'Conv2D (None, 11, 11, 64) 36928',
      'MaxPooling2D (None, 5, 5, 64) 0',
      'Conv2D (None, 3, 3, 64) 36928',
      'Flatten (None, 576) 0',
      'Dropout (None, 576) 0',
      'Dense (None, 10) 5770',
    ]);
    clearSession();
    const x = Input([32, 32, 3]);
    const shapes = [
      new Conv2D({ filters: 8, kernel_size: 3, strides: 2, padding: 'same' }).apply(x).shape,
      new Conv2D({ filters: 8, kernel_size: 1, strides: 2, padding: 'same' }).apply(Input([15, 15, 3])).shape,
      new Conv2D({ filters: 8, kernel_size: 3, strides: 2 }).apply(Input([15, 15, 3])).shape,
      new Conv2D({ filters: 8, kernel_size: 5, strides: 3 }).apply(Input([15, 15, 3])).shape,
    ];
    expect(shapes).toEqual([[16, 16, 8], [8, 8, 8], [7, 7, 8], [4, 4, 8]]);
  });

  it('counts BatchNormalization as 2C trainable + 2C non-trainable', () => {
    clearSession();
    const rows = resnet_v1([32, 32, 3], 20).rows();
    const bn = rows.find((r) => r.className === 'BatchNormalization')!;
    expect([bn.trainable, bn.nonTrainable]).toEqual([32, 32]);
  });

  it('orders the Y-network as Keras does: inputs first, then the two branches interleaved by depth', () => {
    clearSession();
    const names = yNetwork().layers.map((l) => l.name);
    expect(names).toEqual([
      'input_1', 'input_2',
      'conv2d', 'conv2d_3', 'dropout', 'dropout_3', 'max_pooling2d', 'max_pooling2d_3',
      'conv2d_1', 'conv2d_4', 'dropout_1', 'dropout_4', 'max_pooling2d_1', 'max_pooling2d_4',
      'conv2d_2', 'conv2d_5', 'dropout_2', 'dropout_5', 'max_pooling2d_2', 'max_pooling2d_5',
      'concatenate', 'flatten', 'dropout_6', 'dense',
    ]);
  });

  it('breaks depth ties by first meeting in a depth-first walk from the outputs (inputs in order)', () => {
    // ResNet v1's first downsampling block, as in Keras' ResNet20v1 summary: the 1x1 projection
    // conv (created last, met first through add's first input) precedes the residual branch's BN.
    clearSession();
    const rows = resnet_v1([32, 32, 3], 20).rows();
    const proj = rows.findIndex((r) => r.className === 'Conv2D' && r.trainable === 1 * 1 * 16 * 32 + 32);
    expect(proj).toBeGreaterThan(0);
    expect(rows[proj]!.name).toBe('conv2d_9');
    expect(rows.slice(proj - 4, proj + 3).map((r) => r.name)).toEqual([
      'conv2d_7', 'batch_normalization_7', 'activation_7', 'conv2d_8', 'conv2d_9', 'batch_normalization_8', 'add_3',
    ]);
    expect(rows[proj + 2]!.inbound).toEqual([[proj, proj + 1]]);

    // Swapping add's operands swaps the tie.
    const order = (swap: boolean) => {
      clearSession();
      const inp = Input([8]);
      const a = new Dense({ units: 4, name: 'short' }).apply(inp);
      let b = new Dense({ units: 4, name: 'long1' }).apply(inp);
      b = new Activation('relu', { name: 'long2' }).apply(b);
      const out = add(swap ? [b, a] : [a, b]);
      return new Model(inp, new Flatten({ name: 'out' }).apply(out)).layers.map((l) => l.name);
    };
    expect(order(false)).toEqual(['input_1', 'long1', 'short', 'long2', 'add', 'out']);
    expect(order(true)).toEqual(['input_1', 'long1', 'long2', 'short', 'add', 'out']);
  });

  it('rejects what Keras rejects: mismatched add, a graph not reachable from its inputs', () => {
    clearSession();
    const x = Input([8, 8, 3]);
    const y = new Conv2D({ filters: 4, kernel_size: 3, strides: 2, padding: 'same' }).apply(x);
    expect(() => add([x, y])).toThrow(/same shape/);
    const other = Input([8, 8, 3]);
    const z = new Conv2D({ filters: 4, kernel_size: 3, padding: 'same' }).apply(other);
    expect(() => new Model(x, add([y, new Conv2D({ filters: 4, kernel_size: 3, strides: 2, padding: 'same' }).apply(z)]))).toThrow(/disconnected/);
    const shape: Shape = [4, 4, 4];
    expect(() => new Conv2D({ filters: 1, kernel_size: 5 }).apply(Input(shape))).toThrow(/invalid output shape/);
  });
});
