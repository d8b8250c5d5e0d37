/**
 * `modelspec import` of a model whose layer names are modelspec's own node ids (a model built by
 * `modelspec build --format keras-json`: `stage1.block0.branch1.resnet_layer.conv2d`): the names
 * say where each layer stood, so the structure is read from them rather than searched for. A
 * name's scopes (docs/language.md §11) are `P0, P1, ...` for the iterations of a loop (a
 * `repeat` with `as: P`), `branchJ` for the J-th branch of a `branches` item, anything else for
 * a block call (`resnet_layer`, `resnet_layer_1` = the block `resnet_layer`; a call with an `id:`
 * such as `stem` joins the block whose layers it has). Each block is written once under `blocks:`
 * with a parameter for every value that differs between its calls (`has_<layer>` for a layer
 * some calls leave out), each loop once with its values as expressions of the loop counters.
 * An `id:` is written where the generated name would not be the Keras one, so the spec
 * reproduces every layer's name, hence its weights' names.
 *
 * Anything else (names of another origin, calls inside blocks, loops inside blocks, iterations
 * whose values no expression of ./structure.ts fits): undefined, and the caller falls back.
 */
import type { OpRegistry } from '../../ops/index.js';
import { flow, type ImportedModel } from './import.js';
import { expr, mostCommon, NotStructured, over, overTwo, paramType, seriesParallel, type BranchesItem, type Item, type LayerItem } from './structure.js';

type CallNode = { k: 'call'; key: string; name: string; block: string; body: N[] };
type N =
  | { k: 'layer'; key: string; name: string; item: LayerItem }
  | { k: 'branches'; key: string; name: string; item: BranchesItem; branches: N[][] }
  | { k: 'inline'; key: string; name: string; item: BranchesItem; body: N[] }
  | CallNode
  | { k: 'loop'; key: string; prefix: string; iters: N[][] };

const segs = (item: Item) => ((item as LayerItem | BranchesItem).name ?? '').split('.');
const LOOP_SCOPE = /^([A-Za-z_]\w*?)(\d+)$/;

/** A branches item whose merge is named at `depth`: branches in `branchJ` scopes, or (a stem's concatenation) inline. */
function branchesNode(it: BranchesItem, head: string, depth: number): N {
  const scoped = it.branches.every((b) => b.every((x) => segs(x).length > depth + 1 && segs(x)[depth] === segs(b[0]!)[depth] && /^branch\d+(_\d+)?$/.test(segs(x)[depth]!)));
  if (scoped) return { k: 'branches', key: `branches:${head}`, name: head, item: it, branches: it.branches.map((b) => parse(b, depth + 1)) };
  const full = it.branches.filter((b) => b.length > 0);
  if (full.length !== 1 || it.branches.length !== 2 || full[0]!.some((x) => x.kind !== 'layer' || segs(x).length !== depth + 1)) throw new NotStructured();
  return { k: 'inline', key: `inline:${head}`, name: head, item: it, body: parse(full[0]!, depth) };
}

/** The items of one scope (names agree up to `depth`) as layers, branches, block calls and loops. */
function parse(items: Item[], depth: number): N[] {
  const out: (N | { k: 'scope'; head: string; items: Item[] })[] = [];
  for (const it of items) {
    if (it.kind === 'loop' || it.kind === 'call') throw new NotStructured();
    const s = segs(it);
    if (s.length <= depth) throw new NotStructured();
    const head = s[depth]!;
    if (s.length === depth + 1) {
      out.push(it.kind === 'layer' ? { k: 'layer', key: `layer:${head}`, name: head, item: it } : branchesNode(it, head, depth));
      continue;
    }
    const last = out[out.length - 1];
    if (last?.k === 'scope' && last.head === head) last.items.push(it);
    else out.push({ k: 'scope', head, items: [it] });
  }
  const nodes: N[] = [];
  for (let i = 0; i < out.length; i++) {
    const g = out[i]!;
    if (g.k !== 'scope') { nodes.push(g); continue; }
    const m = LOOP_SCOPE.exec(g.head);
    if (m && m[2] === '0') {
      const iters: N[][] = [];
      for (let j = i; j < out.length; j++) {
        const h = out[j]!;
        if (h.k !== 'scope' || h.head !== `${m[1]}${iters.length}`) break;
        iters.push(parse(h.items, depth + 1));
      }
      i += iters.length - 1;
      nodes.push({ k: 'loop', key: `loop:${m[1]}`, prefix: m[1]!, iters });
      continue;
    }
    nodes.push({ k: 'call', key: `call:${g.head}`, name: g.head, block: g.head.replace(/_\d+$/, ''), body: parse(g.items, depth + 1) });
  }
  return nodes;
}

