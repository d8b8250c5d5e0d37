/**
 * What generated builders build with: a `Scope` per level of the id hierarchy (the model,
 * a block call, a loop iteration, a branch), which names layers exactly as the compiler names
 * graph nodes (src/expand/instantiate.ts) and creates them exactly as the interpreter does
 * (src/backends/tfjs: Keras defaults filled from the op registry, then `tfjsLayerSpec`).
 *
 * TensorFlow.js is never imported here: the generated module passes its namespace in.
 */
import type * as TF from '@tensorflow/tfjs';
import { builtinRegistry, extraOutputs, type AttrDef, type OpRegistry } from '../ops/index.js';
import { idOfLayerName, layerName, tfjsLayerSpec, type TfjsValue } from '../backends/tfjs/config.js';
import { applyLayer, materialize } from '../backends/tfjs/interpreter.js';
import { layerFactory } from '../backends/tfjs/custom-layers.js';
import { shareRepeatedInputs } from '../backends/tfjs/repeated-inputs.js';
import { show, typeName } from '../expr/evaluate.js';
import { limitsWith, type Limits } from '../limits.js';
import { Msg, Say, type Said } from '../diagnostics/messages.js';
import { Names, arityProblem, fillAttrs, findSharedCall, isInputShape, isRepeatCount, joinPath, loopSuffix, shareBase, sharedOriginal, type ShareMap } from '../expand/engine.js';
import { fail, failWith } from './errors.js';
import { assert, bindParams, type ParamSpec } from './params.js';

export type Tf = typeof TF;
export type Tensor = TF.SymbolicTensor;
/** Keras attributes of a layer, in snake_case as in specs; omitted ones take Keras' defaults. */
export type Attrs = Readonly<Record<string, unknown>>;
/** A branch of `branches`: builds its layers in scope `s`, starting from `x` (the branches' input). */
export type Branch = (s: Scope, x: Tensor) => Tensor;

type Factory = (config: unknown) => TF.layers.Layer;



/** State shared by the scopes of one model. */
class Graph {
  readonly inputs: Tensor[] = [];
  readonly layers: TF.layers.Layer[] = [];
  nodes = 0;
  /** The names of every scope, by path: the compiler's naming rules (src/expand/engine.ts). */
  readonly names = new Names();
  /** The layer applied at each node id, its op, and the node id of each tensor made (for `share:`). */
  readonly layerAt = new Map<string, { layer: TF.layers.Layer; op: string }>();
  readonly nodeOf = new Map<Tensor, string>();
  /** A layer's outputs after the first (a recurrent layer's states with return_state), by name, by its first output. */
  readonly moreOutputs = new Map<Tensor, { id: string; op: string; outputs: Map<string, Tensor> }>();
  /** The bound arguments of each block call, by the call's scope path (a `share:` of the call takes them again). */
  readonly callArgs = new Map<string, unknown>();
  private readonly attrDefs = new Map<string, [string, AttrDef][]>();
  constructor(readonly tf: Tf, readonly name: string, readonly registry: OpRegistry, readonly limits: Readonly<Limits>) {}

  /** After a failure: the layers built so far own weights that no model will dispose. */
  abandon(): void {
    for (const l of this.layers.splice(0)) if (l.built) l.dispose();
  }

  attrsOf(op: string): [string, AttrDef][] {
    let e = this.attrDefs.get(op);
    if (!e) {
      const def = this.registry.get(op);
      if (!def || op === 'input') failWith(Say.unknownOp(op));
      this.attrDefs.set(op, (e = Object.entries(def.attrs)));
    }
    return e;
  }
}

export class Scope {
  protected constructor(
    protected readonly graph: Graph,
    /** The id prefix of the layers made here ('' for the model). */
    readonly path: string,
    /** `block 'name'` for a block call's scope. */
    private readonly owner?: string,
    /** Inside a block call applied again by `share:`: the layers are those of the original call. */
    private readonly shared?: ShareMap,
    /** Set by `sharing`: the scope path of the call that the next `block` applies again. */
    private readonly pending?: string,
  ) {}

  /** Fail as the compiler does, first disposing the layers built so far (their weights would leak). */
  protected fail(s: Said): never {
    this.graph.abandon();
    return failWith(s);
  }

