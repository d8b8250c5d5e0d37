/**
 * A tiny, independent mock of the Keras functional API (channels-last, batch dimension left out),
 * written from Keras' documented semantics to serve as a reference for the compiler's output.
 *
 * It imports nothing from src/ on purpose: it must not share any code (and so any bug) with the
 * compiler it checks.
 *
 * What it models:
 * - layers are objects; calling `layer.apply(tensor | tensors)` creates a Node (one application of
 *   the layer) and returns the output tensor, as `layer(x)` does in Keras;
 * - each layer computes its output shape and creates its weights the first time it is called
 *   (Keras `build`), with Keras' weight shapes and trainability;
 * - `new Model(inputs, outputs).layers` lists the layers in the order Keras' Functional model does
 *   (`Functional._map_graph_network` / `_build_map` in keras, `mapGraphNetwork` in tfjs-layers
 *   container.ts): a depth-first walk from the outputs, visiting each node's inbound tensors in
 *   order, records (a) the post-order of nodes and (b) the order in which it first meets each layer;
 *   node depths are then propagated from the outputs (a node's depth is 1 + the max depth of the
 *   nodes it feeds; a layer's depth is the max over its nodes), layers are sorted by decreasing
 *   depth, ties broken by the first-meeting order; model inputs not reached from the outputs get
 *   depth 0 and come first among depth-0 layers.
 */

/** A tensor shape without the batch dimension. */
export type Shape = readonly number[];

export interface Weight {
  name: string;
  shape: readonly number[];
  trainable: boolean;
}

/** Symbolic tensor: its shape and the (layer, node index) that produced it (`_keras_history`). */
export class KerasTensor {
  constructor(
    readonly shape: Shape,
    readonly layer: Layer,
    readonly nodeIndex: number,
  ) {}

  /** The node that produced this tensor. */
  get node(): Node {
    return this.layer.inboundNodes[this.nodeIndex]!;
  }
}

/** One application of a layer to some inbound tensors. */
export class Node {
  constructor(
    readonly layer: Layer,
    readonly inboundTensors: readonly KerasTensor[],
    readonly output: KerasTensor | undefined,
  ) {}

  get isInput(): boolean {
    return this.inboundTensors.length === 0;
  }

  /** The nodes that produced this node's inputs (Keras `Node.parent_nodes`). */
  get parentNodes(): Node[] {
    return this.inboundTensors.map((t) => t.node);
  }
}

// ---------------------------------------------------------------------------------------------
// Auto-naming, as Keras does it: snake_case of the class name, `_1`, `_2`, ... for later instances
// in the same session. The comparison with the compiler ignores names; they only make failures and
// debugging readable.

let uids = new Map<string, number>();

/** Like `keras.backend.clear_session()`: restart the name counters. */
export function clearSession(): void {
  uids = new Map();
}

function uniqueName(prefix: string): string {
  const n = uids.get(prefix) ?? 0;
  uids.set(prefix, n + 1);
  return n === 0 ? prefix : `${prefix}_${n}`;
}

// ---------------------------------------------------------------------------------------------

export abstract class Layer {
  readonly name: string;
  readonly inboundNodes: Node[] = [];
  weights: Weight[] = [];
  private built = false;

  abstract readonly className: string;

  constructor(prefix: string, name?: string) {
    this.name = name ?? uniqueName(prefix);
  }

  /** Output shape for the given input shapes (Keras `compute_output_shape`). Throws on a mismatch. */
  protected abstract computeOutputShape(inputShapes: readonly Shape[]): Shape;

  /** Create the weights from the input shapes (Keras `build`). */
  protected build(_inputShapes: readonly Shape[]): Weight[] {
    return [];
  }

