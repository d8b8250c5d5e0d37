/**
 * keras.layers.MultiHeadAttention(query, value, key, attention_mask) of one example, transcribed
 * from tf_keras/src/layers/attention/multi_head_attention.py (no tfjs, explicit loops):
 *   _compute_attention_mask: with use_causal_mask, mask = bool(attention_mask) & causal (query t
 *     sees keys s <= t); else the attention_mask as given.
 *   _masked_softmax -> keras.layers.Softmax(mask): scores + (1 - mask) * -1e9, then softmax over
 *     the keys; the same mask for every head.
 * Weights as Keras builds them: wq (D, H, dk), bq (H, dk), ... wo (H, dv, out), bo (out).
 */
export type M = number[][];

export function maskedAttention(
  query: M, value: M, key: M, mask: M,
  w: { wq: number[][][]; bq: M; wk: number[][][]; bk: M; wv: number[][][]; bv: M; wo: number[][][]; bo: number[] },
  causal = false,
): M {
  const heads = w.wq[0]!.length, dk = w.wq[0]![0]!.length, dv = w.wv[0]![0]!.length, dout = w.bo.length;
  const project = (x: M, k: number[][][], b: M, h: number, d: number): M =>
    x.map((row) => Array.from({ length: d }, (_, j) => row.reduce((s, xi, i) => s + xi * k[i]![h]![j]!, b[h]![j]!)));
  const m = mask.map((r, t) => r.map((x, s) => (causal ? (x !== 0 && s <= t ? 1 : 0) : x)));
  const out: M = query.map(() => new Array<number>(dout).fill(0));
  for (let h = 0; h < heads; h++) {
    const q = project(query, w.wq, w.bq, h, dk), k = project(key, w.wk, w.bk, h, dk), v = project(value, w.wv, w.bv, h, dv);
    for (let t = 0; t < q.length; t++) {
      const scores = k.map((kr, s) => kr.reduce((acc, x, j) => acc + x * (q[t]![j]! / Math.sqrt(dk)), 0) + (1 - m[t]![s]!) * -1e9);
      const mx = Math.max(...scores);
      const e = scores.map((x) => Math.exp(x - mx));
      const z = e.reduce((a, b) => a + b, 0);
      const o = Array.from({ length: dv }, (_, j) => e.reduce((acc, ei, s) => acc + (ei / z) * v[s]![j]!, 0));
      for (let c = 0; c < dout; c++) out[t]![c]! += o.reduce((acc, oj, j) => acc + oj * w.wo[h]![j]![c]!, 0);
    }
  }
  return out.map((r) => r.map((x, c) => x + w.bo[c]!));
}
