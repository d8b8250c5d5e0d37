/**
 * Loading TensorFlow.js and choosing its backend: native TensorFlow
 * (@tensorflow/tfjs-node, an optional dependency whose install downloads
 * libtensorflow and so often fails) > WebAssembly > plain JavaScript (cpu).
 * This is the only place that imports TensorFlow.js, always lazily.
 */
import { registerLayerGradients } from './layer-grads.js';
import type * as TF from '@tensorflow/tfjs';
import { nativeKernels } from './wasm-kernels/native.js';
import { importModule } from '../../io/import-module.js';

export type Tf = typeof TF;
export type BackendName = 'node' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['node', 'wasm', 'cpu'];

export class BackendUnavailable extends Error {}

let loaded: { tf: Tf; backend: BackendName } | undefined;

async function tryNode(): Promise<Tf | undefined> {
  try {
    const name = '@tensorflow/tfjs-node';
    return await importModule<Tf>(name);
  } catch {
    return undefined;
  }
}

/** Load tfjs with the requested backend, or the best one present. Says which through the result. */
const ENGINE_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

export async function loadTf(requested?: BackendName): Promise<{ tf: Tf; backend: BackendName }> {
  if (loaded && (!requested || loaded.backend === requested)) {
    // Someone may have switched backends since (tf.setBackend): switch back to the one we report.
    if (loaded.tf.getBackend() !== ENGINE_NAME[loaded.backend]) {
      await loaded.tf.setBackend(ENGINE_NAME[loaded.backend]);
      await loaded.tf.ready();
    }
    return loaded;
  }
  if (requested === 'node' || (!requested && !loaded)) {
    const tf = await tryNode();
    if (tf) {
      registerLayerGradients(tf);
      await tf.setBackend('tensorflow');
      await tf.ready();
      await registerExtras(tf);
      return (loaded = { tf, backend: 'node' });
    }
    if (requested === 'node') {
      throw new BackendUnavailable('backend node is not available: @tensorflow/tfjs-node is not installed (its install downloads libtensorflow, which needs network access); use --backend wasm or cpu');
    }
  }
  const tf = (loaded?.tf ?? (await importModule<Tf>('@tensorflow/tfjs')));
  registerLayerGradients(tf);
  const backend: BackendName = requested ?? 'wasm';
  if (backend === 'wasm') {
    const noMemory = wasmMemoryProblem();
    if (noMemory) throw new BackendUnavailable(noMemory);
    await importModule('@tensorflow/tfjs-backend-wasm');
    const { registerWasmTrainingKernels } = await import('./wasm-kernels.js');
    registerWasmTrainingKernels(tf);
    if (!(await tf.setBackend('wasm'))) {
      if (requested) throw new BackendUnavailable('backend wasm could not be initialised');
      await tf.setBackend('cpu');
      await tf.ready();
      await registerExtras(tf);
      return (loaded = { tf, backend: 'cpu' });
    }
  } else {
    await tf.setBackend('cpu');
    quietFirstCpuWrite(tf);
  }
  await tf.ready();
  await registerExtras(tf);
  return (loaded = { tf, backend });
}

/** What modelspec adds to any tfjs it loads: gradients tfjs lacks, layers Keras has and tfjs lacks, a recurrent-layer fix. */
async function registerExtras(tf: Tf): Promise<void> {
  const [{ registerMissingGradients }, { registerCustomLayers }, { isolateRecurrentKwargs }] = await Promise.all([
    import('./gradients.js'), import('./custom-layers.js'), import('./recurrent-kwargs.js'),
  ]);
  registerMissingGradients(tf);
  registerCustomLayers(tf);
  isolateRecurrentKwargs(tf);
}

/**
 * Why WebAssembly memory cannot be had here, or undefined when it can. Under an address-space
 * limit (`ulimit -v` of a few GB) V8 cannot reserve a wasm memory's guard regions: the wasm
 * backend would fail to start and the slow cpu backend take over silently (hours for an epoch).
 * Said as an error instead, with what to do.
 */
export function wasmMemoryProblem(): string | undefined {
  try {
    const wasm = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => unknown } }).WebAssembly;
    new wasm.Memory({ initial: 1 });
    return undefined;
  } catch (e) {
    return `the wasm backend cannot reserve WebAssembly memory (${(e as Error).message}): the process' address-space limit is probably too low `
      + `(ulimit -v; WebAssembly reserves about 10 GB of address space, not of memory); raise it (ulimit -v unlimited), or pass --backend cpu (plain JavaScript, much slower)`;
  }
}

/**
 * The cpu backend prints a banner ("install our node backend") on its first write.
 * We say which backend is in use ourselves, so let that first write happen silently.
 */
function quietFirstCpuWrite(tf: Tf): void {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('looks like you are running TensorFlow.js in Node.js')) warn(...args);
  };
  try {
    tf.tidy(() => tf.scalar(0));
  } finally {
    console.warn = warn;
  }
}

/** What the backend is, in words, for the command line (for wasm: whether modelspec's native kernels are in use). */
export function describeBackend(b: BackendName): string {
  if (b === 'wasm') {
    const nk = nativeKernels();
    const isa = nk ? ({ avx2: 'AVX2', avx512: 'AVX-512' }[nk.isa] ?? nk.isa) : undefined;
    return `wasm (WebAssembly, XNNPACK; training kernels from modelspec${isa ? `; convolutions, batch normalisation and max-pool gradients on native ${isa} kernels` : ''})`;
  }
  return {
    node: 'node (native TensorFlow via @tensorflow/tfjs-node)',
    cpu: 'cpu (plain JavaScript; slow)',
  }[b];
}
