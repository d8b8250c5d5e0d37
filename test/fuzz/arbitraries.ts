/**
 * What the fuzzer feeds the compiler. Each generator is a fast-check arbitrary of FuzzCase:
 *
 *  - garbage:        random strings: binary, full unicode, control characters, lone surrogates;
 *  - yamlish:        YAML-looking token soup: indentation, anchors and aliases, tags, directives,
 *                    block scalars, flow collections, spec keys and op names, `${...}`;
 *  - structural:     structurally valid specs drawn from the language's shapes: params of every
 *                    type, let, assert, inputs, blocks (params, several inputs, output), and items
 *                    (ops of the registry with attribute values drawn from their schemas, repeat,
 *                    for, branches, share, block calls, when, id/from), mostly shape-correct;
 *  - mutation:       the real specs (specs/, specs/examples/, the baseline cases) parsed and
 *                    mutated: deleted keys, swapped types, wrong references, extreme numbers,
 *                    unicode and very long names, deep nesting, duplicated items, `__proto__` and
 *                    `constructor` keys, random `${...}`, hostile `use:` paths;
 *  - text-mutation:  the real specs' text cut, spliced, re-indented, truncated, with bytes inserted;
 *  - bomb:           resource attacks at random sizes (alias fan-out, nesting near the limits,
 *                    repeat counts, empty nested loops, string and list doubling, big ranges,
 *                    long and deep expressions, block chains, many references, huge shapes).
 *
 * Any case may come with `--set` arguments and lowered limits.
 */
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { builtinRegistry, type Limits } from '../../src/index.js';
import { ACTIVATIONS, INITIALIZERS } from '../../src/ops/attrs.js';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import type { FuzzCase } from './harness.js';
import { HOSTILE_USES, PROJECT, seedFiles } from './project.js';
import { Draw, objectOf, setKey } from './random.js';

const registry = builtinRegistry();
const OPS = registry.all().filter((o) => o.arity !== 'none');
const MERGES = OPS.filter((o) => o.arity === 'merge').map((o) => o.name);

// ---- small pieces ----------------------------------------------------------

const CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).concat(['\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff', '\ud800', '\udc00', '\u200b', '\u202e']);
const UNICODE_NAMES = ['ñame', '名前', 'Ωmega', '𝔘𝔫𝔦', 'emoji_😀', 'a\u0301', 'ＦＵＬＬ', 'x\u200by', '\u202eevil', 'İstanbul'];
export const SPECIAL_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
export const EXTREME_VALUES: unknown[] = [
  0, -0, -1, 1, 2, 0.5, -0.5, 1.5, 1e308, -1e308, 5e-324, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53) - 2, Number.MAX_SAFE_INTEGER,
  Number.NaN, Infinity, -Infinity, 'NaN', '.nan', '.inf', '-.inf', 'Infinity', '1e999', '0x10', '0o17', '1_000', '+1', '-0', '',
  ' ', 'null', 'true', 'yes', 'no', '~', null, true, false, [], {}, [[]], [null], [1, 2, 3], [0, 0], [-1, -1], { a: 1 }, '$', '$$', '${',
  '${}', '$x', '${1/0}', '${2 ** 1024}', '${-1}', '${"a"}', '${[1, 2]}', '${null}', 'x'.repeat(10_000), '名前', '\u0000', '\ud800',
];
const EXTREME_NUMBER_TEXT = ['0', '-1', '1e308', '-1e308', '1e309', '9007199254740993', '9007199254740992', '-9007199254740993', '.nan', '.inf', '-.inf', '0x7fffffff', '0o777', '1.5', '-0', '00', '1_0', '+12', '4e-400', '123456789012345678901234567890'];

function ident(d: Draw, prefix = 'v'): string {
  return d.lazy<string>([
    [12, () => `${prefix}${d.int(0, 5)}`],
    [2, () => d.pick(['x', 'n', 'i', 'k', 'f', 'h', 'a', 'b', 'stage', 'filters', 'units', 'block'])],
    [1, () => d.pick(SPECIAL_KEYS)],
    [1, () => d.pick(UNICODE_NAMES)],
    [1, () => 'n'.repeat(d.int(100, 3000))],
  ]);
}

// ---- expressions -----------------------------------------------------------

const BIN_OPS = ['+', '-', '*', '/', '//', '%', '**', '==', '!=', '<', '<=', '>', '>=', '&&', '||'];
const FUNCS = ['min', 'max', 'floor', 'ceil', 'round', 'abs', 'range', 'len'];

/** Any expression text: mostly well-formed, of any type, sometimes broken. */
export function exprText(d: Draw, vars: readonly string[], depth = 0): string {
  const leaf = (): string =>
    d.lazy<string>([
      [4, () => String(d.pick([0, 1, 2, 3, 8, 16, -1, 0.5, 1e308, 2 ** 53 + 1, 1e-320]))],
      [4, () => (vars.length ? d.pick(vars) : 'n')],
      [1, () => d.pick(['true', 'false', 'null'])],
      [1, () => JSON.stringify(d.pick(['a', '', 'relu', 'same', '${x}', '\\', '"', '名前']))],
      [1, () => `'${d.pick(['a', 'b\\n', 'it\\\'s'])}'`],
      [1, () => d.pick(['.5', '1e-4', '1.', '007', '1e', '.', '..', '1..2', '0x1'])],
    ]);
  if (depth > 4) return leaf();
  const sub = () => exprText(d, vars, depth + 1);
  return d.lazy<string>([
    [6, leaf],
    [5, () => `${sub()} ${d.pick(BIN_OPS)} ${sub()}`],
    [2, () => `(${sub()})`],
    [2, () => `${d.pick(['-', '!', '+', '--', '!!'])}${sub()}`],
    [3, () => `${d.pick(FUNCS)}(${d.times(0, 3, sub).join(', ')})`],
    [2, () => `[${d.times(0, 4, sub).join(', ')}${d.chance(0.1) ? ',' : ''}]`],
    [2, () => `${sub()}[${sub()}]`],
    [2, () => `${sub()} ? ${sub()} : ${sub()}`],
    [1, () => d.pick(['(', ')', '[', ']', '?', ':', ',', 'a.b', 'eval("1")', 'x y', '&', '|', '=', '@', '$x', '${x}', '"unterminated', 'fn(1)', 'range(1)(2)', '1[0]'])],
  ]);
}

