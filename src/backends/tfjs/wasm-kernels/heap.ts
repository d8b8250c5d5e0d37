/**
 * Working on the wasm backend's heap from JavaScript: allocating outputs, typed-array views of
 * tensors, aliases (a second tensor id over the same memory), and calling the backend's own
 * kernels without going through the engine (as the backend's kernels do among themselves).
 *
 * Rules the kernels here follow:
 * - A view (`f32`, `view`) is taken after the last allocation of the kernel: an allocation may grow
 *   the wasm memory, which detaches every earlier view.
 * - Every intermediate tensor is released (`free`, or `dropAlias` for aliases) before the kernel
 *   returns, so nothing is left on the heap; only the returned output is owned by the engine.
 * - A tensor handed to the native BatchMatMul as its second operand is always a fresh alias: that
 *   kernel caches an XNNPACK operator (with the operand's packed values and shape) under the
 *   operand's tensor id, and a reshaped tensor keeps its id.
 */
import type { DataType, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../backend.js';

type Typed = Float32Array | Int32Array | Uint8Array;

interface TensorData {
  id: number;
  memoryOffset: number;
  refCount: number;
}

/** The parts of tfjs-backend-wasm's BackendWasm used here. */
export interface WasmBackend {
  makeOutput(shape: number[], dtype: DataType, memoryOffset?: number): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Typed;
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  dataIdMap: { get(dataId: object): TensorData | undefined; delete(dataId: object): boolean };
  wasm: { tfjs: { disposeData(id: number): void } };
}

export const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

export class Heap {
  readonly backend: WasmBackend;
  constructor(
    readonly tf: Tf,
    backend: unknown,
  ) {
    this.backend = backend as WasmBackend;
  }

  /** A new tensor on the heap (uninitialised). */
  out(shape: number[], dtype: DataType = 'float32'): TensorInfo {
    return this.backend.makeOutput(shape, dtype);
  }

  f32(t: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  view(t: TensorInfo): Typed {
    return this.backend.typedArrayFromHeap(t);
  }

  /** Run one of the backend's registered kernels directly. */
  run(name: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
    const k = this.tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`wasm kernel ${name} is not registered`);
    return (k.kernelFunc as KernelFunc)({ inputs, backend: this.backend as never, attrs: attrs as NamedAttrMap }) as TensorInfo;
  }

  free(...ts: (TensorInfo | undefined)[]): void {
    for (const t of ts) if (t) this.backend.disposeData(t.dataId);
  }

  /** The same tensor, read with another shape (no new id: do not free it, do not pass it as a matMul's second operand). */
  reshaped(t: TensorInfo, shape: number[]): TensorInfo {
    return { dataId: t.dataId, shape, dtype: t.dtype };
  }

  /** A new tensor id over `t`'s memory from element `offset` on; release with `dropAlias`, never `free`. */
  alias(t: TensorInfo, shape: number[], offset = 0): TensorInfo {
    const d = this.backend.dataIdMap.get(t.dataId);
    if (!d) throw new Error('alias of a tensor that is not on the wasm heap');
    return this.backend.makeOutput(shape, t.dtype, d.memoryOffset + offset * (BYTES[t.dtype] ?? 4));
  }

  dropAlias(...ts: TensorInfo[]): void {
    for (const t of ts) {
      const d = this.backend.dataIdMap.get(t.dataId);
      if (!d) continue;
      this.backend.dataIdMap.delete(t.dataId);
      this.backend.wasm.tfjs.disposeData(d.id); // unregisters the id (and its cached operators); frees no memory
    }
  }

  /** a[M, K] x b[K, N] on XNNPACK (the native BatchMatMul's fast path: no transposes, batch 1). */
  matMul(a: TensorInfo, b: TensorInfo, m: number, k: number, n: number): TensorInfo {
    const a3 = this.reshaped(a, [1, m, k]);
    const b3 = this.alias(b, [1, k, n]);
    try {
      const out = this.run('BatchMatMul', { a: a3, b: b3 }, { transposeA: false, transposeB: false });
      out.shape = [m, n];
      return out;
    } finally {
      this.dropAlias(b3);
    }
  }
}

export const sizeOf = (shape: readonly number[]) => {
  let s = 1;
  for (const d of shape) s *= d;
  return s;
};

export const stridesOf = (shape: readonly number[]) => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
};
