/**
 * Custom ops from TypeScript/JavaScript modules (`--plugin ./my-ops.js`): a module
 * exports `ops: OpDef[]`, or a default function that receives the registry.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { builtinRegistry, type OpDef, type OpRegistry } from '../ops/index.js';
import { importModule } from '../io/import-module.js';

export async function registryWithPlugins(plugins: readonly string[]): Promise<OpRegistry> {
  if (plugins.length === 0) return builtinRegistry();
  const registry = builtinRegistry().clone();
  for (const p of plugins) {
    let mod: { ops?: OpDef[]; default?: unknown };
    try {
      mod = await importModule<{ ops?: OpDef[]; default?: unknown }>(pathToFileURL(resolve(p)).href);
    } catch (e) {
      // A missing plugin, or one that fails as it loads: the --plugin argument's problem, not a bug here.
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ENOENT' ? 'no such file (paths are relative to the current directory)' : `it failed to load: ${(e as Error)?.message ?? String(e)}`;
      throw new UsageError(`cannot load plugin '${p}': ${why}`);
    }
    if (Array.isArray(mod.ops)) for (const op of mod.ops) registry.register(op);
    else if (typeof mod.default === 'function') (mod.default as (r: OpRegistry) => void)(registry);
    else if (Array.isArray(mod.default)) for (const op of mod.default as OpDef[]) registry.register(op);
    else throw new UsageError(`plugin '${p}' exports neither ops: OpDef[] nor a default function(registry)`);
  }
  return registry;
}

/** A problem with how the command was called: exit code 2, no stack trace. */
export class UsageError extends Error {}
