/**
 * Folding: turn node-level differences into entries a reviewer reads.
 *
 *  - Added (removed) nodes that fill a whole scope (a block call, a loop iteration,
 *    a branch) are one entry for that scope.
 *  - Whole loop iterations added or removed under the same loop become one entry:
 *    "stage2: 3 -> 5 blocks (repeat block)".
 *  - The same change at the same place of every loop iteration is one entry, with
 *    `*` for the loop indices: `stage*\/block*\/branch1/resnet_layer/conv2d` (x9).
 *  - Renames are reported at the outermost id segment that changed (`stem -> entry`).
 */
import type { Scope, TypedGraph, TypedNode } from '../types/ir.js';
import type { Shape } from '../types/shape.js';
import type { NodeMatching } from './match.js';
import { canonicalJson } from './match.js';
import type { Change, NodeChange } from './diff.js';

interface Positioned {
  /** Where the entry sits in the right graph's definition order (for sorting). */
  position: number;
}

export interface RepeatEntry extends Positioned {
  kind: 'repeat';
  /** The scope the loop is in; '' at the top level. */
  parent: string;
  loop: 'repeat' | 'for';
  /** The loop variable (`block`); `iteration` for a repeat without `as:`. */
  variable: string;
  before: number;
  after: number;
  /** Paths of the iterations added (right) and removed (left). */
  added: string[];
  removed: string[];
  layers: number;
  params: number;
  macs: number;
}

export interface NodesEntry extends Positioned {
  kind: 'added' | 'removed';
  /** The node's id, or the path of a scope all of whose nodes were added (removed). */
  id: string;
  /** Set when the entry is a whole scope. */
  scope?: Scope;
  nodes: TypedNode[];
  params: number;
  macs: number;
  outputShape: Shape;
  /** Ids (on the same side) the entry reads from. */
  inputs: string[];
}

export interface ChangedEntry extends Positioned {
  kind: 'changed';
  /**
   * Where: the right id of a single change; for the same change at several places, their
   * ids with `*` for loop indices (`stage*\/block*\/branch1/resnet_layer/conv2d`), one per place.
   */
  ids: string[];
  /** The left id when it differs (a rename; single changes only). */
  leftId?: string;
  changes: NodeChange[];
}

export interface RenamedEntry extends Positioned {
  kind: 'renamed';
  from: string;
  to: string;
  /** Nodes under the renamed prefix. */
  layers: number;
  /** How many scopes a folded pattern stands for. */
  count: number;
}

export interface RenumberedEntry extends Positioned {
  kind: 'renumbered';
  changes: NodeChange[];
}

export interface ListEntry extends Positioned {
  kind: 'inputs' | 'outputs';
  before: readonly string[];
  after: readonly string[];
}

export interface NameEntry extends Positioned {
  kind: 'name';
  before: string;
  after: string;
}

export type DiffEntry = RepeatEntry | NodesEntry | ChangedEntry | RenamedEntry | RenumberedEntry | ListEntry | NameEntry;

export interface FoldInput {
  left: TypedGraph;
  right: TypedGraph;
  matching: NodeMatching;
  added: readonly TypedNode[];
  removed: readonly TypedNode[];
  changed: readonly NodeChange[];
  renamed: readonly NodeChange[];
  inputs: Change<readonly string[]> | undefined;
  outputs: Change<readonly string[]> | undefined;
  name: Change<string> | undefined;
}

const total = (n: TypedNode) => n.params.trainable + n.params.nonTrainable;
const parentOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

/** `repeat block = 3` -> `block`; `for stage = 2` -> `stage`. */
export function loopVariable(scope: Scope): string {
  const m = /^(?:repeat|for) (.+?) = /.exec(scope.label);
  return m ? m[1]! : scope.kind === 'repeat' ? 'iteration' : 'value';
}

/** The id with loop indices replaced by `*`: `stage1/block0/add` -> `stage*\/block*\/add`. */
export function idPattern(id: string, scopes: readonly Scope[]): string {
  const segs = id.split('/');
  const out = [...segs];
  for (const s of scopes) {
    if (s.kind !== 'repeat' && s.kind !== 'for') continue;
    const depth = s.path.split('/').length - 1;
    if (depth >= segs.length || segs.slice(0, depth + 1).join('/') !== s.path) continue;
    const seg = segs[depth]!;
    const v = loopVariable(s);
    out[depth] = /\d+(_\d+)?$/.test(seg) ? seg.replace(/\d+(_\d+)?$/, '*') : seg.startsWith(v) ? `${v}*` : seg;
  }
  return out.join('/');
}

function loopKey(parent: string, scope: Scope): string {
  return `${parent}\u0000${scope.kind}\u0000${loopVariable(scope)}`;
}

