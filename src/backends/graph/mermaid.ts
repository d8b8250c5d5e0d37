/**
 * Mermaid flowcharts (rendered by GitHub, GitLab and most Markdown viewers): the model
 * with scopes as nested subgraphs, and the building blocks the diff report uses.
 */
import type { TypedGraph, TypedNode } from '../../types/ir.js';
import { portSuffix, type OpRegistry } from '../../ops/index.js';
import { formatShape } from '../../types/shape.js';
import { formatInt } from '../../report/summary.js';
import { brief, kerasClassOf, paletteOf } from './labels.js';
import { buildView, contents, scopeCaption, type GraphView } from './view.js';
import { titleLines } from './dot.js';

export interface MermaidOptions {
  registry: OpRegistry;
  depth?: number;
  direction?: 'TB' | 'LR';
}

/** Text for inside `["..."]`: quotes and markup characters as entities, lines joined by `<br/>`. */
export function mermaidText(lines: readonly string[]): string {
  return lines
    .filter((l) => l !== '')
    .map((l) => l.replace(/&/g, '&amp;').replace(/"/g, '#quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;'))
    .join('<br/>');
}

const plural = (n: number, w: string) => `${formatInt(n)} ${w}${n === 1 ? '' : 's'}`;
const paramsOf = (nodes: readonly TypedNode[]) => nodes.reduce((s, n) => s + (n.sharedWith ? 0 : n.params.trainable + n.params.nonTrainable), 0);

/** The lines of a layer's box: `name · Class`, its brief, `shape · params`. */
export function layerLines(name: string, node: TypedNode, registry: OpRegistry): string[] {
  const p = node.params.trainable + node.params.nonTrainable;
  return [`${name} · ${kerasClassOf(node, registry)}`, brief(node), formatShape(node.outputShape), p ? plural(p, 'param') : ''];
}

export function foldedLines(caption: string, what: string, members: readonly TypedNode[]): string[] {
  const p = paramsOf(members);
  return [caption, what, `${plural(members.length, 'layer')}${p ? ` · ${plural(p, 'param')}` : ''}`, formatShape(members[members.length - 1]!.outputShape)];
}

const SUBGRAPH_FILLS = ['#fafbfc', '#f3f5f7', '#eceff2', '#e6e9ed'];

export function viewToMermaid(view: GraphView, opts: MermaidOptions): string {
  const ids = new Map(view.nodes.map((v, i) => [v.key, `n${i}`]));
  const out: string[] = [];
  const [name, ...rest] = titleLines(view.graph);
  out.push('---', `title: ${JSON.stringify(`${name} — ${rest.join(' — ')}`)}`, '---');
  out.push(`flowchart ${opts.direction ?? 'TB'}`);
  const classes = new Map<string, string>();
  const classOf = new Map<string, string[]>();
  const byCluster = new Map<string, typeof view.nodes>();
  for (const v of view.nodes) {
    const list = byCluster.get(v.cluster);
    if (list) list.push(v); else byCluster.set(v.cluster, [v]);
  }
  const childClusters = new Map<string, typeof view.clusters>();
  for (const c of view.clusters) {
    const list = childClusters.get(c.parent);
    if (list) list.push(c); else childClusters.set(c.parent, [c]);
  }
  let clusterIndex = 0;
  const emit = (path: string, indent: string) => {
    for (const v of byCluster.get(path) ?? []) {
      const id = ids.get(v.key)!;
      if (v.node) {
        out.push(`${indent}${id}["${mermaidText(layerLines(v.name, v.node, opts.registry))}"]`);
        const pal = paletteOf(v.node, opts.registry);
        const cls = `op_${v.node.op}`;
        classes.set(cls, `fill:${pal.fill},stroke:${pal.stroke},color:#202124`);
        (classOf.get(cls) ?? classOf.set(cls, []).get(cls)!).push(id);
      } else {
        const caption = v.scope?.kind === 'branch' ? v.name : scopeCaption(v.name, v.scope);
        out.push(`${indent}${id}[["${mermaidText(foldedLines(caption, contents(v), v.members))}"]]`);
        (classOf.get('folded') ?? classOf.set('folded', []).get('folded')!).push(id);
        classes.set('folded', 'fill:#f1f3f4,stroke:#5f6368,stroke-width:2px,color:#202124');
      }
    }
    for (const c of childClusters.get(path) ?? []) {
      const p = paramsOf(c.members);
      const ci = clusterIndex++;
      out.push(`${indent}subgraph c${ci}["${mermaidText([`${scopeCaption(c.name, c.scope)}${p ? ` · ${plural(p, 'param')}` : ''}`])}"]`);
      out.push(`${indent}  direction ${opts.direction ?? 'TB'}`);
      emit(c.path, `${indent}  `);
      out.push(`${indent}end`);
      out.push(`${indent}style c${ci} fill:${SUBGRAPH_FILLS[Math.min(c.path.split('/').length - 1, SUBGRAPH_FILLS.length - 1)]},stroke:#b8bec5,color:#202124`);
    }
  };
  emit('', '  ');
  for (const e of view.edges) out.push(`  ${ids.get(e.from)} -->${e.port ? `|${portSuffix(opts.registry.get(e.port.op), e.port.index).slice(1)}|` : ''} ${ids.get(e.to)}`);
  for (const e of view.shares) out.push(`  ${ids.get(e.from)} -. shares weights .- ${ids.get(e.to)}`);
  for (const [cls, style] of classes) out.push(`  classDef ${cls} ${style}`);
  for (const [cls, list] of classOf) out.push(`  class ${list.join(',')} ${cls}`);
  return out.join('\n') + '\n';
}

export function graphToMermaid(graph: TypedGraph, opts: MermaidOptions): string {
  return viewToMermaid(buildView(graph, opts.depth !== undefined ? { depth: opts.depth } : {}), opts);
}
