/**
 * Every built-in op against Keras' documented behaviour: output shape, weight
 * shapes (names and Keras order), parameter counts and MACs.
 *
 * Each case is a tiny YAML spec compiled through the whole pipeline
 * (`compileSource`): schema, defaults, instantiation and inference. The expected
 * values are written out by hand (and, for the shape rules, cross-checked by a
 * sweep against the formulas ported below from Keras' own source); nothing here
 * calls the op registry's formulas.
 *
 * Keras sources used (keras-team/keras, Keras 3):
 *  - keras/src/ops/operation_utils.py: compute_conv_output_shape, compute_pooling_output_shape,
 *    compute_reshape_output_shape
 *  - keras/src/backend/common/backend_utils.py: _get_output_shape_given_tf_padding
 *    (used by compute_conv_transpose_output_shape)
 *  - keras/src/layers/convolutional/base_conv.py: kernel (kh, kw, cin // groups, filters), bias (filters,);
 *    `strides > 1` with `dilation_rate > 1` is a ValueError; filters and input channels divisible by groups
 *  - keras/src/layers/convolutional/base_depthwise_conv.py: kernel (kh, kw, cin, dm), bias (cin * dm,); Keras 3
 *    names that weight `kernel`, tf.keras 2 and tfjs-layers `depthwise_kernel` (the name the registry and these tests use)
 *  - keras/src/layers/convolutional/base_separable_conv.py: depthwise_kernel (kh, kw, cin, dm),
 *    pointwise_kernel (1, 1, cin * dm, filters), bias (filters,)
 *  - keras/src/layers/convolutional/base_conv_transpose.py: kernel (kh, kw, filters, cin), bias (filters,);
 *    output_padding must be < strides
 *  - keras/src/layers/core/dense.py: kernel (last_dim, units) applied to the last axis
 *  - keras/src/layers/core/embedding.py: embeddings (input_dim, output_dim)
 *  - keras/src/layers/normalization/batch_normalization.py: gamma, beta (trainable), moving_mean,
 *    moving_variance (non-trainable), each (input_shape[axis],)
 *  - keras/src/layers/normalization/layer_normalization.py: gamma and beta of shape
 *    `tuple(input_shape[dim] for dim in self.axis)` (in the order the axes are given)
 *  - keras/src/layers/merging/base_merge.py: _compute_elemwise_op_output_shape (1 broadcasts, ranks
 *    are right-aligned), keras/src/layers/merging/concatenate.py
 *  - keras/src/layers/reshaping/zero_padding2d.py, up_sampling2d.py, flatten.py
 *
 * MACs follow the usual convention (bias additions and activations not counted):
 *   conv2d Hout*Wout*F*kh*kw*Cin/groups; depthwise Hout*Wout*Cin*dm*kh*kw;
 *   separable depthwise part + Hout*Wout*(Cin*dm)*F; conv2d_transpose Hin*Win*Cin*kh*kw*F;
 *   dense (product of the input dims)*units; every op without weights 0.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinRegistry, compileSource } from '../src/index.js';
import type { CompileResult } from '../src/index.js';
import type { TypedNode } from '../src/index.js';

const FILE = '/virtual/ops-test.yaml';

type Attrs = Record<string, unknown>;
type InputDecl = { shape: number[]; dtype?: 'float32' | 'int32' };

/** Compile a spec from its inputs and the YAML text of its layers. */
function compileLayers(inputs: Record<string, InputDecl>, layers: string): CompileResult {
  const ins = Object.entries(inputs)
    .map(([k, v]) => `  ${k}: {shape: ${JSON.stringify(v.shape)}${v.dtype ? `, dtype: ${v.dtype}` : ''}}`)
    .join('\n');
  return compileSource(FILE, `modelspec: 1\nname: op_test\ninputs:\n${ins}\nlayers:\n${layers}`);
}

function expectClean(r: CompileResult): void {
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(r.ok).toBe(true);
}

/** One op applied to one input; returns the op's node. Attributes are written as a JSON (= YAML flow) mapping. */
function apply(shape: number[], op: string, attrs: Attrs = {}, dtype?: 'float32' | 'int32'): TypedNode {
  const r = compileLayers({ x: { shape, ...(dtype ? { dtype } : {}) } }, `  - ${op}: ${JSON.stringify(attrs)}\n    id: out\n`);
  expectClean(r);
  const n = r.graph!.nodes.find((x) => x.id === 'out');
  expect(n, 'node out').toBeDefined();
  expect(n!.op).toBe(op);
  return n!;
}

/** The diagnostics of one op applied to one input (expected to fail). */
function applyErrors(shape: number[], op: string, attrs: Attrs = {}): string[] {
  const r = compileLayers({ x: { shape } }, `  - ${op}: ${JSON.stringify(attrs)}\n    id: out\n`);
  expect(r.ok).toBe(false);
  return r.diagnostics.map((d) => `${d.code} ${d.message}`);
}

/** A merge op over several inputs given by name. */
function merge(op: string, shapes: number[][], attrs: Attrs = {}): TypedNode {
  const inputs = Object.fromEntries(shapes.map((s, i) => [`in${i}`, { shape: s }]));
  const r = compileLayers(inputs, `  - ${op}: ${JSON.stringify(attrs)}\n    id: out\n    from: ${JSON.stringify(Object.keys(inputs))}\n`);
  expectClean(r);
  return r.graph!.nodes.find((x) => x.id === 'out')!;
}

function mergeErrors(op: string, shapes: number[][], attrs: Attrs = {}): string[] {
  const inputs = Object.fromEntries(shapes.map((s, i) => [`in${i}`, { shape: s }]));
  const r = compileLayers(inputs, `  - ${op}: ${JSON.stringify(attrs)}\n    id: out\n    from: ${JSON.stringify(Object.keys(inputs))}\n`);
  expect(r.ok).toBe(false);
  return r.diagnostics.map((d) => `${d.code} ${d.message}`);
}

const weightShapes = (n: TypedNode) => n.weights.map((w) => [w.name, [...w.shape], w.trainable]);
const total = (n: TypedNode) => n.params.trainable + n.params.nonTrainable;

// ---- Keras' shape formulas, ported for the sweeps (see the file list above) ----------------

/** operation_utils.compute_conv_output_shape, one spatial dim. */
function kerasConvLength(n: number, k: number, s: number, padding: 'valid' | 'same', d = 1): number {
  return padding === 'valid' ? Math.floor((n - d * (k - 1) - 1) / s) + 1 : Math.floor((n - 1) / s) + 1;
}

/** operation_utils.compute_pooling_output_shape, one spatial dim. */
function kerasPoolLength(n: number, p: number, s: number, padding: 'valid' | 'same'): number {
  return padding === 'valid' ? Math.floor((n - p) / s) + 1 : Math.floor((n - 1) / s) + 1;
}

/** backend_utils._get_output_shape_given_tf_padding. */
function kerasDeconvLength(n: number, k: number, s: number, padding: 'valid' | 'same', outputPadding: number | null, d = 1): number {
  const kk = (k - 1) * d + 1;
  if (padding === 'valid') return (n - 1) * s + kk + (outputPadding === null ? Math.max(kk, s) - kk : outputPadding);
  return outputPadding === null ? n * s : (n - 1) * s + (kk % 2) + outputPadding;
}

const TESTED = new Set<string>();
const covers = (...ops: string[]) => ops.forEach((o) => TESTED.add(o));

// =============================================================================================

