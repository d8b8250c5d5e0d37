/** The op registry: built-in ops, plus any a library caller registers on a clone. */
import type { OpDef } from './types.js';

export class OpRegistry {
  private readonly ops = new Map<string, OpDef>();
  /** True only for the shared registry of built-in ops (whose validators are precompiled). */
  readonly isBuiltin: boolean;

  constructor(defs: Iterable<OpDef> = [], isBuiltin = false) {
    for (const d of defs) this.register(d);
    this.isBuiltin = isBuiltin;
  }

  register(def: OpDef): this {
    if (!/^[a-z][a-z0-9_]*$/.test(def.name)) throw new Error(`op name '${def.name}' must be snake_case`);
    if (this.ops.has(def.name)) throw new Error(`op '${def.name}' is already registered`);
    for (const [k, a] of Object.entries(def.attrs)) {
      if (!a.required && !('default' in a)) throw new Error(`attribute ${def.name}.${k} needs a default or required: true`);
    }
    this.ops.set(def.name, def);
    return this;
  }

  get(name: string): OpDef | undefined {
    return this.ops.get(name);
  }

  has(name: string): boolean {
    return this.ops.has(name);
  }

  names(): string[] {
    return [...this.ops.keys()];
  }

  all(): OpDef[] {
    return [...this.ops.values()];
  }

  /** A copy that can be extended without touching the shared default registry. */
  clone(): OpRegistry {
    return new OpRegistry(this.ops.values());
  }
}
