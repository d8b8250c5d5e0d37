#!/usr/bin/env node
/**
 * `spec2ts <spec...> [--out generated/] [--check] [--force]`: generate typed TypeScript builders
 * from specs (src/codegen). Without specs, every spec under specs/ (block libraries skipped).
 * Exit codes (the README's table): 0 fine, 1 problems (spec errors, unreadable specs, out-of-date
 * files with --check), 2 usage (a refused overwrite: pass --force) or internal error.
 */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { compileCacheDir, enableCompileCache } from '../io/compile-cache.js';
import { escapeTerminal } from '../io/terminal.js';
import { reportFailure } from './errors.js';

// ts-morph and its TypeScript, compiled with a V8 code cache (src/io/compile-cache.ts): so the
// code generator is imported when a command needs it, after this, not with the module.
const TS_PACKAGES = /[\\/]node_modules[\\/](?:ts-morph|@ts-morph[\\/]common|typescript)[\\/]/;
enableCompileCache(compileCacheDir(fileURLToPath(new URL('../..', import.meta.url))), (f) => TS_PACKAGES.test(f));

export function buildProgram(): Command {
  return new Command('spec2ts')
    .description('Generate typed TypeScript builders (tf.LayersModel) from model specs.')
    .version('0.1.0')
    .argument('[spec...]', 'spec files (default: every spec under --root)')
    .option('--out <dir>', 'output folder', 'generated')
    .option('--root <dir>', 'specs are placed under --out by their path relative to this folder', 'specs')
    .option('--check', 'write nothing; exit 1 listing the generated files that differ from what the specs give')
    .option('--force', 'replace files that spec2ts did not write')
    .showHelpAfterError()
    .exitOverride()
    .action(async (specs: string[], o: { out: string; root: string; check?: boolean; force?: boolean }) => {
      const { runSpec2ts } = await import('../codegen/run.js');
      const r = runSpec2ts(specs, { out: o.out, root: o.root, check: !!o.check, force: !!o.force });
      if (r.stderr) process.stderr.write(escapeTerminal(r.stderr));
      if (r.stdout) process.stdout.write(escapeTerminal(r.stdout));
      process.exitCode = r.code;
    });
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
  // As modelspec's: file-system errors name the path and say what to do; a bug says so.
  else process.exitCode = reportFailure('spec2ts', e);
}
