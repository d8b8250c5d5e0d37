/**
 * Training kernels for the wasm backend, registered when it is selected (backend.ts). Each replaces
 * (or, for Conv2DBackpropFilter, supplies) a kernel of @tensorflow/tfjs-backend-wasm for the
 * backend name 'wasm' only; the cpu and node backends are untouched. What each does and why:
 *
 * - conv.ts: Conv2DBackpropFilter, Conv2DBackpropInput (any stride and padding) through XNNPACK's
 *   Conv2D or matrix product; with the optional native kernels (native.ts, native/) loaded, these
 *   and Conv2D, FusedConv2D run on them (else Conv2D and FusedConv2D are the backend's own).
 * - pool.ts: MaxPoolGrad (native when loaded), AvgPoolGrad in JS.
 * - reduce.ts: Sum and Mean over leading axes (bias and BatchNorm gradients) as XNNPACK average pooling.
 * - matmul.ts: BatchMatMul with transposes or a batch, on XNNPACK's fast path.
 * - norm.ts: FusedBatchNorm (batch normalisation at inference) on the native kernels when loaded.
 * - layout.ts: Tile, Slice in JS; Identity and same-dtype Cast share their input's data.
 * - segment.ts: UnsortedSegmentSum (missing from the backend; the gradient of an embedding's Gather) in JS.
 * - grads.ts: the gradients of Sum and Mean (tfjs-core's build a tensor of ones in JS) tile dy
 *   instead when they run on wasm.
 *
 * Kernels call each other and the backend's own kernels directly on the heap (heap.ts), not through
 * the engine. Each is tested against the cpu backend (test/wasm-kernels.test.ts,
 * test/wasm-training.test.ts).
 * Anything a kernel does not handle (other dtypes, NCHW, unusual broadcasting) goes to the
 * backend's own kernel.
 */
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';
import { Heap } from './heap.js';
import { layoutKernels } from './layout.js';
import { reduceKernels } from './reduce.js';
import { poolKernels } from './pool.js';
import { convKernels } from './conv.js';
import { matMulKernels } from './matmul.js';
import { normKernels } from './norm.js';
import { segmentKernels } from './segment.js';
import { registerReductionGradients } from './grads.js';

import { kernelContext, type KernelContext, type WasmKernelOptions } from './options.js';

export { DEFAULT_WASM_KERNEL_OPTIONS, type KernelContext, type WasmKernelOptions } from './options.js';
export { nativeKernels, nativeStatus, type NativeKernels } from './native.js';

/** The kernel names registered for 'wasm'. */
export const WASM_TRAINING_KERNELS = [
  'Conv2D',
  'FusedConv2D',
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'MaxPoolGrad',
  'AvgPoolGrad',
  'Sum',
  'Mean',
  'BatchMatMul',
  'FusedBatchNorm',
  'Tile',
  'Slice',
  'Identity',
  'Cast',
  'UnsortedSegmentSum',
] as const;

/** The context of the kernels registered (tfjs' kernel registry is per process, so they are registered once). */
let registered: KernelContext | undefined;

/**
 * Register the kernels for 'wasm' (once: later calls return the first registration's context, and
 * their `options` are not applied). Returns the context the kernels read their options from and
 * count their native calls in.
 */
export function registerWasmTrainingKernels(tf: Tf, options: Partial<WasmKernelOptions> = {}): KernelContext {
  if (registered) return registered;
  const k = (registered = kernelContext(options));
  const natives = new Map<string, KernelConfig>();
  const heaps = new WeakMap<object, Heap>();
  const heapOf = (backend: unknown): Heap => {
    let h = heaps.get(backend as object);
    if (!h) heaps.set(backend as object, (h = new Heap(tf, backend)));
    return h;
  };
  const native = (name: string) => natives.get(name)?.kernelFunc as KernelFunc | undefined;
  const kernels: Record<string, KernelFunc> = {
    ...convKernels(heapOf, native, k),
    ...poolKernels(heapOf, native, k),
    ...reduceKernels(heapOf, native, k),
    ...matMulKernels(heapOf, native),
    ...normKernels(heapOf, native, k),
    ...layoutKernels(heapOf, native),
    ...segmentKernels(heapOf),
  };
  for (const name of WASM_TRAINING_KERNELS) {
    const existing = tf.getKernel(name, 'wasm');
    if (existing) {
      natives.set(name, existing);
      tf.unregisterKernel(name, 'wasm');
    }
    // The backend's setupFunc (binding its wasm functions) is kept: the fallbacks call its kernel.
    tf.registerKernel({ ...existing, kernelName: name, backendName: 'wasm', kernelFunc: kernels[name]! });
  }
  registerReductionGradients(tf);
  return k;
}
