/**
 * GFLOP/s of modelspec's native kernels (native/, see src/backends/tfjs/wasm-kernels/native.ts) on
 * the MNIST CNN's layers at batch 128, with each instruction set the CPU has:
 *
 *   npx tsx bench/native-kernels.ts [--reps N]
 *
 * Calls the addon directly on plain Float32Arrays (as the wasm kernels do on views of the heap):
 * the best of --reps (15) calls per kernel; FLOPs counted as 2 * n * ho * wo * cout * kh * kw * cin
 * for each of the three convolution kernels, bytes of x + dy + dx for the max-pooling gradient.
 * Needs the addon built (`npm run build`).
 */
import { nativeKernels, nativeStatus } from '../src/backends/tfjs/wasm-kernels.js';

const reps = Number(process.argv[process.argv.indexOf('--reps') + 1]) || 15;
const nk = nativeKernels();
if (!nk) {
  console.error(`native kernels not available: ${nativeStatus().reason}`);
  process.exit(1);
}

const rand = (n: number) => {
  const a = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
};

const best = (f: () => void) => {
  f();
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
};

const layers = [
  { name: 'conv1 28x28x1 -> 26x26x64', n: 128, h: 28, w: 28, cin: 1, cout: 64 },
  { name: 'conv2 13x13x64 -> 11x11x64', n: 128, h: 13, w: 13, cin: 64, cout: 64 },
  { name: 'conv3 5x5x64 -> 3x3x64', n: 128, h: 5, w: 5, cin: 64, cout: 64 },
];

const initial = nk.isa;
const isas = (['avx512', 'avx2'] as const).filter((isa) => nk.setIsa(isa) === isa);
console.log(`native kernels: ${nativeStatus().path}; instruction sets: ${isas.join(', ')}; best of ${reps} calls`);
console.log('| layer (batch 128, 3x3, valid) | isa | Conv2D ms (GFLOP/s) | Conv2DBackpropInput ms (GFLOP/s) | Conv2DBackpropFilter ms (GFLOP/s) |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const l of layers) {
  const ho = l.h - 2;
  const wo = l.w - 2;
  const params = Int32Array.of(l.n, l.h, l.w, l.cin, ho, wo, l.cout, 3, 3, 1, 1, 0, 0);
  const x = rand(l.n * l.h * l.w * l.cin);
  const w = rand(9 * l.cin * l.cout);
  const dy = rand(l.n * ho * wo * l.cout);
  const y = new Float32Array(dy.length);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const flop = 2 * l.n * ho * wo * l.cout * 9 * l.cin;
  for (const isa of isas) {
    nk.setIsa(isa);
    const cell = (ms: number) => `${ms.toFixed(2)} (${(flop / ms / 1e6).toFixed(0)})`;
    const f = best(() => nk.conv2d(x, w, y, params));
    const i = best(() => nk.conv2dBackpropInput(dy, w, dx, params));
    const g = best(() => nk.conv2dBackpropFilter(x, dy, dw, params));
    console.log(`| ${l.name} | ${isa} | ${cell(f)} | ${cell(i)} | ${cell(g)} |`);
  }
}
nk.setIsa(initial);

console.log('\n| MaxPoolGrad (2x2, stride 2) | ms | GB/s (x + dy + dx) |');
console.log('| --- | ---: | ---: |');
for (const [h, ho] of [
  [26, 13],
  [11, 5],
] as const) {
  const n = 128;
  const c = 64;
  const x = rand(n * h * h * c);
  const dy = rand(n * ho * ho * c);
  const dx = new Float32Array(x.length);
  const t = best(() => nk.maxPoolGrad(x, dy, dx, Int32Array.of(n, h, h, c, ho, ho, 2, 2, 2, 2, 0, 0)));
  console.log(`| [${n}, ${h}, ${h}, ${c}] -> [${n}, ${ho}, ${ho}, ${c}] | ${t.toFixed(2)} | ${(((2 * x.length + dy.length) * 4) / t / 1e6).toFixed(1)} |`);
}
