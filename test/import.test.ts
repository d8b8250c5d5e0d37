/** Keras/tfjs topology JSON -> spec: the round trip spec -> JSON -> spec -> JSON is stable. */
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry, compileFile, compileSource } from '../src/index.js';
import { loadTf, type Tf } from '../src/backends/tfjs/backend.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { importKerasJson, ImportError } from '../src/backends/keras-json/import.js';
import { ROOT } from './helpers.js';

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});

type J = { config: { name: string; layers: { name: string; config: { name?: string }; inbound_nodes: unknown[] }[]; input_layers: unknown[][]; output_layers: unknown[][] } };

/** Layer names replaced by their position, so two JSONs compare by structure and configuration. */
function normalize(json: unknown): unknown {
  const j = structuredClone(json) as J;
  const index = new Map(j.config.layers.map((l, i) => [l.name, `L${i}`]));
  const rename = (v: unknown): unknown => (Array.isArray(v) ? (typeof v[0] === 'string' && index.has(v[0]) ? [index.get(v[0]), ...v.slice(1).map(rename)] : v.map(rename)) : v);
  for (const l of j.config.layers) {
    l.name = index.get(l.name)!;
    if (l.config.name) l.config.name = l.name;
    l.inbound_nodes = rename(l.inbound_nodes) as unknown[];
  }
  j.config.input_layers = rename(j.config.input_layers) as unknown[][];
  j.config.output_layers = rename(j.config.output_layers) as unknown[][];
  return j;
}

function toJson(graph: Parameters<typeof buildFromGraph>[1]): unknown {
  const model = buildFromGraph(tf, graph, builtinRegistry());
  const json = model.toJSON(null, false);
  model.dispose();
  return json;
}

const specs = [
  'mnist-cnn.yaml', 'y-network.yaml', 'resnet-v1.yaml', 'resnet-v2.yaml',
  ...readdirSync(`${ROOT}specs/examples`).filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`),
];

describe('modelspec import', () => {
  it.each(specs)('%s: spec -> JSON -> spec -> JSON is stable', (name) => {
    const r = compileFile(`${ROOT}specs/${name}`, { set: name === 'resnet-v2.yaml' ? ['n=2'] : [] });
    expect(r.ok).toBe(true);
    const json1 = toJson(r.graph!);
    const spec2 = importKerasJson(json1, builtinRegistry()).yaml;
    const r2 = compileSource(`${ROOT}imported.yaml`, spec2);
    expect(r2.diagnostics.map((d) => d.message)).toEqual([]);
    expect(r2.graph!.totals).toEqual(r.graph!.totals);
    const json2 = toJson(r2.graph!);
    expect(normalize(json2)).toEqual(normalize(json1));
    // And the imported spec is a fixed point: importing its JSON gives the same text.
    expect(importKerasJson(json2, builtinRegistry()).yaml).toBe(spec2);
  });

  it('writes readable specs: defaults left out, names kept as ids, references only where needed', () => {
    const r = compileFile(`${ROOT}specs/resnet-v1.yaml`);
    const spec = importKerasJson(toJson(r.graph!), builtinRegistry()).yaml;
    expect(spec).toContain('  - conv2d: {filters: 16, kernel_size: 3, padding: same, kernel_initializer: he_normal, kernel_regularizer: {l2: 0.0001}}\n    id: stem_conv2d\n');
    expect(spec).toContain('  - add: {}\n    id: stage0_block0_add\n    from: [stem_activation, stage0_block0_branch1_resnet_layer_1_batch_normalization]\n');
    expect(spec).toContain('  - dense: {units: 10, activation: softmax, kernel_initializer: he_normal}\n    id: dense\n');
  });

  it('reads Keras topology JSON as Python Keras 2 writes it', () => {
    const keras = {
      class_name: 'Functional',
      config: {
        name: 'tiny',
        layers: [
          { class_name: 'InputLayer', name: 'input_1', config: { batch_input_shape: [null, 8], dtype: 'float32', name: 'input_1' }, inbound_nodes: [] },
          {
            class_name: 'Dense', name: 'dense',
            config: { name: 'dense', units: 4, activation: 'relu', use_bias: true, kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } }, bias_initializer: { class_name: 'Zeros', config: {} }, kernel_regularizer: { class_name: 'L2', config: { l2: 0.01 } } },
            inbound_nodes: [[['input_1', 0, 0, {}]]],
          },
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [['dense', 0, 0]],
      },
      keras_version: '2.15.0',
      backend: 'tensorflow',
    };
    const spec = importKerasJson(keras, builtinRegistry()).yaml;
    expect(spec).toContain('  input_1: {shape: [8]}');
    expect(spec).toContain('  - dense: {units: 4, activation: relu, kernel_regularizer: {l2: 0.01}}\n    id: dense');
    expect(compileSource(`${ROOT}k.yaml`, spec).graph!.totals.total).toBe(36);
  });

  it('says clearly what it cannot import', () => {
    expect(() => importKerasJson({ config: {} }, builtinRegistry())).toThrow(ImportError);
    const lstm = { config: { name: 'm', layers: [{ class_name: 'InputLayer', name: 'i', config: { batch_input_shape: [null, 3, 4] }, inbound_nodes: [] }, { class_name: 'LSTM', name: 'lstm', config: { units: 3 }, inbound_nodes: [[['i', 0, 0, {}]]] }], input_layers: [['i', 0, 0]], output_layers: [['lstm', 0, 0]] } };
    expect(importKerasJson(lstm, builtinRegistry()).yaml).toContain('- lstm: {units: 3}');
    const custom = JSON.parse(JSON.stringify(lstm).replace('"LSTM"', '"MyAttention"'));
    expect(() => importKerasJson(custom, builtinRegistry())).toThrow("layer 'lstm' is a MyAttention, which modelspec has no op for");
  });
});
