/**
 * The sequence ops (src/ops/sequence.ts, recurrent.ts, wrappers.ts) and `null` (None) dimensions,
 * against Keras' documented behaviour: output shapes, weight shapes (Keras order), parameter counts,
 * MACs, and the diagnostics for what Keras (or TensorFlow.js) refuses. Each case is a tiny spec
 * compiled through the whole pipeline; the expected numbers are written out by hand from Keras'
 * formulas (keras 2.x layers/rnn/{simple_rnn,lstm,gru}.py, layers/convolutional/conv1d.py,
 * layers/pooling/base_pooling1d.py, layers/rnn/bidirectional.py, time_distributed.py):
 *   SimpleRNN u on f: kernel (f, u), recurrent_kernel (u, u), bias (u)
 *   LSTM: the same with 4u columns; GRU: 3u columns, bias (3u) or with reset_after (2, 3u)
 *   Conv1D: kernel (k, c/groups, F), bias (F); length as conv2d's on one axis
 * MACs of a recurrent layer: steps * gates * u * (f + u) (one step when the length is None).
 */
import { describe, expect, it } from 'vitest';
import { compileYaml } from './helpers.js';
import type { CompileResult } from '../src/index.js';

const one = (input: string, layer: string, dtype = '') =>
  compileYaml(`name: t\ninputs:\n  x: {shape: ${input}${dtype ? `, dtype: ${dtype}` : ''}}\nlayers:\n  - ${layer}\n`);

function last(r: CompileResult) {
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  const n = r.graph!.nodes[r.graph!.nodes.length - 1]!;
  return { shape: n.outputShape, weights: n.weights.map((w) => `${w.name} ${w.shape.join('x')}`), params: n.params.trainable + n.params.nonTrainable, macs: n.macs };
}

