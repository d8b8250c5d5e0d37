/**
 * `modelspec import` recovers structure (issue #16, part 2): repeated subgraphs come back as
 * `repeat` loops with `let:` variables and `when:` flags, and the spec builds the same network
 * as the original; `--flat` writes one item per layer as before; a model without repetition
 * comes out flat. Through the built CLI (dist/).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry, compileFile, compileSource } from '../src/index.js';
import { importKerasJson } from '../src/backends/keras-json/import.js';
import { sameNetwork } from '../src/backends/keras-json/structure.js';
import type { TypedGraph } from '../src/types/ir.js';
import { densenetBC100 } from './fixtures/import/densenet.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const GOLDEN = `${ROOT}test/golden/keras/`;
let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'modelspec-import-structure-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The spec `import` prints for a model file (exit 0, nothing on stderr). */
function imported(file: string, ...flags: string[]): string {
  const r = run(['import', file, ...flags]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}
const lines = (yaml: string) => yaml.trimEnd().split('\n').length;

function compiled(yaml: string): TypedGraph {
  const r = compileSource(join(dir, 'imported.yaml'), yaml, { limits: { maxFileBytes: 1 << 22 } });
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.graph!;
}

/** Every layer as op, output shape, weights' shapes and parameters (names aside), sorted; and the totals. */
function layerList(g: TypedGraph) {
  const rows = g.nodes.map((n) => JSON.stringify([n.op, n.outputShape, n.weights.map((w) => w.shape), n.params, n.inputs.length]));
  return { rows: rows.sort(), totals: g.totals };
}

/** Name and weights of each layer, sorted: ids with / and . read as _ (import writes Keras names so). */
const names = (g: TypedGraph) => g.nodes.map((n) => `${n.id.replace(/[/.]/g, '_')} ${JSON.stringify(n.weights.map((w) => [w.name, w.shape]))}`).sort();

describe('import recovers blocks of repeated layers as loops', () => {
  const resnet = (n: number) => compileFile(`${ROOT}specs/resnet-v1.yaml`, { set: [`n=${n}`] }).graph!;

  /**
   * `modelspec build specs/SPEC.yaml --format keras-json`, then `import --keep-names` of it: the
   * spec written, checked to build SPEC's network under SPEC's layer and weight names, and
   * `diff` against SPEC to say `noChange`.
   */
  function roundTrip(spec: string, sets: string[], noChange: string): string {
    const out = join(dir, spec);
    expect(run(['build', `${ROOT}specs/${spec}.yaml`, ...sets.flatMap((s) => ['--set', s]), '--format', 'keras-json', '--backend', 'cpu', '--out', out]).code).toBe(0);
    const yaml = imported(join(out, 'model.json'), '--keep-names');
    const source = compileFile(`${ROOT}specs/${spec}.yaml`, { set: sets }).graph!;
    const g = compiled(yaml);
    expect(layerList(g)).toEqual(layerList(source));
    expect(names(g)).toEqual(names(source));
    writeFileSync(join(dir, `${spec}.yaml`), yaml);
    const d = run(['diff', `${ROOT}specs/${spec}.yaml`, `${spec}.yaml`, ...sets.flatMap((s) => ['--left-set', s])]);
    expect(d.stdout).toContain(noChange);
    expect(d.code).toBe(0);
    return yaml;
  }

  it('ResNet20v1 (golden keras-json): at most 60 lines, a block and loops read from its names, the same network as specs/resnet-v1.yaml', () => {
    const yaml = imported(`${GOLDEN}resnet-v1.keras2.json`);
    expect(lines(yaml)).toBeLessThanOrEqual(60);
    // The conv-BN-ReLU block, written once, with a parameter where its calls differ.
    expect(yaml).toContain('blocks:\n  resnet_layer:\n    params:\n      filters: {type: int, default: 16}\n');
    expect(yaml.match(/- conv2d:/g)).toHaveLength(1);
    expect(yaml).toContain('  - resnet_layer: {has_activation: true}\n    id: stem\n  - repeat: 3\n    as: stage\n');
    expect(yaml).toContain('when: "${block == 0 && stage > 0}"');
    expect(yaml).toContain('resnet_layer: {filters: "${16 * 2 ** stage}", kernel_size: 1, strides: 2, has_batch_normalization: false}');
    const g = compiled(yaml);
    expect(layerList(g)).toEqual(layerList(resnet(3)));
    expect(g.totals.total).toBe(274_442);
    // Read from the names, the spec gives every layer (and weight) its Keras name back.
    expect(names(g)).toEqual(names(resnet(3)));
    // The Keras 3 config.json of the same model gives the same spec body.
    const k3 = imported(`${GOLDEN}resnet-v1.keras3.json`);
    expect(k3.slice(k3.indexOf('blocks:'))).toBe(yaml.slice(yaml.indexOf('blocks:')));
  });

  it('ResNet20v1 --keep-names: at most 60 lines, the Keras layer names and weight names reproduced', () => {
    const yaml = imported(`${GOLDEN}resnet-v1.keras2.json`, '--keep-names');
    expect(lines(yaml)).toBeLessThanOrEqual(60);
    expect(yaml).toContain('repeat: 3');
    const g = compiled(yaml);
    expect(layerList(g)).toEqual(layerList(resnet(3)));
    expect(names(g)).toEqual(names(resnet(3)));
    expect(g.nodes.map((n) => n.id)).toContain('stage1/block0/branch0/resnet_layer/conv2d');
  });

  it('ResNet56 (n = 9) --keep-names: the same block and loops, 9 blocks a stage, every name kept, no change against the source', () => {
    const yaml = roundTrip('resnet-v1', ['n=9'], 'no architectural change: resnet_v1, 198 layers');
    expect(lines(yaml)).toBeLessThanOrEqual(60);
    expect(yaml).toContain('      - repeat: 9\n        as: block\n');
  });

  it('DenseNet-BC-100 built by modelspec, --keep-names: at most 80 lines, every name kept, no change against specs/densenet-bc.yaml', () => {
    const yaml = roundTrip('densenet-bc', [], 'no architectural change: densenet_bc, 350 layers, 797,788 params');
    expect(lines(yaml)).toBeLessThanOrEqual(80);
    expect(yaml).toContain('  - repeat: 3\n    as: b\n    layers:\n      - repeat: 16\n        as: layer\n');
    expect(yaml).toContain('when: "${b < 2}"');
    expect(yaml.match(/- conv2d:/g)).toHaveLength(4); // stem, the bottleneck's two, the transition's: each written once
  });

  it('ResNet56v2 built by modelspec, --keep-names: a block whose calls put the conv first or last, every name kept', () => {
    const yaml = roundTrip('resnet-v2', [], 'no architectural change: resnet_v2, 190 layers');
    expect(lines(yaml)).toBeLessThanOrEqual(60);
    expect(yaml).toContain('      - repeat: 6\n        as: block\n');
    expect(yaml.match(/- conv2d:/g)).toHaveLength(1);
  });

  it('a ResNet whose layers have the names Keras makes up (conv2d_17): loops searched for; --keep-names writes it flat', () => {
    const json = readFileSync(`${GOLDEN}resnet-v1.keras2.json`, 'utf8');
    const counts = new Map<string, number>();
    const model = JSON.parse(json) as { config: { layers: { name: string; class_name: string }[] } };
    const map = new Map<string, string>();
    for (const l of model.config.layers) {
      if (l.class_name === 'InputLayer') continue;
      // Keras' to_snake_case: Conv2D -> conv2d, BatchNormalization -> batch_normalization.
      const base = l.class_name.replace(/(.)([A-Z][a-z]+)/g, '$1_$2').replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      map.set(l.name, n === 0 ? base : `${base}_${n}`);
    }
    const file = join(dir, 'resnet-keras-names.json');
    writeFileSync(file, json.replace(/"([\w.]+)"/g, (q, name: string) => (map.has(name) ? `"${map.get(name)}"` : q)));
    const searched = imported(file);
    expect(searched).toContain('repeat: 3');
    expect(searched).not.toContain('blocks:');
    expect(layerList(compiled(searched))).toEqual(layerList(resnet(3)));
    const kept = imported(file, '--keep-names');
    expect(kept).not.toContain('repeat:');
    expect(kept).toContain('id: conv2d_17');
  });

  it('DenseNet-BC-100 (k = 12) with names Keras made up (conv2d_17), structure searched for: at most 80 lines, 797,788 params, 774,376 trainable', () => {
    const file = join(dir, 'densenet.json');
    writeFileSync(file, JSON.stringify(densenetBC100()));
    const flat = compiled(imported(file, '--flat'));
    expect([flat.nodes.length, flat.totals.total, flat.totals.trainable]).toEqual([350, 797_788, 774_376]);
    const yaml = imported(file);
    expect(lines(yaml)).toBeLessThanOrEqual(80);
    expect(yaml).toContain('repeat: 16');
    expect(yaml).toContain('filters: "${108 + 42 * block}"');
    // The dense block (16 dense layers) is a block, called before the loop over transitions and in it: written once.
    expect(yaml).toContain('blocks:\n  unit:\n    layers:\n      - repeat: 16\n');
    expect(yaml.match(/- unit: \{\}/g)).toHaveLength(2);
    expect(yaml.match(/- conv2d:/g)).toHaveLength(4);
    expect(layerList(compiled(yaml))).toEqual(layerList(flat));
  });

  it('--flat writes what import always wrote: one item per layer, Keras names as ids', () => {
    const json = JSON.parse(readFileSync(`${GOLDEN}resnet-v1.keras2.json`, 'utf8'));
    const flat = imported(`${GOLDEN}resnet-v1.keras2.json`, '--flat');
    expect(flat.slice(flat.indexOf('modelspec: 1'))).toBe(importKerasJson(json, builtinRegistry()).yaml.replace(/^doc: .*$/m, flat.match(/^doc: .*$/m)![0]));
    expect(flat).not.toContain('repeat:');
    expect(lines(flat)).toBeGreaterThan(140);
  });

  it('build -> import (with structure) -> diff against the original spec: no architectural change, exit 0', () => {
    writeFileSync(join(dir, 'r20.yaml'), imported(`${GOLDEN}resnet-v1.keras2.json`));
    const r = run(['diff', `${ROOT}specs/resnet-v1.yaml`, 'r20.yaml']);
    expect(r.stdout).toContain('no architectural change: resnet_v1, 72 layers, 274,442 params');
    expect(r.code).toBe(0);
  });

  it('the check import makes before writing structure tells networks apart (else the flat spec is written)', () => {
    expect(sameNetwork(resnet(3), resnet(3), true)).toBe(true);
    expect(sameNetwork(resnet(3), resnet(4), false)).toBe(false);
    const wider = compileFile(`${ROOT}specs/resnet-v1.yaml`, { set: ['num_classes=11'] }).graph!;
    expect(sameNetwork(resnet(3), wider, false)).toBe(false);
    const flat = compiled(importKerasJson(JSON.parse(readFileSync(`${GOLDEN}resnet-v1.keras2.json`, 'utf8')), builtinRegistry()).yaml);
    expect(sameNetwork(flat, flat, true)).toBe(true);
    const structured = compiled(imported(`${GOLDEN}resnet-v1.keras2.json`));
    expect(sameNetwork(structured, flat, true)).toBe(true);
    // The DenseNet fixture's Keras names (conv2d_17) say nothing of its structure: the loops name layers their own way.
    const file = join(dir, 'densenet-names.json');
    writeFileSync(file, JSON.stringify(densenetBC100()));
    const dense = compiled(imported(file));
    const denseFlat = compiled(imported(file, '--flat'));
    expect(sameNetwork(dense, denseFlat, false)).toBe(true);
    expect(sameNetwork(dense, denseFlat, true)).toBe(false);
  });

  it('a model with no repetition comes out flat (the same text as --flat)', () => {
    for (const model of ['mnist-cnn.keras2.json', 'y-network.keras2.json']) {
      expect(imported(`${GOLDEN}${model}`)).toBe(imported(`${GOLDEN}${model}`, '--flat'));
    }
  });
});
