/**
 * The JSON Schema of spec files, generated from the op registry. It is
 * committed at `schema/modelspec.schema.json` for editors (yaml-language-server)
 * and used by ajv in `validate`. Draft-07, which both understand best.
 */
import type { JsonSchema, OpDef, OpRegistry } from '../ops/index.js';
import { ACTIVATIONS } from '../ops/attrs.js';
import { TRAINING_SCHEMA } from './training-schema.js';

export const IDENT = '^[A-Za-z_][A-Za-z0-9_]*$';
/** `$name` or `${ expression }`. */
export const EXPR_PATTERN = '^\\$(\\{[\\s\\S]*\\}|[A-Za-z_][A-Za-z0-9_]*)$';
export const PARAM_TYPES = ['int', 'float', 'bool', 'string', 'enum', 'shape', 'activation'] as const;

/** Keys of an item that are not ops or blocks. */
export const ITEM_KEYS = ['id', 'from', 'when', 'let', 'share', 'repeat', 'as', 'for', 'in', 'layers', 'branches', 'merge', 'axis'] as const;

const expr = { $ref: '#/definitions/expression' };

/** Let every value position of `schema` also be an expression. */
export function allowExpressions(schema: JsonSchema): JsonSchema {
  const inner = (s: JsonSchema): JsonSchema => {
    const out: JsonSchema = { ...s };
    if (s.items && typeof s.items === 'object') out.items = allowExpressions(s.items as JsonSchema);
    if (s.properties) {
      out.properties = Object.fromEntries(Object.entries(s.properties as Record<string, JsonSchema>).map(([k, v]) => [k, allowExpressions(v)]));
    }
    return out;
  };
  if (Array.isArray(s_anyOf(schema))) {
    const { anyOf, ...rest } = schema;
    return { ...rest, anyOf: [...(anyOf as JsonSchema[]).map(inner), expr] };
  }
  const { description, default: dflt, ...rest } = schema;
  return {
    ...(description !== undefined ? { description } : {}),
    ...(dflt !== undefined ? { default: dflt } : {}),
    anyOf: [inner(rest), expr],
  };
}

function s_anyOf(s: JsonSchema): unknown {
  return s.anyOf;
}

function describeDefault(v: unknown): string {
  return v === undefined ? '' : ` Default: \`${JSON.stringify(v)}\`.`;
}

/** The attribute an op takes in shorthand form (`- dense: 10`): its only required one, if it has exactly one. */
export function shorthandAttr(op: { attrs: Readonly<Record<string, { required?: boolean }>> }): string | undefined {
  const required = Object.entries(op.attrs).filter(([, a]) => a.required).map(([k]) => k);
  return required.length === 1 ? required[0] : undefined;
}

/** The schema of one op's attribute mapping, literals only (used after expressions are evaluated). */
export function opAttrsLiteralSchema(registry: OpRegistry, op: string): JsonSchema {
  const def = registry.get(op)!;
  const required = Object.entries(def.attrs).filter(([, a]) => a.required).map(([k]) => k);
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(def.attrs).map(([k, a]) => [k, a.schema])),
    additionalProperties: false,
    ...(required.length ? { required } : {}),
  };
}

/**
 * The spec schema: the top-level keys, then the definitions (values and expressions, parameters,
 * blocks, the items of a sequence with one property per op). Key order is the committed file's.
 */
export function generateSchema(registry: OpRegistry): JsonSchema {
  const ops = registry.all().filter((o) => o.arity !== 'none');
  const mergeOps = ops.filter((o) => o.arity === 'merge').map((o) => o.name);
  const opProps = Object.fromEntries(ops.map((op) => [op.name, opSchema(op)]));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'modelspec',
    description: 'A modelspec file: a parameterised neural-network graph in the spirit of the Keras functional API.',
    type: 'object',
    required: ['modelspec'],
    additionalProperties: false,
    properties: topLevelProperties(),
    definitions: {
      ...valueDefinitions(),
      ...blockDefinitions(),
      ...sequenceDefinitions(mergeOps, opProps),
    },
  };
}

