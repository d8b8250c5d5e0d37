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

type Edge = { from: string; to: string; dashed: boolean };

/** The drawing in progress: its units, and which unit each right/left layer belongs to. */
class RegionBuilder {
  readonly units: Unit[] = [];
  readonly rightUnit = new Map<string, string>();
  readonly leftUnit = new Map<string, string>();
  readonly rightIndex: ReadonlyMap<string, number>;

  constructor(private readonly d: GraphDiff, private readonly registry: OpRegistry) {
    this.rightIndex = new Map(d.rightGraph.nodes.map((n, i) => [n.id, i]));
  }

  add(u: Unit, rightMembers: readonly TypedNode[], leftMembers: readonly TypedNode[]): void {
    this.units.push(u);
    for (const n of rightMembers) this.rightUnit.set(n.id, u.key);
    for (const n of leftMembers) this.leftUnit.set(n.id, u.key);
  }

  private changeLines(c: NodeChange): string[] {
    const head = `${c.right.id}${c.rename === 'renamed' ? ` (was ${c.left.id})` : ''} · ${kerasClass(c.right, this.registry)}`;
    const shape = c.shape ? [formatShape(c.shape.before), `→ ${formatShape(c.shape.after)}`] : [formatShape(c.right.outputShape)];
    const params = c.params ? `params ${signed(c.params.after - c.params.before)}` : '';
    return [head, attrText(c, '→'), c.inputs ? 'inputs rewired' : '', ...shape, params];
  }

  /** One unit per entry of the report (repeats, added/removed runs, changed layers). */
  addEntries(): void {
    const { d, registry } = this;
    const underAny = (id: string, paths: readonly string[]) => paths.some((p) => id === p || id.startsWith(`${p}/`));
    const total = (nodes: readonly TypedNode[]) => nodes.reduce((s, n) => s + n.params.trainable + n.params.nonTrainable, 0);
    for (const e of d.entries) {
      if (e.kind === 'repeat') {
        if (e.added.length) {
          const members = d.rightGraph.nodes.filter((n) => underAny(n.id, e.added));
          this.add({ key: `r+${e.parent}`, cls: 'added', position: e.position, lines: [`${where(e)}: ${repeatText(e, '→')}`, `+ ${short(e.added)}`, `${plural(members.length, 'layer')} · ${signed(total(members))} params`] }, members, []);
        }
        if (e.removed.length) {
          const members = d.leftGraph.nodes.filter((n) => underAny(n.id, e.removed));
          this.add({ key: `r-${e.parent}`, cls: 'removed', position: e.position, lines: [`${where(e)}: ${repeatText(e, '→')}`, `− ${short(e.removed)}`, `${plural(members.length, 'layer')} · ${signed(-total(members))} params`] }, [], members);
        }
      } else if (e.kind === 'added' || e.kind === 'removed') {
        const params = e.kind === 'added' ? e.params : -e.params;
        this.add(
          { key: `${e.kind === 'added' ? '+' : '-'}${e.id}`, cls: e.kind, position: e.position, lines: [nodesTitle(e, registry), formatShape(e.outputShape), e.params ? `${signed(params)} params` : ''] },
          e.kind === 'added' ? e.nodes : [],
          e.kind === 'removed' ? e.nodes : [],
        );
      } else if (e.kind === 'changed') {
        this.addChanged(e.changes, e.ids, e.position);
      }
    }
  }

  /** Up to three changed layers one unit each, more as one `Class ×n` unit. */
  private addChanged(changes: readonly NodeChange[], ids: readonly string[], position: number): void {
    const cls: UnitClass = changes[0]!.direct ? 'changed' : 'downstream';
    if (changes.length <= 3) {
      for (const c of changes) this.add({ key: `~${c.right.id}`, cls, position: this.rightIndex.get(c.right.id)!, lines: this.changeLines(c) }, [c.right], []);
      return;
    }
    const c = changes[0]!;
    const dp = changes.reduce((s, x) => s + (x.params ? x.params.after - x.params.before : 0), 0);
    const dm = changes.reduce((s, x) => s + (x.macs ? x.macs.after - x.macs.before : 0), 0);
    this.add({
      key: `~${ids.join(',')}`, cls, position,
      lines: [`${kerasClass(c.right, this.registry)} ×${changes.length}`, ...ids.slice(0, 3), ...(ids.length > 3 ? [`and ${ids.length - 3} more`] : []), attrText(c, '→'), dp ? `params ${signed(dp)}` : '', dm ? `MACs ${signedMacs(dm)}` : ''],
    }, changes.map((x) => x.right), []);
  }

