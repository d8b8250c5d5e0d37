/** Training kernels for the wasm backend: see wasm-kernels/index.ts. */
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, DEFAULT_WASM_KERNEL_OPTIONS, nativeKernels, nativeStatus, type KernelContext, type WasmKernelOptions, type NativeKernels } from './wasm-kernels/index.js';
