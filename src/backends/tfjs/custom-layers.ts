/**
 * Layers TensorFlow.js lacks, as Keras defines them (names, defaults, weight shapes and order),
 * written as tfjs layers. An op whose `tfjs` mapping says `custom: true` names one of these
 * classes as its `factory`; `layerFactory()` builds it with `new Class(config)`.
 *
 * The classes are made from the tfjs namespace they are used with (tfjs is only ever loaded
 * lazily, and a generated builder may be given its own copy), once per namespace, and each is
 * registered with `tf.serialization.registerClass`, so a saved model.json that names them
 * loads again (`registerCustomLayers(tf)` before `tf.loadLayersModel`). A library caller who
 * registers an op with a custom layer adds its class with `registerCustomLayer()`.
 *
 * Config keys are tfjs' camelCase (model.toJSON writes them in Keras' snake_case).
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from './backend.js';
import { sequenceLayerFactories } from './sequence-layers.js';
import { makeGruClass } from './gru-reset-after.js';
import { makeRandomSize, makeResizing, makeSpatialDropout } from './image-layers.js';

type Kwargs = Record<string, unknown>;
type Config = Record<string, unknown>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LayerClass = (new (config: any) => TF.layers.Layer) & { className: string };
type Shape = (number | null)[];
/** A tfjs initializer (its class is not exported by name). */
type Init = ReturnType<Tf['initializers']['zeros']>;

/** Custom layer class makers by class name: each gets the tfjs namespace and returns the class. */
const MAKERS = new Map<string, (tf: Tf) => LayerClass>();
const MADE = new WeakMap<object, Map<string, LayerClass>>();

/** Adds a custom layer class (by the `className` it will have) for ops whose mapping is `custom`. */
export function registerCustomLayer(className: string, make: (tf: Tf) => LayerClass): void {
  if (MAKERS.has(className)) throw new Error(`custom layer '${className}' is already registered`);
  MAKERS.set(className, make);
}

/** The class `className` made for this tfjs namespace (and registered for serialization), or undefined. */
export function customLayerClass(tf: Tf, className: string): LayerClass | undefined {
  let made = MADE.get(tf);
  if (!made) MADE.set(tf, (made = new Map()));
  let cls = made.get(className);
  if (!cls) {
    const make = MAKERS.get(className);
    if (!make) return undefined;
    cls = make(tf);
    tf.serialization.registerClass(cls as unknown as TF.serialization.SerializableConstructor<TF.serialization.Serializable>);
    made.set(className, cls);
  }
  return cls;
}

/** Registers every custom layer class with this tfjs (and the sequence layers'), so that model.json files naming them load. */
export function registerCustomLayers(tf: Tf): void {
  sequenceLayerFactories(tf);
  for (const name of MAKERS.keys()) customLayerClass(tf, name);
}

/** How to make the layer of a tfjs spec: `tf.layers[factory]`, or a custom class; undefined when neither exists. */
export function layerFactory(tf: Tf, spec: { factory: string; custom?: boolean }): ((config: unknown) => TF.layers.Layer) | undefined {
  if (spec.custom) {
    const cls = customLayerClass(tf, spec.factory);
    return cls && ((config: unknown) => new cls(config));
  }
  // The sequence layers register the Orthogonal initializer too, for every layer built (a generated
  // builder may be given a tfjs that loadTf never saw).
  const sequence = sequenceLayerFactories(tf);
  const f = (tf.layers as unknown as Record<string, ((config: unknown) => TF.layers.Layer) | undefined>)[spec.factory];
  if (!f) return sequence[spec.factory];
  return (config) => {
    // tfjs' CategoryEncoding and CenterCrop overwrite the shape given to computeOutputShape: give them a copy.
    const layer = f(config);
    const compute = layer.computeOutputShape.bind(layer);
    layer.computeOutputShape = (shape) => compute(JSON.parse(JSON.stringify(shape)) as typeof shape);
    return layer;
  };
}

// ---- helpers shared by the layers ---------------------------------------------------------------

