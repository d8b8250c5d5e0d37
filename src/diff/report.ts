/** The diff as text (terminal, `git diff`), Markdown (pull requests) and JSON (tools). */
import type { OpRegistry } from '../ops/index.js';
import type { GraphDiff } from './diff.js';
import type { DiffEntry } from './fold.js';
import {
  changeFacts, formatInt, formatMacs, formatShape, kerasClass, macsDelta, nodesTitle, nodesWhat, paramsDelta, percent, plural,
  repeatText, signed, signedMacs, where,
} from './format.js';
import { changedRegion, legend } from './region.js';

export interface ReportOptions {
  registry: OpRegistry;
  /** List the renamed layers (default: one summary line). */
  names?: boolean;
}

/** `stage0/block9 … stage0/block17 (9)` for long lists. */
function list(ids: readonly string[], max = 4): string {
  if (ids.length <= max) return ids.join(', ');
  return `${ids[0]} … ${ids[ids.length - 1]} (${ids.length})`;
}

function totalsLine(d: GraphDiff, arrow: string): string {
  const l = d.left.totals, r = d.right.totals;
  const params = `params ${formatInt(l.total)} ${arrow} ${formatInt(r.total)}${l.total !== r.total ? ` (${signed(r.total - l.total)}, ${percent(l.total, r.total)})` : ''}`;
  const macs = `MACs ${formatMacs(l.macs)} ${arrow} ${formatMacs(r.macs)}${l.macs !== r.macs ? ` (${signedMacs(r.macs - l.macs)}, ${percent(l.macs, r.macs)})` : ''}`;
  const layers = `layers ${d.left.layers} ${arrow} ${d.right.layers}${d.left.layers !== d.right.layers ? ` (${signed(d.right.layers - d.left.layers)})` : ''}`;
  return `${params}, ${macs}, ${layers}`;
}

/** The architectural entries: renames (ids only) are summed up in one line unless --names. */
const countable = (d: GraphDiff, names = false) => d.entries.filter((e) => e.kind !== 'renumbered' && (names || e.kind !== 'renamed'));

/** `72 layers renamed (ids only: --names lists them)`, or undefined when no id changed. */
function renamedLine(d: GraphDiff, names: boolean): string | undefined {
  const n = d.renamed.filter((c) => c.rename === 'renamed').length;
  if (!n) return undefined;
  return `${plural(n, 'layer')} renamed${names ? '' : ' (ids only: --names lists them)'}`;
}

function renumberNote(d: GraphDiff, arrow: string): string | undefined {
  const e = d.entries.find((x): x is Extract<DiffEntry, { kind: 'renumbered' }> => x.kind === 'renumbered');
  if (!e) return undefined;
  const pairs = e.changes.map((c) => `${c.left.id} ${arrow} ${c.right.id}`);
  const shown = pairs.length > 4 ? `${pairs.slice(0, 4).join(', ')} and ${pairs.length - 4} more` : pairs.join(', ');
  return `auto-numbered ids shift: ${shown} (these are the Keras layer names; give the layers an id: to keep checkpoints loadable by name)`;
}

// ---- text ---------------------------------------------------------------------

