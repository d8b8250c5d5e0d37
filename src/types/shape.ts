/**
 * Tensor shapes exclude the batch dimension, as Keras' `input_shape` does.
 * `null` is an unknown dimension (Keras `None`).
 */
export type Dim = number | null;
export type Shape = readonly Dim[];

export function formatShape(shape: Shape | undefined, withBatch = true): string {
  if (!shape) return '?';
  const dims = shape.map((d) => (d === null ? 'None' : String(d)));
  return `(${[...(withBatch ? ['None'] : []), ...dims].join(', ')}${!withBatch && dims.length === 1 ? ',' : ''})`;
}

export function shapeToJson(shape: Shape): Dim[] {
  return [...shape];
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Product of the known dims; null if any is unknown. */
export function shapeSize(shape: Shape): number | null {
  let n = 1;
  for (const d of shape) {
    if (d === null) return null;
    n *= d;
  }
  return n;
}
