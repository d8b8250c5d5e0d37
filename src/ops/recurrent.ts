/**
 * Recurrent layers: simple_rnn, lstm, gru, conv_lstm2d (Keras 2 / tfjs-layers 4.22). Input (batch, timesteps,
 * features): the time steps may be None (a sequence of any length), the features must be known.
 * Weights as Keras builds them: kernel (features, gates*units), recurrent_kernel (units,
 * gates*units), bias (gates*units); GRU with reset_after (Keras 2's default) has two biases,
 * (2, 3*units). MACs: the two matrix products of every time step (one step when the length is None).
 */
import { attr } from './attrs.js';
import { pair, requireKnown, requireRank } from './shape-util.js';
import { spatial } from './convolution.js';
import { ShapeError, type AttrDef, type Attrs, type OpDef } from './types.js';
import type { Shape } from '../types/shape.js';
import { recurrentPytorch } from './pytorch-sequence.js';

const activation = (dflt: string, doc: string) => attr.activation({ default: dflt, doc });

/** The attributes every recurrent layer has, in Keras' order; `extra` go after `activation`. */
function recurrentAttrs(extra: Record<string, AttrDef>, tail: Record<string, AttrDef> = {}): Record<string, AttrDef> {
  return {
    units: attr.int({ min: 1, required: true, doc: 'Size of the output (and of the state).' }),
    activation: activation('tanh', 'Activation of the output (and, for LSTM/GRU, of the candidate state).'),
    ...extra,
    use_bias: attr.bool({ default: true, doc: 'Whether the layer has a bias vector.' }),
    kernel_initializer: attr.initializer({ default: 'glorot_uniform', doc: 'Initializer of the input kernel.' }),
    recurrent_initializer: attr.initializer({ default: 'orthogonal', doc: 'Initializer of the recurrent kernel.' }),
    bias_initializer: attr.initializer({ default: 'zeros', doc: 'Initializer of the bias.' }),
    ...tail,
    kernel_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the input kernel.' }),
    recurrent_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the recurrent kernel.' }),
    bias_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the bias.' }),
    activity_regularizer: attr.regularizer({ default: null, doc: 'Regularizer of the output (not in TensorFlow.js: null only there).' }),
    dropout: attr.float({ min: 0, max: 1, default: 0, doc: 'Fraction of the inputs dropped at training time.' }),
    recurrent_dropout: attr.float({ min: 0, max: 1, default: 0, doc: 'Fraction of the recurrent state dropped at training time.' }),
    return_sequences: attr.bool({ default: false, doc: 'Output every time step (timesteps, units), not only the last (units).' }),
    return_state: attr.bool({ default: false, doc: 'Also output the final state(s): `id.state_h` and `id.state_c` (lstm), `id.state` (gru, simple_rnn), each (units); `id` stays the first output.' }),
    go_backwards: attr.bool({ default: false, doc: 'Read the sequence backwards (the output is then reversed too).' }),
    stateful: attr.bool({ default: false, doc: 'Keep the state across batches: not supported, false only.' }),
    unroll: attr.bool({ default: false, doc: 'Unroll the time loop (faster for short sequences, more memory).' }),
  };
}

/** (timesteps, features) of a recurrent layer's input; the features must be known. */
export function sequenceInput(input: Shape, op: string): [number | null, number] {
  requireRank(input, 2, op);
  return [input[0]!, requireKnown(input, 1, op, 'feature count')];
}

/** `within`: where return_state cannot be had (conv_lstm2d, a recurrent layer inside a wrapper). */
export function refuseMultiOutput(op: string, a: Attrs, within?: string): void {
  if (a.return_state && within) {
    throw new ShapeError(`${op} return_state: true is not supported ${within}: leave return_state false`, 'invalid', 'return_state');
  }
  if (a.stateful) throw new ShapeError(`${op} stateful: true is not supported (states kept across batches need a fixed batch size): leave stateful false`, 'invalid', 'stateful');
}

/**
 * The initial states given as further inputs (`from: [seq, h, c]`): none, or one per state, each
 * (units) as Keras' initial_state; a ShapeError naming the state otherwise.
 */
function checkInitialStates(op: string, states: readonly string[], inputs: readonly Shape[], units: number): void {
  const given = inputs.slice(1);
  if (given.length === 0) return;
  if (given.length !== states.length) {
    throw new ShapeError(`${op} takes its sequence and ${states.length === 1 ? 'its initial state' : `its ${states.length} initial states (${states.join(', ')})`} as inputs, got ${given.length} initial state${given.length === 1 ? '' : 's'}`, 'mismatch');
  }
  given.forEach((s, i) => {
    if (s.length !== 1 || s[0] !== units) {
      throw new ShapeError(`${op}'s initial ${states[i]} (input ${i + 2}) must be (batch, ${units}) as the layer has units: ${units}, got (batch, ${s.map((d) => d ?? 'None').join(', ')})`, 'mismatch');
    }
  });
}

