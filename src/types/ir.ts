/**
 * The graph IR: the spec instantiated for one set of parameter values.
 * Nodes map one-to-one to Keras layers (inputs included), in definition order.
 */
import type { SourceSpan } from './diagnostic.js';
import type { Shape } from './shape.js';

export interface IRNode {
  /** Stable hierarchical id, e.g. `stage1/block0/branch0/resnet_layer/conv2d`. */
  id: string;
  /** Op name from the registry (`input`, `conv2d`, `add`, ...). */
  op: string;
  /** Attributes with expressions evaluated and Keras defaults filled in. */
  attrs: Readonly<Record<string, unknown>>;
  /** Ids of the nodes feeding this one, in order. */
  inputs: readonly string[];
  /**
   * Which output of each input node is taken (Keras JSON's tensor_index), where one is not the
   * first: absent when every input takes output 0 (all but references such as `enc.state_h`).
   */
  ports?: readonly number[];
  /** For `share:` nodes: the id of the node whose weights this one reuses. */
  sharedWith?: string;
  /** The spec item this node came from. */
  span: SourceSpan;
  /** Block call sites that led here, innermost first. */
  trace: readonly SourceSpan[];
  /** Scopes enclosing this node (block calls, loop iterations, branches), outermost first. */
  scopes: readonly Scope[];
}

/** A level of the id hierarchy and what made it. */
export interface Scope {
  /** The id prefix of the nodes inside, e.g. `stage1/block0`. */
  path: string;
  kind: 'block' | 'repeat' | 'for' | 'branch';
  /** The block's name, the loop variable's value (`stage = 1`), or `branch 0 of add`. */
  label: string;
  /** A block call: its params as bound (given or default), in declaration order, and the block's doc. */
  call?: { args: readonly ScopeArg[]; doc?: string };
  /** A loop iteration: which loop (a key shared by its iterations), the loop variable and the index. */
  loop?: { key: string; name: string; index: number };
}

/** A block parameter's value in one call: `given` when the call site wrote it. */
export interface ScopeArg {
  name: string;
  type: string;
  value: unknown;
  given: boolean;
}

export interface GraphIR {
  name: string;
  nodes: readonly IRNode[];
  /** Ids of the input nodes, in declaration order. */
  inputs: readonly string[];
  /** Ids of the output nodes. */
  outputs: readonly string[];
  /** Which output of each output node, as `IRNode.ports`: absent when all are output 0. */
  outputPorts?: readonly number[];
  /** Parameter values the graph was instantiated with. */
  params: Readonly<Record<string, unknown>>;
}

export interface WeightSpec {
  name: string;
  shape: readonly number[];
  trainable: boolean;
}

export interface ParamCount {
  trainable: number;
  nonTrainable: number;
}

export interface TypedNode extends IRNode {
  /** The shape of the (first) output. */
  outputShape: Shape;
  /** Every output's shape, where the node has several (a recurrent layer with return_state); else absent. */
  outputShapes?: readonly Shape[];
  inputShapes: readonly Shape[];
  /** Weights the layer creates (empty for a `share:` node: it owns none). */
  weights: readonly WeightSpec[];
  params: ParamCount;
  /** Multiply-accumulates per example (conv, dense and their kin). */
  macs: number;
}

export interface TypedGraph extends Omit<GraphIR, 'nodes'> {
  nodes: readonly TypedNode[];
  totals: ParamCount & { total: number; macs: number };
}

/** Output `port` of node `id` as one string, for maps keyed by tensor: the id itself for port 0. */
export function tensorKey(id: string, port: number | undefined): string {
  return port ? `${id}\u0001${port}` : id;
}
