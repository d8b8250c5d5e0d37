/** Attribute-definition helpers shared by the op families. */
import type { AttrDef, JsonSchema } from './types.js';

export const ACTIVATIONS = [
  'linear', 'relu', 'relu6', 'elu', 'selu', 'sigmoid', 'hard_sigmoid', 'softmax', 'softplus', 'softsign', 'tanh', 'swish', 'mish', 'gelu',
] as const;

export const INITIALIZERS = [
  'glorot_uniform', 'glorot_normal', 'he_normal', 'he_uniform', 'lecun_normal', 'lecun_uniform',
  'zeros', 'ones', 'random_normal', 'random_uniform', 'truncated_normal', 'orthogonal', 'identity', 'variance_scaling',
] as const;

type Opt = { default?: unknown; required?: boolean; doc: string };

function def(schema: JsonSchema, o: Opt): AttrDef {
  const a: AttrDef = { schema, doc: o.doc };
  if (o.required) a.required = true;
  if ('default' in o) a.default = o.default;
  return a;
}

export const attr = {
  int: (o: Opt & { min?: number; max?: number }) =>
    def({ type: 'integer', ...(o.min !== undefined ? { minimum: o.min } : {}), ...(o.max !== undefined ? { maximum: o.max } : {}) }, o),
  float: (o: Opt & { min?: number; max?: number; exclusiveMax?: number; exclusiveMin?: number }) =>
    def({
      type: 'number',
      ...(o.min !== undefined ? { minimum: o.min } : {}),
      ...(o.max !== undefined ? { maximum: o.max } : {}),
      ...(o.exclusiveMin !== undefined ? { exclusiveMinimum: o.exclusiveMin } : {}),
      ...(o.exclusiveMax !== undefined ? { exclusiveMaximum: o.exclusiveMax } : {}),
    }, o),
  bool: (o: Opt) => def({ type: 'boolean' }, o),
  enum: (values: readonly string[], o: Opt) => def({ enum: [...values] }, o),
  /** An int, or a pair of ints (height, width), as Keras' `kernel_size`, `strides`, ... */
  intOrPair: (o: Opt & { min: number }) =>
    def({
      anyOf: [
        { type: 'integer', minimum: o.min },
        { type: 'array', items: { type: 'integer', minimum: o.min }, minItems: 2, maxItems: 2 },
      ],
    }, o),
  /** An int, or a triple of ints (depth, height, width), as Keras' 3D `kernel_size`, `strides`, ... */
  intOrTriple: (o: Opt & { min: number }) =>
    def({
      anyOf: [
        { type: 'integer', minimum: o.min },
        { type: 'array', items: { type: 'integer', minimum: o.min }, minItems: 3, maxItems: 3 },
      ],
    }, o),
  activation: (o: Opt) => def({ anyOf: [{ enum: [...ACTIVATIONS] }, { type: 'null' }] }, o),
  initializer: (o: Opt) => def({ enum: [...INITIALIZERS] }, o),
  regularizer: (o: Opt) =>
    def({
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { l1: { type: 'number', minimum: 0 }, l2: { type: 'number', minimum: 0 } },
          additionalProperties: false,
          minProperties: 1,
        },
      ],
    }, o),
  shape: (o: Opt & { allowMinusOne?: boolean; allowNull?: boolean }) => {
    const dim = { type: 'integer', minimum: o.allowMinusOne ? -1 : 1 };
    return def({ type: 'array', items: o.allowNull ? { anyOf: [dim, { type: 'null' }] } : dim, minItems: 1 }, o);
  },
  axis: (o: Opt) => def({ type: 'integer' }, o),
};

/** The attributes every convolution and dense layer shares. */
export function biasAttrs(): Record<string, AttrDef> {
  return {
    use_bias: attr.bool({ default: true, doc: 'Whether the layer has a bias vector.' }),
    bias_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of the bias vector.' }),
    bias_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the bias vector, e.g. `{l2: 1.0e-4}`.' }),
    activity_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the layer output.' }),
  };
}