/** An expression that evaluates to an integer >= lo, using int variables. */
function intExpr(d: Draw, intVars: readonly string[], lo = 1): string {
  const v = intVars.length ? d.pick(intVars) : undefined;
  const k = d.int(lo, 4);
  if (!v) return `\${${d.pick([`${k}`, `${k} * 2`, `max(${lo}, ${k} - 1)`, `len(range(${k}))`, `${k} // 1`, `round(${k}.4)`])}}`;
  return d.pick([`$${v}`, `\${${v} + ${k}}`, `\${max(${lo}, ${v})}`, `\${${v} * ${k}}`, `\${${v} // 1 + ${lo}}`, `\${min(${v}, 64) + ${lo}}`, `\${abs(${v}) + ${lo}}`]);
}

// ---- attribute values from the op schemas ------------------------------------

type Schema = Record<string, unknown>;

/** A value for a JSON Schema: within its bounds when `valid`, anything close to it otherwise. */
export function valueOf(d: Draw, schema: Schema, valid: boolean, small = true): unknown {
  if (!valid && d.chance(0.3)) return d.pick(EXTREME_VALUES);
  if (Array.isArray(schema.anyOf)) return valueOf(d, d.pick(schema.anyOf as Schema[]), valid, small);
  if (Array.isArray(schema.enum)) return d.pick(schema.enum as unknown[]);
  if ('const' in schema) return schema.const;
  switch (schema.type) {
    case 'integer': {
      const lo = typeof schema.minimum === 'number' ? schema.minimum : -2;
      const hi = typeof schema.maximum === 'number' ? schema.maximum : lo + (small ? 3 : 64);
      return d.int(lo, Math.max(lo, hi));
    }
    case 'number': {
      const lo = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1e-3 : 0;
      const hi = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1e-3 : lo + 1;
      return Math.round((lo + (hi - lo) * d.int(0, 1000) / 1000) * 1000) / 1000;
    }
    case 'boolean': return d.chance(0.5);
    case 'null': return null;
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : min + 3;
      return d.times(min, max, () => valueOf(d, (schema.items as Schema) ?? {}, valid, small));
    }
    case 'object': {
      const props = Object.entries((schema.properties as Record<string, Schema>) ?? {});
      const chosen = props.filter(() => d.chance(0.6));
      if (chosen.length === 0 && props.length) chosen.push(props[0]!);
      return Object.fromEntries(chosen.map(([k, s]) => [k, valueOf(d, s, valid, small)]));
    }
    default: return d.pick(EXTREME_VALUES);
  }
}

// ---- structural specs ----------------------------------------------------------

type Rank = 1 | 3 | undefined;

interface GenScope {
  ints: string[];
  bools: string[];
  /** References visible here (inputs and ids). */
  refs: string[];
  /** Ids of earlier layers with weights, for share:. */
  weighted: string[];
  blocks: { name: string; params: { name: string; required: boolean }[]; inputs: number }[];
  inBlock: boolean;
}

class SpecGen {
  private idCounter = 0;
  constructor(private readonly d: Draw, private readonly wild: boolean) {}

  freshId(): string {
    const d = this.d;
    // Now and then an id that is also a generated name (dense_1, repeat0, branch0, the input x) or a used id.
    if (d.chance(0.08)) return d.pick(['dense', 'dense_1', 'conv2d', 'activation', 'activation_1', 'repeat0', 'repeat1', 'branch0', 'add', 'x', 'k00', 'i01', 'blk1', 'id0']);
    return d.chance(this.wild ? 0.1 : 0.01) ? ident(d, 'id') : `id${this.idCounter++}`;
  }

  when(s: GenScope): unknown {
    const d = this.d;
    return d.lazy<unknown>([
      [3, () => true],
      [2, () => false],
      [3, () => (s.bools.length ? `$${d.pick(s.bools)}` : true)],
      [2, () => (s.ints.length ? `\${${d.pick(s.ints)} > ${d.int(0, 3)}}` : false)],
      [1, () => (this.wild ? d.pick<unknown>([1, 'yes', null, '${1}', `\${${exprText(d, s.ints)}}`]) : true)],
    ]);
  }

  /** The attributes of an op whose output keeps a rank-`rank` input's rank (and, `keepDims`, its shape). */
  layer(s: GenScope, rank: Rank, keepDims: boolean): { item: Record<string, unknown>; rank: Rank } {
    const d = this.d;
    const int = (lo = 1) => (d.chance(0.3) ? intExpr(d, s.ints, lo) : d.int(lo, 4));
    const pick = (list: (readonly [number, () => [string, unknown, Rank]])[]) => d.weighted(list)();
    let op: string, attrs: unknown, out: Rank;
    if (this.wild && d.chance(0.5)) {
      const def = d.pick(OPS);
      op = def.name;
      attrs = Object.fromEntries(Object.entries(def.attrs).filter(([, a]) => a.required || d.chance(0.3)).map(([k, a]) => [k, d.chance(0.2) ? `\${${exprText(d, s.ints)}}` : valueOf(d, a.schema, !d.chance(0.3), false)]));
      out = undefined;
    } else if (rank === 3) {
      [op, attrs, out] = pick([
        [3, () => ['conv2d', { filters: int(), kernel_size: d.pick([1, 3, [1, 3]]), padding: 'same', ...(d.chance(0.3) ? { activation: d.pick(ACTIVATIONS) } : {}), ...(d.chance(0.2) ? { kernel_regularizer: { l2: 1e-4 } } : {}), ...(d.chance(0.2) ? { kernel_initializer: d.pick(INITIALIZERS) } : {}) }, 3]],
        [1, () => ['depthwise_conv2d', { kernel_size: 3, padding: 'same', depth_multiplier: d.int(1, 2) }, 3]],
        [1, () => ['separable_conv2d', { filters: int(), kernel_size: 3, padding: 'same' }, 3]],
        [2, () => ['batch_normalization', d.chance(0.5) ? {} : { momentum: 0.9, epsilon: 1e-5 }, 3]],
        [2, () => ['activation', d.chance(0.5) ? d.pick(ACTIVATIONS) : { activation: d.pick([...ACTIVATIONS, null]) }, 3]],
        [1, () => ['dropout', d.chance(0.5) ? 0.25 : { rate: d.pick([0, 0.1, 0.5, 0.99]) }, 3]],
        [1, () => ['layer_normalization', {}, 3]],
        ...(keepDims ? [] : [
          [2, () => ['max_pooling2d', d.chance(0.5) ? null : { pool_size: 2, padding: 'same' }, 3]],
          [1, () => ['average_pooling2d', { pool_size: d.pick([1, 2]), padding: 'same' }, 3]],
          [1, () => ['up_sampling2d', { size: d.pick([1, 2, [2, 1]]) }, 3]],
          [1, () => ['zero_padding2d', { padding: d.pick([0, 1, [1, 2], [[0, 1], [1, 0]]]) }, 3]],
          [1, () => ['conv2d_transpose', { filters: int(), kernel_size: 2, strides: 2 }, 3]],
          [2, () => ['flatten', d.chance(0.5) ? {} : null, 1]],
          [2, () => [d.pick(['global_average_pooling2d', 'global_max_pooling2d']), {}, 1]],
        ] as (readonly [number, () => [string, unknown, Rank]])[]),
      ]);
    } else {
      [op, attrs, out] = pick([
        [4, () => ['dense', d.chance(0.4) ? int() : { units: int(), ...(d.chance(0.4) ? { activation: d.pick(ACTIVATIONS) } : {}), ...(d.chance(0.2) ? { use_bias: false } : {}) }, 1]],
        [2, () => ['activation', d.pick(ACTIVATIONS), rank]],
        [1, () => ['dropout', { rate: d.pick([0, 0.3]) }, rank]],
        [1, () => ['batch_normalization', {}, rank]],
        [1, () => ['layer_normalization', {}, rank]],
        ...(keepDims || rank !== 1 ? [] : [[1, () => ['reshape', { target_shape: d.pick([[1, 1, -1], [-1, 1, 1]]) }, 3]]] as (readonly [number, () => [string, unknown, Rank]])[]),
      ]);
    }
    return { item: objectOf([[op, attrs]]), rank: out };
  }

