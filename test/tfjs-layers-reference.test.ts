/**
 * Issue #14's tfjs-layers ops against independent references:
 *  - parameter counts of a small 3D spec with several weighted new ops (conv3d, prelu,
 *    conv3d_transpose) against Keras' formulas transcribed in test/reference/tfjs-layers-params.ts,
 *    from check (the compiler) and from the model TensorFlow.js builds;
 *  - a forward pass on tfjs cpu of the parameter-free ops against values computed by hand here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { builtinRegistry, compileSource } from '../src/index.js';
import { loadTf, type Tf } from '../src/backends/tfjs/backend.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { VOLUME_SPEC_PARAMS, VOLUME_SPEC_TOTAL } from './reference/tfjs-layers-params.js';
import { ROOT } from './helpers.js';

const VOLUME_SPEC = `modelspec: 1
name: volume
inputs:
  x: {shape: [6, 8, 8, 2]}
layers:
  - conv3d: {filters: 4, kernel_size: 3, padding: same}
    id: c3
  - prelu: {shared_axes: [1, 2, 3]}
    id: act
  - max_pooling3d: {}
    id: pool
  - conv3d_transpose: {filters: 3, kernel_size: [1, 2, 2], strides: [1, 2, 2]}
    id: up
  - conv3d: {filters: 2, kernel_size: 1, use_bias: false}
    id: proj
  - prelu: {}
    id: act2
  - average_pooling3d: {pool_size: [3, 8, 8]}
    id: gap
  - reshape: {target_shape: [2]}
    id: flat
  - dense: {units: 3}
    id: out
`;

const registry = builtinRegistry();
let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});

const compile = (text: string) => {
  const r = compileSource(`${ROOT}test/inline-reference.yaml`, text);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.graph!;
};

describe('parameter counts against Keras\' formulas (test/reference/tfjs-layers-params.ts)', () => {
  it('check and the tfjs model give the transcribed count of every layer and the total', () => {
    const graph = compile(VOLUME_SPEC);
    const counted = Object.fromEntries(graph.nodes.filter((n) => n.op !== 'input').map((n) => [n.id, n.params.trainable + n.params.nonTrainable]));
    expect(counted).toEqual(VOLUME_SPEC_PARAMS);
    expect(graph.totals.total).toBe(VOLUME_SPEC_TOTAL);
    const model = buildFromGraph(tf, graph, registry);
    expect(Object.fromEntries(model.layers.filter((l) => l.name !== 'x').map((l) => [l.name, l.countParams()]))).toEqual(VOLUME_SPEC_PARAMS);
    expect(model.countParams()).toBe(VOLUME_SPEC_TOTAL);
    model.dispose();
  });
});

/** One layer on tfjs cpu: the output of `op` for input `x` (batch of one added). */
function run(inputs: string, layer: string, xs: TF.Tensor[]): number[] {
  const graph = compile(`modelspec: 1\nname: fwd\ninputs:\n${inputs}\nlayers:\n  - ${layer}\n`);
  const model = buildFromGraph(tf, graph, registry);
  const y = model.predict(xs) as TF.Tensor;
  const out = Array.from(y.dataSync());
  tf.dispose(y);
  model.dispose();
  return out;
}

