/**
 * Helpers for the ops' PyTorch mappings (`pytorch:` in each OpDef): Python literals, TF's 'same'
 * padding, Keras activations, and the channels-last -> channels-first bookkeeping. Keras holds an
 * image as (H, W, C); the exported module holds it as PyTorch does, (N, C, H, W).
 */
import type { Shape } from '../types/shape.js';
import { pair } from './shape-util.js';
import { UnsupportedByPytorch, type PytorchContext } from './types.js';

/** A Python literal of a number, bool, string, null or list (lists become tuples). */
export function py(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (v === Infinity) return 'float("inf")';
    if (v === -Infinity) return 'float("-inf")';
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return v.length === 1 ? `(${py(v[0])},)` : `(${v.map(py).join(', ')})`;
  throw new UnsupportedByPytorch(`cannot write ${JSON.stringify(v)} as a Python literal`);
}

/** A known dim, or an error: the exported module is built for fixed shapes. */
export function known(shape: Shape): number[] {
  return shape.map((d) => {
    if (d === null) throw new UnsupportedByPytorch('the PyTorch export needs every dimension known (got None)');
    return d;
  });
}

/** An image in Keras terms (H, W, C): held channels-first in PyTorch. */
export const isImage = (s: Shape) => s.length === 3;

/**
 * TF's 'same' padding of one dimension: (before, after), the extra one after.
 * total = max((ceil(in / s) - 1) * s + k_eff - in, 0).
 */
export function samePads(n: number, k: number, s: number, d = 1): [number, number] {
  const keff = (k - 1) * d + 1;
  const total = Math.max((Math.ceil(n / s) - 1) * s + keff - n, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Pads (top, bottom, left, right) of a 2D window op on an (H, W, C) input. */
export function windowPads(input: Shape, kernel: unknown, strides: unknown, padding: unknown, dilation: unknown = 1): [number, number, number, number] {
  if (padding !== 'same') return [0, 0, 0, 0];
  const [h, w] = known(input);
  const [kh, kw] = pair(kernel);
  const [sh, sw] = pair(strides);
  const [dh, dw] = pair(dilation);
  return [...samePads(h!, kh, sh, dh), ...samePads(w!, kw, sw, dw)] as [number, number, number, number];
}

/** `F.pad(x, ...)` with PyTorch's order (left, right, top, bottom), or x when there is nothing to pad. */
export function fpad(x: string, [t, b, l, r]: readonly number[], value?: string): string {
  if (!t && !b && !l && !r) return x;
  return `F.pad(${x}, (${l}, ${r}, ${t}, ${b})${value ? `, value=${value}` : ''})`;
}

/** Symmetric pads are a module's `padding=`; asymmetric ones (TF puts the odd one after) need F.pad. */
export const symmetric = ([t, b, l, r]: readonly number[]) => t === b && l === r;

/** The channel dim of a tensor in PyTorch's layout, for a Keras shape. */
export const channelDim = (s: Shape) => (isImage(s) ? 1 : -1);

export const ACTIVATION: Record<string, (x: string, dim: number) => string> = {
  linear: (x) => x,
  relu: (x) => `F.relu(${x})`,
  relu6: (x) => `F.relu6(${x})`,
  elu: (x) => `F.elu(${x})`,
  selu: (x) => `F.selu(${x})`,
  sigmoid: (x) => `torch.sigmoid(${x})`,
  // tfjs-layers' (and Keras 2's) hard sigmoid: clip(0.2 x + 0.5, 0, 1).
  hard_sigmoid: (x) => `torch.clamp(0.2 * ${x} + 0.5, 0.0, 1.0)`,
  softmax: (x, dim) => `F.softmax(${x}, dim=${dim})`,
  softplus: (x) => `F.softplus(${x})`,
  softsign: (x) => `F.softsign(${x})`,
  tanh: (x) => `torch.tanh(${x})`,
  swish: (x) => `F.silu(${x})`,
  mish: (x) => `F.mish(${x})`,
  gelu: (x) => `F.gelu(${x})`,
};

/** A Keras activation applied to x (softmax over the channel axis: dim 1 for images). */
export function activate(name: unknown, x: string, shape: Shape): string {
  if (name === null || name === undefined) return x;
  const f = ACTIVATION[name as string];
  if (!f) throw new UnsupportedByPytorch(`activation '${String(name)}' has no PyTorch mapping`);
  return f(x, channelDim(shape));
}

/** An op that passes its input's Keras mask on unchanged (Dense, Dropout, Activation: Keras' supports_masking). */
export const passMask = (c: PytorchContext): string | null => c.mask ?? null;

/** Refuse attributes that the export cannot express exactly (a value other than the given one). */
export function only(c: PytorchContext, op: string, allowed: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(allowed)) {
    if (k in c.attrs && JSON.stringify(c.attrs[k] ?? null) !== JSON.stringify(v)) {
      throw new UnsupportedByPytorch(`${op} with ${k}: ${JSON.stringify(c.attrs[k])} cannot be exported to PyTorch (only ${JSON.stringify(v)})`);
    }
  }
}

/** Channels-last view of an image tensor and back, for layers that work on the last axis. */
export const toLast = (x: string) => `${x}.permute(0, 2, 3, 1)`;
export const toFirst = (x: string) => `${x}.permute(0, 3, 1, 2)`;

/** The 2D convolution module arguments shared by conv2d and depthwise_conv2d. */
export function convArgs(c: PytorchContext, cin: number, cout: number, groups: number, bias: boolean): { module: string; pads: number[] } {
  const a = c.attrs;
  const pads = windowPads(c.inputShapes[0]!, a.kernel_size, a.strides, a.padding, a.dilation_rate);
  const args = [`${cin}`, `${cout}`, py(pair(a.kernel_size)), `stride=${py(pair(a.strides))}`];
  if (symmetric(pads) && (pads[0] || pads[2])) args.push(`padding=(${pads[0]}, ${pads[2]})`);
  if (JSON.stringify(pair(a.dilation_rate)) !== '[1,1]') args.push(`dilation=${py(pair(a.dilation_rate))}`);
  if (groups !== 1) args.push(`groups=${groups}`);
  if (!bias) args.push('bias=False');
  return { module: `nn.Conv2d(${args.join(', ')})`, pads: symmetric(pads) ? [0, 0, 0, 0] : pads };
}
