/**
 * The interpreter (buildModel) against the static inference and against a hand-written tfjs
 * transcription of the seed's Keras code (test/reference/tfjs-seed.ts).
 *
 * For every seed spec and the parameter values of issue 3 (ResNet v1 n = 3, 5, 18; v2 n = 2, 6, 12;
 * num_classes 100; input 64x64x3), on the cpu backend (deterministic, and building is cheap on it):
 * - countParams(), the trainable and non-trainable counts, the number of weight tensors, the
 *   input and output shapes, and every layer's name, class, output shape, parameter count and
 *   weight shapes equal the static inference (compileFile + summaryJson / graph.nodes);
 * - the layer list (getClassName() and getConfig() without `name`, in model.layers order) and the
 *   connections between layers (by position in that list) equal the reference's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, layerName, loadTf, type Tf } from '../src/build.js';
import { builtinRegistry, compileFile, summaryJson, type TypedGraph } from '../src/index.js';
import { spec } from './helpers.js';
import * as ref from './reference/tfjs-seed.js';

let tf: Tf;

beforeAll(async () => {
  const loaded = await loadTf('cpu');
  expect(loaded.backend).toBe('cpu');
  tf = loaded.tf;
});

interface Case {
  title: string;
  spec: string;
  set: string[];
  reference: (tf: Tf) => TF.LayersModel;
}

const cases: Case[] = [
  { title: 'MNIST CNN', spec: 'mnist-cnn.yaml', set: [], reference: (tf) => ref.mnistCnn(tf) },
  { title: 'MNIST CNN, num_classes=100', spec: 'mnist-cnn.yaml', set: ['num_classes=100'], reference: (tf) => ref.mnistCnn(tf, { num_labels: 100 }) },
  { title: 'Y-network (seed)', spec: 'y-network.yaml', set: [], reference: (tf) => ref.yNetwork(tf) },
  {
    title: "Y-network (book: right_dilation=2), num_classes=100",
    spec: 'y-network.yaml',
    set: ['right_dilation=2', 'num_classes=100'],
    reference: (tf) => ref.yNetwork(tf, { right_dilation_rate: 2, num_labels: 100 }),
  },
  ...[3, 5, 18].map((n) => ({
    title: `ResNet${6 * n + 2}v1 (n=${n})`,
    spec: 'resnet-v1.yaml',
    set: [`n=${n}`],
    reference: (tf: Tf) => ref.resnet_v1(tf, [32, 32, 3], 6 * n + 2),
  })),
  {
    title: 'ResNet20v1, num_classes=100',
    spec: 'resnet-v1.yaml',
    set: ['n=3', 'num_classes=100'],
    reference: (tf) => ref.resnet_v1(tf, [32, 32, 3], 20, 100),
  },
  {
    title: 'ResNet32v1, input 64x64x3, num_classes=100',
    spec: 'resnet-v1.yaml',
    set: ['n=5', 'input_shape=[64,64,3]', 'num_classes=100'],
    reference: (tf) => ref.resnet_v1(tf, [64, 64, 3], 32, 100),
  },
  ...[2, 6, 12].map((n) => ({
    title: `ResNet${9 * n + 2}v2 (n=${n})`,
    spec: 'resnet-v2.yaml',
    set: [`n=${n}`],
    reference: (tf: Tf) => ref.resnet_v2(tf, [32, 32, 3], 9 * n + 2),
  })),
  {
    title: 'ResNet20v2, input 64x64x3',
    spec: 'resnet-v2.yaml',
    set: ['n=2', 'input_shape=[64,64,3]'],
    reference: (tf) => ref.resnet_v2(tf, [64, 64, 3], 20),
  },
  {
    title: 'ResNet56v2, input 64x64x3, num_classes=100',
    spec: 'resnet-v2.yaml',
    set: ['n=6', 'input_shape=[64,64,3]', 'num_classes=100'],
    reference: (tf) => ref.resnet_v2(tf, [64, 64, 3], 56, 100),
  },
];

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const withBatch = (shape: readonly (number | null)[]) => [null, ...shape];

function compiled(c: Case): TypedGraph {
  const result = compileFile(spec(c.spec), { set: c.set });
  const errors = result.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`);
  expect(errors, `${c.spec} ${c.set.join(' ')} does not compile`).toEqual([]);
  return result.graph!;
}

/** The layer list as compared with the reference: class and config (name removed), in model.layers order. */
function layerList(model: TF.LayersModel) {
  return model.layers.map((l, index) => {
    const config: Record<string, unknown> = { ...l.getConfig() };
    delete config.name;
    return { index, className: l.getClassName(), config };
  });
}

/** For each layer, the positions (in model.layers) of the layers feeding each of its applications. */
function connections(model: TF.LayersModel) {
  const pos = new Map(model.layers.map((l, i) => [l, i]));
  return model.layers.map((l, index) => ({
    index,
    inbound: l.inboundNodes.map((n) => n.inboundLayers.map((x) => pos.get(x) ?? -1)).filter((a) => a.length > 0),
  }));
}

