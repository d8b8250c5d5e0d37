/**
 * Node matching between two typed graphs: which node on the left is which on the right.
 *
 * Ids are stable by design (see src/expand/instantiate.ts), except that an auto-named
 * node gets a `_1`, `_2` ... suffix when its op occurs again in the same scope, so
 * inserting a conv2d renumbers the conv2d nodes after it in that scope. Matching runs
 * in passes, each on what the previous ones left over:
 *
 *  1. ids: a longest common subsequence of the two node lists (definition order) on
 *     the key (generic id, op, attributes), where the generic id drops the `_N`
 *     suffixes. An inserted layer is one unmatched node; the renumbered ones after it
 *     still line up.
 *  2. structure, within each gap between consecutive pass-1 pairs: an order-keeping
 *     alignment that maximises a similarity score (same op required; same id, same
 *     attributes, same output shape, same inputs through the pairs known so far, same
 *     last id segment). A pair needs the same generic id, or the same attributes and
 *     either the same inputs or the same last segment at the same depth. This finds
 *     changed layers (same id, other attributes) and renamed ones (other id, same
 *     attributes, same place).
 *  3. moved: a node left over on both sides with exactly the same id and op.
 *  4. wiring: left-over nodes of the same op fed by the same matched inputs, when the
 *     pair is unique (a renamed layer whose attributes changed too); then pass 1b again
 *     downstream of it, until nothing more pairs.
 *
 * Pass 1b (after pass 1, and again in pass 4) is wiring in the right graph's order: a
 * left-over node pairs with the first left-over node of the same op and attributes fed by
 * the same pairs (model inputs pair by position). It matches a network against the same
 * network written another way (loops written out flat, an imported spec) whatever the ids.
 *
 * Namesakes first (passes 1b and 2): a left-over node whose generic id and op are still on
 * the other side, unpaired, does not pair with another id (see Matcher.namesakeWaits).
 *
 * Attributes are compared in normal form (the caller normalises: see ./diff.ts).
 */
import diffSequencesModule from '@jest/diff-sequences';
import type { TypedGraph, TypedNode } from '../types/ir.js';

export type MatchHow = 'id' | 'structure' | 'moved' | 'wiring';

export interface NodeMatching {
  /** Left id -> right id. */
  readonly leftToRight: ReadonlyMap<string, string>;
  /** Right id -> left id. */
  readonly rightToLeft: ReadonlyMap<string, string>;
  /** How each pair was found, by left id. */
  readonly how: ReadonlyMap<string, MatchHow>;
}

type DiffSequences = (aLength: number, bLength: number, isCommon: (a: number, b: number) => boolean, found: (n: number, a: number, b: number) => void) => void;
// The package is CommonJS with `exports.default`; its ESM wrapper re-exports that. Accept both shapes.
const diffSequences: DiffSequences = ((diffSequencesModule as unknown as { default?: DiffSequences }).default ?? diffSequencesModule) as DiffSequences;

/** `stage0/block1/resnet_layer_1/conv2d_2` -> `stage0/block1/resnet_layer/conv2d`. */
export function genericId(id: string): string {
  return id.replace(/_\d+(?=\/|$)/g, '');
}

/** JSON with sorted keys: equal values give equal strings. */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  let out: string;
  if (Array.isArray(v)) {
    out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ',' : '') + canonicalJson(v[i]);
    return out + ']';
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  let sorted = true;
  for (let i = 1; i < keys.length && sorted; i++) if (keys[i - 1]! > keys[i]!) sorted = false;
  if (!sorted) keys.sort();
  out = '{';
  for (let i = 0; i < keys.length; i++) out += (i ? ',' : '') + JSON.stringify(keys[i]) + ':' + canonicalJson(o[keys[i]!]);
  return out + '}';
}

/** Small integers for equal strings, so that comparisons in the inner loops are cheap. */
class Interner {
  private readonly ids = new Map<string, number>();
  id(s: string): number {
    let n = this.ids.get(s);
    if (n === undefined) this.ids.set(s, (n = this.ids.size));
    return n;
  }
}

