/**
 * `modelspec import` without `--flat`: the imported layers (./import.ts) written with their
 * structure recovered. The graph is read as a series-parallel tree (a chain of layers, a fork
 * joined by a merge = a `branches` item); then runs of consecutive items that repeat the same
 * structure are folded into `repeat` loops, innermost last, with `let:` variables where the
 * layers differ only in values (an expression of the loop counters: constant, arithmetic,
 * geometric, "the first of each group", else a list indexed by the counter) and `when:` where
 * a branch is present in some repetitions only (a projection shortcut). Values that follow a
 * `when:` flag are written as `${flag ? a : b}`.
 *
 * Anything it cannot read that way (several inputs or outputs, shared layers, a graph that is
 * not series-parallel) or where nothing repeats: undefined, and the caller writes the flat spec.
 */
import { createHash } from 'node:crypto';
import type { OpRegistry } from '../../ops/index.js';
import type { TypedGraph } from '../../types/ir.js';
import { flow, type ImportedModel, type ImportedNode } from './import.js';

interface Slot { name: string; values: unknown[]; flag: boolean; same?: Slot; text?: string }
class Ref { constructor(public slot: Slot) {} }
const slotOf = (s: Slot): Slot => (s.same ? slotOf(s.same) : s);

/** `name`: the Keras layer's name (of the merge for branches), read by ./scopes.ts. */
export interface LayerItem { kind: 'layer'; op: string; attrs: [string, unknown][]; when?: Ref; name?: string }
export interface BranchesItem { kind: 'branches'; merge: string; mergeAttrs: [string, unknown][]; branches: Item[][]; when?: Ref; name?: string }
interface LoopItem { kind: 'loop'; count: number; as?: string; lets: [string, string][]; body: Item[]; when?: Ref; names: Set<string> }
/** A call of a block that ./structure.ts made of items found at several places (`extractBlocks`). */
interface CallItem { kind: 'call'; block: string; args: [string, unknown][]; when?: Ref }
export type Item = LayerItem | BranchesItem | LoopItem | CallItem;

export class NotStructured extends Error {}

/**
 * The series-parallel tree of a one-input, one-output graph without shared layers; undefined otherwise.
 * Long (~80 lines): a recursive descent (a chain, a fork and its join) whose closures share the consumer index.
 */
export function seriesParallel(model: ImportedModel): Item[] | undefined {
  const { nodes } = model;
  if (model.inputs.length !== 1 || model.outputs.length !== 1 || nodes.some((n) => n.target !== undefined || n.inputs.some((t) => t.includes('.')))) return undefined;
  const index = new Map(nodes.map((n, i) => [n.id, i]));
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => n.inputs.forEach((t) => consumers.set(t, [...(consumers.get(t) ?? []), i])));
  const uses = (t: string) => consumers.get(t) ?? [];
  const layer = (n: ImportedNode): LayerItem => ({ kind: 'layer', op: n.op, attrs: n.attrs, name: n.name });
  const at = (t: string) => index.get(t) ?? -1;

  /** The merge where every path that leaves `t` meets again. */
  function join(t: string): number {
    const open = new Map<string, number>([[t, uses(t).length]]);
    const reached = new Set([t]);
    for (let i = at(t) + 1; i < nodes.length; i++) {
      const n = nodes[i]!;
      const ins = n.inputs.filter((x) => reached.has(x));
      if (ins.length === 0) continue;
      if (ins.length !== n.inputs.length) throw new NotStructured();
      for (const x of ins) {
        const left = open.get(x)! - 1;
        if (left === 0) open.delete(x);
        else open.set(x, left);
      }
      reached.add(n.id);
      if (uses(n.id).length === 0) throw new NotStructured();
      open.set(n.id, uses(n.id).length);
      if (open.size === 1 && n.inputs.length >= 2) return i;
    }
    throw new NotStructured();
  }
  const reaches = (from: number, t: string): boolean => {
    const stack = [t];
    const seen = new Set<string>();
    while (stack.length) {
      const x = stack.pop()!;
      if (at(x) === from) return true;
      if (at(x) < from || seen.has(x)) continue;
      seen.add(x);
      stack.push(...nodes[at(x)]!.inputs);
    }
    return false;
  };
  let count = 0;
  function chain(start: string, end: string): Item[] {
    const items: Item[] = [];
    let cur = start;
    while (cur !== end) {
      const next = uses(cur);
      const only = next.length === 1 ? nodes[next[0]!]! : undefined;
      if (only && only.inputs.length === 1) {
        items.push(layer(only));
        count++;
        cur = only.id;
        continue;
      }
      const m = nodes[join(cur)]!;
      const starts = next.filter((i) => i !== at(m.id));
      const used = new Set<number>();
      const branches = m.inputs.map((t) => {
        if (t === cur) return [];
        const first = starts.find((i) => !used.has(i) && reaches(i, t));
        if (first === undefined || nodes[first]!.inputs.length !== 1) throw new NotStructured();
        used.add(first);
        count++;
        return [layer(nodes[first]!), ...chain(nodes[first]!.id, t)];
      });
      if (used.size !== starts.length || m.attrs.some(([k]) => k !== 'axis')) throw new NotStructured();
      items.push({ kind: 'branches', merge: m.op, mergeAttrs: m.attrs, branches, name: m.name });
      count++;
      cur = m.id;
    }
    return items;
  }
  try {
    const items = chain(model.inputs[0]!, model.outputs[0]!);
    return count === nodes.length ? items : undefined;
  } catch (e) {
    if (e instanceof NotStructured) return undefined;
    throw e;
  }
}