describe('conv2d', () => {
  covers('conv2d');

  it('valid padding, stride 1: 32x32x3, 16 filters 3x3 -> 30x30x16, 3*3*3*16+16 = 448 params', () => {
    const n = apply([32, 32, 3], 'conv2d', { filters: 16, kernel_size: 3 });
    expect(n.outputShape).toEqual([30, 30, 16]);
    expect(weightShapes(n)).toEqual([['kernel', [3, 3, 3, 16], true], ['bias', [16], true]]);
    expect(n.params).toEqual({ trainable: 448, nonTrainable: 0 });
    expect(n.macs).toBe(30 * 30 * 16 * 3 * 3 * 3); // 388800
  });

  it('same padding keeps the size at stride 1', () => {
    const n = apply([32, 32, 3], 'conv2d', { filters: 16, kernel_size: 3, padding: 'same' });
    expect(n.outputShape).toEqual([32, 32, 16]);
    expect(total(n)).toBe(448);
    expect(n.macs).toBe(32 * 32 * 16 * 27); // 442368
  });

  it.each([
    // [input, kernel, strides, padding, expected]
    [32, 3, 2, 'valid', 15], // floor((32-3)/2)+1
    [32, 3, 2, 'same', 16], // ceil(32/2)
    [32, 3, 3, 'valid', 10], // floor(29/3)+1
    [32, 3, 3, 'same', 11], // ceil(32/3)
    [7, 3, 2, 'same', 4], // ceil(7/2)
    [7, 3, 2, 'valid', 3], // floor(4/2)+1
    [7, 7, 2, 'same', 4], // 7x7 kernel, stride 2, same: ceil(7/2)
    [7, 7, 1, 'valid', 1],
    [28, 5, 3, 'valid', 8], // floor(23/3)+1
    [28, 5, 3, 'same', 10], // ceil(28/3)
    [224, 7, 2, 'same', 112], // ResNet50 conv1
    [9, 1, 2, 'valid', 5], // 1x1 projection shortcut on an odd size
  ] as const)('input %i, kernel %i, strides %i, %s -> %i', (size, k, s, padding, want) => {
    const n = apply([size, size, 3], 'conv2d', { filters: 4, kernel_size: k, strides: s, padding });
    expect(n.outputShape).toEqual([want, want, 4]);
    expect(total(n)).toBe(k * k * 3 * 4 + 4);
    expect(n.macs).toBe(want * want * 4 * k * k * 3);
  });

  it('ResNet50 conv1 (7x7/2 same, 64 filters on 224x224x3): 112x112x64, 9472 params', () => {
    const n = apply([224, 224, 3], 'conv2d', { filters: 64, kernel_size: 7, strides: 2, padding: 'same' });
    expect(n.outputShape).toEqual([112, 112, 64]);
    expect(total(n)).toBe(9472);
  });

  it('dilation enlarges the window for valid padding only; weights do not change', () => {
    // Effective kernel (3-1)*2+1 = 5: 32 - 5 + 1 = 28.
    const v = apply([32, 32, 3], 'conv2d', { filters: 8, kernel_size: 3, dilation_rate: 2 });
    expect(v.outputShape).toEqual([28, 28, 8]);
    expect(total(v)).toBe(3 * 3 * 3 * 8 + 8);
    const s = apply([32, 32, 3], 'conv2d', { filters: 8, kernel_size: 3, dilation_rate: 2, padding: 'same' });
    expect(s.outputShape).toEqual([32, 32, 8]);
    // Per-axis dilation [1, 3] with a 3x3 kernel: effective 3x7 -> 30 x 26.
    const p = apply([32, 32, 3], 'conv2d', { filters: 8, kernel_size: 3, dilation_rate: [1, 3] });
    expect(p.outputShape).toEqual([30, 26, 8]);
  });

  it('groups split the input channels: kernel (3, 3, cin/groups, filters)', () => {
    const n = apply([16, 16, 8], 'conv2d', { filters: 16, kernel_size: 3, groups: 4, padding: 'same' });
    expect(n.outputShape).toEqual([16, 16, 16]);
    expect(weightShapes(n)).toEqual([['kernel', [3, 3, 2, 16], true], ['bias', [16], true]]);
    expect(total(n)).toBe(3 * 3 * 2 * 16 + 16); // 304
    expect(n.macs).toBe(16 * 16 * 16 * 3 * 3 * 2);
  });

  it('use_bias: false drops the bias', () => {
    const n = apply([32, 32, 3], 'conv2d', { filters: 16, kernel_size: 3, use_bias: false });
    expect(weightShapes(n)).toEqual([['kernel', [3, 3, 3, 16], true]]);
    expect(total(n)).toBe(432);
  });

  it('rectangular kernel [3, 5] and strides [1, 2]', () => {
    const n = apply([32, 32, 3], 'conv2d', { filters: 8, kernel_size: [3, 5] });
    expect(n.outputShape).toEqual([30, 28, 8]);
    expect(weightShapes(n)).toEqual([['kernel', [3, 5, 3, 8], true], ['bias', [8], true]]);
    expect(total(n)).toBe(3 * 5 * 3 * 8 + 8); // 368
    expect(n.macs).toBe(30 * 28 * 8 * 15 * 3);
    const s = apply([31, 31, 3], 'conv2d', { filters: 8, kernel_size: [3, 5], strides: [1, 2] });
    expect(s.outputShape).toEqual([29, 14, 8]); // (31-3)/1+1, floor((31-5)/2)+1
    const ss = apply([31, 31, 3], 'conv2d', { filters: 8, kernel_size: [3, 5], strides: [1, 2], padding: 'same' });
    expect(ss.outputShape).toEqual([31, 16, 8]);
  });

  it('errors: kernel larger than a valid input, groups that do not divide, strides with dilation', () => {
    expect(applyErrors([4, 4, 3], 'conv2d', { filters: 2, kernel_size: 5 }).join('\n')).toMatch(/MS5002/);
    expect(applyErrors([8, 8, 6], 'conv2d', { filters: 8, kernel_size: 3, groups: 4 }).join('\n')).toMatch(/MS5002.*groups/);
    expect(applyErrors([8, 8, 3], 'conv2d', { filters: 8, kernel_size: 3, strides: 2, dilation_rate: 2 }).join('\n')).toMatch(/dilation/);
    expect(applyErrors([8, 3], 'conv2d', { filters: 8, kernel_size: 3 }).join('\n')).toMatch(/MS5002/);
  });
});

/** One conv per (size, kernel, strides, padding), each compiled on its own and compared with Keras' formula. */
describe('conv2d shape rule sweep (compute_conv_output_shape)', () => {
  const cases: [number, number, number, 'valid' | 'same', number][] = [];
  for (const size of [5, 6, 7, 8, 13, 17])
    for (const k of [1, 2, 3, 5])
      for (const s of [1, 2, 3])
        for (const padding of ['valid', 'same'] as const)
          for (const d of [1, 2])
            if ((padding === 'same' || (k - 1) * d + 1 <= size) && !(s > 1 && d > 1)) cases.push([size, k, s, padding, d]);
  it(`${cases.length} cases`, () => {
    // All in one spec: each conv reads x and ends in its own output, so nothing is dead.
    const layers = cases
      .map(([size, k, s, padding, d], i) => `  - conv2d: {filters: 1, kernel_size: ${k}, strides: ${s}, padding: ${padding}, dilation_rate: ${d}}\n    from: x${size}\n    id: c${i}\n`)
      .join('');
    const sizes = [...new Set(cases.map((c) => c[0]))];
    const ins = Object.fromEntries(sizes.map((s) => [`x${s}`, { shape: [s, s + 1, 1] }]));
    const outputs = cases.map((_, i) => `c${i}`);
    const r = compileSource(
      FILE,
      `modelspec: 1\ninputs:\n${Object.entries(ins).map(([k, v]) => `  ${k}: {shape: ${JSON.stringify(v.shape)}}`).join('\n')}\nlayers:\n${layers}outputs: [${outputs.join(', ')}]\n`,
    );
    expectClean(r);
    cases.forEach(([size, k, s, padding, d], i) => {
      const n = r.graph!.nodes.find((x) => x.id === `c${i}`)!;
      expect(n.outputShape, `size ${size}x${size + 1}, k ${k}, s ${s}, ${padding}, d ${d}`).toEqual([
        kerasConvLength(size, k, s, padding, d),
        kerasConvLength(size + 1, k, s, padding, d),
        1,
      ]);
    });
  });
});

