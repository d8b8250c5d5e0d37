/**
 * Wrappers: layers that take another layer as an attribute, as Keras' `Bidirectional(LSTM(64))`
 * and `TimeDistributed(Dense(8))`: `bidirectional: {layer: {lstm: {units: 64}}, merge_mode: concat}`.
 * The inner layer is written as an item is (`{op: attributes}`), its attributes checked by the
 * schema and given their defaults here; Keras JSON nests its config (`layer: {class_name, config}`).
 */
import { attr } from './attrs.js';
import { normalAttrs } from './normal.js';
import { requireRank } from './shape-util.js';
import { ShapeError, type Attrs, type JsonSchema, type OpDef } from './types.js';
import { gru, lstm, refuseMultiOutput, simpleRnn } from './recurrent.js';
import { conv1d, maxPooling1d, averagePooling1d, masking, repeatVector, upSampling1d, zeroPadding1d } from './sequence.js';
import { activation, dense, dropout, embedding } from './core.js';
import { conv2d, depthwiseConv2d, separableConv2d, conv2dTranspose } from './convolution.js';
import { averagePooling2d, globalAveragePooling2d, globalMaxPooling2d, maxPooling2d } from './pooling.js';
import { batchNormalization, layerNormalization } from './normalization.js';
import { flatten, reshape, upSampling2d, zeroPadding2d } from './reshaping.js';
import { formatShape, type Shape } from '../types/shape.js';
import { py } from './pytorch.js';
import { rnnCall, rnnModule, rnnWeights } from './pytorch-sequence.js';

/**
 * The schema of an inner layer by its op's name only: the inner ops' attribute schemas written out
 * in the spec schema made it (and the precompiled validators) 2.5 to 6 times larger, and a cold
 * `check` ~25% slower to start. The attributes are checked by `innerLayer` instead.
 */
function innerNameSchema(ops: readonly OpDef[]): JsonSchema {
  return { type: 'object', properties: Object.fromEntries(ops.map((o) => [o.name, { type: 'object' }])), additionalProperties: false, minProperties: 1, maxProperties: 1 };
}

export interface InnerLayer {
  def: OpDef;
  /** Complete attributes (defaults filled), in normal form. */
  attrs: Attrs;
}

/** The inner layer of a wrapper's `layer` attribute ({op: attributes}), its defaults filled. */
export function innerLayer(wrapper: string, value: unknown, ops: readonly OpDef[]): InnerLayer {
  const entries = value !== null && typeof value === 'object' && !Array.isArray(value) ? Object.entries(value) : [];
  const def = entries.length === 1 ? ops.find((o) => o.name === entries[0]![0]) : undefined;
  if (!def) throw new ShapeError(`${wrapper} layer must be one of ${ops.map((o) => o.name).join(', ')} with its attributes, e.g. {${ops[0]!.name}: {...}}`, 'invalid', 'layer');
  const given = (entries[0]![1] ?? {}) as Attrs;
  for (const [k, v] of Object.entries(given)) {
    const a = def.attrs[k];
    if (!a) throw new ShapeError(`${wrapper} layer ${def.name} has no attribute '${k}' (it has ${Object.keys(def.attrs).join(', ')})`, 'invalid', 'layer');
    if (!matches(a.schema, v)) throw new ShapeError(`${wrapper} layer ${def.name} attribute ${k}: ${JSON.stringify(v)} is not allowed (${a.doc})`, 'invalid', 'layer');
  }
  const missing = Object.entries(def.attrs).find(([k, a]) => a.required && !(k in given));
  if (missing) throw new ShapeError(`${wrapper} layer ${def.name} needs '${missing[0]}' (${missing[1].doc})`, 'invalid', 'layer');
  return { def, attrs: normalAttrs(def, given) };
}

/** Whether `v` is valid under `schema`: the JSON Schema subset the op attributes use (types, bounds, enum, anyOf, items, properties). */
function matches(schema: JsonSchema, v: unknown): boolean {
  const s = schema as { type?: string; enum?: unknown[]; anyOf?: JsonSchema[]; minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number;
    items?: JsonSchema; minItems?: number; maxItems?: number; properties?: Record<string, JsonSchema>; additionalProperties?: boolean; minProperties?: number };
  if (s.anyOf) return s.anyOf.some((alt) => matches(alt, v));
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) return false;
  switch (s.type) {
    case undefined: return true;
    case 'null': return v === null;
    case 'boolean': return typeof v === 'boolean';
    case 'integer': case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v) || (s.type === 'integer' && !Number.isSafeInteger(v))) return false;
      return !((s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum)
        || (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) || (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum));
    case 'array':
      return Array.isArray(v) && v.length >= (s.minItems ?? 0) && v.length <= (s.maxItems ?? Infinity) && (!s.items || v.every((x) => matches(s.items!, x)));
    case 'object': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
      const e = Object.entries(v);
      if (e.length < (s.minProperties ?? 0)) return false;
      return e.every(([k, x]) => (s.properties?.[k] ? matches(s.properties[k]!, x) : s.additionalProperties !== false));
    }
    default: return typeof v === s.type;
  }
}

/** The wrapper's attributes with the inner layer's written out in full (so `diff` sees equal layers as equal). */
function normalizeInner(attrs: Attrs, wrapper: string, ops: readonly OpDef[]): Attrs {
  try {
    const inner = innerLayer(wrapper, attrs.layer, ops);
    return { ...attrs, layer: { [inner.def.name]: inner.attrs } };
  } catch {
    return attrs;
  }
}

const RNNS: readonly OpDef[] = [lstm, gru, simpleRnn];

