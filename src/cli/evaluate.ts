/** `modelspec evaluate <dir>`: a trained model on the test split of its dataset: loss, accuracy, confusion matrix. */
import { join, relative } from 'node:path';
import { EXIT } from './output.js';
import { insideFolder } from '../io/fs-problems.js';
import { openTrainedModel, reportingInputErrors } from './trained-model.js';
import { escapeTerminal } from '../io/terminal.js';

export interface EvaluateCommandOptions {
  dataset?: 'mnist' | 'cifar10';
  dataDir?: string;
  maxExamples?: number;
  batchSize?: number;
  backend?: 'node' | 'wasm' | 'cpu';
  /** Replicas for data-parallel inference (default: by backend, for 2,048 images or more). */
  workers?: number;
  json?: boolean;
}

export async function runEvaluate(dir: string, o: EvaluateCommandOptions): Promise<number> {
  const { ModelDirError } = await import('../train/model-io.js');
  const { readPixelMean } = await import('../train/checkpoint.js');
  const { loadDataset } = await import('../train/data/index.js');
  const { scaleToUnit, subtractMean } = await import('../train/preprocess.js');
  const { evaluateSplit, evaluateSplitWith, formatConfusion } = await import('../train/evaluate.js');
  const { defaultWorkers, openInference } = await import('../train/parallel/index.js');
  const { describeBackend } = await import('../backends/tfjs/backend.js');
  const say = (line: string) => { if (!o.json) process.stdout.write(escapeTerminal(`${line}\n`)); };
  return reportingInputErrors('evaluate', async () => {
    const { tf, backend, found, model, meta } = await openTrainedModel(dir, o.backend, (b) => say(`backend: ${describeBackend(b)}`));
    try {
      const name = o.dataset ?? (meta?.dataset as 'mnist' | 'cifar10' | undefined);
      if (!name) throw new ModelDirError(`${found.dir}/model.json does not say which dataset the model was trained on; pass --dataset mnist|cifar10`);
      const shown = relative(process.cwd(), found.dir) || found.dir;
      say(`model: ${shown} (${found.how}${meta?.epoch !== undefined ? `, ${meta.epoch} epoch${meta.epoch === 1 ? '' : 's'}` : ''}${meta?.spec ? `, from ${meta.spec}` : ''})`);
      const raw = await loadDataset(name, { ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}), ...(o.maxExamples !== undefined ? { limit: o.maxExamples } : {}) });
      const shape = model.inputs[0]!.shape.slice(1);
      if (JSON.stringify(shape) !== JSON.stringify(raw.imageShape)) {
        throw new ModelDirError(`the model takes [${shape.join(', ')}] inputs, but ${name} images are [${raw.imageShape.join(', ')}]`);
      }
      const x = scaleToUnit(raw.test.images);
      if (meta?.pixelMean) subtractMean(x, readPixelMean(insideFolder(found.dir, meta.pixelMean, join(found.dir, 'model.json'), 'the pixel mean')));
      const classes = raw.classes;
      const t0 = Date.now();
      const split = { x, labels: raw.test.labels, count: raw.test.count };
      const evalOpts = { confusion: true, ...(o.batchSize ? { batchSize: o.batchSize } : {}) };
      // Worker threads pay for themselves from a few thousand images on.
      const workers = o.workers ?? (raw.test.count >= 2048 ? defaultWorkers(backend) : 1);
      let r;
      if (workers > 1) {
        const engine = await openInference(tf, model, backend, workers);
        try {
          r = await evaluateSplitWith(tf, model, (xs, n) => engine.predict(xs, n), split, classes.length, evalOpts);
        } finally {
          await engine.close();
        }
      } else r = evaluateSplit(tf, model, split, classes.length, evalOpts);
      const seconds = (Date.now() - t0) / 1000;
      if (o.json) {
        process.stdout.write(JSON.stringify({ model: found.dir, dataset: name, count: r.count, loss: r.loss, accuracy: r.accuracy, classes, confusion: r.confusion, seconds, backend }, null, 2) + '\n');
      } else {
        say(`data: ${name} test split, ${r.count.toLocaleString('en-US')} images${meta?.pixelMean ? ' (training pixel mean subtracted)' : ''}`);
        say(`loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)}% (${seconds.toFixed(1)} s)`);
        say('confusion matrix (rows: true class, columns: predicted; recall at the right):');
        say(formatConfusion(r.confusion!, classes));
      }
      return EXIT.ok;
    } finally {
      model.dispose();
    }
  });
}
