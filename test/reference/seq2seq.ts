/**
 * test/fixtures/seq2seq.yaml (a Keras-style encoder-decoder) as Keras would report and compute it,
 * transcribed by hand from Keras 2's formulas: nothing here is computed by src/.
 *
 *   source = Input((None,), dtype='int32'); target = Input((None,), dtype='int32')
 *   _, h, c = LSTM(16, return_state=True)(Embedding(40, 8)(source))        # enc
 *   y = LSTM(16, return_sequences=True)(Embedding(30, 8)(target), initial_state=[h, c])   # dec
 *   probs = Dense(30, activation='softmax')(y)
 *
 * Parameters: Embedding(V, D) V*D; LSTM(u) on f features 4*(u*(u+f) + u); Dense(n) on f: f*n + n.
 * Layer order (Keras 2 functional.py `_map_graph_network`): layers by depth, deepest first, ties by
 * the pre-order of the walk from the output (probs 0, dec 1, tgt_embed 2, target 3, enc 4,
 * src_embed 5, source 6). Depths: probs 0, dec 1, tgt_embed and enc 2, target and src_embed 3,
 * source 4 -> source, target, src_embed, tgt_embed, enc, dec, probs.
 * Keras records initial_state as further inbound tensors of the decoder's node:
 * [['tgt_embed', 0, 0, {}], ['enc', 0, 1, {}], ['enc', 0, 2, {}]] (tensor_index 1 = h, 2 = c).
 */
export const seq2seq = {
  layers: [
    { name: 'source', className: 'InputLayer', outputShapes: [[null, null]], params: 0 },
    { name: 'target', className: 'InputLayer', outputShapes: [[null, null]], params: 0 },
    { name: 'src_embed', className: 'Embedding', outputShapes: [[null, null, 8]], params: 40 * 8 }, // 320
    { name: 'tgt_embed', className: 'Embedding', outputShapes: [[null, null, 8]], params: 30 * 8 }, // 240
    // return_state: [output, h, c], each (None, 16); 4*(16*(16+8) + 16) = 1,600
    { name: 'enc', className: 'LSTM', outputShapes: [[null, 16], [null, 16], [null, 16]], params: 1_600 },
    { name: 'dec', className: 'LSTM', outputShapes: [[null, null, 16]], params: 1_600 },
    { name: 'probs', className: 'Dense', outputShapes: [[null, null, 30]], params: 16 * 30 + 30 }, // 510
  ],
  total: 320 + 240 + 1_600 + 1_600 + 510, // 4,270
  decoderInbound: [['tgt_embed', 0, 0, {}], ['enc', 0, 1, {}], ['enc', 0, 2, {}]],
};

export type M = number[][];

/**
 * keras.layers.LSTM (Keras 2's LSTMCell.call, activation tanh, recurrent_activation sigmoid), one
 * example (steps, features), starting from the states (h0, c0) (zeros when none are given: Keras'
 * get_initial_state). kernel (f, 4u), recurrent_kernel (u, 4u), bias (4u), gates in the order
 * i (input), f (forget), c (candidate), o (output):
 *   z = x_t W + h_{t-1} U + b;  i = sigmoid(z_i), f = sigmoid(z_f), o = sigmoid(z_o)
 *   c_t = f * c_{t-1} + i * tanh(z_c);  h_t = o * tanh(c_t)
 * Returns every h_t and the final (h, c): return_sequences and return_state.
 */
export function lstm(x: M, kernel: M, recurrent: M, bias: number[], h0?: number[], c0?: number[]): { seq: M; h: number[]; c: number[] } {
  const u = recurrent.length;
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  let h = h0 ? [...h0] : new Array<number>(u).fill(0);
  let c = c0 ? [...c0] : new Array<number>(u).fill(0);
  const seq: M = [];
  for (const xt of x) {
    const z = Array.from({ length: 4 * u }, (_, j) =>
      xt.reduce((s, v, i) => s + v * kernel[i]![j]!, bias[j]!) + h.reduce((s, v, i) => s + v * recurrent[i]![j]!, 0));
    c = c.map((cj, j) => sigmoid(z[u + j]!) * cj + sigmoid(z[j]!) * Math.tanh(z[2 * u + j]!));
    h = c.map((cj, j) => sigmoid(z[3 * u + j]!) * Math.tanh(cj));
    seq.push(h);
  }
  return { seq, h, c };
}

/** keras.layers.Dense(n, activation='softmax') of each step. */
export function denseSoftmax(x: M, kernel: M, bias: number[]): M {
  return x.map((row) => {
    const z = bias.map((b, j) => row.reduce((s, v, i) => s + v * kernel[i]![j]!, b));
    const mx = Math.max(...z);
    const e = z.map((v) => Math.exp(v - mx));
    const sum = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / sum);
  });
}