  /** Call the layer on a tensor or a list of tensors (Keras `layer(x)`). */
  apply(inputs: KerasTensor | readonly KerasTensor[]): KerasTensor {
    const list = Array.isArray(inputs) ? (inputs as readonly KerasTensor[]) : [inputs as KerasTensor];
    if (list.length === 0) throw new Error(`${this.name}: called on no inputs`);
    const shapes = list.map((t) => t.shape);
    if (!this.built) {
      this.weights = this.build(shapes);
      this.built = true;
    }
    const shape = this.computeOutputShape(shapes);
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`${this.name}: invalid output shape (${shape.join(', ')})`);
    }
    const output = new KerasTensor(shape, this, this.inboundNodes.length);
    this.inboundNodes.push(new Node(this, list, output));
    return output;
  }

  get trainableParams(): number {
    return this.weights.filter((w) => w.trainable).reduce((s, w) => s + size(w.shape), 0);
  }

  get nonTrainableParams(): number {
    return this.weights.filter((w) => !w.trainable).reduce((s, w) => s + size(w.shape), 0);
  }

  countParams(): number {
    return this.trainableParams + this.nonTrainableParams;
  }

  /** The output shape of the layer's first application. */
  get outputShape(): Shape {
    const node = this.inboundNodes[0];
    if (!node?.output) throw new Error(`${this.name}: the layer has never been called`);
    return node.output.shape;
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function single(layer: Layer, shapes: readonly Shape[]): Shape {
  if (shapes.length !== 1) throw new Error(`${layer.name}: expects one input, got ${shapes.length}`);
  return shapes[0]!;
}

function pair(v: number | readonly [number, number], what: string): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 1)) throw new Error(`${what} must be positive integers, got ${String(v)}`);
  return p;
}

export type Padding = 'valid' | 'same';

/**
 * Keras `conv_utils.conv_output_length`: 'same' keeps ceil(n / stride), 'valid' gives
 * floor((n - k_dilated) / stride) + 1 with k_dilated = (k - 1) * dilation + 1.
 */
export function convOutputLength(n: number, k: number, padding: Padding, stride: number, dilation = 1): number {
  const kd = (k - 1) * dilation + 1;
  if (padding === 'same') return Math.ceil(n / stride);
  return Math.floor((n - kd) / stride) + 1;
}

// ---------------------------------------------------------------------------------------------
// Layers

export class InputLayer extends Layer {
  readonly className = 'InputLayer';
  constructor(readonly shape: Shape, name?: string) {
    super('input', name);
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`Input: invalid shape (${shape.join(', ')})`);
    // An InputLayer owns one node with no inbound tensors; its output is the model input.
    const output = new KerasTensor(shape, this, 0);
    this.inboundNodes.push(new Node(this, [], output));
  }

  protected computeOutputShape(): Shape {
    return this.shape;
  }

  override apply(): KerasTensor {
    throw new Error('an InputLayer cannot be called');
  }
}

/** `keras.Input(shape)`: the symbolic tensor of a new InputLayer (names input_1, input_2, ...). */
export function Input(shape: Shape, name?: string): KerasTensor {
  const n = (uids.get('input') ?? 0) + 1;
  uids.set('input', n);
  const layer = new InputLayer(shape, name ?? `input_${n}`);
  return layer.inboundNodes[0]!.output!;
}

export interface Conv2DArgs {
  filters: number;
  kernel_size: number | readonly [number, number];
  strides?: number | readonly [number, number];
  padding?: Padding;
  dilation_rate?: number | readonly [number, number];
  activation?: string | null;
  use_bias?: boolean;
  kernel_initializer?: string;
  kernel_regularizer?: unknown;
  name?: string;
}

export class Conv2D extends Layer {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly kernel: [number, number];
  readonly strides: [number, number];
  readonly dilation: [number, number];
  readonly padding: Padding;
  readonly useBias: boolean;
  readonly activation: string | null;

  constructor(args: Conv2DArgs) {
    super('conv2d', args.name);
    if (!Number.isInteger(args.filters) || args.filters < 1) throw new Error(`${this.name}: filters must be a positive integer`);
    this.filters = args.filters;
    this.kernel = pair(args.kernel_size, 'kernel_size');
    this.strides = pair(args.strides ?? 1, 'strides');
    this.dilation = pair(args.dilation_rate ?? 1, 'dilation_rate');
    this.padding = args.padding ?? 'valid';
    this.useBias = args.use_bias ?? true;
    this.activation = args.activation ?? null;
  }

  protected override build(shapes: readonly Shape[]): Weight[] {
    const s = single(this, shapes);
    if (s.length !== 3) throw new Error(`${this.name}: expects a rank-3 input (H, W, C), got (${s.join(', ')})`);
    const cin = s[2]!;
    return [
      { name: `${this.name}/kernel`, shape: [this.kernel[0], this.kernel[1], cin, this.filters], trainable: true },
      ...(this.useBias ? [{ name: `${this.name}/bias`, shape: [this.filters], trainable: true }] : []),
    ];
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    const [h, w] = single(this, shapes);
    return [
      convOutputLength(h!, this.kernel[0], this.padding, this.strides[0], this.dilation[0]),
      convOutputLength(w!, this.kernel[1], this.padding, this.strides[1], this.dilation[1]),
      this.filters,
    ];
  }
}

