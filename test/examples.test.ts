/**
 * The example specs in specs/examples/ (not the block libraries in specs/examples/blocks/):
 * each compiles with no error and no warning, with the parameter totals worked out by hand
 * below the Keras way (Conv2D kh*kw*cin*f + f, BatchNormalization 4c of which 2c
 * non-trainable, shared layers counted once), and the output shapes (batch excluded).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileFile } from '../src/index.js';
import type { CompileResult, TypedNode } from '../src/index.js';

const DIR = fileURLToPath(new URL('../specs/examples/', import.meta.url));

interface Expectation {
  total: number;
  trainable: number;
  nonTrainable: number;
  /** Output shapes (batch excluded), in the order of the spec's outputs. */
  outputs: (number | null)[][];
}

function compile(file: string, set?: Record<string, unknown>): CompileResult {
  return compileFile(join(DIR, file), set ? { set } : {});
}

function expectModel(r: CompileResult, want: Expectation): void {
  // Zero errors and zero warnings.
  expect(r.diagnostics.map((d) => `${d.severity} ${d.code} ${d.message}`)).toEqual([]);
  expect(r.ok).toBe(true);
  const g = r.graph!;
  expect({ total: g.totals.total, trainable: g.totals.trainable, nonTrainable: g.totals.nonTrainable }).toEqual({
    total: want.total,
    trainable: want.trainable,
    nonTrainable: want.nonTrainable,
  });
  expect(want.total).toBe(want.trainable + want.nonTrainable);
  const shapes = g.outputs.map((id) => [...g.nodes.find((n) => n.id === id)!.outputShape]);
  expect(shapes).toEqual(want.outputs);
}

const node = (r: CompileResult, id: string): TypedNode => {
  const n = r.graph!.nodes.find((x) => x.id === id);
  expect(n, `node ${id}`).toBeDefined();
  return n!;
};

/*
 * mobilenet-mini.yaml, defaults (input 32x32x3, alpha 1, one inverted residual block per stage,
 * expansion 4, avg pooling, 10 classes). conv_bn = Conv2D(no bias) + BN; BN(c) = 4c (2c non-trainable).
 *
 *   stem conv_bn 3x3/2, 16:        conv 3*3*3*16 = 432, BN(16) 64                  -> 16x16x16     496
 *   width 32: dw_separable /2:     dw 3*3*16 = 144, BN(16) 64,
 *                                  conv 1x1 16*32 = 512, BN(32) 128               -> 8x8x32       848
 *             inverted_residual:   1x1 32*128 = 4096, BN(128) 512, dw 3*3*128 = 1152, BN(128) 512,
 *                                  1x1 128*32 = 4096, BN(32) 128, add             -> 8x8x32     10496
 *   width 64: dw_separable /2:     dw 3*3*32 = 288, BN(32) 128,
 *                                  conv 1x1 32*64 = 2048, BN(64) 256              -> 4x4x64      2720
 *             inverted_residual:   1x1 64*256 = 16384, BN(256) 1024, dw 3*3*256 = 2304, BN(256) 1024,
 *                                  1x1 256*64 = 16384, BN(64) 256                 -> 4x4x64     37376
 *   head separable_conv2d 128:     dw 3*3*64 = 576, pw 64*128 = 8192, bias 128    -> 4x4x128     8896
 *   global avg pool -> 128, dropout, dense 128*10 + 10                             -> 10          1290
 *                                                                                        total 62122
 *   non-trainable (half of every BN): (64+64+128+512+512+128+128+256+1024+1024+256) / 2 = 2048
 */
const mobilenet: Expectation = { total: 62122, trainable: 60074, nonTrainable: 2048, outputs: [[10]] };