describe('forward pass of the parameter-free ops against hand-computed values (tfjs cpu)', () => {
  it('rescaling: x * scale + offset', () => {
    // [0, 127.5, 255] * (1/127.5) - 1 = [-1, 0, 1]
    expect(run('  x: {shape: [3]}', 'rescaling: {scale: 0.00784313725490196, offset: -1}', [tf.tensor([[0, 127.5, 255]])]))
      .toEqual([-1, 0, 1].map((v) => expect.closeTo(v, 6)));
  });

  it('cropping2d: rows 1..2 and column 1 of a 4x3 image', () => {
    // values 0..11 row-major (h=4, w=3, c=1); cropping [[1, 1], [1, 1]] keeps rows 1-2, column 1: 4, 7
    const x = tf.tensor(Array.from({ length: 12 }, (_, i) => i), [1, 4, 3, 1]);
    expect(run('  x: {shape: [4, 3, 1]}', 'cropping2d: {cropping: 1}', [x])).toEqual([4, 7]);
  });

  it('permute: dims [2, 1] transposes a 2x3 matrix', () => {
    // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]
    expect(run('  x: {shape: [2, 3]}', 'permute: {dims: [2, 1]}', [tf.tensor([[[1, 2, 3], [4, 5, 6]]])])).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('re_lu, leaky_re_lu, elu, thresholded_re_lu, softmax', () => {
    const x = () => [tf.tensor([[-2, -0.5, 0.5, 3, 8]])];
    const ins = '  x: {shape: [5]}';
    expect(run(ins, 're_lu: {max_value: 6}', x())).toEqual([0, 0, 0.5, 3, 6]);
    expect(run(ins, 'leaky_re_lu: {alpha: 0.1}', x())).toEqual([-0.2, -0.05, 0.5, 3, 8].map((v) => expect.closeTo(v, 6)));
    // elu: alpha * (exp(x) - 1) below 0: exp(-2) - 1 = -0.8646647, exp(-0.5) - 1 = -0.3934693
    expect(run(ins, 'elu: {}', x())).toEqual([-0.8646647, -0.3934693, 0.5, 3, 8].map((v) => expect.closeTo(v, 6)));
    // thresholded: x where x > 1, else 0
    expect(run(ins, 'thresholded_re_lu: {theta: 1}', x()).map((v) => v + 0)).toEqual([0, 0, 0, 3, 8]);
    // softmax of [0, ln 3]: [1/4, 3/4]
    expect(run('  x: {shape: [2]}', 'softmax: {}', [tf.tensor([[0, Math.log(3)]])])).toEqual([0.25, 0.75].map((v) => expect.closeTo(v, 6)));
  });

  it('dot over the last axes: row-by-row inner products', () => {
    // a = [[1, 2], [3, 4]], b = [[5, 6]]: a . b^T = [[1*5 + 2*6], [3*5 + 4*6]] = [[17], [39]]
    const out = run('  a: {shape: [2, 2]}\n  b: {shape: [1, 2]}', 'dot: {axes: 2}\n    from: [a, b]', [tf.tensor([[[1, 2], [3, 4]]]), tf.tensor([[[5, 6]]])]);
    expect(out).toEqual([17, 39]);
  });

  it('category_encoding: multi_hot and count of [1, 3, 1], one_hot of [3]', () => {
    const x = () => [tf.tensor([[1, 3, 1]], [1, 3], 'int32')];
    const ins = '  x: {shape: [3], dtype: int32}';
    expect(run(ins, 'category_encoding: {num_tokens: 4}', x())).toEqual([0, 1, 0, 1]);
    expect(run(ins, 'category_encoding: {num_tokens: 4, output_mode: count}', x())).toEqual([0, 2, 0, 1]);
    // (tfjs limits the output to rank 2: one_hot of one index per example)
    expect(run('  x: {shape: [1], dtype: int32}', 'category_encoding: {num_tokens: 4, output_mode: one_hot}', [tf.tensor([[3]], [1, 1], 'int32')])).toEqual([0, 0, 0, 1]);
  });

  it('noise layers and spatial_dropout1d are the identity at inference', () => {
    for (const layer of ['gaussian_noise: {stddev: 1}', 'gaussian_dropout: {rate: 0.5}', 'alpha_dropout: {rate: 0.5}']) {
      expect(run('  x: {shape: [3]}', layer, [tf.tensor([[1, -2, 3]])])).toEqual([1, -2, 3]);
    }
    expect(run('  x: {shape: [2, 2]}', 'spatial_dropout1d: {rate: 0.5}', [tf.tensor([[[1, 2], [3, 4]]])])).toEqual([1, 2, 3, 4]);
  });

  it('max_pooling3d and average_pooling3d of a 2x2x2 cube', () => {
    // values 1..8: max 8, mean 4.5
    const x = () => [tf.tensor(Array.from({ length: 8 }, (_, i) => i + 1), [1, 2, 2, 2, 1])];
    expect(run('  x: {shape: [2, 2, 2, 1]}', 'max_pooling3d: {}', x())).toEqual([8]);
    expect(run('  x: {shape: [2, 2, 2, 1]}', 'average_pooling3d: {}', x())).toEqual([4.5]);
  });

  it('center_crop: the centre 2x2 of a 4x4 image', () => {
    // values 0..15 row-major: rows 1-2, columns 1-2: 5, 6, 9, 10
    const x = tf.tensor(Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
    expect(run('  x: {shape: [4, 4, 1]}', 'center_crop: {height: 2, width: 2}', [x])).toEqual([5, 6, 9, 10].map((v) => expect.closeTo(v, 5)));
  });
});