function recurrent(name: string, kerasClass: string, factory: string, gates: number, doc: string, extra: Record<string, AttrDef>, tail: Record<string, AttrDef> = {}, customFor?: Record<string, unknown>): OpDef {
  const states = name === 'lstm' ? ['state_h', 'state_c'] : ['state'];
  return {
    name,
    kerasClass,
    tfjs: { factory, unsupported: { activity_regularizer: null }, ...(customFor ? { custom: kerasClass, customFor } : {}) },
    pytorch: recurrentPytorch(name as 'simple_rnn' | 'lstm' | 'gru'),
    category: 'recurrent',
    doc,
    arity: 'one',
    states,
    attrs: recurrentAttrs(extra, tail),
    outputShape(inputs, a) {
      const [t] = sequenceInput(inputs[0]!, name);
      refuseMultiOutput(name, a);
      const u = a.units as number;
      checkInitialStates(name, states, inputs, u);
      return a.return_sequences ? [t, u] : [u];
    },
    weights(inputs, a) {
      const f = inputs[0]![1] as number;
      const u = a.units as number;
      const twoBiases = name === 'gru' && a.reset_after === true;
      return [
        { name: 'kernel', shape: [f, gates * u], trainable: true },
        { name: 'recurrent_kernel', shape: [u, gates * u], trainable: true },
        ...(a.use_bias ? [{ name: 'bias', shape: twoBiases ? [2, gates * u] : [gates * u], trainable: true }] : []),
      ];
    },
    macs(inputs, _out, a) {
      const [t, f] = [inputs[0]![0] ?? 1, inputs[0]![1] as number];
      const u = a.units as number;
      return t * gates * u * (f + u);
    },
  };
}

const recurrentActivation = { recurrent_activation: activation('sigmoid', 'Activation of the gates (Keras 2: sigmoid; tfjs\' own default is hard_sigmoid, so it is always passed).') };

export const simpleRnn = recurrent('simple_rnn', 'SimpleRNN', 'simpleRNN', 1,
  'Fully connected recurrent layer (Keras `SimpleRNN`): h_t = activation(x_t W + h_{t-1} U + b).', {});

export const lstm = recurrent('lstm', 'LSTM', 'lstm', 4,
  'Long short-term memory layer (Keras `LSTM`): four gates (input, forget, cell, output).',
  recurrentActivation,
  { unit_forget_bias: attr.bool({ default: true, doc: 'Initialize the forget gate\'s bias to 1 (Jozefowicz et al.).' }) });

export const gru = recurrent('gru', 'GRU', 'gru', 3,
  'Gated recurrent unit (Keras `GRU`): update, reset and candidate gates. Keras 2 defaults to reset_after: true '
  + '(the reset gate after the recurrent product, two biases: the cuDNN form), which TensorFlow.js 4.22 lacks: '
  + 'modelspec builds it with its own GRU cell (src/backends/tfjs/gru-reset-after.ts); reset_after: false is tfjs\' GRU.',
  recurrentActivation,
  { reset_after: attr.bool({ default: true, doc: 'Apply the reset gate after the recurrent matrix product (Keras 2 default; bias (2, 3*units): input and recurrent biases).' }) },
  { reset_after: false });

/**
 * ConvLSTM2D (Keras 2 / tfjs-layers 4.22): an LSTM whose products are 2D convolutions, over
 * (steps, height, width, channels). kernel (kh, kw, channels, 4*filters), recurrent_kernel
 * (kh, kw, filters, 4*filters) (the recurrent convolution is 'same', stride 1), bias (4*filters).
 * Keras 2's recurrent_activation default here is hard_sigmoid (LSTM's is sigmoid).
 */
export const convLstm2d: OpDef = {
  name: 'conv_lstm2d',
  kerasClass: 'ConvLSTM2D',
  tfjs: { factory: 'convLstm2d', unsupported: { activity_regularizer: null }, pairs: ['kernel_size', 'strides', 'dilation_rate'] },
  category: 'recurrent',
  doc: 'Convolutional LSTM over a sequence of images (Keras `ConvLSTM2D`): (steps, height, width, channels) -> (height\', width\', filters), or every step with return_sequences.',
  arity: 'one',
  attrs: (() => {
    const { units: _units, ...rest } = recurrentAttrs(
      { recurrent_activation: activation('hard_sigmoid', 'Activation of the gates (Keras 2\'s ConvLSTM2D default: hard_sigmoid).') },
      { unit_forget_bias: attr.bool({ default: true, doc: 'Initialize the forget gate\'s bias to 1.' }) },
    );
    return {
      filters: attr.int({ min: 1, required: true, doc: 'Number of output channels (and of the state\'s).' }),
      kernel_size: attr.intOrPair({ min: 1, required: true, doc: 'Height and width of the convolution window.' }),
      strides: attr.intOrPair({ min: 1, default: 1, doc: 'Strides of the input convolution.' }),
      padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` or `same` (of the input convolution; the recurrent one is `same`).' }),
      dilation_rate: attr.intOrPair({ min: 1, default: 1, doc: 'Dilation rate of the input convolution.' }),
      ...rest,
    };
  })(),
  outputShape(inputs, a) {
    const input = inputs[0]!;
    requireRank(input, 4, 'conv_lstm2d', 'input: (batch, steps, height, width, channels)');
    requireKnown(input, 3, 'conv_lstm2d', 'channel count');
    refuseMultiOutput('conv_lstm2d', a, 'on conv_lstm2d (only lstm, gru and simple_rnn give their states)');
    const [h, w] = spatial('conv_lstm2d', input.slice(1), a);
    const f = a.filters as number;
    return a.return_sequences ? [input[0]!, h, w, f] : [h, w, f];
  },
  weights(inputs, a) {
    const [kh, kw] = pair(a.kernel_size);
    const f = a.filters as number;
    return [
      { name: 'kernel', shape: [kh, kw, inputs[0]![3] as number, 4 * f], trainable: true },
      { name: 'recurrent_kernel', shape: [kh, kw, f, 4 * f], trainable: true },
      ...(a.use_bias ? [{ name: 'bias', shape: [4 * f], trainable: true }] : []),
    ];
  },
  macs(inputs, out, a) {
    const [kh, kw] = pair(a.kernel_size);
    const f = a.filters as number;
    const hw = out.length === 4 ? (out[1] ?? 1) * (out[2] ?? 1) : (out[0] ?? 1) * (out[1] ?? 1);
    return (inputs[0]![0] ?? 1) * hw * 4 * f * kh * kw * ((inputs[0]![3] as number) + f);
  },
};