/** Compile one spec with one node per case (all listed as outputs) and return the nodes c0, c1, ... */
function sweep(sizes: number[], layer: (i: number) => string, count: number, inputOf: (i: number) => number): TypedNode[] {
  const ins = sizes.map((s) => `  x${s}: {shape: [${s}, ${s + 1}, 2]}`).join('\n');
  const layers = Array.from({ length: count }, (_, i) => `  - ${layer(i)}\n    from: x${inputOf(i)}\n    id: c${i}\n`).join('');
  const outputs = Array.from({ length: count }, (_, i) => `c${i}`).join(', ');
  const r = compileSource(FILE, `modelspec: 1\ninputs:\n${ins}\nlayers:\n${layers}outputs: [${outputs}]\n`);
  expectClean(r);
  return Array.from({ length: count }, (_, i) => r.graph!.nodes.find((x) => x.id === `c${i}`)!);
}

describe('pooling shape rule sweep (compute_pooling_output_shape)', () => {
  const cases: [number, number, number | null, 'valid' | 'same'][] = [];
  for (const size of [3, 4, 5, 7, 8, 11, 16])
    for (const p of [1, 2, 3, 4])
      for (const s of [null, 1, 2, 3])
        for (const padding of ['valid', 'same'] as const) if (padding === 'same' || p <= size) cases.push([size, p, s, padding]);
  it.each(['max_pooling2d', 'average_pooling2d'])(`%s: ${cases.length} cases`, (op) => {
    const sizes = [...new Set(cases.map((c) => c[0]))];
    const nodes = sweep(sizes, (i) => `${op}: {pool_size: ${cases[i]![1]}, strides: ${cases[i]![2]}, padding: ${cases[i]![3]}}`, cases.length, (i) => cases[i]![0]);
    cases.forEach(([size, p, s, padding], i) => {
      expect(nodes[i]!.outputShape, `${size}, pool ${p}, strides ${s}, ${padding}`).toEqual([
        kerasPoolLength(size, p, s ?? p, padding),
        kerasPoolLength(size + 1, p, s ?? p, padding),
        2,
      ]);
    });
  });
});

describe('conv2d_transpose shape rule sweep (_get_output_shape_given_tf_padding)', () => {
  const cases: [number, number, number, 'valid' | 'same', number | null, number][] = [];
  for (const size of [1, 2, 5, 8])
    for (const k of [1, 2, 3, 4, 5])
      for (const s of [1, 2, 3])
        for (const padding of ['valid', 'same'] as const)
          for (const op of [null, 0, 1, 2])
            for (const d of [1, 2])
              // (Keras' formula gives 0 for e.g. n=1, k=2, same, output_padding 0: an empty output, an error in both.)
              if ((op === null || op < s) && !(s > 1 && d > 1) && kerasDeconvLength(size, k, s, padding, op, d) >= 1) cases.push([size, k, s, padding, op, d]);
  it(`${cases.length} cases`, () => {
    const sizes = [...new Set(cases.map((c) => c[0]))];
    const nodes = sweep(
      sizes,
      (i) => { const [, k, s, padding, op, d] = cases[i]!; return `conv2d_transpose: {filters: 3, kernel_size: ${k}, strides: ${s}, padding: ${padding}, output_padding: ${op}, dilation_rate: ${d}}`; },
      cases.length,
      (i) => cases[i]![0],
    );
    cases.forEach(([size, k, s, padding, op, d], i) => {
      const n = nodes[i]!;
      expect(n.outputShape, `${size}, k ${k}, s ${s}, ${padding}, output_padding ${op}, dilation ${d}`).toEqual([
        kerasDeconvLength(size, k, s, padding, op, d),
        kerasDeconvLength(size + 1, k, s, padding, op, d),
        3,
      ]);
      expect(total(n)).toBe(k * k * 3 * 2 + 3);
    });
  });
});

describe('depthwise_conv2d', () => {
  covers('depthwise_conv2d');

  it('depth_multiplier 1: one 3x3 filter per channel, bias per channel', () => {
    const n = apply([16, 16, 8], 'depthwise_conv2d', { kernel_size: 3, padding: 'same' });
    expect(n.outputShape).toEqual([16, 16, 8]);
    expect(weightShapes(n)).toEqual([['depthwise_kernel', [3, 3, 8, 1], true], ['bias', [8], true]]);
    expect(total(n)).toBe(3 * 3 * 8 + 8); // 80
    expect(n.macs).toBe(16 * 16 * 8 * 9);
  });

  it('depth_multiplier 3 multiplies the channels and the bias', () => {
    const n = apply([16, 16, 8], 'depthwise_conv2d', { kernel_size: 3, depth_multiplier: 3, padding: 'same' });
    expect(n.outputShape).toEqual([16, 16, 24]);
    expect(weightShapes(n)).toEqual([['depthwise_kernel', [3, 3, 8, 3], true], ['bias', [24], true]]);
    expect(total(n)).toBe(3 * 3 * 8 * 3 + 24); // 240
    expect(n.macs).toBe(16 * 16 * 24 * 9);
  });

  it('strides 2 valid on an odd size, no bias (MobileNet style: 3x3 on 32 channels = 288 params)', () => {
    const n = apply([15, 15, 32], 'depthwise_conv2d', { kernel_size: 3, strides: 2, use_bias: false });
    expect(n.outputShape).toEqual([7, 7, 32]); // floor((15-3)/2)+1
    expect(weightShapes(n)).toEqual([['depthwise_kernel', [3, 3, 32, 1], true]]);
    expect(total(n)).toBe(288);
    expect(n.macs).toBe(7 * 7 * 32 * 9);
    expect(apply([15, 15, 32], 'depthwise_conv2d', { kernel_size: 3, strides: 2, padding: 'same' }).outputShape).toEqual([8, 8, 32]);
  });

  it('rectangular kernel', () => {
    const n = apply([10, 10, 4], 'depthwise_conv2d', { kernel_size: [1, 5], depth_multiplier: 2 });
    expect(n.outputShape).toEqual([10, 6, 8]);
    expect(total(n)).toBe(1 * 5 * 4 * 2 + 8);
  });
});

describe('separable_conv2d', () => {
  covers('separable_conv2d');

  it('depthwise (3,3,cin,1) + pointwise (1,1,cin,filters) + bias', () => {
    const n = apply([16, 16, 8], 'separable_conv2d', { filters: 16, kernel_size: 3, padding: 'same' });
    expect(n.outputShape).toEqual([16, 16, 16]);
    expect(weightShapes(n)).toEqual([
      ['depthwise_kernel', [3, 3, 8, 1], true],
      ['pointwise_kernel', [1, 1, 8, 16], true],
      ['bias', [16], true],
    ]);
    expect(total(n)).toBe(72 + 128 + 16); // 216
    expect(n.macs).toBe(16 * 16 * 8 * 9 + 16 * 16 * 8 * 16); // 51200
  });

  it('depth_multiplier 2, strides 2 valid, no bias', () => {
    const n = apply([17, 17, 8], 'separable_conv2d', { filters: 16, kernel_size: 3, strides: 2, depth_multiplier: 2, use_bias: false });
    expect(n.outputShape).toEqual([8, 8, 16]); // floor(14/2)+1
    expect(weightShapes(n)).toEqual([
      ['depthwise_kernel', [3, 3, 8, 2], true],
      ['pointwise_kernel', [1, 1, 16, 16], true],
    ]);
    expect(total(n)).toBe(144 + 256); // 400
    expect(n.macs).toBe(8 * 8 * 16 * 9 + 8 * 8 * 16 * 16);
  });

  it('Xception entry block: SeparableConv2D(128, 3, same, use_bias=False) on 64 channels = 8768 params', () => {
    const n = apply([10, 10, 64], 'separable_conv2d', { filters: 128, kernel_size: 3, padding: 'same', use_bias: false });
    expect(total(n)).toBe(8768); // 3*3*64 + 64*128
  });
});

