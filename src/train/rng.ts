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

/**
 * numpy's legacy `np.random.RandomState(seed).shuffle(x)` as a permutation of 0..n-1: MT19937
 * seeded with init_genrand(seed), then Fisher-Yates from the end, each index drawn by masked
 * rejection (numpy's `random_interval`). Keras' `image_dataset_from_directory` shuffles its file
 * list with it, so an image folder splits into the same training and validation files as in Keras.
 */
export function numpyShuffle(n: number, seed: number): number[] {
  const next = mt19937(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i >= 1; i--) {
    let mask = i;
    for (const s of [1, 2, 4, 8, 16]) mask |= mask >>> s;
    let j: number;
    do j = (next() & mask) >>> 0; while (j > i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** MT19937 (Matsumoto and Nishimura), seeded as init_genrand(seed): uint32 draws. */
export function mt19937(seed: number): () => number {
  const mt = new Uint32Array(624);
  mt[0] = seed >>> 0;
  for (let i = 1; i < 624; i++) {
    const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
    mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
  }
  let pos = 624;
  return () => {
    if (pos >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      pos = 0;
    }
    let y = mt[pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
}
