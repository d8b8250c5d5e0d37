/**
 * modelspec's optional native kernels (native/: a Node-API addon, C++ with AVX2/FMA and AVX-512
 * matrix-product micro-kernels; see native/src/addon.cpp). `npm run build` compiles it into
 * dist/native/modelspec_kernels.node when a C++ compiler is present (scripts/build-native.ts).
 * When it loads, the wasm backend's Conv2D, FusedConv2D, Conv2DBackpropInput,
 * Conv2DBackpropFilter and MaxPoolGrad run on it for the cases it covers (float32, NHWC,
 * dilation 1), and FusedBatchNorm, directly on views of the wasm heap; otherwise they stay on
 * XNNPACK and JS.
 *
 * Loading never throws: the addon is absent (not built), refused (the CPU lacks AVX2/FMA: the
 * addon throws at load), or disabled (`MODELSPEC_NATIVE=0`), and nativeKernels() is undefined.
 * Worker threads load it too (Node-API addons are context-aware; its scratch memory is per thread).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeKernels {
  /** y = act(conv(x, w) + bias); params: [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, padTop, padLeft]; act 0 linear, 1 relu, 2 relu6. */
  conv2d(x: Float32Array, w: Float32Array, y: Float32Array, params: Int32Array, bias?: Float32Array | null, activation?: number): void;
  conv2dBackpropInput(dy: Float32Array, w: Float32Array, dx: Float32Array, params: Int32Array): void;
  conv2dBackpropFilter(x: Float32Array, dy: Float32Array, dw: Float32Array, params: Int32Array): void;
  /** params: [n, h, w, c, ho, wo, fh, fw, sh, sw, padTop, padLeft]. */
  maxPoolGrad(x: Float32Array, dy: Float32Array, dx: Float32Array, params: Int32Array): void;
  /** y = offset + (x - mean) * scale / sqrt(variance + epsilon), per channel (the last axis; mean's length). */
  batchNorm(x: Float32Array, mean: Float32Array, variance: Float32Array, offset: Float32Array | null, scale: Float32Array | null, epsilon: number, y: Float32Array): void;
  /** The instruction set of the kernels in use. */
  readonly isa: 'avx2' | 'avx512';
  /** Switch instruction set (tests, benchmarks); returns the one now in use. */
  setIsa(isa: 'avx2' | 'avx512'): string;
}

export const NATIVE_ADDON = 'modelspec_kernels.node';

export interface NativeStatus {
  kernels?: NativeKernels;
  /** The file loaded, or the one that failed to load. */
  path?: string;
  /** Why there are no native kernels. */
  reason?: string;
}

let status: NativeStatus | undefined;

/**
 * Where the addon may be: dist/native/ (the build step's copy) or native/build/Release/ (node-gyp's
 * output) of the package, found by walking up from this module (src/..., dist/..., or a bundle in
 * dist/cli/) to the package's root (the first folder with a package.json), never beyond it.
 */
export function nativeAddonCandidates(from = dirname(fileURLToPath(import.meta.url))): string[] {
  const out: string[] = [];
  for (let d = from; ; d = dirname(d)) {
    out.push(join(d, 'dist', 'native', NATIVE_ADDON), join(d, 'native', 'build', 'Release', NATIVE_ADDON));
    if (existsSync(join(d, 'package.json')) || dirname(d) === d) return out;
  }
}

/** Load the addon once (per thread); what happened. */
export function nativeStatus(): NativeStatus {
  if (status) return status;
  if (process.env.MODELSPEC_NATIVE === '0') return (status = { reason: 'disabled (MODELSPEC_NATIVE=0)' });
  const path = nativeAddonCandidates().find((p) => existsSync(p));
  if (!path) return (status = { reason: 'not built (npm run build compiles native/ when a C++ compiler is present)' });
  try {
    const kernels = createRequire(import.meta.url)(path) as NativeKernels;
    return (status = { kernels, path });
  } catch (e) {
    return (status = { path, reason: `failed to load: ${(e as Error).message ?? String(e)}` });
  }
}

/** The native kernels, or undefined when absent, refused by the CPU, or disabled. Never throws. */
export function nativeKernels(): NativeKernels | undefined {
  return nativeStatus().kernels;
}

