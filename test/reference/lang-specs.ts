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

/**
 * The book's chapter-2 DenseNet-BC script (densenet-cifar10), transcribed: the layers it creates,
 * in order, as [kerasClass, output channels, params]. Its bookkeeping of the transition width
 * (`num_filters_bef_dense_block`) leaves out the image's 3 channels that the stem is concatenated
 * with. BatchNormalization: 4 * channels weights, half of them (moving mean, variance) fixed.
 */
export function densenetBc(depth = 100, k = 12, compression = 0.5, blocks = 3, classes = 10, image: [number, number, number] = [32, 32, 3]) {
  const L = Math.floor((depth - 4) / (2 * blocks));
  const layers: [string, number, number][] = [];
  let fixed = 0;
  const bn = (c: number) => { layers.push(['BatchNormalization', c, 4 * c]); fixed += 2 * c; };
  const conv = (cin: number, cout: number, ks: number) => layers.push(['Conv2D', cout, ks * ks * cin * cout + cout]);
  let size = image[0];
  bn(image[2]); layers.push(['Activation', image[2], 0]);
  let f = 2 * k;
  conv(image[2], f, 3);
  let c = image[2] + f;
  layers.push(['Concatenate', c, 0]);
  for (let i = 0; i < blocks; i++) {
    for (let j = 0; j < L; j++) {
      bn(c); layers.push(['Activation', c, 0]); conv(c, 4 * k, 1);
      bn(4 * k); layers.push(['Activation', 4 * k, 0]); conv(4 * k, k, 3);
      c += k;
      layers.push(['Concatenate', c, 0]);
    }
    if (i === blocks - 1) continue;
    f = Math.floor((f + L * k) * compression);
    bn(c); conv(c, f, 1); c = f;
    layers.push(['AveragePooling2D', c, 0]);
    size = Math.floor(size / 2);
  }
  layers.push(['AveragePooling2D', c, 0], ['Flatten', c, 0], ['Dense', classes, c * classes + classes]);
  const total = layers.reduce((s, l) => s + l[2], 0);
  return { layers, total, trainable: total - fixed, finalSize: size };
}

/**
 * U-Net (Ronneberger et al. 2015, padding same, transposed 2x2 up-convolutions), transcribed as
 * the Keras functional code writes it: the Conv2D / Conv2DTranspose layers in creation order as
 * [kerasClass, filters, params], with conv params kh*kw*cin*filters + filters.
 */
export function unet(levels = 4, base = 64, classes = 1, channels = 1) {
  const layers: [string, number, number][] = [];
  const conv = (cls: string, cin: number, cout: number, ks: number) => layers.push([cls, cout, ks * ks * cin * cout + cout]);
  let c = channels;
  const skips: number[] = [];
  for (let l = 0; l < levels; l++) {
    const f = base * 2 ** l;
    conv('Conv2D', c, f, 3); conv('Conv2D', f, f, 3);
    skips.push(f); c = f;
  }
  const fb = base * 2 ** levels;
  conv('Conv2D', c, fb, 3); conv('Conv2D', fb, fb, 3); c = fb;
  for (let l = levels - 1; l >= 0; l--) {
    const f = base * 2 ** l;
    conv('Conv2DTranspose', c, f, 2);
    c = f + skips[l]!; // concatenated with the skip of the same level
    conv('Conv2D', c, f, 3); conv('Conv2D', f, f, 3); c = f;
  }
  conv('Conv2D', c, classes, 1);
  return { layers, total: layers.reduce((s, l) => s + l[2], 0) };
}
