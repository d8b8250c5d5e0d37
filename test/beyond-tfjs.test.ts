/**
 * Ops beyond tfjs (custom tfjs layers, src/backends/tfjs/custom-layers.ts): weight shapes and
 * order as Keras builds them, a forward pass against plain-JS transcriptions of Keras' formulas
 * (test/reference/beyond-tfjs.ts) on the cpu backend, the wasm backend agreeing with cpu, and a
 * saved model.json naming the custom classes loading back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type Tf } from '../src/build.js';
import { compileYaml, codes } from './helpers.js';
import { shareRepeatedInputs } from '../src/backends/tfjs/repeated-inputs.js';
import { toKeras3 } from '../src/backends/keras-json/keras3.js';
import { importKerasJson } from '../src/backends/keras-json/import.js';
import { builtinRegistry } from '../src/index.js';
import * as ref from './reference/beyond-tfjs.js';

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});
afterAll(async () => {
  await loadTf('cpu');
});

/** Deterministic values in [-1, 1) for a shape (a fixed LCG: the test's weights and inputs). */
function values(shape: readonly number[], seed: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}
const nest = (flat: number[], shape: readonly number[]): any => {
  if (shape.length === 1) return flat.slice(0, shape[0]);
  const step = flat.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nest(flat.slice(i * step, (i + 1) * step), shape.slice(1)));
};

/** Build the spec, give every weight fixed values; returns the model and the weights (nested arrays) by name. */
async function built(yaml: string): Promise<{ model: TF.LayersModel; w: Map<string, any> }> {
  const r = compileYaml(yaml);
  expect(codes(r)).toEqual([]);
  const model = await buildModel(r, undefined, { tf });
  const w = new Map<string, any>();
  model.weights.forEach((v, i) => {
    const flat = values(v.shape as number[], 7 + i);
    v.write(tf.tensor(flat, v.shape as number[]));
    w.set(v.originalName.split('/').slice(1).join('/'), nest(flat, v.shape as number[]));
  });
  return { model, w };
}

const close = (got: number[][], want: number[][]) => {
  expect(got.length).toBe(want.length);
  got.flat().forEach((g, i) => expect(g).toBeCloseTo(want.flat()[i]!, 5));
};

const MHA = `
inputs:
  q: {shape: [3, 4]}
  v: {shape: [5, 6]}
  k: {shape: [5, 2]}
layers:
  - multi_head_attention: {num_heads: 2, key_dim: 3, value_dim: 2, output_shape: 7}
    from: [q, v, k]
`;

