/**
 * Issue #15's language constructs, on the specs that need them, against the independent
 * transcriptions in test/reference/lang-specs.ts: shared blocks (specs/siamese.yaml) give exactly
 * the Keras model that reuses the layer objects (same layer count, weights counted once, node
 * indices in the summary and the Keras JSON), in the compiler, the tfjs build and the import.
 */
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry, compileFile, compileSource, formatSummary } from '../src/index.js';
import { loadTf, type Tf } from '../src/backends/tfjs/backend.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { idOfLayerName } from '../src/backends/tfjs/config.js';
import { toKeras3 } from '../src/backends/keras-json/keras3.js';
import { importKerasJson } from '../src/backends/keras-json/import.js';
import { kerasRows } from '../src/report/summary.js';
import { SIAMESE } from './reference/lang-specs.js';
import { ROOT } from './helpers.js';

const registry = builtinRegistry();
let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
});

const cli = (...args: string[]) => spawnSync(process.execPath, [`${ROOT}dist/cli/modelspec.js`, ...args], { cwd: ROOT, encoding: 'utf8' });

describe('shared blocks: specs/siamese.yaml, one tower block called on two images', () => {
  const graph = () => {
    const r = compileFile(`${ROOT}specs/siamese.yaml`);
    expect(r.diagnostics).toEqual([]);
    return r.graph!;
  };

  it('the compiler: the Keras layers of the transcription, each shared layer once, weights counted once', () => {
    const g = graph();
    const rows = kerasRows(g).map(({ node, applications }) => [node.id, registry.get(node.op)!.kerasClass, node.params.trainable + node.params.nonTrainable, applications.length]);
    expect(rows).toEqual(SIAMESE.layers);
    expect(g.totals.total).toBe(SIAMESE.total);
    expect(g.totals.trainable).toBe(SIAMESE.trainable);
    // The right tower's nodes apply the left tower's layers, the weightless ones too.
    const right = g.nodes.filter((n) => n.id.startsWith('right_tower/'));
    expect(right.map((n) => [n.id, n.sharedWith])).toEqual(
      ['conv1', 'pool1', 'conv2', 'pool2', 'flatten', 'embed'].map((l) => [`right_tower/${l}`, `left_tower/${l}`]),
    );
  });

  it("the summary names a further use of a layer as Keras does: conv1[1][0]", () => {
    const text = formatSummary(graph(), registry);
    expect(text).toMatch(/left_tower\/pool1 \(MaxPooling2D\) .* left_tower\/conv1\[0\]\[0\] \| left_tower\/conv1\[1\]\[0\]/);
    expect(text).toMatch(/concatenate \(Concatenate\) .* left_tower\/embed\[0\]\[0\], left_tower\/embed\[1\]\[0\]/);
  });

  it('the tfjs build reuses the layer objects: 10 layers, two inbound nodes each in the tower, 30,497 weights', () => {
    const model = buildFromGraph(tf, graph(), registry);
    try {
      expect(model.layers.map((l) => [idOfLayerName(l.name), l.getClassName(), l.countParams(), l.inboundNodes.length])).toEqual(SIAMESE.layers);
      expect(model.countParams()).toBe(SIAMESE.total);
      // Keras JSON: the second application of each tower layer reads node 1 of the layer before it.
      const json = model.toJSON(null, false) as unknown as { config: { layers: { name: string; inbound_nodes: [string, number, number, unknown][][] }[] } };
      const pool1 = json.config.layers.find((l) => l.name === 'left_tower.pool1')!;
      expect(pool1.inbound_nodes.map((n) => n.map((t) => t.slice(0, 3)))).toEqual([[['left_tower.conv1', 0, 0]], [['left_tower.conv1', 1, 0]]]);
      const keras3 = toKeras3(json as never, (layer, node) => [...(model.getLayer(layer).getOutputAt(node) as { shape: (number | null)[] }).shape]) as unknown as typeof json;
      expect(JSON.stringify(keras3.config.layers.find((l) => l.name === 'left_tower.pool1')!.inbound_nodes)).toContain('"keras_history":["left_tower.conv1",1,0]');
      // Imported back: the same layers and weights (the tower's second use as share: items).
      for (const j of [json, keras3]) {
        const imported = compileSource(`${ROOT}imported.yaml`, importKerasJson(j, registry).yaml);
        expect(imported.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        expect(kerasRows(imported.graph!).length).toBe(SIAMESE.layers.length);
        expect(imported.graph!.totals.total).toBe(SIAMESE.total);
      }
    } finally {
      model.dispose();
    }
  });

  it('graph and diff through the CLI: the shared call is drawn and compared as sharing', () => {
    const g = cli('graph', 'specs/siamese.yaml', '--format', 'mermaid');
    expect(g.stderr).toBe('');
    expect(g.status).toBe(0);
    expect(g.stdout).toContain('right_tower');
    const d = cli('diff', 'specs/siamese.yaml', 'specs/siamese.yaml', '--right-set', 'embed_dim=64');
    expect(d.status).toBe(1);
    expect(d.stdout).toMatch(/embed/);
  });
});

