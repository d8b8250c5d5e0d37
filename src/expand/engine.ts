/**
 * The expansion rules, once: how nodes and scopes are named (`reserve`, `alloc`, `claim`), the
 * loop-iteration suffix, attribute defaulting and arity. The compiler (instantiate.ts) and the
 * generated builders' runtime (src/runtime/builder.ts) both expand with these, so a spec and the
 * TypeScript spec2ts writes for it name and check every layer the same way. Problems come back as
 * catalogue messages (`Said`); each caller reports or throws them its own way.
 */
import type { AttrDef, OpDef } from '../ops/index.js';
import { Say, type Said } from '../diagnostics/messages.js';

/**
 * Names in use, by scope path. Generated names (`conv2d`, `conv2d_1`, `stage0`) avoid the ids
 * reserved for the scope's items; an id claimed twice in one scope is a duplicate.
 */
export class Names {
  private readonly used = new Map<string, Set<string>>();
  private readonly reserved = new Map<string, Set<string>>();
  /**
   * Where the search for a free `base_i` resumes, by scope and base. Names are never freed, so
   * every suffix below it is still taken: without it, n unnamed layers of one op in one scope
   * would cost n^2/2 lookups (20,000 `- dense:` items took seconds).
   */
  private readonly nextSuffix = new Map<string, number>();

  private usedAt(path: string): Set<string> {
    let s = this.used.get(path);
    if (!s) this.used.set(path, (s = new Set()));
    return s;
  }

  /** Ids given to items of the scope `path`: generated names avoid them. */
  reserve(path: string, ids: Iterable<string>): void {
    let r = this.reserved.get(path);
    for (const id of ids) {
      if (!r) this.reserved.set(path, (r = new Set()));
      r.add(id);
    }
  }

  /** A free name after `base` in the scope `path`: `base`, else `base_1`, `base_2`, ... */
  alloc(path: string, base: string): string {
    const used = this.usedAt(path);
    const reserved = this.reserved.get(path);
    const key = `${path}\u0000${base}`;
    let i = this.nextSuffix.get(key) ?? 0;
    let name = i === 0 ? base : `${base}_${i}`;
    while (used.has(name) || reserved?.has(name)) name = `${base}_${++i}`;
    this.nextSuffix.set(key, i + 1);
    used.add(name);
    return name;
  }

  /** Take the item id `id` in the scope `path`; a problem (MS3003) when it is taken already. */
  claim(path: string, id: string): Said | undefined {
    const used = this.usedAt(path);
    if (used.has(id)) return Say.duplicateId(id);
    used.add(id);
    return undefined;
  }

  /** Mark `name` as taken without checks (a model input's name). */
  take(path: string, name: string): void {
    this.usedAt(path).add(name);
  }
}

/** A scope's path joined with a name in it. */
export function joinPath(path: string, name: string): string {
  return path ? `${path}/${name}` : name;
}

/**
 * The suffix of an iteration's scope: `stage0`, `stage1` for numbers of `for`; `act_relu` for
 * identifier-like strings; the index for anything else and for `repeat`.
 */
