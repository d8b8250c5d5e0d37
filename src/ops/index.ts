/** The built-in ops, one family a file; `builtinRegistry()` is what `compile()` uses unless told otherwise. */
import { OpRegistry } from './registry.js';
import { conv2d, conv2dTranspose, depthwiseConv2d, separableConv2d } from './convolution.js';
import {
  averagePooling2d, globalAveragePooling1d, globalAveragePooling2d, globalAveragePooling3d,
  globalMaxPooling1d, globalMaxPooling2d, globalMaxPooling3d, maxPooling2d,
} from './pooling.js';
import { activation, dense, dropout, embedding, input } from './core.js';
import { batchNormalization, layerNormalization } from './normalization.js';
import { add, average, concatenate, dot, maximum, minimum, multiply, subtract } from './merge.js';
import { multiHeadAttention, positionEmbedding } from './attention.js';
import { cropping1d, cropping2d, flatten, permute, reshape, upSampling2d, zeroPadding2d } from './reshaping.js';
import { averagePooling1d, conv1d, masking, maxPooling1d, repeatVector, upSampling1d, zeroPadding1d } from './sequence.js';
import { convLstm2d, gru, lstm, simpleRnn } from './recurrent.js';
import { bidirectional, timeDistributed } from './wrappers.js';
import { conv3d, conv3dTranspose, maxPooling3d, averagePooling3d } from './volumetric.js';
import { elu, leakyReLU, prelu, reLU, softmax, thresholdedReLU } from './activations.js';
import { alphaDropout, gaussianDropout, gaussianNoise, spatialDropout1d, spatialDropout2d, spatialDropout3d } from './regularization.js';
import { categoryEncoding, centerCrop, randomHeight, randomWidth, rescaling, resizing } from './preprocessing.js';
import type { OpDef } from './types.js';

export const BUILTIN_OPS: readonly OpDef[] = [
  input,
  conv2d, depthwiseConv2d, separableConv2d, conv2dTranspose,
  maxPooling2d, averagePooling2d, globalAveragePooling2d, globalMaxPooling2d,
  dense, flatten, reshape, dropout, activation, embedding,
  batchNormalization, layerNormalization,
  add, concatenate, multiply, average, maximum, minimum,
  zeroPadding2d, upSampling2d,
  conv1d, maxPooling1d, averagePooling1d, upSampling1d, zeroPadding1d, masking, repeatVector,
  simpleRnn, lstm, gru, convLstm2d, bidirectional, timeDistributed,
  // beyond tfjs (custom layers, src/backends/tfjs/custom-layers.ts), and global pooling 1-D/3-D
  multiHeadAttention, positionEmbedding, subtract, cropping1d,
  globalAveragePooling1d, globalMaxPooling1d, globalAveragePooling3d, globalMaxPooling3d,
  // issue #14: the rest of tfjs-layers 4.22's registered classes
  conv3d, conv3dTranspose, maxPooling3d, averagePooling3d,
  reLU, leakyReLU, prelu, elu, thresholdedReLU, softmax,
  gaussianNoise, gaussianDropout, alphaDropout, spatialDropout1d, spatialDropout2d, spatialDropout3d,
  rescaling, resizing, centerCrop, categoryEncoding, randomWidth, randomHeight,
  cropping2d, permute, dot,
];

let shared: OpRegistry | undefined;

/** The registry of built-in ops (shared, do not mutate: `clone()` it to add ops). */
export function builtinRegistry(): OpRegistry {
  shared ??= new OpRegistry(BUILTIN_OPS, true);
  return shared;
}

export { OpRegistry } from './registry.js';
export type { OpDef, AttrDef, JsonSchema, Attrs, Arity } from './types.js';
export { ShapeError, extraOutputs, portSuffix } from './types.js';
export { attr, ACTIVATIONS, INITIALIZERS } from './attrs.js';
export { normalAttrs, normalValue } from './normal.js';
