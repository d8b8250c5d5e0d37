/** Small formatting helpers shared by the diff reports. */
import { formatInt, formatMacs } from '../report/summary.js';
import { formatShape } from '../types/shape.js';
import type { OpRegistry } from '../ops/index.js';
import type { TypedNode } from '../types/ir.js';
import { brief } from '../backends/graph/labels.js';
import type { DiffEntry, RepeatEntry } from './fold.js';
import type { NodeChange } from './diff.js';

export { formatInt, formatMacs, formatShape };

export function signed(n: number): string {
  return n > 0 ? `+${formatInt(n)}` : n < 0 ? formatInt(n) : '±0';
}

export function signedMacs(n: number): string {
  return n > 0 ? `+${formatMacs(n)}` : n < 0 ? `-${formatMacs(-n)}` : '±0';
}

export function percent(before: number, after: number): string {
  if (before === 0) return after === 0 ? '' : 'new';
  const p = ((after - before) / before) * 100;
  const s = Math.abs(p) >= 10 ? p.toFixed(0) : Math.abs(p) >= 1 ? p.toFixed(1) : p.toFixed(2);
  return `${p > 0 ? '+' : ''}${s}%`;
}

/** A value as a reviewer reads it: YAML-like, compact. */
export function showValue(v: unknown): string {
  if (v === undefined) return '(unset)';
  if (v === null) return 'null';
  if (typeof v === 'string') return /^[\w.\-/]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(showValue).join(', ')}]`;
  if (typeof v === 'object') return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${showValue(x)}`).join(', ')}}`;
  return String(v);
}

export const plural = (n: number, word: string, many = `${word}s`) => `${formatInt(n)} ${n === 1 ? word : many}`;

export function kerasClass(node: TypedNode, registry: OpRegistry): string {
  return registry.get(node.op)?.kerasClass ?? node.op;
}

/** `3 -> 5 blocks (repeat block)` */
export function repeatText(e: RepeatEntry, arrow = '->'): string {
  const unit = e.variable === 'iteration' || e.variable === 'value' || e.variable.length < 2 ? 'iterations' : `${e.variable}s`;
  return `${e.before} ${arrow} ${e.after} ${unit} (${e.loop} ${e.variable})`;
}

export function where(e: RepeatEntry): string {
  return e.parent || '(top level)';
}

/** `kernel_size 3 -> 5, padding valid -> same` */
export function attrText(c: NodeChange, arrow = '->'): string {
  return c.attrs.map((a) => `${a.key} ${showValue(a.before)} ${arrow} ${showValue(a.after)}`).join(', ');
}

/** The facts of a change, as `label: value` parts. */
export interface ChangeFacts {
  attrs?: string;
  inputs?: string;
  shared?: string;
  shape?: string;
  params?: string;
  macs?: string;
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);

/** What a group of changes (the same change at several places) amounts to. */
export function changeFacts(changes: readonly NodeChange[], arrow = '->'): ChangeFacts {
  const first = changes[0]!;
  const out: ChangeFacts = {};
  if (first.attrs.length) out.attrs = attrText(first, arrow);
  if (first.inputs) out.inputs = changes.length === 1 ? `${first.inputs.before.join(', ') || '(none)'} ${arrow} ${first.inputs.after.join(', ') || '(none)'}` : 'rewired';
  if (first.sharedWith) out.shared = `${first.sharedWith.before ?? '(own weights)'} ${arrow} ${first.sharedWith.after ?? '(own weights)'}`;
  const shapes = changes.filter((c) => c.shape);
  if (shapes.length) {
    const texts = new Set(shapes.map((c) => `${formatShape(c.shape!.before)} ${arrow} ${formatShape(c.shape!.after)}`));
    out.shape = texts.size === 1 ? [...texts][0]! : `${shapes.length} shapes change`;
  }
  const params = changes.filter((c) => c.params);
  if (params.length) {
    const b = sum(params.map((c) => c.params!.before)), a = sum(params.map((c) => c.params!.after));
    out.params = `${formatInt(b)} ${arrow} ${formatInt(a)} (${signed(a - b)})`;
  }
  const macs = changes.filter((c) => c.macs);
  if (macs.length) {
    const b = sum(macs.map((c) => c.macs!.before)), a = sum(macs.map((c) => c.macs!.after));
    out.macs = `${formatMacs(b)} ${arrow} ${formatMacs(a)} (${signedMacs(a - b)})`;
  }
  return out;
}

export function paramsDelta(e: DiffEntry): number {
  switch (e.kind) {
    case 'repeat':
      return e.params;
    case 'added':
      return e.params;
    case 'removed':
      return -e.params;
    case 'changed':
      return sum(e.changes.map((c) => (c.params ? c.params.after - c.params.before : 0)));
    default:
      return 0;
  }
}

export function macsDelta(e: DiffEntry): number {
  switch (e.kind) {
    case 'repeat':
      return e.macs;
    case 'added':
      return e.macs;
    case 'removed':
      return -e.macs;
    case 'changed':
      return sum(e.changes.map((c) => (c.macs ? c.macs.after - c.macs.before : 0)));
    default:
      return 0;
  }
}

/** `Conv2D: 64 filters, 3×3` or `repeat block = 3, 7 layers`. */
export function nodesWhat(e: Extract<DiffEntry, { kind: 'added' | 'removed' }>, registry: OpRegistry): string {
  if (e.scope) {
    const what = e.scope.kind === 'block' ? `block ${e.scope.label}` : e.scope.label;
    return `${what}, ${plural(e.nodes.length, 'layer')}`;
  }
  const n = e.nodes[0]!;
  const b = brief(n);
  return `${kerasClass(n, registry)}${b ? `: ${b}` : ''}`;
}

/** `conv2d_1 (Conv2D: 64 filters, 3×3)` or `stage0/block3 (repeat block = 3, 7 layers)`. */
export function nodesTitle(e: Extract<DiffEntry, { kind: 'added' | 'removed' }>, registry: OpRegistry): string {
  return `${e.id} (${nodesWhat(e, registry)})`;
}
