/**
 * Static types of spec values, as TypeScript will see the generated code: enough to print
 * `a + b` rather than a checked helper where the operands are known numbers, `===` where
 * TypeScript accepts the comparison, and to know whether a value fits a block parameter.
 * Literal types are kept where TypeScript keeps them (`const k = 3` is `3`), since TypeScript
 * refuses `===` between literal types that cannot be equal.
 */
import type { ParamDecl } from '../types/spec.js';
import { ACTIVATIONS } from '../ops/attrs.js';

export type SType =
  | { k: 'num'; lits?: readonly number[] }
  | { k: 'str'; lits?: readonly string[] }
  | { k: 'bool'; lits?: readonly boolean[] }
  | { k: 'null' }
  | { k: 'list'; el: SType }
  | { k: 'union'; of: readonly SType[] }
  | { k: 'unknown' };

export const NUM: SType = { k: 'num' };
export const STR: SType = { k: 'str' };
export const BOOL: SType = { k: 'bool' };
export const NULL: SType = { k: 'null' };
export const UNKNOWN: SType = { k: 'unknown' };
export const list = (el: SType): SType => ({ k: 'list', el });

export function members(t: SType): readonly SType[] {
  return t.k === 'union' ? t.of : [t];
}

function mergeLits<T>(a: readonly T[] | undefined, b: readonly T[] | undefined): readonly T[] | undefined {
  if (!a || !b) return undefined;
  return [...new Set([...a, ...b])];
}

/** The union of types, with members of one kind merged. */
export function union(...ts: SType[]): SType {
  const out: SType[] = [];
  for (const m of ts.flatMap(members)) {
    if (m.k === 'unknown') return UNKNOWN;
    const i = out.findIndex((o) => o.k === m.k);
    if (i < 0) { out.push(m); continue; }
    const o = out[i]!;
    if (o.k === 'num' && m.k === 'num') out[i] = { k: 'num', ...lits(mergeLits(o.lits, m.lits)) };
    else if (o.k === 'str' && m.k === 'str') out[i] = { k: 'str', ...lits(mergeLits(o.lits, m.lits)) };
    else if (o.k === 'bool' && m.k === 'bool') out[i] = { k: 'bool', ...lits(mergeLits(o.lits, m.lits)) };
    else if (o.k === 'list' && m.k === 'list') out[i] = list(union(o.el, m.el));
  }
  if (out.length === 0) return UNKNOWN;
  return out.length === 1 ? out[0]! : { k: 'union', of: out };
}

function lits<T>(l: readonly T[] | undefined): { lits?: readonly T[] } {
  return l ? { lits: l } : {};
}

/** Without literal types: what TypeScript infers for an array element or a generic argument. */
export function widen(t: SType): SType {
  switch (t.k) {
    case 'num': return NUM;
    case 'str': return STR;
    case 'bool': return BOOL;
    case 'list': return list(widen(t.el));
    case 'union': return union(...t.of.map(widen));
    default: return t;
  }
}

export const isNum = (t: SType) => t.k === 'num';
export const isStr = (t: SType) => t.k === 'str';
export const isBool = (t: SType) => t.k === 'bool';
export const isList = (t: SType) => t.k === 'list';

/** The type of a literal value (YAML data). */
export function typeOfValue(v: unknown): SType {
  if (v === null) return NULL;
  if (typeof v === 'number') return { k: 'num', lits: [v] };
  if (typeof v === 'string') return { k: 'str', lits: [v] };
  if (typeof v === 'boolean') return { k: 'bool', lits: [v] };
  if (Array.isArray(v)) return list(v.length ? widen(union(...v.map(typeOfValue))) : UNKNOWN);
  return UNKNOWN;
}

/**
 * Whether TypeScript accepts `a === b` (TS2367 refuses types that cannot overlap); both must be
 * primitive types, since lists compare by reference in TypeScript and structurally in specs.
 */
export function comparable(a: SType, b: SType): boolean {
  const ma = members(a), mb = members(b);
  const primitive = (m: SType) => m.k === 'num' || m.k === 'str' || m.k === 'bool' || m.k === 'null';
  if (!ma.every(primitive) || !mb.every(primitive)) return false;
  return ma.some((x) => mb.some((y) => {
    if (x.k !== y.k) return false;
    if (x.k === 'null') return true;
    const lx = (x as { lits?: readonly unknown[] }).lits, ly = (y as { lits?: readonly unknown[] }).lits;
    return !lx || !ly || lx.some((v) => ly.includes(v));
  }));
}

/** The type a parameter's value has inside the generated function (from its declaration). */
export function paramType(p: ParamDecl): SType {
  let t: SType;
  switch (p.type) {
    case 'int': case 'float': t = NUM; break;
    case 'bool': t = BOOL; break;
    case 'string': t = STR; break;
    case 'shape': t = list(NUM); break;
    case 'activation': t = { k: 'str', lits: [...ACTIVATIONS] }; break;
    case 'enum': t = union(...(p.values ?? []).map(typeOfValue)); break;
    default: t = UNKNOWN;
  }
  return p.nullable ? union(t, NULL) : t;
}

/** Whether a value of type `t` can be passed, as TypeScript sees it, for parameter `p`. */
export function fitsParam(t: SType, p: ParamDecl): boolean {
  const target = paramType(p);
  if (target.k === 'unknown') return false;
  return members(t).every((m) => members(target).some((g) => fits(m, g)));
}

function fits(m: SType, g: SType): boolean {
  if (m.k !== g.k) return false;
  switch (m.k) {
    case 'null': return true;
    case 'list': return g.k === 'list' && members(m.el).every((e) => members(g.el).some((x) => fits(e, x)));
    case 'num': case 'str': case 'bool': {
      const gl = (g as { lits?: readonly unknown[] }).lits;
      if (!gl) return true;
      const ml = m.lits as readonly unknown[] | undefined;
      return !!ml && ml.every((v) => gl.includes(v));
    }
    default: return false;
  }
}
