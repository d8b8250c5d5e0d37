/**
 * Build step: bundle each command-line entry point into one ESM file with esbuild.
 * One file instead of ~60 modules (and CommonJS dependencies) halves the cold start
 * of `modelspec check`; split into chunks per command. TensorFlow.js is never bundled: commands that need it import
 * it at run time.
 */
import { chmodSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

// Chunk names carry a hash: without this, every build would leave the last one's chunks behind.
rmSync('dist/cli/chunks', { recursive: true, force: true });

// The data-parallel worker (src/train/parallel/worker.ts) is an entry point of its own:
// dist/cli/train-worker.js, which src/train/parallel/pool.ts finds beside the chunks.
const entries = { modelspec: 'src/cli/modelspec.ts', spec2ts: 'src/cli/spec2ts.ts', 'train-worker': 'src/train/parallel/worker.ts' };
await build({
  entryPoints: entries,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: 'dist/cli',
  // Each command's code in its own chunk, loaded by the command's dynamic import: `check`
  // parses a third of the code `train` or `graph` need.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: true,
  // Whitespace and syntax minified (names kept, for readable stack traces): less for V8 to parse
  // on every start; ResNet diff cold start 323 -> 309 ms median.
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['@tensorflow/*', 'ts-morph', 'ajv'],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __msCreateRequire } from 'node:module'; const require = __msCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
// package.json's bins: npm runs them through sh, which needs the executable bit (esbuild writes
// 0644; `npx spec2ts` failed in CI with 'Permission denied').
for (const bin of ['modelspec', 'spec2ts']) chmodSync(`dist/cli/${bin}.js`, 0o755);
console.log(`bundled ${Object.values(entries).join(', ')} into dist/cli/`);