// ---- templates: one item for the same item of every instance (iteration, call) ----------------

/** An instance of a sequence: a loop iteration (its counters) or a block call (`origin`: which). */
interface Inst { env: Record<string, number>; nodes: N[]; origin: number }
interface Level { insts: Inst[]; vars: [string, number][]; block: boolean }
/** A value per instance of the level (undefined where the item is absent). */
interface V { values: unknown[]; level: Level }
/** `at`: the item in each instance of the level (undefined where absent). */
type T = { id?: string; name: string; when: V; at: (N | undefined)[] } & (
  | { k: 'layer'; op: string; attrs: [string, V][] }
  | { k: 'call'; block: string; args: [string, V][] }
  | { k: 'branches'; merge: string; mergeAttrs: [string, unknown][]; branches: T[][] }
  | { k: 'inline'; merge: string; mergeAttrs: [string, unknown][]; body: T[] }
  | { k: 'loop'; prefix: string; count: number; body: T[] }
);

interface BlockDef { name: string; params: Param[]; body: T[]; args: Map<CallNode, Map<string, unknown>> }
interface Param { name: string; v: V; type: string; default: unknown }

/**
 * Every instance's items aligned in one order, by key: per place, each instance's item there (or
 * undefined). A key met again after a later one (a block whose conv2d comes first in some calls,
 * last in others) takes a place of its own.
 */
function aligned(insts: Inst[]): (N | undefined)[][] {
  const places: { key: string; at: (N | undefined)[] }[] = [];
  insts.forEach((inst, i) => {
    let at = -1;
    for (const n of inst.nodes) {
      let j = places.findIndex((p, x) => x > at && p.key === n.key);
      if (j < 0) places.splice((j = at + 1), 0, { key: n.key, at: insts.map(() => undefined) });
      places[j]!.at[i] = n;
      at = j;
    }
  });
  return places.map((p) => p.at);
}

class Builder {
  blocks = new Map<string, BlockDef>();
  /** Every value of the loop levels, to find one that agrees with a value some iterations lack. */
  all: V[] = [];
  constructor(protected registry: OpRegistry) {}

  /**
   * The template of a level's instances, with ids where generated names would differ.
   * Long (~60 lines): one case per kind of item, each gathering its instances' values.
   */
  tmpl(level: Level): T[] {
    const { insts } = level;
    const out: T[] = [];
    for (const at of aligned(insts)) {
      const present = insts.filter((_, i) => at[i]);
      const first = at.find((n) => n)!;
      const when: V = { values: at.map((n) => n !== undefined), level };
      const sub = (f: (n: N) => N[], vars = level.vars): Level => ({ insts: present.map((inst) => ({ ...inst, nodes: f(at[insts.indexOf(inst)]!) })), vars, block: level.block });
      const base = { at, when, name: first.k === 'loop' ? first.prefix : first.name };
      if (first.k === 'layer') {
        const def = this.registry.get(first.item.op)!;
        const given = at.map((n) => (n as typeof first | undefined)?.item.attrs);
        const keys = new Set(given.flatMap((a) => a?.map(([k]) => k) ?? []));
        const attrs = [...Object.keys(def.attrs).filter((k) => keys.has(k)), ...[...keys].filter((k) => !(k in def.attrs))].map((k): [string, V] => [k, { values: given.map((a) => (a ? (a.find(([x]) => x === k) ?? [k, def.attrs[k]?.default])[1] : undefined)), level }]);
        if (at.some((n) => n && (n as typeof first).item.op !== first.item.op)) throw new NotStructured();
        out.push({ k: 'layer', op: first.item.op, attrs, ...base });
      } else if (first.k === 'call') {
        const def = this.blocks.get(first.block);
        if (!def || level.block || at.some((n) => n && (n as CallNode).block !== first.block)) throw new NotStructured();
        const args = def.params.map((p): [string, V] => [p.name, { values: at.map((n) => (n ? def.args.get(n as CallNode)!.get(p.name) : undefined)), level }])
          .filter(([k, v]) => v.values.some((x) => x !== undefined && JSON.stringify(x) !== JSON.stringify(def.params.find((p) => p.name === k)!.default)));
        out.push({ k: 'call', block: first.block, args, ...base });
      } else if (first.k === 'branches' || first.k === 'inline') {
        const like = (n: N) => n.k === first.k && JSON.stringify([n.item.merge, n.item.mergeAttrs, n.item.branches.length]) === JSON.stringify([first.item.merge, first.item.mergeAttrs, first.item.branches.length]);
        if (at.some((n) => n && !like(n))) throw new NotStructured();
        const common = { merge: first.item.merge, mergeAttrs: first.item.mergeAttrs, ...base };
        if (first.k === 'inline') {
          if (insts.length !== 1 || level.vars.length || level.block || first.item.branches[0]!.length) throw new NotStructured();
          const body = this.tmpl(sub((n) => (n as typeof first).body));
          body[body.length - 1]!.id = body[body.length - 1]!.name; // the merge's `from:` names it
          out.push({ k: 'inline', ...common, body });
        } else out.push({ k: 'branches', ...common, branches: first.branches.map((_, j) => this.tmpl(sub((n) => (n as typeof first).branches[j]!))) });
      } else {
        const count = first.iters.length;
        if (level.block || at.some((n) => n && (n.k !== 'loop' || n.iters.length !== count))) throw new NotStructured();
        const inner: Level = {
          insts: present.flatMap((inst) => (at[insts.indexOf(inst)] as typeof first).iters.map((nodes, j) => ({ env: { ...inst.env, [first.prefix]: j }, nodes, origin: inst.origin }))),
          vars: [...level.vars, [first.prefix, count]],
          block: false,
        };
        out.push({ k: 'loop', prefix: first.prefix, count, body: this.tmpl(inner), ...base });
      }
    }
    this.ids(out, insts);
    if (!level.block) for (const t of out) this.all.push(t.when, ...(t.k === 'layer' ? t.attrs : t.k === 'call' ? t.args : []).map(([, v]) => v));
    return out;
  }

