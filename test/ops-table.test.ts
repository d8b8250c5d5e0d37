/**
 * docs/language.md §12 is generated from the op registry (scripts/ops-table.ts, `npm run gen`):
 * the committed file holds exactly the registry's table, the table names every op, Keras class,
 * attribute and default, and a registry change changes it (what `npm run gen:check` catches in CI).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { attr, builtinRegistry } from '../src/index.js';
import { opsTable, withOpsTable } from '../scripts/ops-table.js';
import { ROOT } from './helpers.js';

const doc = readFileSync(`${ROOT}docs/language.md`, 'utf8');
const registry = builtinRegistry();

describe('docs/language.md op table', () => {
  it('the committed table is the registry\'s (npm run gen:check would pass)', () => {
    expect(withOpsTable(doc, registry)).toBe(doc);
  });

  it('has a row for every op with its Keras class, every attribute and its default', () => {
    const table = opsTable(registry);
    for (const op of registry.all().filter((o) => o.arity !== 'none')) {
      const row = table.split('\n').find((l) => l.startsWith(`| \`${op.name}\` |`));
      expect(row, op.name).toBeDefined();
      expect(row).toContain(`| \`${op.kerasClass}\` |`);
      for (const [k, a] of Object.entries(op.attrs)) {
        if (k.startsWith('bias_') || k === 'use_bias' || k === 'activity_regularizer') continue;
        expect(row, `${op.name}.${k}`).toContain(a.required ? `\`${k}\`` : `\`${k}\`=${a.default === null ? 'null' : JSON.stringify(a.default).replace(/"/g, '').replace(/,/g, ', ')}`);
      }
    }
    expect(table).toContain('| `conv3d` | `Conv3D` | 1 | `filters`, `kernel_size` |');
    expect(table).toContain('| `random_height` | `RandomHeight` |');
    // The last column: whether export --format pytorch writes the op.
    const last = (op: string) => table.split('\n').find((l) => l.startsWith(`| \`${op}\` |`))!.split('|').at(-2)!.trim();
    expect([last('lstm'), last('multi_head_attention'), last('conv1d'), last('conv3d')]).toEqual(['yes', 'yes', 'yes', 'no']);
  });

  it('drifts when the registry changes: a new op or a new default is a new table', () => {
    const more = registry.clone().register({
      name: 'my_op', kerasClass: 'MyOp', category: 'custom', doc: 'x', arity: 'one',
      attrs: { k: attr.int({ default: 3, doc: 'k' }) }, outputShape: (i) => i[0]!,
    });
    const changed = withOpsTable(doc, more);
    expect(changed).not.toBe(doc);
    expect(changed).toContain('| `my_op` | `MyOp` | 1 | - | `k`=3 | no |');
  });
});
