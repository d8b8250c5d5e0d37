/** Pooling: max/average 2D and their global forms. */
import { attr } from './attrs.js';
import { checkPositive, pair, requireRank } from './shape-util.js';
import type { OpDef } from './types.js';

function pool2d(name: string, kerasClass: string, kind: string, factory: string): OpDef {
  return {
    name,
    kerasClass,
    tfjs: { factory },
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
