/**
 * `modelspec import` through the built CLI (dist/): it compiles the spec it would write,
 * and a hostile or broken model gets its problems reported (exit 1, nothing written), never
 * a spec that fails `modelspec check` (issue #12).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'modelspec-import-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A Keras 2 functional model as `model.to_json()` writes it: input -> dense -> dense. */
function model(mutate: (m: { input: Record<string, unknown>; hidden: Record<string, unknown> }) => void = () => {}) {
  const input: Record<string, unknown> = { batch_input_shape: [null, 8], dtype: 'float32', name: 'features' };
  const hidden: Record<string, unknown> = { name: 'hidden', units: 4, activation: 'relu', use_bias: true };
  mutate({ input, hidden });
  return {
    class_name: 'Functional',
    config: {
      name: 'tiny',
      layers: [
        { class_name: 'InputLayer', name: 'features', config: input, inbound_nodes: [] },
        { class_name: 'Dense', name: 'hidden', config: hidden, inbound_nodes: [[['features', 0, 0, {}]]] },
        { class_name: 'Dense', name: 'out', config: { name: 'out', units: 2, activation: 'softmax' }, inbound_nodes: [[['hidden', 0, 0, {}]]] },
      ],
      input_layers: [['features', 0, 0]],
      output_layers: [['out', 0, 0]],
    },
    keras_version: '2.15.0',
  };
}

