/**
 * Regenerates the checked-in artefacts that are derived from the sources:
 *   schema/modelspec.schema.json   from the op registry
 *   docs/diagnostics.md            from the diagnostics catalogue
 *   docs/language.md §12           the op table, from the op registry (scripts/ops-table.ts)
 *   generated/pytorch/*.py         `modelspec export --format pytorch` of the seed specs
 * `--check` writes nothing and exits 1 when a file differs (CI runs it).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { builtinRegistry } from '../src/ops/index.js';
import { generateSchema } from '../src/validate/schema.js';
import { diagnosticsDoc } from './diagnostics-doc.js';
import { withOpsTable } from './ops-table.js';
import { pytorchModuleText } from '../src/train/export.js';

/** The seed specs' PyTorch modules, with their default parameters. */
const PYTORCH_SEEDS = ['mnist-cnn', 'y-network', 'resnet-v1', 'resnet-v2'];
function pytorchModule(name: string): string {
  const r = pytorchModuleText(`specs/${name}.yaml`, { set: [], format: 'pytorch', force: false, registry: builtinRegistry(), source: `specs/${name}.yaml` });
  if (r.text === undefined) throw new Error(`specs/${name}.yaml cannot be exported to PyTorch:\n${r.stderr}`);
  return r.text;
}

const check = process.argv.includes('--check');
const outputs: [string, string][] = [
  ['schema/modelspec.schema.json', JSON.stringify(generateSchema(builtinRegistry()), null, 2) + '\n'],
  ['docs/diagnostics.md', diagnosticsDoc()],
  ['docs/language.md', withOpsTable(readFileSync('docs/language.md', 'utf8'), builtinRegistry())],
  ...PYTORCH_SEEDS.map((n): [string, string] => [`generated/pytorch/${n.replace(/-/g, '_')}.py`, pytorchModule(n)]),
];

let drift = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  if (check) {
    console.error(`${path} is out of date: run npm run gen and commit the result`);
    drift++;
  } else {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    console.log(`wrote ${path}`);
  }
}
if (check && drift === 0) console.log(`generated files are up to date (${outputs.map(([p]) => p).join(', ')})`);
process.exitCode = drift ? 1 : 0;
