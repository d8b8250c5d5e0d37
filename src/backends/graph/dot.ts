/**
 * Graphviz DOT for a model: what Keras' `plot_model(show_shapes=True)` draws, with
 * parameter counts, attributes in brief, and block and loop scopes as clusters.
 */
import type { Scope, TypedGraph, TypedNode } from '../../types/ir.js';
import { portSuffix, type OpRegistry } from '../../ops/index.js';
import { formatShape } from '../../types/shape.js';
import { formatInt, formatMacs } from '../../report/summary.js';
import { brief, kerasClassOf, paletteOf } from './labels.js';
import { buildView, contents, scopeCaption, type GraphView, type ViewNode } from './view.js';

export interface DotOptions {
  registry: OpRegistry;
  depth?: number;
  /** `TB` (default, top to bottom) or `LR`. */
  direction?: 'TB' | 'LR';
  /** Draw the title (model name, totals, parameter values); default true. */
  title?: boolean;
}

/**
 * The font the layout is measured with. Graphviz (also as WebAssembly) has metrics for
 * DejaVu Sans; rendered with a narrower font (Verdana, Helvetica) the boxes are roomy,
 * never too small.
 */
export const FONT = 'DejaVu Sans';
export const FONT_STACK = 'DejaVu Sans, Verdana, Helvetica, Arial, sans-serif';

const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const paramsOf = (nodes: readonly TypedNode[]) => nodes.reduce((s, n) => s + (n.sharedWith ? 0 : n.params.trainable + n.params.nonTrainable), 0);
const plural = (n: number, w: string) => `${formatInt(n)} ${w}${n === 1 ? '' : 's'}`;

const GREY = '#5f6368';

function layerLabel(v: ViewNode, node: TypedNode, registry: OpRegistry): string {
  const lines = [`<B>${html(v.name)}</B>  <FONT COLOR="${GREY}">${html(kerasClassOf(node, registry))}</FONT>`];
  const b = brief(node);
  if (b) lines.push(`<FONT POINT-SIZE="9">${html(b)}</FONT>`);
  const p = node.params.trainable + node.params.nonTrainable;
  lines.push(`<FONT POINT-SIZE="9" COLOR="${GREY}">${html(formatShape(node.outputShape))}${p ? `  ·  ${html(plural(p, 'param'))}` : ''}</FONT>`);
  return `<${lines.join('<BR/>')}>`;
}

function foldedLabel(v: ViewNode): string {
  const last = v.members[v.members.length - 1]!;
  const p = paramsOf(v.members);
  const macs = v.members.reduce((s, n) => s + n.macs, 0);
  const caption = v.scope?.kind === 'branch' ? v.name : scopeCaption(v.name, v.scope);
  return `<${[
    `<B>${html(caption)}</B>`,
    `<FONT POINT-SIZE="9">${html(contents(v))}</FONT>`,
    `<FONT POINT-SIZE="9">${html(plural(v.members.length, 'layer'))}${p ? `  ·  ${html(plural(p, 'param'))}` : ''}${macs ? `  ·  ${html(formatMacs(macs))} MACs` : ''}</FONT>`,
    `<FONT POINT-SIZE="9" COLOR="${GREY}">${html(formatShape(last.outputShape))}</FONT>`,
  ].join('<BR/>')}>`;
}

/** A cluster's label: its name, and what made it on a line of its own (short lines stay clear of the edges). */
function clusterCaption(name: string, scope: Scope | undefined): [string, string] {
  if (!scope) return [name, ''];
  if (scope.kind === 'block') {
    const last = name.slice(name.lastIndexOf('/') + 1).replace(/_\d+$/, '');
    return [name, last === scope.label ? '' : scope.label];
  }
  return [name, scope.label];
}

