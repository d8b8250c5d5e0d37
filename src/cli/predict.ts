/** `modelspec predict <dir> <images...>`: the top classes of each image under a trained model. */
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import { EXIT } from './output.js';
import { insideFolder } from '../io/fs-problems.js';
import { openTrainedModel, reportingInputErrors } from './trained-model.js';
import { escapeTerminal } from '../io/terminal.js';

export interface PredictCommandOptions {
  top: number;
  invert?: boolean;
  maxExamples?: number;
  backend?: 'node' | 'wasm' | 'cpu';
  /** Replicas for data-parallel inference (default 1). */
  workers?: number;
  json?: boolean;
}

export async function runPredict(dir: string, files: string[], o: PredictCommandOptions): Promise<number> {
  const { readPixelMean } = await import('../train/checkpoint.js');
  const { readImages, toModelInput, topK } = await import('../train/predict.js');
  const { openInference } = await import('../train/parallel/index.js');
  return reportingInputErrors('predict', async () => {
    const { tf, backend, found, model, meta } = await openTrainedModel(dir, o.backend);
    let engine: Awaited<ReturnType<typeof openInference>> | undefined;
    try {
      const shape = model.inputs[0]!.shape.slice(1) as [number, number, number];
      const mean = meta?.pixelMean ? readPixelMean(insideFolder(found.dir, meta.pixelMean, join(found.dir, 'model.json'), 'the pixel mean')) : undefined;
      const images = files.flatMap((f) => readImages(f, shape[2], o.maxExamples));
      const size = shape[0] * shape[1] * shape[2];
      const results: { image: string; top: ReturnType<typeof topK> }[] = [];
      const bs = 256;
      // Batches split over worker threads (--workers): worth it for thousands of images.
      if ((o.workers ?? 1) > 1 && images.length > 1) engine = await openInference(tf, model, backend, o.workers!);
      for (let s = 0; s < images.length; s += bs) {
        const chunk = images.slice(s, s + bs);
        const x = new Float32Array(chunk.length * size);
        chunk.forEach((img, i) => x.set(toModelInput(tf, img, shape, { ...(o.invert ? { invert: true } : {}), ...(mean ? { pixelMean: mean } : {}) }), i * size));
        let probs: ArrayLike<number>[];
        if (engine) {
          const flat = await engine.predict(x, chunk.length);
          const k = engine.layout.classes;
          probs = chunk.map((_, i) => flat.subarray(i * k, (i + 1) * k));
        } else {
          probs = tf.tidy(() => {
            const t = tf.tensor4d(x, [chunk.length, ...shape]);
            const p = model.predict(model.inputs.length === 1 ? t : new Array<TF.Tensor>(model.inputs.length).fill(t)) as TF.Tensor2D;
            return p.arraySync();
          });
        }
        chunk.forEach((img, i) => results.push({ image: img.name, top: topK(probs[i]!, o.top, meta?.classes) }));
      }
      if (o.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
      else {
        for (const r of results) {
          process.stdout.write(escapeTerminal(`${r.image}: ${r.top.map((t) => `${t.label} (${(100 * t.probability).toFixed(1)}%)`).join('  ')}\n`));
        }
      }
      return EXIT.ok;
    } finally {
      await engine?.close();
      model.dispose();
    }
  });
}
