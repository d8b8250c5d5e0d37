/**
 * `modelspec import`: a Keras / TensorFlow.js topology JSON (what `model.to_json()`,
 * tfjs' `model.toJSON()` or a tfjs `model.json` holds) -> a spec. Layers keep
 * their order and names (as `id:`), merges and branches become `from:`
 * references, further applications of a shared layer become `share:` items.
 * Attributes equal to the Keras default are left out, so the spec reads like
 * hand-written code.
 */
import type { OpDef, OpRegistry } from '../../ops/index.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

interface KerasLayer {
  name: string;
  class_name: string;
  config: JsonObject;
  inbound_nodes: Json[];
}

export class ImportError extends Error {}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();

/** A reference [name, node, tensor], or a list of them (Keras 3 writes one input as one triple). */
function refsOf(v: Json | undefined): [string, number, number][] {
  const list = (v ?? []) as Json[];
  const one = list.length > 0 && typeof list[0] === 'string';
  return (one ? [list] : list).map((r) => {
    const a = r as Json[];
    return [String(a[0]), Number(a[1] ?? 0), Number(a[2] ?? 0)];
  });
}

/** The layer's name: Keras 3 puts it beside the config, Keras 2 Sequential only inside. */
const nameOf = (l: JsonObject, i: number): string =>
  typeof l.name === 'string' ? l.name : typeof (l.config as JsonObject | undefined)?.name === 'string' ? String((l.config as JsonObject).name) : `layer_${i}`;

/**
 * A Sequential model (Keras 2 or 3) as the functional topology it stands for: an input
 * layer (Keras 3 lists an InputLayer; Keras 2 puts `batch_input_shape` on the first layer,
 * or the model's `build_input_shape`), then each layer fed by the one before.
 */
function sequentialTopology(t: JsonObject, config: JsonObject): Topology {
  const raw = (config.layers as JsonObject[]).map((l, i): JsonObject & { name: string } => ({ ...l, name: nameOf(l, i) }));
  const layers: KerasLayer[] = [];
  let input: KerasLayer | undefined;
  let rest = raw;
  if (raw[0]?.class_name === 'InputLayer') {
    input = { name: raw[0].name, class_name: 'InputLayer', config: raw[0].config as JsonObject, inbound_nodes: [] };
    rest = raw.slice(1);
  } else {
    const first = (raw[0]?.config ?? {}) as JsonObject;
    const shape = first.batch_input_shape ?? first.batch_shape ?? config.build_input_shape ?? (t.build_config as JsonObject | undefined)?.input_shape;
    if (!Array.isArray(shape)) throw new ImportError('a Sequential model without an input shape (no InputLayer, batch_input_shape or build_input_shape): build the model before saving it');
    input = { name: 'input', class_name: 'InputLayer', config: { batch_input_shape: shape, ...(typeof first.dtype === 'string' ? { dtype: first.dtype } : {}) }, inbound_nodes: [] };
  }
  layers.push(input);
  let previous = input.name;
  for (const l of rest) {
    layers.push({ name: l.name as string, class_name: String(l.class_name), config: (l.config ?? {}) as JsonObject, inbound_nodes: [[[previous, 0, 0, {}]]] });
    previous = l.name as string;
  }
  return { name: typeof config.name === 'string' ? config.name : 'imported', layers, inputs: [[input.name, 0, 0]], outputs: [[previous, 0, 0]] };
}

interface Topology { name: string; layers: KerasLayer[]; inputs: [string, number, number][]; outputs: [string, number, number][] }

/**
 * Keras' topology from the JSON forms it comes in: Keras 2 and Keras 3 functional and
 * Sequential configs (`model.to_json()`, the `config.json` of a `.keras` file), a tfjs
 * `model.json` (`modelTopology`), an `.h5`-style `model_config`.
 */
