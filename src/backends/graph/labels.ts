/** What a node shows: its Keras class, a one-line brief of its attributes, colours by op family. */
import type { TypedNode } from '../../types/ir.js';
import type { OpDef, OpRegistry } from '../../ops/index.js';

export function kerasClassOf(node: TypedNode, registry: OpRegistry): string {
  return registry.get(node.op)?.kerasClass ?? node.op;
}

const square = (v: unknown): string => {
  if (Array.isArray(v)) return v.every((x) => x === v[0]) && v.length === 2 ? `${v[0]}×${v[0]}` : v.join('×');
  return typeof v === 'number' ? `${v}×${v}` : String(v);
};
const isOne = (v: unknown) => v === 1 || (Array.isArray(v) && v.every((x) => x === 1));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** A short description of the attributes that define a layer: `16 filters, 3×3, stride 2, relu`. */
export function brief(node: Pick<TypedNode, 'op' | 'attrs' | 'sharedWith'>): string {
  const a = node.attrs;
  const parts: string[] = [];
  // A wrapper: its inner layer, `lstm 64 units, sequences`.
  const inner = a.layer !== null && typeof a.layer === 'object' ? Object.entries(a.layer as object)[0] : undefined;
  if (inner) parts.push(`${inner[0]} ${brief({ op: inner[0], attrs: (inner[1] ?? {}) as TypedNode['attrs'] })}`.trim());
  if (a.merge_mode !== undefined && a.merge_mode !== 'concat') parts.push(`merge ${String(a.merge_mode)}`);
  if (a.return_sequences === true) parts.push('sequences');
  if (a.go_backwards === true) parts.push('backwards');
  if (node.op === 'repeat_vector') parts.push(`×${String(a.n)}`);
  if (a.filters !== undefined) parts.push(`${String(a.filters)} filter${a.filters === 1 ? '' : 's'}`);
  if (a.units !== undefined) parts.push(`${String(a.units)} unit${a.units === 1 ? '' : 's'}`);
  if (a.kernel_size !== undefined) parts.push(square(a.kernel_size));
  if (a.pool_size !== undefined) parts.push(square(a.pool_size));
  if (a.depth_multiplier !== undefined && !isOne(a.depth_multiplier)) parts.push(`×${String(a.depth_multiplier)}`);
  if (a.strides !== undefined && a.strides !== null && !isOne(a.strides) && !(a.pool_size !== undefined && same(a.strides, a.pool_size))) parts.push(`stride ${square(a.strides).replace(/^(\d+)\u00d7\1$/, '$1')}`);
  if (a.dilation_rate !== undefined && !isOne(a.dilation_rate)) parts.push(`dilation ${square(a.dilation_rate).replace(/^(\d+)\u00d7\1$/, '$1')}`);
  if (a.rate !== undefined) parts.push(`rate ${String(a.rate)}`);
  if (a.target_shape !== undefined) parts.push(`→ ${JSON.stringify(a.target_shape)}`);
  if (a.size !== undefined && node.op.startsWith('up_sampling')) parts.push(`×${square(a.size).replace(/^(\d+)\u00d7\1$/, '$1')}`);
  if (node.op === 'concatenate' && a.axis !== undefined && a.axis !== -1) parts.push(`axis ${String(a.axis)}`);
  if (a.activation !== undefined && a.activation !== null && a.activation !== 'linear') parts.push(String(a.activation));
  if (node.sharedWith) parts.push(`shares ${node.sharedWith}`);
  return parts.join(', ');
}

export interface Palette {
  fill: string;
  stroke: string;
}

/** Soft fills by op family, readable in print and on GitHub's light and dark themes. */
const FAMILY: Record<OpDef['category'], Palette> = {
  input: { fill: '#e8eaed', stroke: '#80868b' },
  convolution: { fill: '#dbe9fb', stroke: '#4a7fc1' },
  pooling: { fill: '#d8f0ee', stroke: '#3c9a8f' },
  core: { fill: '#eadcf5', stroke: '#8a5cb3' },
  normalization: { fill: '#fdf1cf', stroke: '#c9a227' },
  merge: { fill: '#fde0c8', stroke: '#d9822b' },
  reshaping: { fill: '#eef0f2', stroke: '#8a9199' },
  regularization: { fill: '#f1f3f4', stroke: '#9aa0a6' },
  activation: { fill: '#dcf2dc', stroke: '#4f9a4f' },
  recurrent: { fill: '#e3e1f8', stroke: '#6258b8' },
  custom: { fill: '#f9dede', stroke: '#c0504d' },
};

export function paletteOf(node: TypedNode, registry: OpRegistry): Palette {
  const def = registry.get(node.op);
  return (def && FAMILY[def.category]) ?? FAMILY.custom;
}
