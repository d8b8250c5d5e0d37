/**
 * Diff speed: `npm run build && npx tsx bench/diff.ts`.
 *
 *  1. Cold start: `modelspec diff specs/resnet-v1.yaml specs/resnet-v1.yaml --left-set n=18 --right-set n=9`
 *     (ResNet110v1 against ResNet56v1), a new node process each time; median wall time of 11 runs.
 *     Beside it, for scale on the same machine and moment: `node -e 0` and `modelspec check`; and
 *     the CPU time (user + system) of each, which a busy machine inflates less than wall time.
 *  2. In-process, after warm-up: the two compiles, the matching and folding, and the text report.
 *
 * It measures the built code in dist/ (what users run), not the TypeScript sources.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { builtinRegistry, compileSource } from '../dist/index.js';
import { diffGraphs } from '../dist/diff/diff.js';
import { formatDiffText } from '../dist/diff/report.js';

const root = new URL('..', import.meta.url).pathname;
const cli = `${root}dist/cli/modelspec.js`;
const spec = `${root}specs/resnet-v1.yaml`;
const RUNS = Number(process.env.RUNS ?? 11);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const TIME = '/usr/bin/time';
const haveTime = existsSync(TIME);

/** Wall time of a fresh node process, and its CPU time (user + system) where /usr/bin/time can tell it. */
function cold(args: string[], expectCode: number): { median: number; min: number; cpu?: number } {
  const wall: number[] = [];
  const cpu: number[] = [];
  spawnSync(process.execPath, args, { stdio: 'pipe' }); // fill the OS file cache once
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const r = haveTime
      ? spawnSync(TIME, ['-f', '%U %S', process.execPath, ...args], { stdio: 'pipe', encoding: 'utf8' })
      : spawnSync(process.execPath, args, { stdio: 'pipe', encoding: 'utf8' });
    wall.push(performance.now() - t);
    if (r.status !== expectCode) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    if (haveTime) {
      const [user, sys] = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
      cpu.push((user! + sys!) * 1000);
    }
  }
  return { median: median(wall), min: Math.min(...wall), ...(cpu.length ? { cpu: median(cpu) } : {}) };
}

const cpuText = (r: { cpu?: number }) => (r.cpu !== undefined ? `, CPU ${r.cpu.toFixed(0)} ms` : '');

console.log(`machine: ${cpus()[0]?.model} x${cpus().length}, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);

const diffArgs = [cli, 'diff', spec, spec, '--left-set', 'n=18', '--right-set', 'n=9'];
const d = cold(diffArgs, 1);
const nodeOnly = cold(['-e', '0'], 0);
const check = cold([cli, 'check', spec], 0);
console.log(`1. cold start, modelspec diff resnet-v1 n=18 (ResNet110) vs n=9 (ResNet56): median ${d.median.toFixed(0)} ms wall${cpuText(d)} (${RUNS} runs, min ${d.min.toFixed(0)} ms)`);
console.log(`   for scale: node -e 0 median ${nodeOnly.median.toFixed(0)} ms${cpuText(nodeOnly)}; modelspec check specs/resnet-v1.yaml median ${check.median.toFixed(0)} ms${cpuText(check)}`);
console.log(`   so the diff itself costs about ${(d.median - nodeOnly.median).toFixed(0)} ms over a bare node start\n`);

const text = readFileSync(spec, 'utf8');
const registry = builtinRegistry();
const stage = { compile: [] as number[], diff: [] as number[], report: [] as number[] };
for (let i = 0; i < 25; i++) {
  let t = performance.now();
  const a = compileSource(spec, text, { set: ['n=18'], registry });
  const b = compileSource(spec, text, { set: ['n=9'], registry });
  const tCompile = performance.now() - t;
  t = performance.now();
  const diff = diffGraphs({ label: 'a', graph: a.graph! }, { label: 'b', graph: b.graph! });
  const tDiff = performance.now() - t;
  t = performance.now();
  formatDiffText(diff, { registry });
  const tReport = performance.now() - t;
  if (i >= 5) {
    stage.compile.push(tCompile);
    stage.diff.push(tDiff);
    stage.report.push(tReport);
  }
}
console.log(`2. in-process (median of 20 after 5 warm-up): both compiles ${median(stage.compile).toFixed(1)} ms, match + fold ${median(stage.diff).toFixed(1)} ms, text report ${median(stage.report).toFixed(1)} ms`);
