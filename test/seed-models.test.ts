/** The seed models compile, from static inference alone, to Keras' layer and parameter counts. */
import { describe, expect, it } from 'vitest';
import { builtinRegistry } from '../src/index.js';
import { summaryJson } from '../src/report/summary.js';
import { compileSpec } from './helpers.js';

function summary(name: string, set: string[] = []) {
  const r = compileSpec(name, set);
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(r.ok).toBe(true);
  return summaryJson(r.graph!, builtinRegistry());
}

describe('seed models: Keras layer and parameter counts', () => {
  it('MNIST CNN: 9 layers, 80,266 params', () => {
    const s = summary('mnist-cnn.yaml');
    expect(s.layerCount).toBe(9);
    expect(s.params).toEqual({ total: 80_266, trainable: 80_266, nonTrainable: 0 });
    expect(s.layers.map((l) => [l.class, l.outputShape, l.params])).toEqual([
      ['InputLayer', [28, 28, 1], 0],
      ['Conv2D', [26, 26, 64], 640],
      ['MaxPooling2D', [13, 13, 64], 0],
      ['Conv2D', [11, 11, 64], 36_928],
      ['MaxPooling2D', [5, 5, 64], 0],
      ['Conv2D', [3, 3, 64], 36_928],
      ['Flatten', [576], 0],
      ['Dropout', [576], 0],
      ['Dense', [10], 5_770],
    ]);
    expect(s.macs).toBe(5_187_456);
  });

  it('Y-network: 24 layers, 208,394 params, left branch reads the left input', () => {
    const s = summary('y-network.yaml');
    expect(s.layerCount).toBe(24);
    expect(s.params).toEqual({ total: 208_394, trainable: 208_394, nonTrainable: 0 });
    const concat = s.layers.find((l) => l.class === 'Concatenate')!;
    expect(concat.outputShape).toEqual([3, 3, 256]);
    const firstConvs = s.layers.filter((l) => l.class === 'Conv2D').slice(0, 2);
    expect(firstConvs.map((l) => l.inputs)).toEqual([['left_input'], ['right_input']]);
  });

  it('ResNet20v1 (n=3): 72 layers, 274,442 total, 273,066 trainable', () => {
    const s = summary('resnet-v1.yaml');
    expect(s.layerCount).toBe(72);
    expect(s.params).toEqual({ total: 274_442, trainable: 273_066, nonTrainable: 1_376 });
    expect(s.layers.at(-1)!.outputShape).toEqual([10]);
    expect(s.macs).toBe(40_813_184);
  });

  it('ResNet56v2 (n=6): 190 layers, 1,673,738 total, 1,663,338 trainable', () => {
    const s = summary('resnet-v2.yaml');
    expect(s.layerCount).toBe(190);
    expect(s.params).toEqual({ total: 1_673_738, trainable: 1_663_338, nonTrainable: 10_400 });
  });

  // Independent closed-form counts of the seed's Keras code (conv k*k*cin*cout + bias, BN 4C).
  const conv = (k: number, cin: number, cout: number) => k * k * cin * cout + cout;
  const bn = (c: number) => 4 * c;
  function kerasV1(n: number, classes = 10): number {
    let p = conv(3, 3, 16) + bn(16), cin = 16;
    for (let s = 0; s < 3; s++) {
      const f = 16 * 2 ** s;
      for (let b = 0; b < n; b++) {
        p += conv(3, cin, f) + bn(f) + conv(3, f, f) + bn(f) + (s > 0 && b === 0 ? conv(1, cin, f) : 0);
        cin = f;
      }
    }
    return p + 64 * classes + classes;
  }
  function kerasV2(n: number, classes = 10): number {
    let p = conv(3, 3, 16) + bn(16), c = 16, fin = 16;
    for (let s = 0; s < 3; s++) {
      const fout = s === 0 ? fin * 4 : fin * 2;
      for (let b = 0; b < n; b++) {
        p += (s === 0 && b === 0 ? 0 : bn(c)) + conv(1, c, fin) + bn(fin) + conv(3, fin, fin) + bn(fin) + conv(1, fin, fout) + (b === 0 ? conv(1, c, fout) : 0);
        c = fout;
      }
      fin = fout;
    }
    return p + bn(256) + 256 * classes + classes;
  }

  it('the closed forms agree with the documented Keras counts', () => {
    expect([kerasV1(3), kerasV1(5), kerasV2(6)]).toEqual([274_442, 470_218, 1_673_738]);
  });

  // Keras layers: v1 has 21n + 9, v2 has 30n + 10.
  it.each([
    ['resnet-v1.yaml', 5], ['resnet-v1.yaml', 9], ['resnet-v1.yaml', 18],
    ['resnet-v2.yaml', 2], ['resnet-v2.yaml', 12], ['resnet-v2.yaml', 111],
  ] as const)('%s n=%i', (name, n) => {
    const s = summary(name, [`n=${n}`]);
    const v1 = name === 'resnet-v1.yaml';
    expect(s.layerCount).toBe(v1 ? 21 * n + 9 : 30 * n + 10);
    expect(s.params.total).toBe(v1 ? kerasV1(n) : kerasV2(n));
  });

  it('num_classes and input_shape change only what they should', () => {
    const base = summary('resnet-v1.yaml');
    const c100 = summary('resnet-v1.yaml', ['num_classes=100']);
    expect(c100.params.total - base.params.total).toBe(90 * 64 + 90); // Dense 64 -> 100 instead of 10
    const big = summary('resnet-v1.yaml', ['input_shape=[64,64,3]']);
    // 64x64 input: the 8x8 average pool leaves 2x2x64 = 256 features for the classifier.
    expect(big.layers.find((l) => l.class === 'Flatten')!.outputShape).toEqual([256]);
    expect(big.params.total - base.params.total).toBe((256 - 64) * 10);
    const v2 = summary('resnet-v2.yaml', ['num_classes=100', 'input_shape=[64,64,3]']);
    expect(v2.layers.at(-1)!.outputShape).toEqual([100]);
    expect(v2.layers.find((l) => l.class === 'Flatten')!.outputShape).toEqual([1024]);
  });
});