/** The schema of an op's key in an item: its attributes (expressions allowed), or its one required attribute (`- dropout: 0.3`). */
function opSchema(op: OpDef): JsonSchema {
  const required = Object.entries(op.attrs).filter(([, a]) => a.required).map(([k]) => k);
  const attrs: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(
      Object.entries(op.attrs).map(([k, a]) => [
        k,
        allowExpressions({ ...a.schema, description: `${a.doc}${a.required ? ' Required.' : describeDefault(a.default)}` }),
      ]),
    ),
    additionalProperties: false,
    ...(required.length ? { required } : {}),
  };
  const description = `${op.doc}${required.length ? ` Required: ${required.join(', ')}.` : ''}`;
  // A title per op: editors label completions and type errors with it ("object(conv2d)").
  const title = `${op.name} (${op.kerasClass})`;
  const only = shorthandAttr(op);
  if (only) {
    // `- dropout: 0.3`, `- activation: relu`: an op with one required attribute takes it directly.
    const a = op.attrs[only]!;
    return { title, description: `${description} Shorthand: \`${op.name}: <${only}>\`.`, anyOf: [attrs, allowExpressions({ ...a.schema })] };
  }
  return required.length ? { title, description, ...attrs } : { title, description, anyOf: [attrs, { type: 'null' }] };
}

/** The keys at the top of a spec file. */
function topLevelProperties(): Record<string, JsonSchema> {
  return {
    modelspec: { description: 'Format version. Must be 1.', const: 1 },
    name: { description: 'Identifier of the model.', type: 'string', pattern: IDENT },
    doc: { description: 'One-paragraph description of the model.', type: 'string' },
    use: {
      description: 'Spec files (relative paths) whose `blocks` this spec may use.',
      type: 'array',
      items: { type: 'string', minLength: 1 },
    },
    params: {
      description: 'Typed parameters with defaults and bounds; `--set name=value` on the command line.',
      $ref: '#/definitions/params',
    },
    let: { $ref: '#/definitions/let' },
    assert: { $ref: '#/definitions/asserts' },
    inputs: {
      description: 'The model inputs by name.',
      type: 'object',
      propertyNames: { pattern: IDENT },
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        required: ['shape'],
        additionalProperties: false,
        properties: {
          shape: allowExpressions({ description: 'Shape of one example, batch excluded, e.g. [32, 32, 3]; null is a dimension of any size (Keras None), e.g. [null] for a sequence of any length.', type: 'array', items: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'null' }] }, minItems: 1 }),
          dtype: { description: 'Element type. Default: float32.', enum: ['float32', 'int32', 'bool'] },
          doc: { type: 'string' },
        },
      },
    },
    blocks: {
      description: 'Named, parameterised subgraphs, called like ops: `- resnet_layer: {filters: 32}`.',
      type: 'object',
      propertyNames: { pattern: IDENT },
      additionalProperties: { $ref: '#/definitions/block' },
    },
    layers: { description: 'The body of the model: a sequence of items.', $ref: '#/definitions/sequence' },
    outputs: {
      description: 'Output node references; default: the output of the last item.',
      anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
    },
    training: TRAINING_SCHEMA,
  };
}

/** Expressions, parameters, `let:` and `assert:`. */
function valueDefinitions(): Record<string, JsonSchema> {
  return {
    expression: {
      title: 'expression',
      description: 'A variable `$name` or an expression `${ ... }`. Functions: min, max, floor, ceil, round, abs, range, len, and shape(x) / channels(x) (the static shape of the reference x, or of the current input without an argument).',
      type: 'string',
      pattern: EXPR_PATTERN,
    },
    params: {
      type: 'object',
      propertyNames: { pattern: IDENT },
      additionalProperties: { $ref: '#/definitions/param' },
    },
    param: {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: {
        type: { description: 'Parameter type.', enum: [...PARAM_TYPES] },
        default: { description: 'Default value; a parameter without one must be given.' },
        min: { description: 'Smallest allowed value (int, float).', type: 'number' },
        max: { description: 'Largest allowed value (int, float).', type: 'number' },
        values: { description: 'Allowed values (enum).', type: 'array', minItems: 1 },
        nullable: { description: 'Whether null is allowed.', type: 'boolean' },
        doc: { description: 'What the parameter means.', type: 'string' },
      },
    },
    let: {
      description: 'Derived values, evaluated in order: `depth: ${6 * n + 2}`.',
      type: 'object',
      propertyNames: { pattern: IDENT },
    },
    asserts: {
      description: 'Conditions on the parameters; a failed one is an error with its message.',
      type: 'array',
      items: {
        type: 'object',
        required: ['that', 'message'],
        additionalProperties: false,
        properties: {
          that: allowExpressions({ type: 'boolean' }),
          message: { type: 'string' },
        },
      },
    },
  };
}

