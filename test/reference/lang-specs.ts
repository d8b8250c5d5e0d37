/**
 * Independent transcriptions of the language-construct specs (issue #15): the Keras layers each
 * spec must give, with their parameter counts worked out by hand from Keras' formulas
 * (Conv2D: kh*kw*cin*filters + filters; Dense: in*units + units; pooling and flatten: 0).
 * Nothing here reads the specs or the compiler.
 */

/** specs/siamese.yaml with its defaults: input 28x28x1, filters 16, embed_dim 32. */
export const SIAMESE = (() => {
  const f = 16, e = 32;
  // 28 -conv3-> 26 -pool-> 13 -conv3-> 11 -pool-> 5: flatten 5*5*(2f) = 800.
  const flat = 5 * 5 * 2 * f;
  const layers: [name: string, kerasClass: string, params: number, applications: number][] = [
    ['left', 'InputLayer', 0, 1],
    ['right', 'InputLayer', 0, 1],
    ['left_tower/conv1', 'Conv2D', 3 * 3 * 1 * f + f, 2], // 160
    ['left_tower/pool1', 'MaxPooling2D', 0, 2],
    ['left_tower/conv2', 'Conv2D', 3 * 3 * f * 2 * f + 2 * f, 2], // 4,640
    ['left_tower/pool2', 'MaxPooling2D', 0, 2],
    ['left_tower/flatten', 'Flatten', 0, 2],
    ['left_tower/embed', 'Dense', flat * e + e, 2], // 25,632
    ['concatenate', 'Concatenate', 0, 1],
    ['same', 'Dense', 2 * e * 1 + 1, 1], // 65
  ];
  return { layers, total: 30_497, trainable: 30_497 };
})();