export function loopSuffix(kind: 'repeat' | 'for', value: unknown, index: number): string {
  if (kind === 'for' && typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (kind === 'for' && typeof value === 'string' && /^[A-Za-z0-9_]+$/.test(value)) return `_${value}`;
  return String(index);
}

/** Whether `v` is a model input's shape: a non-empty list of positive integers and nulls (Keras' None: any size). */
export function isInputShape(v: unknown): v is (number | null)[] {
  return Array.isArray(v) && v.length > 0 && v.every((d) => d === null || (typeof d === 'number' && Number.isSafeInteger(d) && d >= 1));
}

/** Whether `n` is a `repeat:` count. */
export function isRepeatCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * An op's attributes with Keras' defaults filled in, in the op's attribute order. `problem` is the
 * first unknown attribute (MS2002) or missing required one (MS2003); the compiler has reported those
 * already from the schema, the runtime throws it.
 */
export function fillAttrs(op: string, defs: readonly (readonly [string, AttrDef])[], given: ReadonlyMap<string, unknown>): { attrs: Record<string, unknown>; problem?: Said } {
  const attrs: Record<string, unknown> = {};
  let known = 0;
  let missing: string | undefined;
  for (const [k, a] of defs) {
    if (given.has(k)) { attrs[k] = given.get(k); known++; }
    else if (!a.required) attrs[k] = a.default;
    else missing ??= k;
  }
  // Every given attribute is known unless fewer matched than were given (the common case costs no search).
  if (known < given.size) {
    for (const k of given.keys()) if (!defs.some(([d]) => d === k)) return { attrs, problem: Say.unknownAttribute(op, k) };
  }
  return missing === undefined ? { attrs } : { attrs, problem: Say.missingAttribute(op, missing) };
}

/** Whether an op of arity `arity` takes `n` inputs; the problem (MS3010) when not. */
export function arityProblem(arity: OpDef['arity'], op: string, n: number, states: readonly string[] = []): Said | undefined {
  if (arity === 'one' && n !== 1 && n !== 1 + states.length) return states.length ? Say.takesSequenceAndStates(op, states, n) : Say.takesOneInput(op, n);
  if (arity === 'merge' && n < 2) return Say.mergesTwoOrMore(op, n);
  return undefined;
}

/** The values of an assert's variables as its failure message shows them: `depth = 20, n = 3`. */
export function assertValues(names: Iterable<string>, show: (name: string) => string): string {
  return [...names].map((n) => `${n} = ${show(n)}`).join(', ');
}

/**
 * A block call applied again by `share:` (`to`, the new call's scope path) re-expands the block of
 * the call `from`: each layer it makes is the layer of the same relative id in `from`, applied
 * again, with the same weights (Keras: the same layer object called on another tensor).
 */
export interface ShareMap {
  readonly from: string;
  readonly to: string;
}

/** The id of the layer that the node `id`, made under a shared call, applies again. */
export function sharedOriginal(share: ShareMap, id: string): string {
  return share.from + id.slice(share.to.length);
}

/** The name an unnamed `share:` item takes: that of the layer or call it applies again (`conv` -> `conv_1`). */
export function shareBase(originalId: string): string {
  return originalId.split('/').pop()!;
}

/** Where a `share:` target's call was made: the innermost of `calls` (scope paths of block calls)
 * named `name`, in the scope `path` or one enclosing it, that contains `nodeId` (the call's output). */
export function findSharedCall(calls: Iterable<string>, path: string, name: string, nodeId: string): string | undefined {
  let best: string | undefined;
  for (const p of calls) {
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (shareBase(p) !== name || !nodeId.startsWith(`${p}/`)) continue;
    if (parent !== '' && path !== parent && !path.startsWith(`${parent}/`)) continue;
    if (!best || p.length > best.length) best = p;
  }
  return best;
}

/**
 * A reference to one iteration's output of a loop: `skip[i]`, `skip[-1 - level]` (the index an
 * expression, negative from the end). After a `repeat`/`for`, the id of an item directly in its
 * body names the list of that item's outputs, one per iteration.
 */
export function loopOutputRef(name: string): { base: string; index: string } | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\[(.+)\]$/s.exec(name);
  return m ? { base: m[1]!, index: m[2]! } : undefined;
}

/** The element `index` of a loop's outputs (negative from the end), or the problem (MS3081). */
export function loopOutputAt<T>(list: readonly T[], base: string, index: unknown): { value: T } | { problem: Said } {
  if (typeof index !== 'number' || !Number.isInteger(index)) return { problem: Say.loopOutputIndex(base, `the index must be an int, got ${JSON.stringify(index)}`) };
  const j = index < 0 ? list.length + index : index;
  if (j < 0 || j >= list.length) return { problem: Say.loopOutputIndex(base, `index ${index} is out of range: the loop made ${list.length} (valid: ${-list.length} to ${list.length - 1})`) };
  return { value: list[j]! };
}