/*
 * siamese.yaml, defaults (28x28x1 images, 8 filters, embedding 16).
 *   conv 3x3, 8 (shared):   3*3*1*8 + 8 = 80            -> 26x26x8, pool -> 13x13x8, flatten -> 1352
 *   dense 16 (shared):      1352*16 + 16 = 21648        -> 16
 *   right tower:            share: conv, share: embed_left -> 0 new weights
 *   concatenate 16 + 16 -> 32; dense 1: 32 + 1 = 33
 *   total 80 + 21648 + 33 = 21761 (without sharing it would be 43489)
 */
const siamese: Expectation = { total: 21761, trainable: 21761, nonTrainable: 0, outputs: [[1]] };

/*
 * text-classifier.yaml, defaults (vocab 1000, 40 tokens, embedding 16, 8 filters, hidden 32, 2 dense, 5 topics).
 *   embedding 1000*16 = 16000 -> 40x16; layer_normalization gamma+beta 2*16 = 32; reshape -> 40x16x1
 *   branch 0: conv [3, 16], 8: 3*16*1*8 + 8 = 392 -> 38x1x8, global max pool -> 8
 *   branch 1: conv [5, 16], 8: 5*16*1*8 + 8 = 648 -> 36x1x8, global max pool -> 8
 *   branch 2 (from: emb): flatten 640, dense 8: 640*8 + 8 = 5128
 *   concatenate -> 24; dropout; dense 32: 24*32 + 32 = 800; dense 16: 32*16 + 16 = 528
 *   topic: 16*5 + 5 = 85 -> 5; sentiment: 16 + 1 = 17 -> 1
 *   total 16000 + 32 + 392 + 648 + 5128 + 800 + 528 + 85 + 17 = 23630
 */
const textClassifier: Expectation = { total: 23630, trainable: 23630, nonTrainable: 0, outputs: [[5], [1]] };

/*
 * unet-mini.yaml, defaults (30x30x1, 8 filters, 2 convs per level, 3 classes). double_conv is two
 * resnet_layers: Conv2D 3x3 same with bias + BN + relu.
 *   enc1 (8):       1*72+8 = 80, BN 32, 8*72+8 = 584, BN 32                         -> 30x30x8      728
 *   pool -> 15x15x8
 *   enc2 (16):      8*9*16+16 = 1168, BN 64, 16*9*16+16 = 2320, BN 64               -> 15x15x16    3616
 *   pool -> 7x7x16
 *   bottleneck(32): 16*9*32+32 = 4640, BN 128, 32*9*32+32 = 9248, BN 128            -> 7x7x32     14144
 *   up_merge 16, transpose, pad 1: conv2d_transpose 2x2/2: 2*2*16*32+16 = 2064 -> 14x14x16,
 *                   zero_padding2d [[1,0],[1,0]] -> 15x15x16, concatenate enc2 -> 15x15x32       2064
 *   dec2 (16):      32*9*16+16 = 4624, BN 64, 2320, BN 64                           -> 15x15x16    7072
 *   up_merge 8, upsample: up_sampling2d -> 30x30x16, conv 2x2 same: 2*2*16*8+8 = 520,
 *                   concatenate enc1 -> 30x30x16                                                  520
 *   dec1 (8):       16*9*8+8 = 1160, BN 32, 584, BN 32                              -> 30x30x8     1808
 *   mask: conv 1x1, 3: 8*3+3 = 27                                                   -> 30x30x3       27
 *   presence: global avg pool of the bottleneck -> 32, dense 3: 32*3+3 = 99         -> 3             99
 *   total 30078; non-trainable (half of each BN) 16+16+32+32+64+64+32+32+16+16 = 320
 */
const unet: Expectation = { total: 30078, trainable: 29758, nonTrainable: 320, outputs: [[30, 30, 3], [3]] };

const EXPECTED: Record<string, Expectation> = {
  'mobilenet-mini.yaml': mobilenet,
  'siamese.yaml': siamese,
  'text-classifier.yaml': textClassifier,
  'unet-mini.yaml': unet,
};

const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

