/**
 * The seed's four Keras models, transcribed line by line from the Python (the seed article and
 * the book's scripts, chapter2-deep-networks/cnn-functional-2.1.1.py, cnn-y-network-2.1.2.py,
 * resnet-cifar10-2.2.1.py of "Advanced Deep Learning with Keras") into the mock of keras-mock.ts.
 *
 * Where the seed text has typos, the book's script (the intended model) is followed:
 * - Y-network: the right branch starts from right_inputs (the seed has `y = left_inputs`);
 * - resnet_v1's Dense uses kernel_initializer='he_normal' (seed: kernel_regularizer);
 * - resnet_v2's projection shortcut uses activation=None (the seed passes `activation`, which is
 *   'relu' in the first block of stages 1 and 2).
 * The book's Y-network right branch also has dilation_rate=2, which changes neither shapes
 * ('same' padding) nor parameter counts; it is kept here for fidelity.
 */
import {
  Activation,
  AveragePooling2D,
  BatchNormalization,
  Conv2D,
  Dense,
  Dropout,
  Flatten,
  Input,
  MaxPooling2D,
  Model,
  add,
  concatenate,
  type KerasTensor,
  type Shape,
} from './keras-mock.js';

/** cnn-functional-2.1.1.py (seed section 1). */
export function mnistCnn(opts: { filters?: number; kernel_size?: number; dropout?: number; num_labels?: number } = {}): Model {
  const image_size = 28;
  const input_shape: Shape = [image_size, image_size, 1];
  const kernel_size = opts.kernel_size ?? 3;
  const filters = opts.filters ?? 64;
  const dropout = opts.dropout ?? 0.3;
  const num_labels = opts.num_labels ?? 10;

  const inputs = Input(input_shape);
  let y = new Conv2D({ filters: filters, kernel_size: kernel_size, activation: 'relu' }).apply(inputs);
  y = new MaxPooling2D().apply(y);
  y = new Conv2D({ filters: filters, kernel_size: kernel_size, activation: 'relu' }).apply(y);
  y = new MaxPooling2D().apply(y);
  y = new Conv2D({ filters: filters, kernel_size: kernel_size, activation: 'relu' }).apply(y);
  y = new Flatten().apply(y);
  y = new Dropout(dropout).apply(y);
  const outputs = new Dense({ units: num_labels, activation: 'softmax' }).apply(y);
  return new Model(inputs, outputs);
}

/** cnn-y-network-2.1.2.py (seed section 2, with the right branch reading right_inputs). */
export function yNetwork(opts: { n_filters?: number; kernel_size?: number; dropout?: number; num_labels?: number } = {}): Model {
  const image_size = 28;
  const input_shape: Shape = [image_size, image_size, 1];
  const kernel_size = opts.kernel_size ?? 3;
  const dropout = opts.dropout ?? 0.4;
  const n_filters = opts.n_filters ?? 32;
  const num_labels = opts.num_labels ?? 10;

  // left branch of Y network
  const left_inputs = Input(input_shape);
  let x = left_inputs;
  let filters = n_filters;
  for (let i = 0; i < 3; i++) {
    x = new Conv2D({ filters: filters, kernel_size: kernel_size, padding: 'same', activation: 'relu' }).apply(x);
    x = new Dropout(dropout).apply(x);
    x = new MaxPooling2D().apply(x);
    filters *= 2;
  }

  // right branch of Y network
  const right_inputs = Input(input_shape);
  let y = right_inputs;
  filters = n_filters;
  for (let i = 0; i < 3; i++) {
    y = new Conv2D({ filters: filters, kernel_size: kernel_size, padding: 'same', activation: 'relu', dilation_rate: 2 }).apply(y);
    y = new Dropout(dropout).apply(y);
    y = new MaxPooling2D().apply(y);
    filters *= 2;
  }

  // merge left and right branches outputs
  y = concatenate([x, y]);
  y = new Flatten().apply(y);
  y = new Dropout(dropout).apply(y);
  const outputs = new Dense({ units: num_labels, activation: 'softmax' }).apply(y);
  return new Model([left_inputs, right_inputs], outputs);
}

export interface ResnetLayerArgs {
  inputs: KerasTensor;
  num_filters?: number;
  kernel_size?: number;
  strides?: number;
  activation?: string | null;
  batch_normalization?: boolean;
  conv_first?: boolean;
}

