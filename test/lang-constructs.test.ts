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
import { SIAMESE, densenetBc, unet } from './reference/lang-specs.js';
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


describe('shape-aware expressions: specs/densenet-bc.yaml against the book\'s script', () => {
  const kerasClass = (op: string) => registry.get(op)!.kerasClass;
  /** The graph's layers in creation order as the transcription lists them (inputs left out). */
  const layersOf = (set: Record<string, unknown>) => {
    const r = compileFile(`${ROOT}specs/densenet-bc.yaml`, { set });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const g = r.graph!;
    return { g, layers: g.nodes.filter((n) => n.op !== 'input').map((n) => [kerasClass(n.op), n.outputShape[n.outputShape.length - 1], n.params.trainable + n.params.nonTrainable]) };
  };

  it('DenseNet-BC-100, k=12: 797,788 params, 774,376 trainable, layer by layer as the script makes them', () => {
    const ref = densenetBc();
    expect(ref.total).toBe(797_788);
    expect(ref.trainable).toBe(774_376);
    const { g, layers } = layersOf({});
    expect(layers).toEqual(ref.layers);
    expect(g.totals.total).toBe(797_788);
    expect(g.totals.trainable).toBe(774_376);
    // The transitions' widths come from their inputs' channels: 219 -> 108, 300 -> 150.
    const transitions = g.nodes.filter((n) => n.op === 'conv2d' && n.attrs.kernel_size === 1 && /^b\d\/conv2d$/.test(n.id));
    expect(transitions.map((n) => [n.id, n.inputShapes[0]![2], n.attrs.filters])).toEqual([['b0/conv2d', 219, 108], ['b1/conv2d', 300, 150]]);
    // The final pooling covers the remaining 8x8 map, as the script's pool_size=8.
    expect(g.nodes.find((n) => n.id === 'average_pooling2d')!.attrs.pool_size).toEqual([8, 8]);
  });

  it.each([
    [{ depth: 40, growth: 12 }, [40, 12, 0.5, 3]],
    [{ depth: 52, growth: 24, compression: 0.25, blocks: 4 }, [52, 24, 0.25, 4]],
    [{ depth: 22, growth: 8, blocks: 1 }, [22, 8, 0.5, 1]],
  ] as const)('the number of dense blocks and the compression are parameters: %j', (set, args) => {
    const ref = densenetBc(args[0], args[1], args[2], args[3]);
    const { g, layers } = layersOf(set);
    expect(layers).toEqual(ref.layers);
    expect([g.totals.total, g.totals.trainable]).toEqual([ref.total, ref.trainable]);
  });

  it('the tfjs build, Keras JSON export and import: the same layers and weights', () => {
    const g = layersOf({ depth: 40 }).g;
    const model = buildFromGraph(tf, g, registry);
    try {
      expect(model.countParams()).toBe(g.totals.total);
      expect(model.layers.length).toBe(kerasRows(g).length);
      const json = model.toJSON(null, false);
      const imported = compileSource(`${ROOT}imported.yaml`, importKerasJson(json, registry).yaml);
      expect(imported.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(imported.graph!.totals).toEqual(g.totals);
    } finally {
      model.dispose();
    }
  });

  it('diff and graph through the CLI: blocks 3 -> 4 with depth 100 -> 52', () => {
    const d = cli('diff', 'specs/densenet-bc.yaml', 'specs/densenet-bc.yaml', '--right-set', 'blocks=4', '--right-set', 'depth=52');
    expect(d.stderr).toBe('');
    expect(d.status).toBe(1);
    const gr = cli('graph', 'specs/densenet-bc.yaml', '--format', 'dot');
    expect(gr.status).toBe(0);
    expect(gr.stdout).toContain('digraph');
  });
});

describe('loop outputs: specs/unet.yaml, the decoder reads the encoder levels by iteration', () => {
  const convs = (set: Record<string, unknown>) => {
    const r = compileFile(`${ROOT}specs/unet.yaml`, { set });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const g = r.graph!;
    return { g, layers: g.nodes.filter((n) => n.op === 'conv2d' || n.op === 'conv2d_transpose').map((n) => [registry.get(n.op)!.kerasClass, n.attrs.filters, n.params.trainable]) };
  };

  it.each([
    [{}, [4, 64]],
    [{ levels: 5, base: 32 }, [5, 32]],
    [{ levels: 1, base: 8 }, [1, 8]],
  ] as const)('%j: the convolutions and parameter counts of the transcription', (set, [levels, base]) => {
    const ref = unet(levels, base);
    const { g, layers } = convs(set);
    expect(layers).toEqual(ref.layers);
    expect(g.totals.total).toBe(ref.total);
    if (levels === 4 && base === 64) expect(ref.total).toBe(31_030_593);
    // Each decoder level concatenates the skip of the same level: up3 with level3/skip, ..., up0 with level0/skip.
    const concats = g.nodes.filter((n) => n.op === 'concatenate').map((n) => n.inputs);
    expect(concats).toEqual(Array.from({ length: levels }, (_, i) => levels - 1 - i).map((l) => [`up${l}/upsampled`, `level${l}/skip`]));
  });

  it('the tfjs build, Keras JSON export and import', () => {
    const g = convs({ levels: 2, base: 4 }).g;
    const model = buildFromGraph(tf, g, registry);
    try {
      expect(model.countParams()).toBe(g.totals.total);
      expect(model.countParams()).toBe(unet(2, 4).total);
      const imported = compileSource(`${ROOT}imported.yaml`, importKerasJson(model.toJSON(null, false), registry).yaml);
      expect(imported.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(imported.graph!.totals).toEqual(g.totals);
    } finally {
      model.dispose();
    }
  });

  it('diff 4 -> 5 levels: the decoder loop reads as one change; graph draws it', () => {
    const d = cli('diff', 'specs/unet.yaml', 'specs/unet.yaml', '--right-set', 'levels=5');
    expect(d.stderr).toBe('');
    expect(d.status).toBe(1);
    expect(d.stdout).toContain('4 -> 5 ups (for up): added up4');
    const gr = cli('graph', 'specs/unet.yaml', '--format', 'mermaid');
    expect(gr.status).toBe(0);
    expect(gr.stdout).toContain('skip');
  });
});
