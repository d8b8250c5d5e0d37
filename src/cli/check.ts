/** `modelspec check <spec...>`: validate and shape-check specs, report every problem. */
import { relative } from 'node:path';
import { compileFile, type CompileFlags } from '../compile.js';
import { diagnosticToJson, renderDiagnostics } from '../diagnostics/render.js';
import { Sources } from '../diagnostics/sources.js';
import { formatInt } from '../report/summary.js';
import type { TypedGraph } from '../types/ir.js';

/** Keras layers: every node but the further applications of a shared layer. */
const layerCount = (g: TypedGraph) => g.nodes.filter((n) => !n.sharedWith).length;
import type { OpRegistry } from '../ops/index.js';
import { EXIT, type CommandOutput } from './output.js';

export interface CheckOptions {
  /** Limits and use: policy from the command line. */
  compile?: CompileFlags;
  set: string[];
  json: boolean;
  registry: OpRegistry;
}

export function runCheck(specs: readonly string[], opts: CheckOptions): CommandOutput {
  const results = specs.map((spec) => ({ spec, result: compileFile(spec, { ...opts.compile, set: opts.set, registry: opts.registry, sources: new Sources() }) }));
  const ok = results.every((r) => r.result.ok);
  if (opts.json) {
    const json = results.map(({ spec, result }) => ({
      file: spec,
      ok: result.ok,
      diagnostics: result.diagnostics.map((d) => diagnosticToJson(d, result.sources)),
      ...(result.graph
        ? { layers: layerCount(result.graph), params: { total: result.graph.totals.total, trainable: result.graph.totals.trainable, nonTrainable: result.graph.totals.nonTrainable } }
        : {}),
    }));
    return { stdout: JSON.stringify(json, null, 2) + '\n', stderr: '', code: ok ? EXIT.ok : EXIT.problems };
  }
  let stdout = '';
  let stderr = '';
  for (const { spec, result } of results) {
    if (result.diagnostics.length) stderr += renderDiagnostics(result.diagnostics, result.sources, { cwd: process.cwd() }) + '\n\n';
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = result.diagnostics.length - errors;
    const name = relative(process.cwd(), spec) || spec;
    const w = warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : '';
    if (result.ok && result.library) {
      stdout += `${name}: ok (block library: ${[...(result.ast?.blocks.keys() ?? [])].join(', ')}${w})\n`;
    } else if (result.ok && result.graph) {
      stdout += `${name}: ok (${layerCount(result.graph)} layers, ${formatInt(result.graph.totals.total)} params${w})\n`;
    } else {
      stdout += `${name}: ${errors} error${errors === 1 ? '' : 's'}${w}\n`;
    }
  }
  return { stdout, stderr, code: ok ? EXIT.ok : EXIT.problems };
}