export const bidirectional: OpDef = {
  name: 'bidirectional',
  kerasClass: 'Bidirectional',
  tfjs: { factory: 'bidirectional', nested: ['layer'] },
  pytorch: {
    helpers: ['KerasRNN', 'KerasBidirectional'],
    modules: (c) => {
      const inner = innerLayer('bidirectional', c.attrs.layer, RNNS);
      const features = c.inputShapes[0]![1] as number;
      // Keras' backward layer is the inner one with go_backwards flipped.
      const backward = { ...inner.attrs, go_backwards: !inner.attrs.go_backwards };
      return { '': `KerasBidirectional(${rnnModule(inner.def.name, inner.attrs, features)}, ${rnnModule(inner.def.name, backward, features)}, ${py(c.attrs.merge_mode)})` };
    },
    forward: rnnCall,
    mask: (c) => (innerLayer('bidirectional', c.attrs.layer, RNNS).attrs.return_sequences ? c.mask ?? null : null),
    weights: (c) => {
      const inner = innerLayer('bidirectional', c.attrs.layer, RNNS);
      return Object.fromEntries((['forward', 'backward'] as const).flatMap((dir) =>
        Object.entries(rnnWeights(inner.def.name, inner.attrs, `${dir}_layer.`))
          .map(([k, w]) => [`${dir}_${inner.def.name}/${k}`, { ...w, tfjsName: `${dir}_{layer}-${inner.def.name}/${k}` }])));
    },
  },
  category: 'recurrent',
  doc: 'Runs a recurrent layer forwards and a copy of it backwards over the sequence and merges the two outputs (Keras `Bidirectional`).',
  arity: 'one',
  attrs: {
    layer: { schema: innerNameSchema(RNNS), required: true, doc: 'The recurrent layer, as an item: `{lstm: {units: 64}}` (lstm, gru or simple_rnn).' },
    merge_mode: attr.enum(['concat', 'sum', 'mul', 'ave'], { default: 'concat', doc: 'How the two outputs combine: `concat` doubles the last axis. (Keras\' null, two outputs, is not supported.)' }),
  },
  normalize: (a) => normalizeInner(a, 'bidirectional', RNNS),
  outputShape(inputs, a) {
    const inner = innerLayer('bidirectional', a.layer, RNNS);
    refuseMultiOutput(inner.def.name, inner.attrs, 'inside bidirectional (its four states are not modelled)');
    const out = inner.def.outputShape(inputs, inner.attrs);
    if (a.merge_mode !== 'concat') return out;
    return [...out.slice(0, -1), (out[out.length - 1] as number) * 2];
  },
  weights(inputs, a) {
    const inner = innerLayer('bidirectional', a.layer, RNNS);
    const w = inner.def.weights?.(inputs, inner.attrs) ?? [];
    return ['forward', 'backward'].flatMap((dir) => w.map((x) => ({ ...x, name: `${dir}_${inner.def.name}/${x.name}` })));
  },
  macs(inputs, _out, a) {
    const inner = innerLayer('bidirectional', a.layer, RNNS);
    return 2 * (inner.def.macs?.(inputs, inner.def.outputShape(inputs, inner.attrs), inner.attrs) ?? 0);
  },
};

/** The layers `time_distributed` can apply to every step: the built-in ones of one input. */
const STEP_OPS: readonly OpDef[] = [
  dense, conv2d, depthwiseConv2d, separableConv2d, conv2dTranspose, conv1d,
  maxPooling2d, averagePooling2d, globalAveragePooling2d, globalMaxPooling2d, maxPooling1d, averagePooling1d,
  flatten, reshape, dropout, activation, embedding, batchNormalization, layerNormalization,
  zeroPadding2d, upSampling2d, upSampling1d, zeroPadding1d, masking, repeatVector, lstm, gru, simpleRnn,
];

export const timeDistributed: OpDef = {
  name: 'time_distributed',
  kerasClass: 'TimeDistributed',
  tfjs: { factory: 'timeDistributed', nested: ['layer'] },
  category: 'core',
  doc: 'Applies a layer to every time step of its input, (batch, steps, ...) -> (batch, steps, ...) (Keras `TimeDistributed`).',
  arity: 'one',
  attrs: {
    layer: { schema: innerNameSchema(STEP_OPS), required: true, doc: 'The layer applied to each step, as an item: `{dense: {units: 8}}`.' },
  },
  normalize: (a) => normalizeInner(a, 'time_distributed', STEP_OPS),
  outputShape(inputs, a) {
    const input = inputs[0]!;
    if (input.length < 2) requireRank(input, 2, 'time_distributed', 'input: (batch, steps, ...)');
    const inner = innerLayer('time_distributed', a.layer, STEP_OPS);
    if (inner.def.states) refuseMultiOutput(inner.def.name, inner.attrs, 'inside time_distributed');
    const step = stepShape(input);
    try {
      return [input[0]!, ...inner.def.outputShape([step], inner.attrs)];
    } catch (e) {
      if (e instanceof ShapeError) throw new ShapeError(`time_distributed: on each step ${formatShape(step)}: ${e.message}`, e.kind, 'layer');
      throw e;
    }
  },
  weights(inputs, a) {
    const inner = innerLayer('time_distributed', a.layer, STEP_OPS);
    return inner.def.weights?.([stepShape(inputs[0]!)], inner.attrs) ?? [];
  },
  macs(inputs, out, a) {
    const inner = innerLayer('time_distributed', a.layer, STEP_OPS);
    return (inputs[0]![0] ?? 1) * (inner.def.macs?.([stepShape(inputs[0]!)], out.slice(1), inner.attrs) ?? 0);
  },
};

const stepShape = (input: Shape): Shape => input.slice(1);
