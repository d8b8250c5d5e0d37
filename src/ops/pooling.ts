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

function globalPool2d(name: string, kerasClass: string, kind: string, factory: string): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory, unsupported: { keepdims: false } },
    pytorch: { forward: (c) => `${c.inputs[0]}.${kind === 'max' ? 'amax' : 'mean'}(dim=(2, 3)${c.attrs.keepdims ? ', keepdim=True' : ''})` },
    category: 'pooling',
    doc: `Global ${kind} pooling over height and width (Keras \`${kerasClass}\`).`,
    arity: 'one',
    attrs: {
      keepdims: attr.bool({ default: false, doc: 'Keep the spatial dimensions as size 1.' }),
    },
    outputShape(inputs, a) {
      const input = inputs[0]!;
      requireRank(input, 3, name);
      return a.keepdims ? [1, 1, input[2]!] : [input[2]!];
    },
  };
}

export const maxPooling2d = pool2d('max_pooling2d', 'MaxPooling2D', 'Max', 'maxPooling2d');
export const averagePooling2d = pool2d('average_pooling2d', 'AveragePooling2D', 'Average', 'averagePooling2d');
export const globalAveragePooling2d = globalPool2d('global_average_pooling2d', 'GlobalAveragePooling2D', 'average', 'globalAveragePooling2d');
export const globalMaxPooling2d = globalPool2d('global_max_pooling2d', 'GlobalMaxPooling2D', 'max', 'globalMaxPooling2d');
