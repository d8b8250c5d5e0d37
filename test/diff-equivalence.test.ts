/**
 * `modelspec diff` compares the networks Keras would build: attributes in normal form
 * (defaults, int vs pair, null pooling strides, linear vs no activation, negative axes,
 * initializer aliases), ids alone are no change, and a network against itself written
 * another way (loops written out flat by `import`, the keras-json round trip) is
 * "no architectural change", both ways, for every spec in specs/.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry, compileFile, compileSource } from '../src/index.js';
import { loadTf, type Tf } from '../src/backends/tfjs/backend.js';
import { buildFromGraph } from '../src/backends/tfjs/interpreter.js';
import { importKerasJson } from '../src/backends/keras-json/import.js';
import { diffGraphs, type GraphDiff } from '../src/diff/diff.js';
import { formatDiffText } from '../src/diff/report.js';
import { normalAttrs } from '../src/ops/index.js';
import type { TypedGraph } from '../src/types/ir.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const registry = builtinRegistry();
let tf: Tf;
let dir: string;
beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
  dir = mkdtempSync(join(tmpdir(), 'modelspec-equiv-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function graphOfText(text: string, set: string[] = []): TypedGraph {
  const r = compileSource(`${dir}/spec.yaml`, text, { set });
  if (!r.ok || !r.graph) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.graph;
}

const diff = (a: TypedGraph, b: TypedGraph): GraphDiff => diffGraphs({ label: 'a', graph: a }, { label: 'b', graph: b }, { registry });

const specs = [
  'mnist-cnn.yaml', 'y-network.yaml', 'resnet-v1.yaml', 'resnet-v2.yaml',
  ...readdirSync(`${ROOT}specs/examples`).filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`),
];

/** spec -> tfjs model -> Keras topology JSON (as `build --format keras-json` writes) -> `import` -> graph. */
function roundTrip(g: TypedGraph): { text: string; graph: TypedGraph } {
  const model = buildFromGraph(tf, g, registry);
  const json = model.toJSON(null, false);
  model.dispose();
  const text = importKerasJson(json, registry).yaml;
  return { text, graph: graphOfText(text) };
}

const HEAD = 'modelspec: 1\nname: t\ninputs:\n  x: {shape: [28, 28, 3]}\nlayers:\n';

describe('normal forms', () => {
  it('defaults, int vs pair, null strides vs pool size, linear vs absent, negative axes, zero regularizers: no change', () => {
    const A = `${HEAD}  - conv2d: {filters: 8, kernel_size: 3, kernel_regularizer: {l2: 0.001}}
  - max_pooling2d: {}
    id: p
  - batch_normalization: {}
  - conv2d: {filters: 8, kernel_size: [3, 1], padding: same, activation: relu}
    id: c2
  - concatenate: {}
    from: [p, c2]
    id: cat
  - flatten: {}
  - dense: {units: 10}
`;
    const a = graphOfText(A);
    // The same network, every attribute written another way (and one id changed).
    const b = graphOfText(`${HEAD}  - conv2d: {filters: 8, kernel_size: [3, 3], strides: [1, 1], activation: linear, kernel_initializer: glorot_uniform, kernel_regularizer: {l1: 0, l2: 0.001}}
  - max_pooling2d: {pool_size: [2, 2], strides: 2, padding: valid}
    id: p
  - batch_normalization: {axis: 3}
  - conv2d: {filters: 8, kernel_size: [3, 1], padding: same, activation: relu, bias_regularizer: {l1: 0}}
    id: c2
  - concatenate: {axis: 3}
    from: [p, c2]
    id: joined
  - flatten: {}
  - dense: {units: 10, activation: null}
`);
    for (const [x, y] of [[a, b], [b, a]] as const) {
      const d = diff(x, y);
      expect(d.changed.map((c) => [c.right.id, c.attrs])).toEqual([]);
      expect(d.identical).toBe(true);
      expect(d.renamed.map((c) => c.rename)).toEqual(['renamed']);
    }
    // A real difference still counts (here with the same output shape).
    const c = graphOfText(A.replace('  - max_pooling2d: {}', '  - max_pooling2d: {padding: same}'));
    const d = diff(a, c);
    expect(d.identical).toBe(false);
    expect(formatDiffText(d, { registry })).toContain('~ p (MaxPooling2D): padding valid -> same');
  });

  it('normalAttrs reads the forms from the op registry', () => {
    const pool = registry.get('max_pooling2d')!;
    expect(normalAttrs(pool, { pool_size: [3, 3], strides: null, padding: 'valid' })).toEqual({ pool_size: 3, strides: 3, padding: 'valid' });
    const dense = registry.get('dense')!;
    const n = normalAttrs(dense, { units: 4, activation: 'linear', kernel_initializer: 'GlorotUniform' });
    expect(n).toMatchObject({ units: 4, activation: null, kernel_initializer: 'glorot_uniform', use_bias: true });
    expect(normalAttrs(registry.get('layer_normalization')!, { axis: [-1, 1] }, 4)).toMatchObject({ axis: [1, 3] });
  });
});

