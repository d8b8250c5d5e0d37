/**
 * Real-time augmentation of whole batches with tensor ops, as the seed's ImageDataGenerator:
 * random shifts of up to a fraction of the width and height, the pixels shifted in filled with
 * the nearest edge pixel (Keras fill_mode='nearest'), and random horizontal flips. Shifts are
 * whole pixels (Keras draws real-valued shifts and interpolates). The per-sample plan is drawn
 * from a seeded generator; the batch is then one gather of every output pixel's source pixel.
 */
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../backends/tfjs/backend.js';
import type { AugmentConfig } from './config.js';

export interface AugmentPlan {
  /** Per sample: content moves right by dx and down by dy pixels; flipped left-right after the shift. */
  dx: Int32Array;
  dy: Int32Array;
  flip: Uint8Array;
}

/** Draw a plan for `batch` samples of height h and width w. */
export function samplePlan(cfg: AugmentConfig, batch: number, h: number, w: number, rand: () => number): AugmentPlan {
  const plan: AugmentPlan = { dx: new Int32Array(batch), dy: new Int32Array(batch), flip: new Uint8Array(batch) };
  for (let b = 0; b < batch; b++) {
    // Keras: uniform(-range, range) * size; here rounded to whole pixels.
    plan.dx[b] = cfg.width_shift > 0 ? Math.round((2 * rand() - 1) * cfg.width_shift * w) : 0;
    plan.dy[b] = cfg.height_shift > 0 ? Math.round((2 * rand() - 1) * cfg.height_shift * h) : 0;
    plan.flip[b] = cfg.horizontal_flip && rand() < 0.5 ? 1 : 0;
  }
  return plan;
}

const clamp = (v: number, hi: number) => (v < 0 ? 0 : v > hi ? hi : v);

/**
 * For every output pixel (b, y, x), the flat index b*h*w + sy*w + sx of the input pixel it takes:
 * sy = clamp(y - dy), sx = clamp(x' - dx) with x' = w-1-x when flipped (shift, then flip, as Keras).
 */
export function planIndices(plan: AugmentPlan, h: number, w: number): Int32Array {
  const batch = plan.dx.length;
  const out = new Int32Array(batch * h * w);
  let k = 0;
  for (let b = 0; b < batch; b++) {
    const dx = plan.dx[b]!, dy = plan.dy[b]!, flip = plan.flip[b] === 1;
    const base = b * h * w;
    for (let y = 0; y < h; y++) {
      const row = base + clamp(y - dy, h - 1) * w;
      for (let x = 0; x < w; x++) out[k++] = row + clamp((flip ? w - 1 - x : x) - dx, w - 1);
    }
  }
  return out;
}

/** Apply a plan to a batch [B, H, W, C]: one gather over the pixels. Returns a new tensor. */
export function applyPlan(tf: Tf, x: TF.Tensor4D, plan: AugmentPlan): TF.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const idx = tf.tensor1d(planIndices(plan, h, w), 'int32');
    return tf.gather(tf.reshape(x, [b * h * w, c]), idx).reshape([b, h, w, c]) as TF.Tensor4D;
  });
}

/** Augment a batch with a freshly drawn plan. */
export function augmentBatch(tf: Tf, x: TF.Tensor4D, cfg: AugmentConfig, rand: () => number): TF.Tensor4D {
  const [b, h, w] = x.shape;
  return applyPlan(tf, x, samplePlan(cfg, b, h, w, rand));
}
