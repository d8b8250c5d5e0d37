/** `modelspec import <model.json>`: a Keras / tfjs topology JSON -> a spec. */
import { strFromU8, unzipSync } from 'fflate';
import { describeReadError, MAX_JSON_BYTES, readFileBounded } from '../../io/read.js';
import { dirname, relative, resolve } from 'node:path';
import { importKerasJson, ImportError, type ImportedModel } from './import.js';
import { sameNetwork, structuredYaml } from './structure.js';
import { scopedYaml } from './scopes.js';
import { renderDiagnostics } from '../../diagnostics/render.js';
import { compileSource, type CompileResult } from '../../compile.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { checkOverwrite, writeFileAtomic } from '../../io/atomic.js';
import type { OpRegistry } from '../../ops/index.js';
import { EXIT, type CommandOutput } from '../../diagnostics/outcome.js';
import { UsageError } from '../../diagnostics/errors.js';

/** The JSON text of a model file: the file itself, or the `config.json` inside a Keras 3 `.keras` zip. */
function modelText(bytes: Buffer): string {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50) {
    // Only config.json is inflated: the weights beside it are never decompressed.
    const files = unzipSync(bytes, { filter: (f) => f.name === 'config.json' && f.originalSize <= 64 * 1024 * 1024 });
    const config = files['config.json'];
    if (!config) throw new Error('a zip without config.json (a .keras file holds config.json, metadata.json and model.weights.h5)');
    return strFromU8(config);
  }
  return bytes.toString('utf8');
}

export interface ImportModelOptions {
  out?: string;
  force: boolean;
  registry: OpRegistry;
  /** Write one item per layer (with its Keras name as `id:`), without looking for repeated structure. */
  flat?: boolean;
  /** The written spec must reproduce the Keras layer names: the flat spec unless the structure found gives the same names. */
  keepNames?: boolean;
  /** modelspec.schema.json, which the written spec's modeline points to (relative to --out); none without it. */
  schema?: string;
}

/**
 * Whether the spec with recovered structure builds the same network as the flat one (with
 * --keep-names, under the same layer names); if not, the flat spec is written.
 */
function structureHolds(name: string, candidates: (() => string | undefined)[], flat: string, opts: ImportModelOptions): { yaml: string; compiled: CompileResult } | undefined {
  const limits = { maxFileBytes: Math.max(Buffer.byteLength(flat), DEFAULT_LIMITS.maxFileBytes) };
  let b: CompileResult | undefined;
  for (const [i, candidate] of candidates.entries()) {
    const yaml = candidate();
    if (yaml === undefined) continue;
    const a = compileSource(resolve(name), yaml, { registry: opts.registry, limits });
    if (!a.ok || !a.graph || a.diagnostics.some((d) => d.severity === 'error')) continue;
    b ??= compileSource(resolve(name), flat, { registry: opts.registry, limits });
    if (!b.ok || !b.graph) return undefined; // the flat spec's own problems are reported below
    // The spec read from modelspec's names must give every layer its name back, with or without --keep-names.
    if (sameNetwork(a.graph, b.graph, i === 0 || !!opts.keepNames)) return { yaml, compiled: a };
  }
  return undefined;
}

/** A Keras / tfjs topology JSON (or .keras zip) read as a spec: its text, or written to `out`. */
export function importModel(file: string, opts: ImportModelOptions): CommandOutput {
  let json: unknown;
  try {
    json = JSON.parse(modelText(readFileBounded(file, MAX_JSON_BYTES)));
  } catch (e) {
    return { stdout: '', stderr: `modelspec: cannot read ${file}: ${e instanceof SyntaxError ? (e as Error).message : describeReadError(e)}\n`, code: EXIT.problems };
  }
  // The modeline points from the output file to the package's schema.
  const schemaPath = opts.out && opts.schema ? relative(dirname(resolve(opts.out)), opts.schema) : undefined;
  let result;
  let model: ImportedModel | undefined;
  // The imported model is kept (the flat spec is written for now): its structure is looked for
  // below, one reading after another, until a spec holds.
  const structure = (m: ImportedModel) => {
    model = m;
    return undefined;
  };
  try {
    result = importKerasJson(json, opts.registry, { source: relative(process.cwd(), resolve(file)), ...(schemaPath ? { schemaPath } : {}), ...(opts.flat ? {} : { structure }) });
  } catch (e) {
    if (e instanceof ImportError) return { stdout: '', stderr: `${file}: ${e.message}\n`, code: EXIT.problems };
    // A hostile topology that the importer's checks let through (a TypeError deep inside it) is
    // still bad input, exit 1, not an internal error.
    if (e instanceof TypeError || e instanceof RangeError) return { stdout: '', stderr: `${file}: not a model topology modelspec can read (${e.message})\n`, code: EXIT.problems };
    throw e;
  }
  let stderr = result.warnings.map((w) => `warning: ${w}\n`).join('');
  // The structured spec is written only when it builds the flat spec's network (compiled once, here).
  const name = `${file} (as a spec)`;
  const m = model;
  // First the structure the names of a model modelspec built record, then the search.
  const found = m ? structureHolds(name, [() => scopedYaml(m, opts.registry), () => structuredYaml(m, opts.registry)], result.yaml, opts) : undefined;
  if (found) result = { ...result, yaml: found.yaml, structured: true };
  const checked = found?.compiled;
  // Compile what we would write: a hostile or broken model (units: -5, a 1e300 dimension, an
  // activation with a newline) gets its problems reported, not a spec that fails `check`.
  // The spec's size is ours, not the user's: a large model's flat spec may pass the default
  // file-size limit, which then only needs raising for check and build (said below).
  const bytes = Buffer.byteLength(result.yaml);
  const compiled = checked ?? compileSource(resolve(name), result.yaml, { registry: opts.registry, limits: { maxFileBytes: Math.max(bytes, DEFAULT_LIMITS.maxFileBytes) } });
  if (!compiled.ok || compiled.diagnostics.some((d) => d.severity === 'error')) {
    const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
    const rendered = renderDiagnostics(errors, compiled.sources, { cwd: process.cwd() });
    return {
      stdout: '',
      stderr: `${stderr}modelspec import: ${file} describes a model modelspec cannot build (${errors.length} error${errors.length === 1 ? '' : 's'} in the spec it would write, shown below with its line numbers); nothing written\n${rendered}\n`,
      code: EXIT.problems,
    };
  }
  if (bytes > DEFAULT_LIMITS.maxFileBytes) {
    stderr += `warning: the spec is ${bytes.toLocaleString('en-US')} bytes, more than the ${DEFAULT_LIMITS.maxFileBytes.toLocaleString('en-US')} that modelspec reads by default: give check, build and diff --limit maxFileBytes=${bytes}\n`;
  }
  if (!opts.out) return { stdout: result.yaml, stderr, code: EXIT.ok };
  try {
    checkOverwrite(opts.out, opts.force, (content) => content.includes('by modelspec import.'));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  writeFileAtomic(opts.out, result.yaml);
  return { stdout: `wrote ${opts.out}\n`, stderr, code: EXIT.ok };
}