describe('modelspec import compiles what it writes', () => {
  it('a sound model: exit 0, and the spec it writes passes check', () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(model()));
    const r = run(['import', 'ok.json', '--out', 'ok.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(run(['check', 'ok.yaml']).code).toBe(0);
  });

  const hostile: [string, (m: { input: Record<string, unknown>; hidden: Record<string, unknown> }) => void, string, string][] = [
    ['units: -5', (m) => { m.hidden.units = -5; }, "MS2005: dense attribute 'units' must be >= 1, got -5", 'dense: {units: -5'],
    ['a 1e300 dimension', (m) => { m.input.batch_input_shape = [null, 1e300]; }, "MS2004: input 'features' shape must be a list of positive integers", 'shape: [1e+300]'],
    ['an activation with a newline', (m) => { m.hidden.activation = 'relu\nrm -rf'; }, "MS2006: dense attribute 'activation' must be one of", 'activation: "relu\\nrm -rf"'],
  ];
  it.each(hostile)('%s: exit 1, the problem with its place in the would-be spec, nothing written', (name, mutate, message, frame) => {
    const file = `${name.replace(/\W+/g, '-')}.json`;
    writeFileSync(join(dir, file), JSON.stringify(model(mutate)));
    const out = join(dir, `${file}.yaml`);
    const r = run(['import', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`modelspec import: ${file} describes a model modelspec cannot build`);
    expect(r.stderr).toContain('nothing written');
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/\./g, '\\.')} \\(as a spec\\):\\d+:\\d+ - error `));
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(frame);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(out)).toBe(false);
    // To standard output: the same refusal, no spec printed.
    const stdout = run(['import', file]);
    expect(stdout.code).toBe(1);
    expect(stdout.stdout).toBe('');
  });

  it('a model whose flat spec is larger than the default file-size limit: written, with a warning that says which --limit to give', () => {
    const layers = Array.from({ length: 3000 }, (_, i) => ({ class_name: 'Dense', config: { name: `dense_layer_number_${i}`, units: 2, activation: 'relu', ...(i === 0 ? { batch_input_shape: [null, 2] } : {}) } }));
    writeFileSync(join(dir, 'deep.json'), JSON.stringify({ class_name: 'Sequential', config: { name: 'deep', layers } }));
    const r = run(['import', 'deep.json', '--flat', '--out', 'deep.yaml']);
    expect(r.code).toBe(0);
    const bytes = readFileSync(join(dir, 'deep.yaml')).byteLength;
    expect(bytes).toBeGreaterThan(131_072);
    expect(r.stderr).toBe(`warning: the spec is ${bytes.toLocaleString('en-US')} bytes, more than the 131,072 that modelspec reads by default: give check, build and diff --limit maxFileBytes=${bytes}\n`);
    expect(run(['check', 'deep.yaml', '--limit', `maxFileBytes=${bytes}`]).stdout).toContain('ok (3001 layers, 18,000 params)');
  });

  it('an existing --out is left as it was when the import is refused', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(model((m) => { m.hidden.units = 0; })));
    writeFileSync(join(dir, 'keep.yaml'), '# mine\n');
    const r = run(['import', 'bad.json', '--out', 'keep.yaml', '--force']);
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'keep.yaml'), 'utf8')).toBe('# mine\n');
  });
});

/** Keras 3's serialization of a layer (keras/src/saving/serialization_lib.py: serialize_keras_object). */
const k3 = (cls: string, name: string, config: Record<string, unknown>, inbound: unknown[] = []) => ({
  module: 'keras.layers', class_name: cls, config: { name, trainable: true, dtype: { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null }, ...config },
  registered_name: null, build_config: { input_shape: [null, 8] }, name, inbound_nodes: inbound,
});
const tensor = (layer: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 8], dtype: 'float32', keras_history: [layer, 0, 0] } });
const HE = { module: 'keras.initializers', class_name: 'HeNormal', config: { seed: null }, registered_name: null };

const KERAS3_FUNCTIONAL = {
  module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional',
  config: {
    name: 'k3', trainable: true,
    layers: [
      { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 8], dtype: 'float32', sparse: false, name: 'features' }, registered_name: null, name: 'features', inbound_nodes: [] },
      k3('Dense', 'a', { units: 4, activation: 'relu', use_bias: true, kernel_initializer: HE }, [{ args: [tensor('features')], kwargs: {} }]),
      k3('Dense', 'b', { units: 4, activation: 'linear' }, [{ args: [tensor('features')], kwargs: {} }]),
      k3('Add', 'sum', {}, [{ args: [[tensor('a'), tensor('b')]], kwargs: {} }]),
      k3('Dense', 'out', { units: 2, activation: 'softmax' }, [{ args: [tensor('sum')], kwargs: {} }]),
    ],
    input_layers: ['features', 0, 0],
    output_layers: ['out', 0, 0],
  },
  build_config: { input_shape: null },
};

const SEQUENTIAL_K2 = {
  class_name: 'Sequential',
  config: {
    name: 'seq2',
    layers: [
      { class_name: 'Dense', config: { name: 'dense', units: 4, activation: 'relu', batch_input_shape: [null, 8], dtype: 'float32' } },
      { class_name: 'Dense', config: { name: 'dense_1', units: 2, activation: 'softmax' } },
    ],
  },
  keras_version: '2.15.0',
};

const SEQUENTIAL_K3 = {
  module: 'keras', class_name: 'Sequential', registered_name: null,
  config: {
    name: 'seq3', trainable: true,
    layers: [
      { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 8], dtype: 'float32', sparse: false, name: 'input_layer' }, registered_name: null },
      k3('Dense', 'dense', { units: 4, activation: 'relu' }),
      k3('Dense', 'dense_1', { units: 2, activation: 'softmax' }),
    ],
    build_input_shape: [null, 8],
  },
  build_config: { input_shape: [null, 8] },
};

describe('modelspec import reads Keras 2 and Keras 3, functional and Sequential', () => {
  const imports = (file: string, content: string | Uint8Array) => {
    writeFileSync(join(dir, file), content);
    const out = `${file}.yaml`;
    const r = run(['import', file, '--out', out, '--force']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const check = run(['check', out]);
    expect(check.code).toBe(0);
    return { spec: readFileSync(join(dir, out), 'utf8'), check: check.stdout };
  };

  it('Keras 3 functional (config.json): __keras_tensor__ inbound nodes, a merge, one input as one triple', () => {
    const { spec, check } = imports('k3.json', JSON.stringify(KERAS3_FUNCTIONAL));
    expect(spec).toContain('  features: {shape: [8]}');
    expect(spec).toContain('  - dense: {units: 4, activation: relu, kernel_initializer: he_normal}\n    id: a');
    expect(spec).toContain('  - add: {}\n    id: sum\n    from: [a, b]');
    expect(check).toContain('ok (5 layers, 82 params)');
  });

  it('Keras 2 Sequential (batch_input_shape on the first layer) and Keras 3 Sequential (an InputLayer)', () => {
    const k2 = imports('seq2.json', JSON.stringify(SEQUENTIAL_K2));
    expect(k2.spec).toContain('name: seq2');
    expect(k2.spec).toContain('  input: {shape: [8]}');
    expect(k2.check).toContain('ok (3 layers, 46 params)');
    const k3s = imports('seq3.json', JSON.stringify(SEQUENTIAL_K3));
    expect(k3s.spec).toContain('  input_layer: {shape: [8]}');
    expect(k3s.check).toContain('ok (3 layers, 46 params)');
  });

  it('a to_json() string written as JSON, and the config.json inside a .keras zip', async () => {
    expect(imports('string.json', JSON.stringify(JSON.stringify(SEQUENTIAL_K2))).check).toContain('ok (3 layers, 46 params)');
    const { zipSync, strToU8 } = await import('fflate');
    const keras = zipSync({ 'metadata.json': strToU8('{"keras_version": "3.5.0"}'), 'config.json': strToU8(JSON.stringify(KERAS3_FUNCTIONAL)), 'model.weights.h5': new Uint8Array(64) });
    expect(imports('model.keras', keras).check).toContain('ok (5 layers, 82 params)');
    writeFileSync(join(dir, 'empty.keras'), zipSync({ 'metadata.json': strToU8('{}') }));
    const r = run(['import', 'empty.keras']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('a zip without config.json');
  });
});
