/**
 * Training and inference throughput against PyTorch (issue 8):
 *
 *   npx tsx bench/train-throughput.ts [--models mnist-cnn,y-network,resnet-v1] [--backends wasm,cpu,node]
 *     [--workers 1,2] [--seconds N] [--json out.json] [--cpu-steps N] [--cpu-batch 8,64] [--y-dilation N]
 *     [--no-torch] [--torch-threads 2] [--torch-malloc default,tuned]
 *
 * For each model (specs/mnist-cnn.yaml; specs/y-network.yaml with the same image fed to both
 * inputs; specs/resnet-v1.yaml with n=3, ResNet20v1), built through modelspec's own path
 * (loadTf + buildModel, so the wasm backend gets modelspec's training kernels):
 *   train  steady-state images/s of model.trainOnBatch, batch 128, Adam lr 1e-3, categorical
 *          cross-entropy, random data: warm-up steps first (not counted), then steps until
 *          --seconds have passed (at least --min-steps), images/s = 128 / median step time;
 *   infer  the same for model.predict, batch 256.
 * Backends: wasm; cpu, capped (it is very slow: ~0.5 images/s training the MNIST CNN, ~0.1 the
 * ResNet, so a step of 128 takes minutes): --cpu-steps timed steps (2) of a smaller batch
 * (--cpu-batch, 8 for training, 64 for inference; on cpu the time per image hardly depends on the
 * batch), no warm-up for training (its first step costs about as much as the next) and one for
 * inference; node when @tensorflow/tfjs-node is installed. Data-parallel wasm training with --workers
 * (src/train/parallel). Then the same architectures in PyTorch
 * (bench/torch_models.py, run with Debian's /usr/bin/python3 and python3-torch, 2 threads),
 * one after the other, never at the same time as tfjs: first as installed (stock glibc malloc, as
 * the issue measured it: the reference of the ratios and targets), then with glibc malloc told to
 * keep freed memory (--torch-malloc, see bench/torch_models.py: stock glibc unmaps every large
 * activation, and the page faults make PyTorch 1.5-4x slower on this VM). Prints a table per model
 * with the ratios tfjs / PyTorch and the issue's targets, met or unmet, and the ratio against the
 * tuned PyTorch beside them.
 *
 * It measures the TypeScript sources (through tsx), not dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type BackendName, type Tf } from '../src/build.js';
import { openDataParallel, type DataParallel } from '../src/train/parallel/index.js';
import { mulberry32 as prng } from '../src/train/rng.js';

// ---------------------------------------------------------------------------------------------
// Options

const argv = process.argv.slice(2);
const KNOWN_FLAGS = new Set(['models', 'backends', 'workers', 'seconds', 'json', 'cpu-steps', 'cpu-batch', 'min-steps', 'warmup', 'y-dilation', 'no-torch', 'torch-threads', 'torch-malloc', 'help']);
for (const a of argv) {
  if (a.startsWith('--') && !KNOWN_FLAGS.has(a.slice(2))) {
    console.error(`unknown option ${a}; see the comment at the top of bench/train-throughput.ts`);
    process.exit(2);
  }
}
if (argv.includes('--help')) {
  console.log('npx tsx bench/train-throughput.ts [--models mnist-cnn,y-network,resnet-v1] [--backends wasm,cpu,node] [--workers 1,2] [--seconds N] [--json out.json] [--cpu-steps N] [--cpu-batch TRAIN,INFER] [--min-steps N] [--warmup N] [--y-dilation N] [--no-torch] [--torch-threads 2] [--torch-malloc default,tuned]');
  process.exit(0);
}
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : dflt;
};
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const posInt = (name: string, dflt: string, min = 1) => {
  const v = Number(opt(name, dflt));
  if (!Number.isInteger(v) || v < min) {
    console.error(`--${name} must be an integer >= ${min}`);
    process.exit(2);
  }
  return v;
};

const SECONDS = Number(opt('seconds', '15'));
if (!(SECONDS > 0)) {
  console.error('--seconds must be a positive number');
  process.exit(2);
}
const MIN_STEPS = posInt('min-steps', '3');
const WARMUP = posInt('warmup', '2', 0);
const CPU_STEPS = posInt('cpu-steps', '2');
const CPU_BATCH = list(opt('cpu-batch', '8,64')).map(Number);
if (CPU_BATCH.length !== 2 || CPU_BATCH.some((b) => !Number.isInteger(b) || b < 1)) {
  console.error('--cpu-batch takes two positive integers: the training and the inference batch on cpu');
  process.exit(2);
}
const [CPU_TRAIN_BATCH, CPU_INFER_BATCH] = CPU_BATCH as [number, number];
const Y_DILATION = posInt('y-dilation', '1');
const WORKERS = opt('workers', '1,2') === 'none' ? [] : list(opt('workers', '1,2')).map(Number);
const JSON_OUT = argv.includes('--json') ? opt('json', '') : '';
const TORCH = !argv.includes('--no-torch');
const TORCH_THREADS = posInt('torch-threads', '2');
// PyTorch as the issue measured it (Debian's package as installed: stock glibc malloc) is the
// reference of the ratios and targets; PyTorch with malloc tuned to keep freed memory is shown beside it.
const TORCH_MALLOCS = opt('torch-malloc', 'default,tuned').split(',');
if (!TORCH_MALLOCS.every((m) => ['tuned', 'default'].includes(m))) {
  console.error('--torch-malloc is a list of tuned and default');
  process.exit(2);
}
const TRAIN_BATCH = 128;
const INFER_BATCH = 256;
const CLASSES = 10;
const MAX_STEPS = 200;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = `${ROOT}bench/torch_models.py`;

interface ModelCase {
  id: string;
  title: string;
  spec: string;
  set: string[];
  inputs: number[][];
  params: number; // Keras / tfjs-layers count (../shared/reference/seed-models.md)
}
const MODELS: ModelCase[] = [
  { id: 'mnist-cnn', title: 'MNIST CNN', spec: 'mnist-cnn.yaml', set: [], inputs: [[28, 28, 1]], params: 80_266 },
  {
    id: 'y-network',
    title: Y_DILATION === 1 ? 'Y-network' : `Y-network (right branch dilation ${Y_DILATION})`,
    spec: 'y-network.yaml',
    set: Y_DILATION === 1 ? [] : [`right_dilation=${Y_DILATION}`],
    inputs: [[28, 28, 1], [28, 28, 1]],
    params: 208_394,
  },
  { id: 'resnet-v1', title: 'ResNet20v1 (resnet-v1, n=3)', spec: 'resnet-v1.yaml', set: ['n=3'], inputs: [[32, 32, 3]], params: 274_442 },
];

const modelIds = list(opt('models', MODELS.map((m) => m.id).join(',')));
for (const id of modelIds) {
  if (!MODELS.some((m) => m.id === id)) {
    console.error(`unknown model ${id} (known: ${MODELS.map((m) => m.id).join(', ')})`);
    process.exit(2);
  }
}
const backends = list(opt('backends', 'wasm,cpu,node'));
for (const b of backends) {
  if (!['wasm', 'cpu', 'node'].includes(b)) {
    console.error(`unknown backend ${b} (known: wasm, cpu, node)`);
    process.exit(2);
  }
}
if (WORKERS.some((w) => !Number.isInteger(w) || w < 1)) {
  console.error('--workers takes a list of positive integers, or none');
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const firstLine = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0]!.slice(0, 300);
const fmt = (x: number | undefined, digits = 1) => (x === undefined || !Number.isFinite(x) ? '-' : x >= 100 ? Math.round(x).toLocaleString('en') : x.toFixed(digits));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !(b > 0) ? undefined : a / b);
const fmtRatio = (r: number | undefined) => (r === undefined ? '-' : r >= 1 ? `${r.toFixed(2)}x` : `${r.toFixed(3)}x`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const log = (s: string) => process.stderr.write(`${s}\n`);

function randomImages(rand: () => number, n: number, shape: number[]): Float32Array {
  const a = new Float32Array(n * size(shape));
  for (let i = 0; i < a.length; i++) a[i] = rand();
  return a;
}
function randomOneHot(rand: () => number, n: number): Float32Array {
  const a = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) a[i * CLASSES + Math.floor(rand() * CLASSES)] = 1;
  return a;
}

interface Stat {
  batch: number;
  steps: number;
  medianMs: number;
  imagesPerS: number;
}
interface Row {
  label: string;
  kind: 'tfjs' | 'torch';
  train?: Stat;
  infer?: Stat;
  trainError?: string;
  inferError?: string;
  note?: string;
  unavailable?: string;
}

/** Warm-up steps (not counted), then steps until the budget is spent; the median step time. */
async function timeSteps(step: () => Promise<void>, batch: number, o: { warmup: number; minSteps: number; maxSteps: number; seconds: number }): Promise<Stat> {
  for (let i = 0; i < o.warmup; i++) await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < o.maxSteps && (times.length < o.minSteps || performance.now() - start < o.seconds * 1000)) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
  }
  const ms = median(times);
  return { batch, steps: times.length, medianMs: ms, imagesPerS: (batch * 1000) / ms };
}