function topologyOf(json: JsonObject): Topology {
  let t: JsonObject = json;
  if (t.modelTopology && typeof t.modelTopology === 'object') t = t.modelTopology as JsonObject;
  if (t.model_config && typeof t.model_config === 'object') t = t.model_config as JsonObject;
  const config = t.config as JsonObject | undefined;
  // Keras 2 Sequential may be a bare list of layers.
  if (t.class_name === 'Sequential' && Array.isArray(config)) return sequentialTopology(t, { layers: config });
  if (!config || !Array.isArray(config.layers)) throw new ImportError('not a Keras model topology: no config.layers');
  if (t.class_name === 'Sequential') return sequentialTopology(t, config);
  return {
    name: typeof config.name === 'string' ? config.name : 'imported',
    layers: (config.layers as JsonObject[]).map((l, i) => ({ ...l, name: nameOf(l, i) }) as unknown as KerasLayer),
    inputs: refsOf(config.input_layers),
    outputs: refsOf(config.output_layers),
  };
}

/**
 * The inbound tensors of each application of a layer: [[layer, nodeIndex, tensorIndex], ...] per
 * node, in modelspec's input order. Tensors Keras passes as call arguments come after the
 * positional ones: MultiHeadAttention's value and key (Keras 2 writes `{value: [...]}` in the first
 * tensor's kwargs) and attention_mask (the fourth input; the key is the value when not given), a
 * recurrent layer's initial_state (Keras 3's kwarg; Keras 2 lists them as inbound tensors already).
 */
function inboundOf(layer: KerasLayer): [string, number, number][][] {
  type T = [string, number, number];
  const ref = (r: Json): T => [String((r as Json[])[0]), Number((r as Json[])[1] ?? 0), Number((r as Json[])[2] ?? 0)];
  const fromKwargs = (refs: T[], kwargs: JsonObject, one: (v: Json) => T[]): T[] => {
    const at = (k: string) => (kwargs[k] === undefined || kwargs[k] === null ? [] : one(kwargs[k]!));
    const [value, key, mask, states] = [at('value'), at('key'), at('attention_mask'), at('initial_state')];
    const out = [...refs, ...value, ...key];
    if (mask.length) out.push(...(out.length === 2 ? [out[1]!] : []), ...mask);
    return [...out, ...states];
  };
  return (layer.inbound_nodes ?? []).map((node) => {
    if (Array.isArray(node)) {
      const refs = node.map(ref);
      const kwargs = ((node[0] as Json[] | undefined)?.[3] ?? {}) as JsonObject;
      // Keras 2 kwargs tensors: [name, node, tensor] (or a list of them).
      const one = (v: Json): T[] => (Array.isArray(v) && Array.isArray(v[0]) ? (v as Json[]).map(ref) : Array.isArray(v) ? [ref(v)] : []);
      return fromKwargs(refs, typeof kwargs === 'object' && !Array.isArray(kwargs) ? kwargs : {}, one);
    }
    // Keras 3: {args: [{class_name: '__keras_tensor__', config: {keras_history: [name, node, index]}}, ...], kwargs}
    const history = (a: Json): T => {
      const h = (((a as JsonObject).config ?? {}) as JsonObject).keras_history as Json[] | undefined;
      if (!Array.isArray(h)) throw new ImportError(`layer '${layer.name}': an input tensor without keras_history`);
      return [String(h[0]), Number(h[1] ?? 0), Number(h[2] ?? 0)];
    };
    const isTensor = (a: Json) => (a as JsonObject | null)?.class_name === '__keras_tensor__';
    const args = ((node as JsonObject).args ?? []) as Json[];
    const flat = args.flatMap((a) => (Array.isArray(a) ? a : [a])).filter(isTensor);
    const one = (v: Json): T[] => (Array.isArray(v) ? v.filter(isTensor).map(history) : isTensor(v) ? [history(v)] : []);
    return fromKwargs(flat.map(history), ((node as JsonObject).kwargs ?? {}) as JsonObject, one);
  });
}

/** Call arguments modelspec holds as attributes (Keras 3 writes them in the first call's kwargs): MultiHeadAttention's use_causal_mask. */
function withCallArgs(layer: KerasLayer): JsonObject {
  const node = layer.inbound_nodes?.[0];
  const kwargs = node && !Array.isArray(node) ? ((node as JsonObject).kwargs as JsonObject | undefined) : undefined;
  return layer.class_name === 'MultiHeadAttention' && kwargs?.use_causal_mask !== undefined
    ? { ...layer.config, use_causal_mask: kwargs.use_causal_mask! }
    : layer.config;
}