/** An initializer from a config value: tfjs' camelCase name, or a serialized `{className, config}`. */
function initializer(tf: Tf, v: unknown, fallback: string): Init {
  const table = tf.initializers as unknown as Record<string, (c: object) => Init>;
  if (v && typeof v === 'object' && 'getClassName' in v) return v as Init;
  let name = fallback;
  let config: object = {};
  if (typeof v === 'string') name = v;
  else if (v && typeof v === 'object' && 'className' in v) {
    const o = v as { className: string; config?: object };
    name = o.className.charAt(0).toLowerCase() + o.className.slice(1);
    config = o.config ?? {};
  }
  const make = table[name];
  if (!make) throw new Error(`unknown initializer '${name}'`);
  return make(config);
}

const serialInit = (i: Init) => ({ className: i.getClassName(), config: i.getConfig() });

/** The one shape of a layer given one input (tfjs passes a list for a list input). */
const single = (s: Shape | Shape[]): Shape => (Array.isArray(s[0]) ? (s as Shape[])[0]! : (s as Shape));
const tensors = (x: TF.Tensor | TF.Tensor[]): TF.Tensor[] => (Array.isArray(x) ? x : [x]);

// ---- multi_head_attention ----------------------------------------------------------------------

/** Long (~90 lines): one class (build, call, shapes, config) declared over the tfjs instance it is made for. */
registerCustomLayer('MultiHeadAttention', (tf) => {
  class MultiHeadAttention extends tf.layers.Layer {
    static className = 'MultiHeadAttention';
    readonly numHeads: number;
    readonly keyDim: number;
    readonly valueDim: number;
    readonly rate: number;
    readonly useBias: boolean;
    readonly outShape: number | null;
    readonly causal: boolean;
    readonly kernelInit: Init;
    readonly biasInit: Init;
    private w: Record<string, TF.LayerVariable> = {};

    constructor(c: Config) {
      super(c);
      this.numHeads = c.numHeads as number;
      this.keyDim = c.keyDim as number;
      this.valueDim = (c.valueDim as number | null | undefined) ?? this.keyDim;
      this.rate = (c.dropout as number | undefined) ?? 0;
      this.useBias = (c.useBias as boolean | undefined) ?? true;
      this.outShape = (c.outputShape as number | null | undefined) ?? null;
      this.causal = (c.useCausalMask as boolean | undefined) ?? false;
      this.kernelInit = initializer(tf, c.kernelInitializer, 'glorotUniform');
      this.biasInit = initializer(tf, c.biasInitializer, 'zeros');
    }

    /** Inputs: [query, value] or [query, value, key], each (batch, length, features), and the attention mask (batch, T, S). */
    override build(shapes: Shape | Shape[]): void {
      const [q, v, k = v] = shapes as Shape[];
      const h = this.numHeads;
      const dq = q![q!.length - 1] as number, dk = k![k!.length - 1] as number, dv = v![v!.length - 1] as number;
      const out = this.outShape ?? dq;
      // Keras' order: query, key, value (kernel then bias each), then attention_output.
      const dense = (name: string, kernel: number[], bias: number[]) => {
        this.w[`${name}/kernel`] = this.addWeight(`${name}/kernel`, kernel, 'float32', this.kernelInit);
        if (this.useBias) this.w[`${name}/bias`] = this.addWeight(`${name}/bias`, bias, 'float32', this.biasInit);
      };
      dense('query', [dq, h, this.keyDim], [h, this.keyDim]);
      dense('key', [dk, h, this.keyDim], [h, this.keyDim]);
      dense('value', [dv, h, this.valueDim], [h, this.valueDim]);
      dense('attention_output', [h, this.valueDim, out], [out]);
      this.built = true;
    }

    override computeOutputShape(shapes: Shape | Shape[]): Shape {
      const q = (shapes as Shape[])[0]!;
      return [...q.slice(0, -1), this.outShape ?? q[q.length - 1]!];
    }

    /** x (B, T, D) einsum kernel (D, H, d) + bias -> (B, H, T, d). */
    private project(x: TF.Tensor, name: string, d: number): TF.Tensor {
      const [b, t, f] = x.shape as number[];
      const kernel = this.w[`${name}/kernel`]!.read().reshape([f!, this.numHeads * d]);
      let y = tf.matMul(x.reshape([b! * t!, f!]), kernel).reshape([b!, t!, this.numHeads, d]);
      if (this.useBias) y = tf.add(y, this.w[`${name}/bias`]!.read());
      return tf.transpose(y, [0, 2, 1, 3]);
    }

    override call(inputs: TF.Tensor | TF.Tensor[], kwargs: Kwargs): TF.Tensor {
      return tf.tidy(() => {
        const [query, value, key = value] = tensors(inputs);
        const q = tf.mul(this.project(query!, 'query', this.keyDim), 1 / Math.sqrt(this.keyDim));
        const k = this.project(key!, 'key', this.keyDim);
        const v = this.project(value!, 'value', this.valueDim);
        let logits = tf.matMul(q, k, false, true); // (B, H, T, S)
        // Keras' attention mask (B, T, S) (the fourth input), 1 attends and 0 masks, and its causal
        // mask (query t sees keys s <= t), combined by a logical and when both are there (Keras'
        // _compute_attention_mask); its masked softmax adds (1 - mask) * -1e9 (per head).
        const given = tensors(inputs)[3];
        let mask: TF.Tensor | undefined = given ? tf.cast(given, 'float32') : undefined;
        if (this.causal) {
          const [t, s] = logits.shape.slice(2) as [number, number];
          const causal = tf.linalg.bandPart(tf.ones([t, s]), -1, 0);
          mask = mask ? tf.mul(tf.cast(tf.notEqual(mask, 0), 'float32'), causal) : causal;
        }
        if (mask) logits = tf.add(logits, tf.mul(tf.sub(1, mask.rank === 3 ? tf.expandDims(mask, 1) : mask), -1e9));
        let scores = tf.softmax(logits);
        if (kwargs.training && this.rate > 0) scores = tf.dropout(scores, this.rate);
        const [b, t] = query!.shape as number[];
        const o = tf.transpose(tf.matMul(scores, v), [0, 2, 1, 3]).reshape([b! * t!, this.numHeads * this.valueDim]);
        const kernel = this.w['attention_output/kernel']!.read();
        const out = kernel.shape[2]!;
        let y = tf.matMul(o, kernel.reshape([this.numHeads * this.valueDim, out])).reshape([b!, t!, out]);
        if (this.useBias) y = tf.add(y, this.w['attention_output/bias']!.read());
        return y;
      });
    }

    override getConfig(): TF.serialization.ConfigDict {
      return {
        ...super.getConfig(),
        numHeads: this.numHeads,
        keyDim: this.keyDim,
        valueDim: this.valueDim,
        dropout: this.rate,
        useBias: this.useBias,
        outputShape: this.outShape,
        attentionAxes: null,
        ...(this.causal ? { useCausalMask: true } : {}),
        kernelInitializer: serialInit(this.kernelInit),
        biasInitializer: serialInit(this.biasInit),
      } as TF.serialization.ConfigDict;
    }
  }
  return MultiHeadAttention as unknown as LayerClass;
});

