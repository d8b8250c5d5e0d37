/**
 * The sequence specs (issue #14 item 4) end to end: specs/lstm-text-classifier.yaml (embedding,
 * two bidirectional LSTMs, dense softmax) and specs/gru-time-series.yaml (conv1d, pooling, two
 * GRUs, dense), both with a `null` (any length) sequence axis.
 *
 * - Static inference and the TensorFlow.js model agree with the Keras numbers transcribed by hand in
 *   test/reference/sequence-models.ts (layer classes, output shapes with None, parameters per layer,
 *   Keras-JSON configs, the inner layer of Bidirectional nested as Keras nests it).
 * - The CLI (dist/) runs check, summary, spec2ts, build (wasm and cpu), build --format keras-json
 *   then import (the imported spec is the same network: diff exits 0), graph and diff.
 * - One training step on tiny generated data on wasm and on cpu (finite loss, every weight moves),
 *   and on wasm the same loss and gradients as on cpu from identical weights: the kernels modelspec
 *   supplies for recurrent training (UnsortedSegmentSum for the embedding's gradient; Any/NotEqual
 *   gradients for masking) take part. UnsortedSegmentSum is also checked alone against cpu.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type Tf } from '../src/build.js';
import { kerasRows } from '../src/report/summary.js';
import { builtinRegistry } from '../src/ops/index.js';
import { mulberry32 as prng } from '../src/train/rng.js';
import { compileSpec, ROOT, spec } from './helpers.js';
import { gruTimeSeries, lstmTextClassifier, type RefModel } from './reference/sequence-models.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const run = (bin: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [`${ROOT}dist/cli/${bin}.js`, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-seq-'));

const MODELS: { file: string; ref: RefModel; small: string[] }[] = [
  { file: 'lstm-text-classifier.yaml', ref: lstmTextClassifier, small: ['vocab_size=30', 'embed_dim=6', 'units=4', 'num_classes=3'] },
  { file: 'gru-time-series.yaml', ref: gruTimeSeries, small: ['features=2', 'filters=4', 'kernel_size=3', 'units=6', 'horizon=2'] },
];

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('wasm')).tf;
  await loadTf('cpu');
});

async function use(backend: 'wasm' | 'cpu'): Promise<void> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
}

describe.each(MODELS)('$file against the Keras reference', ({ file, ref }) => {
  it('static inference: layer order, classes, output shapes (None included), parameters per layer and in total', () => {
    const r = compileSpec(file);
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const rows = kerasRows(r.graph!).map(({ node }) => ({
      name: node.id,
      className: builtinRegistry().get(node.op)!.kerasClass,
      outputShape: [null, ...node.outputShape],
      params: node.params.trainable + node.params.nonTrainable,
    }));
    expect(rows).toEqual(ref.layers.map(({ name, className, outputShape, params }) => ({ name, className, outputShape, params })));
    expect(r.graph!.totals.total).toBe(ref.total);
  });

  it('the TensorFlow.js model (cpu): the same layers, parameters and output shapes, and Keras configs as the reference', async () => {
    await use('cpu');
    const model = await buildModel(spec(file), [], { tf });
    try {
      expect(model.layers.map((l) => [l.name, l.getClassName(), l.countParams(), l.outputShape])).toEqual(
        ref.layers.map((l) => [l.name, l.className, l.params, l.outputShape]));
      expect(model.countParams()).toBe(ref.total);
      const topology = model.toJSON(null, false) as unknown as { config: { layers: { class_name: string; config: Record<string, unknown> }[] } };
      const configs = topology.config.layers.map((l) => ({ class_name: l.class_name, config: l.config }));
      expect(configs).toMatchObject(ref.layers.map((l) => ({ class_name: l.className, config: l.config })));
    } finally {
      model.dispose();
    }
  });
});

describe.each(MODELS)('$file through the CLI', ({ file, ref, small }) => {
  const path = `specs/${file}`;
  const sets = small.flatMap((s) => ['--set', s]);

  it('check and summary: None shapes and the Keras total', () => {
    const c = run('modelspec', 'check', path);
    expect([c.code, c.stderr]).toEqual([0, '']);
    expect(c.stdout).toContain(`params`);
    const s = run('modelspec', 'summary', path);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(`Total params: ${ref.total.toLocaleString('en-US')}`);
    expect(s.stdout).toContain(`(None, ${ref.layers[1]!.outputShape.slice(1).map((d) => d ?? 'None').join(', ')})`);
  });

  it('spec2ts writes a builder with the None dimension and the nested layers', () => {
    const out = tmp();
    const r = run('spec2ts', '--root', 'specs', '--out', out, path);
    expect(r.code).toBe(0);
    const code = readFileSync(join(out, file.replace(/\.yaml$/, '.ts')), 'utf8');
    expect(code).toMatch(/s\.input\('(tokens|series)', \[null(, features)?\]/);
    if (file.startsWith('lstm')) expect(code).toContain("s.layer('bidirectional', { layer: { lstm: { units: units, return_sequences: true } } }");
  });

  it.each(['wasm', 'cpu'])('build --backend %s writes the model', (backend) => {
    const out = tmp();
    const r = run('modelspec', 'build', path, ...sets, '--backend', backend, '--out', out);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain(`backend: ${backend}`);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.modelTopology.config.layers.map((l: { class_name: string }) => l.class_name)).toEqual(ref.layers.map((l) => l.className));
  });

  it('keras-json export then import: the same network (diff exits 0), inner layers nested as Keras nests them', () => {
    const out = tmp();
    expect(run('modelspec', 'build', path, '--backend', 'cpu', '--format', 'keras-json', '--out', out).code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.config.layers[0].config.batch_input_shape).toEqual(ref.layers[0]!.outputShape);
    const imported = join(out, 'imported.yaml');
    const i = run('modelspec', 'import', join(out, 'model.json'), '--out', imported);
    expect([i.code, i.stderr]).toEqual([0, '']);
    const text = readFileSync(imported, 'utf8');
    if (file.startsWith('lstm')) expect(text).toContain('- bidirectional: {layer: {lstm: {units: 64, return_sequences: true}}}');
    const d = run('modelspec', 'diff', path, imported);
    expect(d.stdout).toContain('no architectural change');
    expect(d.code).toBe(0);
  });

  it('graph draws the None shapes; diff names a changed inner attribute by its path', () => {
    const g = run('modelspec', 'graph', path, '--format', 'mermaid');
    expect(g.code).toBe(0);
    expect(g.stdout).toContain(ref.layers[0]!.outputShape.map((d) => d ?? 'None').join(', '));
    const edited = join(tmp(), file);
    const text = readFileSync(join(ROOT, path), 'utf8');
    const changed = file.startsWith('lstm')
      ? text.replace('{layer: {lstm: {units: $units}}}', '{layer: {lstm: {units: 32}}}')
      : text.replace('{units: $units, return_sequences: true, reset_after: false}', '{units: 48, return_sequences: true, reset_after: false}');
    expect(changed).not.toBe(text);
    writeFileSync(edited, changed);
    const d = run('modelspec', 'diff', path, edited);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain(file.startsWith('lstm') ? 'bidirectional_1 (Bidirectional): layer.lstm.units 64 -> 32' : 'gru (GRU): units 64 -> 48');
  });
});

// ---------------------------------------------------------------------------------------------
// Training

const BATCH = 3;

/** Tiny generated data: token ids with trailing padding (0), or a float series; one-hot labels or targets. */
function data(file: string, rand: () => number): { x: TF.Tensor; y: TF.Tensor; loss: string } {
  if (file.startsWith('lstm')) {
    const steps = 5;
    const ids = Int32Array.from({ length: BATCH * steps }, (_, i) => (i % steps < steps - (i / steps | 0) ? 1 + Math.floor(rand() * 29) : 0));
    const labels = new Float32Array(BATCH * 3);
    for (let b = 0; b < BATCH; b++) labels[b * 3 + (b % 3)] = 1;
    return { x: tf.tensor(ids, [BATCH, steps], 'int32'), y: tf.tensor(labels, [BATCH, 3]), loss: 'categoricalCrossentropy' };
  }
  const steps = 8;
  return {
    x: tf.tensor(Float32Array.from({ length: BATCH * steps * 2 }, () => rand() * 2 - 1), [BATCH, steps, 2]),
    y: tf.tensor(Float32Array.from({ length: BATCH * 2 }, () => rand()), [BATCH, 2]),
    loss: 'meanSquaredError',
  };
}

