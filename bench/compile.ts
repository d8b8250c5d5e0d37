/**
 * Front-end speed: `npm run bench` (after `npm run build`).
 *
 *  1. Static compile (YAML -> typed graph) of ResNet1001v2 (resnet-v2, n=111, ~3,300 layers), in-process after warm-up.
 *  2. How the cost grows with size: resnet-v2 up to a ~30,000-layer spec.
 *  3. Cold start of `modelspec check specs/resnet-v1.yaml` (a new node process each time).
 *
 * It measures the built code in dist/ (what users run), not the TypeScript sources.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { compileSource } from '../dist/index.js';

const file = new URL('../specs/resnet-v2.yaml', import.meta.url).pathname;
const text = readFileSync(file, 'utf8');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeCompile(n: number, runs: number, warmup: number): { ms: number; layers: number } {
  let layers = 0;
  // The default node limit (20,000) guards against hostile specs; a 30,000-layer spec is asked for explicitly.
  const limits = { maxExpandedNodes: 50_000 };
  for (let i = 0; i < warmup; i++) compileSource(file, text, { set: [`n=${n}`], limits });
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = compileSource(file, text, { set: [`n=${n}`], limits });
    times.push(performance.now() - t);
    if (!r.ok || !r.graph) throw new Error(`resnet-v2 n=${n} did not compile`);
    layers = r.graph.nodes.length;
  }
  return { ms: median(times), layers };
}

console.log(`machine: ${cpus()[0]?.model} x${cpus().length}, node ${process.version}\n`);

const big = timeCompile(111, 30, 15);
console.log(`1. resnet-v2 n=111 (ResNet1001v2, ${big.layers} layers): median ${big.ms.toFixed(1)} ms per static compile (30 runs after 15 warm-up)\n`);

console.log('2. scaling (resnet-v2, median of 5 after 3 warm-up):');
console.log('| n | layers | ms | µs per layer |');
console.log('| ---: | ---: | ---: | ---: |');
const rows: { layers: number; ms: number }[] = [];
for (const n of [28, 111, 222, 444, 1000]) {
  const r = timeCompile(n, 5, 3);
  rows.push(r);
  console.log(`| ${n} | ${r.layers} | ${r.ms.toFixed(1)} | ${((r.ms / r.layers) * 1000).toFixed(1)} |`);
}
const perLayer = rows.slice(1).map((r) => r.ms / r.layers);
console.log(`per-layer cost, largest / smallest (from 3k layers up): ${(Math.max(...perLayer) / Math.min(...perLayer)).toFixed(2)} (1.0 = perfectly linear)\n`);

const cli = new URL('../dist/cli/modelspec.js', import.meta.url).pathname;
const spec = new URL('../specs/resnet-v1.yaml', import.meta.url).pathname;
const cold: number[] = [];
for (let i = 0; i < 11; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [cli, 'check', spec], { stdio: 'pipe' });
  cold.push(performance.now() - t);
}
console.log(`3. cold start, modelspec check specs/resnet-v1.yaml: median ${median(cold).toFixed(0)} ms wall (11 runs, min ${Math.min(...cold).toFixed(0)} ms)`);
