/**
 * Keras formats written by `build`: Keras 2 (`--format keras-json`, tfjs' toJSON) and Keras 3
 * (`--format keras3-json`, src/backends/keras-json/keras3.ts) for the seed models, against
 * golden files (UPDATE_GOLDEN=1 rewrites them: review the diff), checked for the fields Keras 3's
 * serialization writes (keras/src/saving/serialization_lib.py, keras/src/models/functional.py),
 * and read back by `import` as the same network.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry, compileFile, compileSource } from '../src/index.js';
import { loadTf, type Tf } from '../src/backends/tfjs/backend.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { toKeras3 } from '../src/backends/keras-json/keras3.js';
import { importKerasJson } from '../src/backends/keras-json/import.js';
import { diffGraphs } from '../src/diff/diff.js';
import { ROOT } from './helpers.js';

const registry = builtinRegistry();
const SEEDS = ['mnist-cnn', 'resnet-v1', 'y-network'];
let tf: Tf;
let dir: string;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
  dir = mkdtempSync(join(tmpdir(), 'modelspec-keras3-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function golden(name: string, actual: unknown) {
  const file = `${ROOT}test/golden/keras/${name}`;
  const text = JSON.stringify(actual, null, 1) + '\n';
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}

type J = Record<string, unknown> & { config: { layers: Record<string, unknown>[]; input_layers: unknown; output_layers: unknown } };

function both(spec: string): { keras2: J; keras3: J } {
  const graph = compileFile(`${ROOT}specs/${spec}.yaml`).graph!;
  const model = buildFromGraph(tf, graph, registry);
  const keras2 = model.toJSON(null, false) as unknown as J;
  const shapeOf = (layer: string, node: number) => {
    const s = model.getLayer(layer).getOutputAt(node) as { shape: (number | null)[] };
    return [...s.shape];
  };
  const keras3 = toKeras3(keras2 as never, shapeOf) as unknown as J;
  model.dispose();
  return { keras2, keras3 };
}

describe('Keras 2 and Keras 3 JSON of the seed models', () => {
  it.each(SEEDS)('%s: golden files; Keras 3 fields as serialize_keras_object writes them; import reads both as the same network', (spec) => {
    const { keras2, keras3 } = both(spec);
    golden(`${spec}.keras2.json`, keras2);
    golden(`${spec}.keras3.json`, keras3);
    expect(keras3).toMatchObject({ module: 'keras.src.models.functional', class_name: 'Functional', registered_name: 'Functional' });
    for (const l of keras3.config.layers) {
      expect(Object.keys(l)).toEqual(expect.arrayContaining(['module', 'class_name', 'config', 'registered_name', 'name', 'inbound_nodes']));
      expect(l.module).toBe('keras.layers');
      expect(l.registered_name).toBeNull();
      if (l.class_name === 'InputLayer') {
        expect(l.config).toMatchObject({ batch_shape: expect.arrayContaining([null]) });
        expect(l.inbound_nodes).toEqual([]);
        continue;
      }
      expect(l.build_config).toMatchObject({ input_shape: expect.anything() });
      for (const node of l.inbound_nodes as { args: unknown[]; kwargs: unknown }[]) {
        expect(node.kwargs).toEqual({});
        const tensors = (Array.isArray(node.args[0]) ? node.args[0] : node.args) as { class_name: string; config: { keras_history: unknown[]; shape: unknown[] } }[];
        for (const t of tensors) {
          expect(t.class_name).toBe('__keras_tensor__');
          expect(t.config.keras_history).toHaveLength(3);
          expect(t.config.shape[0]).toBeNull();
        }
      }
    }
    // One input and one output: a single [name, node, tensor] triple, as Keras 3 writes them.
    if (spec !== 'y-network') expect(keras3.config.input_layers).toEqual([expect.any(String), 0, 0]);
    const original = compileFile(`${ROOT}specs/${spec}.yaml`).graph!;
    for (const json of [keras2, keras3]) {
      const imported = compileSource(`${ROOT}imported.yaml`, importKerasJson(json, registry).yaml).graph!;
      const d = diffGraphs({ label: 'a', graph: original }, { label: 'b', graph: imported }, { registry });
      expect(d.identical).toBe(true);
      expect(d.changed).toEqual([]);
    }
  });

  it('build --format keras3-json through the CLI writes the same config, with the modelspec metadata', () => {
    const out = join(dir, 'mnist');
    const r = spawnSync(process.execPath, [`${ROOT}dist/cli/modelspec.js`, 'build', 'specs/mnist-cnn.yaml', '--format', 'keras3-json', '--out', out, '--backend', 'cpu'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("Keras 3 config.json");
    const { modelspec, ...written } = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(modelspec).toMatchObject({ spec: 'specs/mnist-cnn.yaml' });
    expect(written).toEqual(JSON.parse(readFileSync(`${ROOT}test/golden/keras/mnist-cnn.keras3.json`, 'utf8')));
  });
});