describe.each(cases)('$title: $spec $set', (c) => {
  let graph: TypedGraph;
  let summary: ReturnType<typeof summaryJson>;
  let model: TF.LayersModel;
  let reference: TF.LayersModel;

  beforeAll(async () => {
    graph = compiled(c);
    summary = summaryJson(graph, builtinRegistry());
    model = await buildModel(graph, undefined, { tf });
    reference = c.reference(tf);
  });

  afterAll(() => {
    model?.dispose();
    reference?.dispose();
  });

  it('countParams(), trainable and non-trainable counts equal the static inference', () => {
    const trainable = model.trainableWeights.reduce((s, w) => s + size(w.shape as number[]), 0);
    const nonTrainable = model.nonTrainableWeights.reduce((s, w) => s + size(w.shape as number[]), 0);
    expect({ total: model.countParams(), trainable, nonTrainable }).toEqual(summary.params);
    // The same numbers, counted as weight tensors.
    const weights = graph.nodes.flatMap((n) => n.weights);
    expect([model.trainableWeights.length, model.nonTrainableWeights.length]).toEqual([
      weights.filter((w) => w.trainable).length,
      weights.filter((w) => !w.trainable).length,
    ]);
  });

  it('input and output shapes equal the static inference', () => {
    const shapeOf = (id: string) => withBatch(graph.nodes.find((n) => n.id === id)!.outputShape);
    expect(model.inputs.map((t) => t.shape)).toEqual(graph.inputs.map(shapeOf));
    expect(model.outputs.map((t) => t.shape)).toEqual(graph.outputs.map(shapeOf));
    expect(model.inputNames).toEqual(graph.inputs.map(layerName));
    expect(model.outputNames).toEqual(graph.outputs.map(layerName));
  });

  it('every layer (in model.layers order) has the name, class, output shape and parameter count of the static inference', () => {
    expect(model.layers.length).toBe(summary.layerCount);
    const got = model.layers.map((l) => ({ name: l.name, class: l.getClassName(), outputShape: l.outputShape, params: l.countParams() }));
    const want = summary.layers.map((l) => ({ name: layerName(l.id), class: l.class, outputShape: withBatch(l.outputShape), params: l.params }));
    expect(got).toEqual(want);
  });

  it("every layer's weights have the names (layer name/weight), shapes and trainability of the static inference", () => {
    const byName = new Map(graph.nodes.map((n) => [layerName(n.id), n]));
    const got = model.layers.map((l) => ({ layer: l.name, weights: l.weights.map((w) => ({ name: w.originalName, shape: w.shape, trainable: w.trainable })) }));
    const want = model.layers.map((l) => ({
      layer: l.name,
      weights: byName.get(l.name)!.weights.map((w) => ({ name: `${l.name}/${w.name}`, shape: [...w.shape], trainable: w.trainable })),
    }));
    expect(got).toEqual(want);
  });

  it('the layer list (class and config, names aside) equals the hand-written transcription', () => {
    expect(model.layers.length).toBe(reference.layers.length);
    expect(layerList(model)).toEqual(layerList(reference));
  });

  it('the layers are connected as in the hand-written transcription, and the totals agree', () => {
    expect(connections(model)).toEqual(connections(reference));
    expect(model.countParams()).toBe(reference.countParams());
    expect(model.outputs.map((t) => t.shape)).toEqual(reference.outputs.map((t) => t.shape));
  });
});

/** The reference must stand on its own: the numbers Keras reports for the seed models (shared/reference/seed-models.md). */
describe('the hand-written transcription reproduces the documented Keras numbers', () => {
  const documented: { title: string; build: (tf: Tf) => TF.LayersModel; layers: number; total: number; trainable?: number; nonTrainable?: number }[] = [
    { title: 'MNIST CNN', build: (tf) => ref.mnistCnn(tf), layers: 9, total: 80_266, trainable: 80_266, nonTrainable: 0 },
    { title: 'Y-network', build: (tf) => ref.yNetwork(tf), layers: 24, total: 208_394 },
    { title: 'ResNet20v1', build: (tf) => ref.resnet_v1(tf, [32, 32, 3], 20), layers: 72, total: 274_442, trainable: 273_066, nonTrainable: 1_376 },
    { title: 'ResNet56v2', build: (tf) => ref.resnet_v2(tf, [32, 32, 3], 56), layers: 190, total: 1_673_738, trainable: 1_663_338 },
  ];
  it.each(documented)('$title: $layers layers, $total params', (d) => {
    const m = d.build(tf);
    try {
      const trainable = m.trainableWeights.reduce((s, w) => s + size(w.shape as number[]), 0);
      expect(m.layers.length).toBe(d.layers);
      expect(m.countParams()).toBe(d.total);
      if (d.trainable !== undefined) expect(trainable).toBe(d.trainable);
      if (d.nonTrainable !== undefined) expect(m.countParams() - trainable).toBe(d.nonTrainable);
    } finally {
      m.dispose();
    }
  });

  it('uses Keras settings where tfjs-layers defaults differ: glorot_uniform kernels, he_normal + l2(1e-4) in resnet_layer', () => {
    const m = ref.resnet_v1(tf, [32, 32, 3], 20);
    const c = ref.mnistCnn(tf);
    try {
      const conv = m.layers.find((l) => l.getClassName() === 'Conv2D')!.getConfig();
      expect(conv.kernelInitializer).toEqual({ className: 'VarianceScaling', config: { scale: 2, mode: 'fanIn', distribution: 'normal', seed: null } });
      expect(conv.kernelRegularizer).toEqual({ className: 'L1L2', config: { l1: 0, l2: 1e-4 } });
      expect(conv.padding).toBe('same');
      const dense = c.layers.find((l) => l.getClassName() === 'Dense')!.getConfig();
      expect(dense.kernelInitializer).toEqual({ className: 'VarianceScaling', config: { scale: 1, mode: 'fanAvg', distribution: 'uniform', seed: null } });
    } finally {
      m.dispose();
      c.dispose();
    }
  });
});