function identifier(name: string, used: Set<string>): string {
  let id = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (!/^[A-Za-z_]/.test(id)) id = `_${id}`;
  let out = id;
  for (let i = 1; used.has(out); i++) out = `${id}_${i}`;
  used.add(out);
  return out;
}

const INITIALIZER_NAMES: Record<string, string> = { le_cun_normal: 'lecun_normal', le_cun_uniform: 'lecun_uniform' };

function namedVarianceScaling(cfg: JsonObject): string | undefined {
  const mode = snake(String(cfg.mode ?? ''));
  const dist = snake(String(cfg.distribution ?? ''));
  const normal = dist === 'normal' || dist === 'truncated_normal';
  const family = cfg.scale === 2 && mode === 'fan_in' ? 'he' : cfg.scale === 1 && mode === 'fan_avg' ? 'glorot' : cfg.scale === 1 && mode === 'fan_in' ? 'lecun' : undefined;
  if (!family || (!normal && dist !== 'uniform')) return undefined;
  return `${family}_${normal ? 'normal' : 'uniform'}`;
}

/** A Keras config value -> our attribute value. */
function attrValue(key: string, v: Json): unknown {
  // Keras-hub layers (PositionEmbedding) call theirs just `initializer`.
  const initializer = key.endsWith('_initializer') || key === 'initializer';
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.class_name === 'string') {
    const cls = v.class_name;
    const cfg = (v.config ?? {}) as JsonObject;
    if (key.endsWith('_regularizer')) {
      const out: Record<string, number> = {};
      if (typeof cfg.l1 === 'number' && cfg.l1 !== 0) out.l1 = cfg.l1;
      if (typeof cfg.l2 === 'number' && cfg.l2 !== 0) out.l2 = cfg.l2;
      return Object.keys(out).length ? out : null;
    }
    if (initializer) {
      const n = snake(cls);
      // tfjs serialises he_normal, glorot_uniform, ... as the VarianceScaling they are.
      if (n === 'variance_scaling') return namedVarianceScaling(cfg) ?? n;
      return INITIALIZER_NAMES[n] ?? n;
    }
  }
  if ((key === 'activation' || key.endsWith('_activation')) && typeof v === 'string') return v === 'linear' ? null : snake(v);
  // tfjs stores Reshape's -1 as null.
  if (key === 'target_shape' && Array.isArray(v)) return v.map((d) => (d === null ? -1 : d));
  if (initializer && typeof v === 'string') return snake(v);
  return v;
}

/** Collapse [3, 3] to 3 where an attribute takes "an int or a pair". */
function simplify(def: OpDef, key: string, v: unknown): unknown {
  const schema = def.attrs[key]?.schema as { anyOf?: { type?: string }[] } | undefined;
  const intOrPair = schema?.anyOf?.some((s) => s.type === 'integer') && schema.anyOf.some((s) => s.type === 'array');
  if (intOrPair && Array.isArray(v) && (v.length === 1 || (v.length === 2 && v[0] === v[1]))) return v[0];
  if (key === 'axis' && Array.isArray(v) && v.length === 1) return v[0];
  return v;
}

