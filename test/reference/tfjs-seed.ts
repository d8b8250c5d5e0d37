/**
 * The seed's four Keras models, transcribed by hand, line by line, into the real TensorFlow.js
 * layers API (tf.input, tf.layers.*, tf.model). This is the reference the interpreter
 * (src/backends/tfjs/interpreter.ts) is checked against in test/tfjs-build.test.ts and timed
 * against in bench/build.ts.
 *
 * It imports nothing from src/ on purpose: it must not share any code (and so any bug) with the
 * interpreter it checks. The tf namespace is a parameter, so the caller chooses the backend.
 *
 * Sources: the seed article (shared/seeds/000_c050daf37dced960.txt) and, where the article has
 * typos, the book's scripts (shared/reference/seed-models.md, "Typos in the seed text"):
 * - Y-network: the right branch starts from right_inputs (the seed has `y = left_inputs`);
 * - resnet_v1's Dense has kernel_initializer='he_normal' (the seed has kernel_regularizer);
 * - resnet_v2's projection shortcut has activation=None (the seed passes `activation`, which is
 *   'relu' in the first block of stages 1 and 2);
 * - resnet_v2's depth check is 9n+2.
 * The book's Y-network gives the right branch's convolutions dilation_rate=2 and the seed does not;
 * `yNetwork` follows the seed by default and takes `right_dilation_rate` for the book's variant.
 *
 * Keras -> tfjs: keyword arguments become camelCase fields; `he_normal` is 'heNormal',
 * `keras.regularizers.l2(1e-4)` is tf.regularizers.l2({l2: 1e-4}); a layer call `Layer(...)(x)`
 * is `tf.layers.layer({...}).apply(x)`; `keras.layers.add([x, y])` is
 * `tf.layers.add().apply([x, y])`. Only the arguments the Python passes are passed, with one
 * exception: where the Python relies on a Keras default that tfjs-layers does not share, Keras'
 * value is written out. The one such default here: Conv2D and Dense kernels are glorot_uniform in
 * Keras but glorotNormal in tfjs-layers, so every Conv2D/Dense the Python builds without a
 * kernel_initializer gets `kernelInitializer: 'glorotUniform'` (marked KERAS_DEFAULT). The other
 * defaults agree (zero biases, valid padding, BatchNormalization momentum 0.99 and epsilon 1e-3,
 * pooling pool size 2 and strides = pool size, concatenate on the last axis).
 */
import type * as TF from '@tensorflow/tfjs';

export type Tf = typeof TF;
type T = TF.SymbolicTensor;

/** Keras' default kernel initializer for Conv2D and Dense (tfjs-layers' default is glorotNormal). */
const KERAS_DEFAULT = 'glorotUniform';

const apply = (layer: TF.layers.Layer, x: T | T[]): T => layer.apply(x) as T;

// ---------------------------------------------------------------------------------------------
// 1. The MNIST CNN with the functional API (seed section 1, cnn-functional-2.1.1.py)

export interface MnistCnnOptions {
  image_size?: number;
  kernel_size?: number;
  filters?: number;
  dropout?: number;
  num_labels?: number;
}

export function mnistCnn(tf: Tf, opts: MnistCnnOptions = {}): TF.LayersModel {
  // # hyperparameters
  const image_size = opts.image_size ?? 28;
  const input_shape = [image_size, image_size, 1];
  const kernel_size = opts.kernel_size ?? 3;
  const filters = opts.filters ?? 64;
  const dropout = opts.dropout ?? 0.3;
  const num_labels = opts.num_labels ?? 10;

  // # model
  const inputs = tf.input({ shape: input_shape });
  let y = apply(tf.layers.conv2d({ filters: filters, kernelSize: kernel_size, activation: 'relu', kernelInitializer: KERAS_DEFAULT }), inputs);
  y = apply(tf.layers.maxPooling2d({}), y);
  y = apply(tf.layers.conv2d({ filters: filters, kernelSize: kernel_size, activation: 'relu', kernelInitializer: KERAS_DEFAULT }), y);
  y = apply(tf.layers.maxPooling2d({}), y);
  y = apply(tf.layers.conv2d({ filters: filters, kernelSize: kernel_size, activation: 'relu', kernelInitializer: KERAS_DEFAULT }), y);
  y = apply(tf.layers.flatten(), y);
  y = apply(tf.layers.dropout({ rate: dropout }), y);
  const outputs = apply(tf.layers.dense({ units: num_labels, activation: 'softmax', kernelInitializer: KERAS_DEFAULT }), y);
  const model = tf.model({ inputs: inputs, outputs: outputs });
  return model;
}