/** BatchNormalization(axis=-1, center=True, scale=True): gamma, beta trainable; moving mean and variance not. */
export class BatchNormalization extends Layer {
  readonly className = 'BatchNormalization';
  constructor(args: { name?: string } = {}) {
    super('batch_normalization', args.name);
  }

  protected override build(shapes: readonly Shape[]): Weight[] {
    const s = single(this, shapes);
    const c = s[s.length - 1]!;
    return [
      { name: `${this.name}/gamma`, shape: [c], trainable: true },
      { name: `${this.name}/beta`, shape: [c], trainable: true },
      { name: `${this.name}/moving_mean`, shape: [c], trainable: false },
      { name: `${this.name}/moving_variance`, shape: [c], trainable: false },
    ];
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    return single(this, shapes);
  }
}

export class Activation extends Layer {
  readonly className = 'Activation';
  constructor(readonly activation: string, args: { name?: string } = {}) {
    super('activation', args.name);
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    return single(this, shapes);
  }
}

abstract class Merge extends Layer {
  protected checkTwoOrMore(shapes: readonly Shape[]): void {
    if (shapes.length < 2) throw new Error(`${this.name}: a merge layer needs at least 2 inputs, got ${shapes.length}`);
  }
}

/** Element-wise sum of inputs of the same shape (no broadcasting in this mock). */
export class Add extends Merge {
  readonly className = 'Add';
  constructor(args: { name?: string } = {}) {
    super('add', args.name);
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    this.checkTwoOrMore(shapes);
    const first = shapes[0]!;
    for (const s of shapes) {
      if (s.length !== first.length || s.some((d, i) => d !== first[i])) {
        throw new Error(`${this.name}: inputs must have the same shape, got ${shapes.map((x) => `(${x.join(', ')})`).join(' and ')}`);
      }
    }
    return first;
  }
}

/** Concatenate(axis=-1): all dimensions but the last must match; the last ones add up. */
export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  constructor(args: { axis?: number; name?: string } = {}) {
    super('concatenate', args.name);
    if ((args.axis ?? -1) !== -1) throw new Error('this mock concatenates on the last axis only');
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    this.checkTwoOrMore(shapes);
    const first = shapes[0]!;
    for (const s of shapes) {
      if (s.length !== first.length || s.slice(0, -1).some((d, i) => d !== first[i])) {
        throw new Error(`${this.name}: shapes must match except on the last axis, got ${shapes.map((x) => `(${x.join(', ')})`).join(' and ')}`);
      }
    }
    return [...first.slice(0, -1), shapes.reduce((sum, s) => sum + s[s.length - 1]!, 0)];
  }
}

/** `keras.layers.add([x, y])`. */
export function add(inputs: readonly KerasTensor[]): KerasTensor {
  return new Add().apply(inputs);
}

/** `keras.layers.concatenate([x, y])` (axis -1). */
export function concatenate(inputs: readonly KerasTensor[]): KerasTensor {
  return new Concatenate().apply(inputs);
}

interface PoolArgs {
  pool_size?: number | readonly [number, number];
  strides?: number | readonly [number, number] | null;
  padding?: Padding;
  name?: string;
}

abstract class Pooling2D extends Layer {
  readonly pool: [number, number];
  readonly strides: [number, number];
  readonly padding: Padding;

  constructor(prefix: string, args: PoolArgs) {
    super(prefix, args.name);
    this.pool = pair(args.pool_size ?? 2, 'pool_size');
    // strides=None means strides = pool_size.
    this.strides = args.strides == null ? this.pool : pair(args.strides, 'strides');
    this.padding = args.padding ?? 'valid';
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    const s = single(this, shapes);
    if (s.length !== 3) throw new Error(`${this.name}: expects a rank-3 input (H, W, C), got (${s.join(', ')})`);
    return [
      convOutputLength(s[0]!, this.pool[0], this.padding, this.strides[0]),
      convOutputLength(s[1]!, this.pool[1], this.padding, this.strides[1]),
      s[2]!,
    ];
  }
}