  /** A list of items that takes a rank-`rank` input. */
  sequence(s: GenScope, rank: Rank, depth: number, keepDims: boolean, min = 1, max = 4): { items: unknown[]; rank: Rank } {
    const d = this.d;
    const items: unknown[] = [];
    let r = rank;
    const n = d.int(min, depth > 1 ? Math.min(max, 2) : max);
    for (let k = 0; k < n; k++) {
      const kinds: [number, string][] = [[10, 'layer']];
      if (depth < 3) kinds.push([2, 'repeat'], [2, 'for'], [2, 'branches']);
      if (s.weighted.length) kinds.push([1, 'share']);
      if (s.blocks.length) kinds.push([3, 'call']);
      const kind = d.weighted(kinds);
      let item: Record<string, unknown>;
      let out: Rank = r;
      switch (kind) {
        case 'repeat': {
          // The counter starts at 0: the body sees it through a let as a positive int.
          const as = d.chance(0.5) ? `i${depth}` : undefined;
          const inner = { ...s, refs: [...s.refs], weighted: [...s.weighted], ints: as ? [...s.ints, `w${depth}`] : s.ints };
          const body = this.sequence(inner, r, depth + 1, true, 1, 3);
          item = { repeat: d.chance(0.7) ? d.int(0, 3) : intExpr(d, s.ints, 0), ...(as ? { as } : {}), layers: body.items };
          if (as) item.let = { [`w${depth}`]: `\${${as} + 1}` };
          break;
        }
        case 'for': {
          const v = `k${depth}`;
          const inner = { ...s, refs: [...s.refs], weighted: [...s.weighted], ints: [...s.ints, v] };
          const body = this.sequence(inner, r, depth + 1, true, 1, 3);
          item = { for: v, in: d.pick<unknown>([[1, 2], [], [2], '${range(1, 3)}', `\${range(1, ${d.int(1, 3)})}`, '${[1, 2] + [3]}']), layers: body.items };
          break;
        }
        case 'branches': {
          const merge = d.weighted([[3, 'add'], [2, 'concatenate'], [1, d.pick(MERGES)]]);
          const bodies = d.times(1, 3, () => {
            const b = this.sequence({ ...s, refs: [...s.refs], weighted: [...s.weighted] }, r, depth + 1, true, 0, 2).items;
            return d.chance(0.15) && s.refs.length ? { from: d.pick(s.refs), layers: b } : b;
          });
          item = { branches: bodies, merge };
          if (merge === 'concatenate' && d.chance(0.3)) item.axis = -1;
          if (d.chance(0.2)) item.let = { z: intExpr(d, s.ints) };
          break;
        }
        case 'share': {
          item = { share: d.pick(s.weighted) };
          break;
        }
        case 'call': {
          const b = d.pick(s.blocks);
          const args = Object.fromEntries(b.params.filter((p) => p.required || d.chance(0.5)).map((p) => [p.name, d.chance(0.3) ? intExpr(d, s.ints) : d.int(1, 4)]));
          item = objectOf([[b.name, Object.keys(args).length || d.chance(0.5) ? args : null]]);
          if (b.inputs > 1) item.from = d.times(b.inputs, b.inputs, () => (s.refs.length ? d.pick(s.refs) : 'x'));
          break;
        }
        default: {
          const l = this.layer(s, r, keepDims);
          item = l.item;
          out = l.rank;
        }
      }
      if (d.chance(0.15)) item.when = this.when(s);
      if (kind !== 'call' && s.refs.length && (d.chance(0.1) || (k === 0 && depth === 0 && s.refs.length > 1))) item.from = d.pick(s.refs);
      if (this.wild && d.chance(0.1)) item.from = d.pick([ident(d, 'id'), [d.pick(s.refs.length ? s.refs : ['x']), 'nope'], [], 'a/b']);
      if (d.chance(0.35)) {
        const id = this.freshId();
        item.id = id;
        s.refs.push(id);
        if (kind === 'layer' && Object.keys(item).some((k) => ['conv2d', 'dense', 'batch_normalization', 'separable_conv2d', 'depthwise_conv2d', 'layer_normalization'].includes(k))) s.weighted.push(id);
      }
      items.push(item);
      r = out;
    }
    return { items, rank: r };
  }

