/**
 * The library API for running specs: `buildModel(spec, params?, options?)`.
 * Loads TensorFlow.js lazily (see backends/tfjs/backend.ts).
 */
import type * as TF from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { compileFile, compileSource, type CompileOptions, type CompileResult } from './compile.js';
import { builtinRegistry } from './ops/index.js';
import { renderDiagnostics } from './diagnostics/render.js';
import type { TypedGraph } from './types/ir.js';
import { loadTf, type BackendName, type Tf } from './backends/tfjs/backend.js';
import { buildFromGraph } from './backends/tfjs/interpreter.js';

export interface BuildOptions extends Omit<CompileOptions, 'set'> {
  /** Backend to use when TensorFlow.js is not passed in: node, wasm or cpu (default: the best present). */
  backend?: BackendName;
  /** A TensorFlow.js namespace to build with (its current backend is used). */
  tf?: Tf;
}

/** A spec that does not compile: the diagnostics, rendered in `message`. */
export class SpecError extends Error {
  constructor(readonly result: CompileResult) {
    super(`the spec has errors:\n${renderDiagnostics(result.diagnostics.filter((d) => d.severity === 'error'), result.sources, { cwd: process.cwd() })}`);
  }
}

/** Compile a spec (a file path, YAML text, or an already compiled result or graph) for the given parameters. */
export function compileForBuild(spec: string | CompileResult | TypedGraph, params: CompileOptions['set'] = undefined, options: BuildOptions = {}): TypedGraph {
  if (typeof spec !== 'string') {
    if ('nodes' in spec) return spec;
    if (!spec.ok || !spec.graph) throw new SpecError(spec);
    return spec.graph;
  }
  const opts: CompileOptions = { ...options, ...(params ? { set: params } : {}) };
  const isText = spec.includes('\n') || !existsSync(spec);
  const result = isText ? compileSource('<spec>', spec, opts) : compileFile(spec, opts);
  if (!result.ok || !result.graph) throw new SpecError(result);
  return result.graph;
}

export async function buildModel(
  spec: string | CompileResult | TypedGraph,
  params?: CompileOptions['set'],
  options: BuildOptions = {},
): Promise<TF.LayersModel> {
  const graph = compileForBuild(spec, params, options);
  const tf = options.tf ?? (await loadTf(options.backend)).tf;
  return buildFromGraph(tf, graph, options.registry ?? builtinRegistry());
}

export { loadTf, describeBackend, BACKENDS, BackendUnavailable, type BackendName, type Tf } from './backends/tfjs/backend.js';
export { buildFromGraph } from './backends/tfjs/interpreter.js';
export { layerName, tfjsLayerSpec } from './backends/tfjs/config.js';