function textEntry(e: DiffEntry, registry: OpRegistry): string[] {
  switch (e.kind) {
    case 'name':
      return [`~ model name: ${e.before} -> ${e.after}`];
    case 'inputs':
    case 'outputs':
      return [`~ model ${e.kind}: ${e.before.join(', ') || '(none)'} -> ${e.after.join(', ') || '(none)'}`];
    case 'repeat': {
      const what = [e.added.length ? `added ${list(e.added)}` : '', e.removed.length ? `removed ${list(e.removed)}` : ''].filter(Boolean).join('; ');
      return [`~ ${where(e)}: ${repeatText(e)}: ${what}`, `    ${signed(e.layers)} layers, ${signed(e.params)} params, ${signedMacs(e.macs)} MACs`];
    }
    case 'added':
      return [
        `+ ${nodesTitle(e, registry)}${e.inputs.length ? ` after ${e.inputs.join(', ')}` : ''}`,
        `    output ${formatShape(e.outputShape)}${e.params ? `; ${signed(e.params)} params` : ''}${e.macs ? `; ${signedMacs(e.macs)} MACs` : ''}`,
      ];
    case 'removed':
      return [
        `- ${nodesTitle(e, registry)}${e.inputs.length ? ` (was after ${e.inputs.join(', ')})` : ''}`,
        ...(e.params || e.macs ? [`    ${[e.params ? `${signed(-e.params)} params` : '', e.macs ? `${signedMacs(-e.macs)} MACs` : ''].filter(Boolean).join(', ')}`] : []),
      ];
    case 'changed': {
      const c = e.changes[0]!;
      const f = changeFacts(e.changes);
      const head = `~ ${e.ids.join(', ')}${e.leftId ? ` (was ${e.leftId})` : ''} (${kerasClass(c.right, registry)}${e.changes.length > 1 ? ` x${e.changes.length}` : ''})`;
      const what = [f.attrs, f.inputs ? `inputs ${f.inputs}` : '', f.shared ? `shares weights: ${f.shared}` : ''].filter(Boolean).join('; ');
      const effects = [f.shape ? `output ${f.shape}` : '', f.params ? `params ${f.params}` : '', f.macs ? `MACs ${f.macs}` : ''].filter(Boolean).join('; ');
      return [`${head}: ${what || 'follows the change upstream'}`, ...(effects ? [`    ${effects}`] : [])];
    }
    case 'renamed':
      return [`> renamed ${e.from} -> ${e.to}${e.count > 1 ? ` (${e.count} scopes)` : ''}, ${plural(e.layers, 'layer')}`];
    case 'renumbered':
      return [];
  }
}

export function formatDiffText(d: GraphDiff, opts: ReportOptions): string {
  const head = `modelspec diff: ${d.left.label} -> ${d.right.label}`;
  const names = !!opts.names;
  const renamed = renamedLine(d, names);
  const lines = d.identical
    ? [head, `no architectural change: ${d.right.name}, ${plural(d.right.layers, 'layer')}, ${formatInt(d.right.totals.total)} params, ${formatMacs(d.right.totals.macs)} MACs`]
    : [head, `${d.left.name === d.right.name ? d.right.name : `${d.left.name} -> ${d.right.name}`}: ${totalsLine(d, '->')}`, ''];
  const entries = countable(d, names).filter((e) => !d.identical || e.kind === 'renamed');
  const architectural = entries.filter((e) => e.kind !== 'renamed').length;
  if (architectural) lines.push(`${plural(architectural, 'change')}:`);
  else if (renamed && names) lines.push(`${renamed}:`);
  for (const e of entries) lines.push(...textEntry(e, opts.registry).map((l) => `  ${l}`));
  if (renamed && (architectural || !names)) lines.push(renamed);
  const note = renumberNote(d, '->');
  if (note) lines.push('', `note: ${note}`);
  return lines.join('\n') + '\n';
}

// ---- markdown -----------------------------------------------------------------

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;

