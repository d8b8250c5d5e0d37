/**
 * Independent plain-JS transcriptions of Keras' published formulas for the ops modelspec builds
 * with custom tfjs layers, with explicit loops (no tfjs), and of the Keras example "Text
 * classification with Transformer" (keras.io/examples/nlp/text_classification_with_transformer).
 */
export type M = number[][]; // (length, features) of one example

/**
 * keras.layers.MultiHeadAttention, one example, no mask: for each head h,
 * Q = query Wq[:, h, :] + bq[h], K = key Wk[:, h, :] + bk[h], V = value Wv[:, h, :] + bv[h],
 * A = softmax(Q K^T / sqrt(key_dim)) (over the key axis), O_h = A V;
 * out = sum_h O_h Wo[h, :, :] + bo. With use_causal_mask, query position t attends only to keys s <= t.
 */
export function multiHeadAttention(
  query: M, value: M, key: M,
  w: { wq: number[][][]; bq: M; wk: number[][][]; bk: M; wv: number[][][]; bv: M; wo: number[][][]; bo: number[] },
  causal = false,
): M {
  const heads = w.wq[0]!.length, dk = w.wq[0]![0]!.length, dv = w.wv[0]![0]!.length, dout = w.bo.length;
  const proj = (x: M, k: number[][][], b: M, h: number, d: number): M =>
    x.map((row) => Array.from({ length: d }, (_, j) => row.reduce((s, xi, i) => s + xi * k[i]![h]![j]!, b[h]![j]!)));
  const out: M = query.map(() => new Array<number>(dout).fill(0));
  for (let h = 0; h < heads; h++) {
    const q = proj(query, w.wq, w.bq, h, dk), k = proj(key, w.wk, w.bk, h, dk), v = proj(value, w.wv, w.bv, h, dv);
    for (let t = 0; t < q.length; t++) {
      const scores = k.map((kr) => kr.reduce((s, x, j) => s + x * q[t]![j]!, 0) / Math.sqrt(dk));
      const mx = Math.max(...scores);
      // use_causal_mask: key positions after the query's take no part in the softmax.
      const e = scores.map((s, si) => (causal && si > t ? 0 : Math.exp(s - mx)));
      const z = e.reduce((a, b) => a + b, 0);
      const o = Array.from({ length: dv }, (_, j) => e.reduce((s, ei, si) => s + (ei / z) * v[si]![j]!, 0));
      for (let c = 0; c < dout; c++) out[t]![c]! += o.reduce((s, oj, j) => s + oj * w.wo[h]![j]![c]!, 0);
    }
  }
  return out.map((r) => r.map((x, c) => x + w.bo[c]!));
}

/** keras_hub.layers.PositionEmbedding: the first `length` rows of the table (the input only gives the shape). */
export const positionEmbedding = (x: M, table: M): M => x.map((_, t) => [...table[t]!]);

/** keras.layers.Subtract: a - b. */
export const subtract = (a: M, b: M): M => a.map((r, i) => r.map((x, j) => x - b[i]![j]!));

/** keras.layers.Cropping1D((b, e)): drop b steps at the start and e at the end. */
export const cropping1d = (x: M, b: number, e: number): M => x.slice(b, x.length - e);

/** keras.layers.GlobalAveragePooling1D / GlobalMaxPooling1D: over the steps, per feature. */
export const globalPool1d = (x: M, max: boolean): number[] =>
  x[0]!.map((_, j) => (max ? Math.max(...x.map((r) => r[j]!)) : x.reduce((s, r) => s + r[j]!, 0) / x.length));

/**
 * keras.layers.LayerNormalization(axis=[-2, -1]) of one (length, features) example: mean and
 * variance over all its elements, gamma and beta of shape (length, features).
 */
export function layerNorm2(x: M, gamma: M, beta: M, eps: number): M {
  const all = x.flat();
  const mean = all.reduce((a, b) => a + b, 0) / all.length;
  const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
  return x.map((r, i) => r.map((v, j) => ((v - mean) / Math.sqrt(variance + eps)) * gamma[i]![j]! + beta[i]![j]!));
}

