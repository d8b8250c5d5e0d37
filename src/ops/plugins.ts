/**
 * Custom ops from TypeScript/JavaScript modules (`--plugin ./my-ops.js`): a module
 * exports `ops: OpDef[]`, or a default function that receives the registry.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { UsageError } from '../diagnostics/errors.js';
import { importModule } from '../io/import-module.js';
import { builtinRegistry } from './index.js';
import type { OpRegistry } from './registry.js';
import type { OpDef } from './types.js';

export async function registryWithPlugins(plugins: readonly string[]): Promise<OpRegistry> {
  if (plugins.length === 0) return builtinRegistry();
  const registry = builtinRegistry().clone();
  for (const p of plugins) {
    const mod = await importModule<{ ops?: OpDef[]; default?: unknown }>(pathToFileURL(resolve(p)).href);
    if (Array.isArray(mod.ops)) for (const op of mod.ops) registry.register(op);
    else if (typeof mod.default === 'function') (mod.default as (r: OpRegistry) => void)(registry);
    else if (Array.isArray(mod.default)) for (const op of mod.default as OpDef[]) registry.register(op);
    else throw new UsageError(`plugin '${p}' exports neither ops: OpDef[] nor a default function(registry)`);
  }
  return registry;
}