// ---- subtract -----------------------------------------------------------------------------------

registerCustomLayer('Subtract', (tf) => {
  class Subtract extends tf.layers.Layer {
    static className = 'Subtract';
    override computeOutputShape(shapes: Shape | Shape[]): Shape {
      return (shapes as Shape[])[0]!;
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      const [a, b] = tensors(inputs);
      return tf.sub(a!, b!);
    }
  }
  return Subtract as unknown as LayerClass;
});

// ---- cropping1d ---------------------------------------------------------------------------------

registerCustomLayer('Cropping1D', (tf) => {
  class Cropping1D extends tf.layers.Layer {
    static className = 'Cropping1D';
    readonly cropping: [number, number];
    constructor(c: Config) {
      super(c);
      const v = c.cropping ?? [1, 1];
      this.cropping = Array.isArray(v) ? [v[0] as number, v[1] as number] : [v as number, v as number];
    }
    override computeOutputShape(s: Shape | Shape[]): Shape {
      const x = single(s);
      return [x[0]!, x[1] === null ? null : x[1]! - this.cropping[0] - this.cropping[1], ...x.slice(2)];
    }
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      const x = tensors(inputs)[0]!;
      const n = x.shape[1]! - this.cropping[0] - this.cropping[1];
      return tf.slice(x, [0, this.cropping[0], 0], [-1, n, -1]);
    }
    override getConfig(): TF.serialization.ConfigDict {
      return { ...super.getConfig(), cropping: this.cropping };
    }
  }
  return Cropping1D as unknown as LayerClass;
});

