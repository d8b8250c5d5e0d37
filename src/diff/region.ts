/**
 * A Mermaid flowchart of the changed region of a diff: every change as a marked node
 * (folded the way the report folds it), with the unchanged layers next to it as context.
 */
import type { TypedNode } from '../types/ir.js';
import type { OpRegistry } from '../ops/index.js';
import { mermaidText } from '../backends/graph/mermaid.js';
import type { GraphDiff, NodeChange } from './diff.js';
import { attrText, formatShape, kerasClass, nodesTitle, plural, repeatText, signed, signedMacs, where } from './format.js';
import { renamedPrefixes } from './fold.js';

type UnitClass = 'added' | 'removed' | 'changed' | 'downstream' | 'renamed' | 'context';

interface Unit {
  key: string;
  cls: UnitClass;
  lines: string[];
  position: number;
}

export interface RegionOptions {
  registry: OpRegistry;
  /** At most this many changed units are drawn (default 24); the rest are counted in a note. */
  maxUnits?: number;
}

const STYLES: Record<UnitClass, string> = {
  added: 'fill:#dafbe1,stroke:#1a7f37,stroke-width:2px,color:#0d3b1e',
  removed: 'fill:#ffebe9,stroke:#cf222e,stroke-width:2px,stroke-dasharray:5 3,color:#5c0a0f',
  changed: 'fill:#fff8c5,stroke:#9a6700,stroke-width:2px,color:#3b2300',
  downstream: 'fill:#fffbea,stroke:#d4a72c,stroke-dasharray:3 3,color:#3b2300',
  renamed: 'fill:#ddf4ff,stroke:#0969da,stroke-width:2px,color:#0a3069',
  context: 'fill:#f6f8fa,stroke:#d0d7de,color:#57606a',
};

const LEGEND: Record<UnitClass, string> = {
  added: 'green: added', removed: 'red, dashed: removed', changed: 'yellow: changed', downstream: 'pale yellow, dashed: follows a change upstream', renamed: 'blue: renamed', context: 'grey: unchanged',
};

export interface Region {
  /** The Mermaid source (without the fence). */
  mermaid: string;
  /** Changed units left out to keep the picture readable. */
  omitted: number;
  /** Which classes appear (for a legend). */
  classes: UnitClass[];
}

/** Last id segments, `block9 … block17` when there are many. */
function short(paths: readonly string[]): string {
  const names = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
  return names.length > 4 ? `${names[0]} … ${names[names.length - 1]}` : names.join(', ');
}

