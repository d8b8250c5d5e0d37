/**
 * The review commands: `diff` (semantic diff of two specs), `graph` (the model drawn)
 * and `git-diff-driver` (the diff as git's external diff). Registered on the main
 * program by `registerReviewCommands`; each loads its implementation on first use,
 * so other commands start as fast as before.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { builtinRegistry } from '../ops/index.js';
import { emit } from './output.js';
import { compileFlags, nonNegativeInt, pluginOption, resourceLimitOption, rootOption, setOption } from './options.js';

const positiveNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 16) throw new InvalidArgumentError('expected a number > 0 and <= 16');
  return n;
};

export function registerReviewCommands(program: Command): void {
  program
    .command('diff')
    .description('semantic diff of two specs: layers added, removed and changed, shapes, parameters, MACs (exit 0 same, 1 different, 2 trouble)')
    .argument('<a>', 'left side: a spec file, REV:path (read from git), or the same file as <b> with other --left-set values')
    .argument('<b>', 'right side')
    .addOption(setOption('--set <name=value>', 'set a spec parameter on both sides; the value is read as YAML (repeatable)'))
    .addOption(setOption('--left-set <name=value>', 'set a parameter of the left side only (repeatable)'))
    .addOption(setOption('--right-set <name=value>', 'set a parameter of the right side only (repeatable)'))
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'markdown', 'json']).default('text'))
    .option('--names', 'list the renamed layers (by default one line counts them)')
    .option('--strict-names', 'exit 1 when only layer ids differ (by default ids alone are no change: exit 0)')
    .addOption(pluginOption())
    .addOption(resourceLimitOption())
    .addOption(rootOption())
    .action(async (a: string, b: string, o: { set: string[]; leftSet: string[]; rightSet: string[]; format: 'text' | 'markdown' | 'json'; names?: boolean; strictNames?: boolean; limit: string[]; allowOutsideRoot?: boolean }) => {
      const { runDiff } = await import('./diff.js');
      emit(runDiff(a, b, { set: o.set, leftSet: o.leftSet, rightSet: o.rightSet, format: o.format, names: !!o.names, strictNames: !!o.strictNames, registry: builtinRegistry(), ...compileFlags(o) }), { json: o.format === 'json' });
    });

  program
    .command('graph')
    .description('draw the model (shapes, parameters, blocks as clusters) as DOT, Mermaid, SVG or PNG')
    .argument('<spec>', 'spec file')
    .addOption(setOption())
    .addOption(new Option('--format <format>', 'output format (default: from --out, else dot)').choices(['dot', 'mermaid', 'svg', 'png']))
    .option('--out <file>', 'write to this file instead of standard output')
    .option('--force', 'replace an --out file that modelspec graph did not write')
    .addOption(new Option('--depth <n>', 'fold blocks and loops below this depth into one node each').argParser(nonNegativeInt))
    .addOption(new Option('--direction <dir>', 'top to bottom or left to right').choices(['TB', 'LR']).default('TB'))
    .addOption(new Option('--scale <factor>', 'PNG pixels per point').argParser(positiveNumber))
    .addOption(pluginOption())
    .addOption(resourceLimitOption())
    .addOption(rootOption())
    .action(async (spec: string, o: { set: string[]; format?: 'dot' | 'mermaid' | 'svg' | 'png'; out?: string; depth?: number; direction: 'TB' | 'LR'; scale?: number; force?: boolean; limit: string[]; allowOutsideRoot?: boolean }) => {
      const { runGraph } = await import('./graph.js');
      emit(await runGraph(spec, {
        set: o.set,
        ...(o.format ? { format: o.format } : {}),
        ...(o.out ? { out: o.out } : {}),
        ...(o.depth !== undefined ? { depth: o.depth } : {}),
        ...(o.scale !== undefined ? { scale: o.scale } : {}),
        direction: o.direction,
        ...(o.force ? { force: true } : {}),
        tty: !!process.stdout.isTTY,
        registry: builtinRegistry(),
        ...compileFlags(o),
      }));
    });

  program
    .command('git-diff-driver')
    .description('external diff driver for git: shows the semantic diff of spec files in git diff (see docs/git-diff.md)')
    .argument('<args...>', 'the arguments git passes: path old-file old-hex old-mode new-file new-hex new-mode')
    .addOption(new Option('--format <format>', 'report format').choices(['text', 'markdown', 'json']).default('text'))
    .addOption(pluginOption())
    .action(async (args: string[], o: { format: 'text' | 'markdown' | 'json' }) => {
      const { runGitDiffDriver } = await import('./diff.js');
      emit(runGitDiffDriver(args, { format: o.format, registry: builtinRegistry() }), { json: o.format === 'json' });
    });
}
