/**
 * The input pipeline of training: a batch of shuffled samples gathered from the preprocessed
 * training split into reused buffers, augmented on the way (shifts with nearest-edge fill and
 * horizontal flips, from the same seeded plan as src/train/augment.ts: one pass over the output
 * pixels, in JavaScript on Float32Arrays, no tensors) and the labels one-hot.
 *
 * The result is the same, value for value, as gathering the batch and then applying
 * augment.ts's applyPlan to it.
 */
import type { AugmentConfig } from './config.js';
import { samplePlan, type AugmentPlan } from './augment.js';
import { deriveSeed, mulberry32 } from './rng.js';
import type { PreparedSplit } from './preprocess.js';

export interface Batch {
  /** n input rows (NHWC, flattened) and n one-hot rows: views of the assembler's buffers. */
  x: Float32Array;
  y: Float32Array;
  n: number;
}

export interface BatchAssemblerOptions {
  split: PreparedSplit;
  imageShape: readonly [number, number, number];
  classes: number;
  batchSize: number;
  augmentation?: AugmentConfig;
  /** The run's seed: batch b of epoch e is augmented with deriveSeed(seed, e, 2, b), as before. */
  seed: number;
  /** Buffers to assemble into (batchSize rows each); by default the assembler allocates its own. */
  buffers?: { x: Float32Array; y: Float32Array };
}

const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);

export class BatchAssembler {
  private readonly x: Float32Array;
  private readonly y: Float32Array;
  private readonly size: number;
  /** Per output column, the source column (reused). */
  private readonly cols: Int32Array;

  constructor(private readonly o: BatchAssemblerOptions) {
    const [h, w, c] = o.imageShape;
    this.size = h * w * c;
    this.x = o.buffers?.x ?? new Float32Array(o.batchSize * this.size);
    this.y = o.buffers?.y ?? new Float32Array(o.batchSize * o.classes);
    if (this.x.length < o.batchSize * this.size || this.y.length < o.batchSize * o.classes) throw new RangeError('batch buffers smaller than a batch');
    this.cols = new Int32Array(w);
  }

  /** Batch `batch` of epoch `epoch`: samples perm[start .. start + n). */
  assemble(perm: Int32Array, epoch: number, batch: number, start: number, n: number): Batch {
    const { split, classes, augmentation } = this.o;
    const [h, w] = this.o.imageShape;
    const size = this.size;
    const src = split.x, labels = split.labels;
    const x = this.x, y = this.y;
    if (augmentation) {
      this.gatherAugmented(perm, start, n, samplePlan(augmentation, n, h, w, mulberry32(deriveSeed(this.o.seed, epoch, 2, batch))));
    } else {
      for (let i = 0; i < n; i++) {
        const idx = perm[start + i]!;
        x.set(src.subarray(idx * size, (idx + 1) * size), i * size);
      }
    }
    y.fill(0, 0, n * classes);
    for (let i = 0; i < n; i++) {
      const l = labels[perm[start + i]!]!;
      if (!(l >= 0 && l < classes)) throw new RangeError(`label ${l} of sample ${perm[start + i]} is outside 0..${classes - 1}`);
      y[i * classes + l] = 1;
    }
    return { x: x.subarray(0, n * size), y: y.subarray(0, n * classes), n };
  }

  /**
   * out[b, y, x] = in[perm[b], clamp(y - dy), clamp(x' - dx)], x' = w-1-x when flipped: the gather
   * of augment.ts's planIndices, row by row (a row of one sample is a run of whole pixels).
   */
  private gatherAugmented(perm: Int32Array, start: number, n: number, plan: AugmentPlan): void {
    const [h, w, c] = this.o.imageShape;
    const src = this.o.split.x, x = this.x, cols = this.cols;
    const size = this.size, rowLen = w * c;
    for (let b = 0; b < n; b++) {
      const base = perm[start + b]! * size;
      const dx = plan.dx[b]!, dy = plan.dy[b]!, flip = plan.flip[b] === 1;
      const identityCols = !flip && dx === 0;
      if (!identityCols) for (let xx = 0; xx < w; xx++) cols[xx] = clamp((flip ? w - 1 - xx : xx) - dx, w - 1) * c;
      let o = b * size;
      for (let yy = 0; yy < h; yy++) {
        const row = base + clamp(yy - dy, h - 1) * rowLen;
        if (identityCols) {
          x.set(src.subarray(row, row + rowLen), o);
          o += rowLen;
        } else if (c === 1) {
          for (let xx = 0; xx < w; xx++) x[o++] = src[row + cols[xx]!]!;
        } else if (c === 3) {
          for (let xx = 0; xx < w; xx++) {
            const s = row + cols[xx]!;
            x[o++] = src[s]!;
            x[o++] = src[s + 1]!;
            x[o++] = src[s + 2]!;
          }
        } else {
          for (let xx = 0; xx < w; xx++) {
            const s = row + cols[xx]!;
            for (let ch = 0; ch < c; ch++) x[o++] = src[s + ch]!;
          }
        }
      }
    }
  }
}
