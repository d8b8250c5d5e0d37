/**
 * Normal forms of attribute values: the one value that stands for every way of writing
 * the same layer. Two nodes of the same op build the same Keras layer exactly when their
 * normal attributes are equal. Read from the op registry: each attribute's schema says
 * what forms it takes (an int or a pair, an activation, a regularizer ...); an op whose
 * attributes depend on each other (pooling's `strides: null` means `pool_size`) adds its
 * own `normalize`. Used by `diff` (equal networks are "no change") and `import`.
 */
import type { Attrs, AttrDef, OpDef } from './types.js';

/** Keras' other names for the initializers (keras/src/initializers/__init__.py). */
const INITIALIZER_ALIASES: Readonly<Record<string, string>> = {
  uniform: 'random_uniform', normal: 'random_normal', zero: 'zeros', one: 'ones', constant: 'constant',
  glorotuniform: 'glorot_uniform', glorotnormal: 'glorot_normal', heuniform: 'he_uniform', henormal: 'he_normal',
  lecununiform: 'lecun_uniform', lecunnormal: 'lecun_normal', randomuniform: 'random_uniform', randomnormal: 'random_normal',
  truncatednormal: 'truncated_normal', variancescaling: 'variance_scaling',
};

type Schema = { anyOf?: Schema[]; type?: string; enum?: unknown[]; properties?: Record<string, unknown> };

const kinds = new WeakMap<AttrDef, string>();

/** What normal form an attribute takes, from its schema (cached per definition). */
function kindOf(key: string, def: AttrDef): string {
  let k = kinds.get(def);
  if (k !== undefined) return k;
  const s = def.schema as Schema;
  const alts = s.anyOf ?? [s];
  if (key === 'axis') k = 'axis';
  else if (alts.some((a) => a.type === 'integer') && alts.some((a) => a.type === 'array')) k = 'intOrPair';
  else if (alts.some((a) => a.enum?.includes('linear'))) k = 'activation';
  else if (alts.some((a) => a.type === 'object' && a.properties && 'l2' in a.properties)) k = 'regularizer';
  else if (key.endsWith('_initializer')) k = 'initializer';
  else k = '';
  kinds.set(def, k);
  return k;
}

/**
 * One attribute value in normal form. `rank`: the rank of the layer's input with the batch
 * axis (Keras numbering), when known: a negative axis counts from it (`-1` on a rank-3
 * input is `2`).
 */
export function normalValue(key: string, def: AttrDef, v: unknown, rank?: number): unknown {
  switch (kindOf(key, def)) {
    case 'intOrPair':
      // A one-element list, or a pair or triple of equal ints, stands for that int (1-D, 2-D and 3-D windows).
      return Array.isArray(v) && (v.length === 1 || ((v.length === 2 || v.length === 3) && v.every((x) => x === v[0]))) ? v[0] : v;
    case 'activation':
      return v === 'linear' ? null : v;
    case 'regularizer': {
      if (v === null || typeof v !== 'object') return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== 0) out[k] = x;
      return Object.keys(out).length ? out : null;
    }
    case 'initializer':
      return typeof v === 'string' ? INITIALIZER_ALIASES[v.toLowerCase().replace(/_/g, '')] ?? INITIALIZER_ALIASES[v] ?? v : v;
    case 'axis': {
      const abs = (x: unknown) => (typeof x === 'number' && x < 0 && rank !== undefined && x + rank >= 0 ? x + rank : x);
      if (!Array.isArray(v)) return abs(v);
      const axes = [...new Set(v.map(abs))].sort((x, y) => (x as number) - (y as number));
      return axes.length === 1 ? axes[0] : axes;
    }
    default:
      return v;
  }
}

/**
 * The attributes in normal form: every declared attribute present (its default where
 * absent), in the op's declared order, then any others. `rank`: as for `normalValue`. The same object back when nothing
 * changes; unknown ops (no definition) are returned as they are.
 */
export function normalAttrs(def: OpDef | undefined, attrs: Attrs, rank?: number): Attrs {
  if (!def) return attrs;
  let out: Record<string, unknown> | undefined;
  const keys = Object.keys(def.attrs);
  let i = 0;
  const own = Object.keys(attrs);
  let sameOrder = own.length === keys.length;
  for (const key of keys) {
    const a = def.attrs[key]!;
    const present = Object.prototype.hasOwnProperty.call(attrs, key);
    const v = present ? attrs[key] : a.default;
    const n = normalValue(key, a, v, rank);
    if (own[i++] !== key) sameOrder = false;
    if (n !== v || !present) (out ??= {})[key] = n;
  }
  if (!out && sameOrder) return def.normalize ? def.normalize(attrs) : attrs;
  const full: Record<string, unknown> = {};
  for (const key of keys) full[key] = out && key in out ? out[key] : attrs[key];
  for (const key of own) if (!(key in full)) full[key] = attrs[key];
  return def.normalize ? def.normalize(full) : full;
}