interface Facts {
  node: TypedNode;
  index: number;
  generic: string;
  /** Interned (op, attributes). */
  attrs: number;
  /** Interned (generic id, op, attributes): the pass-1 key. */
  key: number;
  /** Interned (generic id, op). */
  named: number;
  shape: string;
  tail: string;
  depth: number;
}

function facts(g: TypedGraph, interner: Interner): Facts[] {
  return g.nodes.map((node, index) => {
    const generic = genericId(node.id);
    // The compiler writes attributes in the op's declared order, so plain JSON is canonical enough
    // here (and native): a false "different" only moves a pair from pass 1 to pass 2.
    const attrs = interner.id(`${node.op}\u0000${JSON.stringify(node.attrs)}`);
    return {
      node,
      index,
      generic,
      attrs,
      key: interner.id(`${generic}\u0001${attrs}`),
      named: interner.id(`${generic}\u0002${node.op}`),
      shape: node.outputShape.join(','),
      tail: generic.slice(generic.lastIndexOf('/') + 1),
      depth: generic.split('/').length,
    };
  });
}

/** Gaps larger than this (left x right) are aligned greedily instead of by dynamic programming. */
const MAX_DP_CELLS = 2_000_000;

/** The matching in progress: both sides' facts and the pairs found so far, one method per pass. */
class Matcher {
  readonly L: Facts[];
  readonly R: Facts[];
  readonly l2r = new Map<string, string>();
  readonly r2l = new Map<string, string>();
  readonly how = new Map<string, MatchHow>();
  private readonly indexL: Map<string, number>;
  private readonly leftConsumers = new Map<string, Facts[]>();
  /** Left-over (unpaired) nodes by generic id and op, per side (for namesakeWaits). */
  private readonly leftoverL = new Map<number, number>();
  private readonly leftoverR = new Map<number, number>();

  constructor(private readonly left: TypedGraph, private readonly right: TypedGraph) {
    const interner = new Interner();
    this.L = facts(left, interner);
    this.R = facts(right, interner);
    this.indexL = new Map(this.L.map((f, i) => [f.node.id, i]));
    for (const a of this.L) for (const x of new Set(a.node.inputs)) push(this.leftConsumers, x, a);
    for (const a of this.L) count(this.leftoverL, a.named, 1);
    for (const b of this.R) count(this.leftoverR, b.named, 1);
  }

  /**
   * Whether `f` (a node of one side) has a left-over namesake on the other side: a node of the
   * same generic id and op that nothing paired yet. A node with a namesake waits for it (pass 2
   * pairs namesakes whatever their attributes) instead of pairing with another id by wiring or
   * by place: U-Net 4 -> 5 levels, the old `bottom1` (1024 filters) is the new `bottom1` (2048),
   * not the new `level4/conv2d` that has its attributes and its input.
   */
  private namesakeWaits(f: Facts, side: 'L' | 'R'): boolean {
    return ((side === 'L' ? this.leftoverR : this.leftoverL).get(f.named) ?? 0) > 0;
  }

  pair(a: Facts, b: Facts, h: MatchHow): void {
    this.l2r.set(a.node.id, b.node.id);
    this.r2l.set(b.node.id, a.node.id);
    this.how.set(a.node.id, h);
    count(this.leftoverL, a.named, -1);
    count(this.leftoverR, b.named, -1);
  }

  unpair(a: Facts, b: Facts): void {
    this.l2r.delete(a.node.id);
    this.r2l.delete(b.node.id);
    this.how.delete(a.node.id);
    count(this.leftoverL, a.named, 1);
    count(this.leftoverR, b.named, 1);
  }

  /** Pass 1: ids (generic), op and attributes, in order. Returns the anchors (index pairs). */
  byId(): [number, number][] {
    const { L, R } = this;
    const keyL = Int32Array.from(L, (f) => f.key);
    const keyR = Int32Array.from(R, (f) => f.key);
    const anchors: [number, number][] = [];
    diffSequences(L.length, R.length, (i, j) => keyL[i] === keyR[j], (n, i, j) => {
      for (let k = 0; k < n; k++) anchors.push([i + k, j + k]);
    });
    for (const [i, j] of anchors) this.pair(L[i]!, R[j]!, 'id');
    return anchors;
  }