export function titleLines(graph: TypedGraph): string[] {
  const t = graph.totals;
  const params = Object.entries(graph.params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
  return [
    graph.name,
    `${plural(t.total, 'param')} (${formatInt(t.trainable)} trainable) · ${formatMacs(t.macs)} MACs`,
    ...(params ? [params] : []),
  ];
}

export function viewToDot(view: GraphView, opts: DotOptions): string {
  const { registry } = opts;
  const ids = new Map(view.nodes.map((v, i) => [v.key, `n${i}`]));
  const out: string[] = [];
  out.push(`digraph ${quote(view.graph.name)} {`);
  const graphAttrs = [
    `rankdir=${opts.direction ?? 'TB'}`, 'newrank=true', 'splines=ortho', `fontname=${quote(FONT)}`, 'fontsize=11', 'nodesep=0.3', 'ranksep=0.28',
    'bgcolor="white"', 'pad=0.25', 'compound=true',
  ];
  if (opts.title !== false) {
    const [name, ...rest] = titleLines(view.graph);
    graphAttrs.push(`label=<<B>${html(name!)}</B><BR/><FONT POINT-SIZE="10" COLOR="${GREY}">${rest.map(html).join('<BR/>')}</FONT><BR/> >`, 'labelloc=t', 'fontsize=14');
  }
  out.push(`  graph [${graphAttrs.join(', ')}];`);
  out.push(`  node [shape=box, style="rounded,filled", fontname=${quote(FONT)}, fontsize=10, margin="0.14,0.06", penwidth=1.1, color="${GREY}"];`);
  out.push(`  edge [color="#7a7f85", arrowsize=0.6, penwidth=1.0];`);

  const nodeLine = (v: ViewNode, indent: string): string => {
    const id = ids.get(v.key)!;
    const group = view.spine.has(v.key) ? ', group=spine' : '';
    if (v.node) {
      const pal = paletteOf(v.node, registry);
      return `${indent}${id} [label=${layerLabel(v, v.node, registry)}, fillcolor="${pal.fill}", color="${pal.stroke}", tooltip=${quote(v.key)}${group}];`;
    }
    return `${indent}${id} [label=${foldedLabel(v)}, shape=box, style="filled,rounded,bold", fillcolor="#f1f3f4", color="#5f6368", peripheries=2, tooltip=${quote(v.key)}${group}];`;
  };

  const byCluster = new Map<string, ViewNode[]>();
  for (const v of view.nodes) {
    const list = byCluster.get(v.cluster);
    if (list) list.push(v); else byCluster.set(v.cluster, [v]);
  }
  const childClusters = new Map<string, typeof view.clusters>();
  for (const c of view.clusters) {
    const list = childClusters.get(c.parent);
    if (list) list.push(c); else childClusters.set(c.parent, [c]);
  }
  const depthOf = (path: string) => (path ? path.split('/').length : 0);
  const FILLS = ['#fafbfc', '#f3f5f7', '#eceff2', '#e6e9ed'];
  const emit = (path: string, indent: string) => {
    for (const v of byCluster.get(path) ?? []) out.push(nodeLine(v, indent));
    for (const c of childClusters.get(path) ?? []) {
      const d = depthOf(c.path);
      const p = paramsOf(c.members);
      out.push(`${indent}subgraph ${quote(`cluster_${c.path}`)} {`);
      const [head, what] = clusterCaption(c.name, c.scope);
      const sub = [what, p ? plural(p, 'param') : ''].filter(Boolean).map((l) => `<FONT COLOR="${GREY}" POINT-SIZE="9">${html(l)}</FONT><BR ALIGN="LEFT"/>`).join('');
      out.push(`${indent}  label=<<B>${html(head)}</B><BR ALIGN="LEFT"/>${sub}>;`);
      out.push(`${indent}  labeljust=l; fontsize=10; style="rounded,filled"; fillcolor="${FILLS[Math.min(d - 1, FILLS.length - 1)]}"; color="#b8bec5"; penwidth=1; margin=10;`);
      emit(c.path, `${indent}  `);
      out.push(`${indent}}`);
    }
  };
  emit('', '  ');
  for (const e of view.edges) {
    // An edge that carries a state (`enc.state_h`) is labelled with the output's name.
    const attrs = [
      ...(view.spine.has(e.from) && view.spine.has(e.to) ? ['weight=8'] : []),
      ...(e.port ? [`xlabel=${quote(portSuffix(registry.get(e.port.op), e.port.index).slice(1))}`, 'fontsize=9', `fontcolor="${GREY}"`] : []),
    ];
    out.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
  }
  for (const e of view.shares) out.push(`  ${ids.get(e.from)} -> ${ids.get(e.to)} [style=dashed, color="#8a5cb3", arrowhead=none, constraint=false, tooltip="shares weights"];`);
  out.push('}');
  return out.join('\n') + '\n';
}

export function graphToDot(graph: TypedGraph, opts: DotOptions): string {
  return viewToDot(buildView(graph, opts.depth !== undefined ? { depth: opts.depth } : {}), opts);
}