describe('multi_head_attention', () => {
  it('has the weights Keras builds, in its order, and its parameter count', () => {
    const r = compileYaml(MHA);
    const n = r.graph!.nodes.find((x) => x.op === 'multi_head_attention')!;
    expect(n.weights.map((w) => [w.name, w.shape])).toEqual([
      ['query/kernel', [4, 2, 3]], ['query/bias', [2, 3]],
      ['key/kernel', [2, 2, 3]], ['key/bias', [2, 3]],
      ['value/kernel', [6, 2, 2]], ['value/bias', [2, 2]],
      ['attention_output/kernel', [2, 2, 7]], ['attention_output/bias', [7]],
    ]);
    // Keras: (4*6 + 6) + (2*6 + 6) + (6*4 + 4) + (4*7 + 7)
    expect(r.graph!.totals.total).toBe(30 + 18 + 28 + 35);
    expect(n.outputShape).toEqual([3, 7]);
  });

  it('computes softmax(QK^T / sqrt(key_dim)) V per head, then the output projection', async () => {
    const { model, w } = await built(MHA);
    expect([...w.keys()]).toEqual(['query/kernel', 'query/bias', 'key/kernel', 'key/bias', 'value/kernel', 'value/bias', 'attention_output/kernel', 'attention_output/bias']);
    const xs = [[3, 4], [5, 6], [5, 2]].map((s, i) => nest(values(s, 100 + i), s) as number[][]);
    const y = model.predict(xs.map((x) => tf.tensor([x]))) as TF.Tensor;
    const want = ref.multiHeadAttention(xs[0]!, xs[1]!, xs[2]!, {
      wq: w.get('query/kernel'), bq: w.get('query/bias'), wk: w.get('key/kernel'), bk: w.get('key/bias'),
      wv: w.get('value/kernel'), bv: w.get('value/bias'), wo: w.get('attention_output/kernel'), bo: w.get('attention_output/bias'),
    });
    close((y.arraySync() as number[][][])[0]!, want);
  });

  it('use_causal_mask: query t attends to keys s <= t only (Keras\' causal mask); Keras 3 JSON writes it as a call argument and import reads it back', async () => {
    const yaml = 'inputs:\n  x: {shape: [5, 4]}\nlayers:\n  - multi_head_attention: {num_heads: 2, key_dim: 3, use_causal_mask: true}\n    from: [x, x]\n';
    const { model, w } = await built(yaml);
    const x = nest(values([5, 4], 900), [5, 4]) as number[][];
    const y = (model.predict(tf.tensor([x])) as TF.Tensor).arraySync() as number[][][];
    const ws = {
      wq: w.get('query/kernel'), bq: w.get('query/bias'), wk: w.get('key/kernel'), bk: w.get('key/bias'),
      wv: w.get('value/kernel'), bv: w.get('value/bias'), wo: w.get('attention_output/kernel'), bo: w.get('attention_output/bias'),
    };
    close(y[0]!, ref.multiHeadAttention(x, x, x, ws, true));
    // not the unmasked result (the first position sees only itself)
    expect(Math.abs(y[0]![0]![0]! - ref.multiHeadAttention(x, x, x, ws)[0]![0]!)).toBeGreaterThan(1e-4);
    const keras2 = model.toJSON(null, false) as never;
    const keras3 = toKeras3(keras2, () => [null, 5, 4]) as unknown as { config: { layers: { class_name: string; config: object; inbound_nodes: { kwargs: object }[] }[] } };
    const att = keras3.config.layers.find((l) => l.class_name === 'MultiHeadAttention')!;
    expect(att.inbound_nodes[0]!.kwargs).toEqual({ use_causal_mask: true });
    expect(att.config).not.toHaveProperty('use_causal_mask');
    for (const json of [keras2, keras3]) expect(importKerasJson(json as never, builtinRegistry()).yaml).toContain('use_causal_mask: true');
  });

  it('takes 2 or 3 inputs, of one key/value length', () => {
    expect(codes(compileYaml('inputs:\n  q: {shape: [3, 4]}\n  v: {shape: [5, 4]}\nlayers:\n  - multi_head_attention: {num_heads: 1, key_dim: 2}\n    from: [q, v, v, v]\n'))).not.toEqual([]);
    expect(codes(compileYaml('inputs:\n  q: {shape: [3, 4]}\n  v: {shape: [5, 4]}\n  k: {shape: [4, 4]}\nlayers:\n  - multi_head_attention: {num_heads: 1, key_dim: 2}\n    from: [q, v, k]\n'))).not.toEqual([]);
  });
});