  /**
   * Pass 1b, wiring in order: what pass 1 left over (a spec written out flat against its loops,
   * an imported spec: other ids everywhere) pairs with the same layer fed by the same pairs.
   * Returns whether it found any pair.
   */
  propagate(): boolean {
    const { L, R, l2r, r2l, how } = this;
    let found = false;
    const lIn = this.left.inputs, rIn = this.right.inputs;
    for (let k = 0; k < Math.min(lIn.length, rIn.length); k++) {
      const a = L.find((f) => f.node.id === lIn[k]), b = R.find((f) => f.node.id === rIn[k]);
      if (a && b && !l2r.has(a.node.id) && !r2l.has(b.node.id) && a.node.op === b.node.op) { this.pair(a, b, 'wiring'); found = true; }
    }
    for (const b of R) {
      if (b.node.inputs.length === 0) continue;
      const ins = b.node.inputs.map((x) => r2l.get(x));
      if (ins.some((x) => x === undefined)) continue;
      const paired = r2l.get(b.node.id);
      if (paired !== undefined) {
        // Generic ids pair in order, which can cross wires where an op occurs several times in
        // one scope in another order (a shared tower written interleaved): a pass-1 pair of
        // different ids fed by other pairs than its partner is undone, and placed by wiring.
        if (paired === b.node.id || how.get(paired) !== 'id') continue;
        const aNode = L[this.indexL.get(paired)!]!.node;
        if (aNode.inputs.length === ins.length && ins.every((x, k) => x === aNode.inputs[k])) continue;
        this.unpair(L[this.indexL.get(paired)!]!, b);
      }
      const cands = this.leftConsumers.get(ins[0]!) ?? [];
      const a = cands.find((f) => !l2r.has(f.node.id) && f.attrs === b.attrs && f.node.inputs.length === ins.length && f.node.inputs.every((x, k) => x === ins[k]));
      if (a && (a.generic === b.generic || (!this.namesakeWaits(a, 'L') && !this.namesakeWaits(b, 'R')))) { this.pair(a, b, 'wiring'); found = true; }
    }
    return found;
  }

  /** How alike two unpaired layers are (0: they may not pair). */
  private score(a: Facts, b: Facts): number {
    if (a.node.op !== b.node.op) return 0;
    const sameGeneric = a.generic === b.generic;
    const sameAttrs = a.attrs === b.attrs;
    const ai = a.node.inputs, bi = b.node.inputs;
    const wired = ai.length === bi.length && ai.length > 0 && ai.every((x, k) => this.l2r.get(x) === bi[k]);
    // A pair needs the same id (up to numbering), or the same attributes in the same place:
    // same inputs, or the same name at the same depth (a renamed scope).
    if (!sameGeneric && !(sameAttrs && (wired || (a.tail === b.tail && a.depth === b.depth)))) return 0;
    if (!sameGeneric && (this.namesakeWaits(a, 'L') || this.namesakeWaits(b, 'R'))) return 0;
    let s = 1;
    if (a.node.id === b.node.id) s += 5;
    else if (sameGeneric) s += 4;
    else if (a.tail === b.tail) s += 1;
    if (sameAttrs) s += 2;
    if (a.shape === b.shape) s += 1;
    if (wired) s += 2;
    return s;
  }

  /** Pass 2: structure, gap by gap between the pass-1 anchors that still hold. */
  byStructure(anchors: readonly [number, number][]): void {
    const { L, R, l2r, r2l } = this;
    const kept = anchors.filter(([i, j]) => l2r.get(L[i]!.node.id) === R[j]!.node.id);
    const bounds: [number, number][] = [[-1, -1], ...kept, [L.length, R.length]];
    const score = (a: Facts, b: Facts) => this.score(a, b);
    const pair = (a: Facts, b: Facts) => this.pair(a, b, 'structure');
    for (let k = 0; k + 1 < bounds.length; k++) {
      const [i0, j0] = bounds[k]!;
      const [i1, j1] = bounds[k + 1]!;
      if (i1 - i0 - 1 <= 0 || j1 - j0 - 1 <= 0) continue;
      const gapL = L.slice(i0 + 1, i1).filter((f) => !l2r.has(f.node.id)), gapR = R.slice(j0 + 1, j1).filter((f) => !r2l.has(f.node.id));
      const n = gapL.length, m = gapR.length;
      if (n <= 0 || m <= 0) continue;
      if (n * m <= MAX_DP_CELLS) alignGap(gapL, gapR, score, pair);
      else greedyGap(gapL, gapR, pair);
    }
  }

