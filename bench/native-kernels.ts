/**
 * GFLOP/s of modelspec's native kernels (native/, see src/backends/tfjs/wasm-kernels/native.ts) on
 * the MNIST CNN's and ResNet20's layers at batch 128, with each instruction set the CPU has:
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

// k: kernel size; s: stride; same: tfjs 'same' padding (else 'valid').
type Layer = { name: string; n: number; h: number; w: number; cin: number; cout: number; k?: number; s?: number; same?: boolean };
const layers: Layer[] = [
  { name: 'MNIST conv1 28x28x1 -> 26x26x64', n: 128, h: 28, w: 28, cin: 1, cout: 64 },
  { name: 'MNIST conv2 13x13x64 -> 11x11x64', n: 128, h: 13, w: 13, cin: 64, cout: 64 },
  { name: 'MNIST conv3 5x5x64 -> 3x3x64', n: 128, h: 5, w: 5, cin: 64, cout: 64 },
  // ResNet20 v1 (CIFAR-10) layers, batch 128, 'same' padding.
  { name: 'ResNet 32x32x16 -> 32x32x16', n: 128, h: 32, w: 32, cin: 16, cout: 16, same: true },
  { name: 'ResNet 16x16x32 -> 16x16x32', n: 128, h: 16, w: 16, cin: 32, cout: 32, same: true },
  { name: 'ResNet 8x8x64 -> 8x8x64', n: 128, h: 8, w: 8, cin: 64, cout: 64, same: true },
  { name: 'ResNet 32x32x16 -> 16x16x32 (stride 2)', n: 128, h: 32, w: 32, cin: 16, cout: 32, s: 2, same: true },
  { name: 'ResNet 16x16x32 -> 8x8x64 (stride 2)', n: 128, h: 16, w: 16, cin: 32, cout: 64, s: 2, same: true },
  { name: 'ResNet 1x1 32x32x16 -> 16x16x32 (stride 2)', n: 128, h: 32, w: 32, cin: 16, cout: 32, k: 1, s: 2, same: true },
];

const initial = nk.isa;
const isas = (['avx512', 'avx2'] as const).filter((isa) => nk.setIsa(isa) === isa);
console.log(`native kernels: ${nativeStatus().path}; instruction sets: ${isas.join(', ')}; best of ${reps} calls`);
console.log('| layer (batch 128, 3x3) | isa | Conv2D ms (GFLOP/s) | Conv2DBackpropInput ms (GFLOP/s) | Conv2DBackpropFilter ms (GFLOP/s) |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const l of layers) {
  const k = l.k ?? 3;
  const s = l.s ?? 1;
  const ho = l.same ? Math.ceil(l.h / s) : Math.floor((l.h - k) / s) + 1;
  const wo = l.same ? Math.ceil(l.w / s) : Math.floor((l.w - k) / s) + 1;
  // tfjs 'same': the total padding max((out - 1) * s + k - in, 0), the smaller half before.
  const pt = l.same ? Math.floor(Math.max((ho - 1) * s + k - l.h, 0) / 2) : 0;
  const pl = l.same ? Math.floor(Math.max((wo - 1) * s + k - l.w, 0) / 2) : 0;
  const params = Int32Array.of(l.n, l.h, l.w, l.cin, ho, wo, l.cout, k, k, s, s, pt, pl);
  const x = rand(l.n * l.h * l.w * l.cin);
  const w = rand(k * k * l.cin * l.cout);
  const dy = rand(l.n * ho * wo * l.cout);
  const y = new Float32Array(dy.length);
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  const flop = 2 * l.n * ho * wo * l.cout * k * k * l.cin;
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
