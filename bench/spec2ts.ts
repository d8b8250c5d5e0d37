/**
 * spec2ts speed: `npm run build && npx tsx bench/spec2ts.ts`.
 *
 *  1. Generation of all specs: `spec2ts` over specs/ in a new node process (what a user or CI
 *     runs, ts-morph and all), median of 5; and in-process after warm-up.
 *  2. Building ResNet110v2 (resnet-v2, n=12) on the cpu backend, in one process, alternating:
 *     the generated builder (generated/resnet-v2.ts) against the interpreter (buildModel: compile
 *     the spec, then build), and the interpreter's build step alone (buildFromGraph on a graph
 *     compiled beforehand). Median of 15 after 3 warm-up rounds; every model is disposed.
 *
 * It measures the built code in dist/ (the generated module imports `modelspec/runtime`, which
 * resolves to dist/runtime through the package's exports).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileFile, builtinRegistry } from '../dist/index.js';
import { buildFromGraph, buildModel, loadTf } from '../dist/build.js';
import { runSpec2ts } from '../dist/codegen/run.js';
import { buildResnetV2 } from '../generated/resnet-v2.js';

const root = new URL('..', import.meta.url).pathname;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(`machine: ${cpus()[0]?.model} x${cpus().length}, node ${process.version}\n`);

// 1. Generation.
const out = mkdtempSync(join(tmpdir(), 'spec2ts-bench-'));
const cli = join(root, 'dist', 'cli', 'spec2ts.js');
const cold: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [cli, '--out', out], { cwd: root, stdio: 'pipe' });
  cold.push(performance.now() - t);
}
const modules = runSpec2ts([], { cwd: root, out, check: true }).stdout.match(/\((\d+) modules?/)?.[1];
const warm: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const r = runSpec2ts([], { cwd: root, out, check: true });
  warm.push(performance.now() - t);
  if (r.code !== 0) throw new Error(r.stderr);
}
rmSync(out, { recursive: true, force: true });
console.log(`1. generation of all specs (${modules} modules): ${median(cold).toFixed(0)} ms per run of \`spec2ts\` in a new process (median of 5; target <= 3000 ms), ${median(warm).toFixed(0)} ms in-process after warm-up\n`);

// 2. Building ResNet110v2.
const { tf, backend } = await loadTf('cpu');
const spec = join(root, 'specs', 'resnet-v2.yaml');
const graph = compileFile(spec, { set: ['n=12'] }).graph!;
const times = { generated: [] as number[], interpreter: [] as number[], buildOnly: [] as number[] };
let layers = 0;
for (let round = 0; round < 18; round++) {
  const runs: [keyof typeof times, () => Promise<{ layers: unknown[]; dispose(): void }>][] = [
    ['generated', async () => buildResnetV2({ n: 12 }, tf)],
    ['interpreter', async () => buildModel(spec, { n: 12 }, { tf })],
    ['buildOnly', async () => buildFromGraph(tf, graph, builtinRegistry())],
  ];
  // Alternate the order so that neither side always runs on a warmer heap.
  if (round % 2) runs.reverse();
  for (const [name, run] of runs) {
    const t = performance.now();
    const m = await run();
    const ms = performance.now() - t;
    layers = m.layers.length;
    m.dispose();
    if (round >= 3) times[name].push(ms);
  }
}
const g = median(times.generated), i = median(times.interpreter), b = median(times.buildOnly);
console.log(`2. ResNet110v2 (resnet-v2 n=12, ${layers} layers), backend ${backend}, median of 15 after 3 warm-up rounds:`);
console.log('| builder | ms |');
console.log('| --- | ---: |');
console.log(`| generated (generated/resnet-v2.ts) | ${g.toFixed(0)} |`);
console.log(`| interpreter (buildModel: compile + build) | ${i.toFixed(0)} |`);
console.log(`| interpreter, build step only (buildFromGraph) | ${b.toFixed(0)} |`);
console.log(`generated / interpreter = ${(g / i).toFixed(2)} (target <= 1.00); generated / build step only = ${(g / b).toFixed(2)}`);