const setOf = (small: string[]) => Object.fromEntries(small.map((s) => s.split('=')).map(([k, v]) => [k!, Number(v)]));

describe.each(MODELS)('$file: one training step', ({ file, small }) => {
  it.each(['wasm', 'cpu'] as const)('on %s: trainOnBatch (adam) gives a finite loss and moves every trainable weight', async (backend) => {
    await use(backend);
    const model = await buildModel(spec(file), setOf(small), { tf });
    const { x, y, loss } = data(file, prng(7));
    try {
      model.compile({ optimizer: tf.train.adam(1e-2), loss });
      const w0 = model.trainableWeights.map((w) => w.read().dataSync().slice());
      const value = (await model.trainOnBatch(x, y)) as number;
      expect(tf.getBackend()).toBe(backend);
      expect(Number.isFinite(value) && value > 0, `loss ${value}`).toBe(true);
      const still = model.trainableWeights.filter((w, i) => w.read().dataSync().every((v, j) => v === w0[i]![j]));
      expect(still.map((w) => w.name)).toEqual([]);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
      tf.dispose([x, y]);
    }
  });

  it('wasm and cpu agree on the loss and every gradient from identical weights and data (rel. 1e-4, floor 1e-6 of the largest)', async () => {
    const results: { loss: number; grads: Float32Array[] }[] = [];
    let weights: { data: Float32Array; shape: number[] }[] | undefined;
    for (const backend of ['cpu', 'wasm'] as const) {
      await use(backend);
      const model = await buildModel(spec(file), setOf(small), { tf });
      if (weights) model.setWeights(weights.map((w) => tf.tensor(w.data, w.shape)));
      else weights = model.getWeights().map((w) => ({ data: w.dataSync().slice() as Float32Array, shape: w.shape }));
      const { x, y, loss } = data(file, prng(7));
      const f = () => (loss === 'meanSquaredError'
        ? tf.losses.meanSquaredError(y, model.apply(x) as TF.Tensor)
        : tf.losses.softmaxCrossEntropy(y, model.apply(x) as TF.Tensor)) as TF.Scalar;
      const { value, grads } = tf.variableGrads(f, model.trainableWeights.map((w) => (w as unknown as { val: TF.Variable }).val));
      results.push({ loss: value.dataSync()[0]!, grads: model.trainableWeights.map((w) => grads[(w as unknown as { val: TF.Variable }).val.name]!.dataSync().slice() as Float32Array) });
      tf.dispose([value, ...Object.values(grads), x, y]);
      model.dispose();
    }
    const [cpu, wasm] = results as [typeof results[0], typeof results[0]];
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(cpu.loss));
    // Relative to each gradient's largest entry, with a floor of 1e-6 of the largest gradient of all: a
    // gradient that is a sum of cancelling terms (a softmax bias: sum of p - y over the batch) is small
    // beside the terms it sums, and float32 rounding of those terms (a few ulps) differs by CPU.
    const floor = 1e-6 * Math.max(...cpu.grads.map((g) => Math.max(...Array.from(g, Math.abs))));
    cpu.grads.forEach((g, i) => {
      const scale = Math.max(1e-6, ...Array.from(g, Math.abs));
      const diff = Math.max(...Array.from(g, (v, j) => Math.abs(v - wasm.grads[i]![j]!)));
      expect(diff, `gradient ${i}`).toBeLessThanOrEqual(Math.max(1e-4 * scale, floor));
    });
  });
});