describe('conv2d_transpose', () => {
  covers('conv2d_transpose');

  it('valid, strides 2, kernel 3: (8-1)*2 + 3 = 17; kernel (3, 3, filters, cin)', () => {
    const n = apply([8, 8, 16], 'conv2d_transpose', { filters: 8, kernel_size: 3, strides: 2 });
    expect(n.outputShape).toEqual([17, 17, 8]);
    expect(weightShapes(n)).toEqual([['kernel', [3, 3, 8, 16], true], ['bias', [8], true]]);
    expect(total(n)).toBe(3 * 3 * 8 * 16 + 8); // 1160
    expect(n.macs).toBe(8 * 8 * 16 * 3 * 3 * 8); // input positions * cin * kh * kw * filters
  });

  it('same, strides 2: input * strides', () => {
    expect(apply([8, 8, 16], 'conv2d_transpose', { filters: 8, kernel_size: 3, strides: 2, padding: 'same' }).outputShape).toEqual([16, 16, 8]);
    expect(apply([7, 5, 16], 'conv2d_transpose', { filters: 8, kernel_size: 4, strides: 2, padding: 'same' }).outputShape).toEqual([14, 10, 8]);
  });

  it.each([
    // [n, k, s, padding, output_padding, expected]
    [8, 2, 2, 'valid', null, 16], // U-Net up-convolution
    [8, 4, 2, 'valid', null, 18], // (8-1)*2 + 4
    [8, 1, 2, 'valid', null, 16], // kernel < stride: (8-1)*2 + 1 + (2-1)
    [8, 3, 1, 'valid', null, 10], // n + k - 1
    [8, 3, 1, 'same', null, 8],
    [8, 3, 2, 'same', 1, 16], // (8-1)*2 + 3%2 + 1
    [8, 3, 2, 'same', 0, 15], // (8-1)*2 + 1 + 0
    [8, 4, 2, 'same', 1, 15], // (8-1)*2 + 4%2 + 1
    [8, 3, 2, 'valid', 1, 18], // (8-1)*2 + 3 + 1
    [8, 3, 3, 'valid', 2, 26], // (8-1)*3 + 3 + 2
    [5, 3, 3, 'same', null, 15],
  ] as const)('n=%i k=%i strides=%i %s output_padding=%s -> %i', (size, k, s, padding, op, want) => {
    const n = apply([size, size, 4], 'conv2d_transpose', { filters: 2, kernel_size: k, strides: s, padding, output_padding: op });
    expect(n.outputShape).toEqual([want, want, 2]);
    expect(want).toBe(kerasDeconvLength(size, k, s, padding, op));
    expect(total(n)).toBe(k * k * 2 * 4 + 2);
  });

  it('per-axis output_padding [0, 1] and no bias', () => {
    const n = apply([6, 6, 4], 'conv2d_transpose', { filters: 2, kernel_size: 3, strides: 2, padding: 'same', output_padding: [0, 1], use_bias: false });
    expect(n.outputShape).toEqual([11, 12, 2]);
    expect(total(n)).toBe(3 * 3 * 2 * 4);
  });

  it('output_padding must be smaller than strides; an empty output is an error', () => {
    expect(applyErrors([8, 8, 4], 'conv2d_transpose', { filters: 2, kernel_size: 3, strides: 2, output_padding: 2 }).join('\n')).toMatch(/output_padding/);
    // Keras' formula: (1-1)*1 + 2%2 + 0 = 0 rows.
    expect(applyErrors([1, 1, 4], 'conv2d_transpose', { filters: 2, kernel_size: 2, padding: 'same', output_padding: 0 }).join('\n')).toMatch(/MS5002/);
  });
});

describe('max_pooling2d and average_pooling2d', () => {
  covers('max_pooling2d', 'average_pooling2d');

  it.each(['max_pooling2d', 'average_pooling2d'])('%s defaults: pool 2, strides = pool, valid', (op) => {
    const n = apply([32, 32, 3], op);
    expect(n.outputShape).toEqual([16, 16, 3]);
    expect(n.weights).toEqual([]);
    expect(n.params).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(n.macs).toBe(0);
  });

  it.each([
    // [size, pool, strides, padding, expected]
    [32, 3, null, 'valid', 10], // floor((32-3)/3)+1
    [32, 3, null, 'same', 11], // ceil(32/3)
    [32, 3, 2, 'valid', 15], // floor(29/2)+1
    [32, 3, 2, 'same', 16],
    [7, 2, null, 'valid', 3], // odd size: the last row is dropped
    [7, 2, null, 'same', 4], // ... or kept with same
    [5, 2, 1, 'valid', 4],
    [5, 2, 1, 'same', 5],
    [8, 8, null, 'valid', 1], // ResNet v1 head: AveragePooling2D(8) on 8x8
    [9, 3, 2, 'valid', 4],
  ] as const)('size %i, pool %i, strides %s, %s -> %i', (size, p, s, padding, want) => {
    for (const op of ['max_pooling2d', 'average_pooling2d']) {
      const n = apply([size, size, 5], op, { pool_size: p, strides: s, padding });
      expect(n.outputShape).toEqual([want, want, 5]);
      expect(want).toBe(kerasPoolLength(size, p, s ?? p, padding));
    }
  });

  it('rectangular pool and strides', () => {
    expect(apply([9, 10, 2], 'max_pooling2d', { pool_size: [2, 3] }).outputShape).toEqual([4, 3, 2]);
    expect(apply([9, 10, 2], 'average_pooling2d', { pool_size: [3, 2], strides: [1, 2], padding: 'same' }).outputShape).toEqual([9, 5, 2]);
  });

  it('a pool larger than a valid input is an error', () => {
    expect(applyErrors([2, 2, 3], 'max_pooling2d', { pool_size: 3 }).join('\n')).toMatch(/MS5002/);
  });
});

describe('global_average_pooling2d and global_max_pooling2d', () => {
  covers('global_average_pooling2d', 'global_max_pooling2d');

  it.each(['global_average_pooling2d', 'global_max_pooling2d'])('%s: (h, w, c) -> (c), keepdims -> (1, 1, c)', (op) => {
    const n = apply([7, 5, 32], op);
    expect(n.outputShape).toEqual([32]);
    expect(total(n)).toBe(0);
    expect(n.macs).toBe(0);
    expect(apply([7, 5, 32], op, { keepdims: true }).outputShape).toEqual([1, 1, 32]);
    expect(applyErrors([32], op).join('\n')).toMatch(/MS5002/);
  });
});