  spec(): Record<string, unknown> {
    const d = this.d;
    const spec: Record<string, unknown> = { modelspec: 1 };
    if (d.chance(0.5)) spec.name = d.chance(0.9) ? 'fuzz_model' : ident(d, 'm');
    if (d.chance(0.2)) spec.doc = d.pick(['a model', '名前 doc', '${not an expression}', 'x'.repeat(d.int(0, 500))]);
    const s: GenScope = { ints: [], bools: [], refs: [], weighted: [], blocks: [], inBlock: false };

    // params
    const params: Record<string, unknown> = {};
    let shapeParam: string | undefined;
    for (let k = d.int(0, 4); k > 0; k--) {
      const name = `p${k}`;
      const type = d.pick(['int', 'int', 'float', 'bool', 'string', 'enum', 'shape', 'activation']);
      const decl: Record<string, unknown> = { type };
      switch (type) {
        case 'int': decl.default = d.int(1, 6); if (d.chance(0.5)) decl.min = 1; if (d.chance(0.3)) decl.max = d.int(6, 9); s.ints.push(name); break;
        case 'float': decl.default = d.pick([0, 0.25, 0.5]); if (d.chance(0.5)) { decl.min = 0; decl.max = 0.9; } break;
        case 'bool': decl.default = d.chance(0.5); s.bools.push(name); break;
        case 'string': decl.default = d.pick(['he_normal', 'x', '']); break;
        case 'enum': decl.values = d.pick([['a', 'b'], [1, 2, 3], ['same', 'valid']]); decl.default = (decl.values as unknown[])[0]; break;
        case 'shape': decl.default = d.pick([[8], [6, 6, 2], [4, 4, 1]]); shapeParam = name; break;
        case 'activation': decl.default = d.pick([...ACTIVATIONS, null]); if (decl.default === null) decl.nullable = true; break;
      }
      if (d.chance(this.wild ? 0.1 : 0.02)) delete decl.default;
      if (d.chance(0.2)) decl.doc = 'a parameter';
      params[name] = decl;
    }
    if (Object.keys(params).length) spec.params = params;

    // let and assert
    const lets: Record<string, unknown> = {};
    for (let k = d.int(0, 3); k > 0; k--) {
      const name = `l${k}`;
      if (d.chance(0.7)) { lets[name] = intExpr(d, s.ints); s.ints.push(name); }
      else if (this.wild) lets[name] = `\${${exprText(d, [...s.ints, ...s.bools])}}`;
      else { lets[name] = s.ints.length ? `\${${d.pick(s.ints)} > 2}` : true; s.bools.push(name); }
    }
    if (Object.keys(lets).length) spec.let = lets;
    if (d.chance(0.3)) {
      spec.assert = d.times(1, 2, () => ({
        that: this.wild && d.chance(0.3) ? `\${${exprText(d, s.ints)}}` : s.ints.length ? `\${${d.pick(s.ints)} >= 1}` : '${true}',
        message: d.pick(['must hold', 'n must be positive', '名前']),
      }));
    }

    // inputs
    const inputs: Record<string, unknown> = {};
    const nInputs = d.weighted([[8, 1], [2, 2], [1, 0]]);
    let rank: Rank = undefined;
    for (let k = 0; k < nInputs; k++) {
      const name = k === 0 ? 'x' : `in${k}`;
      let shape: unknown;
      if (shapeParam && d.chance(0.3)) { shape = `$${shapeParam}`; rank = undefined; }
      else if (d.chance(0.5)) { shape = [d.int(4, 12), d.int(4, 12), d.int(1, 3)]; rank ??= 3; }
      else { shape = [d.chance(0.2) && s.ints.length ? `$${d.pick(s.ints)}` : d.int(1, 16)]; rank ??= 1; }
      inputs[name] = { shape, ...(d.chance(0.1) ? { dtype: d.pick(['float32', 'int32', 'bool']) } : {}) };
      s.refs.push(name);
    }
    if (nInputs) spec.inputs = inputs;

    // blocks
    if (d.chance(0.4)) {
      const blocks: Record<string, unknown> = {};
      for (let k = d.int(1, 2); k > 0; k--) {
        const name = d.chance(0.95) ? `blk${k}` : d.pick(['dense', 'blk1', ident(d, 'b')]);
        const required = d.chance(0.5);
        const nIn = d.weighted([[4, 1], [1, 2]]);
        const inNames = nIn === 1 ? ['x'] : ['a', 'b'];
        const inner: GenScope = { ints: ['u'], bools: [], refs: [...inNames], weighted: [], blocks: [...s.blocks], inBlock: true };
        const body = nIn === 2
          ? [{ branches: [[], { from: 'b', layers: [] }], merge: d.pick(['add', 'concatenate']) }, ...this.sequence(inner, undefined, 2, true, 0, 2).items]
          : this.sequence(inner, d.pick<Rank>([1, 3]), 2, true, 1, 3).items;
        const block: Record<string, unknown> = {
          params: { u: { type: 'int', ...(required ? {} : { default: d.int(1, 4) }), min: 1 } },
          ...(nIn === 2 ? { inputs: inNames } : {}),
          layers: body,
        };
        if (d.chance(0.2)) block.let = { uu: '${u * 2}' };
        if (d.chance(0.2)) block.assert = [{ that: '${u >= 1}', message: 'u >= 1' }];
        if (d.chance(0.1)) block.output = d.pick(inNames);
        blocks[name] = block;
        s.blocks.push({ name, params: [{ name: 'u', required }], inputs: nIn });
      }
      spec.blocks = blocks;
    }

    const body = this.sequence(s, rank, 0, false, 1, 6);
    spec.layers = body.items;
    if (d.chance(0.15) && s.refs.length) spec.outputs = d.chance(0.5) ? d.pick(s.refs) : d.times(1, 2, () => d.pick(s.refs));
    if (d.chance(0.05)) spec.training = { optimizer: 'adam', epochs: d.int(1, 3), batch_size: d.pick([1, 32, 0, -1]) };
    return spec;
  }
}

/** YAML text of a value, in one of several styles. */
function serialize(d: Draw, value: unknown): string {
  const style = d.weighted<string>([[6, 'block'], [2, 'any'], [1, 'flow'], [1, 'json']]);
  if (style === 'json') return JSON.stringify(value, null, d.pick([0, 2]));
  try {
    return stringify(value, {
      collectionStyle: style as 'block' | 'any' | 'flow',
      indent: d.pick([2, 2, 4, 1]),
      lineWidth: d.pick([0, 80, 20]),
      ...(d.chance(0.2) ? { defaultStringType: d.pick(['QUOTE_DOUBLE', 'QUOTE_SINGLE', 'PLAIN'] as const) } : {}),
    });
  } catch {
    return JSON.stringify(value) ?? 'null';
  }
}

// ---- mutations of the real specs ------------------------------------------------

interface Seed {
  path: string;
  text: string;
  value: unknown;
}

let parsedSeeds: Seed[] | undefined;
function seeds(): Seed[] {
  parsedSeeds ??= seedFiles().map((f) => {
    let value: unknown = null;
    try {
      value = parseDocument(f.text, { schema: 'core', uniqueKeys: false }).toJS({ maxAliasCount: 1000 });
    } catch {
      value = null;
    }
    return { ...f, value };
  });
  return parsedSeeds;
}