describe('the other ops beyond tfjs, against Keras formulas', () => {
  const x = nest(values([4, 3], 300), [4, 3]) as number[][];
  const y = nest(values([4, 3], 301), [4, 3]) as number[][];
  const run = async (yaml: string, ins: number[][][]) => {
    const { model, w } = await built(yaml);
    const out = model.predict(ins.length === 1 ? tf.tensor([ins[0]!]) : ins.map((a) => tf.tensor([a]))) as TF.Tensor;
    return { out: (out.arraySync() as any[])[0], w, model };
  };

  it('position_embedding: the first rows of a [sequence_length, dim] table', async () => {
    const { out, w } = await run('inputs:\n  x: {shape: [4, 3]}\nlayers:\n  - position_embedding: {sequence_length: 6}\n', [x]);
    expect((w.get('embeddings') as number[][]).length).toBe(6);
    close(out, ref.positionEmbedding(x, w.get('embeddings')));
  });

  it('subtract: exactly two inputs', async () => {
    const { out } = await run('inputs:\n  a: {shape: [4, 3]}\n  b: {shape: [4, 3]}\nlayers:\n  - subtract: {}\n    from: [a, b]\n', [x, y]);
    close(out, ref.subtract(x, y));
    expect(codes(compileYaml('inputs:\n  a: {shape: [3]}\nlayers:\n  - subtract: {}\n    from: [a, a, a]\n'))).not.toEqual([]);
  });

  it('cropping1d', async () => {
    const { out } = await run('inputs:\n  x: {shape: [4, 3]}\nlayers:\n  - cropping1d: {cropping: [1, 2]}\n', [x]);
    close(out, ref.cropping1d(x, 1, 2));
  });

  it('global average / max pooling 1d, with and without keepdims', async () => {
    for (const [op, max] of [['global_average_pooling1d', false], ['global_max_pooling1d', true]] as const) {
      const a = await run(`inputs:\n  x: {shape: [4, 3]}\nlayers:\n  - ${op}: {}\n`, [x]);
      close([a.out], [ref.globalPool1d(x, max)]);
      const b = await run(`inputs:\n  x: {shape: [4, 3]}\nlayers:\n  - ${op}: {keepdims: true}\n`, [x]);
      close(b.out, [ref.globalPool1d(x, max)]);
    }
  });

  it('global pooling 2d and 3d keepdims: shapes as Keras', async () => {
    const r2 = await run('inputs:\n  x: {shape: [2, 2, 3]}\nlayers:\n  - global_max_pooling2d: {keepdims: true}\n', [nest(values([2, 2, 3], 5), [2, 2, 3])]);
    expect(r2.model.outputs[0]!.shape).toEqual([null, 1, 1, 3]);
    const r3 = compileYaml('inputs:\n  x: {shape: [2, 2, 2, 3]}\nlayers:\n  - global_average_pooling3d: {keepdims: true}\n');
    expect(r3.graph!.nodes.at(-1)!.outputShape).toEqual([1, 1, 1, 3]);
  });

  it('conv2d with groups: kernel (kh, kw, cin/groups, filters), each group of filters on its channels', async () => {
    const img = nest(values([4, 5, 6], 400), [4, 5, 6]) as number[][][];
    const { out, w, model } = await run('inputs:\n  x: {shape: [4, 5, 6]}\nlayers:\n  - conv2d: {filters: 4, kernel_size: [2, 3], groups: 2}\n', [img as never]);
    expect(model.weights.map((v) => v.shape)).toEqual([[2, 3, 3, 4], [4]]);
    expect(model.countParams()).toBe(2 * 3 * 3 * 4 + 4);
    const want = ref.groupedConv2d(img, w.get('kernel'), w.get('bias'), 2);
    expect((out as number[][][]).flat(2).length).toBe(want.flat(2).length);
    (out as number[][][]).flat(2).forEach((g, i) => expect(g).toBeCloseTo(want.flat(2)[i]!, 5));
    // groups 1 is tfjs' own Conv2D, config unchanged
    const plain = await run('inputs:\n  x: {shape: [4, 5, 6]}\nlayers:\n  - conv2d: {filters: 4, kernel_size: 2}\n', [img as never]);
    expect(plain.model.layers[1]!.getConfig()).not.toHaveProperty('groups');
    expect(model.layers[1]!.getConfig()).toMatchObject({ groups: 2 });
  });

  it('layer_normalization over axes [-2, -1]: gamma and beta of shape (length, features)', async () => {
    const { out, w } = await run('inputs:\n  x: {shape: [4, 3]}\nlayers:\n  - layer_normalization: {axis: [-2, -1], epsilon: 0.001}\n', [x]);
    expect((w.get('gamma') as number[][]).map((r) => r.length)).toEqual([3, 3, 3, 3]);
    close(out, ref.layerNorm2(x, w.get('gamma'), w.get('beta'), 0.001));
  });
});

