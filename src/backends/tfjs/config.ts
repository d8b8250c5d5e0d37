/**
 * Keras attributes (snake_case, as in specs and the IR) -> TensorFlow.js layer
 * arguments (camelCase). One mapping, used by the interpreter to build layers and
 * by the code generator to print them, so both build the same model.
 */
import type { IRNode } from '../../types/ir.js';
import { normalAttrs, type OpRegistry, type OpDef } from '../../ops/index.js';

/** A tfjs config value: plain data, or a regularizer object to construct. */
export type TfjsValue = string | number | boolean | TfjsValue[] | { regularizer: { l1?: number; l2?: number } } | { tfjsLayer: TfjsLayerSpec } | { [k: string]: TfjsValue };

export interface TfjsLayerSpec {
  /** `tf.layers.<factory>`, or with `custom` a class of ./custom-layers.ts */
  factory: string;
  custom?: boolean;
  /** Arguments in tfjs' names, `name` included. */
  config: Record<string, TfjsValue>;
}

export class UnsupportedByTfjs extends Error {}

/**
 * Parameters of a model that `build`, `train` and the builders make with TensorFlow.js: 1e9, 4 GB
 * of float32 weights, what one weights.bin (a Node.js buffer, at most 4 GiB) can hold. `check`
 * counts any size; a larger model is refused before a weight is allocated, with this message.
 */
export const MAX_BUILD_PARAMS = 1_000_000_000;

export class ModelTooLarge extends Error {}

/** Refuse a model over MAX_BUILD_PARAMS before TensorFlow.js tries to allocate it. */
export function checkBuildSize(name: string, params: number): void {
  if (params > MAX_BUILD_PARAMS) {
    throw new ModelTooLarge(`${name} has ${params.toLocaleString('en-US')} parameters (${(params * 4 / 1e9).toLocaleString('en-US', { maximumFractionDigits: 1 })} GB of float32 weights); TensorFlow.js models built here hold at most ${MAX_BUILD_PARAMS.toLocaleString('en-US')} (4 GB): make the model smaller (modelspec summary shows where the parameters are)`);
  }
}

const INITIALIZERS: Record<string, string> = {
  glorot_uniform: 'glorotUniform', glorot_normal: 'glorotNormal', he_normal: 'heNormal', he_uniform: 'heUniform',
  lecun_normal: 'leCunNormal', lecun_uniform: 'leCunUniform', zeros: 'zeros', ones: 'ones',
  random_normal: 'randomNormal', random_uniform: 'randomUniform', truncated_normal: 'truncatedNormal',
  orthogonal: 'orthogonal', identity: 'identity', variance_scaling: 'varianceScaling',
};

const ACTIVATIONS: Record<string, string> = { hard_sigmoid: 'hardSigmoid' };

export const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * Layer names: the IR id with '/' (not allowed in Keras layer names) replaced by '.'.
 * TensorFlow.js also wants a name to start with a letter or a digit, and the language lets an
 * id start with '_' (`_skip`, `__proto__`): such a name gets the prefix `id-`. An id never holds
 * '-', so the prefixed names cannot meet another id's name, and `idOfLayerName` undoes it.
 */
export function layerName(id: string): string {
  const name = id.replace(/\//g, '.');
  return /^[A-Za-z0-9]/.test(name) ? name : `${LAYER_NAME_PREFIX}${name}`;
}

const LAYER_NAME_PREFIX = 'id-';

/** The id a layer name was made from (`layerName`'s inverse): what the user wrote, for messages. */
export function idOfLayerName(name: string): string {
  return (name.startsWith(LAYER_NAME_PREFIX) ? name.slice(LAYER_NAME_PREFIX.length) : name).replace(/\./g, '/');
}

function convert(key: string, value: unknown): TfjsValue | undefined {
  if (value === null || value === undefined) return undefined; // tfjs' default is Keras' None
  if (key.endsWith('_initializer')) return INITIALIZERS[value as string] ?? camel(value as string);
  if (key.endsWith('_regularizer')) return { regularizer: value as { l1?: number; l2?: number } };
  if (key === 'activation' || key.endsWith('_activation')) return ACTIVATIONS[value as string] ?? (value as string);
  if (key === 'initializer') return INITIALIZERS[value as string] ?? camel(value as string);
  return value as TfjsValue;
}

/**
 * A wrapper's inner layer (`{lstm: {units: 64}}`, defaults filled), named after the wrapper
 * with `-` and its op (no id holds '-', so it meets no other layer's name).
 */
function innerLayerSpec(node: Pick<IRNode, 'id' | 'op'>, key: string, value: unknown, registry: OpRegistry): TfjsLayerSpec {
  const [op, attrs] = Object.entries(value as Record<string, Record<string, unknown>>)[0]!;
  const spec = tfjsLayerSpec({ id: node.id, op, attrs: normalAttrs(registry.get(op), attrs ?? {}) }, registry);
  spec.config.name = `${layerName(node.id)}-${op}`;
  return spec;
}

/** The tfjs layer for an IR node (not for inputs). */
export function tfjsLayerSpec(node: Pick<IRNode, 'id' | 'op' | 'attrs'>, registry: OpRegistry): TfjsLayerSpec {
  const def: OpDef | undefined = registry.get(node.op);
  if (!def?.tfjs) {
    throw new UnsupportedByTfjs(`'${node.id}': op '${node.op}' has no TensorFlow.js mapping${def ? ` (TensorFlow.js 4.22 has no usable ${def.kerasClass} layer)` : ''}; check, summary, spec2ts types and Keras JSON import work without one`);
  }
  const config: Record<string, TfjsValue> = {};
  const customFor = def.tfjs.customFor;
  const custom = def.tfjs.custom !== undefined
    && (!customFor || Object.entries(customFor).some(([k, v]) => JSON.stringify(node.attrs[k]) !== JSON.stringify(v)));
  for (const [key, value] of Object.entries(node.attrs)) {
    if (!custom && customFor && key in customFor) continue; // the factory's layer has no such attribute
    const unsupported = def.tfjs.unsupported;
    if (unsupported && key in unsupported) {
      if (JSON.stringify(value) !== JSON.stringify(unsupported[key])) {
        throw new UnsupportedByTfjs(`'${node.id}': TensorFlow.js cannot build ${node.op} with ${key}: ${JSON.stringify(value)} (only ${JSON.stringify(unsupported[key])})`);
      }
      continue;
    }
    if (def.tfjs.nested?.includes(key)) {
      config[camel(key)] = { tfjsLayer: innerLayerSpec(node, key, value, registry) };
      continue;
    }
    const renamed = def.tfjs.values?.[key]?.[value as string];
    const v = renamed !== undefined ? renamed : def.tfjs.pairs?.includes(key) && typeof value === 'number' ? [value, value] : convert(key, value);
    if (v !== undefined) config[camel(key)] = v;
  }
  config.name = layerName(node.id);
  return custom ? { factory: def.tfjs.custom!, config, custom: true } : { factory: def.tfjs.factory, config };
}