// ---- rendering ----------------------------------------------------------------------------

/** A value in an expression (`${...}`): no mappings there. */
export function exprLiteral(v: unknown): string {
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(exprLiteral).join(', ')}]`;
  throw new NotStructured();
}
export const expr = (text: string) => (/^[A-Za-z_]\w*$/.test(text) ? `$${text}` : JSON.stringify(`\${${text}}`));
const valueText = (v: unknown): string => (v instanceof Ref ? slotOf(v.slot).text! : flow(v));

function render(item: Item, indent: string): string[] {
  const when = item.when ? [`${indent}  when: ${valueText(item.when)}`] : [];
  if (item.kind === 'layer') return [`${indent}- ${item.op}: {${item.attrs.map(([k, v]) => `${k}: ${valueText(v)}`).join(', ')}}`, ...when];
  if (item.kind === 'call') return [`${indent}- ${item.block}: {${item.args.map(([k, v]) => `${k}: ${valueText(v)}`).join(', ')}}`, ...when];
  if (item.kind === 'branches') {
    const lines = [`${indent}- branches:`];
    for (const b of item.branches) {
      if (b.length === 0) { lines.push(`${indent}    - []`); continue; }
      const inner = b.flatMap((x) => render(x, `${indent}      `));
      inner[0] = `${indent}    - ${inner[0]!.slice(indent.length + 6)}`;
      lines.push(...inner);
    }
    lines.push(`${indent}  merge: ${item.merge}`, ...item.mergeAttrs.map(([k, v]) => `${indent}  ${k}: ${flow(v)}`));
    return [...lines, ...when];
  }
  return [
    `${indent}- repeat: ${item.count}`,
    ...(item.as ? [`${indent}  as: ${item.as}`] : []),
    ...(item.lets.length ? [`${indent}  let:`, ...item.lets.map(([k, v]) => `${indent}    ${k}: ${v}`)] : []),
    ...when,
    `${indent}  layers:`,
    ...item.body.flatMap((x) => render(x, `${indent}    `)),
  ];
}

// ---- folding runs into loops ----------------------------------------------------------------

/** Same structure, values aside; an empty branch fits any. */
function fits(a: Item, b: Item): boolean {
  if (a.kind !== b.kind || !!a.when !== !!b.when) return false;
  if (a.when) return render(a, '').join('\n') === render(b, '').join('\n');
  if (a.kind === 'layer') return a.op === (b as LayerItem).op;
  if (a.kind === 'branches') {
    const o = b as BranchesItem;
    return a.merge === o.merge && JSON.stringify(a.mergeAttrs) === JSON.stringify(o.mergeAttrs) && a.branches.length === o.branches.length
      && a.branches.every((x, i) => x.length === 0 || o.branches[i]!.length === 0 || seqFits(x, o.branches[i]!));
  }
  return render(a, '').join('\n') === render(b, '').join('\n');
}
const seqFits = (a: Item[], b: Item[]) => a.length === b.length && a.every((x, i) => fits(x, b[i]!));
const key = (a: Item) => (a.kind === 'branches' ? `${a.merge}#${a.branches.length}` : a.kind === 'layer' ? a.op : a.kind === 'call' ? `call:${a.block}` : 'loop');

