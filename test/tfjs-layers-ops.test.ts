/**
 * The tfjs-layers 4.22 classes added for issue #14 (src/ops/volumetric.ts, activations.ts,
 * regularization.ts, preprocessing.ts, cropping2d/permute in reshaping.ts, dot in merge.ts), each
 * through every stage, one table row per op:
 *   check (static shape and parameter count, written by hand below from Keras' formulas),
 *   spec2ts (the generated builder builds the interpreter's model, layer configs and weights equal),
 *   build on cpu and wasm and one training step on each (finite loss, weights before the op change),
 *   Keras JSON (Keras 2 and 3) export and import back to the same network (diff: identical),
 *   diff and graph labels (the Keras class, the op's family colour, a changed attribute is a change).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { builtinRegistry, compileSource } from '../src/index.js';
import { OpRegistry } from '../src/ops/registry.js';
import { loadTf, type Tf } from '../src/backends/tfjs/backend.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { toKeras3 } from '../src/backends/keras-json/keras3.js';
import { importKerasJson } from '../src/backends/keras-json/import.js';
import { diffGraphs } from '../src/diff/diff.js';
import { generateSource, RUNTIME_MODULE } from '../src/codegen/index.js';
import { kerasClassOf, paletteOf } from '../src/backends/graph/labels.js';
import type { TypedGraph } from '../src/types/ir.js';
import { ROOT } from './helpers.js';

const registry = builtinRegistry();

interface Case {
  op: string;
  kerasClass: string;
  /** Inputs (batch excluded) as spec YAML. */
  inputs: string;
  /** The layers; the op under test has `id: op`. */
  layers: string;
  /** Keras' output shape of `op` (batch excluded, null = None). */
  shape: (number | null)[];
  /** Keras' parameter count of `op`, with the formula. */
  params: number;
  /** Another value of one attribute, for the diff. */
  change: [string, unknown];
}

// `- dense` before the op (units = the last dim, so the shape stays) gives the training step a
// weight whose gradient flows back through the op.
const pre = (units: number) => `  - dense: {units: ${units}}\n`;
const tail = '  - dense: {units: 2}\n';
const one = (shape: string, op: string, attrs: string, units: number) => ({ inputs: `  x: {shape: ${shape}}`, layers: `${pre(units)}  - ${op}: ${attrs}\n    id: op\n${tail}` });
// Preprocessing layers stand on the input, as in Keras models (tfjs has no gradient of CropAndResize).
const first = (shape: string, op: string, attrs: string, after = tail) => ({ inputs: `  x: {shape: ${shape}}`, layers: `  - ${op}: ${attrs}\n    id: op\n${after}` });
const pooled = `  - global_average_pooling2d: {}\n${tail}`;