  /** Run `f`; if it throws, dispose the layers built so far and rethrow. */
  protected guard<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      this.graph.abandon();
      throw e;
    }
  }

  // ---- names (src/expand/engine.ts, as the compiler names) --------------------

  /** Ids given to items of this scope's sequence: generated names avoid them. */
  reserve(...ids: string[]): void {
    this.graph.names.reserve(this.path, ids);
  }

  private alloc(base: string): string {
    return this.graph.names.alloc(this.path, base);
  }

  private claim(id: string): string {
    const dup = this.graph.names.claim(this.path, id);
    if (dup) this.fail(dup);
    return id;
  }

  private join(name: string): string {
    return joinPath(this.path, name);
  }

  private child(name: string, owner?: string): Scope {
    return new Scope(this.graph, this.join(name), owner, this.shared);
  }

  /** Record the node `id` made by `layer` (of op `op`), whose output is `out`. */
  private made(id: string, op: string, layer: TF.layers.Layer, out: Tensor): Tensor {
    this.graph.layerAt.set(id, { layer, op });
    this.graph.nodeOf.set(out, id);
    return out;
  }

  // ---- items -------------------------------------------------------------------

  /** A layer (`- conv2d: {...}`), applied to `input` (a list for merges); named `id` or after the op. */
  layer(op: string, attrs: Attrs, input: Tensor | readonly Tensor[], id?: string): Tensor {
    const name = id !== undefined ? this.claim(id) : undefined;
    return this.node(op, attrs, Array.isArray(input) ? input : [input as Tensor], name);
  }

  private node(op: string, attrs: Attrs, inputs: readonly Tensor[], name: string | undefined): Tensor {
    const g = this.graph;
    const defs = g.attrsOf(op);
    const def = g.registry.get(op)!;
    const { attrs: full, problem } = fillAttrs(op, defs, new Map(Object.entries(attrs)));
    if (problem) this.fail(problem);
    const arity = arityProblem(def.arity, op, inputs.length, def.states);
    if (arity) this.fail(arity);
    if (++g.nodes > this.graph.limits.maxExpandedNodes) this.fail(Say.nodeLimit(this.graph.limits.maxExpandedNodes));
    const id = this.join(name ?? this.alloc(op));
    if (this.shared) {
      const original = sharedOriginal(this.shared, id);
      const at = g.layerAt.get(original);
      if (!at || at.op !== op) this.fail(Say.sharedCallDiffers(this.shared.from, id, at?.op, op));
      return this.made(id, op, at.layer, this.guard(() => this.applied(id, op, full, at.layer, inputs)));
    }
    const spec = tfjsLayerSpec({ id, op, attrs: full }, g.registry);
    const factory: Factory | undefined = layerFactory(g.tf, spec);
    if (!factory) this.fail(Say.missingFactory(spec.factory));
    const layer = this.guard(() => factory(materialize(g.tf, spec.config as TfjsValue)));
    g.layers.push(layer);
    const out = this.guard(() => this.applied(id, op, full, layer, inputs));
    // TensorFlow.js builds layers whose output has no elements (a kernel larger than its input);
    // the compiler refuses them (MS5002), and so does the builder.
    if (out.shape.some((d) => d !== null && d < 1)) {
      const dims = (shape: readonly (number | null)[]) => shape.map((d) => d ?? 'None').join(', ');
      this.fail(Say.emptyOutput(op, id, inputs.map((t) => dims(t.shape)).join('), ('), dims(out.shape)));
    }
    return this.made(id, op, layer, out);
  }

  /** Apply `layer` (node `id`) to `inputs`: its first output; the others (a recurrent layer's states) are kept for `output()`. */
  private applied(id: string, op: string, attrs: Attrs, layer: TF.layers.Layer, inputs: readonly Tensor[]): Tensor {
    const def = this.graph.registry.get(op)!;
    const out = applyLayer(layer, inputs, def.states !== undefined);
    const names = extraOutputs(def, attrs);
    if (names.length) this.graph.moreOutputs.set(out[0]!, { id, op, outputs: new Map(names.map((n, k) => [n, out[k + 1]!])) });
    return out[0]!;
  }

  /** `enc.state_h`: the output `name` of the layer whose first output is `t` (a recurrent layer's state, with return_state). */
  output(t: Tensor, ref: string, name: string): Tensor {
    const more = this.graph.moreOutputs.get(t);
    const base = ref.slice(0, -name.length - 1);
    if (!more) {
      const node = this.graph.nodeOf.get(t);
      const at = node === undefined ? undefined : this.graph.layerAt.get(node);
      return at && this.graph.registry.get(at.op)?.states ? this.fail(Say.noStatesReturned(ref, base, at.op)) : this.fail(Say.notMultiOutput(ref, base, at ? `a ${at.op} layer` : 'not a layer'));
    }
    return more.outputs.get(name) ?? this.fail(Say.noOutputOfThatName(ref, base, more.op, [...more.outputs.keys()]));
  }

  /** `share: <id>` of a layer (with or without weights): applies the layer that made `target` again. */
  share(target: Tensor, input: Tensor, id?: string): Tensor {
    const name = id !== undefined ? this.claim(id) : undefined;
    const layer = target.sourceLayer as TF.layers.Layer;
    if (++this.graph.nodes > this.graph.limits.maxExpandedNodes) this.fail(Say.nodeLimit(this.graph.limits.maxExpandedNodes));
    // The node is named after the original layer (`conv`, `conv_1`, ...), unless the item has an id.
    const own = this.join(name ?? this.alloc(shareBase(idOfLayerName(layer.name))));
    const op = this.graph.layerAt.get(this.graph.nodeOf.get(target) ?? '')?.op ?? layer.getClassName();
    return this.made(own, op, layer, this.guard(() => layer.apply(input) as Tensor));
  }

  /**
   * `share: <id>` of a block call (`target`, its output; `name`, its id): the scope to call the
   * block's function with, so that it applies that call's layers again, with its arguments.
   */
  sharing(target: Tensor, name: string): Scope {
    const node = this.graph.nodeOf.get(target);
    const call = node === undefined ? undefined : findSharedCall(this.graph.callArgs.keys(), this.path, name, node);
    if (call === undefined) this.fail(Say.shareNotALayer(name, 'not a block call made by this model'));
    return new Scope(this.graph, this.path, this.owner, this.shared, call);
  }

  /** The arguments of a shared call's function: the block's scope takes the original call's instead. */
  sharedArgs<T>(): T {
    return undefined as T;
  }

  /** The scope of a block call: named `id`, or after the block (`resnet_layer`, `resnet_layer_1`, ...). */
  block(name: string, id?: string): Scope {
    let scope: Scope;
    if (this.pending === undefined) scope = this.child(id !== undefined ? this.claim(id) : this.alloc(name), `block '${name}'`);
    else {
      const path = this.join(id !== undefined ? this.claim(id) : this.alloc(shareBase(this.pending)));
      scope = new Scope(this.graph, path, `block '${name}'`, { from: this.pending, to: path });
    }
    // Known as a call (for `share:`) even when the block has no params to bind.
    this.graph.callArgs.set(scope.path, this.pending === undefined ? undefined : this.graph.callArgs.get(this.pending));
    return scope;
  }

  /** The block's arguments, checked against its params (defaults filled in); a shared call's are the original call's. */
  args<T>(params: readonly ParamSpec[], given: Partial<T> | undefined): T {
    const args = this.shared?.to === this.path
      ? (this.graph.callArgs.get(this.shared.from) as T)
      : this.guard(() => bindParams<T>(params, given, this.owner ?? 'spec'));
    this.graph.callArgs.set(this.path, args);
    return args;
  }

  /** An `assert:` of a block (or of the spec): its message and the values of its variables, as MS4006. */
  assert(condition: unknown, message: string, vars: Readonly<Record<string, unknown>> = {}): void {
    this.guard(() => assert(condition, message, vars));
  }

  /** `repeat: count`: yields the counter and the scope of each iteration (`block0`, `block1`, ...). */
  *repeat(prefix: string, count: unknown, id?: string): Generator<[number, Scope], void, undefined> {
    if (id !== undefined) this.claim(id);
    if (!isRepeatCount(count)) this.fail(Say.repeatCount(`${typeName(count)} ${show(count)}`));
    if (count > this.graph.limits.maxExpandedNodes) this.fail(Say.repeatOverLimit(count, this.graph.limits.maxExpandedNodes));
    for (let i = 0; i < count; i++) yield [i, this.child(this.alloc(`${prefix}${loopSuffix('repeat', i, i)}`))];
  }

  /** `for: var, in: values`: yields each value and the scope of its iteration (`stage0`, `act_relu`, ...). */
  for<T>(prefix: string, values: readonly T[], id?: string): Generator<[T, Scope], void, undefined>;
  for(prefix: string, values: unknown, id?: string): Generator<[unknown, Scope], void, undefined>;
  *for(prefix: string, values: unknown, id?: string): Generator<[unknown, Scope], void, undefined> {
    if (id !== undefined) this.claim(id);
    if (!Array.isArray(values)) this.fail(Say.forValues(`${typeName(values)} ${show(values)}`));
    const list = [...(values as unknown[])];
    for (let i = 0; i < list.length; i++) {
      const v = list[i];
      yield [v, this.child(this.alloc(`${prefix}${loopSuffix('for', v, i)}`))];
    }
  }

  /**
   * `branches:` each branch is built in its own scope (`branch0`, `branch1`, ...) from `input`,
   * then the outputs are merged by `merge` (named `id` or after the merge). One branch without
   * merge attributes makes no merge layer.
   */
  branches(merge: string, attrs: Attrs, input: Tensor | undefined, branches: readonly Branch[], id?: string): Tensor {
    const name = id !== undefined ? this.claim(id) : undefined;
    const outs = branches.map((build, j) => {
      const child = this.child(this.alloc(`branch${j}`));
      const out = this.guard(() => build(child, input as Tensor)) as Tensor | undefined;
      if (out === undefined) this.fail(Say.branchNoInput());
      return out;
    });
    if (outs.length === 1 && Object.keys(attrs).length === 0) return outs[0]!;
    return this.node(merge, attrs, outs, name);
  }
}