class Unifier {
  slots: Slot[] = [];
  constructor(private registry: OpRegistry) {}

  seq(seqs: (Item[] | undefined)[]): Item[] {
    const first = seqs.find((s) => s !== undefined)!;
    if (seqs.some((s) => s && !seqFits(s, first))) throw new NotStructured();
    return first.map((_, i) => this.item(seqs.map((s) => s?.[i])));
  }

  item(items: (Item | undefined)[]): Item {
    const first = items.find((x) => x !== undefined)!;
    if (first.kind === 'loop' || first.kind === 'call' || first.when) return first;
    if (first.kind === 'layer') {
      const def = this.registry.get(first.op)!;
      const present = new Set(items.flatMap((x) => (x as LayerItem | undefined)?.attrs.map(([k]) => k) ?? []));
      const keys = [...Object.keys(def.attrs).filter((k) => present.has(k)), ...[...present].filter((k) => !(k in def.attrs))];
      const attrs: [string, unknown][] = [];
      for (const k of keys) {
        const values = items.map((x) => (x ? ((x as LayerItem).attrs.find(([a]) => a === k) ?? [k, def.attrs[k]?.default])[1] : undefined));
        const defined = values.filter((v) => v !== undefined);
        if (defined.every((v) => JSON.stringify(v) === JSON.stringify(defined[0]))) {
          if (JSON.stringify(defined[0]) !== JSON.stringify(def.attrs[k]?.default)) attrs.push([k, defined[0]]);
          continue;
        }
        attrs.push([k, this.slot(k, values, false)]);
      }
      return { kind: 'layer', op: first.op, attrs };
    }
    const branches = first.branches.map((_, j) => {
      const seqs = items.map((x) => (x as BranchesItem | undefined)?.branches[j]);
      const present = seqs.map((s) => (s === undefined ? undefined : s.length > 0));
      if (present.every((p) => p !== true)) return [];
      if (present.every((p) => p !== false)) return this.seq(seqs);
      const flag = this.slot(`has_${seqs.find((s) => s?.length)![0]!.kind === 'layer' ? (seqs.find((s) => s?.length)![0] as LayerItem).op : 'branch'}`, present, true);
      return this.seq(seqs.map((s) => (s?.length ? s : undefined))).map((x) => ({ ...x, when: flag }));
    });
    return { ...first, branches };
  }

  slot(name: string, values: unknown[], flag: boolean): Ref {
    // Values that already are a loop's variables stay one loop's business.
    if (values.some((v) => v instanceof Ref || (v !== null && typeof v === 'object' && !Array.isArray(v)))) throw new NotStructured();
    const slot: Slot = { name, values, flag };
    this.slots.push(slot);
    return new Ref(slot);
  }
}

/** A block parameter's type (and nullable) from the values its calls give. */
export function paramType(values: unknown[]): string {
  if (values.every((x) => typeof x === 'boolean')) return 'bool';
  if (values.every((x) => Number.isInteger(x))) return 'int';
  if (values.every((x) => typeof x === 'number')) return 'float';
  if (values.every((x) => typeof x === 'string' || x === null)) return `string${values.includes(null) ? ', nullable: true' : ''}`;
  if (values.every((x) => Array.isArray(x) && x.length > 0 && x.every((d) => Number.isInteger(d) && d > 0))) return 'shape';
  throw new NotStructured();
}

/** The value most calls give: a parameter's default. */
export function mostCommon(values: unknown[]): unknown {
  const counts = new Map<string, number>();
  for (const x of values) counts.set(JSON.stringify(x), (counts.get(JSON.stringify(x)) ?? 0) + 1);
  return JSON.parse([...counts].sort((a, b) => b[1] - a[1])[0]![0]) as unknown;
}