  /** `id:` on the items whose generated name (docs/language.md §11) is not the Keras name, in any instance. */
  ids(items: T[], insts: Inst[]): void {
    const seq = items.flatMap((t) => (t.k === 'inline' ? [...t.body, t] : [t]));
    for (let round = 0; round < 4; round++) {
      const reserved = new Set(seq.filter((t) => t.id).map((t) => t.id!));
      let changed = false;
      for (let i = 0; i < insts.length; i++) {
        const names = new Names(reserved);
        for (const t of seq) {
          // (The items of an inline branch are on a level of the one instance there is.)
          if (!t.at[items.includes(t) ? i : 0]) continue;
          if (t.k === 'loop') {
            for (let j = 0; j < t.count; j++) if (names.alloc(`${t.prefix}${j}`) !== `${t.prefix}${j}`) throw new NotStructured();
            continue;
          }
          if (t.k === 'branches') t.branches.forEach((_, j) => names.alloc(`branch${j}`));
          const got = t.id ? names.claim(t.id) : names.alloc(t.k === 'layer' ? t.op : t.k === 'call' ? t.block : t.merge);
          if (got === t.name) continue;
          if (t.id) throw new NotStructured();
          t.id = t.name;
          changed = true;
        }
      }
      if (!changed) return;
    }
    throw new NotStructured();
  }
}

/** The expansion's name allocation in one scope (src/expand/engine.ts `alloc`), to predict generated names. */
class Names {
  used = new Set<string>();
  next = new Map<string, number>();
  constructor(private reserved: Set<string>) {}
  alloc(base: string): string {
    let i = this.next.get(base) ?? 0;
    let name = i === 0 ? base : `${base}_${i}`;
    while (this.used.has(name) || this.reserved.has(name)) name = `${base}_${++i}`;
    this.next.set(base, i + 1);
    this.used.add(name);
    return name;
  }
  claim(id: string): string {
    this.used.add(id);
    return id;
  }
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

class Writer extends Builder {
  paramOf = new Map<V, string>();
  constructor(registry: OpRegistry, private input: string) { super(registry); }