/** Iteration scopes of every loop in a graph, by (parent, kind, variable). */
function loopIterations(g: TypedGraph): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const n of g.nodes) {
    for (const s of n.scopes) {
      if (s.kind !== 'repeat' && s.kind !== 'for') continue;
      const key = loopKey(parentOf(s.path), s);
      let set = out.get(key);
      if (!set) out.set(key, (set = new Set()));
      set.add(s.path);
    }
  }
  return out;
}

/** Group unmatched nodes by the outermost scope that holds nothing else. */
function groupUnmatched(g: TypedGraph, unmatched: readonly TypedNode[]): { id: string; scope?: Scope; nodes: TypedNode[] }[] {
  const isUnmatched = new Set(unmatched.map((n) => n.id));
  const totalIn = new Map<string, number>();
  const unmatchedIn = new Map<string, number>();
  for (const n of g.nodes) {
    const u = isUnmatched.has(n.id);
    for (const s of n.scopes) {
      totalIn.set(s.path, (totalIn.get(s.path) ?? 0) + 1);
      if (u) unmatchedIn.set(s.path, (unmatchedIn.get(s.path) ?? 0) + 1);
    }
  }
  const groups = new Map<string, { id: string; scope?: Scope; nodes: TypedNode[] }>();
  for (const n of unmatched) {
    const s = n.scopes.find((sc) => unmatchedIn.get(sc.path) === totalIn.get(sc.path));
    const id = s ? s.path : n.id;
    let grp = groups.get(id);
    if (!grp) groups.set(id, (grp = { id, ...(s ? { scope: s } : {}), nodes: [] }));
    grp.nodes.push(n);
  }
  return [...groups.values()];
}

function nodesEntry(kind: 'added' | 'removed', grp: { id: string; scope?: Scope; nodes: TypedNode[] }, position: number): NodesEntry {
  const inside = new Set(grp.nodes.map((n) => n.id));
  const inputs = [...new Set(grp.nodes.flatMap((n) => n.inputs.filter((i) => !inside.has(i))))];
  return {
    kind,
    id: grp.id,
    ...(grp.scope ? { scope: grp.scope } : {}),
    nodes: grp.nodes,
    params: grp.nodes.reduce((s, n) => s + total(n), 0),
    macs: grp.nodes.reduce((s, n) => s + n.macs, 0),
    outputShape: grp.nodes[grp.nodes.length - 1]!.outputShape,
    inputs,
    position,
  };
}

/** Common trailing id segments removed: (`stem/conv2d`, `entry/conv2d`) -> (`stem`, `entry`). */
export function renamedPrefixes(a: string, b: string): [string, string] {
  const x = a.split('/'), y = b.split('/');
  let k = 0;
  while (k < x.length - 1 && k < y.length - 1 && x[x.length - 1 - k] === y[y.length - 1 - k]) k++;
  return [x.slice(0, x.length - k).join('/'), y.slice(0, y.length - k).join('/')];
}

/** Where each left node would sit in the right order: just after its nearest matched predecessor. */
function leftPositions(input: FoldInput, rightPos: ReadonlyMap<string, number>): Map<string, number> {
  const leftPos = new Map<string, number>();
  let last = -1;
  for (const n of input.left.nodes) {
    const r = input.matching.leftToRight.get(n.id);
    if (r !== undefined) last = rightPos.get(r)!;
    leftPos.set(n.id, last + 0.5);
  }
  return leftPos;
}

/** Added and removed layers, by scope, then by loop (one entry per loop whose count changed). */
function addedRemovedEntries(input: FoldInput, rightPos: ReadonlyMap<string, number>): DiffEntry[] {
  const { left, right } = input;
  const leftPos = leftPositions(input, rightPos);
  const entries: DiffEntry[] = [];
  const loopsLeft = loopIterations(left), loopsRight = loopIterations(right);
  const repeats = new Map<string, RepeatEntry>();
  const sides = [
    { kind: 'added' as const, graph: right, nodes: input.added, pos: (n: TypedNode) => rightPos.get(n.id)! },
    { kind: 'removed' as const, graph: left, nodes: input.removed, pos: (n: TypedNode) => leftPos.get(n.id)! },
  ];
  for (const side of sides) {
    for (const grp of groupUnmatched(side.graph, side.nodes)) {
      const position = side.pos(grp.nodes[0]!);
      const s = grp.scope;
      if (!s || (s.kind !== 'repeat' && s.kind !== 'for')) {
        entries.push(nodesEntry(side.kind, grp, position));
        continue;
      }
      const parent = parentOf(s.path);
      const key = loopKey(parent, s);
      let e = repeats.get(key);
      if (!e) {
        e = {
          kind: 'repeat', parent, loop: s.kind, variable: loopVariable(s),
          before: loopsLeft.get(key)?.size ?? 0, after: loopsRight.get(key)?.size ?? 0,
          added: [], removed: [], layers: 0, params: 0, macs: 0, position,
        };
        repeats.set(key, e);
        entries.push(e);
      }
      const sign = side.kind === 'added' ? 1 : -1;
      (side.kind === 'added' ? e.added : e.removed).push(s.path);
      e.layers += sign * grp.nodes.length;
      e.params += sign * grp.nodes.reduce((sum, n) => sum + total(n), 0);
      e.macs += sign * grp.nodes.reduce((sum, n) => sum + n.macs, 0);
      e.position = Math.min(e.position, position);
    }
  }
  return entries;
}

