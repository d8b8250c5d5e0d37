/**
 * multi_head_attention's attention_mask (issue #14): the fourth input, `from: [query, value, key,
 * mask]`, (batch, T, S), 1 attends and 0 masks, combined with use_causal_mask as Keras combines them.
 * Numbers against an independent transcription of Keras' masked softmax (test/reference/attention-mask.ts);
 * shapes checked statically; Keras-JSON export and import (Keras 2: a fourth inbound tensor, or
 * Keras' own `{value, attention_mask}` kwargs of the first tensor; Keras 3: the `attention_mask` kwarg).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type Tf } from '../src/build.js';
import { compileYaml, ROOT } from './helpers.js';
import { maskedAttention, type M } from './reference/attention-mask.js';

const spec = (causal: boolean) => `modelspec: 1
name: masked_attention
inputs:
  q: {shape: [3, 4]}
  v: {shape: [5, 4]}
  m: {shape: [3, 5]}
layers:
  - multi_head_attention: {num_heads: 2, key_dim: 3${causal ? ', use_causal_mask: true' : ''}}
    from: [q, v, v, m]
    id: att
`;
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [`${ROOT}dist/cli/modelspec.js`, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-mask-'));
const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed + i * 1.7) * 0.9);
const matrix = (r: number, c: number, seed: number): M => Array.from({ length: r }, (_, i) => values(c, seed + i * c));
// Every query row keeps at least one key (a fully masked row is left out: Keras' -1e9 there is not a number to compare).
const MASK: M = [[1, 0, 1, 1, 0], [0, 1, 0, 0, 1], [1, 1, 1, 0, 0]];

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});

describe('multi_head_attention attention_mask', () => {
  it('static: the mask is (T, S) of the query and key lengths; a wrong one names both (MS5001)', () => {
    expect(compileYaml(spec(false)).diagnostics).toEqual([]);
    const bad = compileYaml(spec(false).replace('m: {shape: [3, 5]}', 'm: {shape: [3, 4]}'));
    expect(bad.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      "MS5001 multi_head_attention's attention_mask (input 4) must be (batch, query length, key length) = (None, 3, 5), got (None, 3, 4) at 'att'",
    ]);
    const five = compileYaml(spec(false).replace('from: [q, v, v, m]', 'from: [q, v, v, m, m]'));
    expect(five.diagnostics.map((d) => d.code)).toEqual(['MS5001']);
  });

  it.each([false, true])('use_causal_mask %s: the output equals Keras\' masked softmax, transcribed (1e-5)', async (causal) => {
    const model = await buildModel(spec(causal), {}, { tf });
    try {
      const [q, v] = [matrix(3, 4, 1), matrix(5, 4, 50)];
      const y = (model.predict([tf.tensor([q]), tf.tensor([v]), tf.tensor([MASK])]) as TF.Tensor).arraySync() as M[];
      const layer = model.getLayer('att');
      const names = layer.weights.map((x) => x.originalName.split('/').slice(-2).join('/'));
      const w = new Map(layer.getWeights().map((x, i) => [names[i]!, x.arraySync()]));
      const ws = {
        wq: w.get('query/kernel'), bq: w.get('query/bias'), wk: w.get('key/kernel'), bk: w.get('key/bias'),
        wv: w.get('value/kernel'), bv: w.get('value/bias'), wo: w.get('attention_output/kernel'), bo: w.get('attention_output/bias'),
      } as Parameters<typeof maskedAttention>[4];
      const want = maskedAttention(q, v, v, MASK, ws, causal);
      expect(Math.max(...y[0]!.flatMap((r, t) => r.map((x, j) => Math.abs(x - want[t]![j]!))))).toBeLessThan(1e-5);
      // The mask matters: not the output with every key attended.
      const open = maskedAttention(q, v, v, MASK.map((r) => r.map(() => 1)), ws, causal);
      expect(Math.max(...y[0]!.flatMap((r, t) => r.map((x, j) => Math.abs(x - open[t]![j]!))))).toBeGreaterThan(1e-4);
      // Saved and loaded back (model.json), it computes the same.
      let artifacts: TF.io.ModelArtifacts | undefined;
      await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
      const z = (loaded.predict([tf.tensor([q]), tf.tensor([v]), tf.tensor([MASK])]) as TF.Tensor).arraySync() as M[];
      expect(Math.max(...z[0]!.flatMap((r, t) => r.map((x, j) => Math.abs(x - want[t]![j]!))))).toBeLessThan(1e-5);
      loaded.dispose();
    } finally {
      model.dispose();
    }
  });

  it('keras-json: exported and imported back as from: [q, v, v, m]; Keras 2\'s kwargs form and Keras 3\'s attention_mask kwarg import too', () => {
    const dir = tmp();
    const file = join(dir, 'masked.yaml');
    writeFileSync(file, spec(true));
    expect(run('build', file, '--backend', 'cpu', '--format', 'keras-json', '--out', join(dir, 'k2')).code).toBe(0);
    const k2 = JSON.parse(readFileSync(join(dir, 'k2', 'model.json'), 'utf8'));
    const att = k2.config.layers.find((l: { name: string }) => l.name === 'att');
    expect(att.inbound_nodes[0].map((r: unknown[]) => r[0])).toEqual(['q', 'v', 'v', 'm']);
    const back = (json: string, name: string) => {
      const out = join(dir, `${name}.yaml`);
      const i = run('import', json, '--out', out);
      expect([i.code, i.stderr]).toEqual([0, '']);
      expect(readFileSync(out, 'utf8')).toContain('from: [q, v, v, m]');
      expect(run('diff', file, out).code).toBe(0);
    };
    back(join(dir, 'k2', 'model.json'), 'from-k2');
    // Keras 2 itself: the first tensor, the others in its kwargs.
    att.inbound_nodes = [[['q', 0, 0, { value: ['v', 0, 0], attention_mask: ['m', 0, 0] }]]];
    writeFileSync(join(dir, 'keras2.json'), JSON.stringify(k2));
    back(join(dir, 'keras2.json'), 'from-keras2');
    expect(run('build', file, '--backend', 'cpu', '--format', 'keras3-json', '--out', join(dir, 'k3')).code).toBe(0);
    const k3 = JSON.parse(readFileSync(join(dir, 'k3', 'model.json'), 'utf8'));
    const node = k3.config.layers.find((l: { name: string }) => l.name === 'att').inbound_nodes[0];
    expect(node.args.map((a: { config: { keras_history: unknown[] } }) => a.config.keras_history[0])).toEqual(['q', 'v', 'v']);
    expect(node.kwargs.attention_mask.config.keras_history).toEqual(['m', 0, 0]);
    expect(node.kwargs.use_causal_mask).toBe(true);
    back(join(dir, 'k3', 'model.json'), 'from-k3');
  });
});