describe('UnsortedSegmentSum on wasm (the gradient of Gather) against cpu', () => {
  it.each([[[7, 3], 4, 'float32'], [[9], 5, 'float32'], [[6, 2, 2], 3, 'int32'], [[0, 4], 2, 'float32']] as const)('x %j into %d segments (%s), ids out of range dropped', async (shape, segments, dtype) => {
    const rand = prng(shape.length * 31 + segments);
    const n = shape.reduce((a, b) => a * b, 1);
    const xs = Array.from({ length: n }, () => (dtype === 'int32' ? Math.floor(rand() * 20) - 10 : rand() * 2 - 1));
    const ids = Array.from({ length: shape[0]! }, () => Math.floor(rand() * (segments + 2)) - 1); // -1 and `segments` are out of range
    const out: number[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await use(backend);
      const t = tf.unsortedSegmentSum(tf.tensor(xs, [...shape], dtype), tf.tensor1d(ids, 'int32'), segments);
      expect(t.shape).toEqual([segments, ...shape.slice(1)]);
      out.push(Array.from(t.dataSync()));
      t.dispose();
    }
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeTruthy();
    out[1]!.forEach((v, i) => expect(Math.abs(v - out[0]![i]!)).toBeLessThanOrEqual(1e-5));
  });
});