/** MaxPooling2D(pool_size=(2, 2), strides=None, padding='valid'); `MaxPool2D` is the same class. */
export class MaxPooling2D extends Pooling2D {
  readonly className = 'MaxPooling2D';
  constructor(args: PoolArgs = {}) {
    super('max_pooling2d', args);
  }
}

export class AveragePooling2D extends Pooling2D {
  readonly className = 'AveragePooling2D';
  constructor(args: PoolArgs = {}) {
    super('average_pooling2d', args);
  }
}

export class Flatten extends Layer {
  readonly className = 'Flatten';
  constructor(args: { name?: string } = {}) {
    super('flatten', args.name);
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    return [size(single(this, shapes))];
  }
}

export class Dropout extends Layer {
  readonly className = 'Dropout';
  constructor(readonly rate: number, args: { name?: string } = {}) {
    super('dropout', args.name);
    if (!(rate >= 0 && rate < 1)) throw new Error(`${this.name}: rate must be in [0, 1)`);
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    return single(this, shapes);
  }
}

export interface DenseArgs {
  units: number;
  activation?: string | null;
  use_bias?: boolean;
  kernel_initializer?: string;
  kernel_regularizer?: unknown;
  name?: string;
}

/** Dense on the last axis: kernel (in, units), bias (units). */
export class Dense extends Layer {
  readonly className = 'Dense';
  readonly units: number;
  readonly useBias: boolean;
  readonly activation: string | null;

  constructor(args: DenseArgs) {
    super('dense', args.name);
    if (!Number.isInteger(args.units) || args.units < 1) throw new Error(`${this.name}: units must be a positive integer`);
    this.units = args.units;
    this.useBias = args.use_bias ?? true;
    this.activation = args.activation ?? null;
  }

  protected override build(shapes: readonly Shape[]): Weight[] {
    const s = single(this, shapes);
    const last = s[s.length - 1]!;
    return [
      { name: `${this.name}/kernel`, shape: [last, this.units], trainable: true },
      ...(this.useBias ? [{ name: `${this.name}/bias`, shape: [this.units], trainable: true }] : []),
    ];
  }

  protected computeOutputShape(shapes: readonly Shape[]): Shape {
    const s = single(this, shapes);
    if (s.length < 1) throw new Error(`${this.name}: expects at least a rank-1 input`);
    return [...s.slice(0, -1), this.units];
  }
}

// ---------------------------------------------------------------------------------------------
// The functional model

export interface LayerRow {
  index: number;
  name: string;
  className: string;
  outputShape: Shape;
  trainable: number;
  nonTrainable: number;
  /** For each application of the layer inside the model: the indices (in `model.layers`) of the layers feeding it. */
  inbound: number[][];
}

export class Model {
  readonly inputs: readonly KerasTensor[];
  readonly outputs: readonly KerasTensor[];
  readonly layers: readonly Layer[];
  /** The nodes that belong to the model (those reached from the outputs, plus the input nodes). */
  readonly nodes: ReadonlySet<Node>;

  constructor(inputs: KerasTensor | readonly KerasTensor[], outputs: KerasTensor | readonly KerasTensor[]) {
    this.inputs = Array.isArray(inputs) ? [...(inputs as readonly KerasTensor[])] : [inputs as KerasTensor];
    this.outputs = Array.isArray(outputs) ? [...(outputs as readonly KerasTensor[])] : [outputs as KerasTensor];
    for (const t of this.inputs) {
      if (!(t.layer instanceof InputLayer)) throw new Error(`model inputs must come from Input(), got ${t.layer.name}`);
    }
    const { layers, nodes } = mapGraphNetwork(this.inputs, this.outputs);
    this.layers = layers;
    this.nodes = nodes;
  }

  get trainableParams(): number {
    return this.layers.reduce((s, l) => s + l.trainableParams, 0);
  }

  get nonTrainableParams(): number {
    return this.layers.reduce((s, l) => s + l.nonTrainableParams, 0);
  }

  countParams(): number {
    return this.trainableParams + this.nonTrainableParams;
  }

