/**
 * Choices the kernels make by size, as settings: tests set them to exercise every path on small
 * shapes. Not part of the public API.
 */
export const wasmKernelOptions: {
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
} = { filterGrad: 'auto', im2colMaxTaps: 32, im2colChunk: 8192, reduceMinSize: 4096, native: true };
