/**
 * Drawing values inside fast-check's `fc.gen()`: every draw goes through the GeneratorValue, so a
 * case is reproduced from its seed and path, and fast-check can shrink the draws.
 */
import fc from 'fast-check';

/**
 * Uniform integers: fast-check's integers are biased towards small and extreme values, which
 * would turn every `chance(0.02)` into a coin toss. The extremes that matter are drawn on purpose.
 */
const uniformInt = (min: number, max: number) => fc.noBias(fc.integer({ min, max }));

export class Draw {
  constructor(private readonly g: fc.GeneratorValue) {}

  int(min: number, max: number): number {
    return this.g(uniformInt, min, max);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.int(0, 9999) < p * 10000;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(0, xs.length - 1)]!;
  }

  /** A choice by weight: `[[3, 'a'], [1, 'b']]` draws 'a' three times as often. */
  weighted<T>(xs: readonly (readonly [number, T])[]): T {
    const total = xs.reduce((s, [w]) => s + w, 0);
    let k = this.int(0, total - 1);
    for (const [w, v] of xs) {
      if (k < w) return v;
      k -= w;
    }
    return xs[xs.length - 1]![1];
  }

  /** Like `weighted`, with alternatives computed only when chosen. */
  lazy<T>(xs: readonly (readonly [number, () => T])[]): T {
    return this.weighted(xs)();
  }

  /** A value of any fast-check arbitrary. */
  arb<T>(a: fc.Arbitrary<T>): T {
    return this.g(() => a);
  }

  times<T>(min: number, max: number, f: (i: number) => T): T[] {
    return Array.from({ length: this.int(min, max) }, (_, i) => f(i));
  }
}

/** An object with an own enumerable property of any name (`__proto__` included). */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A plain object from entries, any key names allowed. */
export function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries) setKey(o, k, v);
  return o;
}