type PathStep = string | number;

function allPaths(v: unknown, path: PathStep[] = [], out: PathStep[][] = []): PathStep[][] {
  out.push(path);
  if (out.length > 5000 || path.length > 120) return out;
  if (Array.isArray(v)) v.forEach((x, i) => allPaths(x, [...path, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) allPaths((v as Record<string, unknown>)[k], [...path, k], out);
  return out;
}

function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) setKey(o, k, clone((v as Record<string, unknown>)[k]));
    return o;
  }
  return v;
}

function getAt(root: unknown, path: readonly PathStep[]): unknown {
  let v = root;
  for (const p of path) v = (v as Record<string | number, unknown>)?.[p];
  return v;
}

/** Names found in a spec: ids, input names, block names, variables: for wrong references that look right. */
function namesIn(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) v.forEach((x) => namesIn(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (/^[A-Za-z_]\w*$/.test(k)) out.add(k);
      namesIn(x, out);
    }
  } else if (typeof v === 'string' && /^\$?[A-Za-z_]\w*$/.test(v)) out.add(v.replace(/^\$/, ''));
  return out;
}

function deepNest(d: Draw, v: unknown): unknown {
  const depth = d.pick([10, 50, 99, 100, 101, 150, 300]);
  let out = v;
  const asList = d.chance(0.5);
  for (let k = 0; k < depth; k++) out = asList ? [out] : { a: out };
  return out;
}

function mutate(d: Draw, root: unknown): unknown {
  const paths = allPaths(root);
  const path = d.pick(paths);
  const names = [...namesIn(root)];
  const parentPath = path.slice(0, -1);
  const last = path[path.length - 1];
  const parent = getAt(root, parentPath) as Record<string | number, unknown> | unknown[] | undefined;
  const cur = getAt(root, path);
  const replace = (v: unknown): unknown => {
    if (path.length === 0) return v;
    if (Array.isArray(parent)) parent[last as number] = v;
    else if (parent && typeof parent === 'object') setKey(parent as Record<string, unknown>, String(last), v);
    return root;
  };
  const op = d.weighted<string>([
    [4, 'delete'], [5, 'extreme'], [3, 'swapType'], [3, 'renameKey'], [2, 'specialKey'], [3, 'duplicate'], [4, 'wrongRef'],
    [2, 'nest'], [4, 'expr'], [2, 'longName'], [1, 'use'], [2, 'wrapRepeat'], [1, 'bigCount'], [1, 'shuffle'],
  ]);
  switch (op) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else if (parent && typeof parent === 'object') delete (parent as Record<string, unknown>)[String(last)];
      else return null;
      return root;
    case 'extreme': return replace(d.pick(EXTREME_VALUES));
    case 'swapType':
      return replace(Array.isArray(cur) ? Object.fromEntries(cur.map((x, i) => [String(i), x])) : cur && typeof cur === 'object' ? Object.values(cur) : typeof cur === 'number' ? String(cur) : typeof cur === 'string' ? (Number.isNaN(Number(cur)) ? [cur] : Number(cur)) : typeof cur === 'boolean' ? String(cur) : { value: cur });
    case 'renameKey':
    case 'specialKey':
    case 'longName': {
      if (!parent || typeof parent !== 'object' || Array.isArray(parent)) return replace(op === 'longName' ? 'n'.repeat(d.int(50, 5000)) : d.pick(SPECIAL_KEYS));
      const name = op === 'specialKey' ? d.pick(SPECIAL_KEYS) : op === 'longName' ? d.pick(['n'.repeat(d.int(50, 5000)), d.pick(UNICODE_NAMES)]) : d.pick([...names, ...UNICODE_NAMES, 'layers', 'inputs', 'id', 'from']);
      const entries = Object.keys(parent).map((k) => [k === String(last) ? name : k, (parent as Record<string, unknown>)[k]] as const);
      for (const k of Object.keys(parent)) delete (parent as Record<string, unknown>)[k];
      for (const [k, v] of entries) setKey(parent as Record<string, unknown>, k, v);
      if (op === 'specialKey' && d.chance(0.5)) setKey(parent as Record<string, unknown>, d.pick(SPECIAL_KEYS), { polluted: true, layers: [] });
      return root;
    }
    case 'duplicate':
      if (Array.isArray(parent)) { parent.splice(last as number, 0, clone(cur)); return root; }
      if (Array.isArray(cur) && cur.length) { cur.push(...cur.map(clone)); return root; }
      return replace([cur, clone(cur)]);
    case 'wrongRef': {
      const name = d.weighted<string>([[5, d.pick(names.length ? names : ['x'])], [2, 'nope'], [1, 'a/b'], [1, 'x/conv2d'], [1, ''], [1, d.pick(SPECIAL_KEYS)]]);
      const where = d.pick(['from', 'share', 'outputs', 'output', 'as', 'for', 'merge', 'id']);
      if (parent && typeof parent === 'object' && !Array.isArray(parent) && d.chance(0.5)) {
        setKey(parent as Record<string, unknown>, where, d.chance(0.3) ? [name, d.pick(names.length ? names : ['x'])] : name);
        return root;
      }
      return replace(d.chance(0.5) ? name : `$${name}`);
    }
    case 'nest': return replace(deepNest(d, cur));
    case 'expr': return replace(d.lazy<string>([[4, () => `\${${exprText(d, names.slice(0, 20))}}`], [1, () => `$${d.pick(names.length ? names : ['n'])}`], [1, () => d.pick(['$', '${', '${}', '$$x', '$1', '${${x}}', '$x y', `\${${'('.repeat(70)}1${')'.repeat(70)}}`, `\${${'1+'.repeat(2100)}1}`])]]));
    case 'use': {
      if (root && typeof root === 'object' && !Array.isArray(root)) setKey(root as Record<string, unknown>, 'use', d.times(1, 3, () => d.pick(HOSTILE_USES)));
      return root;
    }
    case 'wrapRepeat': {
      const body = Array.isArray(cur) ? cur : [cur];
      return replace([{ repeat: d.pick<unknown>([0, 1, 2, 100, '${2 ** 20}', -1, 1.5]), layers: body }]);
    }
    case 'bigCount':
      return replace(d.pick<unknown>([1e6, 2 ** 53 + 1, 1e308, '${range(100000)}', '${10 ** 9}', [100000000, 100000000, 1000]]));
    case 'shuffle':
      if (Array.isArray(cur) && cur.length > 1) cur.reverse();
      return root;
  }
  return root;
}

