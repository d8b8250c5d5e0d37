/**
 * The entry point of a data-parallel worker thread: loads TensorFlow.js with the main thread's
 * backend (through loadTf, so the wasm training kernels are registered here too), builds its
 * replica of the model (from the compiled graph, as the trainer does, or from a saved topology),
 * says `ready`, then answers step and predict requests one at a time. The main thread ends it
 * with Worker.terminate().
 *
 * Bundled as dist/cli/train-worker.js by scripts/bundle-cli.ts; run from the TypeScript sources
 * through tsx (see pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as TF from '@tensorflow/tfjs';
import { loadTf } from '../../backends/tfjs/backend.js';
import { buildFromGraph } from '../../backends/tfjs/interpreter.js';
import { builtinRegistry } from '../../ops/index.js';
import { layoutMismatch, Replica } from './replica.js';
import { tfLoss } from '../losses.js';
import { compileOutputs } from '../outputs.js';
import { outRowOf, xRowOf, yRowOf } from './protocol.js';
import type { Reply, Request, WorkerInit } from './protocol.js';

const port = parentPort!;
const send = (r: Reply) => port.postMessage(r);

async function start(init: WorkerInit): Promise<void> {
  const { tf, backend } = await loadTf(init.backend);
  let model: TF.LayersModel;
  if (init.source.kind === 'graph') {
    model = buildFromGraph(tf, init.source.graph, builtinRegistry());
  } else {
    model = await tf.models.modelFromJSON({ modelTopology: init.source.topology } as TF.io.ModelJSON as never);
  }
  const mismatch = layoutMismatch(model, init.layout);
  if (mismatch) throw new Error(`the worker's model does not match the main thread's: ${mismatch}`);
  // An inference-only engine on arrays (predict) has nothing to compile.
  if (init.layout.packed) { if (init.layout.packed.compile.length) compileOutputs(tf, model, tf.train.sgd(0), init.layout.packed.compile); }
  else model.compile({ optimizer: tf.train.sgd(0), loss: init.loss ? tfLoss(tf, init.loss) : 'categoricalCrossentropy', metrics: ['accuracy'] });
  const replica = new Replica(tf, model, init.layout);
  const weights = new Float32Array(init.weights);
  const grads = new Float32Array(init.grads);
  let version = -1;
  const sync = (v: number) => {
    if (v !== version) {
      replica.loadWeights(weights);
      version = v;
    }
  };

  // Requests come one at a time (the main thread waits for each answer), but chain them anyway.
  let queue = Promise.resolve();
  port.on('message', (m: Request) => {
    queue = queue.then(async () => {
      try {
        sync(m.version);
        if (m.type === 'step') {
          const { layout } = init;
          const x = new Float32Array(m.x, m.xOffset * 4, m.n * xRowOf(layout));
          const y = new Float32Array(m.y, m.yOffset * 4, m.n * yRowOf(layout));
          const r = await replica.gradStep(x, y, m.n, grads, m.seed);
          // The replica's BatchNorm statistics moved with its shard; the next version brings the averaged ones.
          version = -1;
          send({ type: 'done', id: m.id, loss: r.loss, accuracy: r.accuracy, ...(r.values ? { values: r.values } : {}) });
        } else {
          const x = new Float32Array(m.x, m.xOffset * 4, m.n * xRowOf(init.layout));
          const out = new Float32Array(m.out, m.outOffset * 4, m.n * outRowOf(init.layout));
          replica.predict(x, m.n, out);
          send({ type: 'done', id: m.id });
        }
      } catch (e) {
        send({ type: 'error', id: m.id, message: (e as Error).message ?? String(e), stack: (e as Error).stack });
      }
    });
  });
  send({ type: 'ready', backend });
}

start(workerData as WorkerInit).catch((e: unknown) => {
  send({ type: 'error', id: -1, message: (e as Error).message ?? String(e), stack: (e as Error).stack });
});
