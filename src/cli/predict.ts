/** `modelspec predict <dir> <images...>`: prints what predictImages (src/train/inference.ts) returns. */
import { EXIT } from './output.js';
import { reportingInputErrors } from './trained-model.js';
import { escapeTerminal } from '../io/terminal.js';
import type { PredictImagesOptions } from '../train/inference.js';

export interface PredictCommandOptions extends PredictImagesOptions {
  top: number;
  json?: boolean;
  /** Arrays to predict on: every output's raw values, as JSON. */
  data?: string;
}

export async function runPredict(dir: string, files: string[], o: PredictCommandOptions): Promise<number> {
  const { predictImages } = await import('../train/inference.js');
  const { UsageError } = await import('./plugins.js');
  if (o.data !== undefined && files.length) throw new UsageError('predict takes images or --data arrays, not both');
  if (o.data === undefined && !files.length) throw new UsageError("predict needs images (PNG or IDX files) or --data arrays.npz");
  return reportingInputErrors('predict', async () => {
    if (o.data !== undefined) {
      const { predictArrays } = await import('../train/array-inference.js');
      const results = await predictArrays(dir, o.data, {
        ...(o.backend ? { backend: o.backend } : {}), ...(o.workers !== undefined ? { workers: o.workers } : {}), ...(o.maxExamples !== undefined ? { maxExamples: o.maxExamples } : {}),
      });
      // --json: one JSON array; else one JSON object per line (sample number, then each output's values).
      process.stdout.write(o.json ? JSON.stringify(results, null, 2) + '\n' : results.map((r) => JSON.stringify(r) + '\n').join(''));
      return EXIT.ok;
    }
    const { json: _json, data: _data, ...opts } = o;
    const results = await predictImages(dir, files, opts);
    if (o.json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    else {
      for (const r of results) {
        process.stdout.write(escapeTerminal(`${r.image}: ${r.top.map((t) => `${t.label} (${(100 * t.probability).toFixed(1)}%)`).join('  ')}\n`));
      }
    }
    return EXIT.ok;
  });
}
