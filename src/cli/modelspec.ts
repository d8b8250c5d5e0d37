#!/usr/bin/env node
/**
 * The `modelspec` executable: starts the command line of ./main.ts.
 *
 * Built (`npm run build`), it runs dist/cli/modelspec.cjs: the whole command line bundled into
 * one CommonJS file, loaded with the V8 code cache that the build saved after running the usual
 * commands (scripts/bundle-cli.ts). A cold start then skips parsing the ES module chunks and
 * compiling the functions a command runs: cold `diff` of ResNet110v1 against ResNet56v1 290 ->
 * 250 ms, `check` 220 -> 190 ms (docs/performance.md). The bundle's modules that import a
 * package at run time (TensorFlow.js, Graphviz) do it through this module's `import`
 * (src/io/import-module.ts), TensorFlow.js's CommonJS packages through its `require`. Without the bundle (running the TypeScript sources through tsx),
 * ./main.ts is imported as usual.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { loadWithCodeCache } from '../io/code-cache.js';
import type { ModuleImporter } from '../io/import-module.js';

interface CommandLine {
  main(argv: string[]): Promise<void>;
  setModuleImporter(fn: ModuleImporter): void;
}

const bundle = fileURLToPath(new URL('./modelspec.cjs', import.meta.url));
let cli: CommandLine;
if (existsSync(bundle)) {
  cli = loadWithCodeCache<CommandLine>(bundle).exports;
  // TensorFlow.js is CommonJS: require() it. import() of a CommonJS package first scans its
  // files for export names (Node's cjs-module-lexer, over tfjs's megabytes of bundles): 0.6-0.7 s
  // of CPU in every train, build, evaluate and predict (node -e, this machine: 0.4 s against 1.1 s).
  const require = createRequire(import.meta.url);
  cli.setModuleImporter(async (specifier) => (specifier.startsWith('@tensorflow/') ? require(specifier) : import(specifier)));
} else {
  cli = await import('./main.js');
}
await cli.main(process.argv);
