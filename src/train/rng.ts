/** Seeded randomness for shuffling and augmentation: reproducible runs, and resumable ones. */

/** mulberry32: a small, fast PRNG; uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed derived from several integers (run seed, epoch, batch, stream), well mixed. */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/**
 * Seed Math.random as a run's model stream: TensorFlow.js' initialisers and dropout draw their
 * seeds from it when given none. The tfjs and PyTorch engines both build their start model under
 * it, so one --seed gives both the same weights. Returns what puts the unseeded Math.random back.
 */
export function seedMathRandom(seed: number, epoch = 0, batch = 0): () => void {
  const unseeded = Math.random;
  Math.random = mulberry32(deriveSeed(seed, 3, epoch, batch));
  return () => {
    Math.random = unseeded;
  };
}

/** A random permutation of 0..n-1 (Fisher-Yates). */
export function permutation(n: number, rand: () => number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