  /** Renamed layers that changed in nothing else, one unit per renamed scope. */
  addRenames(): void {
    const renames = new Map<string, NodeChange[]>();
    for (const c of this.d.renamed) {
      if (c.rename !== 'renamed' || this.rightUnit.has(c.right.id)) continue;
      const key = renamedPrefixes(c.left.id, c.right.id).join('\u0000');
      const list = renames.get(key);
      if (list) list.push(c); else renames.set(key, [c]);
    }
    for (const [key, changes] of renames) {
      const [from, to] = key.split('\u0000') as [string, string];
      const c = changes[0]!;
      const lines = changes.length === 1
        ? [`${to} · ${kerasClass(c.right, this.registry)}`, `was ${from}`]
        : [to, `was ${from}`, plural(changes.length, 'layer')];
      this.add({ key: `>${to}`, cls: 'renamed', position: this.rightIndex.get(c.right.id)!, lines }, changes.map((x) => x.right), []);
    }
  }

  /** Keep the first `max` units in graph order; returns how many were left out. */
  keepFirst(max: number): number {
    const { units } = this;
    units.sort((a, b) => a.position - b.position);
    if (units.length <= max) return 0;
    const dropped = new Set(units.slice(max).map((u) => u.key));
    for (const m of [this.rightUnit, this.leftUnit]) for (const [k, v] of m) if (dropped.has(v)) m.delete(k);
    const omitted = units.length - max;
    units.length = max;
    return omitted;
  }

  private context(id: string): void {
    if (this.rightUnit.has(id)) return;
    const at = this.rightIndex.get(id)!;
    const n = this.d.rightGraph.nodes[at]!;
    this.units.push({ key: `=${id}`, cls: 'context', position: at, lines: [`${id} · ${kerasClass(n, this.registry)}`, formatShape(n.outputShape)] });
    this.rightUnit.set(id, `=${id}`);
  }

  /**
   * Context units (unchanged neighbours on the right, and the right counterparts of removed
   * nodes' neighbours), then the edges between units: solid on the right, dashed from the left.
   */
  contextAndEdges(): Edge[] {
    const { rightUnit, leftUnit } = this;
    const l2r = this.d.matching.leftToRight;
    const edgesOf = (g: GraphDiff['rightGraph']) => g.nodes.flatMap((n) => n.inputs.map((i) => [i, n.id] as const));
    const rightEdges = edgesOf(this.d.rightGraph);
    const leftEdges = edgesOf(this.d.leftGraph).filter(([from, to]) => leftUnit.has(from) || leftUnit.has(to));
    for (const [from, to] of rightEdges) {
      const a = rightUnit.get(from), b = rightUnit.get(to);
      if (a && !b && !a.startsWith('=')) this.context(to);
      if (b && !a && !b.startsWith('=')) this.context(from);
    }
    for (const ids of leftEdges) for (const id of ids) {
      const r = leftUnit.has(id) ? undefined : l2r.get(id);
      if (r !== undefined) this.context(r);
    }
    const edges: Edge[] = [];
    const seen = new Set<string>();
    const edge = (a: string | undefined, b: string | undefined, dashed: boolean) => {
      const k = `${a}\u0000${b}`;
      if (!a || !b || a === b || seen.has(k)) return;
      seen.add(k);
      edges.push({ from: a, to: b, dashed });
    };
    for (const [from, to] of rightEdges) edge(rightUnit.get(from), rightUnit.get(to), false);
    const onLeft = (id: string) => leftUnit.get(id) ?? rightUnit.get(l2r.get(id) ?? '\u0000');
    for (const [from, to] of leftEdges) edge(onLeft(from), onLeft(to), true);
    return edges;
  }

  /** The Mermaid source of the units and edges. */
  render(edges: readonly Edge[]): { mermaid: string; classes: UnitClass[] } {
    const { units } = this;
    units.sort((a, b) => a.position - b.position);
    const gaps = connectComponents(units, edges, this.d.rightGraph, this.rightUnit);
    const ids = new Map(units.map((u, i) => [u.key, `u${i}`]));
    const out = ['flowchart TB'];
    for (const u of units) out.push(`  ${ids.get(u.key)}["${mermaidText(u.lines)}"]:::${u.cls}`);
    for (const e of edges) out.push(`  ${ids.get(e.from)} ${e.dashed ? '-.->' : '-->'} ${ids.get(e.to)}`);
    for (const g of gaps) out.push(`  ${ids.get(g.from)} -. "${mermaidText([g.label])}" .-> ${ids.get(g.to)}`);
    const classes = [...new Set(units.map((u) => u.cls))];
    for (const c of classes) out.push(`  classDef ${c} ${STYLES[c]}`);
    return { mermaid: out.join('\n') + '\n', classes };
  }
}

export function changedRegion(d: GraphDiff, opts: RegionOptions): Region | undefined {
  const b = new RegionBuilder(d, opts.registry);
  b.addEntries();
  b.addRenames();
  if (b.units.length === 0) return undefined;
  const omitted = b.keepFirst(opts.maxUnits ?? 24);
  const { mermaid, classes } = b.render(b.contextAndEdges());
  return { mermaid, omitted, classes };
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