  /** One row per layer in `model.layers` order (what `model.summary()` prints). */
  rows(): LayerRow[] {
    const index = new Map(this.layers.map((l, i) => [l, i]));
    return this.layers.map((layer, i) => ({
      index: i,
      name: layer.name,
      className: layer.className,
      outputShape: layer.outputShape,
      trainable: layer.trainableParams,
      nonTrainable: layer.nonTrainableParams,
      inbound: layer.inboundNodes
        .filter((n) => this.nodes.has(n) && !n.isInput)
        .map((n) => n.inboundTensors.map((t) => index.get(t.layer)!)),
    }));
  }
}

/**
 * Keras `Functional._map_graph_network(inputs, outputs)`, layer part.
 *
 * 1. `_build_map`: for each output, a depth-first walk over `_keras_history`; a layer gets its
 *    traversal index the first time one of its nodes is entered; a node is appended to
 *    `nodesInDecreasingDepth` once all its inbound nodes are finished (post-order).
 * 2. For the nodes in reverse post-order (outputs first): depth = its recorded depth (0 if none),
 *    raised to the layer's depth so far; the layer's depth is set to it; each parent node's depth
 *    becomes max(its depth, depth + 1).
 * 3. Inputs not reached get depth 0 and traversal index -1.
 * 4. Layers sorted by decreasing depth, then by traversal index.
 */
function mapGraphNetwork(inputs: readonly KerasTensor[], outputs: readonly KerasTensor[]): { layers: Layer[]; nodes: Set<Node> } {
  const finished = new Set<Node>();
  const inProgress = new Set<Node>();
  const nodesInDecreasingDepth: Node[] = [];
  const layerIndices = new Map<Layer, number>();

  const buildMapHelper = (tensor: KerasTensor): void => {
    const layer = tensor.layer;
    const node = tensor.node;
    if (finished.has(node)) return;
    if (inProgress.has(node)) throw new Error(`the tensor of layer ${layer.name} is part of a cycle`);
    if (!layerIndices.has(layer)) layerIndices.set(layer, layerIndices.size);
    inProgress.add(node);
    if (!node.isInput) for (const t of node.inboundTensors) buildMapHelper(t);
    finished.add(node);
    inProgress.delete(node);
    nodesInDecreasingDepth.push(node);
  };
  for (const out of outputs) buildMapHelper(out);

  const nodeDepths = new Map<Node, number>();
  const layerDepths = new Map<Layer, number>();
  for (let i = nodesInDecreasingDepth.length - 1; i >= 0; i--) {
    const node = nodesInDecreasingDepth[i]!;
    if (!nodeDepths.has(node)) nodeDepths.set(node, 0);
    let depth = nodeDepths.get(node)!;
    depth = Math.max(depth, layerDepths.get(node.layer) ?? 0);
    layerDepths.set(node.layer, depth);
    nodeDepths.set(node, depth);
    for (const parent of node.parentNodes) {
      nodeDepths.set(parent, Math.max(depth + 1, nodeDepths.get(parent) ?? 0));
    }
  }

  const nodes = new Set(nodesInDecreasingDepth);
  for (const t of inputs) {
    if (!layerDepths.has(t.layer)) {
      layerDepths.set(t.layer, 0);
      layerIndices.set(t.layer, -1);
      nodes.add(t.node);
    }
  }

  // Graph-disconnection check, as Keras does: every node's inputs must be computable from the inputs.
  const computable = new Set<KerasTensor>(inputs);
  const byDepth = [...nodes].sort((a, b) => nodeDepths.get(b)! - nodeDepths.get(a)!);
  for (const node of byDepth) {
    if (node.isInput) continue;
    for (const t of node.inboundTensors) {
      if (!computable.has(t)) throw new Error(`Graph disconnected: cannot obtain the value of the input of layer ${node.layer.name}`);
    }
    if (node.output) computable.add(node.output);
  }

  const depthKeys = [...new Set(layerDepths.values())].sort((a, b) => b - a);
  const layers: Layer[] = [];
  for (const d of depthKeys) {
    const atDepth = [...layerDepths.keys()].filter((l) => layerDepths.get(l) === d);
    atDepth.sort((a, b) => layerIndices.get(a)! - layerIndices.get(b)!);
    layers.push(...atDepth);
  }
  const names = new Set<string>();
  for (const l of layers) {
    if (names.has(l.name)) throw new Error(`the name "${l.name}" is used more than once in the model`);
    names.add(l.name);
  }
  return { layers, nodes };
}