describe('dense', () => {
  covers('dense');

  it('rank-1 input: kernel (in, units), bias (units)', () => {
    const n = apply([64], 'dense', { units: 10 });
    expect(n.outputShape).toEqual([10]);
    expect(weightShapes(n)).toEqual([['kernel', [64, 10], true], ['bias', [10], true]]);
    expect(total(n)).toBe(650);
    expect(n.macs).toBe(640);
  });

  it('rank-3 input: applied to the last axis only', () => {
    const n = apply([5, 7, 12], 'dense', { units: 4 });
    expect(n.outputShape).toEqual([5, 7, 4]);
    expect(weightShapes(n)).toEqual([['kernel', [12, 4], true], ['bias', [4], true]]);
    expect(total(n)).toBe(52);
    expect(n.macs).toBe(5 * 7 * 12 * 4);
  });

  it('rank-2 input without bias', () => {
    const n = apply([10, 16], 'dense', { units: 8, use_bias: false });
    expect(n.outputShape).toEqual([10, 8]);
    expect(weightShapes(n)).toEqual([['kernel', [16, 8], true]]);
    expect(total(n)).toBe(128);
  });

  it('MNIST classifier head: Dense(10) on 576 features = 5770 params', () => {
    expect(total(apply([576], 'dense', { units: 10, activation: 'softmax' }))).toBe(5770);
  });
});

describe('flatten', () => {
  covers('flatten');
  it('(h, w, c) -> (h*w*c); rank 1 stays', () => {
    const n = apply([7, 7, 32], 'flatten');
    expect(n.outputShape).toEqual([1568]);
    expect(total(n)).toBe(0);
    expect(apply([3, 4], 'flatten').outputShape).toEqual([12]);
    expect(apply([5], 'flatten').outputShape).toEqual([5]);
  });
});

describe('reshape', () => {
  covers('reshape');
  it('explicit target shape', () => {
    expect(apply([12], 'reshape', { target_shape: [3, 4] }).outputShape).toEqual([3, 4]);
    expect(apply([4, 4, 3], 'reshape', { target_shape: [16, 3] }).outputShape).toEqual([16, 3]);
  });
  it('-1 is inferred from the size', () => {
    expect(apply([12], 'reshape', { target_shape: [-1, 4] }).outputShape).toEqual([3, 4]);
    expect(apply([12], 'reshape', { target_shape: [2, -1, 2] }).outputShape).toEqual([2, 3, 2]);
    expect(apply([4, 4, 3], 'reshape', { target_shape: [-1] }).outputShape).toEqual([48]);
    expect(apply([10, 8], 'reshape', { target_shape: [10, -1, 1] }).outputShape).toEqual([10, 8, 1]);
    expect(total(apply([12], 'reshape', { target_shape: [-1, 4] }))).toBe(0);
  });
  it('sizes that do not match, and two -1, are errors', () => {
    expect(applyErrors([12], 'reshape', { target_shape: [5, 3] }).join('\n')).toMatch(/MS5002.*12 values/);
    expect(applyErrors([12], 'reshape', { target_shape: [-1, 5] }).join('\n')).toMatch(/MS5002/);
    expect(applyErrors([12], 'reshape', { target_shape: [-1, -1] }).join('\n')).toMatch(/-1/);
  });
});

describe('dropout and activation', () => {
  covers('dropout', 'activation');
  it('keep the shape and have no weights', () => {
    const d = apply([7, 3], 'dropout', { rate: 0.5 });
    expect(d.outputShape).toEqual([7, 3]);
    expect(total(d)).toBe(0);
    const a = apply([4, 4, 2], 'activation', { activation: 'relu' });
    expect(a.outputShape).toEqual([4, 4, 2]);
    expect(total(a)).toBe(0);
    expect(a.macs).toBe(0);
  });
});

describe('dropout rate bounds', () => {
  it('a rate outside [0, 1) is refused', () => {
    expect(applyErrors([4], 'dropout', { rate: 1.5 }).join('\n')).toMatch(/MS2005/);
    expect(applyErrors([4], 'dropout', { rate: -0.1 }).join('\n')).toMatch(/MS2005/);
    expect(apply([4], 'dropout', { rate: 0 }).outputShape).toEqual([4]);
  });
});

describe('batch_normalization', () => {
  covers('batch_normalization');

  it('axis -1: gamma, beta trainable; moving mean and variance not', () => {
    const n = apply([8, 8, 16], 'batch_normalization');
    expect(n.outputShape).toEqual([8, 8, 16]);
    expect(weightShapes(n)).toEqual([
      ['gamma', [16], true],
      ['beta', [16], true],
      ['moving_mean', [16], false],
      ['moving_variance', [16], false],
    ]);
    expect(n.params).toEqual({ trainable: 32, nonTrainable: 32 });
    expect(n.macs).toBe(0);
  });

  it('another axis: axis 1 (height, batch is axis 0) and axis -2', () => {
    const a1 = apply([4, 5, 6], 'batch_normalization', { axis: 1 });
    expect(a1.outputShape).toEqual([4, 5, 6]);
    expect(weightShapes(a1).map((w) => w[1])).toEqual([[4], [4], [4], [4]]);
    expect(a1.params).toEqual({ trainable: 8, nonTrainable: 8 });
    expect(apply([4, 5, 6], 'batch_normalization', { axis: -2 }).params).toEqual({ trainable: 10, nonTrainable: 10 });
    expect(apply([10], 'batch_normalization').params).toEqual({ trainable: 20, nonTrainable: 20 });
  });

  it('center: false drops beta, scale: false drops gamma', () => {
    expect(weightShapes(apply([8, 8, 16], 'batch_normalization', { center: false })).map((w) => w[0])).toEqual(['gamma', 'moving_mean', 'moving_variance']);
    expect(apply([8, 8, 16], 'batch_normalization', { center: false }).params).toEqual({ trainable: 16, nonTrainable: 32 });
    expect(weightShapes(apply([8, 8, 16], 'batch_normalization', { scale: false })).map((w) => w[0])).toEqual(['beta', 'moving_mean', 'moving_variance']);
    expect(apply([8, 8, 16], 'batch_normalization', { center: false, scale: false }).params).toEqual({ trainable: 0, nonTrainable: 32 });
  });

  it('axis 0 (the batch) and axes beyond the rank are errors', () => {
    expect(applyErrors([4, 5, 6], 'batch_normalization', { axis: 0 }).join('\n')).toMatch(/batch/);
    expect(applyErrors([4, 5, 6], 'batch_normalization', { axis: 4 }).join('\n')).toMatch(/out of range/);
  });
});

describe('layer_normalization', () => {
  covers('layer_normalization');

  it('axis -1: gamma and beta over the last axis, all trainable', () => {
    const n = apply([10, 16], 'layer_normalization');
    expect(n.outputShape).toEqual([10, 16]);
    expect(weightShapes(n)).toEqual([['gamma', [16], true], ['beta', [16], true]]);
    expect(n.params).toEqual({ trainable: 32, nonTrainable: 0 });
  });

  it('another axis and several axes: the weights span the normalized axes', () => {
    expect(weightShapes(apply([4, 5, 6], 'layer_normalization', { axis: 1 }))).toEqual([['gamma', [4], true], ['beta', [4], true]]);
    const n = apply([4, 5, 6], 'layer_normalization', { axis: [1, 2, 3] });
    // Keras docstring: LayerNormalization(axis=[1, 2, 3]).build([5, 20, 30, 40]) -> beta.shape == (20, 30, 40)
    expect(weightShapes(n)).toEqual([['gamma', [4, 5, 6], true], ['beta', [4, 5, 6], true]]);
    expect(total(n)).toBe(240);
    expect(total(apply([10, 16], 'layer_normalization', { axis: [-2, -1] }))).toBe(320);
  });

  it('center / scale false drop beta / gamma', () => {
    expect(weightShapes(apply([10, 16], 'layer_normalization', { center: false }))).toEqual([['gamma', [16], true]]);
    expect(weightShapes(apply([10, 16], 'layer_normalization', { scale: false }))).toEqual([['beta', [16], true]]);
    expect(total(apply([10, 16], 'layer_normalization', { center: false, scale: false }))).toBe(0);
  });

  // Keras builds gamma/beta with `tuple(input_shape[dim] for dim in self.axis)`: axes in the order given
  // (keras/src/layers/normalization/layer_normalization.py, build).
  it('axes given out of order: weight shape follows the given order, as Keras does', () => {
    const n = apply([10, 16], 'layer_normalization', { axis: [-1, -2] });
    expect(weightShapes(n)).toEqual([['gamma', [16, 10], true], ['beta', [16, 10], true]]);
  });
});