// ---------------------------------------------------------------------------------------------
// tfjs

const ENGINE: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };
const loaded = new Map<BackendName, Tf>();
const unavailable = new Map<BackendName, string>();

async function loadBackends(): Promise<void> {
  // node first (it would bring its own tfjs namespace), then wasm (registers modelspec's kernels), then cpu.
  for (const b of (['node', 'wasm', 'cpu'] as BackendName[]).filter((b) => backends.includes(b))) {
    try {
      const r = await loadTf(b);
      if (r.backend !== b) throw new Error(`loadTf gave ${r.backend}`);
      loaded.set(b, r.tf);
    } catch (e) {
      const msg = firstLine(e);
      unavailable.set(b, b === 'node' && /not installed|Cannot find/.test(msg) ? 'not installed (@tensorflow/tfjs-node is missing)' : `not available (${msg})`);
    }
  }
}

async function use(b: BackendName): Promise<Tf> {
  const tf = loaded.get(b)!;
  if (tf.getBackend() !== ENGINE[b]) {
    if (!(await tf.setBackend(ENGINE[b]))) throw new Error(`cannot switch to ${b}`);
    await tf.ready();
  }
  return tf;
}

/**
 * Time training steps (each returns its loss, which must stay finite), then inference steps, into
 * `row`; a failure of either is recorded in the row and the other is still measured.
 */