function markdownRow(e: DiffEntry, registry: OpRegistry): string[] {
  const dp = paramsDelta(e), dm = macsDelta(e);
  const p = dp ? signed(dp) : '', m = dm ? signedMacs(dm) : '';
  switch (e.kind) {
    case 'name':
      return ['changed', 'model name', `${code(e.before)} → ${code(e.after)}`, '', '', ''];
    case 'inputs':
    case 'outputs':
      return ['changed', `model ${e.kind}`, `${e.before.map(code).join(', ') || '(none)'} → ${e.after.map(code).join(', ') || '(none)'}`, '', '', ''];
    case 'repeat': {
      const what = [e.added.length ? `added ${e.added.map(code).join(', ')}` : '', e.removed.length ? `removed ${e.removed.length > 4 ? `${code(e.removed[0]!)} … ${code(e.removed[e.removed.length - 1]!)}` : e.removed.map(code).join(', ')}` : ''].filter(Boolean).join('; ');
      return ['repeat', e.parent ? code(e.parent) : '(top level)', `**${repeatText(e, '→')}**: ${what} (${signed(e.layers)} layers)`, '', p, m];
    }
    case 'added':
    case 'removed': {
      const at = e.inputs.length ? ` after ${e.inputs.map(code).join(', ')}` : '';
      return [e.kind, code(e.id), `${nodesWhat(e, registry)}${at}`, e.kind === 'added' ? formatShape(e.outputShape) : '', p, m];
    }
    case 'changed': {
      const c = e.changes[0]!;
      const f = changeFacts(e.changes, '→');
      const what = [f.attrs ? f.attrs.split(', ').map((x) => x.replace(/^(\w+) /, '`$1` ')).join(', ') : '', f.inputs ? `inputs ${f.inputs}` : '', f.shared ? `shares weights: ${f.shared}` : '', e.leftId ? `renamed from ${code(e.leftId)}` : ''].filter(Boolean).join('; ');
      const place = `${e.ids.map(code).join(', ')} ${kerasClass(c.right, registry)}${e.changes.length > 1 ? ` ×${e.changes.length}` : ''}`;
      return [c.direct ? 'changed' : 'downstream', place, what || 'follows the change upstream', f.shape ?? '', f.params ?? '', f.macs ?? ''];
    }
    case 'renamed':
      return ['renamed', code(e.from), `→ ${code(e.to)}${e.count > 1 ? ` (${e.count} scopes)` : ''}, ${plural(e.layers, 'layer')}`, '', '', ''];
    case 'renumbered':
      return [];
  }
}

export function formatDiffMarkdown(d: GraphDiff, opts: ReportOptions): string {
  const name = d.left.name === d.right.name ? code(d.right.name) : `${code(d.left.name)} → ${code(d.right.name)}`;
  const out = [`### Architecture diff: ${name}`, ''];
  const sides = `${code(d.left.label)} → ${code(d.right.label)}`;
  const names = !!opts.names;
  const renamed = renamedLine(d, names);
  if (d.identical) {
    out.push(`**No architectural change** (${plural(d.right.layers, 'layer')}, ${formatInt(d.right.totals.total)} params, ${formatMacs(d.right.totals.macs)} MACs)`, '', sides, '');
    if (renamed) out.push(`${renamed}.`, '');
    if (renamed && names) {
      out.push('| | Where | Change | Output shape | Params | MACs |', '| --- | --- | --- | --- | ---: | ---: |');
      for (const e of countable(d, true)) out.push(`| ${markdownRow(e, opts.registry).map(cell).join(' | ')} |`);
      out.push('');
    }
    return out.join('\n');
  }
  const l = d.left.totals, r = d.right.totals;
  const delta = (b: number, a: number, f: (n: number) => string, s: (n: number) => string) => `${f(b)} → ${f(a)}${a !== b ? ` (**${s(a - b)}**, ${percent(b, a)})` : ''}`;
  out.push(
    `**Params** ${delta(l.total, r.total, formatInt, signed)} · **MACs** ${delta(l.macs, r.macs, formatMacs, signedMacs)} · **Layers** ${d.left.layers} → ${d.right.layers}${d.left.layers !== d.right.layers ? ` (**${signed(d.right.layers - d.left.layers)}**)` : ''}`,
    '',
    sides,
    '',
  );
  const entries = countable(d, names);
  if (entries.length) {
    out.push('| | Where | Change | Output shape | Params | MACs |', '| --- | --- | --- | --- | ---: | ---: |');
    for (const e of entries) out.push(`| ${markdownRow(e, opts.registry).map(cell).join(' | ')} |`);
    out.push('');
  }
  if (renamed && !names) out.push(`${renamed}.`, '');
  const note = renumberNote(d, '→');
  if (note) out.push(`> **Note:** ${note}`, '');
  const region = changedRegion(d, { registry: opts.registry });
  if (region) {
    out.push('<details open><summary>Changed region</summary>', '', '```mermaid', region.mermaid.trimEnd(), '```', '');
    out.push(`<sub>${legend(region.classes)}${region.omitted ? ` · ${region.omitted} more change${region.omitted === 1 ? '' : 's'} not drawn` : ''}</sub>`, '', '</details>', '');
  }
  return out.join('\n');
}

