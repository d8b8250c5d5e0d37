/**
 * Building and disposing models leaks no tensors (issue 3, "Done when", third bullet): 50 models,
 * a mix of the seed specs with small parameters, built by the interpreter and disposed, leave
 * tf.memory().numTensors (and numBytes) where they started; so do the hand-written reference
 * models, and models that also ran a prediction (on wasm: the cpu backend's convolutions are slow).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type Tf } from '../src/build.js';
import { builtinRegistry, compileFile, type TypedGraph } from '../src/index.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { spec } from './helpers.js';
import * as ref from './reference/tfjs-seed.js';

let tf: Tf;

beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});

const specs: { spec: string; set: string[]; inputs: number[][] }[] = [
  { spec: 'mnist-cnn.yaml', set: ['filters=8'], inputs: [[28, 28, 1]] },
  { spec: 'y-network.yaml', set: ['filters=4', 'levels=2'], inputs: [[28, 28, 1], [28, 28, 1]] },
  { spec: 'resnet-v1.yaml', set: ['n=1'], inputs: [[32, 32, 3]] },
  { spec: 'resnet-v2.yaml', set: ['n=1', 'num_classes=3'], inputs: [[32, 32, 3]] },
  { spec: 'resnet-v1.yaml', set: ['n=2', 'num_classes=100'], inputs: [[32, 32, 3]] },
];

const memory = () => {
  const m = tf.memory();
  return { numTensors: m.numTensors, numBytes: m.numBytes };
};

describe('building and disposing models leaves tf.memory() where it started', () => {
  it('50 models built by buildModel from spec files (cpu backend)', async () => {
    const start = memory();
    let layers = 0;
    for (let i = 0; i < 50; i++) {
      const s = specs[i % specs.length]!;
      const model = await buildModel(spec(s.spec), s.set, { tf });
      layers += model.layers.length;
      expect(tf.memory().numTensors).toBeGreaterThan(start.numTensors); // the weights exist...
      model.dispose();
      expect(memory(), `after model ${i} (${s.spec} ${s.set.join(' ')})`).toEqual(start); // ...and are gone
    }
    expect(layers).toBeGreaterThan(50 * 9);
    expect(memory()).toEqual(start);
  });

  it('50 models built from compiled graphs, each running a prediction before disposal (wasm backend)', async () => {
    const graphs: TypedGraph[] = specs.map((s) => compileFile(spec(s.spec), { set: s.set }).graph!);
    expect((await loadTf('wasm')).backend).toBe('wasm');
    const start = memory();
    for (let i = 0; i < 50; i++) {
      const s = specs[i % specs.length]!;
      const model = buildFromGraph(tf, graphs[i % specs.length]!, builtinRegistry());
      tf.tidy(() => {
        const xs = s.inputs.map((shape) => tf.ones([2, ...shape]));
        const out = model.predict(xs.length === 1 ? xs[0]! : xs) as TF.Tensor;
        expect(out.shape[0]).toBe(2);
      });
      model.dispose();
    }
    expect(memory()).toEqual(start);
  });

  it('50 hand-written reference models (the transcription itself does not leak either)', async () => {
    await loadTf('cpu');
    const start = memory();
    const builders = [
      () => ref.mnistCnn(tf, { filters: 8 }),
      () => ref.yNetwork(tf, { n_filters: 4 }),
      () => ref.resnet_v1(tf, [32, 32, 3], 8),
      () => ref.resnet_v2(tf, [32, 32, 3], 11),
    ];
    for (let i = 0; i < 50; i++) builders[i % builders.length]!().dispose();
    expect(memory()).toEqual(start);
  });
});