async function timeTrainAndInfer(
  m: ModelCase,
  row: Row,
  train: { batch: number; budget: Parameters<typeof timeSteps>[2]; step: () => Promise<number> },
  infer: { batch: number; budget: Parameters<typeof timeSteps>[2]; step: () => Promise<void> },
): Promise<void> {
  log(`  ${m.id} ${row.label}: train ...`);
  try {
    let lastLoss = NaN;
    row.train = await timeSteps(async () => {
      lastLoss = await train.step();
    }, train.batch, train.budget);
    if (!Number.isFinite(lastLoss)) row.trainError = `loss is ${lastLoss}`;
  } catch (e) {
    row.trainError = firstLine(e);
  }
  log(`  ${m.id} ${row.label}: infer ...`);
  try {
    row.infer = await timeSteps(infer.step, infer.batch, infer.budget);
  } catch (e) {
    row.inferError = firstLine(e);
  }
}

async function measureTfjs(b: BackendName, m: ModelCase): Promise<Row> {
  const tf = await use(b);
  const capped = b === 'cpu';
  const full = { warmup: WARMUP, minSteps: MIN_STEPS, maxSteps: MAX_STEPS, seconds: SECONDS };
  const trainBudget = capped ? { warmup: 0, minSteps: CPU_STEPS, maxSteps: CPU_STEPS, seconds: 0 } : full;
  const inferBudget = capped ? { warmup: 1, minSteps: CPU_STEPS, maxSteps: CPU_STEPS, seconds: 0 } : full;
  const trainBatch = capped ? CPU_TRAIN_BATCH : TRAIN_BATCH;
  const inferBatch = capped ? CPU_INFER_BATCH : INFER_BATCH;
  const row: Row = { label: capped ? `tfjs ${b} (batch ${trainBatch} / ${inferBatch}, ${CPU_STEPS} steps)` : `tfjs ${b}`, kind: 'tfjs' };
  const before = tf.memory().numTensors;
  let model: TF.LayersModel | undefined;
  const tensors: TF.Tensor[] = [];
  try {
    model = await buildModel(`${ROOT}specs/${m.spec}`, m.set, { tf });
    const params = model.countParams();
    if (params !== m.params) row.note = `countParams ${params.toLocaleString('en')}, expected ${m.params.toLocaleString('en')}`;
    const rand = prng(1);
    const shape = m.inputs[0]!;
    const x = tf.tensor(randomImages(rand, trainBatch, shape), [trainBatch, ...shape]);
    const y = tf.tensor2d(randomOneHot(rand, trainBatch), [trainBatch, CLASSES]);
    const xi = tf.tensor(randomImages(rand, inferBatch, shape), [inferBatch, ...shape]);
    tensors.push(x, y, xi);
    const feed = (t: TF.Tensor) => (m.inputs.length === 1 ? t : m.inputs.map(() => t)); // the same image to every input
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
    const mdl = model;
    await timeTrainAndInfer(m, row, {
      batch: trainBatch, budget: trainBudget,
      step: async () => {
        const loss = await mdl.trainOnBatch(feed(x), y);
        return Array.isArray(loss) ? loss[0]! : loss;
      },
    }, {
      batch: inferBatch, budget: inferBudget,
      step: async () => {
        const out = mdl.predict(feed(xi), { batchSize: inferBatch }) as TF.Tensor;
        await out.data();
        out.dispose();
      },
    });
  } catch (e) {
    row.unavailable = `failed: ${firstLine(e)}`;
  } finally {
    model?.optimizer?.dispose();
    model?.dispose();
    tf.dispose(tensors);
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked > 0) row.note = [row.note, `${leaked} tensors left over${row.trainError ? ' (by the failed training step)' : ''}`].filter(Boolean).join('; ');
  return row;
}

