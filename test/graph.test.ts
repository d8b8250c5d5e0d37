/**
 * `modelspec graph`: the view (clusters, folding), DOT and Mermaid text, SVG and PNG
 * rendered in-process, and the command line (dist/, npm run build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { builtinRegistry, compileFile } from '../src/index.js';
import { buildView } from '../src/backends/graph/view.js';
import { graphToDot } from '../src/backends/graph/dot.js';
import { graphToMermaid } from '../src/backends/graph/mermaid.js';
import { dotToSvg, svgToPng } from '../src/backends/graph/render.js';
import { runGraph } from '../src/cli/graph.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const registry = builtinRegistry();
const graphOf = (name: string, set: string[] = []) => compileFile(`${ROOT}specs/${name}`, { set }).graph!;
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
};
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let tmp: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
  tmp = mkdtempSync(join(tmpdir(), 'modelspec-graph-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the view', () => {
  it('draws every layer, with block and loop scopes as nested clusters', () => {
    const g = graphOf('resnet-v1.yaml');
    const v = buildView(g);
    expect(v.nodes).toHaveLength(g.nodes.length);
    const clusters = new Map(v.clusters.map((c) => [c.path, c]));
    expect(clusters.get('stem')?.scope?.kind).toBe('block');
    expect(clusters.get('stage1')?.scope?.label).toBe('for stage = 1');
    expect(clusters.get('stage1/block0')?.parent).toBe('stage1');
    expect(clusters.get('stage1/block0/branch1/resnet_layer')?.parent).toBe('stage1/block0'); // branches are not boxes
    // A block with a single layer (the projection shortcut) is not boxed either.
    expect(clusters.has('stage1/block0/branch0/resnet_layer')).toBe(false);
    expect(v.nodes.find((n) => n.key === 'stage1/block0/branch0/resnet_layer/conv2d')?.name).toBe('branch0/resnet_layer/conv2d');
    // Edges are the graph's: one per input, the skip connections included.
    expect(v.edges).toHaveLength(g.nodes.reduce((s, n) => s + n.inputs.length, 0));
    expect(v.spine.has('stage0/block0/branch1/resnet_layer/conv2d')).toBe(true);
  });

  it('--depth folds scopes into one node each, as summary --depth does', () => {
    const g = graphOf('resnet-v1.yaml');
    const v = buildView(g, { depth: 2 });
    expect(v.nodes.map((n) => n.key)).toEqual([
      'image', 'stem/conv2d', 'stem/batch_normalization', 'stem/activation',
      'stage0/block0', 'stage0/block1', 'stage0/block2', 'stage1/block0', 'stage1/block1', 'stage1/block2',
      'stage2/block0', 'stage2/block1', 'stage2/block2', 'average_pooling2d', 'flatten', 'dense',
    ]);
    const folded = v.nodes.find((n) => n.key === 'stage1/block0')!;
    expect(folded.members).toHaveLength(8);
    expect(folded.scope?.label).toBe('repeat block = 0');
    expect(v.clusters.map((c) => c.path)).toEqual(['stem', 'stage0', 'stage1', 'stage2']);
    expect(v.edges).toHaveLength(15); // a chain: the skip connections are inside the folded blocks
    expect(buildView(g, { depth: 1 }).nodes.map((n) => n.key)).toEqual(['image', 'stem', 'stage0', 'stage1', 'stage2', 'average_pooling2d', 'flatten', 'dense']);
  });
});

describe('DOT and Mermaid', () => {
  it('DOT: shapes, parameter counts, attributes in brief, clusters', () => {
    const dot = graphToDot(graphOf('resnet-v1.yaml'), { registry });
    expect(dot).toMatch(/^digraph "resnet_v1" \{/);
    expect(dot).toContain('subgraph "cluster_stage0" {');
    expect(dot).toContain('subgraph "cluster_stage0/block0" {');
    expect(dot).toContain('<B>conv2d</B>  <FONT COLOR="#5f6368">Conv2D</FONT><BR/><FONT POINT-SIZE="9">16 filters, 3×3</FONT><BR/><FONT POINT-SIZE="9" COLOR="#5f6368">(None, 32, 32, 16)  ·  448 params</FONT>');
    expect(dot).toContain('64 filters, 1×1, stride 2'); // the projection shortcut of stage 2
    expect(dot).toContain('274,442 params (273,066 trainable) · 40.81 M MACs');
  });

  it('DOT folded: a folded block says what it holds', () => {
    const dot = graphToDot(graphOf('resnet-v1.yaml'), { registry, depth: 2 });
    expect(dot).toContain('<B>block0 (repeat block = 0)</B><BR/><FONT POINT-SIZE="9">branch0, branch1, add, activation</FONT><BR/><FONT POINT-SIZE="9">8 layers  ·  14,688 params  ·  3.67 M MACs</FONT>');
    expect(dot).not.toContain('cluster_stage0/block0');
  });

  it('Mermaid: a flowchart with subgraphs, styled by op family', () => {
    const m = graphToMermaid(compileFile(`${ROOT}test/fixtures/diff/y-network.yaml`).graph!, { registry });
    expect(m).toContain('flowchart TB');
    expect(m).toMatch(/subgraph c\d+\["branch0\/left: cnn_branch · 92,672 params"\]/);
    expect(m).toContain('["dense · Dense<br/>10 units, softmax<br/>(None, 10)<br/>23,050 params"]');
    expect(m).toContain('classDef op_conv2d fill:#dbe9fb');
    for (const label of m.matchAll(/\["(.*?)"\]/g)) expect(label[1]!.replaceAll('<br/>', '')).not.toMatch(/["<>]/); // quotes and markup escaped
  });
});

describe('SVG and PNG, rendered in-process', () => {
  it('SVG from Graphviz (WebAssembly)', async () => {
    const svg = await dotToSvg(graphToDot(graphOf('mnist-cnn.yaml'), { registry }));
    expect(svg).toContain('<svg');
    expect(svg).toContain('>conv2d_1</text>');
    expect(svg).toContain('(None, 26, 26, 64)');
    expect(svg).toContain('font-family="DejaVu Sans, Verdana, Helvetica, Arial, sans-serif"');
  });

  it('PNG from resvg', async () => {
    const svg = await dotToSvg(graphToDot(graphOf('mnist-cnn.yaml'), { registry }));
    const png = await svgToPng(svg, { scale: 1 });
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const width = png.readUInt32BE(16), height = png.readUInt32BE(20);
    expect(width).toBeGreaterThan(150);
    expect(height).toBeGreaterThan(500);
  });
});

describe('modelspec graph', () => {
  it('prints DOT by default and Mermaid on request', () => {
    const dot = run('graph', 'specs/mnist-cnn.yaml');
    expect(dot.code).toBe(0);
    expect(dot.stdout.toString()).toMatch(/^digraph "mnist_cnn"/);
    const m = run('graph', 'specs/resnet-v1.yaml', '--format', 'mermaid', '--depth', '1', '--set', 'n=5');
    expect(m.code).toBe(0);
    expect(m.stdout.toString()).toContain('[["stage2 (for stage = 2)<br/>block ×5<br/>36 layers · 355,520 params<br/>(None, 8, 8, 64)"]]');
  });

  it('writes SVG and PNG files, the format taken from --out', async () => {
    const png = join(tmp, 'resnet.png');
    const r = run('graph', 'specs/resnet-v1.yaml', '--depth', '2', '--out', png);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(png).subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(statSync(png).size).toBeGreaterThan(20_000);
    const svg = join(tmp, 'y.svg');
    expect((await runGraph('test/fixtures/diff/y-network.yaml', { set: [], out: svg, direction: 'LR', registry })).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toContain('<svg');
  });

  it('--out replaces only files it wrote itself (atomically), others only with --force; the marked PNG still decodes', async () => {
    const mine = join(tmp, 'mine.dot');
    writeFileSync(mine, 'digraph mine { a -> b }\n');
    const refused = await runGraph('specs/mnist-cnn.yaml', { set: [], out: mine, registry });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('exists and was not written by modelspec; pass --force to replace it');
    expect(readFileSync(mine, 'utf8')).toBe('digraph mine { a -> b }\n');
    expect((await runGraph('specs/mnist-cnn.yaml', { set: [], out: mine, force: true, registry })).code).toBe(0);
    expect(readFileSync(mine, 'utf8')).toMatch(/^\/\/ Generated by modelspec graph\ndigraph "mnist_cnn"/);
    // Ours now: replaced without --force, in every format.
    for (const ext of ['dot', 'mmd', 'svg', 'png']) {
      const f = join(tmp, `again.${ext}`);
      expect((await runGraph('specs/mnist-cnn.yaml', { set: [], out: f, registry })).code).toBe(0);
      expect((await runGraph('specs/mnist-cnn.yaml', { set: ['dropout=0.5'], out: f, registry })).code).toBe(0);
    }
    expect(readFileSync(join(tmp, 'again.svg'), 'utf8')).toMatch(/^<\?xml[^>]*\?>\n<!-- Generated by modelspec graph -->\n/);
    expect(readdirSync(tmp).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const png = PNG.sync.read(readFileSync(join(tmp, 'again.png')));
    expect(png.width).toBeGreaterThan(100);
  });

  it('exit 1 for a spec with errors or a block library, 2 for usage errors', async () => {
    expect(run('graph', 'test/baselines/cases/unknown-attribute.yaml').code).toBe(1);
    const lib = await runGraph('specs/blocks/resnet.yaml', { set: [], registry });
    expect(lib.code).toBe(1);
    expect(lib.stderr).toContain('is a block library');
    expect(run('graph', 'specs/mnist-cnn.yaml', '--format', 'gif').code).toBe(2);
    expect((await runGraph('specs/mnist-cnn.yaml', { set: [], out: join(tmp, 'x.gif'), registry })).code).toBe(2);
    expect((await runGraph('specs/mnist-cnn.yaml', { set: [], format: 'png', tty: true, registry })).stderr).toContain('give --out');
  });

  it('the renderers stay out of the bundle, so check starts as fast as before', () => {
    const bundle = readFileSync(CLI, 'utf8');
    expect(bundle).not.toContain('graphvizlib'); // the WebAssembly Graphviz glue
    expect(bundle).not.toContain('resvgjs'); // the native resvg binding
    expect(bundle.length).toBeLessThan(2_000_000);
  });
});
