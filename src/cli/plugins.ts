/**
 * The CLI's names for what lives lower in the pipeline: `--plugin` modules are loaded by the op
 * registry (src/ops/plugins.ts, which training's worker threads use too), and UsageError is in
 * src/diagnostics/errors.ts.
 */
export { registryWithPlugins } from '../ops/plugins.js';
export { UsageError } from '../diagnostics/errors.js';
