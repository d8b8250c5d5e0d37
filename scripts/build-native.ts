/**
 * Build step (the last of `npm run build`): compile native/ (modelspec's optional AVX2/AVX-512
 * kernels for the wasm backend's training, a Node-API addon) with node-gyp, and copy it to
 * dist/native/modelspec_kernels.node, where src/backends/tfjs/wasm-kernels/native.ts loads it.
 *
 * Optional by design: without a C++ compiler, on another CPU architecture, or when the CPU lacks
 * AVX2/FMA, this prints one warning line and exits 0, and the wasm backend runs on XNNPACK alone.
 *
 * node-gyp is npm's own copy (npm bundles it to build install scripts' addons), so the project
 * has no node-gyp dependency of its own (it would pull ~100 packages into every install); a
 * node-gyp in the project's node_modules is used first if someone adds one. The Node headers come
 * from `npm_config_nodedir` when npm sets it, else from the running node's prefix
 * (<prefix>/include/node), so that nothing is downloaded.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const built = join(nativeDir, 'build', 'Release', 'modelspec_kernels.node');
const target = join(root, 'dist', 'native', 'modelspec_kernels.node');
const log = join(nativeDir, 'build', 'build-native.log');
const require = createRequire(import.meta.url);

/** The one line a failed build prints; the product still works, on XNNPACK alone. */
function skip(why: string): never {
  // A stale addon must not be picked up instead (native.ts also looks in native/build/Release).
  rmSync(target, { force: true });
  rmSync(built, { force: true });
  console.warn(`modelspec: native kernels not built (${why}); the wasm backend will run on XNNPACK alone`);
  process.exit(0);
}

function findNodeGyp(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] }));
  } catch {
    // not a dependency of the project: npm's own below
  }
  // npm's directory: from npm_execpath (…/npm/bin/npm-cli.js) when run by npm, else beside node.
  const npmDirs: string[] = [];
  if (process.env.npm_execpath) npmDirs.push(resolve(dirname(process.env.npm_execpath), '..'));
  const prefix = resolve(dirname(realpathSync(process.execPath)), '..');
  npmDirs.push(join(prefix, 'lib', 'node_modules', 'npm'), join(dirname(process.execPath), 'node_modules', 'npm'));
  for (const dir of npmDirs) {
    try {
      candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [dir] }));
    } catch {
      // not there
    }
  }
  return candidates.find((c) => existsSync(c));
}

function nodeDirArgs(): string[] {
  if (process.env.npm_config_nodedir) return []; // node-gyp reads it itself
  const prefix = resolve(dirname(realpathSync(process.execPath)), '..');
  return existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

if (process.arch !== 'x64') skip(`x86-64 only, this is ${process.arch}`);
const nodeGyp = findNodeGyp();
if (!nodeGyp) skip('node-gyp not found (it comes with npm)');

mkdirSync(dirname(log), { recursive: true });
const output: string[] = [];
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [nodeGyp, ...args, ...nodeDirArgs()], { cwd: nativeDir, encoding: 'utf8' });
  output.push(`$ node-gyp ${args.join(' ')}`, r.stdout ?? '', r.stderr ?? '', r.error ? String(r.error) : '');
  return r.status === 0;
};
// configure once (it writes build/config.gypi and the makefiles); build is incremental.
const ok = (existsSync(join(nativeDir, 'build', 'config.gypi')) || run(['configure'])) && run(['build']);
writeFileSync(log, output.join('\n'));
if (!ok || !existsSync(built)) {
  // The first line that says what went wrong (a missing compiler, make or Python; a compile error).
  const lines = output.join('\n').split('\n');
  const first = lines.find((l) => !l.startsWith('gyp ') && /\berror\b|not found|No such file|Can't find|find any Visual Studio/i.test(l));
  const reason = (first ?? 'see the log').trim().slice(0, 160);
  skip(`node-gyp failed: ${reason}; log in ${relative(root, log)}`);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(built, target);
// It loads here, or it says why not (the CPU lacks AVX2/FMA: built but unused).
try {
  const k = require(target) as { isa: string };
  console.log(`modelspec: native kernels built (${relative(root, target)}, ${k.isa})`);
} catch (e) {
  console.warn(`modelspec: native kernels built but not usable here (${(e as Error).message}); the wasm backend will run on XNNPACK alone`);
}