/** Mutations of the text itself: what a broken editor, a bad merge or a truncated upload gives. */
function mutateText(d: Draw, text: string): string {
  const at = () => d.int(0, text.length);
  const lines = text.split('\n');
  const line = () => d.int(0, Math.max(0, lines.length - 1));
  switch (d.weighted<string>([[3, 'cut'], [3, 'insert'], [2, 'dupLine'], [2, 'dropLine'], [2, 'swapLines'], [3, 'indent'], [2, 'number'], [1, 'truncate'], [1, 'crlf'], [1, 'bom'], [2, 'anchor'], [1, 'tag'], [1, 'colon'], [1, 'tab']])) {
    case 'cut': { const a = at(); return text.slice(0, a) + text.slice(Math.min(text.length, a + d.int(1, 40))); }
    case 'insert': {
      const a = at();
      const junk = d.arb(fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 10 }), fc.constantFrom(...CONTROL), fc.constantFrom('${', '}', '[', '{', ': ', '- ', '&a ', '*a', '!!str ', '"', "'", '|', '>', '#', '---\n', '...\n', '%YAML 1.2\n', '? ')));
      return text.slice(0, a) + junk + text.slice(a);
    }
    case 'dupLine': { const l = line(); lines.splice(l, 0, lines[l]!); return lines.join('\n'); }
    case 'dropLine': { lines.splice(line(), 1); return lines.join('\n'); }
    case 'swapLines': { const a = line(), b = line(); [lines[a], lines[b]] = [lines[b]!, lines[a]!]; return lines.join('\n'); }
    case 'indent': {
      const l = line();
      const delta = d.pick([-4, -2, -1, 1, 2, 4]);
      lines[l] = delta > 0 ? ' '.repeat(delta) + lines[l] : lines[l]!.slice(Math.min(-delta, /^ */.exec(lines[l]!)![0].length));
      return lines.join('\n');
    }
    case 'number': {
      const nums = [...text.matchAll(/-?\b\d+(\.\d+)?\b/g)];
      if (!nums.length) return text + '\n';
      const m = d.pick(nums);
      return text.slice(0, m.index) + d.pick(EXTREME_NUMBER_TEXT) + text.slice(m.index! + m[0].length);
    }
    case 'truncate': return text.slice(0, at());
    case 'crlf': return text.replace(/\n/g, d.pick(['\r\n', '\r', '\n\n']));
    case 'bom': return `\ufeff${text}`;
    case 'anchor': {
      const l = line();
      lines[l] = lines[l]!.replace(/: (\S)/, (_, c) => `: ${d.pick(['&a ', '*a ', '&b ', '*b'])}${c}`);
      if (d.chance(0.5)) lines.splice(line(), 0, d.pick(['x: &a [*a]', 'y: *nope', 'z: &a {k: *a}', '<<: *a']));
      return lines.join('\n');
    }
    case 'tag': {
      const l = line();
      lines[l] = lines[l]!.replace(/: (\S)/, (_, c) => `: ${d.pick(['!!js/function ', '!!python/object ', '!custom ', '!!binary ', '!!set ', '!!omap ', '!!timestamp ', '!<tag:yaml.org,2002:str> ', '!!int ', '!!float ', '!'])}${c}`);
      return lines.join('\n');
    }
    case 'colon': return text.replace(d.chance(0.5) ? /: / : /- /, d.pick([':', ' : ', ':: ', '-']));
    case 'tab': { const l = line(); lines[l] = `\t${lines[l]}`; return lines.join('\n'); }
  }
  return text;
}

// ---- bombs ------------------------------------------------------------------

const H = 'modelspec: 1\ninputs:\n  x: {shape: [4]}\n';

