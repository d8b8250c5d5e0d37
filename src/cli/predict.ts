/** `modelspec predict <dir> <images...>`: prints what predictImages (src/train/inference.ts) returns. */
import { EXIT } from './output.js';
import { reportingInputErrors } from './trained-model.js';
import { escapeTerminal } from '../io/terminal.js';
import type { PredictImagesOptions } from '../train/inference.js';

export interface PredictCommandOptions extends PredictImagesOptions {
  top: number;
  json?: boolean;
}

export async function runPredict(dir: string, files: string[], o: PredictCommandOptions): Promise<number> {
  const { predictImages } = await import('../train/inference.js');
  return reportingInputErrors('predict', async () => {
    const { json: _json, ...opts } = o;
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
