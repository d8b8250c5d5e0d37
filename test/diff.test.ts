/**
 * `modelspec diff`: matching by id and structure, folding, the three report formats,
 * exit codes, `REV:path` sides and the git diff driver. The in-process tests use the
 * sources; the command-line ones run dist/ (npm run build).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinRegistry, compileFile, compileSource } from '../src/index.js';
import { diffGraphs, type GraphDiff } from '../src/diff/diff.js';
import { diffJson, formatDiffMarkdown, formatDiffText } from '../src/diff/report.js';
import { genericId } from '../src/diff/match.js';
import { idPattern } from '../src/diff/fold.js';
import { runDiff } from '../src/cli/diff.js';
import { loadSide } from '../src/diff/sides.js';
import type { FrontEndResult } from '../src/index.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const FIX = `${ROOT}test/fixtures/diff/`;
const registry = builtinRegistry();

function graphOf(path: string, set: string[] = []) {
  const r = compileFile(path, { set });
  if (!r.ok || !r.graph) throw new Error(`${path} does not compile: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.graph;
}

function diff(a: string, b: string, leftSet: string[] = [], rightSet: string[] = []): GraphDiff {
  return diffGraphs({ label: a, graph: graphOf(a, leftSet) }, { label: b, graph: graphOf(b, rightSet) });
}

function run(args: string[], cwd = ROOT) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const inProcess = { set: [], leftSet: [], rightSet: [], registry };
const kinds = (d: GraphDiff) => d.entries.filter((e) => e.kind !== 'renumbered').map((e) => e.kind);

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
});

describe('identical architectures', () => {
  it('reformatted spec (comments, key order, flow/block style, quoting): exit 0, "no architectural change"', () => {
    const d = diff(`${ROOT}specs/resnet-v1.yaml`, `${FIX}resnet-v1-reformatted.yaml`);
    expect(d.identical).toBe(true);
    expect(d.entries).toEqual([]);
    expect(formatDiffText(d, { registry })).toContain('no architectural change: resnet_v1, 72 layers, 274,442 params');
    const r = run(['diff', 'specs/resnet-v1.yaml', 'test/fixtures/diff/resnet-v1-reformatted.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no architectural change');
  });

  it('a spec against itself, in every format', () => {
    const d = diff(`${FIX}y-network.yaml`, `${FIX}y-network.yaml`);
    expect(d.identical).toBe(true);
    expect(formatDiffMarkdown(d, { registry })).toContain('**No architectural change**');
    expect(diffJson(d)).toMatchObject({ identical: true, changes: [], delta: { params: 0, macs: 0, layers: 0 } });
  });
});

describe('repeats fold: resnet-v1 n=3 vs n=5', () => {
  const d = diff(`${ROOT}specs/resnet-v1.yaml`, `${ROOT}specs/resnet-v1.yaml`, [], ['n=5']);

  it('reports the totals 274,442 -> 470,218', () => {
    expect(d.left.totals.total).toBe(274_442);
    expect(d.right.totals.total).toBe(470_218);
    expect(formatDiffText(d, { registry })).toContain('params 274,442 -> 470,218 (+195,776, +71%)');
  });

  it('is three entries, one per stage: 3 -> 5 blocks, nothing else', () => {
    expect(kinds(d)).toEqual(['repeat', 'repeat', 'repeat']);
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual([]);
    expect(d.renamed).toEqual([]);
    expect(d.added).toHaveLength(42);
    const text = formatDiffText(d, { registry });
    expect(text).toContain('~ stage0: 3 -> 5 blocks (repeat block): added stage0/block3, stage0/block4');
    expect(text).toContain('~ stage1: 3 -> 5 blocks (repeat block): added stage1/block3, stage1/block4');
    expect(text).toContain('~ stage2: 3 -> 5 blocks (repeat block): added stage2/block3, stage2/block4');
    expect(text).toContain('+14 layers, +148,736 params, +9.44 M MACs');
    expect(text.split('\n').length).toBeLessThan(15);
  });

  it('the other way, ResNet110 vs ResNet56: 18 -> 9 blocks per stage', () => {
    const back = diff(`${ROOT}specs/resnet-v1.yaml`, `${ROOT}specs/resnet-v1.yaml`, ['n=18'], ['n=9']);
    expect(kinds(back)).toEqual(['repeat', 'repeat', 'repeat']);
    expect(formatDiffText(back, { registry })).toContain('~ stage0: 18 -> 9 blocks (repeat block): removed stage0/block9 … stage0/block17 (9)');
  });

  it('Markdown: a headline of totals, a table of changes, a Mermaid graph of the changed region', () => {
    const md = formatDiffMarkdown(d, { registry });
    expect(md).toContain('**Params** 274,442 → 470,218 (**+195,776**, +71%) · **MACs** 40.81 M → 69.12 M (**+28.31 M**, +69%) · **Layers** 72 → 114 (**+42**)');
    expect(md).toContain('| | Where | Change | Output shape | Params | MACs |');
    expect(md).toContain('| repeat | `stage2` | **3 → 5 blocks (repeat block)**: added `stage2/block3`, `stage2/block4` (+14 layers) |  | +148,736 | +9.44 M |');
    const mermaid = /```mermaid\n([\s\S]*?)```/.exec(md)?.[1];
    expect(mermaid).toBeDefined();
    expect(mermaid).toMatch(/^flowchart TB\n/);
    expect(mermaid).toContain(':::added');
    expect(mermaid).toContain(':::context');
    expect(mermaid).toContain('classDef added');
    expect(mermaid).toContain('stage0/block2/activation · Activation'); // context before the new blocks
  });

  it('JSON: totals, deltas and the folded entries', () => {
    const j = diffJson(d);
    expect(j.delta).toMatchObject({ params: 195_776, layers: 42 });
    expect(j.changes[0]).toMatchObject({ kind: 'repeat', parent: 'stage0', loop: 'repeat', variable: 'block', before: 3, after: 5, added: ['stage0/block3', 'stage0/block4'] });
  });

  it('loops in blocks fold too: y-network levels 3 -> 4', () => {
    const y = diff(`${FIX}y-network.yaml`, `${FIX}y-network.yaml`, [], ['levels=4']);
    const text = formatDiffText(y, { registry });
    expect(text).toContain('~ branch0/left: 3 -> 4 levels (for level): added branch0/left/level3');
    expect(text).toContain('~ branch1/right: 3 -> 4 levels (for level): added branch1/right/level3');
    expect(text).toContain('~ dense (Dense): follows the change upstream');
  });

  // Issue 15 item 6: a U-Net 4 -> 5 levels is one entry per loop (and the bottleneck whose filters
  // follow `levels`), not the new level's layers, nor the old bottleneck renamed to the new level.
  it.each([
    [4, 5, '+', 'added', ['(None, 8, 8, 1024)', '(None, 4, 4, 2048)'], ['14,157,824', '56,627,200']],
    [5, 4, '-', 'removed', ['(None, 4, 4, 2048)', '(None, 8, 8, 1024)'], ['56,627,200', '14,157,824']],
  ] as const)('U-Net levels %i -> %i: one change per loop, and the bottleneck', (a, b, sign, verb, shapes, params) => {
    const r = run(['diff', 'specs/unet.yaml', 'specs/unet.yaml', '--left-set', `levels=${a}`, '--right-set', `levels=${b}`, '--names']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const [lo, hi] = a < b ? ['31,030,593', '124,361,025'] : ['124,361,025', '31,030,593'];
    const [fa, fb] = a < b ? [1024, 2048] : [2048, 1024];
    const delta = a < b ? '(+93,330,432, +301%), MACs 12.02 G -> 14.88 G (+2.85 G, +24%), layers 32 -> 39 (+7)' : '(-93,330,432, -75%), MACs 14.88 G -> 12.02 G (-2.85 G, -19%), layers 39 -> 32 (-7)';
    expect(r.stdout).toBe([
      `modelspec diff: specs/unet.yaml (levels=${a}) -> specs/unet.yaml (levels=${b})`,
      `unet: params ${lo} -> ${hi} ${delta}`,
      '',
      '3 changes:',
      `  ~ (top level): ${a} -> ${b} levels (for level): ${verb} level4`,
      `      ${sign}3 layers, ${sign}14,157,824 params, ${sign}905.97 M MACs`,
      `  ~ bottom1, bottom2 (Conv2D x2): filters ${fa} -> ${fb}`,
      `      output ${shapes[0]} -> ${shapes[1]}; params ${params[0]} -> ${params[1]} (${sign}42,469,376)`,
      `  ~ (top level): ${a} -> ${b} ups (for up): ${verb} up4`,
      `      ${sign}4 layers, ${sign}36,703,232 params, ${sign}1.95 G MACs`,
      '',
    ].join('\n'));
  });
});

describe('rewiring', () => {
  // The diff forgives anchors upstream of another one only where they come through added or
  // removed layers (an added U-Net level's skip); matched inputs always count.
  it('add(a, b) -> add(b, b), b computed from a, is a change of inputs', () => {
    const spec = (from: string) => `modelspec: 1\nname: t\ninputs:\n  x: {shape: [8]}\nlayers:\n  - dense: {units: 8}\n    id: a\n  - dense: {units: 8}\n    id: b\n  - add: {}\n    from: ${from}\n`;
    const g = (from: string) => compileSource(`${ROOT}t.yaml`, spec(from)).graph!;
    const d = diffGraphs({ label: 'l', graph: g('[a, b]') }, { label: 'r', graph: g('[b, b]') });
    expect(d.changed.map((c) => [c.right.id, c.inputs])).toEqual([['add', { before: ['a', 'b'], after: ['b', 'b'] }]]);
  });
});

describe('an inserted layer in the middle of a chain', () => {
  it('is one insertion and nothing else', () => {
    const d = diff(`${FIX}mnist-base.yaml`, `${FIX}mnist-insert-bn.yaml`);
    expect(d.entries).toHaveLength(1);
    expect(d.entries[0]).toMatchObject({ kind: 'added', id: 'batch_normalization', inputs: ['conv2d_1'] });
    expect(d.added.map((n) => n.id)).toEqual(['batch_normalization']);
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual([]); // max_pooling2d_1 now reads from the new layer: not a rewiring
    expect(formatDiffText(d, { registry })).toContain('1 change:\n  + batch_normalization (BatchNormalization) after conv2d_1\n');
  });

  it('of an op that occurs again: one insertion; the auto-numbered ids after it are a note, not changes', () => {
    const d = diff(`${FIX}mnist-base.yaml`, `${FIX}mnist-insert-conv.yaml`);
    expect(kinds(d)).toEqual(['added']);
    expect(d.added.map((n) => n.id)).toEqual(['conv2d_1']);
    expect(d.changed).toEqual([]);
    expect(d.renamed.map((c) => [c.left.id, c.right.id, c.rename])).toEqual([
      ['conv2d_1', 'conv2d_2', 'renumbered'],
      ['conv2d_2', 'conv2d_3', 'renumbered'],
    ]);
    const text = formatDiffText(d, { registry });
    expect(text).toContain('+ conv2d_1 (Conv2D: 64 filters, 1×1, relu) after max_pooling2d');
    expect(text).toContain('note: auto-numbered ids shift: conv2d_1 -> conv2d_2, conv2d_2 -> conv2d_3');
  });

  it('removed again: one removal', () => {
    const d = diff(`${FIX}mnist-insert-bn.yaml`, `${FIX}mnist-base.yaml`);
    expect(d.entries).toHaveLength(1);
    expect(d.entries[0]).toMatchObject({ kind: 'removed', id: 'batch_normalization' });
  });
});

describe('a changed kernel size', () => {
  const d = diff(`${FIX}mnist-base.yaml`, `${FIX}mnist-kernel5.yaml`);

  it('shows the attribute, and the shape and parameter deltas it causes downstream', () => {
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    const byId = new Map(d.changed.map((c) => [c.right.id, c]));
    expect([...byId.keys()]).toEqual(['conv2d_1', 'max_pooling2d_1', 'conv2d_2', 'flatten', 'dropout', 'dense']);
    const conv = byId.get('conv2d_1')!;
    expect(conv.direct).toBe(true);
    expect(conv.attrs).toEqual([{ key: 'kernel_size', before: 3, after: 5 }]);
    expect(conv.shape).toEqual({ before: [11, 11, 64], after: [9, 9, 64] });
    expect(conv.params).toEqual({ before: 36_928, after: 102_464 });
    expect(byId.get('max_pooling2d_1')).toMatchObject({ direct: false, shape: { before: [5, 5, 64], after: [4, 4, 64] } });
    expect(byId.get('flatten')).toMatchObject({ direct: false, shape: { before: [576], after: [256] } });
    expect(byId.get('dense')).toMatchObject({ direct: false, params: { before: 5_770, after: 2_570 } });
    expect(byId.get('dense')!.shape).toBeUndefined();
    const text = formatDiffText(d, { registry });
    expect(text).toContain('~ conv2d_1 (Conv2D): kernel_size 3 -> 5\n      output (None, 11, 11, 64) -> (None, 9, 9, 64); params 36,928 -> 102,464 (+65,536)');
    expect(text).toContain('~ dense (Dense): follows the change upstream\n      params 5,770 -> 2,570 (-3,200)');
    const md = formatDiffMarkdown(d, { registry });
    expect(md).toContain('| changed | `conv2d_1` Conv2D | `kernel_size` 3 → 5 | (None, 11, 11, 64) → (None, 9, 9, 64) | 36,928 → 102,464 (+65,536) |');
    expect(md).toContain(':::changed');
    expect(md).toContain(':::downstream');
  });

  it('the same change at every call site of a block is one entry', () => {
    const e = diff(`${ROOT}specs/mnist-cnn.yaml`, `${ROOT}specs/mnist-cnn.yaml`, [], ['filters=32']);
    const own = e.entries.filter((x) => x.kind === 'changed' && x.changes[0]!.direct);
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({ ids: ['conv2d', 'conv2d_1', 'conv2d_2'] });
    expect(formatDiffText(e, { registry })).toContain('~ conv2d, conv2d_1, conv2d_2 (Conv2D x3): filters 64 -> 32');
  });
});

describe('a renamed id', () => {
  it('a block call renamed (stem -> entry) is one rename, not three removals and three additions', () => {
    const d = diff(`${ROOT}specs/resnet-v1.yaml`, `${FIX}resnet-v1-renamed.yaml`);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.changed).toEqual([]);
    expect(d.entries).toEqual([expect.objectContaining({ kind: 'renamed', from: 'stem', to: 'entry', layers: 3 })]);
    // Ids alone are no architectural change: one summary line, the list with --names.
    expect(d.identical).toBe(true);
    expect(d.namesDiffer).toBe(true);
    expect(formatDiffText(d, { registry })).toContain('no architectural change: resnet_v1, 72 layers, 274,442 params, 40.81 M MACs\n3 layers renamed (ids only: --names lists them)\n');
    expect(formatDiffText(d, { registry, names: true })).toContain('3 layers renamed:\n  > renamed stem -> entry, 3 layers\n');
  });

  it('a single layer renamed (dense -> classifier)', () => {
    const d = diff(`${FIX}mnist-base.yaml`, `${FIX}mnist-renamed.yaml`);
    expect(d.entries).toEqual([expect.objectContaining({ kind: 'renamed', from: 'dense', to: 'classifier', layers: 1 })]);
    const r = run(['diff', 'test/fixtures/diff/mnist-base.yaml', 'test/fixtures/diff/mnist-renamed.yaml', '--format', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ identical: true, namesDiffer: true });
    expect(JSON.parse(r.stdout).nodes.renamed).toEqual([{ from: 'dense', to: 'classifier', kind: 'renamed' }]);
    const strict = run(['diff', 'test/fixtures/diff/mnist-base.yaml', 'test/fixtures/diff/mnist-renamed.yaml', '--strict-names', '--names']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('1 layer renamed:\n  > renamed dense -> classifier, 1 layer\n');
  });
});

describe('ids and patterns', () => {
  it('generic ids drop the auto-number suffixes only', () => {
    expect(genericId('stage0/block1/branch1/resnet_layer_1/conv2d_2')).toBe('stage0/block1/branch1/resnet_layer/conv2d');
    expect(genericId('stage10/block0')).toBe('stage10/block0');
  });

  it('patterns replace loop indices, and only those', () => {
    const g = graphOf(`${ROOT}specs/resnet-v1.yaml`);
    const n = g.nodes.find((x) => x.id === 'stage1/block2/branch1/resnet_layer_1/conv2d')!;
    expect(idPattern(n.id, n.scopes)).toBe('stage*/block*/branch1/resnet_layer_1/conv2d');
  });
});