describe('a network against itself written another way', () => {
  it.each(specs)('%s: keras-json round trip (build -> import) diffs as no change, both ways', (name) => {
    const g = compileFile(`${ROOT}specs/${name}`, { set: name === 'resnet-v2.yaml' ? ['n=2'] : [] }).graph!;
    const { graph: flat } = roundTrip(g);
    for (const [x, y] of [[g, flat], [flat, g]] as const) {
      const d = diff(x, y);
      expect({ added: d.added.map((n) => n.id), removed: d.removed.map((n) => n.id), changed: d.changed.map((c) => c.right.id) }).toEqual({ added: [], removed: [], changed: [] });
      expect(d.identical).toBe(true);
    }
  });

  it('a real change inside a loop-vs-flat pair is reported once, where it is, both ways', () => {
    const g = compileFile(`${ROOT}specs/resnet-v1.yaml`).graph!;
    const { text } = roundTrip(g);
    // The flat spec's stage1/block1 second conv: kernel 3 -> 5 (same output shape).
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.trim() === 'id: stage1_block1_branch1_resnet_layer_1_conv2d');
    expect(at).toBeGreaterThan(0);
    lines[at - 1] = lines[at - 1]!.replace('kernel_size: 3', 'kernel_size: 5');
    const changed = graphOfText(lines.join('\n'));
    for (const [x, y, before, after] of [[g, changed, 3, 5], [changed, g, 5, 3]] as const) {
      const d = diff(x, y);
      expect(d.identical).toBe(false);
      expect(d.added).toEqual([]);
      expect(d.removed).toEqual([]);
      expect(d.changed).toHaveLength(1);
      expect(d.changed[0]!.attrs).toEqual([{ key: 'kernel_size', before, after }]);
      expect([d.changed[0]!.left.id, d.changed[0]!.right.id].sort()).toEqual(['stage1/block1/branch1/resnet_layer_1/conv2d', 'stage1_block1_branch1_resnet_layer_1_conv2d']);
      const text = formatDiffText(d, { registry });
      expect(text).toContain(`1 change:\n  ~ `);
      expect(text).toContain(`kernel_size ${before} -> ${after}`);
      expect(text).toContain('68 layers renamed (ids only: --names lists them)');
    }
  });

  it('the command line: build --format keras-json -> import -> diff is exit 0, renames one line; --strict-names exit 1', () => {
    const out = join(dir, 'k');
    expect(run(['build', 'specs/resnet-v1.yaml', '--format', 'keras-json', '--out', out]).code).toBe(0);
    const imported = join(dir, 'imported.yaml');
    expect(run(['import', join(out, 'model.json'), '--flat', '--out', imported]).code).toBe(0);
    const r = run(['diff', 'specs/resnet-v1.yaml', imported]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('no architectural change: resnet_v1, 72 layers, 274,442 params');
    expect(r.stdout).toContain('68 layers renamed (ids only: --names lists them)');
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.code).toBe(0);
    const back = run(['diff', imported, 'specs/resnet-v1.yaml', '--names']);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain('68 layers renamed:\n');
    expect(back.stdout).toContain('> renamed stem_conv2d -> stem/conv2d, 1 layer');
    expect(run(['diff', imported, 'specs/resnet-v1.yaml', '--strict-names']).code).toBe(1);
    writeFileSync(join(dir, 'copy.yaml'), readFileSync(imported, 'utf8'));
    expect(run(['diff', imported, join(dir, 'copy.yaml'), '--strict-names']).code).toBe(0);
  });
});