// ---- json ---------------------------------------------------------------------

function entryJson(e: DiffEntry) {
  switch (e.kind) {
    case 'name':
    case 'inputs':
    case 'outputs':
      return { kind: e.kind, before: e.before, after: e.after };
    case 'repeat':
      return { kind: e.kind, parent: e.parent, loop: e.loop, variable: e.variable, before: e.before, after: e.after, added: e.added, removed: e.removed, layers: e.layers, params: e.params, macs: e.macs };
    case 'added':
    case 'removed':
      return {
        kind: e.kind, id: e.id, ...(e.scope ? { scope: { kind: e.scope.kind, label: e.scope.label } } : {}),
        layers: e.nodes.map((n) => n.id), inputs: e.inputs, outputShape: [...e.outputShape], params: e.params, macs: e.macs,
      };
    case 'changed':
      return {
        kind: e.kind, ids: e.ids, ...(e.leftId ? { leftId: e.leftId } : {}), count: e.changes.length, direct: e.changes[0]!.direct,
        layers: e.changes.map((c) => c.right.id),
        attrs: e.changes[0]!.attrs, params: paramsDelta(e), macs: macsDelta(e),
      };
    case 'renamed':
      return { kind: e.kind, from: e.from, to: e.to, layers: e.layers, count: e.count };
    case 'renumbered':
      return { kind: e.kind, ids: e.changes.map((c) => ({ from: c.left.id, to: c.right.id })) };
  }
}

export function diffJson(d: GraphDiff) {
  const side = (s: GraphDiff['left']) => ({
    label: s.label, name: s.name, parameters: s.params, layers: s.layers,
    params: { total: s.totals.total, trainable: s.totals.trainable, nonTrainable: s.totals.nonTrainable }, macs: s.totals.macs,
    inputs: s.inputs, outputs: s.outputs,
  });
  const l = d.left.totals, r = d.right.totals;
  return {
    identical: d.identical,
    namesDiffer: d.namesDiffer,
    left: side(d.left),
    right: side(d.right),
    delta: { layers: d.right.layers - d.left.layers, params: r.total - l.total, trainable: r.trainable - l.trainable, nonTrainable: r.nonTrainable - l.nonTrainable, macs: r.macs - l.macs },
    changes: d.entries.map(entryJson),
    nodes: {
      added: d.added.map((n) => n.id),
      removed: d.removed.map((n) => n.id),
      changed: d.changed.map((c) => ({
        left: c.left.id, right: c.right.id, direct: c.direct,
        ...(c.attrs.length ? { attrs: c.attrs.map((a) => ({ key: a.key, before: a.before ?? null, after: a.after ?? null })) } : {}),
        ...(c.shape ? { shape: { before: [...c.shape.before], after: [...c.shape.after] } } : {}),
        ...(c.params ? { params: c.params } : {}),
        ...(c.macs ? { macs: c.macs } : {}),
        ...(c.inputs ? { inputs: c.inputs } : {}),
        ...(c.sharedWith ? { sharedWith: { before: c.sharedWith.before ?? null, after: c.sharedWith.after ?? null } } : {}),
      })),
      renamed: d.renamed.map((c) => ({ from: c.left.id, to: c.right.id, kind: c.rename })),
    },
  };
}
