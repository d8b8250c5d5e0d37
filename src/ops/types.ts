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
  category: 'input' | 'convolution' | 'pooling' | 'core' | 'normalization' | 'merge' | 'reshaping' | 'regularization' | 'activation' | 'recurrent' | 'custom';
  attrs: Readonly<Record<string, AttrDef>>;
  /** `none`: input layers; `one`: exactly one input (plus the initial `states`, if any); `merge`: two or more. */
  arity: Arity;
  /**
   * Recurrent layers: the names of the states (`state_h`, `state_c`), each (units). With
   * `return_state: true` they are the node's outputs 1.. (referred to as `enc.state_h`); given as
   * further inputs (`from: [seq, h, c]`) they are the initial states (Keras' initial_state).
   */
  states?: readonly string[];
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
  /** How the PyTorch exporter writes it (`modelspec export --format pytorch`); absent: not exportable. */
  pytorch?: PytorchMapping;
}

export interface TfjsMapping {
  /** The `tf.layers.<factory>()` that builds the layer, e.g. `conv2d`. */
  factory: string;
  /**
   * A layer class the tfjs back end defines itself (src/backends/tfjs/custom-layers.ts) for what
   * tf.layers lacks, e.g. `MultiHeadAttention`: built with `new Class(config)` and registered for
   * serialization under that (Keras) class name. Used always, or with `customFor` only when an
   * attribute differs from the value given there (global pooling's `keepdims: true`).
   */
  custom?: string;
  /** Attributes the `factory` layer cannot take: their value there; any other value builds `custom`. */
  customFor?: Readonly<Record<string, unknown>>;
  /** Attributes tfjs lacks: the only value it can build (the Keras default). */
  unsupported?: Readonly<Record<string, unknown>>;
  /** "int or pair" attributes that tfjs only takes as a pair (`[2, 2]`, not `2`). */
  pairs?: readonly string[];
  /** Attributes that hold an inner layer (`{lstm: {units: 64}}`): built as that layer, passed as a tfjs Layer (wrappers). */
  nested?: readonly string[];
  /** Enum values tfjs spells otherwise, by attribute: Keras value -> tfjs value (`one_hot` -> `oneHot`). */
  values?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Thrown by shape rules; turned into a diagnostic at the node's source span. */
export class ShapeError extends Error {
  constructor(message: string, readonly kind: 'mismatch' | 'invalid' = 'invalid', readonly attr?: string) {
    super(message);
  }
}

/** What an op's PyTorch mapping is given: the node in Keras terms, and Python expressions of its inputs. */
export interface PytorchContext {
  attrs: Attrs;
  /** Keras shapes (batch excluded, channels last), all dims known. */
  inputShapes: readonly Shape[];
  outputShape: Shape;
  /** Python expressions of the inputs, in PyTorch's layout (an image (H, W, C) is held as (N, C, H, W)). */
  inputs: readonly string[];
  /** The node's module, e.g. `self.stem.conv2d`. */
  self: string;
  /** flatten: every consumer is a Dense whose rows are reordered, so flatten in PyTorch's (C, H, W) order. */
  flattenChannelsFirst?: boolean;
  /** dense: the input is a (C, H, W)-order flatten of this Keras (H, W, C) shape. */
  denseFromChw?: readonly [number, number, number];
  /**
   * The Python name of the first input's Keras mask ((batch, steps) bool: false at the steps an
   * `embedding` with mask_zero masks), when it carries one. An op without `mask` in its mapping refuses it.
   */
  mask?: string;
}

/**
 * How a Keras weight becomes a PyTorch parameter or buffer: `conv` HWIO -> OIHW (1-D: (K, I, O) -> (O, I, K)), `dense` (in, out)
 * -> (out, in), `flat_dense` as dense with the rows reordered from (H, W, C) to (C, H, W) order,
 * `depthwise` (H, W, C, M) -> (C*M, 1, H, W), `conv_transpose` (H, W, O, I) -> (I, O, H, W).
 */
export type PytorchLayout = 'same' | 'conv' | 'dense' | 'flat_dense' | 'depthwise' | 'conv_transpose';

export interface PytorchWeight {
  /** state_dict key relative to the node's module, e.g. `weight`, `pointwise.bias`. */
  key: string;
  layout: PytorchLayout;
  /**
   * The weight's name in a TensorFlow.js model folder (after the layer's name and a slash) where it
   * differs from Keras' `name`: `{layer}` stands for the layer's name. A Bidirectional's inner layer
   * is `<layer>-lstm` there (`forward_<layer>-lstm/kernel`), `lstm` in Keras (`forward_lstm/kernel`).
   */
  tfjsName?: string;
  /** For flat_dense: the Keras (H, W, C) shape that was flattened. */
  hwc?: readonly number[];
  /** Keras initializer name and the Keras shape it is drawn for (its fans). */
  initializer?: string;
  /**
   * Initializers of consecutive slices of the last axis, [initializer, size] each, instead of one
   * `initializer` (an LSTM's bias with unit_forget_bias: zeros, ones for the forget gate, zeros).
   */
  initParts?: readonly (readonly [string, number])[];
  /** Regularizer attribute value ({l1, l2}) of this weight, when set. */
  regularizer?: { l1?: number; l2?: number } | null;
}

/** How the PyTorch exporter writes the layer: modules to construct, the forward expression, the weights. */
export interface PytorchMapping {
  /** Modules the layer owns: key '' is the node's own module, other keys are children of it. */
  modules?(c: PytorchContext): Record<string, string>;
  /** The Python expression of the output, in PyTorch's layout. */
  forward(c: PytorchContext): string;
  /** Keras weight name (as in `weights()`) -> where it lives in PyTorch. */
  weights?(c: PytorchContext): Record<string, PytorchWeight>;
  /**
   * The Keras mask of the output (a Python expression, computed before the forward line, from the
   * inputs and `c.mask`), or null for none: Keras' compute_mask. Absent: the op takes no masked input.
   */
  mask?(c: PytorchContext): string | null;
  /** Python helpers the module text needs (the names of src/ops/pytorch-helpers.ts' definitions). */
  helpers?: readonly string[];
}

/** Thrown by a PyTorch mapping for attributes it cannot express exactly; the exporter adds the node it was writing. */
export class UnsupportedByPytorch extends Error {
  constructor(message: string, readonly nodeId?: string) {
    super(message);
  }
}

/** The names of a node's outputs after the first (`state_h`, `state_c`): its states when it returns them, else none. */
export function extraOutputs(def: Pick<OpDef, 'states'>, attrs: Attrs): readonly string[] {
  return def.states && attrs.return_state === true ? def.states : [];
}

/** How a reference to output `port` of a node of op `def` is written: `''` for the first, `.state_h` for the others. */
export function portSuffix(def: Pick<OpDef, 'states'> | undefined, port: number | undefined): string {
  return port ? `.${def?.states?.[port - 1] ?? port}` : '';
}