describe('specs/examples', () => {
  it('has an expectation for every example (and every expectation has a file)', () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(`${file} compiles cleanly with the hand-computed totals and output shapes`, () => {
      const want = EXPECTED[file];
      expect(want, `add the expected totals of ${file} to test/examples.test.ts`).toBeDefined();
      expectModel(compile(file), want!);
    });
  }
});

describe('mobilenet-mini.yaml', () => {
  it('uses the library blocks and the for / repeat structure', () => {
    const r = compile('mobilenet-mini.yaml');
    expect(node(r, 'stem/conv2d').outputShape).toEqual([16, 16, 16]);
    expect(node(r, 'width32/dw_separable/depthwise_conv2d').outputShape).toEqual([8, 8, 16]);
    expect(node(r, 'width64/block0/inverted_residual/add').outputShape).toEqual([4, 4, 64]);
    // The identity branch feeds the add directly.
    expect(node(r, 'width64/block0/inverted_residual/add').inputs[0]).toBe('width64/dw_separable/conv_bn/activation');
  });

  /*
   * alpha 0.5, 2 blocks per stage, max pooling, no top:
   *   stem 8: 3*3*3*8 = 216, BN 32                                                        248
   *   width 16: dw_separable: dw 72, BN(8) 32, 1x1 8*16 = 128, BN(16) 64                   296
   *             2 x inverted_residual (hidden 64): 1024 + 256 + 576 + 256 + 1024 + 64 = 3200 -> 6400
   *   width 32: dw_separable: dw 144, BN(16) 64, 1x1 16*32 = 512, BN(32) 128              848
   *             2 x inverted_residual (hidden 128): 10496 -> 20992
   *   head separable 64 on 32 channels: 288 + 2048 + 64                                   2400
   *   global max pool -> 64 (no dropout, no classifier)
   *   total 248 + 296 + 6400 + 848 + 20992 + 2400 = 31184
   *   non-trainable: (32 + 32 + 64 + 2*(256+256+64) + 64 + 128 + 2*(512+512+128)) / 2 = 1888
   */
  it('--set alpha=0.5 blocks_per_stage=2 pooling=max include_top=false', () => {
    const r = compile('mobilenet-mini.yaml', { alpha: 0.5, blocks_per_stage: 2, pooling: 'max', include_top: false });
    expectModel(r, { total: 31184, trainable: 29296, nonTrainable: 1888, outputs: [[64]] });
    expect(r.graph!.nodes.some((n) => n.op === 'global_average_pooling2d' || n.op === 'dense' || n.op === 'dropout')).toBe(false);
  });

  it('blocks_per_stage=0 drops the repeat; classifier_activation=null gives logits', () => {
    // 62122 - 10496 - 37376 = 14250; non-trainable: BN(16) stem, BN(16) + BN(32), BN(32) + BN(64): 2 * (16+16+32+32+64) = 320
    const r = compile('mobilenet-mini.yaml', { blocks_per_stage: 0, classifier_activation: null });
    expectModel(r, { total: 14250, trainable: 13930, nonTrainable: 320, outputs: [[10]] });
    expect(node(r, 'dense').attrs.activation).toBe(null);
  });

  it('the assert on the input size and the enum values are checked', () => {
    const bad = compile('mobilenet-mini.yaml', { input_shape: [30, 30, 3] });
    expect(bad.diagnostics.map((d) => d.code)).toEqual(['MS4006']);
    expect(bad.diagnostics[0]!.message).toMatch(/multiples of 8/);
    const enumBad = compile('mobilenet-mini.yaml', { pooling: 'mean' });
    expect(enumBad.diagnostics.map((d) => d.code)).toEqual(['MS4005']);
  });
});