/** YAML flow text for a value: plain where safe, JSON-quoted otherwise. */
export function flow(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(flow).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as object).map(([k, x]) => `${k}: ${flow(x)}`).join(', ')}}`;
  if (typeof v === 'string') {
    return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|y|n)$/i.test(v) ? v : JSON.stringify(v);
  }
  return String(v);
}

const KNOWN_KEYS = ['name', 'trainable', 'dtype', 'data_format', 'batch_input_shape', 'noise_shape', 'kernel_constraint', 'bias_constraint', 'recurrent_constraint', 'depthwise_constraint', 'pointwise_constraint', 'input_dtype', 'autocast', 'module', 'registered_name', 'build_config', 'sparse', 'ragged', 'batch_shape', 'optional', 'implementation', 'time_major'];

/**
 * A Keras layer's config -> the op and its attributes, those equal to Keras' default left out. A
 * wrapper's inner layer (`layer: {class_name, config}`) becomes `layer: {op: attributes}` the same way.
 */
function layerAttrs(name: string, className: string, config: JsonObject, byClass: ReadonlyMap<string, OpDef>, warnings: string[]): { def: OpDef; attrs: Record<string, unknown> } {
  const def = byClass.get(className);
  if (!def) throw new ImportError(`layer '${name}' is a ${className}, which modelspec has no op for`);
  const attrs: Record<string, unknown> = {};
  for (const [key, attr] of Object.entries(def.attrs)) {
    if (!(key in config)) {
      if (attr.required) throw new ImportError(`layer '${name}' (${className}) has no '${key}'`);
      continue;
    }
    let v: unknown;
    if (def.tfjs?.nested?.includes(key)) {
      const inner = (config[key] ?? {}) as JsonObject;
      const cls = typeof inner.class_name === 'string' ? inner.class_name : typeof inner.className === 'string' ? inner.className : '';
      const nested = layerAttrs(`${name}'s ${key}`, cls, (inner.config ?? {}) as JsonObject, byClass, warnings);
      v = { [nested.def.name]: nested.attrs };
    } else {
      const raw = attrValue(key, config[key]!);
      // tfjs writes some enum values in its own spelling (CategoryEncoding's `multiHot`): back to Keras'.
      const tfjsSpelt = Object.entries(def.tfjs?.values?.[key] ?? {}).find(([, t]) => t === raw)?.[0];
      v = simplify(def, key, tfjsSpelt ?? raw);
    }
    if (!attr.required && JSON.stringify(v) === JSON.stringify(attr.default)) continue;
    attrs[key] = v;
  }
  const known = new Set([...Object.keys(def.attrs), ...KNOWN_KEYS]);
  const dropped = Object.entries(config).filter(([k, v]) => !known.has(k) && v !== null);
  if (dropped.length) warnings.push(`${name}: ignored ${dropped.map(([k]) => k).join(', ')}`);
  return { def, attrs };
}

export interface ImportResult {
  yaml: string;
  warnings: string[];
  /** Whether opts.structure wrote the spec (false: the flat spec). */
  structured: boolean;
}