/** 1-D: values over a counter `v` as an expression (without `${}`). */
export function over(values: unknown[], v: string): string {
  const d = values.map((x) => JSON.stringify(x));
  if (d.every((x) => x === d[0])) return exprLiteral(values[0]);
  if (values.every((x) => typeof x === 'boolean')) {
    if (values.every((x, i) => x === (i === 0))) return `${v} == 0`;
    if (values.every((x, i) => x === (i > 0))) return `${v} > 0`;
    const k = values.indexOf(false);
    if (k > 0 && values.every((x, i) => x === (i < k))) return `${v} < ${k}`;
  }
  if (values.every((x) => Number.isInteger(x))) {
    const n = values as number[];
    const step = n[1]! - n[0]!;
    if (n.every((x, i) => x === n[0]! + step * i)) {
      const times = `${Math.abs(step) === 1 ? '' : `${Math.abs(step)} * `}${v}`;
      return n[0] === 0 && step > 0 ? times : `${n[0]} ${step > 0 ? '+' : '-'} ${times}`;
    }
    const r = n[0] !== 0 ? n[1]! / n[0]! : 0;
    if (Number.isInteger(r) && r >= 2 && n.every((x, i) => x === n[0]! * r ** i)) return `${n[0] === 1 ? '' : `${n[0]} * `}${r} ** ${v}`;
  }
  if (d.slice(1).every((x) => x === d[1])) return `${v} == 0 ? ${exprLiteral(values[0])} : ${exprLiteral(values[1])}`;
  // A table longer than this reads worse than the layers themselves (and a shorter unit may fit).
  if (values.length > MAX_TABLE) throw new NotStructured();
  return `${exprLiteral(values)}[${v}]`;
}
const MAX_TABLE = 16;
/** Parenthesised where the operator around it would bind wrongly: a ternary anywhere, `||` under `&&`. */
const paren = (s: string) => (/\?|\|\|/.test(s) ? `(${s})` : s);

/** 2-D: values over u = outer * n + inner; undefined when not of a form we write. */
export function overTwo(values: unknown[], n: number, outer: string, inner: string): { text: string; inner: boolean } | undefined {
  const m = values.length / n;
  const groups = Array.from({ length: m }, (_, s) => values.slice(s * n, s * n + n));
  const same = (xs: unknown[]) => xs.every((x) => JSON.stringify(x) === JSON.stringify(xs[0]));
  if (groups.every(same)) return { text: over(groups.map((g) => g[0]), outer), inner: false };
  if (groups.every((g) => JSON.stringify(g) === JSON.stringify(groups[0]))) return { text: over(groups[0]!, inner), inner: true };
  if (n >= 2 && groups.every((g) => same(g.slice(1)))) {
    const f = over(groups.map((g) => g[0]), outer);
    const g = over(groups.map((x) => x[1]), outer);
    if (g === 'false') return { text: `${inner} == 0 && ${paren(f)}`, inner: true };
    if (g === 'true') return { text: `${inner} > 0 || ${paren(f)}`, inner: true };
    return { text: `${inner} == 0 ? ${paren(f)} : ${paren(g)}`, inner: true };
  }
  return undefined;
}