export function changedRegion(d: GraphDiff, opts: RegionOptions): Region | undefined {
  const { registry } = opts;
  const max = opts.maxUnits ?? 24;
  const right = d.rightGraph, left = d.leftGraph;
  const l2r = d.matching.leftToRight;
  const rightIndex = new Map(right.nodes.map((n, i) => [n.id, i]));
  const units: Unit[] = [];
  const rightUnit = new Map<string, string>();
  const leftUnit = new Map<string, string>();
  const add = (u: Unit, rightMembers: readonly TypedNode[], leftMembers: readonly TypedNode[]) => {
    units.push(u);
    for (const n of rightMembers) rightUnit.set(n.id, u.key);
    for (const n of leftMembers) leftUnit.set(n.id, u.key);
  };
  const underAny = (id: string, paths: readonly string[]) => paths.some((p) => id === p || id.startsWith(`${p}/`));
  const changeLines = (c: NodeChange): string[] => {
    const head = `${c.right.id}${c.rename === 'renamed' ? ` (was ${c.left.id})` : ''} · ${kerasClass(c.right, registry)}`;
    const shape = c.shape ? [formatShape(c.shape.before), `→ ${formatShape(c.shape.after)}`] : [formatShape(c.right.outputShape)];
    const params = c.params ? `params ${signed(c.params.after - c.params.before)}` : '';
    return [head, attrText(c, '→'), c.inputs ? 'inputs rewired' : '', ...shape, params];
  };

  for (const e of d.entries) {
    switch (e.kind) {
      case 'repeat': {
        if (e.added.length) {
          const members = right.nodes.filter((n) => underAny(n.id, e.added));
          add({ key: `r+${e.parent}`, cls: 'added', position: e.position, lines: [`${where(e)}: ${repeatText(e, '→')}`, `+ ${short(e.added)}`, `${plural(members.length, 'layer')} · ${signed(members.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0))} params`] }, members, []);
        }
        if (e.removed.length) {
          const members = left.nodes.filter((n) => underAny(n.id, e.removed));
          add({ key: `r-${e.parent}`, cls: 'removed', position: e.position, lines: [`${where(e)}: ${repeatText(e, '→')}`, `− ${short(e.removed)}`, `${plural(members.length, 'layer')} · ${signed(-members.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0))} params`] }, [], members);
        }
        break;
      }
      case 'added':
      case 'removed': {
        const params = e.kind === 'added' ? e.params : -e.params;
        add(
          { key: `${e.kind === 'added' ? '+' : '-'}${e.id}`, cls: e.kind, position: e.position, lines: [nodesTitle(e, registry), formatShape(e.outputShape), e.params ? `${signed(params)} params` : ''] },
          e.kind === 'added' ? e.nodes : [],
          e.kind === 'removed' ? e.nodes : [],
        );
        break;
      }
      case 'changed': {
        const cls: UnitClass = e.changes[0]!.direct ? 'changed' : 'downstream';
        if (e.changes.length <= 3) {
          for (const c of e.changes) add({ key: `~${c.right.id}`, cls, position: rightIndex.get(c.right.id)!, lines: changeLines(c) }, [c.right], []);
        } else {
          const c = e.changes[0]!;
          const dp = e.changes.reduce((s, x) => s + (x.params ? x.params.after - x.params.before : 0), 0);
          const dm = e.changes.reduce((s, x) => s + (x.macs ? x.macs.after - x.macs.before : 0), 0);
          add({
            key: `~${e.ids.join(',')}`, cls, position: e.position,
            lines: [`${kerasClass(c.right, registry)} ×${e.changes.length}`, ...e.ids.slice(0, 3), ...(e.ids.length > 3 ? [`and ${e.ids.length - 3} more`] : []), attrText(c, '→'), dp ? `params ${signed(dp)}` : '', dm ? `MACs ${signedMacs(dm)}` : ''],
          }, e.changes.map((x) => x.right), []);
        }
        break;
      }
      default:
        break;
    }
  }
  // Renamed layers that changed in nothing else, one unit per renamed scope.
  const renames = new Map<string, NodeChange[]>();
  for (const c of d.renamed) {
    if (c.rename !== 'renamed' || rightUnit.has(c.right.id)) continue;
    const key = renamedPrefixes(c.left.id, c.right.id).join('\u0000');
    const list = renames.get(key);
    if (list) list.push(c); else renames.set(key, [c]);
  }
  for (const [key, changes] of renames) {
    const [from, to] = key.split('\u0000') as [string, string];
    const c = changes[0]!;
    const lines = changes.length === 1
      ? [`${to} · ${kerasClass(c.right, registry)}`, `was ${from}`]
      : [to, `was ${from}`, plural(changes.length, 'layer')];
    add({ key: `>${to}`, cls: 'renamed', position: rightIndex.get(c.right.id)!, lines }, changes.map((x) => x.right), []);
  }
  if (units.length === 0) return undefined;

  units.sort((a, b) => a.position - b.position);
  let omitted = 0;
  if (units.length > max) {
    for (const u of units.slice(max)) {
      for (const [k, v] of rightUnit) if (v === u.key) rightUnit.delete(k);
      for (const [k, v] of leftUnit) if (v === u.key) leftUnit.delete(k);
    }
    omitted = units.length - max;
    units.length = max;
  }

  // Context: unchanged neighbours on the right, and the right counterparts of removed nodes' neighbours.
  const context = (id: string) => {
    if (rightUnit.has(id)) return;
    const n = right.nodes[rightIndex.get(id)!]!;
    const u: Unit = { key: `=${id}`, cls: 'context', position: rightIndex.get(id)!, lines: [`${id} · ${kerasClass(n, registry)}`, formatShape(n.outputShape)] };
    units.push(u);
    rightUnit.set(id, u.key);
  };
  const edges: { from: string; to: string; dashed: boolean }[] = [];
  const rightEdges = right.nodes.flatMap((n) => n.inputs.map((i) => [i, n.id] as const));
  for (const [from, to] of rightEdges) {
    const a = rightUnit.get(from), b = rightUnit.get(to);
    if (a && !b && !a.startsWith('=')) context(to);
    if (b && !a && !b.startsWith('=')) context(from);
  }
  const leftEdges = left.nodes.flatMap((n) => n.inputs.map((i) => [i, n.id] as const));
  for (const [from, to] of leftEdges) {
    if (!leftUnit.has(from) && !leftUnit.has(to)) continue;
    for (const id of [from, to]) {
      const r = leftUnit.has(id) ? undefined : l2r.get(id);
      if (r !== undefined) context(r);
    }
  }
  const seen = new Set<string>();
  const edge = (a: string | undefined, b: string | undefined, dashed: boolean) => {
    if (!a || !b || a === b) return;
    const k = `${a}\u0000${b}`;
    if (seen.has(k)) return;
    seen.add(k);
    edges.push({ from: a, to: b, dashed });
  };
  for (const [from, to] of rightEdges) edge(rightUnit.get(from), rightUnit.get(to), false);
  for (const [from, to] of leftEdges) {
    if (!leftUnit.has(from) && !leftUnit.has(to)) continue;
    const a = leftUnit.get(from) ?? rightUnit.get(l2r.get(from) ?? '\u0000');
    const b = leftUnit.get(to) ?? rightUnit.get(l2r.get(to) ?? '\u0000');
    edge(a, b, true);
  }

  units.sort((a, b) => a.position - b.position);
  const gaps = connectComponents(units, edges, right, rightUnit);
  const ids = new Map(units.map((u, i) => [u.key, `u${i}`]));
  const out = ['flowchart TB'];
  for (const u of units) out.push(`  ${ids.get(u.key)}["${mermaidText(u.lines)}"]:::${u.cls}`);
  for (const e of edges) out.push(`  ${ids.get(e.from)} ${e.dashed ? '-.->' : '-->'} ${ids.get(e.to)}`);
  for (const g of gaps) out.push(`  ${ids.get(g.from)} -. "${mermaidText([g.label])}" .-> ${ids.get(g.to)}`);
  const classes = [...new Set(units.map((u) => u.cls))];
  for (const c of classes) out.push(`  classDef ${c} ${STYLES[c]}`);
  return { mermaid: out.join('\n') + '\n', omitted, classes };
}

