/**
 * The `modelspec` command line. Each command lives in its own file and returns
 * its output; this file parses arguments (commander), prints, and maps failures
 * to exit codes: 0 fine, 1 problems in the input, 2 usage or internal error.
 * Nothing here loads TensorFlow.js. Started by ./modelspec.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { builtinRegistry } from '../ops/index.js';
import { emit, EXIT, exitQuietlyWhenStdoutCloses } from './output.js';
import { reportFailure } from './errors.js';
import { registerReviewCommands } from './review-commands.js';
import { registerTrainCommands } from './train-commands.js';
import { compileFlags, nonNegativeInt, pluginOption, resourceLimitOption as limitOption, rootOption, setOption } from './options.js';

export function buildProgram(): Command {
  const program = new Command('modelspec')
    .description('Compile declarative YAML model specs: check, summarise, build and train them.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerCompileCommands(program);
  registerReviewCommands(program);
  registerTrainCommands(program);
  return program;
}

/** check, summary, build, import, export: compile a spec (or read a model) and print or write the result. */
function registerCompileCommands(program: Command): void {
  program
    .command('check')
    .description('validate specs and check shapes; report every problem with its position')
    .argument('<spec...>', 'spec files')
    .addOption(setOption())
    .addOption(pluginOption())
    .addOption(limitOption())
    .addOption(rootOption())
    .option('--json', 'print diagnostics as JSON')
    .action(async (specs: string[], o: { set: string[]; json?: boolean; limit: string[]; allowOutsideRoot?: boolean }) => {
      const { runCheck } = await import('./check.js');
      emit(runCheck(specs, { set: o.set, json: !!o.json, registry: builtinRegistry(), ...compileFlags(o) }), { json: !!o.json });
    });

  program
    .command('summary')
    .description('print the Keras-style summary: layers, output shapes, parameters, MACs')
    .argument('<spec>', 'spec file')
    .addOption(setOption())
    .addOption(pluginOption())
    .addOption(limitOption())
    .addOption(rootOption())
    .option('--json', 'print the summary as JSON')
    .addOption(new Option('--depth <n>', 'fold the view by block and loop below this depth').argParser(nonNegativeInt))
    .action(async (spec: string, o: { set: string[]; json?: boolean; depth?: number; limit: string[]; allowOutsideRoot?: boolean }) => {
      const { runSummary } = await import('./summary.js');
      emit(runSummary(spec, { set: o.set, json: !!o.json, ...(o.depth !== undefined ? { depth: o.depth } : {}), registry: builtinRegistry(), ...compileFlags(o) }), { json: !!o.json });
    });

  program
    .command('build')
    .description('build the TensorFlow.js model and write it (model.json + weights.bin, or Keras JSON)')
    .argument('<spec>', 'spec file')
    .addOption(setOption())
    .addOption(pluginOption())
    .addOption(limitOption())
    .addOption(rootOption())
    .requiredOption('--out <dir>', 'output directory')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend (default: the best present, node > wasm > cpu)').choices(['node', 'wasm', 'cpu']))
    .addOption(new Option('--format <format>', "tfjs: model.json + weights.bin; keras-json: the Keras 2 topology JSON; keras3-json: Keras 3's config.json").choices(['tfjs', 'keras-json', 'keras3-json']).default('tfjs'))
    .option('--force', 'replace files in --out that modelspec did not write')
    .action(async (spec: string, o: { set: string[]; out: string; backend?: 'node' | 'wasm' | 'cpu'; format: 'tfjs' | 'keras-json' | 'keras3-json'; force?: boolean; limit: string[]; allowOutsideRoot?: boolean }) => {
      const { runBuild } = await import('./build.js');
      emit(await runBuild(spec, { set: o.set, out: o.out, format: o.format, force: !!o.force, ...(o.backend ? { backend: o.backend } : {}), registry: builtinRegistry(), ...compileFlags(o) }));
    });

  program
    .command('import')
    .description('turn a Keras or TensorFlow.js model topology JSON into a spec')
    .argument('<model.json>', 'topology JSON (model.to_json(), tfjs model.json)')
    .option('--out <file>', 'write the spec here instead of printing it')
    .addOption(pluginOption())
    .option('--force', 'replace a file that modelspec did not write')
    .option('--flat', 'one item per layer, each with its Keras name as id (no blocks or loops)')
    .option('--keep-names', 'the spec must reproduce the Keras layer names (flat where the recovered structure would rename layers)')
    .action(async (file: string, o: { out?: string; force?: boolean; flat?: boolean; keepNames?: boolean }) => {
      const { runImport } = await import('./import.js');
      emit(runImport(file, { ...(o.out ? { out: o.out } : {}), force: !!o.force, flat: !!o.flat, keepNames: !!o.keepNames, registry: builtinRegistry() }));
    });

  program
    .command('export')
    .description('write the spec as code for another framework: a PyTorch module (nn.Module) with Keras semantics')
    .argument('<spec>', 'spec file')
    .addOption(new Option('--format <format>', 'what to write').choices(['pytorch']).makeOptionMandatory())
    .addOption(setOption())
    .addOption(pluginOption())
    .addOption(limitOption())
    .addOption(rootOption())
    .option('--out <file>', 'write the module here (default: print it)')
    .option('--force', 'replace a file that modelspec did not write')
    .action(async (spec: string, o: { set: string[]; format: 'pytorch'; out?: string; force?: boolean; limit: string[]; allowOutsideRoot?: boolean }) => {
      const { runExport } = await import('./export.js');
      emit(runExport(spec, { set: o.set, format: o.format, ...(o.out ? { out: o.out } : {}), force: !!o.force, registry: builtinRegistry(), ...compileFlags(o) }));
    });
}

export async function main(argv: string[]): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; every other commander error is a usage error.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    // Usage, file-system and environment errors get a message with the path and what to do.
    process.exitCode = reportFailure('modelspec', e);
  }
}

// For the launcher of the CommonJS bundle (./modelspec.ts): it hands in its own `import()`.
export { setModuleImporter } from '../io/import-module.js';
