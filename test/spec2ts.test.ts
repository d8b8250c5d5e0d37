/**
 * spec2ts: the generated TypeScript builders.
 *
 * - Every file in generated/ (and the modules of the fixture specs) type-checks under `--strict`,
 *   with no `any`.
 * - `spec2ts --check` passes on the committed generated/, and fails after a spec edit; output is
 *   deterministic; files without the banner are not overwritten unasked.
 * - Specs whose names, strings and docs hold quotes, backticks, `*\/`, newlines and reserved
 *   words generate code that compiles and builds the same model (no injection).
 * - THE equivalence: for every spec and many parameter values (fixed ones and a fast-check
 *   property over the declared bounds), the generated builder and the interpreter
 *   (buildModel, cpu backend) build the same model: layer classes, configs, order, names,
 *   connections and weight shapes. Where the compiler refuses the values, the builder throws too,
 *   with the compiler's message for option, argument and assert problems.
 * - The expressions printed as TypeScript evaluate as the interpreter evaluates them (property test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import ts from 'typescript';
import type * as TF from '@tensorflow/tfjs';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnSync } from 'node:child_process';
import { buildModel, loadTf, SpecError, type Tf } from '../src/build.js';
import { parseSpec } from '../src/index.js';
import { generateFile, generateSource, isGenerated, RUNTIME_MODULE } from '../src/codegen/index.js';
import { findSpecs, outputPath, runSpec2ts } from '../src/codegen/run.js';
import { printExpr, type ExprEnv } from '../src/codegen/expr.js';
import { NUM, BOOL, list, type SType } from '../src/codegen/stype.js';
import { evaluate, type Value } from '../src/expr/evaluate.js';
import { parseExpr } from '../src/expr/parse.js';
import type { Expr, ParamDecl } from '../src/types/spec.js';
import { ACTIVATIONS } from '../src/ops/attrs.js';
import * as runtime from '../src/runtime/index.js';
import { ROOT } from './helpers.js';
import { STRICT_GENERATED_OPTIONS } from './strict-ts.js';

const TMP = join(ROOT, 'tmp', `spec2ts-test-${process.pid}`);
const FIXTURES = join(ROOT, 'test', 'fixtures', 'spec2ts');
const RUNS = Number(process.env.SPEC2TS_RUNS ?? 16);

interface GeneratedModule {
  build(options?: Record<string, unknown>, tfArg?: Tf): TF.LayersModel;
  defaults: Record<string, unknown>;
}

/** Every spec of the project that is a model (libraries have nothing to generate). */
const SPECS = findSpecs(join(ROOT, 'specs')).filter((f) => !parseSpec(f, readFileSync(f, 'utf8')).library);
const FIXTURE_SPECS = ['constructs.yaml', 'hostile.yaml', 'minimal.yaml'].map((f) => join(FIXTURES, f));

let tf: Tf;
let counter = 0;

beforeAll(async () => {
  tf = (await loadTf('cpu')).tf;
  mkdirSync(TMP, { recursive: true });
});

afterAll(() => {
  rmSync(TMP, { recursive: true, force: true });
});

/** Import generated code (its runtime import pointed at src/runtime, so no build is needed). */
async function importGenerated(code: string, name: string): Promise<GeneratedModule> {
  const file = join(TMP, `${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${counter++}.ts`);
  let rel = relative(dirname(file), join(ROOT, 'src', 'runtime', 'index.js')).split('\\').join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  const importLine = `from '${RUNTIME_MODULE}';`;
  expect(code.includes(importLine)).toBe(true);
  writeFileSync(file, code.replace(importLine, `from '${rel}';`));
  return (await import(pathToFileURL(file).href)) as GeneratedModule;
}

const committed = (spec: string) => outputPath(spec, join(ROOT, 'generated'), join(ROOT, 'specs'));

/** Everything two models must share: topology JSON (classes, configs, names, order, connections) and weights. */
function describeModel(m: TF.LayersModel) {
  return {
    name: m.name,
    classes: m.layers.map((l) => l.getClassName()),
    names: m.layers.map((l) => l.name),
    configs: m.layers.map((l) => l.getConfig()),
    topology: m.toJSON(null, false),
    weights: m.layers.map((l) => l.weights.map((w) => `${w.originalName} ${w.shape.join('x')} ${w.trainable ? 'trainable' : 'fixed'}`)),
    // (Tensor names carry process-wide suffixes; the layers' names are the ones to compare.)
    inputs: m.inputs.map((t, i) => `${m.inputNames[i]} ${t.shape.join(',')} ${t.dtype}`),
    outputs: m.outputs.map((t, i) => `${m.outputNames[i]} ${t.shape.join(',')}`),
  };
}