// ---------------------------------------------------------------------------------------------
// 2. The Y-network: two inputs, one output (seed section 2, cnn-y-network-2.1.2.py)

export interface YNetworkOptions {
  image_size?: number;
  kernel_size?: number;
  n_filters?: number;
  dropout?: number;
  num_labels?: number;
  /** 1 in the seed (the default), 2 in the book's script. */
  right_dilation_rate?: number;
}

export function yNetwork(tf: Tf, opts: YNetworkOptions = {}): TF.LayersModel {
  // # hyperparameters
  const image_size = opts.image_size ?? 28;
  const input_shape = [image_size, image_size, 1];
  const kernel_size = opts.kernel_size ?? 3;
  const n_filters = opts.n_filters ?? 32;
  const dropout = opts.dropout ?? 0.4;
  const num_labels = opts.num_labels ?? 10;
  const right_dilation_rate = opts.right_dilation_rate ?? 1;

  // left branch
  const left_inputs = tf.input({ shape: input_shape });
  let x = left_inputs;
  let filters = n_filters;
  for (let i = 0; i < 3; i++) {
    x = apply(tf.layers.conv2d({ filters: filters, kernelSize: kernel_size, padding: 'same', activation: 'relu', kernelInitializer: KERAS_DEFAULT }), x);
    x = apply(tf.layers.dropout({ rate: dropout }), x);
    x = apply(tf.layers.maxPooling2d({}), x);
    filters = filters * 2;
  }

  // right branch (reads right_inputs; the seed's `y = left_inputs` is a typo)
  const right_inputs = tf.input({ shape: input_shape });
  let y = right_inputs;
  filters = n_filters;
  for (let i = 0; i < 3; i++) {
    // dilation_rate: 1 (Keras' default, and tfjs') in the seed; 2 in the book's script
    y = apply(tf.layers.conv2d({ filters: filters, kernelSize: kernel_size, padding: 'same', activation: 'relu', dilationRate: right_dilation_rate, kernelInitializer: KERAS_DEFAULT }), y);
    y = apply(tf.layers.dropout({ rate: dropout }), y);
    y = apply(tf.layers.maxPooling2d({}), y);
    filters = filters * 2;
  }

  // # merge the feature maps
  y = apply(tf.layers.concatenate(), [x, y]);
  y = apply(tf.layers.flatten(), y);
  y = apply(tf.layers.dropout({ rate: dropout }), y);
  const outputs = apply(tf.layers.dense({ units: num_labels, activation: 'softmax', kernelInitializer: KERAS_DEFAULT }), y);
  const model = tf.model({ inputs: [left_inputs, right_inputs], outputs: outputs });
  return model;
}

// ---------------------------------------------------------------------------------------------
// 3, 4. ResNet v1 and v2 (seed sections 3 and 4, resnet-cifar10-2.2.1.py)

export interface ResnetLayerArgs {
  inputs: T;
  num_filters?: number;
  kernel_size?: number;
  strides?: number;
  activation?: string | null;
  batch_normalization?: boolean;
  conv_first?: boolean;
}

/** resnet_layer(inputs, num_filters=16, kernel_size=3, strides=1, activation='relu', batch_normalization=True, conv_first=True) */
export function resnet_layer(
  tf: Tf,
  { inputs, num_filters = 16, kernel_size = 3, strides = 1, activation = 'relu', batch_normalization = true, conv_first = true }: ResnetLayerArgs,
): T {
  const conv = tf.layers.conv2d({
    filters: num_filters,
    kernelSize: kernel_size,
    strides: strides,
    padding: 'same',
    kernelInitializer: 'heNormal',
    kernelRegularizer: tf.regularizers.l2({ l2: 1e-4 }),
  });
  let x = inputs;
  if (conv_first) {
    x = apply(conv, x);
    if (batch_normalization) x = apply(tf.layers.batchNormalization(), x);
    if (activation !== null) x = apply(tf.layers.activation({ activation: activation as 'relu' }), x);
  } else {
    if (batch_normalization) x = apply(tf.layers.batchNormalization(), x);
    if (activation !== null) x = apply(tf.layers.activation({ activation: activation as 'relu' }), x);
    x = apply(conv, x);
  }
  return x;
}