describe('element-wise merges: add, multiply, average, maximum, minimum', () => {
  const ops = ['add', 'multiply', 'average', 'maximum', 'minimum'];
  covers(...ops);

  it.each(ops)('%s: equal shapes, no weights', (op) => {
    const n = merge(op, [[4, 4, 8], [4, 4, 8]]);
    expect(n.outputShape).toEqual([4, 4, 8]);
    expect(total(n)).toBe(0);
    expect(n.macs).toBe(0);
  });

  it.each(ops)('%s: size-1 dimensions broadcast', (op) => {
    expect(merge(op, [[4, 1, 8], [1, 4, 8]]).outputShape).toEqual([4, 4, 8]);
    expect(merge(op, [[4, 4, 1], [4, 4, 8]]).outputShape).toEqual([4, 4, 8]);
    expect(merge(op, [[1, 1, 8], [4, 4, 8], [4, 1, 1]]).outputShape).toEqual([4, 4, 8]);
  });

  it.each(ops)('%s: three inputs', (op) => {
    expect(merge(op, [[6], [6], [6]]).outputShape).toEqual([6]);
  });

  it.each(ops)('%s: incompatible shapes are an MS5001 error naming both', (op) => {
    expect(mergeErrors(op, [[4, 4, 8], [4, 4, 6]]).join('\n')).toMatch(/MS5001.*\(None, 4, 4, 8\).*\(None, 4, 4, 6\)/);
  });

  // Keras' Merge._compute_elemwise_op_output_shape right-aligns shapes of different ranks, and
  // Merge.call expands the lower-rank inputs at axis 1 (keras/src/layers/merging/base_merge.py):
  // Add()([(None, 4, 4, 8), (None, 8)]) has shape (None, 4, 4, 8).
  it('inputs of different ranks broadcast like Keras', () => {
    expect(merge('add', [[4, 4, 8], [8]]).outputShape).toEqual([4, 4, 8]);
  });

  // keras.layers.Add(axis=1) is a TypeError (Merge takes no axis); the design refuses unknown keys rather
  // than ignoring them.
  it('axis: on branches merged by add is an error, not silently ignored', () => {
    const r = compileLayers({ x: { shape: [8, 8, 4] } }, '  - branches:\n      - []\n      - - conv2d: {filters: 4, kernel_size: 3, padding: same}\n    merge: add\n    axis: 1\n');
    expect(r.ok).toBe(false);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['MS2009']);
  });
});

describe('concatenate', () => {
  covers('concatenate');

  it('axis -1 (default) adds the channels', () => {
    const n = merge('concatenate', [[4, 4, 8], [4, 4, 3]]);
    expect(n.outputShape).toEqual([4, 4, 11]);
    expect(total(n)).toBe(0);
    expect(merge('concatenate', [[4, 4, 8], [4, 4, 3], [4, 4, 1]], { axis: -1 }).outputShape).toEqual([4, 4, 12]);
  });

  it('other axes: 1 (height), 2 and -2 (width)', () => {
    expect(merge('concatenate', [[4, 4, 8], [2, 4, 8]], { axis: 1 }).outputShape).toEqual([6, 4, 8]);
    expect(merge('concatenate', [[4, 4, 8], [4, 5, 8]], { axis: 2 }).outputShape).toEqual([4, 9, 8]);
    expect(merge('concatenate', [[4, 4, 8], [4, 5, 8]], { axis: -2 }).outputShape).toEqual([4, 9, 8]);
    expect(merge('concatenate', [[3], [5]]).outputShape).toEqual([8]);
  });

  it('other axes must agree; axis 0 is the batch', () => {
    expect(mergeErrors('concatenate', [[4, 4, 8], [4, 5, 8]]).join('\n')).toMatch(/MS5001/);
    expect(mergeErrors('concatenate', [[4, 4, 8], [4, 4]]).join('\n')).toMatch(/MS5001/);
    expect(mergeErrors('concatenate', [[4, 4, 8], [4, 4, 8]], { axis: 0 }).join('\n')).toMatch(/batch/);
  });
});

describe('zero_padding2d', () => {
  covers('zero_padding2d');
  it('int, (rows, cols) and ((top, bottom), (left, right))', () => {
    const d = apply([5, 5, 3], 'zero_padding2d');
    expect(d.outputShape).toEqual([7, 7, 3]); // default padding 1
    expect(total(d)).toBe(0);
    expect(apply([5, 5, 3], 'zero_padding2d', { padding: 2 }).outputShape).toEqual([9, 9, 3]);
    expect(apply([5, 5, 3], 'zero_padding2d', { padding: [1, 2] }).outputShape).toEqual([7, 9, 3]);
    expect(apply([5, 5, 3], 'zero_padding2d', { padding: [[1, 0], [2, 3]] }).outputShape).toEqual([6, 10, 3]);
    expect(apply([5, 5, 3], 'zero_padding2d', { padding: 0 }).outputShape).toEqual([5, 5, 3]);
  });
});

describe('up_sampling2d', () => {
  covers('up_sampling2d');
  it('int and (rows, cols) sizes, both interpolations', () => {
    const d = apply([5, 5, 3], 'up_sampling2d');
    expect(d.outputShape).toEqual([10, 10, 3]); // default size 2
    expect(total(d)).toBe(0);
    expect(apply([5, 5, 3], 'up_sampling2d', { size: 3 }).outputShape).toEqual([15, 15, 3]);
    expect(apply([5, 5, 3], 'up_sampling2d', { size: [2, 3], interpolation: 'bilinear' }).outputShape).toEqual([10, 15, 3]);
  });
});

describe('embedding', () => {
  covers('embedding');
  it('(seq) int32 -> (seq, output_dim); embeddings (input_dim, output_dim)', () => {
    const n = apply([20], 'embedding', { input_dim: 1000, output_dim: 64 }, 'int32');
    expect(n.outputShape).toEqual([20, 64]);
    expect(weightShapes(n)).toEqual([['embeddings', [1000, 64], true]]);
    expect(n.params).toEqual({ trainable: 64000, nonTrainable: 0 });
  });
  it('rank-2 indices', () => {
    const n = apply([3, 5], 'embedding', { input_dim: 50, output_dim: 8 }, 'int32');
    expect(n.outputShape).toEqual([3, 5, 8]);
    expect(total(n)).toBe(400);
  });
});

describe('input', () => {
  covers('input');
  it('is declared under inputs: and has the declared shape, no weights', () => {
    const r = compileLayers({ tokens: { shape: [12], dtype: 'int32' } }, '  - flatten: {}\n');
    expectClean(r);
    const n = r.graph!.nodes.find((x) => x.id === 'tokens')!;
    expect(n.op).toBe('input');
    expect(n.outputShape).toEqual([12]);
    expect(n.attrs).toMatchObject({ shape: [12], dtype: 'int32' });
    expect(total(n)).toBe(0);
  });
});

