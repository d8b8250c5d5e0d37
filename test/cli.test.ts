/** The built command line: exit codes, output formats, golden summaries. Runs dist/ (npm run build). */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';
import { CODE_CACHE_SUFFIX, loadWithCodeCache } from '../src/io/code-cache.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Compare with a golden file; UPDATE_GOLDEN=1 rewrites it (review the diff). */
function golden(name: string, actual: string) {
  const file = `${ROOT}test/golden/${name}`;
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
});

describe("package.json's bins", () => {
  // npm (and npx) start a bin through sh, which needs the executable bit: CI's `npx spec2ts`
  // once failed with 'Permission denied' because esbuild had written the bundles 0644.
  it.each(['modelspec', 'spec2ts'])('dist/cli/%s.js runs as a program of its own', (bin) => {
    const r = spawnSync(`${ROOT}dist/cli/${bin}.js`, ['--version'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('modelspec check', () => {
  it('exits 0 and says what it checked', () => {
    const r = run('check', 'specs/mnist-cnn.yaml', 'specs/resnet-v1.yaml');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('specs/mnist-cnn.yaml: ok (9 layers, 80,266 params)\nspecs/resnet-v1.yaml: ok (72 layers, 274,442 params)\n');
  });

  it('exits 1 on problems in the input, with file:line:col, a code frame and no stack trace', () => {
    const r = run('check', 'test/baselines/cases/unknown-attribute.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('test/baselines/cases/unknown-attribute.yaml:6:14 - error MS2002: conv2d has no attribute \'filtres\'');
    expect(r.stderr).toContain('> 6 |   - conv2d: {filtres: 32, kernel_size: 3}');
    expect(r.stderr).toContain("hint: did you mean 'filters'?");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reads --set values as YAML and checks them against the declared bounds', () => {
    expect(run('check', 'specs/resnet-v1.yaml', '--set', 'n=5').stdout).toContain('114 layers, 470,218 params');
    expect(run('check', 'specs/resnet-v1.yaml', '--set', 'input_shape=[64, 64, 3]').code).toBe(0);
    const bad = run('check', 'specs/resnet-v1.yaml', '--set', 'n=0');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("<command line>:1:7 - error MS4005: parameter 'n' must be >= 1, got 0 (from --set n=0)");
    const unknown = run('check', 'specs/resnet-v1.yaml', '--set', 'depht=3');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("MS3008: --set depht: the spec has no parameter 'depht'");
    expect(run('check', 'specs/resnet-v1.yaml', '--set', 'n').stderr).toContain('MS4008');
  });

  it('exits 1 for a missing file, 2 for usage errors', () => {
    const missing = run('check', 'specs/nope.yaml');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("MS1004: cannot read 'specs/nope.yaml': no such file");
    expect(run('check').code).toBe(2);
    expect(run('frobnicate').code).toBe(2);
    expect(run('summary', 'specs/mnist-cnn.yaml', '--depth', 'x').code).toBe(2);
    expect(run('--help').code).toBe(0);
  });

  it('--json gives machine-readable diagnostics with positions', () => {
    const r = run('check', '--json', 'test/baselines/cases/unknown-attribute.yaml');
    expect(r.code).toBe(1);
    const [result] = JSON.parse(r.stdout);
    expect(result.ok).toBe(false);
    expect(result.diagnostics[0]).toMatchObject({ code: 'MS2002', severity: 'error', location: { line: 6, column: 14 }, hint: "did you mean 'filters'?" });
  });

  it('refuses the removed --plugin with a hint, on every command that took it', () => {
    for (const args of [['check', 'specs/mnist-cnn.yaml'], ['summary', 'specs/mnist-cnn.yaml'], ['graph', 'specs/mnist-cnn.yaml'], ['import', 'x.json']]) {
      const r = run(...args, '--plugin', 'ops.mjs');
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe('modelspec: --plugin was removed: custom ops are no longer loaded from modules; an op is one definition in src/ops/ (see docs/language.md §13)\n');
    }
    // An op that is not in src/ops is an unknown op, as any other.
    const r = run('check', 'test/fixtures/uses-plugin.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("MS3005: unknown op or block 'channel_scale'");
  });
});

describe('modelspec summary', () => {
  it('prints the Keras-style table (golden)', () => {
    const r = run('summary', 'specs/mnist-cnn.yaml');
    expect(r.code).toBe(0);
    golden('summary-mnist-cnn.txt', r.stdout);
  });

  it('folds by block and loop with --depth (golden)', () => {
    const r = run('summary', 'specs/resnet-v1.yaml', '--depth', '2');
    expect(r.code).toBe(0);
    golden('summary-resnet-v1-depth2.txt', r.stdout);
  });

  it('--json has the totals and the layers in Keras order', () => {
    const j = JSON.parse(run('summary', '--json', 'specs/resnet-v2.yaml').stdout);
    expect(j.params).toEqual({ total: 1_673_738, trainable: 1_663_338, nonTrainable: 10_400 });
    expect(j.layers).toHaveLength(190);
    expect(j.layers[0]).toMatchObject({ id: 'image', op: 'input', outputShape: [32, 32, 3] });
    expect(j.layers.at(-1)).toMatchObject({ op: 'dense', outputShape: [10], params: 2570 });
  });
});

describe('the precompiled validators and the command line load with their V8 code cache', () => {
  it('the build leaves a cache beside them that a plain node process accepts', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { loadWithCodeCache } from '${ROOT}dist/io/code-cache.js';
      for (const f of ['validate/validators.generated.cjs', 'validate/validators-detailed.generated.cjs', 'cli/modelspec.cjs']) {
        const r = loadWithCodeCache('${ROOT}dist/' + f);
        console.log(f, r.cached, Object.keys(r.exports).filter((k) => ['spec', 'main'].includes(k)).map((k) => typeof r.exports[k]).join());
      }`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([
      'validate/validators.generated.cjs true function',
      'validate/validators-detailed.generated.cjs true function',
      'cli/modelspec.cjs true function',
    ]);
  });

  it('the bundled command line finds what lies beside it and imports packages through the launcher', () => {
    // Paths from import.meta.url (the precompiled validators; `import --out`'s modeline to the
    // schema) and import() of packages (TensorFlow.js, Graphviz) from the CommonJS bundle in its vm script.
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-bundle-'));
    const built = run('build', 'specs/mnist-cnn.yaml', '--format', 'keras-json', '--backend', 'cpu', '--out', dir);
    expect([built.code, built.stderr]).toEqual([0, '']);
    const out = join(dir, 'm.yaml');
    const imported = run('import', join(dir, 'model.json'), '--out', out);
    expect([imported.code, imported.stderr]).toEqual([0, '']);
    const modeline = /\$schema=(\S+)/.exec(readFileSync(out, 'utf8'))![1]!;
    expect(existsSync(join(dirname(out), modeline))).toBe(true);
    const svg = run('graph', 'specs/mnist-cnn.yaml', '--format', 'svg');
    expect(svg.stderr).toBe('');
    expect(svg.stdout).toMatch(/^<\?xml[^]*<svg/);
  });

  it('without one, or with one that does not fit, the file still loads (compiled as usual)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-cache-'));
    const file = join(dir, 'm.cjs');
    writeFileSync(file, 'exports.answer = () => 42;');
    const plain = loadWithCodeCache<{ answer(): number }>(file);
    expect([plain.cached, plain.exports.answer()]).toEqual([false, 42]);
    // (Another source: V8 would take one it has compiled already from its own memory.)
    writeFileSync(file, 'exports.answer = () => 43;');
    writeFileSync(file + CODE_CACHE_SUFFIX, 'not a V8 code cache');
    const bad = loadWithCodeCache<{ answer(): number }>(file);
    expect([bad.cached, bad.exports.answer()]).toEqual([false, 43]);
  });
});

describe('static commands never load TensorFlow.js', () => {
  it('check and summary resolve no @tensorflow module; build does', () => {
    const trace = (...args: string[]) => {
      const file = join(mkdtempSync(join(tmpdir(), 'modelspec-trace-')), 'loads.txt');
      writeFileSync(file, '');
      const r = spawnSync(process.execPath, ['--import', `${ROOT}test/fixtures/trace-loads.mjs`, CLI, ...args], {
        cwd: ROOT, encoding: 'utf8', env: { ...process.env, MODELSPEC_TRACE_LOADS: file },
      });
      expect(r.status).toBe(0);
      return readFileSync(file, 'utf8');
    };
    const check = trace('check', 'specs/resnet-v1.yaml');
    expect(check).not.toMatch(/@tensorflow/);
    // ...and uses the validators precompiled at build time: ajv itself (the schema compiler, ~0.5 s) stays unloaded.
    expect(check.split('\n')).not.toContain('ajv');
    expect(trace('summary', 'specs/resnet-v1.yaml', '--depth', '1')).not.toMatch(/@tensorflow/);
    // The trace would see it: building a model does load TensorFlow.js.
    expect(trace('build', 'specs/mnist-cnn.yaml', '--backend', 'cpu', '--out', mkdtempSync(join(tmpdir(), 'modelspec-out-')))).toMatch(/@tensorflow\/tfjs/);
  });
});
