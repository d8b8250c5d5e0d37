/** Noise and structured dropout: gaussian_noise, gaussian_dropout, alpha_dropout, spatial_dropout1d/2d/3d (all identity at inference). */
import { attr } from './attrs.js';
import { ShapeError, type AttrDef, type OpDef } from './types.js';
import { formatShape } from '../types/shape.js';

const seed = (): AttrDef => ({ schema: { anyOf: [{ type: 'null' }, { type: 'integer' }] }, default: null, doc: 'Random seed.' });
const rate = (what: string): AttrDef => attr.float({ min: 0, exclusiveMax: 1, required: true, doc: what });

function noise(name: string, kerasClass: string, factory: string, doc: string, attrs: Record<string, AttrDef>, seeded: boolean): OpDef {
  return {
    name,
    kerasClass,
    // tfjs' noise layers take no seed: only the default (none) can be built.
    tfjs: { factory, ...(seeded ? {} : { unsupported: { seed: null } }) },
    category: 'regularization',
    doc,
    arity: 'one',
    attrs: { ...attrs, seed: seed() },
    outputShape: (inputs) => inputs[0]!,
  };
}

export const gaussianNoise = noise('gaussian_noise', 'GaussianNoise', 'gaussianNoise',
  'Adds zero-centred Gaussian noise of standard deviation `stddev` at training time (Keras `GaussianNoise`).',
  { stddev: attr.float({ min: 0, required: true, doc: 'Standard deviation of the noise.' }) }, false);

export const gaussianDropout = noise('gaussian_dropout', 'GaussianDropout', 'gaussianDropout',
  'Multiplies inputs by 1-centred Gaussian noise of standard deviation `sqrt(rate / (1 - rate))` at training time (Keras `GaussianDropout`).',
  { rate: rate('Drop probability, in [0, 1), as for Dropout.') }, false);

export const alphaDropout = noise('alpha_dropout', 'AlphaDropout', 'alphaDropout',
  'Dropout that keeps the mean and variance of its inputs, for SELU networks (Keras `AlphaDropout`).',
  { rate: rate('Fraction of the inputs to drop, in [0, 1).') }, false);

export const spatialDropout1d: OpDef = {
  ...noise('spatial_dropout1d', 'SpatialDropout1D', 'spatialDropout1d',
    'Drops whole channels of a (steps, channels) sequence at training time (Keras `SpatialDropout1D`).',
    { rate: rate('Fraction of the channels to drop, in [0, 1).') }, true),
  outputShape(inputs) {
    const i = inputs[0]!;
    if (i.length !== 2) throw new ShapeError(`spatial_dropout1d needs a (batch, steps, channels) input, got shape ${formatShape(i)}`);
    return i;
  },
};

/**
 * SpatialDropout2D / 3D (Keras; TensorFlow.js has only the 1D one): Dropout with noise shape
 * (batch, 1, 1, channels) / (batch, 1, 1, 1, channels), channels last. Custom tfjs layers
 * (src/backends/tfjs/image-layers.ts).
 */
function spatialDropout(rank: 2 | 3): OpDef {
  const name = `spatial_dropout${rank}d`;
  const what = rank === 2 ? '(height, width, channels) images' : '(depth, height, width, channels) volumes';
  return {
    ...noise(name, `SpatialDropout${rank}D`, `SpatialDropout${rank}D`,
      `Drops whole channels of ${what} at training time (Keras \`SpatialDropout${rank}D\`, channels last).`,
      { rate: rate('Fraction of the channels to drop, in [0, 1).') }, true),
    tfjs: { factory: `SpatialDropout${rank}D`, custom: `SpatialDropout${rank}D` },
    outputShape(inputs) {
      const i = inputs[0]!;
      if (i.length !== rank + 1) throw new ShapeError(`${name} needs a (batch, ${rank === 2 ? 'height, width' : 'depth, height, width'}, channels) input, got shape ${formatShape(i)}`);
      return i;
    },
  };
}

export const spatialDropout2d = spatialDropout(2);
export const spatialDropout3d = spatialDropout(3);