  /** Every block called in `root`, defined from all its calls. */
  defineBlocks(root: N[]): void {
    const calls = new Map<string, CallNode[]>();
    const walk = (nodes: N[], inBlock: boolean): void => {
      for (const n of nodes) {
        if (n.k === 'call') {
          if (inBlock) throw new NotStructured();
          calls.set(n.block, [...(calls.get(n.block) ?? []), n]);
          walk(n.body, true);
        } else if (n.k === 'branches') n.branches.forEach((b) => walk(b, inBlock));
        else if (n.k === 'inline') walk(n.body, inBlock);
        else if (n.k === 'loop') n.iters.forEach((b) => walk(b, inBlock));
      }
    };
    walk(root, false);
    // A call with an id of its own (`stem`) joins a block whose calls have all its layers.
    for (const [name, list] of calls) {
      if (list.length !== 1) continue;
      const home = [...calls].find(([other, l]) => other !== name && l.length > 1 && list[0]!.body.every((n) => l.some((c) => c.body.some((x) => x.key === n.key))));
      if (!home) continue;
      list[0]!.block = home[0];
      home[1].push(list[0]!);
      calls.delete(name);
    }
    for (const [name, list] of calls) this.blocks.set(name, this.block(name, list));
  }

  block(name: string, calls: CallNode[]): BlockDef {
    const body = this.tmpl({ insts: calls.map((c, origin) => ({ env: {}, nodes: c.body, origin })), vars: [], block: true });
    const params: (Param & { byCall: unknown[] })[] = [];
    const bind = (v: V, base: string) => {
      const byCall: unknown[] = calls.map(() => undefined);
      v.values.forEach((x, i) => { if (x !== undefined) byCall[v.level.insts[i]!.origin] = x; });
      const defined = byCall.filter((x) => x !== undefined);
      if (defined.every((x) => same(x, defined[0]))) return;
      const twin = params.find((p) => p.byCall.every((x, i) => x === undefined || byCall[i] === undefined || same(x, byCall[i])) && paramType([...p.byCall, ...byCall].filter((x) => x !== undefined)) === p.type);
      if (twin) {
        twin.byCall = twin.byCall.map((x, i) => x ?? byCall[i]);
        this.paramOf.set(v, twin.name);
        return;
      }
      let pname = base;
      for (let i = 1; params.some((p) => p.name === pname); i++) pname = `${base}_${i}`;
      params.push({ name: pname, v, type: paramType(defined), default: mostCommon(defined), byCall });
      this.paramOf.set(v, pname);
    };
    const walk = (ts: T[]): void => {
      for (const t of ts) {
        if (t.when.values.some((x) => x !== true)) bind(t.when, `has_${t.name}`);
        if (t.k === 'layer') t.attrs.forEach(([k, v]) => bind(v, k));
        else if (t.k === 'branches') t.branches.forEach(walk);
        else throw new NotStructured();
      }
    };
    walk(body);
    const args = new Map(calls.map((c, i) => [c, new Map(params.map((p) => [p.name, p.byCall[i] === undefined ? p.default : p.byCall[i]]))]));
    return { name, params, body, args };
  }

  /** A value varying over a loop level as the shortest expression of one or two of its counters. */
  exprOf(v: V): string {
    const { vars, insts } = v.level;
    if (v.values.includes(undefined)) {
      // A value absent in some iterations (a projection's filters) takes the expression of a value that agrees where it is present.
      const at = (u: V) => new Map(u.values.map((x, i) => [JSON.stringify(u.level.insts[i]!.env), x]));
      const mine = [...at(v)].filter(([, x]) => x !== undefined);
      const twin = this.all.find((u) => u !== v && u.level.vars === vars && !u.values.includes(undefined) && !u.values.every((x) => same(x, u.values[0])) && ((m) => mine.every(([k, x]) => same(m.get(k), x)))(at(u)));
      if (twin) return this.exprOf(twin);
    }
    const grid = (names: [string, number][]) => {
      const arr: unknown[] = Array(names.reduce((a, [, c]) => a * c, 1)).fill(undefined);
      v.values.forEach((x, i) => {
        if (x === undefined) return;
        const idx = names.reduce((a, [n, c]) => a * c + insts[i]!.env[n]!, 0);
        if (arr[idx] !== undefined && !same(arr[idx], x)) throw new NotStructured();
        arr[idx] = x;
      });
      const first = arr.find((x) => x !== undefined);
      return arr.map((x, i) => x ?? arr.slice(0, i).reverse().find((y) => y !== undefined) ?? first);
    };
    const texts: string[] = [];
    const attempt = (f: () => string | undefined) => {
      try { const t = f(); if (t !== undefined) texts.push(t); } catch (e) { if (!(e instanceof NotStructured)) throw e; }
    };
    vars.forEach(([n, c]) => attempt(() => over(grid([[n, c]]), n)));
    vars.forEach((a, i) => vars.slice(i + 1).forEach((b) => attempt(() => overTwo(grid([a, b]), b[1], a[0], b[0])?.text)));
    if (!texts.length) throw new NotStructured();
    return texts.sort((a, b) => a.length - b.length)[0]!;
  }