describe('wasm agrees with cpu, and saved custom layers load back', () => {
  it('conv2d with groups: wasm trains it as cpu computes it, and model.json loads back', async () => {
    const yaml = 'inputs:\n  x: {shape: [5, 5, 4]}\nlayers:\n  - conv2d: {filters: 6, kernel_size: 3, groups: 2, padding: same, strides: 2, activation: relu}\n  - global_average_pooling2d: {}\n';
    const xs = tf.tensor([nest(values([5, 5, 4], 11), [5, 5, 4])]);
    const { model } = await built(yaml);
    const cpu = ((model.predict(xs) as TF.Tensor).arraySync() as number[][]).flat();
    let artifacts: TF.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    ((loaded.predict(xs) as TF.Tensor).arraySync() as number[][]).flat().forEach((g, i) => expect(g).toBeCloseTo(cpu[i]!, 6));
    const weights = model.getWeights().map((t) => ({ data: t.dataSync().slice(), shape: t.shape }));
    const wasm = (await loadTf('wasm')).tf;
    try {
      const { model: m2 } = await built(yaml);
      m2.setWeights(weights.map((w) => wasm.tensor(w.data, w.shape)));
      const x2 = wasm.tensor(xs.arraySync() as number[][][][]);
      ((m2.predict(x2) as TF.Tensor).arraySync() as number[][]).flat().forEach((g, i) => expect(g).toBeCloseTo(cpu[i]!, 4));
      m2.compile({ optimizer: wasm.train.sgd(0.1), loss: 'meanSquaredError' });
      const h = await m2.fit(x2, wasm.ones([1, 6]), { epochs: 1 });
      expect(Number.isFinite(h.history.loss![0] as number)).toBe(true);
    } finally {
      await loadTf('cpu');
    }
  });

  it('the same weights give the same outputs on wasm, and a model.json round trip keeps them', async () => {
    const yaml = `
inputs:
  x: {shape: [4, 6]}
layers:
  - position_embedding: {sequence_length: 4}
    id: pos
  - add: {}
    from: [x, pos]
    id: s
  - multi_head_attention: {num_heads: 2, key_dim: 3}
    from: [s, s]
  - cropping1d: {cropping: 1}
    id: c
  - cropping1d: {cropping: 1}
    id: cx
    from: x
  - subtract: {}
    from: [c, cx]
  - global_max_pooling1d: {keepdims: true}
`;
    const xs = tf.tensor([nest(values([4, 6], 9), [4, 6])]);
    const { model } = await built(yaml);
    const cpu = (model.predict(xs) as TF.Tensor).arraySync() as number[][][];
    const weights = model.getWeights().map((t) => ({ data: t.dataSync().slice(), shape: t.shape }));
    // save and load (tfjs' own deserialization of the custom classes)
    let artifacts: TF.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    const back = ((loaded.predict(xs) as TF.Tensor).arraySync() as number[][][]).flat(2);
    expect(back.length).toBe(cpu.flat(2).length);
    back.forEach((g, i) => expect(g).toBeCloseTo(cpu.flat(2)[i]!, 6));
    expect(loaded.layers.map((l) => l.getClassName())).toContain('MultiHeadAttention');
    const wasm = (await loadTf('wasm')).tf;
    try {
      const { model: m2 } = await built(yaml);
      m2.setWeights(weights.map((w) => wasm.tensor(w.data, w.shape)));
      const got = (m2.predict(wasm.tensor(xs.arraySync() as number[][][])) as TF.Tensor).arraySync() as number[][][];
      got.flat(2).forEach((g, i) => expect(g).toBeCloseTo(cpu.flat(2)[i]!, 4));
    } finally {
      await loadTf('cpu');
    }
  });
});

