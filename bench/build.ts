/**
 * Build speed of the interpreter: `npx tsx bench/build.ts [--runs N] [--warmup N] [--backend cpu|wasm]`.
 *
 * ResNet110v2 (specs/resnet-v2.yaml, n=12) built as a tf.LayersModel three ways, in the same
 * process, on the same backend, alternating run by run after warm-up (median of --runs, 10 by default):
 *   interpreter  buildModel(graph): the interpreter alone, from the compiled graph
 *   end-to-end   buildModel('specs/resnet-v2.yaml', ['n=12']): YAML -> compile -> interpreter
 *   reference    resnet_v2(tf, [32, 32, 3], 110): the hand-written transcription of the seed's
 *                Keras code (test/reference/tfjs-seed.ts)
 * and the ratios interpreter / reference and end-to-end / reference (target: interpreter <= 1.1).
 * Timings on a busy machine are noisy: run with NODE_OPTIONS=--expose-gc to collect garbage before
 * every run, and more --runs; the ratio is also given as the median of per-run ratios and the
 * ratio of the minimums.
 * Every model is disposed before the next run. Runs on cpu and, if it loads, wasm.
 * It measures the TypeScript sources (through tsx), not dist/.
 */
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type BackendName, type Tf } from '../src/build.js';
import { compileFile } from '../src/index.js';
import { resnet_v2 } from '../test/reference/tfjs-seed.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const RUNS = Number(opt('runs', '10'));
const WARMUP = Number(opt('warmup', '3'));
const BACKENDS = opt('backend', 'cpu,wasm').split(',') as BackendName[];
const N = 12;
const SPEC = fileURLToPath(new URL('../specs/resnet-v2.yaml', import.meta.url));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const gc = (globalThis as { gc?: () => void }).gc;

console.log(`machine: ${cpus()[0]?.model} x${cpus().length}, node ${process.version}${gc ? ', gc between runs' : ''}`);

const compileStart = performance.now();
const compiled = compileFile(SPEC, { set: [`n=${N}`] });
if (!compiled.ok || !compiled.graph) throw new Error('resnet-v2 n=12 does not compile');
const graph = compiled.graph;
console.log(`ResNet${9 * N + 2}v2: ${graph.nodes.length} layers, ${graph.totals.total.toLocaleString('en')} params (static compile ${(performance.now() - compileStart).toFixed(0)} ms, first run)`);

type Way = 'interpreter' | 'end-to-end' | 'reference';

async function benchBackend(backend: BackendName): Promise<void> {
  let tf: Tf;
  try {
    const loaded = await loadTf(backend);
    if (loaded.backend !== backend) throw new Error(`got ${loaded.backend}`);
    tf = loaded.tf;
  } catch (e) {
    console.log(`\n${backend}: not available (${(e as Error).message})`);
    return;
  }
  const build: Record<Way, () => Promise<TF.LayersModel> | TF.LayersModel> = {
    interpreter: () => buildModel(graph, undefined, { tf }),
    'end-to-end': () => buildModel(SPEC, [`n=${N}`], { tf }),
    reference: () => resnet_v2(tf, [32, 32, 3], 9 * N + 2),
  };
  const ways = Object.keys(build) as Way[];
  const times: Record<Way, number[]> = { interpreter: [], 'end-to-end': [], reference: [] };
  const startTensors = tf.memory().numTensors;
  let params = 0;
  for (let run = 0; run < WARMUP + RUNS; run++) {
    // Alternate the order from run to run, so that neither way always follows the other.
    const order = run % 2 ? [...ways].reverse() : ways;
    for (const way of order) {
      gc?.();
      const t = performance.now();
      const model = await build[way]();
      const ms = performance.now() - t;
      if (params === 0) params = model.countParams();
      if (model.countParams() !== params) throw new Error(`${way}: ${model.countParams()} params, expected ${params}`);
      model.dispose();
      if (run >= WARMUP) times[way].push(ms);
    }
  }
  if (tf.memory().numTensors !== startTensors) throw new Error(`${backend}: ${tf.memory().numTensors - startTensors} tensors leaked`);
  const med = Object.fromEntries(ways.map((w) => [w, median(times[w])])) as Record<Way, number>;
  console.log(`\n${backend} backend (median of ${RUNS} alternating runs after ${WARMUP} warm-up; min..max in brackets):`);
  for (const w of ways) {
    console.log(`  ${w.padEnd(12)} ${med[w].toFixed(1).padStart(8)} ms  [${Math.min(...times[w]).toFixed(1)}..${Math.max(...times[w]).toFixed(1)}]`);
  }
  // Three estimates of the ratio: of the medians; the median of the per-run ratios (each run builds
  // both, back to back, so slow phases of a busy machine cancel); of the minimums (least noise).
  const ratios = (w: Way) => {
    const paired = times[w].map((t, i) => t / times.reference[i]!);
    return { medians: med[w] / med.reference, paired: median(paired), minimums: Math.min(...times[w]) / Math.min(...times.reference) };
  };
  const show = (r: ReturnType<typeof ratios>) => `${r.medians.toFixed(3)} (median of per-run ratios ${r.paired.toFixed(3)}, of minimums ${r.minimums.toFixed(3)})`;
  const r = ratios('interpreter');
  console.log(`  ratio interpreter / reference: ${show(r)}; target <= 1.1: ${r.medians <= 1.1 ? 'met' : 'NOT met'}`);
  console.log(`  ratio end-to-end / reference:  ${show(ratios('end-to-end'))} (includes compiling the YAML)`);
}

for (const b of BACKENDS) await benchBackend(b);
