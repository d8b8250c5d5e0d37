/** `modelspec summary <spec>`: the Keras-style table, totals, MACs, or the view folded by block. */
import { compileFile, type CompileFlags } from '../compile.js';
import { diagnosticToJson, renderDiagnostics } from '../diagnostics/render.js';
import { formatFolded, formatSummary, summaryJson } from '../report/summary.js';
import type { OpRegistry } from '../ops/index.js';
import { EXIT, type CommandOutput } from './output.js';

export interface SummaryOptions {
  /** Limits and use: policy from the command line. */
  compile?: CompileFlags;
  set: string[];
  json: boolean;
  depth?: number;
  registry: OpRegistry;
}

export function runSummary(spec: string, opts: SummaryOptions): CommandOutput {
  const result = compileFile(spec, { ...opts.compile, set: opts.set, registry: opts.registry });
  const rendered = result.diagnostics.length ? renderDiagnostics(result.diagnostics, result.sources, { cwd: process.cwd() }) + '\n' : '';
  if (result.ok && result.library) {
    return { stdout: '', stderr: `${spec} is a block library (blocks, no layers): summarise a spec that uses it\n`, code: EXIT.problems };
  }
  if (!result.ok || !result.graph) {
    if (opts.json) {
      return { stdout: JSON.stringify({ ok: false, diagnostics: result.diagnostics.map((d) => diagnosticToJson(d, result.sources)) }, null, 2) + '\n', stderr: '', code: EXIT.problems };
    }
    return { stdout: '', stderr: rendered, code: EXIT.problems };
  }
  if (opts.json) {
    const json = { ok: true, ...summaryJson(result.graph, opts.registry), diagnostics: result.diagnostics.map((d) => diagnosticToJson(d, result.sources)) };
    return { stdout: JSON.stringify(json, null, 2) + '\n', stderr: '', code: EXIT.ok };
  }
  const body = opts.depth !== undefined ? formatFolded(result.graph, opts.registry, opts.depth) : formatSummary(result.graph, opts.registry);
  return { stdout: body + '\n', stderr: rendered, code: EXIT.ok };
}