// ---------------------------------------------------------------------------------------------
// Data-parallel training (src/train/parallel): openDataParallel.

async function measureWorkers(workers: number, m: ModelCase): Promise<Row> {
  const row: Row = { label: `tfjs wasm, ${workers} worker${workers === 1 ? '' : 's'}`, kind: 'tfjs' };
  const budget = { warmup: WARMUP, minSteps: MIN_STEPS, maxSteps: MAX_STEPS, seconds: SECONDS };
  let dp: DataParallel | undefined;
  try {
    dp = await openDataParallel({ spec: `${ROOT}specs/${m.spec}`, set: m.set, backend: 'wasm', workers, optimizer: { name: 'adam', learning_rate: 1e-3 }, seed: 1 });
    const d = dp;
    const rand = prng(1);
    const shape = m.inputs[0]!;
    const x = randomImages(rand, TRAIN_BATCH, shape);
    const y = randomOneHot(rand, TRAIN_BATCH);
    const xi = randomImages(rand, INFER_BATCH, shape);
    await timeTrainAndInfer(m, row, {
      batch: TRAIN_BATCH, budget,
      step: async () => (await d.trainStep(x, y, TRAIN_BATCH)).loss,
    }, {
      batch: INFER_BATCH, budget,
      step: async () => {
        const out = await d.predict(xi, INFER_BATCH);
        if (out.length !== INFER_BATCH * CLASSES) throw new Error(`predict gave ${out.length} values, expected ${INFER_BATCH * CLASSES}`);
      },
    });
  } catch (e) {
    row.unavailable = `failed: ${firstLine(e)}`;
  } finally {
    try {
      await dp?.close();
    } catch (e) {
      row.note = `close failed: ${firstLine(e)}`;
    }
  }
  return row;
}