function bomb(d: Draw): string {
  switch (d.int(0, 17)) {
    case 0: { // alias fan-out
      const fan = d.int(2, 12), depth = d.int(2, 9);
      const lines = [`a0: &a0 [${Array(fan).fill('lol').join(', ')}]`];
      for (let i = 1; i < depth; i++) lines.push(`a${i}: &a${i} [${Array(fan).fill(`*a${i - 1}`).join(', ')}]`);
      return `modelspec: 1\nlet:\n${lines.map((l) => `  ${l}`).join('\n')}\n${d.chance(0.5) ? `inputs:\n  x: {shape: [4]}\nlayers:\n  - dense: 2\n` : ''}`;
    }
    case 1: { // flow nesting near the limit
      const n = d.pick([98, 99, 100, 101, 102, 5000, 100_000]);
      const open = d.pick(['[', '{a: ', '[{b: ']);
      const close = open === '[' ? ']' : open === '{a: ' ? '}' : '}]';
      return `${H}layers:\n  - reshape: {target_shape: ${open.repeat(n)}1${close.repeat(n)}}\n`;
    }
    case 2: { // block nesting near the limit
      const n = d.pick([95, 98, 99, 100, 101, 200]);
      let y = '';
      for (let i = 0; i < n; i++) y += `${' '.repeat(i + 2)}${d.chance(0.5) ? `k${i}:` : '-'}\n`;
      return `modelspec: 1\nlet:\n  deep:\n${y}`;
    }
    case 3: { // repeat counts
      const n = d.pick<unknown>([20_000, 20_001, 1e6, 2 ** 53 + 1, 1e308, -1, 1.5, '"${10 ** 6}"', '"${2 ** 1023 * 2}"', 1e5]);
      const nest = d.int(1, 3);
      let body = '- dense: 4';
      for (let i = 0; i < nest; i++) body = `- repeat: ${n}\n  layers:\n${body.split('\n').map((l) => `    ${l}`).join('\n')}`;
      return `${H}layers:\n${body.split('\n').map((l) => `  ${l}`).join('\n')}\n`;
    }
    case 4: { // nested loops whose bodies make no nodes
      const a = d.pick([100, 1000, 20_000]), b = d.pick([100, 1000, 20_000]);
      const inner = d.pick(['- dense: 2\n  when: false', '- branches: [[], []]\n  merge: add\n  when: false', '- repeat: 0\n  layers: [{dense: 2}]']);
      return `${H}layers:\n  - repeat: ${a}\n    layers:\n      - for: j\n        in: \${range(${b})}\n        layers:\n${inner.split('\n').map((l) => `          ${l}`).join('\n')}\n  - dense: 2\n`;
    }
    case 5: { // string doubling
      const n = d.int(10, 40);
      const lets = [`  s0: "${'x'.repeat(d.int(1, 100))}"`];
      for (let i = 1; i <= n; i++) lets.push(`  s${i}: \${s${i - 1} + s${i - 1}}`);
      return `${H}let:\n${lets.join('\n')}\nlayers:\n  - dense: 2\n`;
    }
    case 6: { // list doubling and big lists
      const n = d.int(5, 30);
      const lets = [`  l0: \${range(${d.pick([10, 1000, 100_000])})}`];
      for (let i = 1; i <= n; i++) lets.push(`  l${i}: \${${d.pick([`l${i - 1} + l${i - 1}`, `[l${i - 1}, l${i - 1}]`, `[l${i - 1}] + [l${i - 1}]`])}}`);
      lets.push(`  m: \${${d.pick([`min(l${n})`, `max(l${n})`, `len(l${n})`, `l${n} == l${n}`, `l${n}[0]`, `l${n} != l${n - 1}`])}}`);
      return `${H}let:\n${lets.join('\n')}\nlayers:\n  - dense: 2\n    when: \${l${n} == 1}\n`;
    }
    case 7: { // big ranges
      const n = d.pick(['1000000000', '100000', '100001', '-100000, 100000', '0, 1e15, 1', '2 ** 53', '1e308']);
      return `${H}layers:\n  - for: i\n    in: \${range(${n})}\n    layers:\n      - dense: 4\n`;
    }
    case 8: { // long and deep expressions
      const n = d.pick([4090, 4096, 4097, 10_000]);
      const e = d.chance(0.5) ? '1 + '.repeat(Math.floor(n / 4)) + '1' : `${'('.repeat(d.pick([60, 63, 64, 65, 1000]))}1${')'.repeat(d.pick([60, 63, 64, 65, 1000]))}`;
      return `${H}let:\n  v: "\${${e}}"\nlayers:\n  - dense: 4\n`;
    }
    case 9: { // a chain of blocks deeper than the block limit, or a tree of calls (each block calls the next twice)
      const n = d.pick([10, 63, 64, 65, 100, 3000]);
      const fan = d.pick([1, 1, 2, 3]);
      const last = d.pick(['dense: 2', 'dense: 2\n        when: false', 'b0: {}']);
      const count = fan > 1 ? Math.min(n, 40) : n;
      const blocks = Array.from({ length: count }, (_, i) => `  b${i}:\n    layers:\n${i + 1 < count ? `      - b${i + 1}: {}\n`.repeat(fan) : `      - ${last}\n`}`).join('');
      return `${H}blocks:\n${blocks}layers:\n  - b0: {}\n`;
    }
    case 10: { // many items and references
      const n = d.pick([500, 2000, 5000]);
      const ids = d.chance(0.5);
      const items = Array.from({ length: n }, (_, i) => `  - dense: 2\n${ids ? `    id: d${i}\n` : ''}${d.chance(0.5) ? `    from: ${d.pick(['nope', `d${i + 1}`, `d${n - i}x`])}\n` : ''}`).join('');
      return `${H}layers:\n${items}`;
    }
    case 11: { // huge shapes
      const dims = d.pick(['[100000000, 100000000, 1000]', '[9007199254740991]', '[1e308]', '[4294967296, 4294967296]', '[1, 1, 1e15]']);
      return `modelspec: 1\ninputs:\n  x: {shape: ${dims}}\nlayers:\n  - ${d.pick(['flatten: {}', 'dense: 100000', 'conv2d: {filters: 100000, kernel_size: 3}', 'up_sampling2d: {size: 100000}', 'zero_padding2d: {padding: 1e15}'])}\n  - dense: ${d.pick([1, 100000, 2 ** 40])}\n`;
    }
    case 12: { // many lets doing work
      const n = d.pick([1000, 10_000, 30_000]);
      return `${H}let:\n${Array.from({ length: n }, (_, i) => `  a${i}: \${len(range(${d.pick([10, 1000, 99_999])}))}\n`).join('')}layers:\n  - dense: 2\n`;
    }
    case 13: { // a loop whose let works hard every iteration
      const n = d.pick([1000, 20_000]);
      return `${H}layers:\n  - repeat: ${n}\n    let:\n      a: \${len(range(${d.pick([1000, 100_000])}))}\n    layers:\n      - activation: relu\n`;
    }
    case 14: { // for over a list of duplicates
      return `${H}let:\n  a: [1,1,1,1,1,1,1,1,1,1]\n  b: \${a+a+a+a+a+a+a+a+a+a}\n  c: \${b+b+b+b+b+b+b+b+b+b}\n  e: \${c+c+c+c+c+c+c+c+c+c}\nlayers:\n  - for: i\n    in: $${d.pick(['b', 'c', 'e'])}\n    layers:\n      - activation: relu\n`;
    }
    case 15: { // many unnamed layers of one op in one scope
      return `${H}layers:\n${'  - activation: relu\n'.repeat(d.pick([1000, 5000, 15_000]))}`;
    }
    case 16: { // a file of many YAML errors
      return `${H}layers:\n${d.pick(['  - a: b: c\n', '  - [\n', '  -\t- x\n', ' "\n', '  - {a: [}\n']).repeat(d.pick([1000, 5000, 20_000]))}`;
    }
    default: { // a big file, of long strings or of as many YAML nodes as fit
      const size = d.pick([DEFAULT_LIMITS.maxFileBytes - 200, DEFAULT_LIMITS.maxFileBytes + 1]);
      const fill = (unit: string) => unit.repeat(Math.max(0, Math.floor(size / unit.length)));
      return d.pick([
        `${H}doc: "${'x'.repeat(size)}"\nlayers:\n  - dense: 2\n`,
        `${H}let:\n  a: [${fill('1,')}1]\nlayers:\n  - dense: 2\n`,
        `${H}let:\n  a:\n${fill('    - a\n')}layers:\n  - dense: 2\n`,
        `${H}layers:\n${fill('  - dense: 2\n')}`,
        `${H}layers:\n${fill('  - {dense: 2}\n')}`,
        `${H}let:\n${Array.from({ length: Math.floor(size / 12) }, (_, i) => `  a${i}: 1\n`).join('')}layers:\n  - dense: 2\n`,
        `${H}${fill('# comment\n')}layers:\n  - dense: 2\n`,
      ].map((t) => t.slice(0, size)));
    }
  }
}

// ---- the cases ------------------------------------------------------------------

