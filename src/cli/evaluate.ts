/** `modelspec evaluate <dir>`: prints what evaluateModel (src/train/inference.ts) returns. */
import { relative } from 'node:path';
import { EXIT } from './output.js';
import { reportingInputErrors } from './trained-model.js';
import { escapeTerminal } from '../io/terminal.js';
import type { EvaluateModelOptions } from '../train/inference.js';

export interface EvaluateCommandOptions extends Omit<EvaluateModelOptions, 'log'> {
  json?: boolean;
}

export async function runEvaluate(dir: string, o: EvaluateCommandOptions): Promise<number> {
  const { evaluateModel } = await import('../train/inference.js');
  const { formatConfusion } = await import('../train/evaluate.js');
  const say = (line: string) => { if (!o.json) process.stdout.write(escapeTerminal(`${line}\n`)); };
  return reportingInputErrors('evaluate', async () => {
    const { json: _json, ...opts } = o;
    const r = await evaluateModel(dir, { ...opts, log: say });
    if (o.json) {
      const { model, dataset, split, source, count, loss, accuracy, classes, confusion, seconds, backend } = r;
      process.stdout.write(JSON.stringify({ model, dataset, split, ...(source ? { source } : {}), count, loss, accuracy, classes, confusion, seconds, backend }, null, 2) + '\n');
    } else {
      const n = r.count.toLocaleString('en-US');
      const which = r.source ? `image folder ${relative(process.cwd(), r.source) || '.'}, ${r.split === 'all' ? `all ${n}` : `${n} validation`}` : `${r.dataset} test split, ${n}`;
      say(`data: ${which} images${r.pixelMeanSubtracted ? ' (training pixel mean subtracted)' : ''}`);
      say(`loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)}% (${r.seconds.toFixed(1)} s)`);
      say('confusion matrix (rows: true class, columns: predicted; recall at the right):');
      say(formatConfusion(r.confusion, r.classes));
    }
    return EXIT.ok;
  });
}