function errorMessages(e: unknown): string[] {
  if (e instanceof SpecError) return e.result.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
  return [String((e as Error).message)];
}

/**
 * Build with the generated module and with the interpreter and compare. Returns 'same' or 'error'
 * (both refused the values; a SpecValueError must carry the compiler's messages).
 */
async function compare(spec: string, mod: GeneratedModule, params: Record<string, unknown>, mustBuild = false): Promise<'same' | 'error'> {
  let interp: TF.LayersModel | undefined;
  let gen: TF.LayersModel | undefined;
  let interpErr: unknown;
  let genErr: unknown;
  try {
    interp = await buildModel(spec, params, { tf });
  } catch (e) {
    interpErr = e;
  }
  try {
    gen = mod.build(params, tf);
  } catch (e) {
    genErr = e;
  }
  try {
    const label = `${relative(ROOT, spec)} ${JSON.stringify(params)}`;
    if (mustBuild && (interpErr || genErr)) {
      throw new Error(`${label}: expected both to build; generated: ${genErr ? errorMessages(genErr).join('; ') : 'built'}; interpreter: ${interpErr ? errorMessages(interpErr).join('; ') : 'built'}`);
    }
    if (interpErr || genErr) {
      expect({ label, generated: genErr ? errorMessages(genErr) : 'built', interpreter: interpErr ? errorMessages(interpErr) : 'built' })
        .toMatchObject({ generated: expect.any(Array), interpreter: expect.any(Array) });
      if (genErr instanceof runtime.SpecValueError) {
        const compiler = errorMessages(interpErr);
        for (const p of genErr.problems) {
          // Options are given as --set to the compiler, which adds where the value came from.
          expect(compiler.some((m) => m === p.message || m.startsWith(`${p.message} (from --set `)), `${label}: '${p.message}' among ${JSON.stringify(compiler)}`).toBe(true);
        }
      }
      return 'error';
    }
    expect(describeModel(gen!), label).toEqual(describeModel(interp!));
    return 'same';
  } finally {
    gen?.dispose();
    interp?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

describe('generated/ is what the specs give', () => {
  it('spec2ts --check passes on the committed generated/, one module per model spec', () => {
    const r = runSpec2ts([], { check: true, cwd: ROOT });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const spec of SPECS) expect(existsSync(committed(spec)), relative(ROOT, spec)).toBe(true);
    expect(existsSync(join(ROOT, 'generated', 'resnet-v1.ts'))).toBe(true);
    expect(existsSync(join(ROOT, 'generated', 'examples', 'siamese.ts'))).toBe(true);
  }, 60_000);

  it('is deterministic: generating twice gives the same text, byte for byte', () => {
    for (const spec of [...SPECS, ...FIXTURE_SPECS]) {
      const a = generateFile(spec);
      const b = generateFile(spec);
      expect(a.ok, relative(ROOT, spec)).toBe(true);
      expect(a.code).toBe(b.code);
    }
  }, 60_000);

  it('--check fails after a spec edit (in a copy), names the file, and writing fixes it', () => {
    const dir = join(TMP, 'project');
    cpSync(join(ROOT, 'specs'), join(dir, 'specs'), { recursive: true });
    cpSync(join(ROOT, 'generated'), join(dir, 'generated'), { recursive: true });
    expect(runSpec2ts([], { check: true, cwd: dir }).code).toBe(0);
    const file = join(dir, 'specs', 'resnet-v1.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('n: {type: int, default: 3,', 'n: {type: int, default: 4,'));
    const r = runSpec2ts([], { check: true, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('generated/resnet-v1.ts differs from what specs/resnet-v1.yaml gives');
    expect(r.stderr).not.toContain('y-network');
    // --check writes nothing.
    expect(readFileSync(join(dir, 'generated', 'resnet-v1.ts'), 'utf8')).toBe(readFileSync(join(ROOT, 'generated', 'resnet-v1.ts'), 'utf8'));
    const w = runSpec2ts([], { cwd: dir });
    expect(w.code).toBe(0);
    expect(w.stdout).toBe('wrote generated/resnet-v1.ts\n');
    expect(readFileSync(join(dir, 'generated', 'resnet-v1.ts'), 'utf8')).toContain('@defaultValue 4');
    expect(runSpec2ts([], { check: true, cwd: dir }).code).toBe(0);
    // A generated file whose spec is gone is stale.
    rmSync(join(dir, 'specs', 'mnist-cnn.yaml'));
    const stale = runSpec2ts([], { check: true, cwd: dir });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('generated/mnist-cnn.ts was generated from a spec that no longer exists');
  }, 60_000);

  it('refuses to overwrite a file without the banner unless --force; libraries and broken specs', () => {
    const dir = join(TMP, 'refuse');
    mkdirSync(join(dir, 'specs', 'blocks'), { recursive: true });
    copyFileSync(join(ROOT, 'specs', 'mnist-cnn.yaml'), join(dir, 'specs', 'mnist-cnn.yaml'));
    copyFileSync(join(ROOT, 'specs', 'blocks', 'resnet.yaml'), join(dir, 'specs', 'blocks', 'resnet.yaml'));
    mkdirSync(join(dir, 'generated'), { recursive: true });
    const target = join(dir, 'generated', 'mnist-cnn.ts');
    writeFileSync(target, '// my own code\n');
    const r = runSpec2ts(['specs/mnist-cnn.yaml'], { cwd: dir });
    expect(r.code).toBe(2); // a refused overwrite is a usage matter, as for every command
    expect(r.stderr).toContain('generated/mnist-cnn.ts exists and was not written by spec2ts');
    expect(readFileSync(target, 'utf8')).toBe('// my own code\n');
    const forced = runSpec2ts(['specs/mnist-cnn.yaml'], { cwd: dir, force: true });
    expect(forced.code).toBe(0);
    expect(isGenerated(readFileSync(target, 'utf8'))).toBe(true);
    expect(readFileSync(target, 'utf8').split('\n')[0]).toBe('// Generated by spec2ts from specs/mnist-cnn.yaml. Do not edit.');
    // A library named explicitly: nothing to generate, not an error.
    const lib = runSpec2ts(['specs/blocks/resnet.yaml'], { cwd: dir });
    expect(lib.code).toBe(0);
    expect(lib.stdout).toContain('a block library');
    expect(existsSync(join(dir, 'generated', 'blocks'))).toBe(false);
    // A spec with errors: the compiler's diagnostics, exit 1, nothing written.
    writeFileSync(join(dir, 'specs', 'bad.yaml'), 'modelspec: 1\ninputs:\n  x: {shape: [4]}\nlayers:\n  - dense: {unitz: 3}\n');
    const bad = runSpec2ts(['specs/bad.yaml'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('MS2002');
    expect(existsSync(join(dir, 'generated', 'bad.ts'))).toBe(false);
  }, 60_000);

  it('the bundled CLI (dist/cli/spec2ts.js) checks the committed files', () => {
    const cli = join(ROOT, 'dist', 'cli', 'spec2ts.js');
    if (!existsSync(cli)) throw new Error('dist/cli/spec2ts.js is missing: run npm run build first (npm ci does it)');
    const r = spawnSync(process.execPath, [cli, '--check'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^generated files are up to date \(\d+ modules in generated\)/);
    const usage = spawnSync(process.execPath, [cli, '--bogus'], { cwd: ROOT, encoding: 'utf8' });
    expect(usage.status).toBe(2);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------

// Random expression trees over variables of known types, for the expression tests (here so that the
// type check below can compile a sample of them with the generated modules).
const helpers = { floorDiv: runtime.floorDiv, mod: runtime.mod, eq: runtime.eq, range: runtime.range, at: runtime.at, len: runtime.len, num: runtime.num, bool: runtime.bool, plus: runtime.plus, compare: runtime.compare, min: runtime.min, max: runtime.max, fail: runtime.fail, when: runtime.when };
const VARS: Record<string, { type: SType; value: Value }> = {
  a: { type: NUM, value: 7 },
  b: { type: NUM, value: -3 },
  c: { type: NUM, value: 0.5 },
  t: { type: BOOL, value: true },
  f: { type: BOOL, value: false },
  xs: { type: list(NUM), value: [4, -2, 9] },
  // Literal types, as TypeScript infers for `const k = 3` and an enum option.
  k: { type: { k: 'num', lits: [3] }, value: 3 },
  m: { type: { k: 'str', lits: ['a', 'b'] }, value: 'a' },
};
const TS_TYPES: Record<string, string> = { a: 'number', b: 'number', c: 'number', t: 'boolean', f: 'boolean', xs: 'number[]', k: '3', m: "'a' | 'b'" };
const pos = { start: 0, end: 0 };
const num = fc.oneof(fc.integer({ min: -9, max: 9 }), fc.constantFrom(0.5, 2.25, 10)).map((v): Expr => (v < 0 ? { kind: 'unary', op: '-', arg: { kind: 'num', value: -v, ...pos }, ...pos } : { kind: 'num', value: v, ...pos }));
const variable = fc.constantFrom(...Object.keys(VARS)).map((name): Expr => ({ kind: 'var', name, ...pos }));
const { expr } = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    num,
    variable,
    fc.boolean().map((value): Expr => ({ kind: 'bool', value, ...pos })),
    fc.constantFrom('a', 'b', 'c').map((value): Expr => ({ kind: 'str', value, ...pos })),
    fc.record({ op: fc.constantFrom('+', '-', '*', '/', '//', '%', '**', '==', '!=', '<', '<=', '>', '>=', '&&', '||'), left: tie('expr'), right: tie('expr') })
      .map(({ op, left, right }): Expr => ({ kind: 'binary', op: op as Extract<Expr, { kind: 'binary' }>['op'], left, right, ...pos })),
    fc.record({ op: fc.constantFrom('-', '!', '+'), arg: tie('expr') }).map(({ op, arg }): Expr => ({ kind: 'unary', op: op as '-' | '!' | '+', arg, ...pos })),
    fc.record({ test: tie('expr'), then: tie('expr'), else: tie('expr') }).map((r): Expr => ({ kind: 'cond', ...r, ...pos })),
    fc.record({ fn: fc.constantFrom('min', 'max', 'floor', 'ceil', 'round', 'abs', 'len', 'range'), args: fc.array(tie('expr'), { minLength: 1, maxLength: 2 }) })
      .map(({ fn, args }): Expr => ({ kind: 'call', fn, args, ...pos })),
    fc.record({ target: fc.oneof(variable, fc.constant<Expr>({ kind: 'var', name: 'xs', ...pos })), index: tie('expr') }).map((r): Expr => ({ kind: 'index', ...r, ...pos })),
    fc.array(tie('expr'), { minLength: 1, maxLength: 3 }).map((items): Expr => ({ kind: 'list', items, ...pos })),
  ),
}));

const scope = { get: (n: string) => VARS[n]?.value, names: () => Object.keys(VARS) };
const env: ExprEnv = {
  lookup: (n) => (VARS[n] ? { ident: n, type: VARS[n].type } : undefined),
  narrowed: new Set(),
  use: (h) => h,
};
const run = (code: string): unknown => {
  const names = [...Object.keys(helpers), ...Object.keys(VARS)];
  const fn = new Function(...names, `return (${code});`) as (...args: unknown[]) => unknown;
  return fn(...Object.values(helpers), ...Object.values(VARS).map((v) => v.value));
};

describe('the generated code type-checks under --strict, with no any', () => {
  it('generated/, the fixture modules and 1,500 random expressions', () => {
    const files = findSpecs(join(ROOT, 'generated')).length; // (no yaml there)
    expect(files).toBe(0);
    const generated = SPECS.map(committed);
    const fixtureFiles = FIXTURE_SPECS.map((spec) => {
      const r = generateFile(spec);
      expect(r.ok).toBe(true);
      const file = join(TMP, 'typed', `${relative(FIXTURES, spec).replace(/\.yaml$/, '')}.ts`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, r.code!);
      return file;
    });
    // And a sample of printed expressions: TypeScript refuses none (e.g. `===` between types narrowed apart).
    const exprFile = join(TMP, 'typed', 'expressions.ts');
    writeFileSync(exprFile, [
      `import { ${Object.keys(helpers).join(', ')}, type Value } from '${RUNTIME_MODULE}';`,
      ...Object.entries(TS_TYPES).map(([n, t]) => `declare const ${n}: ${t};`),
      ...fc.sample(expr, { numRuns: 1500, seed: 11 }).map((e, i) => `export const e${i} = ${printExpr(e, env).code};`),
      'export type Unused = Value;',
    ].join('\n') + '\n');
    const rootNames = [...generated, ...fixtureFiles, exprFile];
    const program = ts.createProgram(rootNames, STRICT_GENERATED_OPTIONS);
    const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || rootNames.includes(d.file.fileName));
    const text = ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => ROOT, getNewLine: () => '\n' });
    expect(text).toBe('');
    // No `any`, written or inferred where a declaration has no type.
    const checker = program.getTypeChecker();
    for (const file of rootNames) {
      const sf = program.getSourceFile(file)!;
      const anys: string[] = [];
      const visit = (node: ts.Node) => {
        if (node.kind === ts.SyntaxKind.AnyKeyword) anys.push(`${relative(ROOT, file)}: ${node.parent.getText(sf)}`);
        if (ts.isVariableDeclaration(node) || ts.isParameter(node)) {
          const t = checker.getTypeAtLocation(node.name);
          if (t.flags & ts.TypeFlags.Any) anys.push(`${relative(ROOT, file)}: ${node.getText(sf)} is any`);
        }
        ts.forEachChild(node, visit);
      };
      visit(sf);
      expect(anys).toEqual([]);
    }
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------

describe('the generated code reads like the Keras code', () => {
  it('resnet-v1: a typed block function, loops, if, and the builder', () => {
    const code = readFileSync(join(ROOT, 'generated', 'resnet-v1.ts'), 'utf8');
    expect(code.split('\n')[0]).toBe('// Generated by spec2ts from specs/resnet-v1.yaml. Do not edit.');
    expect(code).toContain("import * as tf from '@tensorflow/tfjs';");
    expect(code).toContain('export interface ResnetV1Options {');
    expect(code).toContain('export const defaults: ResnetV1Options = { n: 3, num_classes: 10, input_shape: [32, 32, 3] };');
    expect(code).toContain('export function resnetLayer(parent: Scope, x: Tensor, options: Partial<ResnetLayerOptions> = {}, id?: string): Tensor {');
    expect(code).toContain('  if (conv_first) {');
    expect(code).toContain('  if (activation !== null) {');
    expect(code).toContain('export function buildResnetV1(options: Partial<ResnetV1Options> = {}, tfArg: typeof tf = tf): tf.LayersModel {');
    expect(code).toContain("  for (const [stage, s1] of s.for('stage', range(3))) {");
    expect(code).toContain('    const filters = 16 * 2 ** stage;');
    expect(code).toContain("    for (const [block, s2] of s1.repeat('block', n)) {");
    expect(code).toContain('      const down = stage > 0 && block === 0;');
    expect(code).toContain('          x = resnetLayer(b, x, { filters, strides: down ? 2 : 1 });');
    expect(code).toContain('export const build = buildResnetV1;');
    // Not an unrolled graph: no generated layer ids in the code.
    expect(code).not.toContain('stage1/');
  });

  it('options are typed from params, with docs, defaults and bounds', () => {
    const code = readFileSync(join(ROOT, 'generated', 'examples', 'mobilenet-mini.ts'), 'utf8');
    expect(code).toContain("  pooling: 'avg' | 'max';");
    expect(code).toContain('  classifier_activation: Activation | null;');
    expect(code).toContain('  input_shape: number[];');
    expect(code).toContain('  include_top: boolean;');
    expect(code).toContain('  kernel_initializer: string;');
    expect(code).toMatch(/width multiplier applied to every stage\n\s+\*\n\s+\* float, >= 0.25, <= 2\n\s+\* @defaultValue 1\n/);
  });
});

// ---------------------------------------------------------------------------------------------

/** Parameter values that are always valid for the spec, for fixed cases (besides the defaults). */
const FIXED: Record<string, Record<string, unknown>[]> = {
  'mnist-cnn.yaml': [{ filters: 8, kernel_size: 4, dropout: 0, num_classes: 2 }],
  'resnet-v1.yaml': [{ n: 1 }, { n: 2, num_classes: 100 }, { n: 1, input_shape: [64, 64, 3] }],
  'resnet-v2.yaml': [{ n: 1 }, { n: 2, num_classes: 3, input_shape: [32, 32, 1] }],
  'y-network.yaml': [{ levels: 1, right_dilation: 2, filters: 4 }, { levels: 4, kernel_size: 5 }],
  'mobilenet-mini.yaml': [{ pooling: 'max', include_top: false }, { alpha: 0.5, blocks_per_stage: 0, dropout: 0, classifier_activation: null }, { input_shape: [16, 16, 1], blocks_per_stage: 2 }],
  'unet-mini.yaml': [{ input_shape: [32, 32, 1], convs: 1 }, { input_shape: [26, 26, 2], num_classes: 5, convs: 3 }],
  'text-classifier.yaml': [{ num_dense: 1, seq_len: 5 }, { num_dense: 4, hidden: 64, dropout: 0 }],
  'siamese.yaml': [{ filters: 2, embed_dim: 3, input_shape: [10, 10, 3] }],
  'constructs.yaml': [{ mode: 'narrow', n: 0, use_bn: false, act: 'tanh' }, { mode: 'none', n: 4, width: 5, acts: 'elu' }, { width: 9, mode: 'wide', act: 'relu', dims: [8, 8, 2] }],
  'hostile.yaml': [{ default: 3, x: '*/', s: null, build: 0, defaults: true }, { x: 'a\nb', constructor: false, ['__proto__']: 2 }],
};

/** Values the property test draws a param from, where the declared type alone would mostly give invalid models. */
const CHOICES: Record<string, Record<string, unknown[]>> = {
  'resnet-v1.yaml': { input_shape: [[32, 32, 3], [64, 64, 3], [32, 32, 1]] },
  'resnet-v2.yaml': { input_shape: [[32, 32, 3], [32, 32, 1]] },
  'mobilenet-mini.yaml': { input_shape: [[32, 32, 3], [16, 16, 1], [24, 24, 3]], kernel_initializer: ['he_normal', 'glorot_uniform', 'lecun_uniform', 'zeros', 'random_normal', 'truncated_normal'] },
  'unet-mini.yaml': { input_shape: [[30, 30, 1], [32, 32, 1], [26, 26, 2], [30, 28, 1]] },
  'siamese.yaml': { input_shape: [[28, 28, 1], [12, 12, 3]] },
  'constructs.yaml': { acts: [...ACTIVATIONS], dims: [[8, 8, 4], [8, 8, 1]] },
  'hostile.yaml': { class: ['he_normal', 'zeros'], options: ["'; throw 1; '", '*/'], range: [[6, 6, 2], [4, 4, 1]] },
};

/** Cheaper bounds for the counts that make models large. */
const MAX_INT: Record<string, Record<string, number>> = {
  'resnet-v2.yaml': { n: 3 },
  'resnet-v1.yaml': { n: 4 },
};

/** A table entry by name; parameters called `constructor` or `__proto__` must not find Object's. */
function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

function arbitrary(spec: string, p: ParamDecl): fc.Arbitrary<unknown> {
  const name = spec.split('/').pop()!;
  const choices = own(own(CHOICES, name) ?? {}, p.name);
  if (choices) return fc.constantFrom(...choices);
  const def = p.hasDefault ? [fc.constant(p.default)] : [];
  switch (p.type) {
    case 'int': {
      const lo = p.min ?? (typeof p.default === 'number' ? p.default - 2 : 0);
      const hi = Math.min(p.max ?? lo + 3, own(own(MAX_INT, name) ?? {}, p.name) ?? lo + 3, lo + 8);
      return fc.oneof(...def, fc.integer({ min: lo, max: Math.max(lo, hi) }));
    }
    case 'float': {
      const lo = p.min ?? 0;
      const hi = p.max ?? lo + 1;
      return fc.oneof(...def, fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true }));
    }
    case 'bool': return fc.boolean();
    case 'enum': return fc.constantFrom(...(p.values ?? []));
    case 'activation': return fc.constantFrom(...ACTIVATIONS, ...(p.nullable ? [null] : []));
    default: return def[0] ?? fc.constant(null);
  }
}

describe.each([...SPECS, ...FIXTURE_SPECS].map((spec) => ({ spec, name: relative(ROOT, spec) })))('$name: the generated builder builds what the interpreter builds', ({ spec }) => {
  let mod: GeneratedModule;
  const name = spec.split('/').pop()!;
  const isFixture = spec.startsWith(FIXTURES);

  beforeAll(async () => {
    // The committed module for the project's specs; a fresh one for the fixtures.
    const code = isFixture ? generateFile(spec).code! : readFileSync(committed(spec), 'utf8');
    mod = await importGenerated(code, name);
  });

  it('with the defaults and fixed values', async () => {
    expect(await compare(spec, mod, {}, true)).toBe('same');
    for (const params of own(FIXED, name) ?? []) expect(await compare(spec, mod, params, true)).toBe('same');
  }, 120_000);

  it('property: any values within the declared bounds (both build the same model, or both refuse them)', async () => {
    const ast = parseSpec(spec, readFileSync(spec, 'utf8')).ast!;
    const arbs = Object.fromEntries(ast.params.map((p) => [p.name, arbitrary(spec, p)]));
    const outcomes = { same: 0, error: 0 };
    await fc.assert(
      fc.asyncProperty(fc.record(arbs, { requiredKeys: [] }), async (params) => {
        outcomes[await compare(spec, mod, params as Record<string, unknown>)]++;
      }),
      { numRuns: /resnet-v2/.test(name) ? Math.ceil(RUNS / 2) : RUNS, seed: 20240611 + name.length },
    );
    if (process.env.SPEC2TS_VERBOSE) console.log(`${name}: ${outcomes.same} same models, ${outcomes.error} refused by both`);
    // Most draws are valid models: the property is about building, not only about refusing.
    expect(outcomes.same).toBeGreaterThan(outcomes.error / 2);
  }, 300_000);
});

// ---------------------------------------------------------------------------------------------

describe('options, arguments and asserts fail with the compiler\'s messages', () => {
  const load = async (file: string) => importGenerated(readFileSync(join(ROOT, 'generated', file), 'utf8'), file);

  it('types, bounds, enums, unknown and missing options', async () => {
    const resnet = await load('resnet-v1.ts');
    const thrown = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as runtime.SpecValueError;
      }
      throw new Error('did not throw');
    };
    const e = thrown(() => resnet.build({ n: 0 }, tf));
    expect(e.name).toBe('SpecValueError');
    expect(e.code).toBe('MS4005');
    expect(e.message).toBe("parameter 'n' must be >= 1, got 0");
    expect(thrown(() => resnet.build({ n: 2.5 }, tf)).message).toBe("parameter 'n' must be an integer, got float 2.5");
    expect(thrown(() => resnet.build({ n: 'three' }, tf)).message).toBe('parameter \'n\' must be an integer, got string "three"');
    expect(thrown(() => resnet.build({ input_shape: [32, 0, 3] }, tf)).code).toBe('MS4004');
    const two = thrown(() => resnet.build({ n: 0, num_classes: 1, depth: 3 }, tf));
    expect(two.problems.map((p) => p.code)).toEqual(['MS3008', 'MS4005', 'MS4005']);
    expect(two.message).toBe("the spec has no parameter 'depth'\nparameter 'n' must be >= 1, got 0\nparameter 'num_classes' must be >= 2, got 1");
    const mobilenet = await load('examples/mobilenet-mini.ts');
    expect(thrown(() => mobilenet.build({ pooling: 'sum' }, tf)).message).toBe('parameter \'pooling\' must be one of "avg", "max", got "sum"');
    expect(thrown(() => mobilenet.build({ classifier_activation: 'soft' }, tf)).message).toContain("parameter 'classifier_activation' must be an activation (linear, relu");
  });

  it('an assert fails with its message and the values, as MS4006', async () => {
    const mobilenet = await load('examples/mobilenet-mini.ts');
    let err: runtime.SpecValueError | undefined;
    try {
      mobilenet.build({ input_shape: [30, 30, 3] }, tf);
    } catch (e) {
      err = e as runtime.SpecValueError;
    }
    expect(err?.code).toBe('MS4006');
    const compiler = await buildModel(join(ROOT, 'specs', 'examples', 'mobilenet-mini.yaml'), { input_shape: [30, 30, 3] }, { tf }).catch((e: unknown) => e);
    expect(errorMessages(compiler)).toContain(err!.message);
    expect(err!.message).toBe('the image height and width must be multiples of 8 (the stem and two stages halve them) (input_shape = [30,30,3], downsampling = 8)');
  });

  it('a block argument out of bounds fails at the call, as the compiler says', async () => {
    const code = generateFile(join(FIXTURES, 'constructs.yaml')).code!;
    const mod = await importGenerated(code, 'constructs-args');
    expect(await compare(join(FIXTURES, 'constructs.yaml'), mod, { width: 1 })).toBe('error');
    expect(() => mod.build({ width: 1 }, tf)).toThrow("parameter 'filters' must be >= 1, got 0");
  });
});

// ---------------------------------------------------------------------------------------------

describe('no injection: hostile names, strings and docs', () => {
  it('stay inside comments and strings, and reserved words are renamed', () => {
    const code = generateFile(join(FIXTURES, 'hostile.yaml')).code!;
    expect(code).toContain(" * *\\/ console.log('pwned') /*");
    expect(code).not.toMatch(/^[^*\n]*console\.log/m);
    expect(code).toContain("options: '\\'; throw 1; \\''");
    expect(code).toContain("x: 'it\\'s' | 'say \"hi\"' | '*/' | 'a\\nb';");
    expect(code).toContain("s.assert(let_ > 0 || !constructor, '*/ `\\'\"\\n', { let: let_, constructor });");
    expect(code).toContain('export function class_(parent: Scope, if_: Tensor, else_: Tensor,');
    expect(code).toContain("    default: default_, class: class_2, constructor, ['__proto__']: __proto___, tf: tf_, x, s: s_, Math: Math_,\n");
    // The file parses to the same statements whatever the strings hold: no stray code.
    const sf = ts.createSourceFile('h.ts', code, ts.ScriptTarget.ES2022, true);
    const kind = (s: ts.Statement) => (ts.isImportDeclaration(s) ? 'ImportDeclaration' : ts.isInterfaceDeclaration(s) ? 'InterfaceDeclaration'
      : ts.isVariableStatement(s) ? 'VariableStatement' : ts.isFunctionDeclaration(s) ? 'FunctionDeclaration' : ts.SyntaxKind[s.kind]);
    expect(sf.statements.map(kind)).toEqual([
      'ImportDeclaration', 'ImportDeclaration',
      'InterfaceDeclaration', 'VariableStatement', 'VariableStatement',
      'InterfaceDeclaration', 'VariableStatement', 'FunctionDeclaration',
      'InterfaceDeclaration', 'VariableStatement', 'FunctionDeclaration',
      'FunctionDeclaration', 'VariableStatement',
    ]);
    // A banner from a path with a newline stays one comment line.
    const r = generateSource(join(FIXTURES, 'hostile.yaml'), readFileSync(join(FIXTURES, 'hostile.yaml'), 'utf8'), { displayPath: 'evil\nconsole.log(1)\u2028.yaml' });
    expect(r.code!.split('\n')[0]).toBe('// Generated by spec2ts from evil\\nconsole.log(1)\\u2028.yaml. Do not edit.');
  });

  it('ids that start with _ and an input named __proto__: the builder builds what build builds (issue #12)', async () => {
    const file = join(TMP, 'underscores.yaml');
    writeFileSync(file, 'modelspec: 1\nname: underscores\ninputs:\n  __proto__: {shape: [4]}\n  _x: {shape: [4]}\nlayers:\n  - add: {}\n    from: [__proto__, _x]\n  - dense: {units: 4}\n    id: _d\n  - share: _d\n');
    const mod = await importGenerated(generateFile(file).code!, 'underscores');
    expect(await compare(file, mod, {}, true)).toBe('same');
    const m = mod.build({}, tf);
    try {
      expect(m.layers.map((l) => l.name)).toEqual(['id-__proto__', 'id-_x', 'add', 'id-_d']);
    } finally {
      m.dispose();
    }
  });

  it('options named __proto__ and constructor are data', async () => {
    const mod = await importGenerated(generateFile(join(FIXTURES, 'hostile.yaml')).code!, 'hostile-proto');
    const options = JSON.parse('{"__proto__": 2, "constructor": false}') as Record<string, unknown>;
    expect(await compare(join(FIXTURES, 'hostile.yaml'), mod, options, true)).toBe('same');
    const m = mod.build(options, tf);
    try {
      expect(m.layers.find((l) => l.name === 'var')?.getConfig().filters).toBe(2);
      expect(m.layers.some((l) => l.name === 'void')).toBe(false);
    } finally {
      m.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('expressions printed as TypeScript evaluate as the interpreter evaluates them', () => {
  it('for random expression trees: the same value, or both fail', () => {
    let agreed = 0;
    fc.assert(
      fc.property(expr, (e) => {
        let expected: { value?: unknown; error?: string };
        try {
          expected = { value: evaluate(e, scope) };
        } catch (err) {
          expected = { error: (err as Error).message };
        }
        const code = printExpr(e, env).code;
        let actual: { value?: unknown; error?: string };
        try {
          actual = { value: run(code) };
        } catch (err) {
          actual = { error: (err as Error).message };
        }
        if (expected.error !== undefined) {
          // The interpreter refuses the expression (a type or math error): the generated code must fail
          // too, except where spec2ts documents otherwise: non-finite results and `/` by zero are not
          // checked (TypeScript gives Infinity).
          if (actual.error === undefined) {
            const v = actual.value;
            const lenient = /not a finite number|division by zero/.test(expected.error) || (typeof v === 'number' && !Number.isFinite(v));
            expect(lenient, `${code}: interpreter says ${expected.error}, generated gives ${JSON.stringify(v)}`).toBe(true);
          }
          return;
        }
        agreed++;
        expect(actual, code).toEqual({ value: expected.value });
      }),
      { numRuns: 3000, seed: 7 },
    );
    if (process.env.SPEC2TS_VERBOSE) console.log(`expressions: ${agreed} of 3000 evaluated to the same value, the others were refused by the interpreter`);
    expect(agreed).toBeGreaterThan(500);
  });

  it('the printed forms of the examples in docs/language.md', () => {
    const show = (src: string) => printExpr(parseExpr(src), env).code;
    expect(show('-7 // 2')).toBe('floorDiv(-7, 2)');
    expect(run(show('-7 // 2'))).toBe(-4);
    expect(run(show('-7 % 2'))).toBe(1);
    expect(run(show('7 % -2'))).toBe(-1);
    expect(show('-2 ** 2')).toBe('-(2 ** 2)');
    expect(run(show('-2 ** 2'))).toBe(-4);
    expect(run(show('2 ** 3 ** 2'))).toBe(512);
    expect(run(show('2 ** -1'))).toBe(0.5);
    expect(show('a > 0 && b == 0')).toBe('a > 0 && b === 0');
    expect(show('xs == [4, -2, 9]')).toBe('eq(xs, [4, -2, 9])');
    expect(show('xs[-1]')).toBe('at(xs, -1)');
    expect(run(show('xs[-1]'))).toBe(9);
    expect(show('len(xs)')).toBe('xs.length');
    expect(run(show('round(2.5) + round(-2.5)'))).toBe(1);
    expect(show('t ? 2 : 1')).toBe('t ? 2 : 1');
  });
});