/** The model's scope: options, inputs and the finished model besides the items. */
export class ModelScope extends Scope {
  /** `limits`: over the defaults, as `CompileOptions.limits` (the node limit is the one a builder meets). */
  constructor(tf: Tf, name: string, registry: OpRegistry = builtinRegistry(), limits?: Partial<Limits>) {
    super(new Graph(tf, name, registry, limitsWith(limits)), '');
  }

  /** The spec's options, checked against its params (defaults filled in). */
  options<T>(params: readonly ParamSpec[], given: Partial<T> | undefined): T {
    return bindParams<T>(params, given, 'spec');
  }

  /** A model input (`inputs:`), named as declared. */
  input(name: string, shape: unknown, dtype: 'float32' | 'int32' | 'bool' = 'float32'): Tensor {
    if (!isInputShape(shape)) this.fail(Say.inputShape(name, show(shape)));
    this.graph.names.take(this.path, name);
    const t = this.graph.tf.input({ shape: [...(shape as number[])], dtype, name: layerName(name) });
    this.graph.inputs.push(t);
    return t;
  }

  /** The `tf.LayersModel` from the inputs to `outputs`. Layers that reach no output are disposed. */
  model(outputs: readonly (Tensor | undefined)[]): TF.LayersModel {
    if (outputs.length === 0 || outputs.some((o) => o === undefined)) this.fail(Say.modelNoOutput());
    const outs = outputs as Tensor[];
    const g = this.graph;
    const m = shareRepeatedInputs(g.tf.model({ inputs: g.inputs, outputs: outs.length === 1 ? outs[0]! : outs, name: g.name }));
    const kept = new Set(m.layers);
    for (const l of g.layers) if (!kept.has(l) && l.built) l.dispose();
    return m;
  }
}

/** `shape(x)` in generated code: the static shape of a tensor, without the batch dimension, as the compiler infers it. */
export function shapeOf(t: Tensor | undefined, what: string): number[] {
  if (t === undefined) fail(Msg.exprType.code, `${what}: there is no input here`);
  const dims = t.shape.slice(1);
  if (!dims.every((d): d is number => typeof d === 'number')) fail(Msg.exprType.code, `${what}: the shape has a dimension not known until run time`);
  return dims as number[];
}

/** `channels(x)` in generated code: the last dimension of the tensor's shape. */
export function channelsOf(t: Tensor | undefined, what: string): number {
  const dims = shapeOf(t, what);
  if (dims.length === 0) fail(Msg.exprType.code, `${what}: the shape has no dimensions`);
  return dims[dims.length - 1]!;
}

/** The scope of a new model called `name`, built with the TensorFlow.js namespace `tf` (and other `limits` than the defaults). */
export function model(tf: Tf, name: string, limits?: Partial<Limits>): ModelScope {
  return new ModelScope(tf, name, builtinRegistry(), limits);
}