describe('the command line', () => {
  it('exit 1 and a report when the architecture differs; --format markdown and json', () => {
    const r = run(['diff', 'specs/resnet-v1.yaml', 'specs/resnet-v1.yaml', '--left-set', 'n=3', '--right-set', 'n=5']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('modelspec diff: specs/resnet-v1.yaml (n=3) -> specs/resnet-v1.yaml (n=5)');
    expect(r.stdout).toContain('~ stage2: 3 -> 5 blocks (repeat block)');
    const md = run(['diff', 'specs/resnet-v1.yaml', 'specs/resnet-v1.yaml', '--right-set', 'n=5', '--format', 'markdown']);
    expect(md.code).toBe(1);
    expect(md.stdout).toContain('```mermaid');
  });

  it('exit 2 when a side has errors (not 1, which means "different"), with the diagnostics', () => {
    const bad = run(['diff', 'specs/mnist-cnn.yaml', 'test/baselines/cases/unknown-attribute.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('the right side, test/baselines/cases/unknown-attribute.yaml, has 1 error');
    expect(bad.stderr).toContain("MS2002: conv2d has no attribute 'filtres'");
    const json = run(['diff', 'specs/mnist-cnn.yaml', 'specs/mnist-cnn.yaml', '--right-set', 'n=3', '--format', 'json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout).errors.right.diagnostics[0].code).toBe('MS3008');
    expect(runDiff('specs/nope.yaml', 'specs/mnist-cnn.yaml', { ...inProcess, format: 'text' }).code).toBe(2);
    expect(runDiff('specs/blocks/resnet.yaml', 'specs/mnist-cnn.yaml', { ...inProcess, format: 'text' }).stderr).toContain('is a block library');
    expect(run(['diff', 'specs/mnist-cnn.yaml']).code).toBe(2); // a usage error
  });
});

describe('git', () => {
  let repo: string;
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: repo, GIT_PAGER: 'cat', PAGER: 'cat' } });
    if (r.status !== 0 && args[0] !== 'diff') throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
    return r;
  };

  beforeAll(() => {
    repo = mkdtempSync(join(tmpdir(), 'modelspec-git-'));
    mkdirSync(join(repo, 'specs/blocks'), { recursive: true });
    cpSync(`${ROOT}specs/resnet-v1.yaml`, join(repo, 'specs/resnet-v1.yaml'));
    cpSync(`${ROOT}specs/blocks/resnet.yaml`, join(repo, 'specs/blocks/resnet.yaml'));
    git('init', '-q');
    git('config', 'user.email', 'test@example.com');
    git('config', 'user.name', 'test');
    git('add', '-A');
    git('commit', '-q', '-m', 'resnet20');
    // The change under review: five blocks per stage, and a doubled weight decay in the block library.
    const spec = join(repo, 'specs/resnet-v1.yaml');
    writeFileSync(spec, readFileSync(spec, 'utf8').replace(/n: \{type: int, default: 3/, 'n: {type: int, default: 5'));
    const lib = join(repo, 'specs/blocks/resnet.yaml');
    writeFileSync(lib, readFileSync(lib, 'utf8').replaceAll('l2: 1.0e-4', 'l2: 2.0e-4'));
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('REV:path reads the spec and its use: files at that revision', () => {
    const r = run(['diff', 'HEAD:specs/resnet-v1.yaml', 'specs/resnet-v1.yaml'], repo);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('modelspec diff: HEAD:specs/resnet-v1.yaml -> specs/resnet-v1.yaml');
    expect(r.stdout).toContain('params 274,442 -> 470,218');
    expect(r.stdout).toContain('kernel_regularizer {l2: 0.0001} -> {l2: 0.0002}'); // the library as it was at HEAD
    expect(r.stdout).toContain('~ stage1: 3 -> 5 blocks (repeat block)');
    expect(run(['diff', 'HEAD:specs/resnet-v1.yaml', 'HEAD:specs/resnet-v1.yaml'], repo).code).toBe(0);
    const missing = run(['diff', 'HEAD:specs/nope.yaml', 'specs/resnet-v1.yaml'], repo);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('not in HEAD');
  });

  it('.gitattributes + git config diff.modelspec.command: git diff shows the architecture diff', () => {
    writeFileSync(join(repo, '.gitattributes'), 'specs/**/*.yaml diff=modelspec\n');
    git('config', 'diff.modelspec.command', `"${process.execPath}" "${CLI}" git-diff-driver`);
    const r = git('diff', '--', 'specs');
    expect(r.status).toBe(0);
    // The spec: the semantic diff. (Its use: files come from the work tree: the driver sees one file's two versions.)
    expect(r.stdout).toContain('diff --modelspec a/specs/resnet-v1.yaml b/specs/resnet-v1.yaml\nmodelspec diff: a/specs/resnet-v1.yaml -> b/specs/resnet-v1.yaml\n');
    expect(r.stdout).toContain('resnet_v1: params 274,442 -> 470,218 (+195,776, +71%)');
    expect(r.stdout).toContain('~ stage0: 3 -> 5 blocks (repeat block): added stage0/block3, stage0/block4');
    // The block library has no model: git's text diff, with a line that says why.
    expect(r.stdout).toContain('diff --modelspec a/specs/blocks/resnet.yaml b/specs/blocks/resnet.yaml\nmodelspec: no model to compare, so the text diff: a/specs/blocks/resnet.yaml is a block library');
    expect(r.stdout).toContain('-          kernel_regularizer: {l2: 1.0e-4}\n+          kernel_regularizer: {l2: 2.0e-4}');
    // A new spec file is summarised.
    cpSync(`${FIX}mnist-base.yaml`, join(repo, 'specs/mnist.yaml'));
    git('add', 'specs/mnist.yaml');
    expect(git('diff', '--cached', '--', 'specs/mnist.yaml').stdout).toContain('new spec b/specs/mnist.yaml: mnist_cnn, 9 layers, 80,266 params');
  });
});

describe('one file, two parameter sets', () => {
  it('is parsed once, and each side compiles as it would alone (its own --set in its own sources)', () => {
    const registry = builtinRegistry();
    const parsed = new Map<string, FrontEndResult>();
    const spec = join(ROOT, 'specs/resnet-v1.yaml');
    const left = loadSide(spec, { set: ['n=18'], registry, parsed });
    const right = loadSide(spec, { set: ['n=9'], registry, parsed });
    expect(parsed.size).toBe(1);
    expect(left.result.graph!.totals).toEqual(compileFile(spec, { set: ['n=18'], registry }).graph!.totals);
    expect(JSON.stringify(right.result.graph)).toBe(JSON.stringify(compileFile(spec, { set: ['n=9'], registry }).graph));
    // A bad value on one side: its diagnostic points into its own command line, not the other's.
    const bad = loadSide(spec, { set: ['n=0'], registry, parsed });
    expect(bad.result.ok).toBe(false);
    expect(bad.result.sources.get('<command line>')?.text).toContain('n=0');
    expect(left.result.sources.get('<command line>')?.text).toContain('n=18');
  });
});