function setArgs(d: Draw, text: string): string[] | undefined {
  if (!d.chance(0.1)) return undefined;
  const names = [...text.matchAll(/^ {2}([A-Za-z_]\w*):\s*\n? *\{? *"?type"?:/gm)].map((m) => m[1]!);
  return d.times(1, 3, () => {
    const name = d.weighted<string>([[12, names.length ? d.pick(names) : 'n'], [1, 'nope'], [1, ''], [1, d.pick(SPECIAL_KEYS)]]);
    const value = d.pick(['3', '-1', '0', '1e308', '2.5', '[64, 64, 3]', '[]', '', 'null', 'true', '"x"', 'relu', '!!js/function f', '&a [*a]', '{a: 1}', '[', '${n}', '9007199254740993', '.nan']);
    return d.chance(0.1) ? d.pick(['n', '=3', 'n==3', '']) : `${name}=${value}`;
  });
}

function lowLimits(d: Draw): Partial<Limits> | undefined {
  if (!d.chance(0.04)) return undefined;
  const names = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];
  const out: Partial<Limits> = {};
  for (const n of names) if (d.chance(0.3)) out[n] = d.pick([0, 1, 2, 5, 10, 50, 1000]);
  return out;
}

function finish(d: Draw, c: FuzzCase): FuzzCase {
  const set = setArgs(d, c.text);
  const limits = lowLimits(d);
  return { ...c, ...(set ? { set } : {}), ...(limits ? { limits } : {}) };
}

export const garbageCase: fc.Arbitrary<FuzzCase> = fc
  .oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 200 }),
    fc.string({ unit: fc.constantFrom(...CONTROL, 'a', ':', ' ', '\n', '-'), maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString(b.length % 2 ? 'utf8' : 'latin1')),
  )
  .map((text) => ({ kind: 'garbage', file: `${PROJECT}/specs/garbage.yaml`, text }));

const YAML_TOKENS = [
  'modelspec: 1\n', 'modelspec:', 'layers:', 'inputs:', 'params:', 'let:', 'blocks:', 'use:', 'outputs:', 'assert:', 'training:',
  ...OPS.map((o) => `${o.name}:`), 'repeat:', 'for:', 'in:', 'as:', 'branches:', 'merge:', 'share:', 'when:', 'id:', 'from:', 'shape:',
  'type: int', 'default:', 'x', 'n', '\n', '\n  ', '\n    ', '  ', '- ', '-', ': ', ':', ',', '[', ']', '{', '}', '&a ', '*a', '&b ', '*b',
  '!!str ', '!!int ', '!!js/function ', '!foo ', '!<tag:x> ', '%YAML 1.2\n', '%TAG ! tag:x:\n', '---\n', '...\n', '|\n', '>-\n', '? ',
  '#', ' # c', '"', "'", '\\', '"\\u0000"', '"\\x"', '${', '}', '$', '${n * 2}', '${n ? 1 : 0}', '1', '-1', '0', '1e308', '.nan', '.inf',
  '~', 'null', 'true', '<<: *a', '__proto__:', 'constructor:', '\t', '\r\n', '\ufeff', '\u0000',
];

export const yamlishCase: fc.Arbitrary<FuzzCase> = fc
  .array(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...YAML_TOKENS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) }), { maxLength: 120 })
  .map((toks) => ({ kind: 'yamlish', file: `${PROJECT}/specs/yamlish.yaml`, text: toks.join('') }));

export const structuralCase: fc.Arbitrary<FuzzCase> = fc.gen().map((g) => {
  const d = new Draw(g);
  const wild = d.chance(0.25);
  const spec = new SpecGen(d, wild).spec();
  return finish(d, { kind: wild ? 'structural-wild' : 'structural', file: `${PROJECT}/specs/structural.yaml`, text: serialize(d, spec) });
});

export const mutationCase: fc.Arbitrary<FuzzCase> = fc.gen().map((g) => {
  const d = new Draw(g);
  const seed = d.pick(seeds().filter((s) => s.value && typeof s.value === 'object'));
  let value = clone(seed.value);
  for (let k = d.weighted([[5, 1], [2, 2], [1, 3], [1, 4]]); k > 0; k--) value = mutate(d, value);
  // A mutated library is used by the spec that uses it: mutate the library, compile the spec.
  const text = serialize(d, value);
  return finish(d, { kind: 'mutation', file: seed.path, text });
});

export const libraryMutationCase: fc.Arbitrary<FuzzCase> = fc.gen().map((g) => {
  const d = new Draw(g);
  const pairs: [string, string][] = [
    ['specs/resnet-v1.yaml', 'specs/blocks/resnet.yaml'], ['specs/resnet-v2.yaml', 'specs/blocks/resnet.yaml'],
    ['specs/examples/unet-mini.yaml', 'specs/examples/blocks/vision.yaml'], ['specs/examples/mobilenet-mini.yaml', 'specs/examples/blocks/vision.yaml'],
  ];
  const [specRel, libRel] = d.pick(pairs);
  const lib = seeds().find((s) => s.path === `${PROJECT}/${libRel}`)!;
  const spec = seeds().find((s) => s.path === `${PROJECT}/${specRel}`)!;
  const libText = d.chance(0.5) ? mutateText(d, lib.text) : serialize(d, mutate(d, clone(lib.value)));
  return finish(d, { kind: 'library-mutation', file: spec.path, text: spec.text, files: { [lib.path]: libText } });
});

export const textMutationCase: fc.Arbitrary<FuzzCase> = fc.gen().map((g) => {
  const d = new Draw(g);
  const seed = d.pick(seeds());
  let text = seed.text;
  for (let k = d.int(1, 4); k > 0; k--) text = mutateText(d, text);
  return finish(d, { kind: 'text-mutation', file: seed.path, text });
});

export const bombCase: fc.Arbitrary<FuzzCase> = fc.gen().map((g) => {
  const d = new Draw(g);
  return { kind: 'bomb', file: `${PROJECT}/specs/bomb.yaml`, text: bomb(d) };
});

/** Everything, in proportions that suit a run of any length. */
export const anyCase: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 2, arbitrary: garbageCase },
  { weight: 2, arbitrary: yamlishCase },
  { weight: 5, arbitrary: structuralCase },
  { weight: 5, arbitrary: mutationCase },
  { weight: 1, arbitrary: libraryMutationCase },
  { weight: 3, arbitrary: textMutationCase },
  { weight: 1, arbitrary: bombCase },
);

export const CASE_KINDS = { garbage: garbageCase, yamlish: yamlishCase, structural: structuralCase, mutation: mutationCase, library: libraryMutationCase, text: textMutationCase, bomb: bombCase } as const;