/**
 * The Keras example's model, transcribed layer by layer, with Keras' parameter formulas:
 * Embedding: input_dim * output_dim; Dense: in * units + units; LayerNormalization over the last
 * axis: 2 * features; MultiHeadAttention (EinsumDense query/key/value: d * heads * key_dim +
 * heads * key_dim each; attention_output: heads * value_dim * d + d).
 *
 *   TokenAndPositionEmbedding: 20000*32 + 200*32           = 640,000 + 6,400 = 646,400
 *   MultiHeadAttention(2 heads, key_dim 32), d = 32: 3 * (32*2*32 + 2*32) + (2*32*32 + 32)
 *                                                          = 3 * 2,112 + 2,080 = 8,416
 *   ffn Dense(32, relu) + Dense(32): 2 * (32*32 + 32)      = 2,112
 *   2 x LayerNormalization(epsilon=1e-6): 2 * 2 * 32       = 128
 *   Dense(20, relu): 32*20 + 20                            = 660
 *   Dense(2, softmax): 20*2 + 2                            = 42
 *   total: 646,400 + 8,416 + 2,112 + 128 + 660 + 42        = 657,758
 */
export const TRANSFORMER_CLASSIFIER = {
  total: 657_758,
  /** Keras layer class, parameters and the configs the example sets, in the order the functional model lists them. */
  layers: [
    { id: 'tokens', class: 'InputLayer', params: 0 },
    { id: 'token_emb', class: 'Embedding', params: 640_000, config: { input_dim: 20000, output_dim: 32 } },
    { id: 'pos_emb', class: 'PositionEmbedding', params: 6_400, config: { sequence_length: 200 } },
    { id: 'embedded', class: 'Add', params: 0 },
    { id: 'att', class: 'MultiHeadAttention', params: 8_416, config: { num_heads: 2, key_dim: 32 } },
    { id: 'dropout1', class: 'Dropout', params: 0, config: { rate: 0.1 } },
    { id: 'add', class: 'Add', params: 0 },
    { id: 'layernorm1', class: 'LayerNormalization', params: 64, config: { epsilon: 1e-6 } },
    { id: 'ffn_1', class: 'Dense', params: 1_056, config: { units: 32, activation: 'relu' } },
    { id: 'ffn_2', class: 'Dense', params: 1_056, config: { units: 32 } },
    { id: 'dropout2', class: 'Dropout', params: 0, config: { rate: 0.1 } },
    { id: 'add_1', class: 'Add', params: 0 },
    { id: 'layernorm2', class: 'LayerNormalization', params: 64, config: { epsilon: 1e-6 } },
    { id: 'global_average_pooling1d', class: 'GlobalAveragePooling1D', params: 0 },
    { id: 'dropout', class: 'Dropout', params: 0, config: { rate: 0.1 } },
    { id: 'dense', class: 'Dense', params: 660, config: { units: 20, activation: 'relu' } },
    { id: 'dropout_1', class: 'Dropout', params: 0, config: { rate: 0.1 } },
    { id: 'dense_1', class: 'Dense', params: 42, config: { units: 2, activation: 'softmax' } },
  ],
  /** MultiHeadAttention's weights as Keras builds them (query, key, value, attention_output). */
  attentionWeights: [
    ['query/kernel', [32, 2, 32]], ['query/bias', [2, 32]],
    ['key/kernel', [32, 2, 32]], ['key/bias', [2, 32]],
    ['value/kernel', [32, 2, 32]], ['value/bias', [2, 32]],
    ['attention_output/kernel', [2, 32, 32]], ['attention_output/bias', [32]],
  ],
} as const;

/**
 * keras.layers.Conv2D(filters, kernel, groups=g), padding 'valid', stride 1, one example (H, W, C):
 * filter f sees only the input channels of its group, f // (filters / g); kernel (kh, kw, C/g, filters).
 */
export function groupedConv2d(x: number[][][], k: number[][][][], b: number[], groups: number): number[][][] {
  const [kh, kw, cg, filters] = [k.length, k[0]!.length, k[0]![0]!.length, b.length];
  const per = filters / groups;
  const oh = x.length - kh + 1, ow = x[0]!.length - kw + 1;
  return Array.from({ length: oh }, (_, y) => Array.from({ length: ow }, (_, xx) => Array.from({ length: filters }, (_, f) => {
    const g = Math.floor(f / per);
    let s = b[f]!;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < cg; c++) s += x[y + i]![xx + j]![g * cg + c]! * k[i]![j]![c]![f]!;
    return s;
  })));
}