/** resnet_layer(inputs, num_filters=16, kernel_size=3, strides=1, activation='relu', batch_normalization=True, conv_first=True). */
export function resnet_layer({
  inputs,
  num_filters = 16,
  kernel_size = 3,
  strides = 1,
  activation = 'relu',
  batch_normalization = true,
  conv_first = true,
}: ResnetLayerArgs): KerasTensor {
  const conv = new Conv2D({
    filters: num_filters,
    kernel_size: kernel_size,
    strides: strides,
    padding: 'same',
    kernel_initializer: 'he_normal',
    kernel_regularizer: { l2: 1e-4 },
  });

  let x = inputs;
  if (conv_first) {
    x = conv.apply(x);
    if (batch_normalization) x = new BatchNormalization().apply(x);
    if (activation !== null) x = new Activation(activation).apply(x);
  } else {
    if (batch_normalization) x = new BatchNormalization().apply(x);
    if (activation !== null) x = new Activation(activation).apply(x);
    x = conv.apply(x);
  }
  return x;
}

/** resnet_v1(input_shape, depth, num_classes=10). */
export function resnet_v1(input_shape: Shape, depth: number, num_classes = 10): Model {
  if ((depth - 2) % 6 !== 0) throw new Error('depth should be 6n+2 (eg 20, 32, 44 in [a])');
  // Start model definition.
  let num_filters = 16;
  const num_res_blocks = Math.trunc((depth - 2) / 6);

  const inputs = Input(input_shape);
  let x = resnet_layer({ inputs: inputs });
  // Instantiate the stack of residual units
  for (let stack = 0; stack < 3; stack++) {
    for (let res_block = 0; res_block < num_res_blocks; res_block++) {
      let strides = 1;
      if (stack > 0 && res_block === 0) strides = 2; // downsample
      let y = resnet_layer({ inputs: x, num_filters: num_filters, strides: strides });
      y = resnet_layer({ inputs: y, num_filters: num_filters, activation: null });
      if (stack > 0 && res_block === 0) {
        // linear projection residual shortcut connection to match changed dims
        x = resnet_layer({ inputs: x, num_filters: num_filters, kernel_size: 1, strides: strides, activation: null, batch_normalization: false });
      }
      x = add([x, y]);
      x = new Activation('relu').apply(x);
    }
    num_filters *= 2;
  }

  // Add classifier on top. v1 does not use BN after last shortcut connection-ReLU
  x = new AveragePooling2D({ pool_size: 8 }).apply(x);
  const y = new Flatten().apply(x);
  const outputs = new Dense({ units: num_classes, activation: 'softmax', kernel_initializer: 'he_normal' }).apply(y);

  // Instantiate model.
  return new Model(inputs, outputs);
}

/** resnet_v2(input_shape, depth, num_classes=10). */
export function resnet_v2(input_shape: Shape, depth: number, num_classes = 10): Model {
  if ((depth - 2) % 9 !== 0) throw new Error('depth should be 9n+2 (eg 56 or 110 in [b])');
  // Start model definition.
  let num_filters_in = 16;
  const num_res_blocks = Math.trunc((depth - 2) / 9);

  const inputs = Input(input_shape);
  // v2 performs Conv2D with BN-ReLU on input before splitting into 2 paths
  let x = resnet_layer({ inputs: inputs, num_filters: num_filters_in, conv_first: true });

  // Instantiate the stack of residual units
  for (let stage = 0; stage < 3; stage++) {
    let num_filters_out = 0;
    for (let res_block = 0; res_block < num_res_blocks; res_block++) {
      let activation: string | null = 'relu';
      let batch_normalization = true;
      let strides = 1;
      if (stage === 0) {
        num_filters_out = num_filters_in * 4;
        if (res_block === 0) {
          // first layer and first stage
          activation = null;
          batch_normalization = false;
        }
      } else {
        num_filters_out = num_filters_in * 2;
        if (res_block === 0) strides = 2; // first layer but not first stage: downsample
      }

      // bottleneck residual unit
      let y = resnet_layer({
        inputs: x,
        num_filters: num_filters_in,
        kernel_size: 1,
        strides: strides,
        activation: activation,
        batch_normalization: batch_normalization,
        conv_first: false,
      });
      y = resnet_layer({ inputs: y, num_filters: num_filters_in, conv_first: false });
      y = resnet_layer({ inputs: y, num_filters: num_filters_out, kernel_size: 1, conv_first: false });
      if (res_block === 0) {
        // linear projection residual shortcut connection to match changed dims
        x = resnet_layer({
          inputs: x,
          num_filters: num_filters_out,
          kernel_size: 1,
          strides: strides,
          activation: null,
          batch_normalization: false,
        });
      }
      x = add([x, y]);
    }
    num_filters_in = num_filters_out;
  }

  // add classifier on top. v2 has BN-ReLU before Pooling
  x = new BatchNormalization().apply(x);
  x = new Activation('relu').apply(x);
  x = new AveragePooling2D({ pool_size: 8 }).apply(x);
  const y = new Flatten().apply(x);
  const outputs = new Dense({ units: num_classes, activation: 'softmax', kernel_initializer: 'he_normal' }).apply(y);

  // instantiate model.
  return new Model(inputs, outputs);
}
