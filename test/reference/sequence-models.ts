/**
 * The two sequence specs (specs/lstm-text-classifier.yaml, specs/gru-time-series.yaml) as Keras
 * would report them, transcribed by hand from Keras' layer formulas: nothing here is computed by
 * src/. Output shapes include the batch (null = None); weights are listed as Keras creates them.
 *
 * Keras' formulas (keras 2.x layers/rnn/*.py, layers/convolutional/conv1d.py, tfjs-layers 4.22 the same):
 *   Embedding(input_dim V, output_dim D):          V*D
 *   LSTM(units u) on input features f:             4*(u*(u+f) + u)     kernel (f, 4u), recurrent (u, 4u), bias (4u)
 *   GRU(u, reset_after=False) on f:                3*(u*(u+f) + u)     kernel (f, 3u), recurrent (u, 3u), bias (3u)
 *   GRU(u, reset_after=True) on f (Keras 2 default): 3*(u*(u+f) + 2u) bias (2, 3u)
 *   Bidirectional(layer, merge_mode='concat'):    2 * params(layer); output features 2u
 *   Conv1D(filters F, kernel k) on c channels:     k*c*F + F
 *   Dense(n) on f:                                 f*n + n
 */

export interface RefLayer {
  name: string;
  className: string;
  outputShape: (number | null)[];
  params: number;
  /** Keras config values the layer must have (a subset; wrappers: the inner layer's under `layer`). */
  config: Record<string, unknown>;
}

export interface RefModel {
  layers: RefLayer[];
  total: number;
}

/** specs/lstm-text-classifier.yaml with its defaults: V=20000, D=128, u=64, 2 classes. */
export const lstmTextClassifier: RefModel = {
  layers: [
    { name: 'tokens', className: 'InputLayer', outputShape: [null, null], params: 0, config: { batch_input_shape: [null, null], dtype: 'int32' } },
    // 20000 * 128 = 2,560,000
    { name: 'embedding', className: 'Embedding', outputShape: [null, null, 128], params: 2_560_000, config: { input_dim: 20000, output_dim: 128, mask_zero: true } },
    // f = 128: 4*(64*(64+128) + 64) = 4*(12288 + 64) = 49,408 per direction; x2 = 98,816
    {
      name: 'bidirectional', className: 'Bidirectional', outputShape: [null, null, 128], params: 98_816,
      config: { merge_mode: 'concat', layer: { class_name: 'LSTM', config: { units: 64, return_sequences: true, activation: 'tanh', recurrent_activation: 'sigmoid', unit_forget_bias: true, go_backwards: false } } },
    },
    // f = 2*64 = 128 (concat): again 4*(64*192 + 64) * 2 = 98,816
    {
      name: 'bidirectional_1', className: 'Bidirectional', outputShape: [null, 128], params: 98_816,
      config: { merge_mode: 'concat', layer: { class_name: 'LSTM', config: { units: 64, return_sequences: false } } },
    },
    { name: 'dropout', className: 'Dropout', outputShape: [null, 128], params: 0, config: { rate: 0.5 } },
    // 128*2 + 2 = 258
    { name: 'dense', className: 'Dense', outputShape: [null, 2], params: 258, config: { units: 2, activation: 'softmax' } },
  ],
  // 2,560,000 + 98,816 + 98,816 + 258 = 2,757,890
  total: 2_757_890,
};

/** specs/gru-time-series.yaml with its defaults: 1 feature, 32 filters of 5, u=64 then 32, horizon 1. */
export const gruTimeSeries: RefModel = {
  layers: [
    { name: 'series', className: 'InputLayer', outputShape: [null, null, 1], params: 0, config: { batch_input_shape: [null, null, 1], dtype: 'float32' } },
    // 5*1*32 + 32 = 192; 'same' padding keeps the (unknown) length
    { name: 'conv1d', className: 'Conv1D', outputShape: [null, null, 32], params: 192, config: { filters: 32, kernel_size: [5], strides: [1], padding: 'same', activation: 'relu' } },
    { name: 'max_pooling1d', className: 'MaxPooling1D', outputShape: [null, null, 32], params: 0, config: { pool_size: [2], strides: [2], padding: 'valid' } },
    // f = 32: 3*(64*(64+32) + 64) = 3*(6144 + 64) = 18,624
    { name: 'gru', className: 'GRU', outputShape: [null, null, 64], params: 18_624, config: { units: 64, return_sequences: true, reset_after: false, recurrent_activation: 'sigmoid' } },
    // f = 64: 3*(32*(32+64) + 32) = 3*(3072 + 32) = 9,312
    { name: 'gru_1', className: 'GRU', outputShape: [null, 32], params: 9_312, config: { units: 32, return_sequences: false, reset_after: false } },
    // 32*1 + 1 = 33
    { name: 'dense', className: 'Dense', outputShape: [null, 1], params: 33, config: { units: 1 } },
  ],
  // 192 + 18,624 + 9,312 + 33 = 28,161
  total: 28_161,
};

/**
 * The Keras 2 default GRU (reset_after=True), for the static rule (TensorFlow.js lacks it; modelspec
 * builds it with its own cell, checked in test/beyond-tfjs.test.ts):
 * GRU(64) on 32 features: 3*(64*(64+32) + 2*64) = 3*(6144 + 128) = 18,816; bias shape (2, 192).
 */
export const gruResetAfter = { units: 64, features: 32, params: 18_816, bias: [2, 192] };