/**
 * keras.layers.GRU(units, reset_after=True) (Keras 2's GRUCell.call, the default), one example
 * (steps, features), state starting at zero; kernel (f, 3u) and recurrent_kernel (u, 3u) hold the
 * gates in the order z (update), r (reset), h (candidate); bias (2, 3u): row 0 input, row 1 recurrent.
 *   x_z, x_r, x_h = x_t W + b[0]     r_z, r_r, r_h = h_{t-1} U + b[1]
 *   z = sigmoid(x_z + r_z), r = sigmoid(x_r + r_r), hh = tanh(x_h + r * r_h)
 *   h_t = z * h_{t-1} + (1 - z) * hh
 * Returns every h_t (return_sequences=True); go_backwards reads the steps last to first.
 */
export function gruResetAfter(x: M, kernel: M, recurrent: M, bias: M | null, goBackwards = false): M {
  const u = recurrent.length;
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  const affine = (v: number[], w: M, b: number[] | undefined) =>
    Array.from({ length: 3 * u }, (_, j) => v.reduce((s, vi, i) => s + vi * w[i]![j]!, b ? b[j]! : 0));
  let h = new Array<number>(u).fill(0);
  const out: M = [];
  for (const xt of goBackwards ? [...x].reverse() : x) {
    const mx = affine(xt, kernel, bias?.[0]);
    const mh = affine(h, recurrent, bias?.[1]);
    h = h.map((hj, j) => {
      const z = sigmoid(mx[j]! + mh[j]!);
      const r = sigmoid(mx[u + j]! + mh[u + j]!);
      const hh = Math.tanh(mx[2 * u + j]! + r * mh[2 * u + j]!);
      return z * hj + (1 - z) * hh;
    });
    out.push(h);
  }
  return out;
}

/**
 * tf.image.resize(image, (oh, ow), method) as keras.layers.Resizing calls it (TF 2: half-pixel
 * centres, antialias off), one (h, w, c) image. Bilinear (TF's compute_interpolation_weights):
 * in = (out + 0.5) * in_size / out_size - 0.5, lower = max(floor(in), 0), upper = min(ceil(in),
 * in_size - 1), weight in - floor(in). Nearest: in = min(floor((out + 0.5) * in_size / out_size), in_size - 1).
 */
export function resize(img: number[][][], oh: number, ow: number, method: 'bilinear' | 'nearest'): number[][][] {
  const [h, w] = [img.length, img[0]!.length];
  const axis = (o: number, n: number, on: number) => {
    const v = (o + 0.5) * (n / on) - 0.5;
    return { lo: Math.max(Math.floor(v), 0), hi: Math.min(Math.ceil(v), n - 1), t: v - Math.floor(v) };
  };
  const nearest = (o: number, n: number, on: number) => Math.min(Math.floor((o + 0.5) * (n / on)), n - 1);
  return Array.from({ length: oh }, (_, y) => Array.from({ length: ow }, (_, x) => img[0]![0]!.map((_, c) => {
    if (method === 'nearest') return img[nearest(y, h, oh)]![nearest(x, w, ow)]![c]!;
    const a = axis(y, h, oh), b = axis(x, w, ow);
    const top = img[a.lo]![b.lo]![c]! + (img[a.lo]![b.hi]![c]! - img[a.lo]![b.lo]![c]!) * b.t;
    const bottom = img[a.hi]![b.lo]![c]! + (img[a.hi]![b.hi]![c]! - img[a.hi]![b.lo]![c]!) * b.t;
    return top + (bottom - top) * a.t;
  })));
}

/**
 * keras.layers.Resizing(oh, ow, crop_to_aspect_ratio=True) (Keras' smart_resize): the centred
 * window with the target's aspect ratio, crop_h = min(h, int(w * oh / ow)), crop_w = min(w, int(h * ow / oh)),
 * starting at int((h - crop_h) / 2), int((w - crop_w) / 2); then resized.
 */
export function resizeCropped(img: number[][][], oh: number, ow: number, method: 'bilinear' | 'nearest'): number[][][] {
  const [h, w] = [img.length, img[0]!.length];
  const ch = Math.min(h, Math.floor((w * oh) / ow)), cw = Math.min(w, Math.floor((h * ow) / oh));
  const top = Math.floor((h - ch) / 2), left = Math.floor((w - cw) / 2);
  return resize(img.slice(top, top + ch).map((r) => r.slice(left, left + cw)), oh, ow, method);
}