// ---- global pooling with keepdims (1-D, 2-D, 3-D; channels last) --------------------------------

function globalPooling(className: string, rank: number, max: boolean) {
  return (tf: Tf): LayerClass => {
    class GlobalPooling extends tf.layers.Layer {
      static className = className;
      readonly keepdims: boolean;
      constructor(c: Config) {
        super(c);
        this.keepdims = (c.keepdims as boolean | undefined) ?? false;
        const format = c.dataFormat ?? 'channelsLast';
        if (format !== 'channelsLast' && format !== 'channels_last') throw new Error(`${className}: only channels_last is supported`);
      }
      override computeOutputShape(s: Shape | Shape[]): Shape {
        const x = single(s);
        return this.keepdims ? [x[0]!, ...Array<number>(rank).fill(1), x[x.length - 1]!] : [x[0]!, x[x.length - 1]!];
      }
      override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
        const x = tensors(inputs)[0]!;
        const axes = Array.from({ length: rank }, (_, i) => i + 1);
        return max ? tf.max(x, axes, this.keepdims) : tf.mean(x, axes, this.keepdims);
      }
      override getConfig(): TF.serialization.ConfigDict {
        return { ...super.getConfig(), dataFormat: 'channels_last', keepdims: this.keepdims };
      }
    }
    Object.defineProperty(GlobalPooling, 'name', { value: className });
    return GlobalPooling as unknown as LayerClass;
  };
}

for (const rank of [1, 2, 3]) {
  registerCustomLayer(`GlobalAveragePooling${rank}D`, globalPooling(`GlobalAveragePooling${rank}D`, rank, false));
  registerCustomLayer(`GlobalMaxPooling${rank}D`, globalPooling(`GlobalMaxPooling${rank}D`, rank, true));
}

// ---- position_embedding (Keras-hub PositionEmbedding) -------------------------------------------

registerCustomLayer('PositionEmbedding', (tf) => {
  class PositionEmbedding extends tf.layers.Layer {
    static className = 'PositionEmbedding';
    readonly sequenceLength: number;
    readonly init: Init;
    private embeddings?: TF.LayerVariable;
    constructor(c: Config) {
      super(c);
      this.sequenceLength = c.sequenceLength as number;
      this.init = initializer(tf, c.initializer, 'glorotUniform');
    }
    override build(s: Shape | Shape[]): void {
      const x = single(s);
      this.embeddings = this.addWeight('embeddings', [this.sequenceLength, x[x.length - 1] as number], 'float32', this.init);
      this.built = true;
    }
    override computeOutputShape(s: Shape | Shape[]): Shape {
      return single(s);
    }
    /** The first `length` rows of the table, broadcast over the batch (the input only gives the shape). */
    override call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      return tf.tidy(() => {
        const x = tensors(inputs)[0]!;
        const [, t, d] = x.shape as number[];
        // A sequence of any length (shape [null, d]) is checked here, at run time, as Keras' slice would fail.
        if (t! > this.sequenceLength) throw new Error(`${this.name}: a sequence of length ${t} is longer than position_embedding's sequence_length ${this.sequenceLength}`);
        const rows = tf.slice(this.embeddings!.read(), [0, 0], [t!, d!]);
        return tf.broadcastTo(rows, x.shape);
      });
    }
    override getConfig(): TF.serialization.ConfigDict {
      return { ...super.getConfig(), sequenceLength: this.sequenceLength, initializer: serialInit(this.init) } as TF.serialization.ConfigDict;
    }
  }
  return PositionEmbedding as unknown as LayerClass;
});

