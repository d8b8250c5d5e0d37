/**
 * Attention and position embeddings, which TensorFlow.js lacks: multi_head_attention (Keras
 * `MultiHeadAttention`) and position_embedding (Keras-hub `PositionEmbedding`). Both are built by
 * custom tfjs layers (src/backends/tfjs/custom-layers.ts).
 */
import { attr } from './attrs.js';
import { requireKnown } from './shape-util.js';
import { ShapeError, type OpDef, type PytorchWeight } from './types.js';
import { py } from './pytorch.js';
import { formatShape, type Shape } from '../types/shape.js';

/** (length, features) with the features known. */
function sequence(s: Shape, op: string, what: string): [number | null, number] {
  if (s.length !== 2) throw new ShapeError(`${op} needs a (batch, length, features) ${what}, got shape ${formatShape(s)}`);
  return [s[0]!, requireKnown(s, 1, op, `feature size of the ${what}`)];
}

/**
 * query, value and key (the value when not given): [length, features] each; and the attention
 * mask (the fourth input, Keras' `attention_mask`), (query length, key length): 1 attends, 0 masks.
 */
function attentionInputs(inputs: readonly Shape[]): { q: [number | null, number]; v: [number | null, number]; k: [number | null, number]; mask?: Shape } {
  if (inputs.length > 4) throw new ShapeError(`multi_head_attention takes 2 to 4 inputs (query, value[, key[, attention_mask]]), got ${inputs.length}`, 'mismatch');
  const q = sequence(inputs[0]!, 'multi_head_attention', 'query');
  const v = sequence(inputs[1]!, 'multi_head_attention', 'value');
  const k = inputs[2] ? sequence(inputs[2], 'multi_head_attention', 'key') : v;
  if (k[0] !== null && v[0] !== null && k[0] !== v[0]) {
    throw new ShapeError(`multi_head_attention needs a key and value of one length, got ${formatShape(inputs[2]!)} and ${formatShape(inputs[1]!)}`, 'mismatch');
  }
  const mask = inputs[3];
  if (mask) {
    const s = k[0] ?? v[0];
    const fits = mask.length === 2 && (mask[0] === null || q[0] === null || mask[0] === q[0]) && (mask[1] === null || s === null || mask[1] === s);
    if (!fits) {
      throw new ShapeError(`multi_head_attention's attention_mask (input 4) must be (batch, query length, key length) = ${formatShape([q[0], s])}, got ${formatShape(mask)}`, 'mismatch');
    }
  }
  return { q, v, k, ...(mask ? { mask } : {}) };
}