describe('masking after a trainable layer trains (tfjs has no gradient for Any / NotEqual: modelspec registers zero ones)', () => {
  const MASKED = `modelspec: 1
name: masked
inputs:
  x: {shape: [6, 2]}
layers:
  - conv1d: {filters: 3, kernel_size: 3, padding: same}
  - time_distributed: {layer: {dense: {units: 2}}}
  - masking: {}
  - simple_rnn: {units: 3, go_backwards: true}
  - dense: {units: 2, activation: softmax}
`;
  it.each(['wasm', 'cpu'] as const)('on %s', async (backend) => {
    await use(backend);
    const model = await buildModel(MASKED, undefined, { tf });
    const rand = prng(3);
    const x = tf.tensor(Float32Array.from({ length: 2 * 6 * 2 }, () => rand()), [2, 6, 2]);
    const y = tf.tensor([[1, 0], [0, 1]]);
    try {
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const value = (await model.trainOnBatch(x, y)) as number;
      expect(Number.isFinite(value) && value > 0).toBe(true);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
      tf.dispose([x, y]);
    }
  });
});

describe('up_sampling1d and zero_padding1d (custom tfjs layers: TensorFlow.js 4.22 has neither)', () => {
  const PADDED = `modelspec: 1
name: padded
inputs:
  x: {shape: [4, 2]}
layers:
  - zero_padding1d: {padding: [2, 1]}
  - up_sampling1d: {size: 3}
  - conv1d: {filters: 2, kernel_size: 3}
  - lstm: 2
`;
  it.each(['wasm', 'cpu'] as const)('on %s: values as Keras computes them, and a training step', async (backend) => {
    await use(backend);
    const model = await buildModel(PADDED, undefined, { tf });
    try {
      const pad = model.layers[1]!, up = model.layers[2]!;
      expect([pad.getClassName(), up.getClassName()]).toEqual(['ZeroPadding1D', 'UpSampling1D']);
      const x = tf.tensor([[[1, 2], [3, 4], [5, 6], [7, 8]]]);
      const padded = pad.apply(x) as TF.Tensor;
      // [2, 1]: two zero steps before, one after.
      expect(padded.arraySync()).toEqual([[[0, 0], [0, 0], [1, 2], [3, 4], [5, 6], [7, 8], [0, 0]]]);
      const upsampled = up.apply(tf.tensor([[[1, 2], [3, 4]]])) as TF.Tensor;
      expect(upsampled.arraySync()).toEqual([[[1, 2], [1, 2], [1, 2], [3, 4], [3, 4], [3, 4]]]);
      expect(model.outputs[0]!.shape).toEqual([null, 2]);
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      const loss = (await model.trainOnBatch(tf.ones([2, 4, 2]), tf.zeros([2, 2]))) as number;
      expect(Number.isFinite(loss)).toBe(true);
      tf.dispose([x, padded, upsampled]);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
    }
  });

  it('Keras JSON names them as Keras does, and import reads them back; a saved model.json loads', async () => {
    await use('cpu');
    const out = tmp();
    writeFileSync(join(out, 'padded.yaml'), PADDED);
    expect(run('modelspec', 'build', join(out, 'padded.yaml'), '--backend', 'cpu', '--format', 'keras-json', '--out', join(out, 'k')).code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'k', 'model.json'), 'utf8'));
    expect(json.config.layers.slice(1, 3).map((l: { class_name: string; config: object }) => [l.class_name, l.config])).toMatchObject([['ZeroPadding1D', { padding: [2, 1] }], ['UpSampling1D', { size: 3 }]]);
    const i = run('modelspec', 'import', join(out, 'k', 'model.json'));
    expect(i.code).toBe(0);
    expect(i.stdout).toContain('- zero_padding1d: {padding: [2, 1]}');
    expect(i.stdout).toContain('- up_sampling1d: {size: 3}');
    expect(run('modelspec', 'build', join(out, 'padded.yaml'), '--backend', 'cpu', '--out', join(out, 't')).code).toBe(0);
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(JSON.parse(readFileSync(join(out, 't', 'model.json'), 'utf8')).modelTopology));
    expect(loaded.layers.map((l) => l.getClassName()).slice(1, 3)).toEqual(['ZeroPadding1D', 'UpSampling1D']);
    loaded.dispose();
  });
});

