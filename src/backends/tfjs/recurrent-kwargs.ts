/**
 * A workaround for tfjs-layers 4.22's RNN.apply: given initial states (Keras' initial_state, here
 * `from: [seq, h, c]`) it writes them into the kwargs object it is handed (`kwargs.initialState`).
 * The executor behind LayersModel.predict, evaluate, fit and trainOnBatch hands one kwargs object
 * to every layer of the model (as a list of input tensors, and once per output of the layer it
 * needs), so the states leak: every recurrent layer applied after it in the same pass, and its own
 * second call for its return_state outputs, fails ("When inputs is an array, neither initialState
 * or constants should be provided"): a seq2seq decoder followed by another LSTM could not be
 * trained, evaluated or predicted. (model.apply() takes another path and is not affected.) So
 * RNN.apply (LSTM, GRU, SimpleRNN, ConvLSTM2D and modelspec's own
 * recurrent layers all inherit it) is handed a copy, and the states are taken out of the copy after
 * the call: at build time the copy is the node's call arguments, kept free of tensors as Keras JSON
 * needs them (the states are the node's further inbound tensors). Installed once per tfjs.
 */
import type * as TF from '@tensorflow/tfjs';

type Apply = (this: TF.layers.Layer, inputs: unknown, kwargs?: Record<string, unknown>) => unknown;
const INSTALLED = Symbol.for('modelspec.recurrentKwargsCopy');

export function isolateRecurrentKwargs(tf: typeof TF): void {
  const probe = tf.layers.rnn({ cell: tf.layers.simpleRNNCell({ units: 1 }) });
  const proto = Object.getPrototypeOf(probe) as { apply: Apply; [INSTALLED]?: boolean };
  if (proto[INSTALLED]) return;
  const apply = proto.apply;
  proto.apply = function (inputs, kwargs) {
    if (kwargs == null) return apply.call(this, inputs, kwargs);
    const copy = { ...kwargs };
    try {
      return apply.call(this, inputs, copy);
    } finally {
      delete copy.initialState;
    }
  };
  proto[INSTALLED] = true;
}