// ---- conv2d with groups -------------------------------------------------------------------------

/**
 * Keras' Conv2D with `groups` (tfjs' Conv2D and tf.conv2d have none): the input channels split in
 * `groups`, each convolved with its own filters/groups filters, the results concatenated; kernel
 * (kh, kw, cin/groups, filters) as Keras builds it. It extends tfjs' own Conv2D and is registered
 * under the same class name (so that Keras JSON says Conv2D with groups): with groups 1 (what a
 * loaded model.json without `groups` gets) everything is tfjs' Conv2D's, its config unchanged.
 * Only ops with `groups` > 1 build it (conv2d's mapping: customFor {groups: 1}).
 */
registerCustomLayer('Conv2D', (tf) => {
  const registry = tf.serialization.SerializationMap.getMap().classNameMap as unknown as Record<string, [LayerClass, unknown]>;
  const Base = (registry.Conv2D?.[0] ?? Object.getPrototypeOf(tf.layers.conv2d({ filters: 1, kernelSize: 1 })).constructor) as LayerClass;
  interface ConvFields {
    kernel: TF.LayerVariable; bias: TF.LayerVariable | null; filters: number; kernelSize: number[]; strides: number[];
    padding: 'valid' | 'same'; dilationRate: number[]; useBias: boolean; activation: { apply(x: TF.Tensor): TF.Tensor };
    kernelInitializer: Init; biasInitializer: Init; kernelRegularizer?: unknown; biasRegularizer?: unknown;
  }
  class Conv2D extends Base {
    static override className = 'Conv2D';
    readonly groups: number;
    constructor(c: Config) {
      const { groups = 1, ...rest } = c;
      super(rest);
      this.groups = groups as number;
    }
    private get f(): ConvFields {
      return this as unknown as ConvFields;
    }
    override build(s: Shape | Shape[]): void {
      if (this.groups === 1) return super.build(s);
      const cin = single(s)[3] as number;
      const f = this.f;
      f.kernel = this.addWeight('kernel', [...f.kernelSize, cin / this.groups, f.filters], 'float32', f.kernelInitializer, f.kernelRegularizer as never, true);
      if (f.useBias) f.bias = this.addWeight('bias', [f.filters], 'float32', f.biasInitializer, f.biasRegularizer as never, true);
      this.inputSpec = [{ ndim: 4, axes: { [-1]: cin } }];
      this.built = true;
    }
    override call(inputs: TF.Tensor | TF.Tensor[], kwargs: Kwargs): TF.Tensor | TF.Tensor[] {
      if (this.groups === 1) return super.call(inputs, kwargs);
      return tf.tidy(() => {
        const f = this.f;
        const x = tensors(inputs)[0]! as TF.Tensor4D;
        const xs = tf.split(x, this.groups, 3);
        const ks = tf.split(f.kernel.read() as TF.Tensor4D, this.groups, 3);
        const parts = xs.map((xi, i) => tf.conv2d(xi as TF.Tensor4D, ks[i]! as TF.Tensor4D, f.strides as [number, number], f.padding, 'NHWC', f.dilationRate as [number, number]));
        let y: TF.Tensor = tf.concat(parts, 3);
        if (f.useBias) y = tf.add(y, f.bias!.read());
        return f.activation.apply(y);
      });
    }
    override getConfig(): TF.serialization.ConfigDict {
      return this.groups === 1 ? super.getConfig() : { ...super.getConfig(), groups: this.groups };
    }
  }
  return Conv2D as unknown as LayerClass;
});

// ---- gru with reset_after: true (Keras 2's default; tfjs' GRUCell refuses it) -------------------

registerCustomLayer('GRU', makeGruClass);

// ---- image layers: spatial_dropout2d/3d, resizing, random_width/height (./image-layers.ts) ---------

registerCustomLayer('SpatialDropout2D', makeSpatialDropout(2));
registerCustomLayer('SpatialDropout3D', makeSpatialDropout(3));
registerCustomLayer('Resizing', makeResizing);
registerCustomLayer('RandomHeight', makeRandomSize(1));
registerCustomLayer('RandomWidth', makeRandomSize(2));