describe('siamese.yaml', () => {
  it('the right tower shares the weights of the left one', () => {
    const r = compile('siamese.yaml');
    const conv = node(r, 'conv');
    const conv2 = r.graph!.nodes.find((n) => n.sharedWith === 'conv')!;
    expect(conv2.inputs).toEqual(['right']);
    expect(conv2.outputShape).toEqual(conv.outputShape);
    expect(conv2.params).toEqual({ trainable: 0, nonTrainable: 0 });
    const right = node(r, 'embed_right');
    expect(right.sharedWith).toBe('embed_left');
    expect(right.params).toEqual({ trainable: 0, nonTrainable: 0 });
    expect(node(r, 'concatenate').inputs).toEqual(['embed_left', 'embed_right']);
    // Each application still costs its MACs: 2 * (26*26*8*9) + 2 * (1352*16) + 32.
    expect(r.graph!.totals.macs).toBe(2 * 48672 + 2 * 21632 + 32);
  });
});

describe('text-classifier.yaml', () => {
  it('three branches (one from the embedding) and the halving dense stack', () => {
    const r = compile('text-classifier.yaml');
    expect(node(r, 'branch2/flatten').inputs).toEqual(['emb']);
    expect(node(r, 'concatenate').outputShape).toEqual([24]);
    expect(node(r, 'layer1/dense').outputShape).toEqual([16]);
    expect(node(r, 'sentiment').inputs).toEqual(['layer1/dense']);
  });

  /*
   * num_dense 3: dense 32 (800), 16 (528), 8: 16*8 + 8 = 136; topic 8*5 + 5 = 45; sentiment 8 + 1 = 9
   *   total 16000 + 32 + 392 + 648 + 5128 + 800 + 528 + 136 + 45 + 9 = 23718
   */
  it('--set num_dense=3', () => {
    expectModel(compile('text-classifier.yaml', { num_dense: 3 }), { total: 23718, trainable: 23718, nonTrainable: 0, outputs: [[5], [1]] });
  });

  it('the assert on the sequence length', () => {
    const r = compile('text-classifier.yaml', { seq_len: 4 });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['MS4006']);
  });
});

describe('unet-mini.yaml', () => {
  it('the skip connections line up: 14 -> 15 by zero padding, concatenations on the channels', () => {
    const r = compile('unet-mini.yaml');
    expect(node(r, 'up_merge/conv2d_transpose').outputShape).toEqual([14, 14, 16]);
    expect(node(r, 'up_merge/zero_padding2d').outputShape).toEqual([15, 15, 16]);
    expect(node(r, 'up_merge/concatenate').inputs).toEqual(['up_merge/zero_padding2d', 'enc2/i1/resnet_layer/activation']);
    expect(node(r, 'up_merge/concatenate').outputShape).toEqual([15, 15, 32]);
    expect(node(r, 'up_merge_1/concatenate').outputShape).toEqual([30, 30, 16]);
    expect(node(r, 'global_average_pooling2d').inputs).toEqual(['bottleneck/i1/resnet_layer/activation']);
  });

  it('--set input_shape=[28,28,1]: no padding needed, same weights', () => {
    const r = compile('unet-mini.yaml', { input_shape: [28, 28, 1] });
    expectModel(r, { total: 30078, trainable: 29758, nonTrainable: 320, outputs: [[28, 28, 3], [3]] });
    expect(r.graph!.nodes.some((n) => n.op === 'zero_padding2d')).toBe(false);
  });

  /*
   * convs 3 adds one 3x3 conv (same channels) + BN per level: enc1 584+32, enc2 2320+64,
   * bottleneck 9248+128, dec2 2320+64, dec1 584+32 = 616 + 2384 + 9376 + 2384 + 616 = 15376;
   * total 30078 + 15376 = 45454,
   * non-trainable 320 + (16+32+64+32+16) = 480
   */
  it('--set convs=3', () => {
    expectModel(compile('unet-mini.yaml', { convs: 3 }), { total: 45454, trainable: 44974, nonTrainable: 480, outputs: [[30, 30, 3], [3]] });
  });
});