/** resnet_v1(input_shape, depth, num_classes=10) */
export function resnet_v1(tf: Tf, input_shape: number[], depth: number, num_classes = 10): TF.LayersModel {
  if ((depth - 2) % 6 !== 0) throw new Error('depth should be 6n+2');
  // # hyperparameters
  let num_filters = 16;
  const num_res_blocks = Math.trunc((depth - 2) / 6);

  const inputs = tf.input({ shape: input_shape });
  let x = resnet_layer(tf, { inputs: inputs });
  for (let stack = 0; stack < 3; stack++) {
    for (let res_block = 0; res_block < num_res_blocks; res_block++) {
      let strides = 1;
      if (stack > 0 && res_block === 0) strides = 2;
      let y = resnet_layer(tf, { inputs: x, num_filters: num_filters, strides: strides });
      y = resnet_layer(tf, { inputs: y, num_filters: num_filters, activation: null });
      if (stack > 0 && res_block === 0) {
        x = resnet_layer(tf, { inputs: x, num_filters: num_filters, kernel_size: 1, strides: strides, activation: null, batch_normalization: false });
      }
      x = apply(tf.layers.add(), [x, y]);
      x = apply(tf.layers.activation({ activation: 'relu' }), x);
    }
    num_filters *= 2;
  }
  x = apply(tf.layers.averagePooling2d({ poolSize: 8 }), x);
  x = apply(tf.layers.flatten(), x);
  // kernel_initializer (the seed's kernel_regularizer='he_normal' is a typo)
  const outputs = apply(tf.layers.dense({ units: num_classes, activation: 'softmax', kernelInitializer: 'heNormal' }), x);
  const model = tf.model({ inputs: inputs, outputs: outputs });
  return model;
}

/** resnet_v2(input_shape, depth, num_classes=10) */
export function resnet_v2(tf: Tf, input_shape: number[], depth: number, num_classes = 10): TF.LayersModel {
  if ((depth - 2) % 9 !== 0) throw new Error('depth should be 9n+2');
  // # hyperparameters
  let num_filters_in = 16;
  const num_res_blocks = Math.trunc((depth - 2) / 9);

  const inputs = tf.input({ shape: input_shape });
  let x = resnet_layer(tf, { inputs: inputs, num_filters: num_filters_in, conv_first: true });
  let num_filters_out = num_filters_in;
  for (let stage = 0; stage < 3; stage++) {
    for (let res_block = 0; res_block < num_res_blocks; res_block++) {
      let activation: string | null = 'relu';
      let batch_normalization = true;
      let strides = 1;
      if (stage === 0) {
        num_filters_out = num_filters_in * 4;
        if (res_block === 0) {
          activation = null;
          batch_normalization = false;
        }
      } else {
        num_filters_out = num_filters_in * 2;
        if (res_block === 0) strides = 2;
      }
      let y = resnet_layer(tf, {
        inputs: x,
        num_filters: num_filters_in,
        kernel_size: 1,
        strides: strides,
        activation: activation,
        batch_normalization: batch_normalization,
        conv_first: false,
      });
      y = resnet_layer(tf, { inputs: y, num_filters: num_filters_in, conv_first: false });
      y = resnet_layer(tf, { inputs: y, num_filters: num_filters_out, kernel_size: 1, conv_first: false });
      if (res_block === 0) {
        // projection shortcut: activation None (the seed's `activation=activation` is a typo)
        x = resnet_layer(tf, { inputs: x, num_filters: num_filters_out, kernel_size: 1, strides: strides, activation: null, batch_normalization: false });
      }
      x = apply(tf.layers.add(), [x, y]);
    }
    num_filters_in = num_filters_out;
  }
  x = apply(tf.layers.batchNormalization(), x);
  x = apply(tf.layers.activation({ activation: 'relu' }), x);
  x = apply(tf.layers.averagePooling2d({ poolSize: 8 }), x);
  x = apply(tf.layers.flatten(), x);
  const outputs = apply(tf.layers.dense({ units: num_classes, activation: 'softmax', kernelInitializer: 'heNormal' }), x);
  const model = tf.model({ inputs: inputs, outputs: outputs });
  return model;
}
