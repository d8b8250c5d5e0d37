/**
 * The worker threads of data-parallel training and inference: started with their replica's
 * model and the shared buffers, then asked one request at a time each. A worker is referenced
 * (keeps the process alive) only while a request to it is pending, so a pool that is never
 * closed cannot keep `modelspec train` from exiting; close() terminates them all.
 *
 * Where the worker's code is: next to this file as worker.ts when running from the TypeScript
 * sources (vitest, tsx: the worker registers tsx first), worker.js in a tsc build, or
 * dist/cli/train-worker.js beside the bundled CLI (scripts/bundle-cli.ts).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Reply, Request, RequestBody, WorkerInit } from './protocol.js';

/** The worker entry, as a file to start or as code to evaluate (the tsx bootstrap). */
export function workerEntry(): { file: URL } | { code: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = new URL('./worker.ts', here).href;
    const require = createRequire(here);
    const api = require.resolve('tsx/esm/api');
    const apiUrl = pathToFileURL(existsSync(api.replace(/\.cjs$/, '.mjs')) ? api.replace(/\.cjs$/, '.mjs') : api).href;
    return { code: `import(${JSON.stringify(apiUrl)}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(entry)}); });` };
  }
  for (const rel of ['./worker.js', './train-worker.js', '../train-worker.js']) {
    const file = new URL(rel, here);
    if (existsSync(fileURLToPath(file))) return { file };
  }
  throw new Error(`data-parallel: the worker script is missing (looked for worker.js and train-worker.js next to ${fileURLToPath(here)}); rebuild with npm run build, or use --workers 1`);
}

export class WorkerError extends Error {}

interface Pending {
  resolve: (r: Extract<Reply, { type: 'done' }>) => void;
  reject: (e: Error) => void;
}

class PoolWorker {
  readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;
  private nextId = 0;

  constructor(readonly worker: Worker, readonly index: number) {
    worker.on('message', (m: Reply) => {
      if (m.type === 'ready') return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.type === 'done') p.resolve(m);
      else p.reject(new WorkerError(`worker ${index}: ${m.message}`));
    });
    const fail = (e: Error) => {
      this.failure ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', (e) => fail(new WorkerError(`worker ${index} failed: ${e.message}`)));
    worker.on('exit', (code) => fail(new WorkerError(`worker ${index} exited (code ${code})`)));
  }

  request(msg: RequestBody): Promise<Extract<Reply, { type: 'done' }>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ ...msg, id } as Request);
    });
  }
}

export class WorkerPool {
  private closed = false;
  private constructor(private readonly workers: PoolWorker[]) {}

  get size(): number {
    return this.workers.length;
  }

  /** Start `inits.length` workers and wait until each has built its model. */
  static async open(inits: WorkerInit[]): Promise<WorkerPool> {
    const entry = workerEntry();
    const started: Worker[] = [];
    try {
      const ready = inits.map((init) => {
        const w = 'file' in entry
          ? new Worker(entry.file, { workerData: init })
          : new Worker(entry.code, { eval: true, workerData: init });
        started.push(w);
        return new Promise<PoolWorker>((resolve, reject) => {
          const onMessage = (m: Reply) => {
            if (m.type === 'ready') {
              off();
              w.unref();
              resolve(new PoolWorker(w, init.index));
            } else if (m.type === 'error') {
              off();
              reject(new WorkerError(`worker ${init.index} could not start: ${m.message}`));
            }
          };
          const onError = (e: Error) => { off(); reject(new WorkerError(`worker ${init.index} could not start: ${e.message}`)); };
          const onExit = (code: number) => { off(); reject(new WorkerError(`worker ${init.index} exited while starting (code ${code})`)); };
          const off = () => { w.off('message', onMessage); w.off('error', onError); w.off('exit', onExit); };
          w.on('message', onMessage);
          w.on('error', onError);
          w.on('exit', onExit);
        });
      });
      return new WorkerPool(await Promise.all(ready));
    } catch (e) {
      await Promise.allSettled(started.map((w) => w.terminate()));
      throw e;
    }
  }

  request(i: number, msg: RequestBody): Promise<Extract<Reply, { type: 'done' }>> {
    if (this.closed) return Promise.reject(new WorkerError('data-parallel: the worker pool is closed'));
    return this.workers[i]!.request(msg);
  }

  /** Terminate every worker (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.workers.map((w) => w.worker.terminate()));
  }
}
