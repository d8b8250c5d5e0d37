/**
 * PyTorch mappings of the sequence ops: the recurrent layers (KerasRNN of ./pytorch-helpers.ts,
 * weights in Keras' layout), conv1d and 1-D pooling. A sequence is held as Keras holds it,
 * (batch, steps, features); the 1-D convolutions and pools transpose to (batch, features, steps)
 * and back. The steps may be None: what depends on the length (TF's 'same' padding with a
 * stride) is refused then.
 */
import type { Attrs, PytorchContext, PytorchMapping, PytorchWeight } from './types.js';
import { UnsupportedByPytorch } from './types.js';
import { activate, py, samePads } from './pytorch.js';

const one = (v: unknown): number => (Array.isArray(v) ? (v[0] as number) : (v as number));

/** The steps' features of a recurrent layer's input (batch, steps, features). */
const features = (c: PytorchContext) => c.inputShapes[0]![c.inputShapes[0]!.length - 1] as number;

/** Attributes a recurrent layer can be exported with only at their default (training-time noise, states kept across batches). */
function refuseRecurrent(op: string, a: Attrs): void {
  for (const [k, v] of Object.entries({ dropout: 0, recurrent_dropout: 0, stateful: false })) {
    if (k in a && a[k] !== v) throw new UnsupportedByPytorch(`${op} with ${k}: ${JSON.stringify(a[k])} cannot be exported to PyTorch (only ${JSON.stringify(v)})`);
  }
}

/** `KerasRNN(...)` for a recurrent op's (complete) attributes. */
export function rnnModule(cell: string, a: Attrs, inputFeatures: number): string {
  refuseRecurrent(cell, a);
  const args = [py(cell), String(inputFeatures), String(a.units as number), `activation=${py(a.activation)}`];
  if (cell !== 'simple_rnn') args.push(`recurrent_activation=${py(a.recurrent_activation)}`);
  if (!a.use_bias) args.push('use_bias=False');
  if (cell === 'gru') args.push(`reset_after=${py(!!a.reset_after)}`);
  if (a.return_sequences) args.push('return_sequences=True');
  if (a.go_backwards) args.push('go_backwards=True');
  if (a.return_state) args.push('return_state=True');
  return `KerasRNN(${args.join(', ')})`;
}

/** Where a recurrent op's Keras weights live (under `prefix` in the module), with their initializers. */
export function rnnWeights(cell: string, a: Attrs, prefix = ''): Record<string, PytorchWeight> {
  const u = a.units as number;
  const bias: PytorchWeight = cell === 'lstm' && a.unit_forget_bias
    ? { key: `${prefix}bias`, layout: 'same', initParts: [[a.bias_initializer as string, u], ['ones', u], [a.bias_initializer as string, 2 * u]], regularizer: a.bias_regularizer as null }
    : { key: `${prefix}bias`, layout: 'same', initializer: a.bias_initializer as string, regularizer: a.bias_regularizer as null };
  return {
    kernel: { key: `${prefix}kernel`, layout: 'same', initializer: a.kernel_initializer as string, regularizer: a.kernel_regularizer as null },
    recurrent_kernel: { key: `${prefix}recurrent_kernel`, layout: 'same', initializer: a.recurrent_initializer as string, regularizer: a.recurrent_regularizer as null },
    ...(a.use_bias ? { bias } : {}),
  };
}

/** The call of a recurrent module, with the input's Keras mask when it carries one, and Keras' initial_state (from: [seq, h, c]). */
export const rnnCall = (c: PytorchContext) => {
  const states = c.inputs.slice(1);
  const init = states.length ? `, initial_state=(${states.join(', ')}${states.length === 1 ? ',' : ''})` : '';
  return `${c.self}(${c.inputs[0]}${c.mask ? `, ${c.mask}` : ''}${init})`;
};