// ---------------------------------------------------------------------------------------------
// PyTorch (bench/torch_models.py)

interface TorchModel {
  params?: number;
  train?: { batch: number; steps: number; median_ms: number; images_per_s: number };
  infer?: { batch: number; steps: number; median_ms: number; images_per_s: number };
  error?: string;
}
interface TorchOut {
  torch?: string;
  threads?: number;
  malloc?: string;
  error?: string;
  models?: Record<string, TorchModel>;
}
let torchVersion: string | undefined;
let torchMissing: string | undefined;

function runPython(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => resolve({ code: -1, stdout, stderr: String(e.message) }));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function measureTorch(m: ModelCase, malloc: string): Promise<Row> {
  const row: Row = { label: 'PyTorch', kind: 'torch' };
  if (torchMissing) return { ...row, unavailable: torchMissing };
  if (!existsSync(PYTHON)) {
    torchMissing = `not available (${PYTHON} is missing)`;
    return { ...row, unavailable: torchMissing };
  }
  log(`  ${m.id} PyTorch (malloc ${malloc}): train, infer ...`);
  const r = await runPython([TORCH_SCRIPT, '--models', m.id, '--seconds', String(SECONDS), '--min-steps', String(Math.max(MIN_STEPS, 5)), '--warmup', String(Math.max(WARMUP, 3)), '--threads', String(TORCH_THREADS), '--y-dilation', String(Y_DILATION), '--malloc', malloc]);
  let out: TorchOut | undefined;
  try {
    out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as TorchOut;
  } catch {
    out = undefined;
  }
  if (r.code === 3) {
    torchMissing = 'not installed (Debian python3-torch: apt-get install python3-torch)';
    return { ...row, unavailable: torchMissing };
  }
  if (r.code !== 0 || !out?.models) {
    const why = r.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit code ${r.code}`;
    return { ...row, unavailable: `failed: ${why}` };
  }
  torchVersion = `${out.torch} (${out.threads} threads; malloc ${TORCH_MALLOCS.join(', then ')})`;
  row.label = `PyTorch ${out.torch}, ${out.threads} threads, ${malloc === 'default' ? 'stock malloc (reference)' : 'malloc tuned'}`;
  const t = out.models[m.id];
  if (!t || t.error) return { ...row, unavailable: `failed: ${t?.error ?? 'no result'}` };
  if (t.params !== m.params) row.note = `${t.params} params, expected ${m.params}`;
  if (t.train) row.train = { batch: t.train.batch, steps: t.train.steps, medianMs: t.train.median_ms, imagesPerS: t.train.images_per_s };
  if (t.infer) row.infer = { batch: t.infer.batch, steps: t.infer.steps, medianMs: t.infer.median_ms, imagesPerS: t.infer.images_per_s };
  return row;
}

// ---------------------------------------------------------------------------------------------
// Report

const TARGETS: Record<string, { train?: number; infer?: number }> = {
  'mnist-cnn': { train: 0.5, infer: 1.0 },
  'resnet-v1': { train: 0.3, infer: 0.5 },
};

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const name = /^model name\s*:\s*(.*)$/m.exec(info)?.[1]?.trim();
    const flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1]?.split(' ') ?? [];
    const simd = ['avx512f', 'avx2', 'fma'].filter((f) => flags.includes(f)).join(' ');
    return `${name ?? cpus()[0]?.model ?? 'unknown CPU'}${simd ? ` (${simd})` : ''}`;
  } catch {
    return cpus()[0]?.model ?? 'unknown CPU';
  }
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function renderModel(m: ModelCase, rows: Row[], loadAtStart: string): string[] {
  const torch = rows.find((r) => r.kind === 'torch' && !r.unavailable);
  const out: string[] = [];
  const counted = rows.filter((r) => !r.unavailable && (r.kind === 'torch' || !r.label.includes('worker')));
  const mismatch = counted.some((r) => /expected/.test(r.note ?? ''));
  const check = counted.length === 0 ? '' : mismatch ? ', COUNT MISMATCH (see below)' : ` (checked: ${counted.map((r) => (r.kind === 'torch' ? 'PyTorch' : r.label.replace(/^tfjs | \(.*$/g, ''))).join(', ')})`;
  out.push('', `### ${m.title}: ${m.spec}${m.set.length ? ` ${m.set.join(' ')}` : ''}, ${m.params.toLocaleString('en')} params${check}; load at start ${loadAtStart}`, '');
  out.push('| backend / workers | train img/s | train ms/step (steps) | infer img/s | infer ms/step (steps) | train / PyTorch | infer / PyTorch |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const notes: string[] = [];
  for (const r of rows) {
    if (r.unavailable) {
      out.push(`| ${r.label} | ${r.unavailable} | | | | | |`);
      continue;
    }
    const cell = (s: Stat | undefined, err: string | undefined) =>
      err && !s ? ['failed', '-'] : s ? [fmt(s.imagesPerS), `${fmt(s.medianMs, 0)} (${s.steps})`] : ['-', '-'];
    const [ti, tm] = cell(r.train, r.trainError);
    const [ii, im] = cell(r.infer, r.inferError);
    const isRef = r === torch;
    const tr = isRef ? '1' : fmtRatio(ratio(r.train?.imagesPerS, torch?.train?.imagesPerS));
    const ir = isRef ? '1' : fmtRatio(ratio(r.infer?.imagesPerS, torch?.infer?.imagesPerS));
    out.push(`| ${r.label} | ${ti} | ${tm} | ${ii} | ${im} | ${tr} | ${ir} |`);
    if (r.trainError) notes.push(`${r.label}: training skipped/failed: ${r.trainError}`);
    if (r.inferError) notes.push(`${r.label}: inference failed: ${r.inferError}`);
    if (r.note) notes.push(`${r.label}: ${r.note}`);
  }
  const target = TARGETS[m.id];
  if (target) {
    out.push('');
    const tfRows = rows.filter((r) => r.kind === 'tfjs' && !r.unavailable);
    for (const what of ['train', 'infer'] as const) {
      const want = target[what];
      if (want === undefined) continue;
      const ref = torch?.[what]?.imagesPerS;
      const best = tfRows.filter((r) => r[what]).sort((a, b) => b[what]!.imagesPerS - a[what]!.imagesPerS)[0];
      const r = ratio(best?.[what]?.imagesPerS, ref);
      const status = r === undefined ? 'not measured' : r >= want ? 'MET' : 'unmet';
      const tuned = rows.find((x) => x.kind === 'torch' && x !== torch && !x.unavailable)?.[what]?.imagesPerS;
      const alt = tuned !== undefined && best ? `; against PyTorch with malloc tuned: ${fmtRatio(ratio(best[what]!.imagesPerS, tuned))}` : '';
      out.push(`- target ${what === 'train' ? 'training' : 'inference'} >= ${want}x PyTorch: ${status}${r === undefined ? '' : ` (best: ${best!.label}, ${fmtRatio(r)}${alt})`}`);
    }
  }
  if (notes.length && !target) out.push('');
  for (const n of notes) out.push(`- ${n}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Main

async function main(): Promise<void> {
  const command = `npx tsx bench/train-throughput.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const startLoad = load();
  const started = new Date();
  await loadBackends();
  const anyTf = [...loaded.values()][0];
  const tfVersion = anyTf ? (anyTf.version as Record<string, string>)['tfjs'] ?? pkgVersion('@tensorflow/tfjs') : pkgVersion('@tensorflow/tfjs');

  const mem = `${Math.round(totalmem() / 2 ** 30)} GiB`;
  // The header first, then each model's table as soon as it is measured (a long run that is
  // interrupted still leaves its figures).
  const header = [
    `machine: ${cpuModel()}, ${cpus().length} cores, ${mem}; load average (1, 5, 15 min) at start ${startLoad}`,
    `versions: node ${process.version}, tfjs ${tfVersion} (tfjs-backend-wasm ${pkgVersion('@tensorflow/tfjs-backend-wasm')}, tfjs-node ${pkgVersion('@tensorflow/tfjs-node')})`,
    `command: ${command}  (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    `measure: train = trainOnBatch, batch ${TRAIN_BATCH}, Adam 1e-3, categorical cross-entropy; infer = predict, batch ${INFER_BATCH}; random data; ` +
      `${WARMUP} warm-up steps, then the median step over ${SECONDS} s (at least ${MIN_STEPS} steps); ` +
      `cpu: batch ${CPU_TRAIN_BATCH} (train) / ${CPU_INFER_BATCH} (infer), ${CPU_STEPS} steps, 1 warm-up step for infer only; ` +
      `PyTorch: ${Math.max(WARMUP, 3)} warm-up steps, then the median over ${SECONDS} s (at least ${Math.max(MIN_STEPS, 5)} steps)`,
  ];
  for (const [b, why] of unavailable) header.push(`${b}: ${why}`);
  console.log(header.join('\n'));

  const results: { model: ModelCase; load: string; rows: Row[] }[] = [];
  for (const id of modelIds) {
    const m = MODELS.find((x) => x.id === id)!;
    const modelLoad = load();
    log(`${m.title} (load ${modelLoad})`);
    const rows: Row[] = [];
    for (const b of ['wasm', 'cpu', 'node'] as BackendName[]) {
      if (!backends.includes(b)) continue;
      if (unavailable.has(b)) {
        rows.push({ label: `tfjs ${b}`, kind: 'tfjs', unavailable: unavailable.get(b)! });
      } else {
        rows.push(await measureTfjs(b, m));
      }
      if (b === 'wasm' && WORKERS.length) {
        for (const w of WORKERS) rows.push(await measureWorkers(w, m));
      }
    }
    if (TORCH) for (const malloc of TORCH_MALLOCS) rows.push(await measureTorch(m, malloc));
    results.push({ model: m, load: modelLoad, rows });
    console.log(renderModel(m, rows, modelLoad).join('\n'));
  }
  const endLoad = load();
  console.log(`\nload average (1, 5, 15 min) at end ${endLoad}; torch ${torchVersion ?? torchMissing ?? 'not run'}; ${((Date.now() - started.getTime()) / 60000).toFixed(1)} min`);
  const peak = Math.max(...[startLoad, endLoad, ...results.map((r) => r.load)].map((l) => Number(l.split(' ')[0])));
  if (peak > cpus().length * 0.75) {
    console.log(
      `warning: the machine was loaded (1-min load average up to ${peak.toFixed(1)} on ${cpus().length} cores). Every figure is then low, ` +
        `and PyTorch's most: its ${TORCH_THREADS} threads meet at a barrier after every operation and wait for whichever was descheduled, ` +
        `while the wasm backend runs one thread per replica; the ratios tfjs / PyTorch come out higher than on an idle machine.`,
    );
  }

  if (JSON_OUT) {
    const json = {
      command,
      date: started.toISOString(),
      machine: { cpu: cpuModel(), cores: cpus().length, memory: mem, loadavgStart: startLoad, loadavgEnd: endLoad },
      versions: { node: process.version, tfjs: tfVersion, torch: torchVersion ?? null },
      unavailable: Object.fromEntries(unavailable),
      models: results.map((r) => ({ id: r.model.id, spec: r.model.spec, set: r.model.set, params: r.model.params, load: r.load, rows: r.rows })),
    };
    writeFileSync(JSON_OUT, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`\nwrote ${JSON_OUT}`);
  }
}

main().catch((e) => {
  console.error(`train-throughput: ${firstLine(e)}`);
  process.exitCode = 1;
});
