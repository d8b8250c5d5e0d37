/**
 * Keras' parameter counts of the spec in test/tfjs-layers-reference.test.ts, transcribed by hand
 * from Keras' build() of each layer (keras/src/layers/...): the formula beside each number.
 * Imports nothing from src/: it must not share code (or bugs) with the compiler it checks.
 *
 * Input (6, 8, 8, 2): depth 6, height 8, width 8, 2 channels.
 */
export const VOLUME_SPEC_PARAMS: Readonly<Record<string, number>> = {
  // Conv3D(4, kernel_size=3, padding='same'): kernel (3, 3, 3, 2, 4) + bias (4,) = 27*2*4 + 4
  c3: 27 * 2 * 4 + 4, // 220
  // PReLU(shared_axes=[1, 2, 3]) on (6, 8, 8, 4): alpha (1, 1, 1, 4)
  act: 4,
  // MaxPooling3D(2): no weights; output (3, 4, 4, 4)
  pool: 0,
  // Conv3DTranspose(3, kernel_size=(1, 2, 2), strides=(1, 2, 2)): kernel (1, 2, 2, 3, 4) + bias (3,) = 4*3*4 + 3
  up: 1 * 2 * 2 * 3 * 4 + 3, // 51
  // Conv3D(2, kernel_size=1, use_bias=False): kernel (1, 1, 1, 3, 2)
  proj: 3 * 2, // 6
  // PReLU() on (3, 8, 8, 2): alpha of the full input shape 3*8*8*2
  act2: 3 * 8 * 8 * 2, // 384
  // AveragePooling3D(pool_size=(3, 8, 8)): no weights; output (1, 1, 1, 2)
  gap: 0,
  // Reshape([2]), Dense(3): kernel (2, 3) + bias (3,)
  flat: 0,
  out: 2 * 3 + 3, // 9
};

/** Total: 220 + 4 + 51 + 6 + 384 + 9. */
export const VOLUME_SPEC_TOTAL = 674;
