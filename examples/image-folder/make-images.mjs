// Writes a small image folder for examples/image-folder/stripes.yaml: one sub-folder per class
// (horizontal, vertical, checks), 40 noisy striped images each, PNG (and every fifth a JPEG),
// of sizes 14x14 to 18x16 (train resizes them to the model input's 16x16).
// Usage: node examples/image-folder/make-images.mjs [DIR]   (default: examples/image-folder/images)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pngjs from 'pngjs';
import jpeg from 'jpeg-js';

const dir = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'images');
let seed = 1;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
const classes = { horizontal: (x, y) => y % 6 < 3, vertical: (x) => x % 6 < 3, checks: (x, y) => (x % 6 < 3) === (y % 6 < 3) };
for (const [name, on] of Object.entries(classes)) {
  mkdirSync(join(dir, name), { recursive: true });
  for (let k = 0; k < 40; k++) {
    const width = 14 + (k % 5), height = 14 + (k % 3);
    const data = Buffer.alloc(width * height * 4);
    const shift = Math.floor(rnd() * 6);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const v = on(x + shift, y + shift) ? 160 + rnd() * 95 : rnd() * 90;
      data.set([v, v * (0.5 + 0.5 * rnd()), 255 - v, 255], 4 * (y * width + x));
    }
    if (k % 5 === 4) writeFileSync(join(dir, name, `${k}.jpg`), jpeg.encode({ data, width, height }, 90).data);
    else {
      const png = new pngjs.PNG({ width, height });
      data.copy(png.data);
      writeFileSync(join(dir, name, `${k}.png`), pngjs.PNG.sync.write(png));
    }
  }
}
console.log(`wrote ${Object.keys(classes).length * 40} images in ${Object.keys(classes).length} class folders under ${dir}`);
