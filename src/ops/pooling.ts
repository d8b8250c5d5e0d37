/** Pooling: max/average 2D and their global forms. */
import { attr } from './attrs.js';
import { checkPositive, pair, requireRank } from './shape-util.js';
import type { OpDef, PytorchContext } from './types.js';
import { fpad, py, windowPads } from './pytorch.js';

/**
 * TF's pooling in PyTorch. 'same' max pooling pads with -inf (padded cells never win); 'same'
 * average pooling leaves the padded cells out of the mean: with TF's asymmetric pads, as the sum of
 * the window over the count of real cells in it.
 */
function poolForward(c: PytorchContext, max: boolean): string {
  const a = c.attrs;
  const k = pair(a.pool_size);
  const s = a.strides === null ? k : pair(a.strides);
  const pads = windowPads(c.inputShapes[0]!, k, s, a.padding);
  const x = c.inputs[0]!;
  if (max) return `F.max_pool2d(${fpad(x, pads, 'float("-inf")')}, ${py(k)}, ${py(s)})`;
  const pooled = `F.avg_pool2d(${fpad(x, pads)}, ${py(k)}, ${py(s)})`;
  if (pads.every((p) => p === 0)) return pooled;
  return `${pooled} / F.avg_pool2d(${fpad(`torch.ones_like(${x}[:1, :1])`, pads)}, ${py(k)}, ${py(s)})`;
}

function pool2d(name: string, kerasClass: string, kind: string, factory: string): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory },
    pytorch: { forward: (c) => poolForward(c, kind === 'Max') },
    category: 'pooling',
    doc: `${kind} pooling over 2D windows (Keras \`${kerasClass}\`).`,
    arity: 'one',
    attrs: {
      pool_size: attr.intOrPair({ min: 1, default: 2, doc: 'Window size (height, width).' }),
      strides: {
        schema: { anyOf: [{ type: 'null' }, { type: 'integer', minimum: 1 }, { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 }] },
        default: null,
        doc: 'Strides; null means pool_size.',
      },
      padding: attr.enum(['valid', 'same'], { default: 'valid', doc: '`valid` or `same`.' }),
    },
    normalize: (a) => (a.strides === null || a.strides === undefined ? { ...a, strides: a.pool_size } : a),
    outputShape(inputs, a) {
      const input = inputs[0]!;
      requireRank(input, 3, name);
      const [ph, pw] = pair(a.pool_size);
      const [sh, sw] = a.strides === null ? [ph, pw] : pair(a.strides);
      const out = [input[0]!, input[1]!].map((n, i) => {
        if (n === null) return null;
        const p = i === 0 ? ph : pw, s = i === 0 ? sh : sw;
        return a.padding === 'same' ? Math.floor((n - 1) / s) + 1 : Math.floor((n - p) / s) + 1;
      });
      checkPositive(out, name, input, `pool_size ${ph}x${pw}, padding ${a.padding}`);
      return [out[0]!, out[1]!, input[2]!];
    },
  };
}

const SPATIAL = ['length', 'height and width', 'depth, height and width'];

/** Global pooling over the 1, 2 or 3 spatial axes (channels last); `keepdims` is built by a custom layer. */
function globalPool(rank: 1 | 2 | 3, kind: 'average' | 'max'): OpDef {
  const kerasClass = `Global${kind === 'max' ? 'Max' : 'Average'}Pooling${rank}D`;
  const factory = `global${kind === 'max' ? 'Max' : 'Average'}Pooling${rank}d`;
  const name = `global_${kind}_pooling${rank}d`;
  // A sequence is held as Keras holds it, (batch, steps, channels); an image channels-first.
  const dims = rank === 1 ? '1' : rank === 2 ? '(2, 3)' : '(2, 3, 4)';
  return {
    name,
    kerasClass,
    // tfjs has the 1-D and 2-D layers, without keepdims; 3-D it lacks.
    tfjs: rank === 3 ? { factory: kerasClass, custom: kerasClass } : { factory, custom: kerasClass, customFor: { keepdims: false } },
    ...(rank !== 3 ? { pytorch: { forward: (c: PytorchContext) => `${c.inputs[0]}.${kind === 'max' ? 'amax' : 'mean'}(dim=${dims}${c.attrs.keepdims ? ', keepdim=True' : ''})` } } : {}),
    category: 'pooling',
    doc: `Global ${kind} pooling over ${SPATIAL[rank - 1]} (Keras \`${kerasClass}\`).`,
    arity: 'one',
    attrs: {
      keepdims: attr.bool({ default: false, doc: 'Keep the pooled dimensions as size 1.' }),
    },
    outputShape(inputs, a) {
      const input = inputs[0]!;
      requireRank(input, rank + 1, name);
      return a.keepdims ? [...Array<number>(rank).fill(1), input[rank]!] : [input[rank]!];
    },
  };
}

export const maxPooling2d = pool2d('max_pooling2d', 'MaxPooling2D', 'Max', 'maxPooling2d');
export const averagePooling2d = pool2d('average_pooling2d', 'AveragePooling2D', 'Average', 'averagePooling2d');
export const globalAveragePooling1d = globalPool(1, 'average');
export const globalMaxPooling1d = globalPool(1, 'max');
export const globalAveragePooling2d = globalPool(2, 'average');
export const globalMaxPooling2d = globalPool(2, 'max');
export const globalAveragePooling3d = globalPool(3, 'average');
export const globalMaxPooling3d = globalPool(3, 'max');