const CASES: Case[] = [
  // Conv3D: kd*kh*kw*cin*filters + filters = 2*3*3*2*3 + 3; 'same': ceil(4/1), ceil(6/2), ceil(6/2)
  { op: 'conv3d', kerasClass: 'Conv3D', ...one('[4, 6, 6, 2]', 'conv3d', '{filters: 3, kernel_size: [2, 3, 3], strides: [1, 2, 2], padding: same}', 2), shape: [4, 3, 3, 3], params: 111, change: ['filters', 4] },
  // Conv3DTranspose: kd*kh*kw*filters*cin + filters = 27*4*2 + 4; 'valid': n*s + max(k - s, 0) = 2*2+1, 3*2+1
  { op: 'conv3d_transpose', kerasClass: 'Conv3DTranspose', ...one('[2, 3, 3, 2]', 'conv3d_transpose', '{filters: 4, kernel_size: 3, strides: 2}', 2), shape: [5, 7, 7, 4], params: 220, change: ['strides', 1] },
  // MaxPooling3D: pool 2, strides = pool, 'valid': floor((n - 2) / 2) + 1
  { op: 'max_pooling3d', kerasClass: 'MaxPooling3D', ...one('[4, 6, 6, 2]', 'max_pooling3d', '{}', 2), shape: [2, 3, 3, 2], params: 0, change: ['pool_size', 1] },
  // AveragePooling3D 'same': ceil(4/1), ceil(6/2), ceil(6/3)
  { op: 'average_pooling3d', kerasClass: 'AveragePooling3D', ...one('[4, 6, 6, 2]', 'average_pooling3d', '{pool_size: [1, 2, 2], strides: [1, 2, 3], padding: same}', 2), shape: [4, 3, 2, 2], params: 0, change: ['padding', 'valid'] },
  { op: 're_lu', kerasClass: 'ReLU', ...one('[5]', 're_lu', '{max_value: 6}', 5), shape: [5], params: 0, change: ['max_value', 1] },
  { op: 'leaky_re_lu', kerasClass: 'LeakyReLU', ...one('[5]', 'leaky_re_lu', '{alpha: 0.1}', 5), shape: [5], params: 0, change: ['alpha', 0.2] },
  // PReLU: alpha of the input shape with the shared axes (1, 2) set to 1: 1*1*3
  { op: 'prelu', kerasClass: 'PReLU', ...one('[4, 4, 3]', 'prelu', '{shared_axes: [1, 2]}', 3), shape: [4, 4, 3], params: 3, change: ['shared_axes', null] },
  { op: 'elu', kerasClass: 'ELU', ...one('[5]', 'elu', '{alpha: 1}', 5), shape: [5], params: 0, change: ['alpha', 0.5] },
  { op: 'thresholded_re_lu', kerasClass: 'ThresholdedReLU', ...one('[5]', 'thresholded_re_lu', '{theta: 0.01}', 5), shape: [5], params: 0, change: ['theta', 1] },
  { op: 'softmax', kerasClass: 'Softmax', ...one('[3, 5]', 'softmax', '{axis: -1}', 5), shape: [3, 5], params: 0, change: ['axis', 1] },
  { op: 'gaussian_noise', kerasClass: 'GaussianNoise', ...one('[5]', 'gaussian_noise', '{stddev: 0.1}', 5), shape: [5], params: 0, change: ['stddev', 0.2] },
  { op: 'gaussian_dropout', kerasClass: 'GaussianDropout', ...one('[5]', 'gaussian_dropout', '{rate: 0.2}', 5), shape: [5], params: 0, change: ['rate', 0.3] },
  { op: 'alpha_dropout', kerasClass: 'AlphaDropout', ...one('[5]', 'alpha_dropout', '{rate: 0.2}', 5), shape: [5], params: 0, change: ['rate', 0.3] },
  { op: 'spatial_dropout1d', kerasClass: 'SpatialDropout1D', ...one('[6, 4]', 'spatial_dropout1d', '{rate: 0.2}', 4), shape: [6, 4], params: 0, change: ['rate', 0.3] },
  { op: 'rescaling', kerasClass: 'Rescaling', ...first('[4, 4, 3]', 'rescaling', '{scale: 0.5, offset: -1}'), shape: [4, 4, 3], params: 0, change: ['offset', 0] },
  // Resizing after a dense (so the training step's gradient goes through the resize), and with crop_to_aspect_ratio
  { op: 'resizing', kerasClass: 'Resizing', ...one('[4, 4, 3]', 'resizing', '{height: 6, width: 2}', 3), shape: [6, 2, 3], params: 0, change: ['interpolation', 'nearest'] },
  { op: 'center_crop', kerasClass: 'CenterCrop', ...first('[6, 6, 3]', 'center_crop', '{height: 4, width: 2}'), shape: [4, 2, 3], params: 0, change: ['width', 3] },
  // CategoryEncoding multi_hot: the last axis (3 indices) becomes num_tokens
  { op: 'category_encoding', kerasClass: 'CategoryEncoding', inputs: '  x: {shape: [3], dtype: int32}', layers: `  - category_encoding: {num_tokens: 5}\n    id: op\n${tail}`, shape: [5], params: 0, change: ['output_mode', 'count'] },
  // RandomWidth / RandomHeight: that dimension is None (pooled away before the dense)
  { op: 'random_width', kerasClass: 'RandomWidth', inputs: '  x: {shape: [4, 4, 3]}', layers: `${pre(3)}  - random_width: {factor: 0.5}\n    id: op\n${pooled}`, shape: [4, null, 3], params: 0, change: ['interpolation', 'nearest'] },
  { op: 'random_height', kerasClass: 'RandomHeight', inputs: '  x: {shape: [4, 4, 3]}', layers: `${pre(3)}  - random_height: {factor: [-0.5, 0.2], seed: 3}\n    id: op\n${pooled}`, shape: [null, 4, 3], params: 0, change: ['interpolation', 'nearest'] },
  // Beyond tfjs (issue #14 leftovers): SpatialDropout2D/3D, and GRU with Keras 2's reset_after: true,
  // 3*(5*(5+3) + 2*5) = 150 (bias (2, 15))
  { op: 'spatial_dropout2d', kerasClass: 'SpatialDropout2D', ...one('[4, 4, 3]', 'spatial_dropout2d', '{rate: 0.5}', 3), shape: [4, 4, 3], params: 0, change: ['rate', 0.3] },
  { op: 'spatial_dropout3d', kerasClass: 'SpatialDropout3D', ...one('[2, 3, 3, 2]', 'spatial_dropout3d', '{rate: 0.5}', 2), shape: [2, 3, 3, 2], params: 0, change: ['rate', 0.3] },
  { op: 'gru', kerasClass: 'GRU', ...one('[4, 3]', 'gru', '{units: 5, return_sequences: true}', 3), shape: [4, 5], params: 150, change: ['reset_after', false] },
  // Cropping2D: 5 - 1 - 0 rows, 6 - 2 - 1 columns
  { op: 'cropping2d', kerasClass: 'Cropping2D', ...one('[5, 6, 3]', 'cropping2d', '{cropping: [[1, 0], [2, 1]]}', 3), shape: [4, 3, 3], params: 0, change: ['cropping', 1] },
  { op: 'permute', kerasClass: 'Permute', ...one('[3, 5]', 'permute', '{dims: [2, 1]}', 5), shape: [5, 3], params: 0, change: ['dims', [1, 2]] },
  // Dot over axis 2 of (3, 4) and (5, 4): (3, 5)
  {
    op: 'dot', kerasClass: 'Dot', inputs: '  a: {shape: [3, 4]}\n  b: {shape: [5, 4]}',
    layers: `  - dense: {units: 4}\n    id: a2\n    from: a\n  - dot: {axes: 2}\n    id: op\n    from: [a2, b]\n${tail}`, shape: [3, 5], params: 0, change: ['normalize', true],
  },
];

