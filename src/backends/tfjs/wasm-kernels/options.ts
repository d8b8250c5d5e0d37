/**
 * Choices the kernels make by size, as settings, and what they count: one `KernelContext` per
 * registration (index.ts), passed to every kernel factory. Tests hold the context that
 * `registerWasmTrainingKernels` returns and set its options to exercise every path on small
 * shapes. Not part of the public API.
 */
import { nativeKernels, type NativeKernels } from './native.js';

export interface WasmKernelOptions {
  /** How Conv2DBackpropFilter is computed: by the input channels (auto), or always one way. */
  filterGrad: 'auto' | 'conv' | 'im2col';
  /** auto: the im2col way when kh * kw * Cin is at most this. */
  im2colMaxTaps: number;
  /** im2col way: output pixels per product (a cache-sized block of the patch matrix). */
  im2colChunk: number;
  /** Sum and Mean over leading axes take the fast path from this many elements on (else the backend's loop). */
  reduceMinSize: number;
  /** Use the native kernels (native.ts) when they are loaded; tests turn this off to exercise the wasm paths. */
  native: boolean;
}

export const DEFAULT_WASM_KERNEL_OPTIONS: Readonly<WasmKernelOptions> = Object.freeze({
  filterGrad: 'auto', im2colMaxTaps: 32, im2colChunk: 8192, reduceMinSize: 4096, native: true,
});

/** What the kernels of one registration read (options) and count (calls on the native addon). */
export interface KernelContext {
  readonly options: WasmKernelOptions;
  /** How many times each kernel ran on the native addon (for tests). */
  readonly calls: Record<string, number>;
  /** The native kernels to use now: undefined when absent, or switched off by `options.native`. */
  natives(): NativeKernels | undefined;
  countNative(name: string): void;
}

export function kernelContext(options: Partial<WasmKernelOptions> = {}): KernelContext {
  const ctx: KernelContext = {
    options: { ...DEFAULT_WASM_KERNEL_OPTIONS, ...options },
    calls: {},
    natives: () => (ctx.options.native ? nativeKernels() : undefined),
    countNative: (name) => {
      ctx.calls[name] = (ctx.calls[name] ?? 0) + 1;
    },
  };
  return ctx;
}