describe('Keras defaults are filled in', () => {
  it.each([
    ['conv2d', [8, 8, 3], { filters: 2, kernel_size: 3 }, { strides: 1, padding: 'valid', dilation_rate: 1, groups: 1, activation: null, use_bias: true, kernel_initializer: 'glorot_uniform', bias_initializer: 'zeros' }],
    ['depthwise_conv2d', [8, 8, 3], { kernel_size: 3 }, { strides: 1, padding: 'valid', depth_multiplier: 1, use_bias: true, depthwise_initializer: 'glorot_uniform' }],
    ['separable_conv2d', [8, 8, 3], { filters: 2, kernel_size: 3 }, { strides: 1, padding: 'valid', depth_multiplier: 1, use_bias: true, pointwise_initializer: 'glorot_uniform' }],
    ['conv2d_transpose', [8, 8, 3], { filters: 2, kernel_size: 3 }, { strides: 1, padding: 'valid', output_padding: null, use_bias: true }],
    ['max_pooling2d', [8, 8, 3], {}, { pool_size: 2, strides: null, padding: 'valid' }],
    ['average_pooling2d', [8, 8, 3], {}, { pool_size: 2, strides: null, padding: 'valid' }],
    ['global_average_pooling2d', [8, 8, 3], {}, { keepdims: false }],
    ['global_max_pooling2d', [8, 8, 3], {}, { keepdims: false }],
    ['dense', [8], { units: 2 }, { activation: null, use_bias: true, kernel_initializer: 'glorot_uniform', bias_initializer: 'zeros' }],
    ['batch_normalization', [8], {}, { axis: -1, momentum: 0.99, epsilon: 0.001, center: true, scale: true }],
    ['layer_normalization', [8], {}, { axis: -1, epsilon: 0.001, center: true, scale: true }],
    ['concatenate', null, {}, { axis: -1 }],
    ['zero_padding2d', [8, 8, 3], {}, { padding: 1 }],
    ['up_sampling2d', [8, 8, 3], {}, { size: 2, interpolation: 'nearest' }],
    ['embedding', [8], { input_dim: 10, output_dim: 2 }, { mask_zero: false }],
    ['dropout', [8], { rate: 0.1 }, { seed: null }],
  ] as const)('%s', (op, shape, attrs, defaults) => {
    const n = shape === null ? merge(op, [[2], [3]], attrs) : apply([...shape], op, attrs, op === 'embedding' ? 'int32' : undefined);
    expect(n.attrs).toMatchObject(defaults);
  });
});