describe('gru with reset_after: true (Keras 2 default; tfjs has only false): modelspec\'s own cell', () => {
  const GRU = (attrs: string, steps: number | null = 4) => `inputs:\n  x: {shape: [${steps}, 3]}\nlayers:\n  - gru: {units: 5${attrs}}\n`;
  const x = nest(values([4, 3], 500), [4, 3]) as number[][];

  it('has Keras\' weights: kernel (3, 15), recurrent_kernel (5, 15), bias (2, 15); 3*(5*(5+3) + 2*5) = 150 parameters', async () => {
    const r = compileYaml(GRU(''));
    expect(r.graph!.totals.total).toBe(150);
    const { model } = await built(GRU(''));
    expect(model.weights.map((v) => [v.originalName.split('/').slice(1).join('/'), v.shape])).toEqual([
      ['kernel', [3, 15]], ['recurrent_kernel', [5, 15]], ['bias', [2, 15]],
    ]);
    expect(model.countParams()).toBe(150);
    expect(model.layers[1]!.getConfig()).toMatchObject({ resetAfter: true, recurrentActivation: 'sigmoid' });
  });

  it('computes Keras\' GRUCell step (reset gate on the recurrent product plus its own bias), also backwards and without bias', async () => {
    for (const extra of [', return_sequences: true', ', return_sequences: true, go_backwards: true', ', return_sequences: true, use_bias: false']) {
      const { out, w } = await (async () => {
        const { model, w } = await built(GRU(extra));
        const y = model.predict(tf.tensor([x])) as TF.Tensor;
        return { out: (y.arraySync() as number[][][])[0]!, w };
      })();
      const want = ref.gruResetAfter(x, w.get('kernel'), w.get('recurrent_kernel'), w.get('bias') ?? null, extra.includes('go_backwards'));
      close(out, want);
    }
    // the last step only, by default
    const { model, w } = await built(GRU(''));
    const last = ((model.predict(tf.tensor([x])) as TF.Tensor).arraySync() as number[][])[0]!;
    close([last], [ref.gruResetAfter(x, w.get('kernel'), w.get('recurrent_kernel'), w.get('bias')).at(-1)!]);
  });

  it('takes sequences of any length (shape [null, 3])', async () => {
    const { model, w } = await built(GRU(', return_sequences: true', null));
    const x6 = nest(values([6, 3], 501), [6, 3]) as number[][];
    const y = ((model.predict(tf.tensor([x6])) as TF.Tensor).arraySync() as number[][][])[0]!;
    close(y, ref.gruResetAfter(x6, w.get('kernel'), w.get('recurrent_kernel'), w.get('bias')));
  });

  it('inside bidirectional (tfjs clones it for the backward direction from its config): 2 * 3*(4*(4+3) + 2*4) = 216', async () => {
    const { model } = await built('inputs:\n  x: {shape: [null, 3]}\nlayers:\n  - bidirectional: {layer: {gru: {units: 4}}}\n');
    expect(model.layers[1]!.getWeights().map((w) => w.shape)).toEqual([[3, 12], [4, 12], [2, 12], [3, 12], [4, 12], [2, 12]]);
    expect(model.countParams()).toBe(216);
    expect(compileYaml('inputs:\n  x: {shape: [null, 3]}\nlayers:\n  - bidirectional: {layer: {gru: {units: 4}}}\n').graph!.totals.total).toBe(216);
  });

  it('reset_after: false is still tfjs\' own GRU (one bias of 3u)', async () => {
    const { model } = await built(GRU(', reset_after: false'));
    expect(model.weights.map((v) => v.shape)).toEqual([[3, 15], [5, 15], [15]]);
    expect(model.layers[1]!.getConfig()).toMatchObject({ resetAfter: false });
  });

  it('model.json round trip; wasm computes and trains it as cpu does (loss and every gradient)', async () => {
    const yaml = GRU(', return_sequences: true, dropout: 0.2, recurrent_dropout: 0.1') + '  - gru: {units: 2}\n';
    const xs = tf.tensor([x, x.map((r) => r.map((v) => -v))]);
    const ys = tf.tensor([[0.5, -0.5], [0.1, 0.2]]);
    const { model } = await built(yaml);
    const cpu = (model.predict(xs) as TF.Tensor).dataSync().slice();
    let artifacts: TF.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.layers[1]!.getConfig()).toMatchObject({ resetAfter: true });
    expect(loaded.weights.map((v) => v.shape)).toEqual(model.weights.map((v) => v.shape));
    (loaded.predict(xs) as TF.Tensor).dataSync().forEach((g, i) => expect(g).toBeCloseTo(cpu[i]!, 6));
    const weights = model.getWeights().map((t) => ({ data: t.dataSync().slice(), shape: t.shape }));
    const grads = (m: TF.LayersModel, t: Tf, a: TF.Tensor, b: TF.Tensor) => {
      const vars = m.trainableWeights.map((v) => (v as unknown as { val: TF.Variable }).val);
      const { value, grads: g } = t.variableGrads(() => t.losses.meanSquaredError(b, m.apply(a, { training: false }) as TF.Tensor) as TF.Scalar, vars);
      return { loss: value.dataSync()[0]!, grads: vars.map((v) => g[v.name]!.dataSync().slice()) };
    };
    const want = grads(model, tf, xs, ys);
    const wasm = (await loadTf('wasm')).tf;
    try {
      const { model: m2 } = await built(yaml);
      m2.setWeights(weights.map((w) => wasm.tensor(w.data, w.shape)));
      const [x2, y2] = [wasm.tensor(xs.arraySync() as number[][][]), wasm.tensor(ys.arraySync() as number[][])];
      (m2.predict(x2) as TF.Tensor).dataSync().forEach((g, i) => expect(g).toBeCloseTo(cpu[i]!, 4));
      const got = grads(m2, wasm, x2, y2);
      expect(got.loss).toBeCloseTo(want.loss, 5);
      // Floor: 1e-6 of the largest gradient of all (cancelling sums round differently by CPU).
      const floor = 1e-6 * Math.max(...want.grads.map((g) => Math.max(...Array.from(g, Math.abs))));
      want.grads.forEach((g, i) => {
        const scale = Math.max(1e-6, ...Array.from(g, Math.abs));
        expect(Math.max(...Array.from(g, (v, j) => Math.abs(v - got.grads[i]![j]!))), `gradient ${i}`).toBeLessThanOrEqual(Math.max(1e-4 * scale, floor));
      });
      m2.compile({ optimizer: wasm.train.adam(0.01), loss: 'meanSquaredError' });
      const before = m2.getWeights().map((t) => t.dataSync().slice());
      const h = await m2.fit(x2, y2, { epochs: 1 });
      expect(Number.isFinite(h.history.loss![0] as number)).toBe(true);
      m2.getWeights().forEach((t, i) => expect(Array.from(t.dataSync())).not.toEqual(Array.from(before[i]!)));
    } finally {
      await loadTf('cpu');
    }
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
    const h = await model.fit(xs, ys, { epochs: 1 });
    expect(Number.isFinite(h.history.loss![0] as number)).toBe(true);
  });
});