/**
 * Changed pairs. A layer's own change (attributes, inputs, sharing) is one entry per
 * distinct change, wherever it happens (a block's default edited: every call site);
 * changes that only follow from upstream fold by place (id pattern).
 */
function changedEntries(input: FoldInput, rightPos: ReadonlyMap<string, number>): DiffEntry[] {
  const entries: DiffEntry[] = [];
  const groups = new Map<string, ChangedEntry>();
  for (const c of input.changed) {
    const pattern = idPattern(c.right.id, c.right.scopes);
    const own = c.direct && c.rename !== 'renamed';
    const key = [
      own ? '' : pattern,
      c.rename === 'renamed' ? c.left.id : '',
      c.right.op,
      canonicalJson(c.attrs),
      c.inputs ? canonicalJson([idPattern(c.left.id, c.left.scopes), c.inputs.before.length, c.inputs.after.length]) : '',
      c.sharedWith ? 'shared' : '',
      c.direct ? 'direct' : '',
    ].join('\u0001');
    const g = groups.get(key);
    if (g) {
      g.changes.push(c);
      if (g.changes.length === 2) g.ids = [idPattern(g.changes[0]!.right.id, g.changes[0]!.right.scopes)];
      if (!g.ids.includes(pattern)) g.ids.push(pattern);
    } else {
      const e: ChangedEntry = { kind: 'changed', ids: [c.right.id], changes: [c], position: rightPos.get(c.right.id)! };
      if (c.rename === 'renamed') e.leftId = c.left.id;
      groups.set(key, e);
      entries.push(e);
    }
  }
  return entries;
}

/** Renames, at the outermost segment that changed, then folded by pattern. */
function renamedEntries(input: FoldInput, rightPos: ReadonlyMap<string, number>): DiffEntry[] {
  const entries: DiffEntry[] = [];
  const renames = new Map<string, { entry: RenamedEntry; prefixes: Set<string> }>();
  for (const c of input.renamed) {
    if (c.rename !== 'renamed') continue;
    const [from, to] = renamedPrefixes(c.left.id, c.right.id);
    const patFrom = idPattern(c.left.id, c.left.scopes).split('/').slice(0, from.split('/').length).join('/');
    const patTo = idPattern(c.right.id, c.right.scopes).split('/').slice(0, to.split('/').length).join('/');
    const key = `${patFrom}\u0000${patTo}`;
    let r = renames.get(key);
    if (!r) {
      r = { entry: { kind: 'renamed', from, to, layers: 0, count: 0, position: rightPos.get(c.right.id)! }, prefixes: new Set() };
      renames.set(key, r);
      entries.push(r.entry);
    }
    const exact = `${from}\u0000${to}`;
    if (!r.prefixes.has(exact)) {
      r.prefixes.add(exact);
      r.entry.count++;
      if (r.entry.count > 1) { r.entry.from = patFrom; r.entry.to = patTo; }
    }
    r.entry.layers++;
  }
  return entries;
}

export function foldChanges(input: FoldInput): DiffEntry[] {
  const rightPos = new Map(input.right.nodes.map((n, i) => [n.id, i]));
  const entries = [
    ...addedRemovedEntries(input, rightPos),
    ...changedEntries(input, rightPos),
    ...renamedEntries(input, rightPos),
  ];
  entries.sort((a, b) => a.position - b.position);

  const renumbered = input.renamed.filter((c) => c.rename === 'renumbered');
  const head: DiffEntry[] = [];
  if (input.name) head.push({ kind: 'name', before: input.name.before, after: input.name.after, position: -3 });
  if (input.inputs) head.push({ kind: 'inputs', before: input.inputs.before, after: input.inputs.after, position: -2 });
  if (input.outputs) head.push({ kind: 'outputs', before: input.outputs.before, after: input.outputs.after, position: -1 });
  const tail: DiffEntry[] = renumbered.length ? [{ kind: 'renumbered', changes: renumbered, position: Infinity }] : [];
  return [...head, ...entries, ...tail];
}
