/** `modelspec import <model.json>`: a thin front over the library's importModel (src/backends/keras-json/command.ts). */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importModel } from '../backends/keras-json/command.js';
import type { OpRegistry } from '../ops/index.js';
import type { CommandOutput } from './output.js';

export function runImport(file: string, opts: { out?: string; force: boolean; flat?: boolean; keepNames?: boolean; registry: OpRegistry }): CommandOutput {
  // The modeline points from the output file to the package's schema.
  // From src/cli/, dist/cli/ (and its CommonJS bundle) or a chunk in dist/cli/chunks/.
  const candidates = ['../../schema/modelspec.schema.json', '../../../schema/modelspec.schema.json'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const schema = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
  return importModel(file, { ...opts, schema });
}
