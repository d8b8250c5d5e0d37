/** `modelspec graph <spec>`: the model drawn as DOT, Mermaid, SVG or PNG, folded by `--depth`. */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { compileFile } from '../index.js';
import { renderDiagnostics } from '../diagnostics/render.js';
import type { OpRegistry } from '../ops/index.js';
import { graphToDot } from '../backends/graph/dot.js';
import { graphToMermaid } from '../backends/graph/mermaid.js';
import { EXIT } from './output.js';

export const GRAPH_FORMATS = ['dot', 'mermaid', 'svg', 'png'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export interface GraphOptions {
  set: string[];
  format?: GraphFormat;
  out?: string;
  depth?: number;
  direction?: 'TB' | 'LR';
  /** PNG pixels per point (default 2). */
  scale?: number;
  /** Standard output is a terminal: binary PNG is not printed there. */
  tty?: boolean;
  registry: OpRegistry;
}

/** Like CommandOutput, but stdout may be binary (a PNG written to a pipe). */
export interface GraphOutput {
  stdout: string | Uint8Array;
  stderr: string;
  code: number;
}

const BY_EXTENSION: Record<string, GraphFormat> = { '.dot': 'dot', '.gv': 'dot', '.mmd': 'mermaid', '.mermaid': 'mermaid', '.svg': 'svg', '.png': 'png' };

export function graphFormatFor(opts: Pick<GraphOptions, 'format' | 'out'>): GraphFormat | undefined {
  if (opts.format) return opts.format;
  if (!opts.out) return 'dot';
  return BY_EXTENSION[extname(opts.out).toLowerCase()];
}

export async function runGraph(spec: string, opts: GraphOptions): Promise<GraphOutput> {
  const format = graphFormatFor(opts);
  if (!format) return { stdout: '', stderr: `modelspec graph: cannot tell the format from '${opts.out}': give --format ${GRAPH_FORMATS.join('|')}\n`, code: EXIT.usage };
  if (format === 'png' && !opts.out && opts.tty) return { stdout: '', stderr: 'modelspec graph: a PNG is binary; give --out file.png (or redirect standard output)\n', code: EXIT.usage };
  const result = compileFile(spec, { set: opts.set, registry: opts.registry });
  const rendered = result.diagnostics.length ? renderDiagnostics(result.diagnostics, result.sources, { cwd: process.cwd() }) + '\n' : '';
  if (result.ok && result.library) return { stdout: '', stderr: `${rendered}modelspec graph: ${spec} is a block library (blocks, no layers): draw a spec that uses it\n`, code: EXIT.problems };
  if (!result.ok || !result.graph) return { stdout: '', stderr: rendered, code: EXIT.problems };
  const common = { registry: opts.registry, ...(opts.depth !== undefined ? { depth: opts.depth } : {}), ...(opts.direction ? { direction: opts.direction } : {}) };
  let body: string | Uint8Array;
  if (format === 'mermaid') body = graphToMermaid(result.graph, common);
  else {
    const dot = graphToDot(result.graph, common);
    if (format === 'dot') body = dot;
    else {
      const { dotToSvg, svgToPng } = await import('../backends/graph/render.js');
      const svg = await dotToSvg(dot);
      body = format === 'svg' ? svg : await svgToPng(svg, opts.scale !== undefined ? { scale: opts.scale } : {});
    }
  }
  if (opts.out) {
    writeFileSync(opts.out, body);
    return { stdout: '', stderr: rendered, code: EXIT.ok };
  }
  return { stdout: body, stderr: rendered, code: EXIT.ok };
}