describe('ops beyond tfjs: static rules (forward passes: test/beyond-tfjs.test.ts)', () => {
  covers('multi_head_attention', 'position_embedding', 'subtract', 'cropping1d',
    'global_average_pooling1d', 'global_max_pooling1d', 'global_average_pooling3d', 'global_max_pooling3d');

  it('multi_head_attention: shapes, Keras weights and MACs', () => {
    const n = merge('multi_head_attention', [[10, 16], [12, 16]], { num_heads: 4, key_dim: 8 });
    expect(n.outputShape).toEqual([10, 16]);
    expect(weightShapes(n)).toEqual([
      ['query/kernel', [16, 4, 8], true], ['query/bias', [4, 8], true],
      ['key/kernel', [16, 4, 8], true], ['key/bias', [4, 8], true],
      ['value/kernel', [16, 4, 8], true], ['value/bias', [4, 8], true],
      ['attention_output/kernel', [4, 8, 16], true], ['attention_output/bias', [16], true],
    ]);
    // Keras: 3 * (16*32 + 32) + (32*16 + 16)
    expect(total(n)).toBe(3 * 544 + 528);
    // projections 10*16*32 + 2 * 12*16*32, scores and weighted sum 4*10*12*(8+8), output 10*32*16
    expect(n.macs).toBe(10 * 16 * 32 + 2 * 12 * 16 * 32 + 4 * 10 * 12 * 16 + 10 * 32 * 16);
    const nb = merge('multi_head_attention', [[10, 16], [12, 6]], { num_heads: 2, key_dim: 3, use_bias: false, output_shape: 5 });
    expect(nb.outputShape).toEqual([10, 5]);
    expect(total(nb)).toBe(16 * 6 + 6 * 6 + 6 * 6 + 6 * 5);
    expect(mergeErrors('multi_head_attention', [[10, 16], [12, 16], [11, 16]], { num_heads: 1, key_dim: 2 }).join('\n')).toMatch(/one length/);
    // A fourth input is the attention mask, (query length, key length); a fifth is one too many.
    expect(merge('multi_head_attention', [[10, 16], [12, 16], [12, 16], [10, 12]], { num_heads: 1, key_dim: 2 }).outputShape).toEqual([10, 16]);
    expect(mergeErrors('multi_head_attention', [[10, 16], [12, 16], [12, 16], [12, 16]], { num_heads: 1, key_dim: 2 }).join('\n')).toMatch(/attention_mask \(input 4\) must be \(batch, query length, key length\) = \(None, 10, 12\), got \(None, 12, 16\)/);
    expect(mergeErrors('multi_head_attention', [[10, 16], [12, 16], [12, 16], [10, 12], [10, 12]], { num_heads: 1, key_dim: 2 }).join('\n')).toMatch(/2 to 4 inputs/);
    expect(mergeErrors('multi_head_attention', [[4, 4, 16], [12, 16]], { num_heads: 1, key_dim: 2 }).join('\n')).toMatch(/\(batch, length, features\) query/);
  });

  it('position_embedding: a [sequence_length, features] table, output shaped as the input', () => {
    const n = apply([10, 16], 'position_embedding', { sequence_length: 12 });
    expect(n.outputShape).toEqual([10, 16]);
    expect(weightShapes(n)).toEqual([['embeddings', [12, 16], true]]);
    expect(applyErrors([10, 16], 'position_embedding', { sequence_length: 8 }).join('\n')).toMatch(/shorter than the input's length 10/);
  });

  it('subtract: exactly two inputs', () => {
    expect(merge('subtract', [[3, 4], [3, 4]]).outputShape).toEqual([3, 4]);
    expect(mergeErrors('subtract', [[3], [3], [3]]).join('\n')).toMatch(/exactly two inputs, got 3/);
    expect(mergeErrors('subtract', [[3], [4]]).join('\n')).toMatch(/same shape/);
  });

  it('cropping1d: (length, features) -> (length - start - end, features)', () => {
    expect(apply([10, 3], 'cropping1d').outputShape).toEqual([8, 3]);
    expect(apply([10, 3], 'cropping1d', { cropping: [2, 5] }).outputShape).toEqual([3, 3]);
    expect(apply([10, 3], 'cropping1d', { cropping: 4 }).outputShape).toEqual([2, 3]);
    expect(applyErrors([10, 3], 'cropping1d', { cropping: 5 }).join('\n')).toMatch(/leaves nothing/);
    expect(applyErrors([10, 3, 3], 'cropping1d').join('\n')).toMatch(/MS5002/);
  });

  it.each([
    ['global_average_pooling1d', [7, 32], [1, 32]],
    ['global_max_pooling1d', [7, 32], [1, 32]],
    ['global_average_pooling3d', [4, 7, 5, 32], [1, 1, 1, 32]],
    ['global_max_pooling3d', [4, 7, 5, 32], [1, 1, 1, 32]],
  ])('%s: keepdims', (op, shape, kept) => {
    const n = apply(shape, op);
    expect(n.outputShape).toEqual([32]);
    expect(total(n)).toBe(0);
    expect(apply(shape, op, { keepdims: true }).outputShape).toEqual(kept);
    expect(applyErrors([32], op).join('\n')).toMatch(/MS5002/);
  });
});

// =============================================================================================
// issue #14: the rest of tfjs-layers 4.22 (each also goes through every stage in
// test/tfjs-layers-ops.test.ts). Keras: keras/src/layers/convolutional/base_conv.py (3D as 2D),
// base_conv_transpose.py, pooling/base_pooling.py, activations/prelu.py (alpha of the input shape
// with shared axes 1), reshaping/cropping2d.py, permute.py, merging/dot.py.

describe('tfjs-layers 4.22 ops added for issue #14', () => {
  covers('conv3d', 'conv3d_transpose', 'max_pooling3d', 'average_pooling3d', 're_lu', 'leaky_re_lu', 'prelu', 'elu', 'thresholded_re_lu',
    'softmax', 'gaussian_noise', 'gaussian_dropout', 'alpha_dropout', 'spatial_dropout1d', 'spatial_dropout2d', 'spatial_dropout3d', 'rescaling', 'resizing', 'center_crop',
    'category_encoding', 'random_width', 'random_height', 'cropping2d', 'permute', 'dot');

  it('conv3d: (8, 10, 12, 3), 5 filters 3x3x3, same, strides 2 -> (4, 5, 6, 5); 3*3*3*3*5+5 = 410 params; MACs 4*5*6*5 * 27*3', () => {
    const n = apply([8, 10, 12, 3], 'conv3d', { filters: 5, kernel_size: 3, padding: 'same', strides: 2 });
    expect(n.outputShape).toEqual([4, 5, 6, 5]);
    expect(n.weights.map((w) => [w.name, w.shape])).toEqual([['kernel', [3, 3, 3, 3, 5]], ['bias', [5]]]);
    expect(n.params.trainable).toBe(410);
    expect(n.macs).toBe(4 * 5 * 6 * 5 * 27 * 3);
    expect(applyErrors([2, 10, 12, 3], 'conv3d', { filters: 5, kernel_size: 3 })[0]).toContain('empty output');
    expect(applyErrors([10, 12, 3], 'conv3d', { filters: 5, kernel_size: 3 })[0]).toContain('(batch, depth, height, width, channels)');
  });

  it('conv3d_transpose: (2, 3, 4, 6), 2 filters 2x2x2 strides 2 valid -> (4, 6, 8, 2); kernel (2, 2, 2, 2, 6); MACs 2*3*4*6 * 8*2', () => {
    const n = apply([2, 3, 4, 6], 'conv3d_transpose', { filters: 2, kernel_size: 2, strides: 2 });
    expect(n.outputShape).toEqual([4, 6, 8, 2]);
    expect(n.weights.map((w) => [w.name, w.shape])).toEqual([['kernel', [2, 2, 2, 2, 6]], ['bias', [2]]]);
    expect(n.macs).toBe(2 * 3 * 4 * 6 * 8 * 2);
  });

  it('3D pooling: strides default to pool_size; same padding is ceil(n / s)', () => {
    expect(apply([5, 6, 7, 2], 'max_pooling3d').outputShape).toEqual([2, 3, 3, 2]);
    expect(apply([5, 6, 7, 2], 'average_pooling3d', { pool_size: 2, padding: 'same' }).outputShape).toEqual([3, 3, 4, 2]);
  });

  it('prelu: alpha has the input shape with shared axes set to 1', () => {
    expect(apply([4, 5, 3], 'prelu').weights.map((w) => w.shape)).toEqual([[4, 5, 3]]);
    expect(apply([4, 5, 3], 'prelu', { shared_axes: [1, 2] }).params.trainable).toBe(3);
    expect(applyErrors([4, 5, 3], 'prelu', { shared_axes: [4] })[0]).toContain('shared_axes');
  });

  it('shape-keeping ops keep the shape and have no weights', () => {
    const cases: [string, Attrs, number[]][] = [
      ['re_lu', {}, [3, 4]], ['leaky_re_lu', {}, [3]], ['elu', {}, [3]], ['thresholded_re_lu', {}, [3]], ['softmax', { axis: 1 }, [3, 4]],
      ['gaussian_noise', { stddev: 0.1 }, [3]], ['gaussian_dropout', { rate: 0.1 }, [3]], ['alpha_dropout', { rate: 0.1 }, [3]],
      ['spatial_dropout1d', { rate: 0.1 }, [5, 3]], ['rescaling', { scale: 2 }, [4, 4, 3]],
      ['spatial_dropout2d', { rate: 0.1 }, [4, 4, 3]], ['spatial_dropout3d', { rate: 0.1 }, [2, 4, 4, 3]],
    ];
    for (const [op, attrs, shape] of cases) {
      const n = apply(shape, op, attrs);
      expect(n.outputShape, op).toEqual(shape);
      expect(n.params.trainable + n.params.nonTrainable, op).toBe(0);
    }
    expect(applyErrors([3, 4], 'softmax', { axis: 3 })[0]).toContain('out of range');
    expect(applyErrors([3], 'spatial_dropout1d', { rate: 0.1 })[0]).toContain('(batch, steps, channels)');
    expect(applyErrors([5, 3], 'spatial_dropout2d', { rate: 0.1 })[0]).toContain('spatial_dropout2d needs a (batch, height, width, channels) input');
    expect(applyErrors([4, 4, 3], 'spatial_dropout3d', { rate: 0.1 })[0]).toContain('spatial_dropout3d needs a (batch, depth, height, width, channels) input');
  });

  it('resizing, center_crop, random_width/height, cropping2d, permute, category_encoding', () => {
    expect(apply([8, 9, 3], 'resizing', { height: 4, width: 5 }).outputShape).toEqual([4, 5, 3]);
    expect(apply([8, 9, 3], 'center_crop', { height: 4, width: 5 }).outputShape).toEqual([4, 5, 3]);
    expect(apply([8, 9, 3], 'random_width', { factor: 0.2 }).outputShape).toEqual([8, null, 3]);
    expect(apply([8, 9, 3], 'random_height', { factor: [0.1, 0.2] }).outputShape).toEqual([null, 9, 3]);
    expect(apply([8, 9, 3], 'cropping2d', { cropping: [2, 3] }).outputShape).toEqual([4, 3, 3]);
    expect(applyErrors([4, 9, 3], 'cropping2d', { cropping: 2 })[0]).toContain('leaves nothing');
    expect(apply([2, 3, 4], 'permute', { dims: [3, 1, 2] }).outputShape).toEqual([4, 2, 3]);
    expect(applyErrors([2, 3, 4], 'permute', { dims: [1, 2] })[0]).toContain('permutation');
    expect(apply([3], 'category_encoding', { num_tokens: 7 }, 'int32').outputShape).toEqual([7]);
    expect(apply([3], 'category_encoding', { num_tokens: 7, output_mode: 'one_hot' }, 'int32').outputShape).toEqual([3, 7]);
    expect(apply([1], 'category_encoding', { num_tokens: 7, output_mode: 'one_hot' }, 'int32').outputShape).toEqual([7]);
  });

  it('dot: the axes are reduced, the other axes of both kept; a size mismatch is refused', () => {
    expect(merge('dot', [[3, 4], [5, 4]], { axes: 2 }).outputShape).toEqual([3, 5]);
    expect(merge('dot', [[4], [4]], { axes: 1 }).outputShape).toEqual([1]);
    expect(merge('dot', [[3, 4], [4, 5]], { axes: [2, 1] }).outputShape).toEqual([3, 5]);
    expect(mergeErrors('dot', [[3, 4], [5, 6]], { axes: 2 })[0]).toContain('differs');
  });
});

describe('coverage', () => {
  it('every built-in op has tests above', () => {
    // The sequence ops (1-D, recurrent, wrappers) have their own file: a spec there of each op.
    const sequenceTests = readFileSync(new URL('./sequence-ops.test.ts', import.meta.url), 'utf8');
    const missing = builtinRegistry().names().filter((n) => !TESTED.has(n) && !sequenceTests.includes(`'${n}: `));
    expect(missing).toEqual([]);
  });
});
