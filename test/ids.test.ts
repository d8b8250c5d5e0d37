/** Node ids are hierarchical and stable: an unrelated insertion renames nothing else. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../src/index.js';
import { compileYaml, spec } from './helpers.js';

const ids = (yaml: string) => {
  const r = compileYaml(yaml);
  expect(r.diagnostics.map((d) => d.message)).toEqual([]);
  return r.graph!.nodes.map((n) => n.id);
};

describe('stable node ids', () => {
  it('follow scopes: block calls, loop iterations, branches', () => {
    const r = compileSource(spec('resnet-v1.yaml'), readFileSync(spec('resnet-v1.yaml'), 'utf8'));
    const all = r.graph!.nodes.map((n) => n.id);
    expect(all).toContain('stem/conv2d');
    expect(all).toContain('stage1/block0/branch0/resnet_layer/conv2d'); // projection shortcut
    expect(all).toContain('stage1/block0/branch1/resnet_layer_1/batch_normalization');
    expect(all).toContain('stage2/block2/add');
    expect(new Set(all).size).toBe(all.length);
  });

  const base = `
inputs: {x: {shape: [8, 8, 3]}}
layers:
  - conv2d: {filters: 4, kernel_size: 3, padding: same}
  - conv2d: {filters: 4, kernel_size: 3, padding: same}
  - flatten: {}
  - dense: {units: 2}
`;

  it('inserting a layer of another op renames nothing', () => {
    const before = ids(base);
    const after = ids(base.replace('  - flatten: {}', '  - dropout: {rate: 0.5}\n  - flatten: {}'));
    expect(after.filter((id) => id !== 'dropout')).toEqual(before);
  });

  it('an explicit id pins a name even when the same op is inserted before it', () => {
    const pinned = base.replace('  - conv2d: {filters: 4, kernel_size: 3, padding: same}\n  - flatten', '  - conv2d: {filters: 4, kernel_size: 3, padding: same}\n    id: head_conv\n  - flatten');
    const before = ids(pinned);
    const after = ids(pinned.replace('layers:\n', 'layers:\n  - conv2d: {filters: 4, kernel_size: 1}\n'));
    expect(before).toContain('head_conv');
    expect(after).toContain('head_conv');
  });

  it('an insertion inside one loop iteration or block renames nothing outside it', () => {
    const loop = `
inputs: {x: {shape: [8, 8, 3]}}
layers:
  - repeat: 2
    as: block
    layers:
      - conv2d: {filters: 4, kernel_size: 3, padding: same}
  - conv2d: {filters: 4, kernel_size: 1}
`;
    const before = ids(loop);
    expect(before).toEqual(['x', 'block0/conv2d', 'block1/conv2d', 'conv2d']);
    const after = ids(loop.replace('      - conv2d: {filters: 4, kernel_size: 3, padding: same}', '      - conv2d: {filters: 4, kernel_size: 3, padding: same}\n      - conv2d: {filters: 4, kernel_size: 3, padding: same}'));
    expect(after).toEqual(['x', 'block0/conv2d', 'block0/conv2d_1', 'block1/conv2d', 'block1/conv2d_1', 'conv2d']);
  });

  it('auto names skip names pinned by an id later in the same scope', () => {
    expect(ids(`
inputs: {x: {shape: [4]}}
layers:
  - dense: {units: 3}
  - dense: {units: 2}
    id: dense
`)).toEqual(['x', 'dense_1', 'dense']);
  });
});