export function legend(classes: readonly UnitClass[]): string {
  return classes.map((c) => LEGEND[c]).join(' · ');
}

/**
 * Separate pieces of the region, in graph order, joined by a dotted "n unchanged layers"
 * link when the later piece is downstream of the earlier one: the picture reads top to bottom.
 */
function connectComponents(units: readonly Unit[], edges: readonly { from: string; to: string }[], right: GraphDiff['rightGraph'], rightUnit: ReadonlyMap<string, string>) {
  const parent = new Map(units.map((u) => [u.key, u.key]));
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const e of edges) parent.set(find(e.from), find(e.to));
  const comps = new Map<string, Unit[]>();
  for (const u of units) {
    const r = find(u.key);
    const list = comps.get(r);
    if (list) list.push(u); else comps.set(r, [u]);
  }
  if (comps.size < 2) return [];
  const ordered = [...comps.values()].sort((a, b) => a[0]!.position - b[0]!.position);
  // Right-graph members of each unit, to walk the graph between pieces.
  const membersOf = new Map<string, string[]>();
  for (const [id, key] of rightUnit) {
    const list = membersOf.get(key);
    if (list) list.push(id); else membersOf.set(key, [id]);
  }
  const index = new Map(right.nodes.map((n, i) => [n.id, i]));
  const consumers = new Map<string, string[]>();
  for (const n of right.nodes) for (const i of n.inputs) {
    const list = consumers.get(i);
    if (list) list.push(n.id); else consumers.set(i, [n.id]);
  }
  /** Fewest edges from `from` (a set of ids) to any of `to`, or undefined when unreachable. */
  const distance = (from: readonly string[], to: ReadonlySet<string>): number | undefined => {
    const seen = new Set(from);
    let frontier = [...from];
    for (let d = 0; frontier.length && d < 10_000; d++) {
      const next: string[] = [];
      for (const id of frontier) for (const c of consumers.get(id) ?? []) {
        if (to.has(c)) return d;
        if (!seen.has(c)) { seen.add(c); next.push(c); }
      }
      frontier = next;
    }
    return undefined;
  };
  const gaps: { from: string; to: string; label: string }[] = [];
  for (let i = 0; i + 1 < ordered.length; i++) {
    const a = ordered[i]!, b = ordered[i + 1]!;
    const last = [...a].reverse().find((u) => membersOf.has(u.key));
    const first = b.find((u) => membersOf.has(u.key));
    if (!last || !first) continue;
    if (distance(membersOf.get(last.key)!, new Set(membersOf.get(first.key)!)) === undefined) continue;
    // Layers between the two pieces in definition order that the picture leaves out.
    const lo = Math.max(...a.flatMap((u) => (membersOf.get(u.key) ?? []).map((id) => index.get(id)!)));
    const hi = Math.min(...b.flatMap((u) => (membersOf.get(u.key) ?? []).map((id) => index.get(id)!)));
    let n = 0;
    for (let k = lo + 1; k < hi; k++) if (!rightUnit.has(right.nodes[k]!.id)) n++;
    gaps.push({ from: last.key, to: first.key, label: n === 0 ? '…' : `${n} unchanged layer${n === 1 ? '' : 's'}` });
  }
  return gaps;
}
