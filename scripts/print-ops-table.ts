/**
 * Prints the built-in ops as a Markdown table (op, Keras class, number of
 * inputs, required attributes, the other attributes with their defaults) for
 * docs/language.md. Not part of the build: `npx tsx scripts/print-ops-table.ts`.
 */
import { builtinRegistry } from '../src/ops/index.js';

/** The attributes every layer with a bias shares; listed once under the table. */
const BIAS = ['use_bias', 'bias_initializer', 'bias_regularizer', 'activity_regularizer'];
const fmt = (v: unknown): string => (v === null ? 'null' : JSON.stringify(v)).replace(/"/g, '');
const arity = { none: '-', one: '1', merge: '2+' } as const;

const rows = builtinRegistry()
  .all()
  .filter((op) => op.arity !== 'none')
  .map((op) => {
    const attrs = Object.entries(op.attrs);
    const required = attrs.filter(([, a]) => a.required).map(([k]) => `\`${k}\``);
    const hasBias = BIAS.every((k) => k in op.attrs);
    const optional = attrs
      .filter(([k, a]) => !a.required && !(hasBias && BIAS.includes(k)))
      .map(([k, a]) => `\`${k}\`=${fmt(a.default)}`);
    if (hasBias) optional.push('bias attributes');
    return `| \`${op.name}\` | \`${op.kerasClass}\` | ${arity[op.arity]} | ${required.join(', ') || '-'} | ${optional.join(', ') || '-'} |`;
  });

console.log('| op | Keras class | inputs | required | other attributes (default) |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
console.log('');
console.log(`Bias attributes: ${BIAS.map((k) => `\`${k}\``).join(', ')} (defaults true, zeros, null, null).`);