const specText = (c: Case, layers = c.layers) => `modelspec: 1\nname: t_${c.op}\ninputs:\n${c.inputs}\nlayers:\n${layers}`;
const compile = (c: Case, text = specText(c)): TypedGraph => {
  const r = compileSource(`${ROOT}test/inline-${c.op}.yaml`, text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`)).toEqual([]);
  return r.graph!;
};

let tf: Tf;
const TMP = join(ROOT, 'tmp', `tfjs-layers-ops-${process.pid}`);
beforeAll(async () => {
  tf = (await loadTf('wasm')).tf;
  await loadTf('cpu');
  mkdirSync(TMP, { recursive: true });
});
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

function inputsFor(model: TF.LayersModel, rand: () => number): TF.Tensor[] {
  return model.inputs.map((t) => {
    const shape = [2, ...t.shape.slice(1)] as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    return t.dtype === 'int32'
      ? tf.tensor(Int32Array.from({ length: n }, () => Math.floor(rand() * 5)), shape, 'int32')
      : tf.tensor(Float32Array.from({ length: n }, () => rand() * 2 - 1), shape);
  });
}

describe('every tfjs-layers 4.22 class added for issue #14 goes through every stage', () => {
  it('the table covers exactly the ops of the new families', () => {
    for (const c of CASES) expect(registry.get(c.op)?.kerasClass).toBe(c.kerasClass);
    expect(new Set(CASES.map((c) => c.op)).size).toBe(CASES.length);
  });

  it.each(CASES)('$op: check gives Keras\' shape and parameter count', (c) => {
    const g = compile(c);
    const node = g.nodes.find((n) => n.id === 'op')!;
    expect(node.outputShape).toEqual(c.shape);
    expect(node.params.trainable + node.params.nonTrainable).toBe(c.params);
  });

  const BUILT = CASES;

  it('an op without a TensorFlow.js mapping (a library caller\'s) is refused with what works without one', () => {
    // The same graph, built with a registry whose random_width has no tfjs mapping.
    const reg = new OpRegistry(registry.all().map((d) => (d.name === 'random_width' ? { ...d, tfjs: undefined } : d)));
    const graph = compile(CASES.find((x) => x.op === 'random_width')!);
    expect(() => buildFromGraph(tf, graph, reg)).toThrow("'op': op 'random_width' has no TensorFlow.js mapping (TensorFlow.js 4.22 has no usable RandomWidth layer)");
  });

  it.each(BUILT)('$op: spec2ts builds the model the interpreter builds', async (c) => {
    const gen = generateSource(`${TMP}/${c.op}.yaml`, specText(c));
    expect(gen.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const file = join(TMP, `${c.op}.ts`);
    let rel = relative(dirname(file), join(ROOT, 'src', 'runtime', 'index.js')).split('\\').join('/');
    if (!rel.startsWith('.')) rel = `./${rel}`;
    writeFileSync(file, gen.code!.replace(`from '${RUNTIME_MODULE}';`, `from '${rel}';`));
    const mod = (await import(pathToFileURL(file).href)) as { build(o: Record<string, unknown>, tf: Tf): TF.LayersModel };
    await tf.setBackend('cpu');
    const a = mod.build({}, tf);
    const b = buildFromGraph(tf, compile(c), registry);
    const describe = (m: TF.LayersModel) => ({ classes: m.layers.map((l) => l.getClassName()), configs: m.layers.map((l) => l.getConfig()), weights: m.weights.map((w) => w.shape) });
    expect(describe(a)).toEqual(describe(b));
    expect(a.layers.map((l) => l.getClassName())).toContain(c.kerasClass);
    a.dispose();
    b.dispose();
  });

  it.each(BUILT)('$op: builds and trains one step on cpu and wasm', async (c) => {
    for (const backend of ['cpu', 'wasm'] as const) {
      expect(await tf.setBackend(backend)).toBe(true);
      const model = buildFromGraph(tf, compile(c), registry);
      const op = model.getLayer('op');
      expect(op.getClassName()).toBe(c.kerasClass);
      expect(op.countParams()).toBe(c.params);
      let seed = 7;
      const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
      const xs = inputsFor(model, rand);
      const y = model.predict(xs) as TF.Tensor;
      const target = tf.onesLike(y);
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
      const first = model.layers.find((l) => l.getClassName() === 'Dense' && l.name !== model.layers[model.layers.length - 1]!.name);
      const before = (first ?? model.layers[model.layers.length - 1]!).getWeights()[0]!.dataSync().slice();
      const h = await model.fit(xs, target, { epochs: 1, batchSize: 2, verbose: 0 });
      expect(Number.isFinite(h.history.loss![0] as number), `${backend} loss`).toBe(true);
      const after = (first ?? model.layers[model.layers.length - 1]!).getWeights()[0]!.dataSync();
      expect(after.some((v, i) => v !== before[i]), `${backend}: the weights before the op are trained`).toBe(true);
      tf.dispose([...xs, y, target]);
      model.dispose();
    }
  });

  it.each(BUILT)('$op: Keras 2 and Keras 3 JSON are imported back as the same network', async (c) => {
    await tf.setBackend('cpu');
    const graph = compile(c);
    const model = buildFromGraph(tf, graph, registry);
    const keras2 = model.toJSON(null, false) as never;
    const keras3 = toKeras3(keras2, (layer, node) => [...(model.getLayer(layer).getOutputAt(node) as { shape: (number | null)[] }).shape]);
    model.dispose();
    for (const json of [keras2, keras3]) {
      const imported = importKerasJson(json, registry);
      expect(imported.warnings).toEqual([]);
      expect(imported.yaml).toContain(`- ${c.op}:`);
      const d = diffGraphs({ label: 'a', graph }, { label: 'b', graph: compile(c, imported.yaml) }, { registry });
      expect(JSON.stringify(d.changed.map((x) => [x.left?.id, x.right?.id, Object.keys(x).filter((k) => !['left', 'right'].includes(k)).map((k) => [k, (x as unknown as Record<string, unknown>)[k]])]))).toBe('[]');
      expect(d.identical).toBe(true);
    }
  });

  it.each(CASES)('$op: graph labels and diff', (c) => {
    const graph = compile(c);
    const node = graph.nodes.find((n) => n.id === 'op')!;
    expect(kerasClassOf(node, registry)).toBe(c.kerasClass);
    expect(paletteOf(node, registry)).not.toEqual(paletteOf({ ...node, op: 'no_such_op' }, registry));
    const [key, value] = c.change;
    const changed = graph.nodes.map((n) => (n.id === 'op' ? { ...n, attrs: { ...n.attrs, [key]: value } } : n));
    const d = diffGraphs({ label: 'a', graph }, { label: 'b', graph: { ...graph, nodes: changed } }, { registry });
    expect(d.identical).toBe(false);
    expect(JSON.stringify(d.changed)).toContain(key);
  });
});