describe('image layers tfjs lacks or cannot run: resizing, random_width/height, spatial_dropout2d/3d', () => {
  const img = nest(values([5, 7, 2], 600), [5, 7, 2]) as number[][][];
  const flat3 = (a: number[][][]) => a.flat(2);
  const closeFlat = (got: number[], want: number[]) => {
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
  };
  const predict = async (layer: string, input = '[5, 7, 2]', x: unknown = img, training = false) => {
    const { model } = await built(`inputs:\n  x: {shape: ${input}}\nlayers:\n  - ${layer}\n`);
    const t = tf.tensor([x as number[]]);
    const y = training ? (model.layers[1]!.apply(t, { training: true }) as TF.Tensor) : (model.predict(t) as TF.Tensor);
    return { y, model };
  };

  it('resizing: tf.image.resize as Keras calls it (half-pixel centres), bilinear and nearest, up and down', async () => {
    for (const [h, w] of [[3, 4], [8, 10], [5, 3]] as const) {
      for (const m of ['bilinear', 'nearest'] as const) {
        const { y } = await predict(`resizing: {height: ${h}, width: ${w}, interpolation: ${m}}`);
        expect(y.shape).toEqual([1, h, w, 2]);
        closeFlat(Array.from(y.dataSync()), flat3(ref.resize(img, h, w, m)));
      }
    }
  });

  it('resizing with crop_to_aspect_ratio: the centred window of the target\'s aspect ratio, then resized', async () => {
    for (const [h, w] of [[4, 4], [2, 6], [6, 2]] as const) {
      const { y } = await predict(`resizing: {height: ${h}, width: ${w}, crop_to_aspect_ratio: true}`);
      closeFlat(Array.from(y.dataSync()), flat3(ref.resizeCropped(img, h, w, 'bilinear')));
    }
  });

  it('random_width / random_height: identity at inference; at training one factor per batch in [1 + lower, 1 + upper]', async () => {
    const id = await predict('random_width: {factor: 0.5}');
    expect(id.model.outputs[0]!.shape).toEqual([null, 5, null, 2]);
    closeFlat(Array.from(id.y.dataSync()), flat3(img));
    const widths = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const { y } = await predict('random_width: {factor: [-0.5, 0.2]}', '[5, 7, 2]', img, true);
      expect(y.shape[1]).toBe(5);
      widths.add(y.shape[2]!);
      // the training output is the image resized to the drawn width
      closeFlat(Array.from(y.dataSync()), flat3(ref.resize(img, 5, y.shape[2]!, 'bilinear')));
    }
    for (const w of widths) expect(w >= Math.trunc(7 * 0.5) && w <= Math.trunc(7 * 1.2)).toBe(true);
    expect(widths.size).toBeGreaterThan(1);
    const { y, model } = await predict('random_height: {factor: 0.4, interpolation: nearest}', '[5, 7, 2]', img, true);
    expect(model.outputs[0]!.shape).toEqual([null, null, 7, 2]);
    expect(y.shape[2]).toBe(7);
    closeFlat(Array.from(y.dataSync()), flat3(ref.resize(img, y.shape[1]!, 7, 'nearest')));
  });

  it('spatial_dropout2d/3d: whole channels dropped at training (the rest scaled by 1/(1 - rate)), identity at inference', async () => {
    const ones2 = nest(Array<number>(4 * 4 * 6).fill(1), [4, 4, 6]);
    const inf = await predict('spatial_dropout2d: {rate: 0.5}', '[4, 4, 6]', ones2);
    expect(Array.from(inf.y.dataSync()).every((v) => v === 1)).toBe(true);
    const { y } = await predict('spatial_dropout2d: {rate: 0.5}', '[4, 4, 6]', ones2, true);
    const v = y.arraySync() as number[][][][];
    for (let c = 0; c < 6; c++) {
      const ch = v[0]!.flat().map((px) => px[c]!);
      expect(new Set(ch).size, `channel ${c} is all dropped or all kept`).toBe(1);
      expect([0, 2]).toContain(ch[0]);
    }
    const ones3 = nest(Array<number>(2 * 2 * 2 * 8).fill(1), [2, 2, 2, 8]);
    const y3 = (await predict('spatial_dropout3d: {rate: 0.5}', '[2, 2, 2, 8]', ones3, true)).y.arraySync() as number[][][][][];
    for (let c = 0; c < 8; c++) expect(new Set(y3[0]!.flat(2).map((px) => px[c]!)).size).toBe(1);
    expect(codes(compileYaml('inputs:\n  x: {shape: [4, 6]}\nlayers:\n  - spatial_dropout2d: {rate: 0.5}\n'))).not.toEqual([]);
  });

  it('saved model.json loads back with these classes (tfjs\' own Resizing and RandomWidth replaced)', async () => {
    const { model } = await built('inputs:\n  x: {shape: [5, 7, 2]}\nlayers:\n  - resizing: {height: 4, width: 4}\n  - random_width: {factor: 0.2}\n  - random_height: {factor: 0.2}\n  - spatial_dropout2d: {rate: 0.1}\n  - global_average_pooling2d: {}\n');
    let artifacts: TF.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(loaded.layers.slice(1, 5).map((l) => l.getClassName())).toEqual(['Resizing', 'RandomWidth', 'RandomHeight', 'SpatialDropout2D']);
    const x = tf.tensor([img]);
    closeFlat(Array.from((loaded.predict(x) as TF.Tensor).dataSync()), Array.from((model.predict(x) as TF.Tensor).dataSync()));
  });
});