const RESERVED = new Set(['true', 'false', 'null', 'min', 'max', 'floor', 'ceil', 'abs', 'round', 'range', 'len']);
function fresh(base: string, taken: Set<string>): string {
  let name = RESERVED.has(base) ? `${base}_` : base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** k units of one structure -> a loop (one level, or two when the values fall in groups). */
function loopOf(units: Item[][], registry: OpRegistry, taken: Set<string>): LoopItem {
  const unifier = new Unifier(registry);
  const body = unifier.seq(units);
  const k = units.length;
  const names = new Set(taken);
  // One variable for slots that agree wherever both are defined (a projection's filters and the main path's).
  const slots: Slot[] = [];
  for (const s of unifier.slots) {
    const twin = slots.find((o) => o.flag === s.flag && o.values.every((v, i) => v === undefined || s.values[i] === undefined || JSON.stringify(v) === JSON.stringify(s.values[i])));
    if (twin) { twin.values = twin.values.map((v, i) => v ?? s.values[i]); s.same = twin; } else slots.push(s);
  }
  const indexed: Slot[] = [];
  for (const s of slots) {
    const defined = [...new Set(s.values.filter((v) => v !== undefined).map((v) => JSON.stringify(v)))];
    if (defined.length === 1) { s.text = flow(JSON.parse(defined[0]!)); continue; }
    if (!s.flag && defined.length === 2) {
      const follows = (a: unknown, b: unknown) => slots.find((f) => f.flag && s.values.every((v, i) => v === undefined || (f.values[i] !== undefined && JSON.stringify(v) === JSON.stringify(f.values[i] ? a : b))));
      const [a, b] = defined.map((x) => JSON.parse(x) as unknown);
      const pair = [[a, b], [b, a]].find(([x, y]) => follows(x, y));
      if (pair) { s.text = `derived:${JSON.stringify([follows(pair[0], pair[1])!.name, pair[0], pair[1]])}`; indexed.push(s); continue; }
    }
    indexed.push(s);
  }
  const plain = indexed.filter((s) => !s.text);
  // Fill values nobody reads (a layer that is absent in that repetition) from a neighbour.
  for (const s of plain) s.values = s.values.map((v, i) => v ?? s.values.slice(0, i).reverse().find((x) => x !== undefined) ?? s.values.find((x) => x !== undefined));
  for (const s of plain) s.name = fresh(s.name, names);
  // The layout with the shortest expressions: one counter, or outer x inner for each factorisation.
  const outerVar = fresh('stage', new Set(names));
  const innerVar = fresh('block', new Set([...names, outerVar]));
  let best: { len: number; outer?: number; exprs: { s: Slot; text: string; inner: boolean }[] } = { len: Infinity, exprs: [] };
  const attempt = <T>(f: () => T): T | undefined => {
    try { return f(); } catch (e) { if (e instanceof NotStructured) return undefined; throw e; }
  };
  const one = attempt(() => plain.map((s) => ({ s, text: over(s.values, innerVar), inner: true })));
  if (one) best = { len: one.reduce((a, e) => a + e.text.length, 0), exprs: one };
  for (let n = 2; n < k; n++) {
    if (k % n !== 0 || plain.length === 0) continue;
    const exprs = attempt(() => plain.map((s) => ({ s, ...overTwo(s.values, n, outerVar, innerVar) })));
    if (!exprs || exprs.some((e) => e.text === undefined)) continue;
    const len = exprs.reduce((a, e) => a + e.text!.length, 0) + 20;
    if (len < best.len) best = { len, outer: n, exprs: exprs as { s: Slot; text: string; inner: boolean }[] };
  }
  if (best.len === Infinity) throw new NotStructured();
  for (const e of best.exprs) e.s.text = expr(e.s.name);
  for (const s of indexed.filter((x) => x.text?.startsWith('derived:'))) {
    const [flag, a, b] = JSON.parse(s.text!.slice('derived:'.length)) as [string, unknown, unknown];
    s.text = expr(`${slots.find((f) => f.name === flag)!.name} ? ${exprLiteral(a)} : ${exprLiteral(b)}`);
  }
  const lets = (inner: boolean) => best.exprs.filter((e) => e.inner === inner).map((e): [string, string] => [e.s.name, expr(e.text)]);
  const uses = (v: string) => best.exprs.some((e) => new RegExp(`\\b${v}\\b`).test(e.text));
  if (best.outer === undefined) {
    return { kind: 'loop', count: k, ...(uses(innerVar) ? { as: innerVar } : {}), lets: lets(true), body, names: new Set([...names, innerVar]) };
  }
  const innerLoop: LoopItem = { kind: 'loop', count: best.outer, ...(uses(innerVar) ? { as: innerVar } : {}), lets: lets(true), body, names };
  return { kind: 'loop', count: k / best.outer, ...(uses(outerVar) ? { as: outerVar } : {}), lets: lets(false), body: [innerLoop], names: new Set([...names, outerVar, innerVar]) };
}

const MAX_PERIOD = 64;

/** Fold the longest run of repeated units in `seq` (and in branches and loop bodies), until none is left. */
function fold(seq: Item[], registry: OpRegistry, taken: Set<string>): { items: Item[]; folded: boolean } {
  let folded = false;
  let items = seq.map((x) => {
    if (x.kind !== 'branches') return x;
    const branches = x.branches.map((b) => { const r = fold(b, registry, taken); folded ||= r.folded; return r.items; });
    return { ...x, branches };
  });
  for (;;) {
    const keys = items.map(key);
    const runs: { i: number; p: number; k: number }[] = [];
    for (let p = 1; p <= Math.min(MAX_PERIOD, items.length / 2); p++) {
      const sameKeys = (a: number, b: number) => { for (let j = 0; j < p; j++) if (keys[a + j] !== keys[b + j]) return false; return true; };
      const unitFits = (a: number, b: number) => sameKeys(a, b) && seqFits(items.slice(a, a + p), items.slice(b, b + p));
      for (let i = 0; i + 2 * p <= items.length; i++) {
        if (i >= p && unitFits(i - p, i)) continue; // not the start of a run
        let k = 1;
        while (i + (k + 1) * p <= items.length && unitFits(i, i + k * p)) k++;
        if (k >= 2) runs.push({ i, p, k });
      }
    }
    // Ties: the shortest unit, then the latest start (a stem's last layer stays in the stem).
    runs.sort((a, b) => b.p * b.k - a.p * a.k || a.p - b.p || b.i - a.i);
    let done = false;
    for (const { i, p, k } of runs) {
      try {
        const units = Array.from({ length: k }, (_, u) => items.slice(i + u * p, i + (u + 1) * p));
        const loop = loopOf(units, registry, taken);
        const inner = fold(loop.body, registry, loop.names);
        loop.body = inner.items;
        // A loop that takes more lines than the layers it stands for is not worth it.
        if (render(loop, '').length >= items.slice(i, i + p * k).flatMap((x) => render(x, '')).length) continue;
        items = [...items.slice(0, i), loop, ...items.slice(i + p * k)];
        done = folded = true;
        break;
      } catch (e) {
        if (!(e instanceof NotStructured)) throw e;
      }
    }
    if (!done) return { items, folded };
  }
}

// ---- items found at several places, as blocks ------------------------------------------------

export interface BlockText { name: string; params: string[]; body: Item[] }

/** `blocks:` for the spec, from the blocks found (empty when none). */
export function blocksSection(blocks: BlockText[]): string {
  const lines = blocks.flatMap((b) => [`  ${b.name}:`, ...(b.params.length ? ['    params:', ...b.params.map((p) => `      ${p}`)] : []), '    layers:', ...b.body.flatMap((x) => render(x, '      '))]);
  return lines.length ? `\nblocks:\n${lines.join('\n')}\n` : '';
}

/** A block made of `occurrences` (items of one structure at several places), with a parameter per value that differs; undefined if it saves no lines. */
function blockOf(occurrences: Item[], registry: OpRegistry, name: string, first: boolean): { block: BlockText; calls: CallItem[] } | undefined {
  const unifier = new Unifier(registry);
  const [body] = unifier.seq(occurrences.map((o) => [o]));
  const taken = new Set<string>();
  const params = unifier.slots.map((s) => {
    s.text = `$${(s.name = fresh(s.name, taken))}`;
    const defined = s.values.filter((v) => v !== undefined);
    return { slot: s, type: paramType(defined), default: mostCommon(defined) };
  });
  const block: BlockText = { name, params: params.map((p) => `${p.slot.name}: {type: ${p.type}, default: ${flow(p.default)}}`), body: [body!] };
  const calls = occurrences.map((_, i): CallItem => ({
    kind: 'call', block: name,
    args: params.filter((p) => p.slot.values[i] !== undefined && JSON.stringify(p.slot.values[i]) !== JSON.stringify(p.default)).map((p) => [p.slot.name, p.slot.values[i]]),
  }));
  const before = occurrences.reduce((a, o) => a + render(o, '').length, 0);
  const after = (first ? 2 : 0) + 2 + (params.length ? params.length + 1 : 0) + render(body!, '').length + calls.length;
  return after < before ? { block, calls } : undefined;
}

/**
 * Items of one structure (values aside) at two or more places of the tree, not merely
 * repeated in a row (a loop has taken those): written once as a block, called where they were
 * (DenseNet's dense block before and inside the loop over blocks). Largest saving first.
 */
function extractBlocks(items: Item[], registry: OpRegistry): BlockText[] {
  const blocks: BlockText[] = [];
  for (;;) {
    const places: { list: Item[]; i: number }[] = [];
    const walk = (list: Item[]): void => list.forEach((x, i) => {
      places.push({ list, i });
      if (x.kind === 'loop') walk(x.body);
      if (x.kind === 'branches') x.branches.forEach(walk);
    });
    walk(items);
    let best: { saved: number; at: typeof places; made: NonNullable<ReturnType<typeof blockOf>> } | undefined;
    const tried = new Set<Item>();
    for (const p of places) {
      const x = p.list[p.i]!;
      if (tried.has(x) || x.kind === 'layer' || x.kind === 'call' || x.when || render(x, '').length < 4) continue;
      const at = places.filter((q) => fits(q.list[q.i]!, x) && !q.list[q.i]!.when);
      at.forEach((q) => tried.add(q.list[q.i]!));
      if (at.length < 2) continue;
      let made;
      try { made = blockOf(at.map((q) => q.list[q.i]!), registry, fresh('unit', new Set(blocks.map((b) => b.name))), blocks.length === 0); } catch (e) { if (!(e instanceof NotStructured)) throw e; }
      if (!made) continue;
      const saved = at.reduce((a, q) => a + render(q.list[q.i]!, '').length, 0) - made.calls.length;
      if (!best || saved > best.saved) best = { saved, at, made };
    }
    if (!best) return blocks;
    best.at.forEach((q, i) => { q.list[q.i] = best.made.calls[i]!; });
    blocks.push(best.made.block);
  }
}

/** The spec with its structure recovered, or undefined (write it flat). */
export function structuredYaml(model: ImportedModel, registry: OpRegistry): string | undefined {
  const tree = seriesParallel(model);
  if (!tree) return undefined;
  const { items, folded } = fold(tree, registry, new Set(model.inputs));
  if (!folded) return undefined;
  const blocks = extractBlocks(items, registry);
  const lines = items.flatMap((x) => render(x, '  '));
  return `${model.header.join('\n')}\n\ninputs:\n${model.inputLines.join('\n')}\n${blocksSection(blocks)}\nlayers:\n${lines.join('\n')}\n`;
}

/**
 * Whether two compiled graphs are the same network: the same layers (op, attributes, output
 * shape, weights' shapes, parameters) wired the same way, in any order; with `names`, also
 * under the same names (ids compared with `/` and `.` as `_`, as import writes Keras names).
 */
export function sameNetwork(a: TypedGraph, b: TypedGraph, names: boolean): boolean {
  if (a.nodes.length !== b.nodes.length || a.outputs.length !== b.outputs.length) return false;
  const digest = (g: TypedGraph) => {
    const byId = new Map(g.nodes.map((n) => [n.id, n]));
    const memo = new Map<string, string>();
    const of = (id: string): string => {
      const known = memo.get(id);
      if (known !== undefined) return known;
      const n = byId.get(id)!;
      const own = JSON.stringify([n.op, n.attrs, n.outputShape, n.weights.map((w) => [w.name, w.shape, w.trainable]), n.params, names ? n.id.replace(/[^A-Za-z0-9_]/g, '_') : '']);
      const h = createHash('sha1').update(own).update(n.inputs.map(of).join()).digest('hex');
      memo.set(id, h);
      return h;
    };
    // Iteratively in node order (inputs come first), so deep graphs need no deep recursion.
    for (const n of g.nodes) of(n.id);
    return { outputs: g.outputs.map(of), all: [...memo.values()].sort().join() };
  };
  const da = digest(a);
  const db = digest(b);
  return JSON.stringify(da) === JSON.stringify(db);
}
