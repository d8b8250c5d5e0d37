/**
 * Keras 3's `config.json` (what `model.to_json()` and the `.keras` zip hold in Keras 3) from
 * the Keras 2 topology that tfjs writes (`model.toJSON()`). The shape of each object follows
 * Keras 3's own serialization: keras/src/saving/serialization_lib.py (`serialize_keras_object`:
 * module, class_name, config, registered_name, build_config) and keras/src/models/functional.py
 * (`get_config`: layers with `name` and `inbound_nodes` of `{args, kwargs}`, whose tensors are
 * `__keras_tensor__` objects with `keras_history`; one input or output as one
 * `[name, node, tensor]` triple, several as a list).
 */
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

/** A layer output's shape with the batch axis (`null` first), by layer name and node index. */
export type ShapeOf = (layer: string, node: number, tensor?: number) => (number | null)[];

const obj = (module: string, className: string, config: JsonObject, registered: string | null = null): JsonObject =>
  ({ module, class_name: className, config, registered_name: registered });

const DTYPE = obj('keras', 'DTypePolicy', { name: 'float32' });

/** tfjs writes the named initializers as the VarianceScaling they are; Keras 3 has them by name. */
function initializer(v: JsonObject): JsonObject {
  const cfg = (v.config ?? {}) as JsonObject;
  if (v.class_name === 'VarianceScaling') {
    const family = cfg.scale === 2 && cfg.mode === 'fan_in' ? 'He' : cfg.scale === 1 && cfg.mode === 'fan_avg' ? 'Glorot' : cfg.scale === 1 && cfg.mode === 'fan_in' ? 'LecunNormal' : undefined;
    const dist = cfg.distribution;
    // tfjs' "normal" is a truncated normal, as Keras' "truncated_normal".
    if (family && (dist === 'normal' || dist === 'truncated_normal' || dist === 'uniform')) {
      const name = family === 'LecunNormal' ? (dist === 'uniform' ? 'LecunUniform' : 'LecunNormal') : `${family}${dist === 'uniform' ? 'Uniform' : 'Normal'}`;
      return obj('keras.initializers', name, { seed: cfg.seed ?? null });
    }
    return obj('keras.initializers', 'VarianceScaling', { ...cfg, distribution: dist === 'normal' ? 'truncated_normal' : (dist ?? 'truncated_normal') });
  }
  return obj('keras.initializers', String(v.class_name), cfg);
}

function regularizer(v: JsonObject): JsonObject {
  const cfg = (v.config ?? {}) as JsonObject;
  const l1 = Number(cfg.l1 ?? 0), l2 = Number(cfg.l2 ?? 0);
  if (l1 === 0) return obj('keras.regularizers', 'L2', { l2 });
  if (l2 === 0) return obj('keras.regularizers', 'L1', { l1 });
  return obj('keras.regularizers', 'L1L2', { l1, l2 });
}

function layerConfig(cfg: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.class_name === 'string') {
      if (k.endsWith('_initializer') || k === 'initializer') { out[k] = initializer(v); continue; }
      if (k.endsWith('_regularizer')) { out[k] = regularizer(v); continue; }
      out[k] = obj('keras.constraints', v.class_name, (v.config ?? {}) as JsonObject);
      continue;
    }
    out[k] = v;
  }
  if ('dtype' in out || !('batch_shape' in out)) out.dtype = DTYPE;
  return out;
}

/** Layers of Keras-hub (not of Keras itself): their module and registered name. */
const HUB_LAYERS: Record<string, { module: string; registered: string }> = {
  PositionEmbedding: { module: 'keras_hub.src.layers.modeling.position_embedding', registered: 'keras_hub>PositionEmbedding' },
};

const RECURRENT = new Set(['LSTM', 'GRU', 'SimpleRNN']);

const triples = (refs: Json[]): Json => (refs.length === 1 ? (refs[0] as Json[]).slice(0, 3) : refs.map((r) => (r as Json[]).slice(0, 3)));

/** Keras 3 `config.json` of a functional model from its Keras 2 (tfjs) topology. */
export function toKeras3(topology: JsonObject, shapeOf: ShapeOf): JsonObject {
  const config = topology.config as JsonObject;
  const layers = (config.layers as JsonObject[]).map((l) => {
    const name = String(l.name);
    const cfg = l.config as JsonObject;
    if (l.class_name === 'InputLayer') {
      const shape = (cfg.batch_input_shape ?? cfg.batch_shape) as Json[];
      return { ...obj('keras.layers', 'InputLayer', { batch_shape: shape, dtype: cfg.dtype ?? 'float32', sparse: false, name }), name, inbound_nodes: [] } as JsonObject;
    }
    const nodes = ((l.inbound_nodes ?? []) as Json[][]).map((node) => {
      const tensors = node.map((r) => {
        const [layer, index, tensor = 0] = r as [string, number, number?];
        return { class_name: '__keras_tensor__', config: { shape: shapeOf(layer, index, tensor), dtype: 'float32', keras_history: [layer, index, tensor] } } as JsonObject;
      });
      // A merge layer is called on a list of tensors; any other on one tensor; MultiHeadAttention
      // on query, value[, key] as separate arguments, its attention mask (a fourth input) as the
      // kwarg attention_mask; a recurrent layer's further inputs are its initial_state kwarg.
      // use_causal_mask is a call argument in Keras (modelspec keeps it with the layer's attributes).
      if (l.class_name === 'MultiHeadAttention') {
        return { args: tensors.slice(0, 3), kwargs: { ...(cfg.use_causal_mask ? { use_causal_mask: true } : {}), ...(tensors[3] ? { attention_mask: tensors[3] } : {}) } } as JsonObject;
      }
      if (RECURRENT.has(String(l.class_name)) && tensors.length > 1) return { args: [tensors[0]!], kwargs: { initial_state: tensors.slice(1) } } as JsonObject;
      return { args: tensors.length === 1 ? [tensors[0]!] : [tensors], kwargs: {} } as JsonObject;
    });
    const first = ((l.inbound_nodes as Json[][])[0] ?? []).map((r) => shapeOf(...(r as [string, number])));
    const buildShape: Json = first.length === 1 ? first[0]! : first;
    const { name: _n, trainable, use_causal_mask: _causal, ...rest } = cfg;
    const hub = HUB_LAYERS[String(l.class_name)];
    return {
      ...obj(hub?.module ?? 'keras.layers', String(l.class_name), { name, trainable: trainable ?? true, ...layerConfig(rest) }, hub?.registered ?? null),
      // Keras 3's MultiHeadAttention.get_build_config names its three shapes.
      build_config: l.class_name === 'MultiHeadAttention'
        ? { query_shape: first[0] ?? null, value_shape: first[1] ?? null, key_shape: first[2] ?? null }
        : { input_shape: buildShape },
      name,
      inbound_nodes: nodes,
    } as JsonObject;
  });
  return {
    ...obj('keras.src.models.functional', 'Functional', {
      name: config.name ?? 'model',
      trainable: true,
      layers,
      input_layers: triples(config.input_layers as Json[]),
      output_layers: triples(config.output_layers as Json[]),
    }, 'Functional'),
    build_config: { input_shape: null },
  };
}