export function importKerasJson(json: unknown, registry: OpRegistry, opts: { source?: string; schemaPath?: string; structure?: (model: ImportedModel) => string | undefined } = {}): ImportResult {
  // `model.to_json()` written with json.dump: a JSON string that holds the JSON.
  if (typeof json === 'string') {
    try { json = JSON.parse(json); } catch { throw new ImportError('the file holds a string that is not JSON'); }
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ImportError('the file does not hold a JSON object');
  const topo = topologyOf(json as JsonObject);
  const byClass = new Map(registry.all().map((op) => [op.kerasClass, op]));
  const warnings: string[] = [];
  const used = new Set<string>();
  const ids = new Map<string, string>(); // keras layer name -> spec id
  for (const l of topo.layers) ids.set(l.name, identifier(l.name, used));
  const outName = (layer: string, node: number) => (node === 0 ? ids.get(layer)! : `${ids.get(layer)!}_${node}`);
  // Output k > 0 of a layer (Keras' tensor_index): a recurrent layer's state, `enc.state_h`.
  const classOf = new Map(topo.layers.map((l) => [l.name, l.class_name]));
  const tensorName = (layer: string, node: number, tensor: number) => {
    if (tensor === 0) return outName(layer, node);
    const state = byClass.get(classOf.get(layer) ?? '')?.states?.[tensor - 1];
    if (state === undefined) throw new ImportError(`layer '${layer}' has no output ${tensor}: only a recurrent layer's states (return_state) are read as further outputs`);
    return `${outName(layer, node)}.${state}`;
  };
  const base = (t: string) => t.replace(/\.[A-Za-z_]+$/, '');

  const inputLines: string[] = [];
  const inputIds: string[] = [];
  interface App { layer: KerasLayer; node: number; inputs: string[]; out: string }
  const apps: App[] = [];
  for (const l of topo.layers) {
    if (l.class_name === 'InputLayer') {
      const shape = (l.config.batch_input_shape ?? l.config.batch_shape) as Json[] | undefined;
      if (!shape) throw new ImportError(`input layer '${l.name}' has no batch_input_shape`);
      const dtype = typeof l.config.dtype === 'string' && l.config.dtype !== 'float32' ? `, dtype: ${l.config.dtype}` : '';
      inputIds.push(ids.get(l.name)!);
      inputLines.push(`  ${ids.get(l.name)}: {shape: ${flow(shape.slice(1))}${dtype}}`);
      continue;
    }
    inboundOf(l).forEach((ins, node) => apps.push({ layer: l, node, inputs: ins.map(([n, k, t]) => tensorName(n, k, t)), out: outName(l.name, node) }));
  }
  // Order applications so each comes after its inputs (shared layers' later applications may be listed early).
  const ready = new Set(topo.layers.filter((l) => l.class_name === 'InputLayer').map((l) => ids.get(l.name)!));
  const ordered: App[] = [];
  const pending = [...apps];
  while (pending.length) {
    const i = pending.findIndex((a) => a.inputs.every((x) => ready.has(base(x))));
    if (i < 0) throw new ImportError('the layers\' connections form a cycle or name missing layers');
    const [a] = pending.splice(i, 1);
    ordered.push(a!);
    ready.add(a!.out);
  }

  const nodes: ImportedNode[] = ordered.map((a) => {
    if (a.node > 0) return { op: 'share', attrs: [], name: a.layer.name, id: a.out, target: ids.get(a.layer.name)!, inputs: a.inputs };
    const { def, attrs } = layerAttrs(a.layer.name, a.layer.class_name, withCallArgs(a.layer), byClass, warnings);
    return { op: def.name, attrs: Object.entries(attrs), name: a.layer.name, id: a.out, inputs: a.inputs };
  });
  const outputs = topo.outputs.map(([n, k, t]) => tensorName(n, k, t));
  const header = [
    ...(opts.schemaPath ? [`# yaml-language-server: $schema=${opts.schemaPath}`] : []),
    'modelspec: 1',
    `name: ${identifier(topo.name, new Set())}`,
    `doc: Imported${opts.source ? ` from ${flow(opts.source)}` : ''} by modelspec import.`,
  ];
  const model: ImportedModel = { header, inputLines, inputs: inputIds, nodes, outputs };
  const structured = opts.structure ? opts.structure(model) : undefined;
  return { yaml: structured ?? flatYaml(model), warnings, structured: structured !== undefined };
}

/** One Keras layer application as an item: its op and attributes (defaults left out), or a `share:` of `target`. */
export interface ImportedNode { op: string; attrs: [string, unknown][]; name: string; id: string; inputs: string[]; target?: string }
/** What the import read, before it is written out: flat here, with recovered structure by ./structure.ts. */
export interface ImportedModel { header: string[]; inputLines: string[]; inputs: string[]; nodes: ImportedNode[]; outputs: string[] }

/** The flat spec: one item per layer application, each with its Keras name as `id:`. */
export function flatYaml(model: ImportedModel): string {
  const lines: string[] = [];
  let previous: string | undefined = model.inputs.length === 1 ? model.inputs[0] : undefined;
  for (const a of model.nodes) {
    const fromText = a.inputs.length === 1 && a.inputs[0] === previous ? '' : `    from: ${a.inputs.length === 1 ? a.inputs[0] : flow(a.inputs)}\n`;
    const head = a.target !== undefined ? `share: ${a.target}` : `${a.op}: {${a.attrs.map(([k, v]) => `${k}: ${flow(v)}`).join(', ')}}`;
    lines.push(`  - ${head}\n    id: ${a.id}\n${fromText}`.trimEnd());
    previous = a.id;
  }
  const outputs = model.outputs;
  const outputsText = outputs.length === 1 && outputs[0] === previous ? '' : `outputs: ${flow(outputs.length === 1 ? outputs[0] : outputs)}\n`;
  return `${model.header.join('\n')}\n\ninputs:\n${model.inputLines.join('\n')}\n\nlayers:\n${lines.join('\n')}\n${outputsText ? `\n${outputsText}` : ''}`;
}
