/** `modelspec evaluate <dir>`: prints what evaluateModel (src/train/inference.ts) returns. */
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { EXIT } from './output.js';
import { reportingInputErrors } from './trained-model.js';
import { escapeTerminal } from '../io/terminal.js';
import type { EvaluateModelOptions } from '../train/inference.js';

export interface EvaluateCommandOptions extends Omit<EvaluateModelOptions, 'log'> {
  json?: boolean;
  /** The arrays (a file) or the image folder (a folder) to evaluate on. */
  data?: string;
}

/** evaluate --data: every output's loss and metrics on the arrays, named as training logged them. */
async function evaluateOnArrays(dir: string, data: string, o: EvaluateCommandOptions, say: (line: string) => void): Promise<void> {
  const { evaluateArraysModel } = await import('../train/array-inference.js');
  const r = await evaluateArraysModel(dir, data, {
    ...(o.backend ? { backend: o.backend } : {}), ...(o.workers !== undefined ? { workers: o.workers } : {}),
    ...(o.batchSize ? { batchSize: o.batchSize } : {}), ...(o.maxExamples !== undefined ? { maxExamples: o.maxExamples } : {}), log: say,
  });
  if (o.json) {
    process.stdout.write(JSON.stringify({ model: r.model, data: r.data, count: r.count, ...r.values, seconds: r.seconds, backend: r.backend }, null, 2) + '\n');
    return;
  }
  say(`data: ${data}, ${r.count.toLocaleString('en-US')} samples`);
  say(`${Object.entries(r.values).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(' - ')} (${r.seconds.toFixed(1)} s)`);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // the arrays reader reports what is wrong with the path
  }
}

export async function runEvaluate(dir: string, o: EvaluateCommandOptions): Promise<number> {
  const { evaluateModel } = await import('../train/inference.js');
  const { formatConfusion } = await import('../train/evaluate.js');
  const say = (line: string) => { if (!o.json) process.stdout.write(escapeTerminal(`${line}\n`)); };
  return reportingInputErrors('evaluate', async () => {
    // --data: a file is arrays, a folder an image folder (evaluateModel reads it).
    if (o.data !== undefined && !isFolder(o.data)) {
      await evaluateOnArrays(dir, o.data, o, say);
      return EXIT.ok;
    }
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