describe('the orthogonal initializer (recurrent kernels) computed in JavaScript, as Keras defines it', () => {
  it.each([[64, 256], [256, 64], [5, 5], [3, 2, 4]])('shape %j: orthonormal rows or columns, gain 1; tfjs still serialises it as Orthogonal', async (...shape) => {
    await use('cpu');
    const model = await buildModel(`modelspec: 1\nname: o\ninputs:\n  x: {shape: [3, 4]}\nlayers:\n  - lstm: 16\n`, undefined, { tf });
    const init = tf.serialization.SerializationMap.getMap().classNameMap.Orthogonal![0] as unknown as new (a: object) => { apply(s: number[]): TF.Tensor };
    const w = new init({}).apply(shape);
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1), cols = shape[shape.length - 1]!;
    const m = tf.reshape(w, [rows, cols]);
    // Q^T Q = I (more rows) or Q Q^T = I (more columns).
    const gram = rows >= cols ? tf.matMul(m, m, true, false) : tf.matMul(m, m, false, true);
    const eye = tf.eye(Math.min(rows, cols));
    expect(tf.max(tf.abs(tf.sub(gram, eye))).dataSync()[0]).toBeLessThan(1e-5);
    const recurrent = model.layers[1]!.getWeights()[1]!; // (16, 64): orthonormal rows
    expect(tf.max(tf.abs(tf.sub(tf.matMul(recurrent, recurrent, false, true), tf.eye(16)))).dataSync()[0]).toBeLessThan(1e-5);
    expect(JSON.stringify(model.toJSON(null, false))).toContain('"recurrent_initializer":{"class_name":"Orthogonal"');
    tf.dispose([w, m, gram, eye]);
    model.dispose();
  });
});

describe('conv_lstm2d builds and trains (tfjs ConvLSTM2D)', () => {
  const CLSTM = `modelspec: 1
name: clstm
inputs:
  frames: {shape: [null, 6, 6, 1]}
layers:
  - conv_lstm2d: {filters: 2, kernel_size: 3, padding: same, return_sequences: true}
  - conv_lstm2d: {filters: 2, kernel_size: 3}
  - flatten: {}
  - dense: {units: 2, activation: softmax}
`;
  it.each(['wasm', 'cpu'] as const)('on %s: Keras parameters per layer, one training step', async (backend) => {
    await use(backend);
    const model = await buildModel(CLSTM, undefined, { tf });
    try {
      // 3*3*1*8 + 3*3*2*8 + 8 = 72 + 144 + 8 = 224; then 3*3*2*8 + 144 + 8 = 296; dense 4*4*2*2 + 2 = 66
      expect(model.layers.map((l) => l.countParams())).toEqual([0, 224, 296, 0, 66]);
      expect(model.layers[1]!.getConfig().recurrentActivation).toBe('hardSigmoid');
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      const loss = (await model.trainOnBatch(tf.ones([2, 3, 6, 6, 1]), tf.tensor([[1, 0], [0, 1]]))) as number;
      expect(Number.isFinite(loss)).toBe(true);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
    }
  });
});