export const multiHeadAttention: OpDef = {
  name: 'multi_head_attention',
  kerasClass: 'MultiHeadAttention',
  tfjs: {
    factory: 'MultiHeadAttention',
    custom: 'MultiHeadAttention',
    unsupported: { attention_axes: null, kernel_regularizer: null, bias_regularizer: null, activity_regularizer: null },
  },
  pytorch: {
    helpers: ['KerasMultiHeadAttention'],
    modules: (c) => {
      const { q, v, k } = attentionInputs(c.inputShapes);
      const a = c.attrs;
      const dk = a.key_dim as number;
      const args = {
        query_dim: q[1], value_dim_in: v[1], key_dim_in: k[1], num_heads: a.num_heads as number, key_dim: dk,
        value_dim: (a.value_dim as number | null) ?? dk, output_dim: (a.output_shape as number | null) ?? q[1],
      };
      const named = Object.entries(args).map(([n, x]) => `${n}=${x}`).join(', ');
      const opts = `${a.use_bias ? '' : ', use_bias=False'}${a.dropout ? `, dropout=${py(a.dropout)}` : ''}${a.use_causal_mask ? ', use_causal_mask=True' : ''}`;
      return { '': `KerasMultiHeadAttention(${named}${opts})` };
    },
    // [query, value, key, mask]: the mask by its keyword.
    forward: (c) => `${c.self}(${c.inputs.slice(0, 3).join(', ')}${c.inputs[3] ? `, attention_mask=${c.inputs[3]}` : ''})`,
    // Keras' names (query/kernel ...) are the state_dict's (query.kernel ...), in Keras' layout.
    weights: (c) => Object.fromEntries(['query', 'key', 'value', 'attention_output'].flatMap((p) => [
      [`${p}/kernel`, { key: `${p}.kernel`, layout: 'same', initializer: c.attrs.kernel_initializer as string }],
      [`${p}/bias`, { key: `${p}.bias`, layout: 'same', initializer: c.attrs.bias_initializer as string }],
    ] satisfies [string, PytorchWeight][])),
  },
  category: 'core',
  doc: 'Multi-head scaled dot-product attention (Keras `MultiHeadAttention`) over inputs [query, value] or [query, value, key], each (batch, length, features), and optionally a fourth, the attention_mask (batch, query length, key length): [query, value, key, mask]; self-attention is `from: [x, x]`; `use_causal_mask: true` for a decoder.',
  arity: 'merge',
  attrs: {
    num_heads: attr.int({ min: 1, required: true, doc: 'Number of attention heads.' }),
    key_dim: attr.int({ min: 1, required: true, doc: 'Size of each head for query and key.' }),
    value_dim: { schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }] }, default: null, doc: 'Size of each head for value; null is key_dim.' },
    dropout: attr.float({ min: 0, exclusiveMax: 1, default: 0, doc: 'Dropout rate on the attention probabilities.' }),
    use_bias: attr.bool({ default: true, doc: 'Whether the dense projections have biases.' }),
    output_shape: { schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }] }, default: null, doc: 'Size of the output features; null is the query\'s.' },
    attention_axes: { schema: { type: 'null' }, default: null, doc: 'Axes attention is applied over; only null (the sequence axis) is supported.' },
    use_causal_mask: attr.bool({ default: false, doc: 'Each query position attends only to key positions at or before it (Keras\' call argument `use_causal_mask`: Keras 3 JSON writes it in the call\'s kwargs).' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the projection kernels.' }),
    bias_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of the projection biases.' }),
    kernel_regularizer: { schema: { type: 'null' }, default: null, doc: 'Regularizer of the kernels (only null).' },
    bias_regularizer: { schema: { type: 'null' }, default: null, doc: 'Regularizer of the biases (only null).' },
    activity_regularizer: { schema: { type: 'null' }, default: null, doc: 'Regularizer of the output (only null).' },
  },
  // Keras sets value_dim to key_dim when it is None (and so writes it in its config).
  normalize: (a) => (a.value_dim === null ? { ...a, value_dim: a.key_dim } : a),
  outputShape(inputs, a) {
    const { q } = attentionInputs(inputs);
    return [q[0], (a.output_shape as number | null) ?? q[1]];
  },
  weights(inputs, a) {
    const { q, v, k } = attentionInputs(inputs);
    const h = a.num_heads as number, dk = a.key_dim as number;
    const dv = (a.value_dim as number | null) ?? dk;
    const out = (a.output_shape as number | null) ?? q[1];
    // Keras builds query, key, value, then attention_output (EinsumDense kernel then bias each).
    const dense = (name: string, kernel: number[], bias: number[]) => [
      { name: `${name}/kernel`, shape: kernel, trainable: true },
      ...(a.use_bias ? [{ name: `${name}/bias`, shape: bias, trainable: true }] : []),
    ];
    return [
      ...dense('query', [q[1], h, dk], [h, dk]),
      ...dense('key', [k[1], h, dk], [h, dk]),
      ...dense('value', [v[1], h, dv], [h, dv]),
      ...dense('attention_output', [h, dv, out], [out]),
    ];
  },
  macs(inputs, _out, a) {
    const { q, v, k } = attentionInputs(inputs);
    const h = a.num_heads as number, dk = a.key_dim as number;
    const dv = (a.value_dim as number | null) ?? dk;
    const out = (a.output_shape as number | null) ?? q[1];
    const t = q[0] ?? 1, s = v[0] ?? 1;
    // projections, then QK^T and AV per head, then the output projection.
    return t * q[1] * h * dk + s * k[1] * h * dk + s * v[1] * h * dv + h * t * s * (dk + dv) + t * h * dv * out;
  },
};

export const positionEmbedding: OpDef = {
  name: 'position_embedding',
  kerasClass: 'PositionEmbedding',
  tfjs: { factory: 'PositionEmbedding', custom: 'PositionEmbedding' },
  pytorch: {
    modules: (c) => ({ '': `nn.Embedding(${c.attrs.sequence_length as number}, ${c.inputShapes[0]![1] as number})` }),
    // The first `length` rows of the table, broadcast over the batch (the input only gives the shape).
    forward: (c) => `${c.self}.weight[:${c.inputs[0]}.shape[1]].expand(${c.inputs[0]}.shape)`,
    weights: (c) => ({ embeddings: { key: 'weight', layout: 'same', initializer: c.attrs.initializer as string } }),
  },
  category: 'core',
  doc: 'A learned embedding of each position 0..length-1 (Keras-hub `PositionEmbedding`): outputs the embeddings of the input\'s positions, shaped as the input (batch, length, features); `add` it to the token embedding.',
  arity: 'one',
  attrs: {
    sequence_length: attr.int({ min: 1, required: true, doc: 'Largest sequence length (rows of the table).' }),
    initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the embeddings table.' }),
  },
  outputShape(inputs, a) {
    const [t] = sequence(inputs[0]!, 'position_embedding', 'input');
    if (t !== null && t > (a.sequence_length as number)) {
      throw new ShapeError(`position_embedding sequence_length ${a.sequence_length} is shorter than the input's length ${t}`, 'invalid', 'sequence_length');
    }
    return inputs[0]!;
  },
  weights: (inputs, a) => [{ name: 'embeddings', shape: [a.sequence_length as number, inputs[0]![1] as number], trainable: true }],
};
