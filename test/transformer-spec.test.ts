/**
 * specs/transformer-classifier.yaml (Keras' "Text classification with Transformer"): exact Keras
 * parameter counts and layer configs against the transcription in test/reference/beyond-tfjs.ts,
 * then every stage: check, summary, graph, diff, spec2ts (the generated builder), build (cpu and
 * wasm), one training step on tiny generated data, keras-json export and import round trip.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf } from '../src/build.js';
import { builtinRegistry, summaryJson } from '../src/index.js';
import { compileSpec, ROOT, spec } from './helpers.js';
import { TRANSFORMER_CLASSIFIER as REF } from './reference/beyond-tfjs.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const SPEC = spec('transformer-classifier.yaml');
const TINY = ['vocab_size=50', 'maxlen=8', 'embed_dim=8', 'ff_dim=8'];
let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'modelspec-transformer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the Transformer classifier against Keras', () => {
  it('has Keras\' parameter counts, layer classes and configs', () => {
    const r = compileSpec('transformer-classifier.yaml');
    expect(r.diagnostics).toEqual([]);
    const s = summaryJson(r.graph!, builtinRegistry());
    expect(s.params.total).toBe(REF.total);
    expect(s.layers.map((l) => [l.id, l.class, l.params])).toEqual(REF.layers.map((l) => [l.id, l.class, l.params]));
    for (const l of REF.layers) {
      const node = r.graph!.nodes.find((n) => n.id === l.id)!;
      if ('config' in l) for (const [k, v] of Object.entries(l.config)) expect(node.attrs[k], `${l.id}.${k}`).toEqual(v);
    }
    const att = r.graph!.nodes.find((n) => n.id === 'att')!;
    expect(att.weights.map((w) => [w.name, w.shape])).toEqual(REF.attentionWeights.map(([n, s]) => [n, [...s]]));
  });
});

describe('the Transformer classifier through every stage', () => {
  it('check, summary, graph and diff (static: no TensorFlow.js)', () => {
    expect(run(['check', SPEC]).code).toBe(0);
    const summary = run(['summary', SPEC]);
    expect(summary.code).toBe(0);
    expect(summary.stdout).toContain('Total params: 657,758');
    expect(summary.stdout).toContain('att (MultiHeadAttention)');
    const dot = run(['graph', SPEC, '--format', 'dot']);
    expect(dot.code).toBe(0);
    expect(dot.stdout).toContain('MultiHeadAttention');
    expect(dot.stdout).toContain('PositionEmbedding');
    expect(run(['diff', SPEC, SPEC]).code).toBe(0);
    const d = run(['diff', SPEC, SPEC, '--right-set', 'num_heads=4']);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('att');
  });

  it('builds on cpu and wasm, and the keras-json export imports back to the same architecture', () => {
    for (const backend of ['cpu', 'wasm']) {
      const b = run(['build', SPEC, ...TINY.flatMap((s) => ['--set', s]), '--backend', backend, '--out', `tfjs-${backend}`]);
      expect(b.stderr + b.stdout, backend).not.toContain('error');
      expect(b.code, b.stderr).toBe(0);
      expect(existsSync(join(dir, `tfjs-${backend}`, 'model.json'))).toBe(true);
    }
    const k = run(['build', SPEC, '--backend', 'cpu', '--format', 'keras-json', '--out', 'keras']);
    expect(k.code, k.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'keras', 'model.json'), 'utf8'));
    const att = json.config.layers.find((l: { name: string }) => l.name === 'att');
    expect(att.class_name).toBe('MultiHeadAttention');
    expect(att.config).toMatchObject({ num_heads: 2, key_dim: 32, value_dim: 32, dropout: 0, use_bias: true });
    const imp = run(['import', join('keras', 'model.json'), '--out', 'imported.yaml']);
    expect(imp.code, imp.stderr).toBe(0);
    const same = run(['diff', SPEC, 'imported.yaml']);
    expect(same.stdout + same.stderr).toBe(same.stdout); // no error text
    expect(same.code, same.stdout).toBe(0);
    // Keras 3: MultiHeadAttention called on (query, value), PositionEmbedding from keras_hub
    const k3 = run(['build', SPEC, '--backend', 'cpu', '--format', 'keras3-json', '--out', 'keras3']);
    expect(k3.code, k3.stderr).toBe(0);
    const j3 = JSON.parse(readFileSync(join(dir, 'keras3', 'model.json'), 'utf8'));
    const att3 = j3.config.layers.find((l: { name: string }) => l.name === 'att');
    expect(att3.inbound_nodes[0].args).toHaveLength(2);
    expect(Object.keys(att3.build_config)).toEqual(['query_shape', 'value_shape', 'key_shape']);
    expect(j3.config.layers.find((l: { name: string }) => l.name === 'pos_emb').registered_name).toBe('keras_hub>PositionEmbedding');
    expect(run(['import', join('keras3', 'model.json'), '--out', 'imported3.yaml']).code).toBe(0);
    expect(run(['diff', SPEC, 'imported3.yaml']).code).toBe(0);
  });

  it('the spec2ts builder builds the model the interpreter builds', async () => {
    const { tf } = await loadTf('cpu');
    const mod = (await import('../generated/transformer-classifier.js')) as { build: (o: object, t: unknown) => TF.LayersModel };
    const m = mod.build({ vocab_size: 50, maxlen: 8, embed_dim: 8, ff_dim: 8 }, tf);
    const ref = await buildModel(SPEC, TINY, { tf });
    expect(m.countParams()).toBe(ref.countParams());
    expect(m.layers.map((l) => l.getClassName())).toEqual(ref.layers.map((l) => l.getClassName()));
  });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`one training step on tiny generated data (${backend})`, async () => {
      const { tf } = await loadTf(backend);
      try {
        const m = await buildModel(SPEC, TINY, { tf });
        m.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
        const before = m.getWeights().map((w) => w.dataSync().slice());
        const x = tf.tensor2d(Array.from({ length: 4 * 8 }, (_, i) => (i * 7) % 50), [4, 8], 'int32');
        const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2);
        const h = await m.fit(x, y, { epochs: 1, batchSize: 4 });
        expect(Number.isFinite(h.history.loss![0] as number)).toBe(true);
        const after = m.getWeights().map((w) => w.dataSync());
        // every weight (the attention's and the position table's included) moved
        after.forEach((w, i) => expect(w.some((v, j) => v !== before[i]![j]), m.weights[i]!.name).toBe(true));
      } finally {
        await loadTf('cpu');
      }
    }, 60_000);
  }
});
