/** Training kernels for the wasm backend: see wasm-kernels/index.ts. */
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, wasmKernelOptions, nativeKernels, nativeStatus, nativeCalls, type NativeKernels } from './wasm-kernels/index.js';
