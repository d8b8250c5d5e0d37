/**
 * return_state and initial_state (issue #14): test/fixtures/seq2seq.yaml, a Keras-style
 * encoder-decoder whose encoder LSTM returns its states (`enc.state_h`, `enc.state_c`) and whose
 * decoder LSTM starts from them (`from: [tgt_embed, enc.state_h, enc.state_c]`).
 *
 * - Static inference agrees with the Keras numbers transcribed in test/reference/seq2seq.ts (layer
 *   order, classes, every output's shape, parameters per layer and in total).
 * - The CLI (dist/): check, summary (the list of the encoder's output shapes, the states in
 *   `Connected to`), spec2ts, build (wasm and cpu), keras-json export (the decoder's inbound tensors
 *   with their tensor_index, as Keras records initial_state) and import (the `enc.state_h` form
 *   back; diff exits 0), diff of a swapped state, graph (edges labelled with the state).
 * - The TensorFlow.js model: the decoder's output, from the encoder's final states, equals a
 *   hand-written loop of Keras' LSTMCell (test/reference/seq2seq.ts); the spec2ts builder makes the
 *   same model as the interpreter; one training step on wasm and on cpu moves every weight.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs';
import { buildModel, loadTf, type Tf } from '../src/build.js';
import { kerasRows } from '../src/report/summary.js';
import { builtinRegistry } from '../src/ops/index.js';
import { mulberry32 as prng } from '../src/train/rng.js';
import { RUNTIME_MODULE } from '../src/codegen/emit.js';
import { compileYaml, ROOT } from './helpers.js';
import { denseSoftmax, lstm, seq2seq as ref, type M } from './reference/seq2seq.js';

const FIXTURE = 'test/fixtures/seq2seq.yaml';
const YAML = readFileSync(join(ROOT, FIXTURE), 'utf8');
const run = (bin: string, ...args: string[]) => {
  const r = spawnSync(process.execPath, [`${ROOT}dist/cli/${bin}.js`, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-seq2seq-'));

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('wasm')).tf;
  await loadTf('cpu');
});
async function use(backend: 'wasm' | 'cpu'): Promise<void> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
}

describe('seq2seq: static inference against the Keras reference', () => {
  it('layer order, classes, every output shape, parameters per layer and in total', () => {
    const r = compileYaml(YAML, {}, join(ROOT, FIXTURE));
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const rows = kerasRows(r.graph!).map(({ node }) => ({
      name: node.id,
      className: builtinRegistry().get(node.op)!.kerasClass,
      outputShapes: (node.outputShapes ?? [node.outputShape]).map((s) => [null, ...s]),
      params: node.params.trainable + node.params.nonTrainable,
    }));
    expect(rows).toEqual(ref.layers);
    expect(r.graph!.totals.total).toBe(ref.total);
    const dec = r.graph!.nodes.find((n) => n.id === 'dec')!;
    expect([dec.inputs, dec.ports]).toEqual([['tgt_embed', 'enc', 'enc'], [0, 1, 2]]);
  });

  it('states may be model outputs, and state references work inside blocks like any id', () => {
    const r = compileYaml(`modelspec: 1
name: states_out
inputs:
  x: {shape: [5, 3]}
blocks:
  encoder:
    layers:
      - gru: {units: 4, return_state: true, reset_after: false}
        id: g
      - dense: {units: 2}
        from: g.state
layers:
  - encoder: {}
    id: e
  - simple_rnn: {units: 6, return_state: true}
    from: x
    id: s
outputs: [s, s.state, e]
`);
    expect(r.diagnostics).toEqual([]);
    expect([r.graph!.outputs, r.graph!.outputPorts]).toEqual([['s', 's', 'e/dense'], [0, 1, 0]]);
    expect(r.graph!.nodes.find((n) => n.id === 'e/dense')!.inputShapes).toEqual([[4]]);
  });
});

describe('seq2seq through the CLI', () => {
  it('check and summary: the encoder\'s list of output shapes, the states in Connected to', () => {
    const c = run('modelspec', 'check', FIXTURE);
    expect([c.code, c.stderr]).toEqual([0, '']);
    const s = run('modelspec', 'summary', FIXTURE);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain(`Total params: ${ref.total.toLocaleString('en-US')}`);
    expect(s.stdout).toMatch(/enc \(LSTM\) +\[\(None, 16\), \(None, 16\), \(None, 16\)\] +1,600/);
    expect(s.stdout).toMatch(/dec \(LSTM\) +\(None, None, 16\) +1,600 .* tgt_embed, enc\.state_h, enc\.state_c/);
  });

  it('spec2ts writes the state references as s.output(enc, ...)', () => {
    const out = tmp();
    const r = run('spec2ts', '--root', 'test/fixtures', '--out', out, FIXTURE);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const code = readFileSync(join(out, 'seq2seq.ts'), 'utf8');
    expect(code).toContain("[tgt_embed, s.output(enc, 'enc.state_h', 'state_h'), s.output(enc, 'enc.state_c', 'state_c')], 'dec')");
  });

  it.each(['wasm', 'cpu'])('build --backend %s: the decoder takes the states as tensors 1 and 2 of enc', (backend) => {
    const out = tmp();
    const r = run('modelspec', 'build', FIXTURE, '--backend', backend, '--out', out);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const layers = json.modelTopology.config.layers as { name: string; class_name: string; inbound_nodes: unknown[][] }[];
    expect(layers.map((l) => l.class_name)).toEqual(ref.layers.map((l) => l.className));
    expect(layers.find((l) => l.name === 'dec')!.inbound_nodes[0]).toEqual(ref.decoderInbound);
  });

  it('keras-json export then import: enc.state_h back, the same network (diff exits 0)', () => {
    const out = tmp();
    const b = run('modelspec', 'build', FIXTURE, '--backend', 'cpu', '--format', 'keras-json', '--out', out);
    expect([b.code, b.stderr]).toEqual([0, '']);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.config.layers.find((l: { name: string }) => l.name === 'dec').inbound_nodes[0]).toEqual(ref.decoderInbound);
    expect(json.config.layers.find((l: { name: string }) => l.name === 'enc').config.return_state).toBe(true);
    const imported = join(out, 'imported.yaml');
    const i = run('modelspec', 'import', join(out, 'model.json'), '--out', imported);
    expect([i.code, i.stderr]).toEqual([0, '']);
    expect(readFileSync(imported, 'utf8')).toContain('  - lstm: {units: 16, return_sequences: true}\n    id: dec\n    from: [tgt_embed, enc.state_h, enc.state_c]');
    const d = run('modelspec', 'diff', FIXTURE, imported);
    expect([d.code, d.stdout]).toEqual([0, expect.stringContaining('no architectural change')]);
  });

  it('keras3-json: the states as the decoder\'s initial_state kwarg, with their tensor index and shape; imported back the same', () => {
    const out = tmp();
    const b = run('modelspec', 'build', FIXTURE, '--backend', 'cpu', '--format', 'keras3-json', '--out', out);
    expect([b.code, b.stderr]).toEqual([0, '']);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    const node = json.config.layers.find((l: { name: string }) => l.name === 'dec').inbound_nodes[0];
    expect(node.args.map((a: { config: { keras_history: unknown[] } }) => a.config.keras_history)).toEqual([['tgt_embed', 0, 0]]);
    expect(node.kwargs.initial_state.map((a: { config: { keras_history: unknown[]; shape: unknown[] } }) => [a.config.keras_history, a.config.shape]))
      .toEqual([[['enc', 0, 1], [null, 16]], [['enc', 0, 2], [null, 16]]]);
    const imported = join(out, 'imported.yaml');
    expect(run('modelspec', 'import', join(out, 'model.json'), '--out', imported).code).toBe(0);
    expect(readFileSync(imported, 'utf8')).toContain('from: [tgt_embed, enc.state_h, enc.state_c]');
    expect(run('modelspec', 'diff', FIXTURE, imported).code).toBe(0);
  });

  it('a Keras 2 JSON whose model output is a state (output_layers [enc, 0, 2]) imports as outputs: enc.state_c', () => {
    const out = tmp();
    expect(run('modelspec', 'build', FIXTURE, '--backend', 'cpu', '--format', 'keras-json', '--out', out).code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    json.config.output_layers = [['probs', 0, 0], ['enc', 0, 2]];
    writeFileSync(join(out, 'two.json'), JSON.stringify(json));
    const i = run('modelspec', 'import', join(out, 'two.json'), '--out', join(out, 'two.yaml'));
    expect([i.code, i.stderr]).toEqual([0, '']);
    expect(readFileSync(join(out, 'two.yaml'), 'utf8')).toContain('outputs: [probs, enc.state_c]');
    expect(run('modelspec', 'check', join(out, 'two.yaml')).code).toBe(0);
  });

  it('diff: swapping the two states is a change of the decoder\'s inputs; graph labels the state edges', () => {
    const edited = join(tmp(), 'seq2seq.yaml');
    const swapped = YAML.replace('[tgt_embed, enc.state_h, enc.state_c]', '[tgt_embed, enc.state_c, enc.state_h]');
    expect(swapped).not.toBe(YAML);
    writeFileSync(edited, swapped);
    const d = run('modelspec', 'diff', FIXTURE, edited);
    expect(d.code).toBe(1);
    expect(d.stdout).toContain('~ dec (LSTM): inputs tgt_embed, enc.state_h, enc.state_c -> tgt_embed, enc.state_c, enc.state_h');
    const g = run('modelspec', 'graph', FIXTURE, '--format', 'dot');
    expect(g.code).toBe(0);
    expect(g.stdout).toContain('xlabel="state_h"');
    expect(g.stdout).toContain('xlabel="state_c"');
    const m = run('modelspec', 'graph', FIXTURE, '--format', 'mermaid');
    expect(m.stdout).toMatch(/-->\|state_c\|/);
  });
});

describe('seq2seq in TensorFlow.js', () => {
  const rows = (t: TF.Tensor): M => (t.arraySync() as M[])[0]!;
  const w = (model: TF.LayersModel, layer: string) => model.getLayer(layer).getWeights().map((x) => x.arraySync());

  it('the decoder starts from the encoder\'s final (h, c): the output equals a loop of Keras\' LSTMCell (1e-5)', async () => {
    await use('cpu');
    const model = await buildModel(join(ROOT, FIXTURE), {}, { tf });
    try {
      const src = [3, 17, 5, 39, 1], tgt = [2, 29, 7, 11];
      const out = model.predict([tf.tensor2d([src], undefined, 'int32'), tf.tensor2d([tgt], undefined, 'int32')]) as TF.Tensor;
      const got = rows(out);
      out.dispose();
      const [srcTable] = w(model, 'src_embed') as [M];
      const [tgtTable] = w(model, 'tgt_embed') as [M];
      const [ek, er, eb] = w(model, 'enc') as [M, M, number[]];
      const [dk, dr, db] = w(model, 'dec') as [M, M, number[]];
      const [pk, pb] = w(model, 'probs') as [M, number[]];
      const enc = lstm(src.map((i) => srcTable[i]!), ek, er, eb);
      const dec = lstm(tgt.map((i) => tgtTable[i]!), dk, dr, db, enc.h, enc.c);
      const want = denseSoftmax(dec.seq, pk, pb);
      // Not the same as starting from zeros: the states matter.
      const fromZeros = denseSoftmax(lstm(tgt.map((i) => tgtTable[i]!), dk, dr, db).seq, pk, pb);
      expect(Math.max(...fromZeros.flatMap((r, t) => r.map((v, j) => Math.abs(v - want[t]![j]!))))).toBeGreaterThan(1e-4);
      expect(got.length).toBe(tgt.length);
      expect(Math.max(...got.flatMap((r, t) => r.map((v, j) => Math.abs(v - want[t]![j]!))))).toBeLessThan(1e-5);
      // Saved and loaded back (model.json: the states are inbound tensors 1 and 2), it computes the same.
      let artifacts: TF.io.ModelArtifacts | undefined;
      await model.save(tf.io.withSaveHandler(async (a) => ((artifacts = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
      const loaded = await tf.loadLayersModel(tf.io.fromMemory(artifacts!));
      const again = loaded.predict([tf.tensor2d([src], undefined, 'int32'), tf.tensor2d([tgt], undefined, 'int32')]) as TF.Tensor;
      expect(Math.max(...rows(again).flatMap((r, t) => r.map((v, j) => Math.abs(v - want[t]![j]!))))).toBeLessThan(1e-5);
      again.dispose();
      loaded.dispose();
    } finally {
      model.dispose();
    }
  });

  it('predict, evaluate and fit run a decoder followed by another LSTM, and compute what apply does (tfjs 4.22 RNN.apply leaked initial states: src/backends/tfjs/recurrent-kwargs.ts)', async () => {
    await use('cpu');
    const spec = compileYaml(`name: leak
inputs:
  source: {shape: [4, 3]}
  target: {shape: [5, 2]}
layers:
  - lstm: {units: 3, return_state: true}
    from: source
    id: enc
  - lstm: {units: 3, return_sequences: true}
    from: [target, enc.state_h, enc.state_c]
    id: dec
  - lstm: {units: 3}
    id: tail
  - add: {}
    from: [tail, enc.state_h]
  - dense: {units: 2, activation: softmax}
`);
    expect(spec.diagnostics).toEqual([]);
    const model = await buildModel(spec, {}, { tf });
    const x = [tf.randomUniform([2, 4, 3], 0, 1, 'float32', 1), tf.randomUniform([2, 5, 2], 0, 1, 'float32', 2)];
    const y = tf.tensor2d([[1, 0], [0, 1]]);
    try {
      model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
      // apply() runs the graph by itself (Container.runInternalGraph); the executor (predict, evaluate,
      // fit) shared one kwargs object between layers, into which the decoder wrote its initial states.
      const want = tf.tidy(() => tf.metrics.categoricalCrossentropy(y, model.apply(x) as TF.Tensor).mean().dataSync()[0]!);
      const predicted = tf.tidy(() => tf.metrics.categoricalCrossentropy(y, model.predict(x) as TF.Tensor).mean().dataSync()[0]!);
      const evaluated = (model.evaluate(x, y) as TF.Scalar).dataSync()[0]!;
      const trained = (await model.trainOnBatch(x, y)) as number; // the loss at the weights before the step
      expect([predicted, evaluated, trained].map((v) => Math.abs(v - want))).toEqual([0, expect.any(Number), expect.any(Number)]);
      expect(Math.max(Math.abs(evaluated - want), Math.abs(trained - want))).toBeLessThan(1e-6);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
      tf.dispose([...x, y]);
    }
  });

  it('the spec2ts builder makes the same model as the interpreter (topology, connections included)', async () => {
    await use('cpu');
    const out = join(ROOT, 'tmp', `seq2seq-test-${process.pid}`);
    mkdirSync(out, { recursive: true });
    try {
      expect(run('spec2ts', '--root', 'test/fixtures', '--out', out, FIXTURE).code).toBe(0);
      const file = join(out, 'seq2seq.ts');
      let rel = relative(dirname(file), join(ROOT, 'src', 'runtime', 'index.js')).split('\\').join('/');
      if (!rel.startsWith('.')) rel = `./${rel}`;
      writeFileSync(file, readFileSync(file, 'utf8').replace(`from '${RUNTIME_MODULE}';`, `from '${rel}';`));
      const mod = (await import(pathToFileURL(file).href)) as { build(o: Record<string, unknown>, tf: Tf): TF.LayersModel };
      const generated = mod.build({}, tf);
      const interpreted = await buildModel(join(ROOT, FIXTURE), {}, { tf });
      const topology = (m: TF.LayersModel) => (m.toJSON(null, false) as unknown as { config: unknown }).config;
      expect(topology(generated)).toEqual(topology(interpreted));
      generated.dispose();
      interpreted.dispose();
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it.each(['wasm', 'cpu'] as const)('one training step on %s (adam): finite loss, every trainable weight moves', async (backend) => {
    await use(backend);
    const model = await buildModel(join(ROOT, FIXTURE), {}, { tf });
    const rand = prng(11);
    const B = 3, S = 5, T = 4;
    const src = tf.tensor2d(Int32Array.from({ length: B * S }, () => Math.floor(rand() * 40)), [B, S], 'int32');
    const tgt = tf.tensor2d(Int32Array.from({ length: B * T }, () => Math.floor(rand() * 30)), [B, T], 'int32');
    const y = tf.oneHot(tf.tensor2d(Int32Array.from({ length: B * T }, () => Math.floor(rand() * 30)), [B, T], 'int32'), 30);
    try {
      model.compile({ optimizer: tf.train.adam(1e-2), loss: 'categoricalCrossentropy' });
      const w0 = model.trainableWeights.map((x) => x.read().dataSync().slice());
      const value = (await model.trainOnBatch([src, tgt], y)) as number;
      expect(tf.getBackend()).toBe(backend);
      expect(Number.isFinite(value) && value > 0, `loss ${value}`).toBe(true);
      const still = model.trainableWeights.filter((x, i) => x.read().dataSync().every((v, j) => v === w0[i]![j]));
      expect(still.map((x) => x.name)).toEqual([]);
    } finally {
      model.optimizer?.dispose();
      model.dispose();
      tf.dispose([src, tgt, y]);
    }
  });
});
