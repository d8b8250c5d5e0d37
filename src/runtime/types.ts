/** Types of generated options. */
import type { ACTIVATIONS } from '../ops/attrs.js';

/** An activation's Keras name (`relu`, `softmax`, ...): the values of a param of `type: activation`. */
export type Activation = (typeof ACTIVATIONS)[number];
