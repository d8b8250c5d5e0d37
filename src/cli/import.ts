/** `modelspec import <model.json>`: a Keras / tfjs topology JSON -> a spec. */
import { existsSync } from 'node:fs';
import { describeReadError, MAX_JSON_BYTES, readTextBounded } from '../io/read.js';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importKerasJson, ImportError } from '../backends/keras-json/import.js';
import { checkOverwrite, writeFileAtomic } from '../io/atomic.js';
import type { OpRegistry } from '../ops/index.js';
import { EXIT, type CommandOutput } from './output.js';
import { UsageError } from './plugins.js';

export function runImport(file: string, opts: { out?: string; force: boolean; registry: OpRegistry }): CommandOutput {
  let json: unknown;
  try {
    json = JSON.parse(readTextBounded(file, MAX_JSON_BYTES));
  } catch (e) {
    return { stdout: '', stderr: `modelspec: cannot read ${file}: ${e instanceof SyntaxError ? (e as Error).message : describeReadError(e)}\n`, code: EXIT.problems };
  }
  // The modeline points from the output file to the package's schema.
  // From src/cli/, dist/cli/ (and its CommonJS bundle) or a chunk in dist/cli/chunks/.
  const candidates = ['../../schema/modelspec.schema.json', '../../../schema/modelspec.schema.json'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const schema = candidates.find((p) => existsSync(p)) ?? candidates[0]!;
  const schemaPath = opts.out ? relative(dirname(resolve(opts.out)), schema) : undefined;
  let result;
  try {
    result = importKerasJson(json, opts.registry, { source: relative(process.cwd(), resolve(file)), ...(schemaPath ? { schemaPath } : {}) });
  } catch (e) {
    if (e instanceof ImportError) return { stdout: '', stderr: `${file}: ${e.message}\n`, code: EXIT.problems };
    // A hostile topology that the importer's checks let through (a TypeError deep inside it) is
    // still bad input, exit 1, not an internal error.
    if (e instanceof TypeError || e instanceof RangeError) return { stdout: '', stderr: `${file}: not a model topology modelspec can read (${e.message})\n`, code: EXIT.problems };
    throw e;
  }
  const stderr = result.warnings.map((w) => `warning: ${w}\n`).join('');
  if (!opts.out) return { stdout: result.yaml, stderr, code: EXIT.ok };
  try {
    checkOverwrite(opts.out, opts.force, (content) => content.includes('by modelspec import.'));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  writeFileAtomic(opts.out, result.yaml);
  return { stdout: `wrote ${opts.out}\n`, stderr, code: EXIT.ok };
}
