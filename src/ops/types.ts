/**
 * The op registry's contract. Each op is defined once, with its attribute
 * schema (Keras names and defaults), shape rule, weights and MACs; the JSON
 * Schema, validation, inference, the summary and the back ends all read it.
 */
import type { Shape } from '../types/shape.js';
import type { WeightSpec } from '../types/ir.js';

/** A JSON Schema fragment (draft 2020-12 subset that ajv and editors understand). */
export type JsonSchema = { [k: string]: unknown };

export interface AttrDef {
  /** Schema of a literal value of this attribute. */
  schema: JsonSchema;
  /** Keras' default; absent for required attributes. */
  default?: unknown;
  required?: boolean;
  doc: string;
}

export type Arity = 'none' | 'one' | 'merge';

export type Attrs = Readonly<Record<string, unknown>>;

export interface OpDef {
  /** snake_case name used in specs, e.g. `conv2d`. */
  name: string;
  /** The Keras (and tfjs-layers) class, e.g. `Conv2D`. */
  kerasClass: string;
  doc: string;
  category: 'input' | 'convolution' | 'pooling' | 'core' | 'normalization' | 'merge' | 'reshaping' | 'regularization' | 'activation' | 'custom';
  attrs: Readonly<Record<string, AttrDef>>;
  /** `none`: input layers; `one`: exactly one input; `merge`: two or more. */
  arity: Arity;
  /** Output shape (batch excluded); throw `ShapeError` when the input cannot be taken. */
  outputShape(inputs: readonly Shape[], attrs: Attrs): Shape;
  /** Weight variables the layer creates, in Keras order; default none. */
  weights?(inputs: readonly Shape[], attrs: Attrs): WeightSpec[];
  /** Multiply-accumulates per example; default 0. */
  macs?(inputs: readonly Shape[], output: Shape, attrs: Attrs): number;
  /**
   * Attributes (already complete, each in its normal form: ./normal.ts) -> the same layer
   * written one way, where one attribute's value depends on another (pooling's
   * `strides: null` is `pool_size`). Return the input when nothing changes.
   */
  normalize?(attrs: Attrs): Attrs;
  /** How TensorFlow.js builds it: the `tf.layers` factory; attributes map by camelCase. */
  tfjs?: TfjsMapping;
}

export interface TfjsMapping {
  /** The `tf.layers.<factory>()` that builds the layer, e.g. `conv2d`. */
  factory: string;
  /** Attributes tfjs lacks: the only value it can build (the Keras default). */
  unsupported?: Readonly<Record<string, unknown>>;
  /** "int or pair" attributes that tfjs only takes as a pair (`[2, 2]`, not `2`). */
  pairs?: readonly string[];
}

/** Thrown by shape rules; turned into a diagnostic at the node's source span. */
export class ShapeError extends Error {
  constructor(message: string, readonly kind: 'mismatch' | 'invalid' = 'invalid', readonly attr?: string) {
    super(message);
  }
}