/** simple_rnn, lstm, gru: the steps run by KerasRNN; the mask goes on with the sequence (return_sequences). */
export function recurrentPytorch(cell: 'simple_rnn' | 'lstm' | 'gru'): PytorchMapping {
  return {
    helpers: ['KerasRNN'],
    modules: (c) => ({ '': rnnModule(cell, c.attrs, features(c)) }),
    forward: rnnCall,
    mask: (c) => (c.attrs.return_sequences ? c.mask ?? null : null),
    weights: (c) => rnnWeights(cell, c.attrs),
  };
}

/** TF's pads (before, after) of one axis of any length: only stride 1 does not depend on it. */
function pads1d(c: PytorchContext, k: number, s: number, d: number): [number, number] {
  if (c.attrs.padding !== 'same') return [0, 0];
  const n = c.inputShapes[0]![0] ?? null;
  if (n === null && s !== 1) throw new UnsupportedByPytorch(`padding 'same' with strides ${s} depends on the length, which is None: give the input a fixed length`);
  return samePads(n ?? 1, k, s, d);
}

const fpad1 = (x: string, [l, r]: readonly number[], value?: string) => (l || r ? `F.pad(${x}, (${l}, ${r})${value ? `, value=${value}` : ''})` : x);

/** conv1d: nn.Conv1d on (batch, channels, steps), TF's 'same' pads explicit when they are uneven. */
export const conv1dPytorch: PytorchMapping = {
  modules: (c) => {
    const a = c.attrs;
    const [k, s, d] = [one(a.kernel_size), one(a.strides), one(a.dilation_rate)];
    const [l, r] = pads1d(c, k, s, d);
    const args = [String(features(c)), String(a.filters as number), String(k), `stride=${s}`];
    if (l === r && l) args.push(`padding=${l}`);
    if (d !== 1) args.push(`dilation=${d}`);
    if (a.groups !== 1) args.push(`groups=${a.groups as number}`);
    if (!a.use_bias) args.push('bias=False');
    return { '': `nn.Conv1d(${args.join(', ')})` };
  },
  forward: (c) => {
    const a = c.attrs;
    const pads = pads1d(c, one(a.kernel_size), one(a.strides), one(a.dilation_rate));
    const x = `${c.inputs[0]}.transpose(1, 2)`;
    return activate(a.activation, `${c.self}(${pads[0] === pads[1] ? x : fpad1(x, pads)}).transpose(1, 2)`, c.outputShape);
  },
  weights: (c) => {
    const a = c.attrs;
    if (a.activity_regularizer !== null && a.activity_regularizer !== undefined) throw new UnsupportedByPytorch('conv1d with an activity_regularizer cannot be exported to PyTorch');
    return {
      kernel: { key: 'weight', layout: 'conv', initializer: a.kernel_initializer as string, regularizer: a.kernel_regularizer as null },
      ...(a.use_bias ? { bias: { key: 'bias', layout: 'same' as const, initializer: a.bias_initializer as string, regularizer: a.bias_regularizer as null } } : {}),
    };
  },
};

/** max/average_pooling1d as TF pools: 'same' max pads with -inf, 'same' average leaves the pads out of the mean. */
export function pool1dPytorch(max: boolean): PytorchMapping {
  return {
    forward: (c) => {
      const k = one(c.attrs.pool_size);
      const s = c.attrs.strides === null ? k : one(c.attrs.strides);
      const pads = pads1d(c, k, s, 1);
      const x = `${c.inputs[0]}.transpose(1, 2)`;
      if (max) return `F.max_pool1d(${fpad1(x, pads, 'float("-inf")')}, ${k}, ${s}).transpose(1, 2)`;
      const pooled = `F.avg_pool1d(${fpad1(x, pads)}, ${k}, ${s})`;
      if (!pads[0] && !pads[1]) return `${pooled}.transpose(1, 2)`;
      return `(${pooled} / F.avg_pool1d(${fpad1(`torch.ones_like(${x}[:1, :1])`, pads)}, ${k}, ${s})).transpose(1, 2)`;
    },
  };
}