  /** Pass 3, moved: the same id and op, anywhere. */
  moved(): void {
    const leftoverR = new Map<string, Facts>();
    for (const b of this.R) if (!this.r2l.has(b.node.id)) leftoverR.set(b.node.id, b);
    for (const a of this.L) {
      if (this.l2r.has(a.node.id)) continue;
      const b = leftoverR.get(a.node.id);
      if (b && b.node.op === a.node.op) {
        this.pair(a, b, 'moved');
        leftoverR.delete(b.node.id);
      }
    }
  }

  /** Pass 4, wiring: same op, same matched inputs, unique on both sides. Returns whether it paired any. */
  uniqueWiring(): boolean {
    const { l2r, r2l } = this;
    const wiringKey = (f: Facts, map: (id: string) => string | undefined): string | undefined => {
      if (f.node.inputs.length === 0) return undefined;
      const ins = f.node.inputs.map(map);
      return ins.every((x) => x !== undefined) ? `${f.node.op}\u0000${ins.join('\u0000')}` : undefined;
    };
    const rightByKey = new Map<string, Facts[]>();
    for (const b of this.R) {
      if (r2l.has(b.node.id)) continue;
      const key = wiringKey(b, (x) => x);
      if (key) push(rightByKey, key, b);
    }
    const leftByKey = new Map<string, Facts[]>();
    for (const a of this.L) {
      if (l2r.has(a.node.id)) continue;
      const key = wiringKey(a, (x) => l2r.get(x));
      if (key) push(leftByKey, key, a);
    }
    let found = false;
    for (const [key, as] of leftByKey) {
      const bs = rightByKey.get(key);
      if (as.length === 1 && bs?.length === 1) {
        this.pair(as[0]!, bs[0]!, 'wiring');
        found = true;
      }
    }
    return found;
  }
}

export function matchNodes(left: TypedGraph, right: TypedGraph): NodeMatching {
  const m = new Matcher(left, right);
  const anchors = m.byId();
  m.propagate();
  m.byStructure(anchors);
  m.moved();
  // Passes 4 and 1b again, while they find pairs.
  for (let changed = true; changed;) {
    changed = m.uniqueWiring();
    if (m.propagate()) changed = true;
  }
  return { leftToRight: m.l2r, rightToLeft: m.r2l, how: m.how };
}

/** Order-keeping alignment of two runs maximising the summed score (0 = may not pair). */
function alignGap(a: Facts[], b: Facts[], score: (x: Facts, y: Facts) => number, pair: (x: Facts, y: Facts) => void): void {
  const n = a.length, m = b.length;
  const w = m + 1;
  const best = new Float64Array((n + 1) * w);
  const s = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) s[i * m + j] = score(a[i]!, b[j]!);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const sc = s[i * m + j]!;
      const diag = sc > 0 ? sc + best[(i + 1) * w + j + 1]! : -1;
      best[i * w + j] = Math.max(diag, best[(i + 1) * w + j]!, best[i * w + j + 1]!);
    }
  }
  let i = 0, j = 0;
  while (i < n && j < m) {
    const sc = s[i * m + j]!;
    if (sc > 0 && best[i * w + j] === sc + best[(i + 1) * w + j + 1]!) {
      pair(a[i]!, b[j]!);
      i++; j++;
    } else if (best[i * w + j] === best[(i + 1) * w + j]) i++;
    else j++;
  }
}

/** For huge gaps: pair by generic id and op, in order. */
function greedyGap(a: Facts[], b: Facts[], pair: (x: Facts, y: Facts) => void): void {
  const byKey = new Map<string, Facts[]>();
  for (const y of b) {
    const k = `${y.generic}\u0000${y.node.op}`;
    push(byKey, k, y);
  }
  for (const x of a) {
    const list = byKey.get(`${x.generic}\u0000${x.node.op}`);
    const y = list?.shift();
    if (y) pair(x, y);
  }
}

function count<K>(map: Map<K, number>, key: K, by: number): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value); else map.set(key, [value]);
}