const errors = (r: CompileResult) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`);

describe('null dimensions and int32 inputs', () => {
  it('[null] int32 tokens -> embedding (None, None, 8): None carried through', () => {
    const r = compileYaml('name: t\ninputs:\n  x: {shape: [null], dtype: int32}\nlayers:\n  - embedding: {input_dim: 10, output_dim: 8}\n  - dense: 4\n');
    expect(r.graph!.nodes.map((n) => n.outputShape)).toEqual([[null], [null, 8], [null, 4]]);
    expect(r.graph!.nodes[0]!.attrs.dtype).toBe('int32');
  });
  it('dense over a None last axis, flatten and reshape over a None axis: errors naming the axis', () => {
    expect(errors(one('[5, null]', 'dense: 3'))).toEqual(["MS5002 dense needs a known last dimension, but axis 2 of its input (None, 5, None) is None (a dimension of any size) at 'dense'"]);
    expect(errors(one('[null, 4]', 'flatten: {}'))).toEqual(["MS5002 flatten needs every dimension of its input known to count its output, but axis 1 of (None, None, 4) is None (a dimension of any size) at 'flatten'"]);
    expect(errors(one('[null, 4]', 'reshape: [-1, 2]'))[0]).toContain('reshape needs every dimension of its input known to check target_shape against, but axis 1 of (None, None, 4) is None');
    expect(errors(one('[null, null]', 'conv1d: {filters: 2, kernel_size: 3}'))[0]).toContain('conv1d needs a known channel count, but axis 2 of its input (None, None, None) is None');
  });
  it('0 or a negative dimension is refused; null is not a -1', () => {
    expect(errors(one('[0]', 'dense: 3'))[0]).toMatch(/shape|minimum|>= 1/);
    expect(errors(one('[-1, 3]', 'dense: 3'))[0]).toMatch(/shape|minimum|>= 1/);
  });
});

describe('conv1d and 1-D pooling', () => {
  it('conv1d valid: 10 steps x 3, 4 filters of 3 -> (8, 4); kernel 3x3x4, 3*3*4+4 = 40 params; MACs 8*4*3*3 = 288', () => {
    expect(last(one('[10, 3]', 'conv1d: {filters: 4, kernel_size: 3}'))).toEqual({ shape: [8, 4], weights: ['kernel 3x3x4', 'bias 4'], params: 40, macs: 288 });
  });
  it('conv1d same stride 2: ceil(10 / 2) = 5; dilation 2 valid: 10 - (3-1)*2 = 6; [3] is 3', () => {
    expect(last(one('[10, 3]', 'conv1d: {filters: 4, kernel_size: [3], strides: 2, padding: same}')).shape).toEqual([5, 4]);
    expect(last(one('[10, 3]', 'conv1d: {filters: 4, kernel_size: 3, dilation_rate: 2}')).shape).toEqual([6, 4]);
    expect(last(one('[null, 3]', 'conv1d: {filters: 4, kernel_size: 3}')).shape).toEqual([null, 4]);
  });
  it('conv1d errors: empty output, strides with dilation, groups', () => {
    expect(errors(one('[2, 3]', 'conv1d: {filters: 4, kernel_size: 3}'))[0]).toContain('conv1d would produce an empty output (length 0) from input (None, 2, 3)');
    expect(errors(one('[10, 3]', 'conv1d: {filters: 4, kernel_size: 3, strides: 2, dilation_rate: 2}'))[0]).toContain('strides > 1 cannot be combined with dilation_rate > 1');
    expect(errors(one('[10, 3]', 'conv1d: {filters: 4, kernel_size: 3, groups: 2}'))[0]).toContain('groups=2 must divide both the input channels (3) and filters (4)');
    expect(errors(one('[10, 3, 3]', 'conv1d: {filters: 4, kernel_size: 3}'))[0]).toContain('conv1d needs a rank 3');
  });
  it('pooling1d: 9 steps, pool 2 valid -> 4, same -> 5, strides 1 -> 8; no weights', () => {
    expect(last(one('[9, 3]', 'max_pooling1d: {}'))).toEqual({ shape: [4, 3], weights: [], params: 0, macs: 0 });
    expect(last(one('[9, 3]', 'average_pooling1d: {padding: same}')).shape).toEqual([5, 3]);
    expect(last(one('[9, 3]', 'max_pooling1d: {strides: 1}')).shape).toEqual([8, 3]);
    expect(last(one('[null, 3]', 'max_pooling1d: {}')).shape).toEqual([null, 3]);
  });
  it('up_sampling1d: (4, 3) size 3 -> (12, 3); zero_padding1d 1 -> (6, 3), [2, 0] -> (6, 3); None stays None', () => {
    expect(last(one('[4, 3]', 'up_sampling1d: {size: 3}'))).toEqual({ shape: [12, 3], weights: [], params: 0, macs: 0 });
    expect(last(one('[4, 3]', 'zero_padding1d: {}')).shape).toEqual([6, 3]);
    expect(last(one('[4, 3]', 'zero_padding1d: {padding: [2, 0]}')).shape).toEqual([6, 3]);
    expect(last(one('[null, 3]', 'up_sampling1d: {}')).shape).toEqual([null, 3]);
    expect(errors(one('[4, 3, 1]', 'zero_padding1d: {}'))[0]).toContain('zero_padding1d needs a rank 3');
  });
  it('masking keeps the shape; repeat_vector (5,) -> (3, 5); repeat_vector needs a vector', () => {
    expect(last(one('[null, 3]', 'masking: {mask_value: -1}')).shape).toEqual([null, 3]);
    expect(last(one('[5]', 'repeat_vector: 3')).shape).toEqual([3, 5]);
    expect(errors(one('[4, 5]', 'repeat_vector: 3'))[0]).toContain('repeat_vector needs a rank 2');
  });
});

describe('recurrent layers', () => {
  it('simple_rnn 4 on (7, 3): kernel 3x4, recurrent 4x4, bias 4 = 32 params; last step (4,); MACs 7*4*(3+4) = 196', () => {
    expect(last(one('[7, 3]', 'simple_rnn: 4'))).toEqual({ shape: [4], weights: ['kernel 3x4', 'recurrent_kernel 4x4', 'bias 4'], params: 32, macs: 196 });
  });
  it('lstm 5 on (None, 3), return_sequences: 4*(5*(5+3)+5) = 180 params; (None, 5); one step of MACs 4*5*8 = 160', () => {
    expect(last(one('[null, 3]', 'lstm: {units: 5, return_sequences: true}'))).toEqual({ shape: [null, 5], weights: ['kernel 3x20', 'recurrent_kernel 5x20', 'bias 20'], params: 180, macs: 160 });
  });
  it('gru 64 on 32 features: Keras 2 default reset_after=True 3*(64*96+2*64) = 18,816, bias 2x192; reset_after false 18,624', () => {
    expect(last(one('[10, 32]', 'gru: 64'))).toMatchObject({ shape: [64], weights: ['kernel 32x192', 'recurrent_kernel 64x192', 'bias 2x192'], params: 18_816 });
    expect(last(one('[10, 32]', 'gru: {units: 64, reset_after: false}'))).toMatchObject({ weights: ['kernel 32x192', 'recurrent_kernel 64x192', 'bias 192'], params: 18_624 });
    expect(last(one('[10, 32]', 'lstm: {units: 64, use_bias: false}')).params).toBe(4 * 64 * 96);
  });
  it('stateful is refused with what to do (return_state is taken: test/seq2seq.test.ts); the features must be known; the input is a sequence', () => {
    expect(errors(one('[5, 3]', 'lstm: {units: 2, return_state: true}'))).toEqual([]);
    expect(errors(one('[5, 3, 4, 2]', 'conv_lstm2d: {filters: 2, kernel_size: 1, return_state: true}'))[0]).toContain('return_state: true is not supported on conv_lstm2d');
    expect(errors(one('[5, 3]', 'gru: {units: 2, stateful: true}'))[0]).toContain('gru stateful: true is not supported');
    expect(errors(one('[5, null]', 'lstm: 2'))[0]).toContain('lstm needs a known feature count, but axis 2 of its input (None, 5, None) is None');
    expect(errors(one('[5]', 'lstm: 2'))[0]).toContain('lstm needs a rank 3');
  });
});

describe('conv_lstm2d', () => {
  it('4 filters 3x3 on (5, 8, 8, 2): kernel 3x3x2x16 (288), recurrent 3x3x4x16 (576), bias 16 = 880 params; valid -> (6, 6, 4)', () => {
    const r = last(one('[5, 8, 8, 2]', 'conv_lstm2d: {filters: 4, kernel_size: 3}'));
    // MACs: 5 steps * 6*6 positions * 4 gates * 4 filters * 3*3 * (2 + 4) channels
    expect(r).toEqual({ shape: [6, 6, 4], weights: ['kernel 3x3x2x16', 'recurrent_kernel 3x3x4x16', 'bias 16'], params: 880, macs: 5 * 36 * 16 * 9 * 6 });
  });
  it('same padding, stride 2, return_sequences over None steps: (None, 4, 4, 4); Keras 2 gate default hard_sigmoid', () => {
    const r = one('[null, 8, 8, 2]', 'conv_lstm2d: {filters: 4, kernel_size: 3, padding: same, strides: 2, return_sequences: true}');
    expect(last(r).shape).toEqual([null, 4, 4, 4]);
    expect(r.graph!.nodes[1]!.attrs.recurrent_activation ?? 'hard_sigmoid').toBe('hard_sigmoid');
    expect(errors(one('[8, 8, 2]', 'conv_lstm2d: {filters: 4, kernel_size: 3}'))[0]).toContain('conv_lstm2d needs a rank 5');
    expect(errors(one('[3, 2, 2, 2]', 'conv_lstm2d: {filters: 4, kernel_size: 3}'))[0]).toContain('conv_lstm2d would produce an empty output');
  });
});

describe('wrappers', () => {
  it('bidirectional lstm 4 on (6, 3): 2 * 4*(4*7+4) = 256 params, concat -> (8,); weights forward then backward', () => {
    const r = last(one('[6, 3]', 'bidirectional: {layer: {lstm: {units: 4}}}'));
    expect(r).toMatchObject({ shape: [8], params: 256, macs: 2 * 6 * 4 * 4 * 7 });
    expect(r.weights).toEqual(['forward_lstm/kernel 3x16', 'forward_lstm/recurrent_kernel 4x16', 'forward_lstm/bias 16', 'backward_lstm/kernel 3x16', 'backward_lstm/recurrent_kernel 4x16', 'backward_lstm/bias 16']);
  });
  it('bidirectional merge sum keeps the units; return_sequences keeps the steps', () => {
    expect(last(one('[null, 3]', 'bidirectional: {layer: {gru: {units: 4, reset_after: false, return_sequences: true}}, merge_mode: sum}')).shape).toEqual([null, 4]);
  });
  it('bidirectional: the inner layer must be a recurrent one with valid attributes', () => {
    expect(errors(one('[6, 3]', 'bidirectional: {layer: {dense: {units: 4}}}'))).toEqual(["MS2001 unknown key 'dense' in bidirectional attribute 'layer'"]);
    expect(errors(one('[6, 3]', 'bidirectional: {layer: {lstm: {unitz: 4}}}'))[0]).toContain("MS5002 bidirectional layer lstm has no attribute 'unitz' (it has units, activation,");
    expect(errors(one('[6, 3]', 'bidirectional: {layer: {lstm: {units: 0}}}'))[0]).toContain('MS5002 bidirectional layer lstm attribute units: 0 is not allowed (Size of the output');
    expect(errors(one('[6, 3]', 'bidirectional: {layer: {gru: {}}}'))[0]).toContain("MS5002 bidirectional layer gru needs 'units'");
    expect(errors(one('[6, 3]', 'time_distributed: {layer: {dense: {units: 2, activation: nope}}}'))[0]).toContain('time_distributed layer dense attribute activation: "nope" is not allowed');
    expect(errors(one('[6, 3]', 'bidirectional: {layer: {lstm: {units: 2}, gru: {units: 2}}}'))[0]).toMatch(/layer/);
    expect(errors(one('[6, 3]', 'bidirectional: {layer: {lstm: {units: 4, return_state: true}}}'))[0]).toContain('lstm return_state: true is not supported inside bidirectional');
    expect(errors(one('[6, 5, 3]', 'time_distributed: {layer: {lstm: {units: 4, return_state: true}}}'))[0]).toContain('lstm return_state: true is not supported inside time_distributed');
  });
  it('time_distributed dense 2 on (5, 3): (5, 2), 3*2+2 = 8 params, MACs 5*3*2 = 30; conv2d per frame', () => {
    expect(last(one('[5, 3]', 'time_distributed: {layer: {dense: {units: 2}}}'))).toEqual({ shape: [5, 2], weights: ['kernel 3x2', 'bias 2'], params: 8, macs: 30 });
    expect(last(one('[null, 8, 8, 1]', 'time_distributed: {layer: {conv2d: {filters: 2, kernel_size: 3}}}'))).toMatchObject({ shape: [null, 6, 6, 2], params: 20 });
    expect(errors(one('[5, 2, 2, 1]', 'time_distributed: {layer: {conv2d: {filters: 2, kernel_size: 3}}}'))[0]).toContain('time_distributed: on each step (None, 2, 2, 1): conv2d would produce an empty output');
  });
  it('expressions inside the inner layer are evaluated', () => {
    const r = compileYaml('name: t\nparams:\n  u: {type: int, default: 3}\ninputs:\n  x: {shape: [4, 2]}\nlayers:\n  - bidirectional: {layer: {simple_rnn: {units: "${u * 2}"}}}\n');
    expect(last(r).shape).toEqual([12]);
  });
});