  text(v: V): string {
    const p = this.paramOf.get(v);
    if (p) return `$${p}`;
    const defined = v.values.filter((x) => x !== undefined);
    if (defined.every((x) => same(x, defined[0]))) return flow(defined[0]);
    if (v.level.block) throw new NotStructured();
    return expr(this.exprOf(v));
  }

  render(t: T, indent: string): string[] {
    const tail = [...(t.id ? [`${indent}  id: ${t.id}`] : []), ...(t.when.values.every((x) => x === true) ? [] : [`${indent}  when: ${this.text(t.when)}`])];
    const map = (kv: [string, V][], skip: (k: string, v: V) => boolean) => `{${kv.filter(([k, v]) => !skip(k, v)).map(([k, v]) => `${k}: ${this.text(v)}`).join(', ')}}`;
    if (t.k === 'layer') {
      const def = this.registry.get(t.op)!;
      const isDefault = (k: string, v: V) => !this.paramOf.has(v) && v.values.every((x) => x === undefined || same(x, def.attrs[k]?.default));
      return [`${indent}- ${t.op}: ${map(t.attrs, isDefault)}`, ...tail];
    }
    if (t.k === 'call') return [`${indent}- ${t.block}: ${map(t.args, () => false)}`, ...tail];
    if (t.k === 'loop') return [`${indent}- repeat: ${t.count}`, `${indent}  as: ${t.prefix}`, ...tail, `${indent}  layers:`, ...t.body.flatMap((x) => this.render(x, `${indent}    `))];
    const attrs = t.mergeAttrs.map(([k, v]) => `${k}: ${flow(v)}`).join(', ');
    if (t.k === 'inline') {
      return [...t.body.flatMap((x) => this.render(x, indent)), `${indent}- ${t.merge}: {${attrs}}`, `${indent}  from: [${this.input}, ${t.body[t.body.length - 1]!.id}]`, ...tail];
    }
    const lines = [`${indent}- branches:`];
    for (const b of t.branches) {
      if (b.length === 0) { lines.push(`${indent}    - []`); continue; }
      const inner = b.flatMap((x) => this.render(x, `${indent}      `));
      inner[0] = `${indent}    - ${inner[0]!.slice(indent.length + 6)}`;
      lines.push(...inner);
    }
    return [...lines, `${indent}  merge: ${t.merge}`, ...t.mergeAttrs.map(([k, v]) => `${indent}  ${k}: ${flow(v)}`), ...tail];
  }

  blockLines(): string[] {
    if (!this.blocks.size) return [];
    const lines = ['', 'blocks:'];
    for (const b of this.blocks.values()) {
      lines.push(`  ${b.name}:`);
      if (b.params.length) lines.push('    params:', ...b.params.map((p) => `      ${p.name}: {type: ${p.type}, default: ${flow(p.default)}}`));
      lines.push('    layers:', ...b.body.flatMap((t) => this.render(t, '      ')));
    }
    return lines;
  }
}

/** The spec with the structure its layer names record (blocks, loops, branches), or undefined. */
export function scopedYaml(model: ImportedModel, registry: OpRegistry): string | undefined {
  if (model.inputs.length !== 1 || !model.nodes.some((n) => n.name.includes('.'))) return undefined;
  const tree = seriesParallel(model);
  if (!tree) return undefined;
  try {
    const root = parse(tree, 0);
    const w = new Writer(registry, model.inputs[0]!);
    w.defineBlocks(root);
    const items = w.tmpl({ insts: [{ env: {}, nodes: root, origin: 0 }], vars: [], block: false });
    if (!items.some((t) => t.k === 'loop' || t.k === 'call')) return undefined;
    const lines = items.flatMap((t) => w.render(t, '  '));
    return `${model.header.join('\n')}\n\ninputs:\n${model.inputLines.join('\n')}\n${w.blockLines().map((l) => `${l}\n`).join('')}\nlayers:\n${lines.join('\n')}\n`;
  } catch (e) {
    if (e instanceof NotStructured) return undefined;
    throw e;
  }
}