/** A block definition under `blocks:`. */
function blockDefinitions(): Record<string, JsonSchema> {
  return {
    block: {
      type: 'object',
      required: ['layers'],
      additionalProperties: false,
      properties: {
        doc: { type: 'string' },
        params: { $ref: '#/definitions/params' },
        inputs: {
          description: 'Names of the block inputs; default one input `x`.',
          type: 'array',
          items: { type: 'string', pattern: IDENT },
          minItems: 1,
        },
        let: { $ref: '#/definitions/let' },
        assert: { $ref: '#/definitions/asserts' },
        layers: { $ref: '#/definitions/sequence' },
        output: { description: 'The node the block returns; default: the last item.', type: 'string' },
      },
    },
  };
}

/** A sequence of items, its references and branches, and the item: ops, block calls, repeat, for, branches, share. */
function sequenceDefinitions(mergeOps: string[], opProps: Record<string, JsonSchema>): Record<string, JsonSchema> {
  return {
    sequence: {
      type: 'array',
      items: { $ref: '#/definitions/item' },
    },
    ref: {
      description: 'Inputs of the item: an input name or an earlier item\'s `id` (a list for merges); `id[i]` is iteration i\'s output of an item of an earlier repeat/for (negative from the end).',
      anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }],
    },
    branch: {
      anyOf: [
        { $ref: '#/definitions/sequence' },
        {
          type: 'object',
          required: ['layers'],
          additionalProperties: false,
          properties: { from: { $ref: '#/definitions/ref' }, layers: { $ref: '#/definitions/sequence' } },
        },
      ],
    },
    item: {
      title: 'item',
      description: 'A layer (`- conv2d: {...}`), a block call, `repeat`, `for`, `branches` or `share`.',
      type: 'object',
      minProperties: 1,
      properties: {
        id: { description: 'Names this item\'s output, for `from:` and `outputs:`.', type: 'string', pattern: IDENT },
        from: { $ref: '#/definitions/ref' },
        when: allowExpressions({ description: 'Keep the item only if true.', type: 'boolean' }),
        let: { $ref: '#/definitions/let' },
        share: { description: 'Apply the layer with this id again (the same layer object: its weights, if any), or, for the id of a block call, the whole block again with the layers and arguments of that call.', type: 'string', pattern: IDENT },
        repeat: allowExpressions({ description: 'Repeat `layers` this many times, chained.', type: 'integer', minimum: 0 }),
        as: { description: 'Name of the iteration counter of `repeat` (0-based).', type: 'string', pattern: IDENT },
        for: { description: 'Loop variable; iterates over `in`.', type: 'string', pattern: IDENT },
        in: allowExpressions({ description: 'The list `for` iterates over.', type: 'array' }),
        layers: { $ref: '#/definitions/sequence' },
        branches: {
          description: 'Parallel sub-sequences from the same input (or their own `from:`), joined by `merge`. `[]` is the identity.',
          type: 'array',
          minItems: 1,
          items: { $ref: '#/definitions/branch' },
        },
        merge: { description: 'How `branches` are joined.', enum: mergeOps },
        axis: allowExpressions({ description: 'Axis for `merge: concatenate`. Default: -1.', type: 'integer' }),
        ...opProps,
      },
      additionalProperties: {
        description: 'A block call: arguments by name.',
        anyOf: [{ type: 'object' }, { type: 'null' }],
      },
    },
  };
}

export { ACTIVATIONS };
