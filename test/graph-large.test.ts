/**
 * `modelspec graph` on graphs of any size: Graphviz (WebAssembly) overflows its stack on a
 * chain of about a thousand boxes, so SVG and PNG fold past MAX_LAID_OUT drawn elements
 * (deepest --depth that fits, then straight runs as one node) and say so. Never a stack
 * overflow, never an internal error. Through the built CLI (dist/).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFile, compileSource } from '../src/index.js';
import { buildView, fitView, MAX_LAID_OUT } from '../src/backends/graph/view.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'modelspec-graph-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t };
};

const CHAIN = 'modelspec: 1\nname: chain\ninputs:\n  x: {shape: [16]}\nlayers:\n  - repeat: 5000\n    layers:\n      - dense: {units: 4}\n';

describe('graphs of any size', () => {
  it('fitView: small graphs are drawn as asked; a 5,000-layer chain folds its straight run', () => {
    const small = compileFile(`${ROOT}specs/resnet-v1.yaml`).graph!;
    expect(fitView(small).note).toBeUndefined();
    expect(fitView(small).view.nodes).toHaveLength(buildView(small).nodes.length);
    const chain = compileSource(`${ROOT}chain.yaml`, CHAIN).graph!;
    const f = fitView(chain);
    expect(f.view.nodes.map((v) => v.key)).toEqual(['x', 'repeat0/dense … repeat4998/dense', 'repeat4999/dense']);
    expect(f.view.nodes[1]!.members).toHaveLength(4999);
    expect(f.note).toContain('5001 elements are more than the 400');
  });

  it('a 5,000-layer chain to SVG and PNG: folded, said so, within 30 s', () => {
    writeFileSync(join(dir, 'chain.yaml'), CHAIN);
    for (const ext of ['svg', 'png']) {
      const out = join(dir, `chain.${ext}`);
      const r = run(['graph', join(dir, 'chain.yaml'), '--out', out]);
      expect(r.stderr).not.toMatch(/internal error|call stack/);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain('drawn with straight runs of layers as one node each (3 elements)');
      expect(r.ms).toBeLessThan(30_000);
      const body = readFileSync(out);
      if (ext === 'svg') expect(body.toString()).toContain('repeat0/dense … repeat4998/dense');
      else expect(body.subarray(1, 4).toString()).toBe('PNG');
    }
  });

  it('ResNet1001v2 (resnet-v2 n=111) to SVG: folded to the deepest --depth that fits, within 30 s', () => {
    const g = compileFile(`${ROOT}specs/resnet-v2.yaml`, { set: ['n=111'] }).graph!;
    const f = fitView(g);
    expect(f.view.nodes.length).toBeLessThanOrEqual(MAX_LAID_OUT);
    const out = join(dir, 'resnet1001.svg');
    const r = run(['graph', 'specs/resnet-v2.yaml', '--set', 'n=111', '--out', out]);
    expect(r.stderr).not.toMatch(/internal error|call stack/);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('3340 elements are more than the 400 that SVG and PNG lay out: drawn folded to --depth 2');
    expect(r.ms).toBeLessThan(30_000);
    expect(readFileSync(out, 'utf8')).toContain('</svg>');
    // DOT still draws every layer.
    const dot = run(['graph', 'specs/resnet-v2.yaml', '--set', 'n=111']);
    expect(dot.code).toBe(0);
    expect(dot.stdout.match(/^\s+n\d+ \[/gm)!.length).toBeGreaterThan(3000);
  });
});
