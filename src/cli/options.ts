/**
 * Options and argument parsers shared by the commands (src/cli/main.ts, review-commands.ts,
 * train-commands.ts), so a flag reads and behaves the same on every command that has it.
 */
import { InvalidArgumentError, Option } from 'commander';
import { LIMIT_NAMES, type Limits } from '../limits.js';
import type { CompileFlags } from '../compile.js';
import { UsageError } from './plugins.js';

export const collect = (v: string, prev: string[]) => [...prev, v];

const wholeNumber = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
  return n;
};
export const nonNegativeInt = wholeNumber(0);
export const positiveInt = wholeNumber(1);
/** A fraction in [0, 1) (`--validation-split`). */
export const fraction = (v: string): number => {
  const n = Number(v);
  if (!(v.trim() !== '' && n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number >= 0 and < 1');
  return n;
};

export const setOption = (flag = '--set <name=value>', what = 'set a spec parameter; the value is read as YAML (repeatable)') =>
  new Option(flag, what).default([]).argParser(collect);
/**
 * `--plugin`, removed (issue #13): it loaded custom ops from a module, but spec2ts, the generated
 * builders' runtime and saved models ignored them. Ops are defined in src/ops/, one OpDef each.
 * Hidden, and refused with that hint rather than as an unknown option.
 */
export const pluginOption = () => new Option('--plugin <module>').hideHelp().argParser((): never => {
  throw new UsageError('--plugin was removed: custom ops are no longer loaded from modules; an op is one definition in src/ops/ (see docs/language.md §13)');
});
/**
 * `--limit` on train, evaluate and predict: it was a number of examples there, and is now
 * `--max-examples N` (issue #13), so that `--limit` means one thing: a resource limit, `name=value`,
 * on the compiling commands. Hidden, and refused with the new spelling as the hint.
 */
export const renamedLimitOption = () => new Option('--limit <value>').hideHelp().argParser((v: string): never => {
  throw new UsageError(/^\s*\d+\s*$/.test(v)
    ? `--limit ${v}: a number of examples is now --max-examples ${v.trim()} (--limit is the compiler's resource limit, name=value, on check, summary, build, diff, graph and export)`
    : `--limit ${v}: this command has no resource limits; for a number of examples use --max-examples N`);
});
/** The compiler's resource limits (src/limits.ts), `--limit name=value`; train, evaluate and predict take --max-examples N instead. */
export const resourceLimitOption = () => new Option('--limit <name=value>', `raise or lower a resource limit (repeatable): ${LIMIT_NAMES.join(', ')}`).default([]).argParser(collect);
export const rootOption = () => new Option('--allow-outside-root', "allow use: of files outside the spec's project");

function parseLimits(args: readonly string[]): Partial<Limits> {
  const limits: Partial<Limits> = {};
  for (const a of args) {
    const [name, value] = a.split('=');
    if (!name || !(LIMIT_NAMES as string[]).includes(name)) throw new UsageError(`--limit ${a}: unknown limit; the limits are ${LIMIT_NAMES.join(', ')}`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--limit ${a}: expected ${name}=<a whole number >= 1>`);
    limits[name as keyof Limits] = n;
  }
  return limits;
}

export type { CompileFlags } from '../compile.js';

/** --limit and --allow-outside-root, as compile options. */
export const compileFlags = (o: { limit: string[]; allowOutsideRoot?: boolean }): { compile: CompileFlags } => ({
  compile: { limits: parseLimits(o.limit), ...(o.allowOutsideRoot ? { allowOutsideRoot: true } : {}) },
});
