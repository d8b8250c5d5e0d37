/**
 * Build step: bundle each command-line entry point into one ESM file with esbuild.
 * One file instead of ~60 modules (and CommonJS dependencies) halves the cold start
 * of `modelspec check`; split into chunks per command. TensorFlow.js is never bundled: commands that need it import
 * it at run time.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { CODE_CACHE_SUFFIX } from '../src/io/code-cache.js';

const MAIN_BUNDLE = 'modelspec.cjs';
const WARM_UP_RUNS = [
  ['check', 'specs/mnist-cnn.yaml', 'specs/y-network.yaml', 'specs/resnet-v1.yaml', 'specs/resnet-v2.yaml'],
  ['check', 'test/baselines/cases/unknown-attribute.yaml'],
  ['summary', 'specs/resnet-v1.yaml'],
  ['diff', 'specs/resnet-v1.yaml', 'specs/resnet-v1.yaml', '--left-set', 'n=18', '--right-set', 'n=9'],
  ['diff', 'specs/resnet-v1.yaml', 'specs/resnet-v1.yaml', '--right-set', 'n=5', '--format', 'markdown'],
];

// Chunk names carry a hash: without this, every build would leave the last one's chunks behind.
rmSync('dist/cli/chunks', { recursive: true, force: true });

/**
 * ts-morph (CommonJS, 13 MB with its TypeScript) through the bundle's require() rather than
 * import: import() of a CommonJS package first reads it and scans it for export names (Node's
 * cjs-module-lexer), ~0.2 s of every spec2ts start, before require() reads and compiles it again.
 * require() also goes through the V8 code cache of src/io/compile-cache.ts.
 */
const requireTsMorph: Plugin = {
  name: 'require-ts-morph',
  setup(b) {
    b.onResolve({ filter: /^ts-morph$/ }, (args) => (args.namespace === 'require-ts-morph' ? { path: 'ts-morph', external: true } : { path: 'ts-morph', namespace: 'require-ts-morph' }));
    b.onLoad({ filter: /.*/, namespace: 'require-ts-morph' }, () => ({ contents: "module.exports = require('ts-morph');", loader: 'js' }));
  },
};

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
  plugins: [requireTsMorph],
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __msCreateRequire } from 'node:module'; const require = __msCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
// The same command line as one CommonJS file, which src/cli/modelspec.ts loads with V8's code
// cache (src/io/code-cache.ts): ES modules cannot use a code cache in Node 20, a vm script can.
// Its import.meta.url is the bundle's own URL, so files found relative to a module (validators,
// the training worker, the schema) resolve as from dist/cli/*.js.
await build({
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: `dist/cli/${MAIN_BUNDLE}`,
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  external: ['@tensorflow/*', 'ts-morph', 'ajv'],
  define: { 'import.meta.url': '__msImportMetaUrl' },
  banner: { js: "var __msImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
rmSync(`dist/cli/${MAIN_BUNDLE}${CODE_CACHE_SUFFIX}`, { force: true });
// The cache is taken in a plain node process (the flags V8 checks must be those of a user's run)
// after it has run the commands people start cold most: check (a clean spec and a broken one),
// summary and diff, so the functions they call are in it, compiled.
const warm = spawnSync(process.execPath, ['--input-type=module', '-e', `
  import { writeFileSync } from 'node:fs';
  import { loadWithCodeCache, CODE_CACHE_SUFFIX } from './dist/io/code-cache.js';
  const file = ${JSON.stringify(resolve(`dist/cli/${MAIN_BUNDLE}`))};
  const { exports, script } = loadWithCodeCache(file, { useCache: false });
  const write = process.stdout.write, ewrite = process.stderr.write;
  process.stdout.write = process.stderr.write = () => true;
  try {
    for (const argv of ${JSON.stringify(WARM_UP_RUNS)}) await exports.main(['node', 'modelspec', ...argv]);
  } finally {
    process.stdout.write = write; process.stderr.write = ewrite;
  }
  process.exitCode = 0;
  writeFileSync(file + CODE_CACHE_SUFFIX, script.createCachedData());
`], { stdio: ['ignore', 'inherit', 'inherit'] });
if (warm.status !== 0) throw new Error(`could not build the code cache of dist/cli/${MAIN_BUNDLE} (exit ${warm.status})`);

// package.json's bins: npm runs them through sh, which needs the executable bit (esbuild writes
// 0644; `npx spec2ts` failed in CI with 'Permission denied').
for (const bin of ['modelspec', 'spec2ts']) chmodSync(`dist/cli/${bin}.js`, 0o755);
console.log(`bundled ${Object.values(entries).join(', ')} into dist/cli/, and src/cli/main.ts into dist/cli/${MAIN_BUNDLE} with its V8 code cache`);