describe('sequences of any length (shape [null, features]) through the custom layers, as Keras allows', () => {
  const body = (len: number | null) => `inputs:\n  x: {shape: [${len}, 6]}\nlayers:\n  - position_embedding: {sequence_length: 8}\n    id: pos\n  - add: {}\n    from: [x, pos]\n    id: s\n  - multi_head_attention: {num_heads: 2, key_dim: 3}\n    from: [s, s]\n    id: att\n  - subtract: {}\n    from: [att, s]\n  - cropping1d: {cropping: [1, 0]}\n  - zero_padding1d: {padding: 1}\n  - up_sampling1d: {size: 2}\n  - gru: {units: 3, return_sequences: true}\n  - global_max_pooling1d: {keepdims: true}\n`;

  it('one model takes lengths 3, 5 and 8, each as the model built for that fixed length computes it; it trains on cpu and wasm; a longer one is refused clearly', async () => {
    const { model } = await built(body(null));
    expect(model.inputs[0]!.shape).toEqual([null, null, 6]);
    expect(model.outputs[0]!.shape).toEqual([null, 1, 3]);
    const weights = model.getWeights().map((t) => ({ data: t.dataSync().slice(), shape: t.shape }));
    for (const t of [3, 5, 8]) {
      const x = tf.tensor([nest(values([t, 6], 700 + t), [t, 6]) as number[][]]);
      const fixed = (await built(body(t))).model;
      fixed.setWeights(weights.map((w) => tf.tensor(w.data, w.shape)));
      const want = (fixed.predict(x) as TF.Tensor).dataSync();
      (model.predict(x) as TF.Tensor).dataSync().forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
    }
    expect(() => model.predict(tf.ones([1, 9, 6]))).toThrow('a sequence of length 9 is longer than position_embedding\'s sequence_length 8');
    for (const backend of ['cpu', 'wasm'] as const) {
      const t = (await loadTf(backend)).tf;
      try {
        const { model: m } = await built(body(null));
        m.compile({ optimizer: t.train.adam(0.01), loss: 'meanSquaredError' });
        for (const len of [4, 7]) {
          const h = await m.fit(t.ones([2, len, 6]), t.zeros([2, 1, 3]), { epochs: 1 });
          expect(Number.isFinite(h.history.loss![0] as number), `${backend}, length ${len}`).toBe(true);
        }
      } finally {
        await loadTf('cpu');
      }
    }
  });
});

