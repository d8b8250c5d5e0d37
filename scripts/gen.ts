/**
 * Regenerates the checked-in artefacts that are derived from the sources:
 *   schema/modelspec.schema.json   from the op registry
 *   docs/diagnostics.md            from the diagnostics catalogue
 * `--check` writes nothing and exits 1 when a file differs (CI runs it).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { builtinRegistry } from '../src/ops/index.js';
import { generateSchema } from '../src/validate/schema.js';
import { diagnosticsDoc } from './diagnostics-doc.js';

const check = process.argv.includes('--check');
const outputs: [string, string][] = [
  ['schema/modelspec.schema.json', JSON.stringify(generateSchema(builtinRegistry()), null, 2) + '\n'],
  ['docs/diagnostics.md', diagnosticsDoc()],
];

let drift = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
  if (current === text) continue;
  if (check) {
    console.error(`${path} is out of date: run npm run gen and commit the result`);
    drift++;
  } else {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    console.log(`wrote ${path}`);
  }
}
if (check && drift === 0) console.log(`generated files are up to date (${outputs.map(([p]) => p).join(', ')})`);
process.exitCode = drift ? 1 : 0;