describe('a layer given one tensor twice, that tensor used again later (tfjs-layers 4.22 executor bug)', () => {
  // tfjs' predict/evaluate/fit executor counts a tensor's consumers as a set but decrements per input
  // slot: without modelspec's workaround (src/backends/tfjs/repeated-inputs.ts) predict() fails with
  // "Cannot read properties of undefined (reading 'backend')".
  const yaml = 'inputs:\n  x: {shape: [4, 6]}\nlayers:\n  - dense: {units: 6}\n    id: s\n  - multi_head_attention: {num_heads: 2, key_dim: 3}\n    from: [s, s]\n    id: att\n  - add: {}\n    from: [s, att]\n    id: r\n  - multiply: {}\n    from: [r, r]\n    id: m\n  - subtract: {}\n    from: [m, r]\n';

  it('predict, evaluate and fit agree with model.apply (another tfjs path); the topology still lists both inputs; a loaded model.json gets the same fix', async () => {
    const { model } = await built(yaml);
    const x = tf.tensor([nest(values([4, 6], 800), [4, 6]) as number[][], nest(values([4, 6], 801), [4, 6]) as number[][]]);
    const want = (model.apply(x) as TF.Tensor).dataSync();
    (model.predict(x) as TF.Tensor).dataSync().forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 5));
    model.compile({ optimizer: tf.train.sgd(0.01), loss: 'meanSquaredError' });
    expect(Number.isFinite((model.evaluate(x, tf.zerosLike(x)) as TF.Scalar).dataSync()[0]!)).toBe(true);
    expect(Number.isFinite((await model.fit(x, tf.zerosLike(x), { epochs: 1 })).history.loss![0] as number)).toBe(true);
    const json = model.toJSON(null, false) as unknown as { config: { layers: { name: string; inbound_nodes: unknown[][][] }[] } };
    expect(json.config.layers.find((l) => l.name.endsWith('att'))!.inbound_nodes[0]!.map((n) => n[0])).toEqual(['s', 's']);
    let artifacts: TF.io.ModelArtifacts | undefined;
    await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    const after = (model.predict(x) as TF.Tensor).dataSync();
    const raw = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
    expect(() => raw.predict(x)).toThrow(); // tfjs' own behaviour, which the test would miss if tfjs fixed it
    const loaded = shareRepeatedInputs(await tf.loadLayersModel(tf.io.fromMemory(artifacts!)));
    (loaded.predict(x) as TF.Tensor).dataSync().forEach((g, i) => expect(g).toBeCloseTo(after[i]!, 5));
  });
});
