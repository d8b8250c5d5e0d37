/**
 * Hostile input: each "bomb" and safety rule gives a diagnostic, within 1 s and 200 MB.
 * Runs the built CLI in a child process capped at 200 MB of heap, so a blow-up fails the test.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSource } from '../src/index.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;

function check(text: string, ...args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'modelspec-bomb-'));
  mkdirSync(join(dir, 'project'));
  writeFileSync(join(dir, 'project', 'package.json'), '{}');
  const file = join(dir, 'project', 'spec.yaml');
  writeFileSync(file, text);
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--max-old-space-size=200', CLI, 'check', file, ...args], { encoding: 'utf8', timeout: 20_000 });
  const ms = performance.now() - t;
  return { code: r.status, stderr: r.stderr, ms, dir };
}

const header = 'modelspec: 1\ninputs:\n  x: {shape: [4]}\n';

// Each bomb answers in well under 1 s on an idle machine (the cold start is ~0.25 s; docs/robustness.md);
// the assertion allows for a loaded 2-core CI machine, where process start-up alone can take 0.4 s.
const FAST = 3000;

describe('bombs', () => {
  it('billion laughs (YAML aliases): MS1006 within the node budget', () => {
    const lines = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 0; i < 9; i++) {
      const n = String.fromCharCode(98 + i), p = String.fromCharCode(97 + i);
      lines.push(`${n}: &${n} [${Array(9).fill(`*${p}`).join(', ')}]`);
    }
    const r = check(`modelspec: 1\nlet:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MS1006: the document expands to more than 100000 nodes \(maxYamlNodes\): \d{10} after its YAML aliases/);
    expect(r.ms).toBeLessThan(FAST);
  });

  it('deep flow nesting ([[[[...) is refused before the YAML parser sees it', () => {
    const r = check(`${header}layers:\n  - reshape: {target_shape: ${'['.repeat(60_000)}${']'.repeat(60_000)}}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MS1006: [...] and {...} nest 60001 deep here; the limit is 100 (maxYamlDepth)');
    expect(r.ms).toBeLessThan(FAST);
  });

  it('deep block nesting', () => {
    let y = '';
    for (let i = 0; i < 150; i++) y += `${' '.repeat(i)}k${i}:\n`;
    const r = check(`modelspec: 1\nlet:\n  deep:\n${y.split('\n').map((l) => (l ? `    ${l}` : l)).join('\n')}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MS1006: the document nests deeper than 100 levels (maxYamlDepth)');
  });

  it('a file over the size limit', () => {
    const r = check(`${header}doc: "${'x'.repeat(1_100_000)}"\nlayers:\n  - dense: 2\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/MS1006: '.*spec\.yaml' has \d+ bytes; the limit is 131072 \(maxFileBytes\)/);
    expect(r.ms).toBeLessThan(FAST);
  });

  it('repeat of a million, and nested repeats that multiply past the node limit', () => {
    const one = check(`${header}layers:\n  - repeat: 1000000\n    layers:\n      - dense: 4\n`);
    expect(one.stderr).toContain('MS4009: repeat: 1000000 is more than the node limit (20000)');
    expect(one.ms).toBeLessThan(FAST);
    const nested = check(`${header}layers:\n  - repeat: 1000\n    layers:\n      - repeat: 1000\n        layers:\n          - dense: 4\n`);
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain('MS4009: the model expands to more than 20000 nodes');
    expect(nested.ms).toBeLessThan(FAST);
  });

  it('recursion through blocks is refused statically', () => {
    const r = check(`${header}blocks:\n  a:\n    layers:\n      - b: {}\n  b:\n    layers:\n      - a: {}\nlayers:\n  - a: {}\n`);
    expect(r.stderr).toContain('MS3004');
    expect(r.ms).toBeLessThan(FAST);
  });

  it('a huge range() and a long expression', () => {
    const range = check(`${header}layers:\n  - for: i\n    in: \${range(1000000000)}\n    layers:\n      - dense: 4\n`);
    expect(range.stderr).toContain('range() would have 1000000000 elements (limit 100000)');
    expect(range.ms).toBeLessThan(FAST);
    const long = check(`${header}let:\n  v: "\${${'1 + '.repeat(2000)}1}"\nlayers:\n  - dense: 4\n`);
    expect(long.stderr).toContain('MS4001: expression is longer than 4096 characters');
  });

  it('shapes and parameter counts past 2^53', () => {
    const r = check(`modelspec: 1\ninputs:\n  x: {shape: [100000000, 100000000, 1000]}\nlayers:\n  - flatten: {}\n  - dense: 100000\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MS5004');
    expect(r.stderr).toContain('beyond 2^53');
  });

  it('a file far larger than the memory is refused without being read', () => {
    const r = check(`${header}use: [./big.yaml]\nlayers:\n  - dense: 4\n`);
    writeFileSync(join(r.dir, 'project', 'big.yaml'), '');
    truncateSync(join(r.dir, 'project', 'big.yaml'), 300_000_000); // sparse: 300 MB on a 200 MB heap
    const used = spawnSync(process.execPath, ['--max-old-space-size=200', CLI, 'check', join(r.dir, 'project', 'spec.yaml')], { encoding: 'utf8' });
    expect(used.stderr).toContain("MS1006: './big.yaml' has 300000000 bytes; the limit is 131072 (maxFileBytes)");
    const direct = spawnSync(process.execPath, ['--max-old-space-size=200', CLI, 'check', join(r.dir, 'project', 'big.yaml')], { encoding: 'utf8' });
    expect(direct.status).toBe(1);
    expect(direct.stderr).toContain('has 300000000 bytes; the limit is 131072 (maxFileBytes)');
  });

  // Found by the fuzzer (test/fuzz, docs/robustness.md): each took seconds to minutes, or crashed V8, before its limit.
  it('loops whose items make no nodes: MS4009 at maxExpansionSteps', () => {
    const r = check(`${header}layers:\n  - repeat: 20000\n    layers:\n      - for: j\n        in: \${range(20000)}\n        layers:\n          - dense: 2\n            when: false\n  - dense: 2\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MS4009: expanding the model takes more than 100000 steps (maxExpansionSteps)');
    expect(r.ms).toBeLessThan(FAST);
  });

  it('strings and lists that double in every let: MS4007 at maxListLength', () => {
    const doubling = (first: string, n: number) => `${header}let:\n  s0: ${first}\n${Array.from({ length: n }, (_, i) => `  s${i + 1}: \${s${i} + s${i}}`).join('\n')}\nlayers:\n  - dense: 2\n`;
    const str = check(doubling(`"${'x'.repeat(64)}"`, 30));
    expect(str.stderr).toContain('MS4007: the string would have 131072 characters (limit 100000, maxListLength)');
    expect(str.ms).toBeLessThan(FAST);
    const list = check(doubling('${range(1000)}', 30));
    expect(list.stderr).toContain('MS4007: the list would hold 128000 values in all (limit 100000, maxListLength)');
    expect(list.ms).toBeLessThan(FAST);
    const nested = check(`${header}let:\n  a: \${range(100000)}\n  b: \${[a, a, a, a, a, a, a, a] == [a, a, a, a, a, a, a, a]}\nlayers:\n  - dense: 2\n`);
    expect(nested.stderr).toContain('MS4007: the list would hold 800000 values in all (limit 100000, maxListLength)');
  });

  it('expressions that each stay within maxEvalSteps but add up: MS4007 at maxTotalEvalSteps', () => {
    const lets = check(`${header}let:\n${Array.from({ length: 2000 }, (_, i) => `  a${i}: \${len(range(90000))}`).join('\n')}\nlayers:\n  - dense: 2\n`);
    expect(lets.stderr).toContain('MS4007: the expressions of this model take more than 5000000 evaluation steps in all (maxTotalEvalSteps)');
    expect(lets.ms).toBeLessThan(FAST);
    const loop = check(`${header}layers:\n  - repeat: 20000\n    let:\n      a: \${len(range(100000))}\n    layers:\n      - activation: relu\n`);
    expect(loop.stderr).toContain('(maxTotalEvalSteps)');
    expect(loop.ms).toBeLessThan(FAST);
  });

  it('many keys, many aliases, many YAML errors: linear, within the file size limit', () => {
    const keys = check(`${header}let:\n${Array.from({ length: 9000 }, (_, i) => `  k${i}: 1`).join('\n')}\nlayers:\n  - dense: 2\n`);
    expect(keys.code).toBe(0);
    expect(keys.ms).toBeLessThan(FAST);
    const aliases = check(`${header}let:\n  a: &a [1]\n  b: [${Array(20000).fill('*a').join(', ')}]\nlayers:\n  - dense: 2\n`);
    expect(aliases.code).toBe(0);
    expect(aliases.ms).toBeLessThan(FAST);
    const errors = check(`${header}layers:\n${'  - a: b: c\n'.repeat(10000)}`);
    expect(errors.stderr).toContain('MS1001');
    // Code frames for the first 100; one line each for the other 9,900.
    expect(errors.stderr).toContain('(code frames for the first 100 of 10000 diagnostics; the rest in brief)');
    expect(errors.stderr.split('\n').length).toBeLessThan(11_000);
    expect(errors.ms).toBeLessThan(FAST);
  });

  it('limits are configurable: --limit raises or lowers them', () => {
    const text = `${header}layers:\n  - repeat: 300\n    layers:\n      - dense: 4\n`;
    expect(check(text).code).toBe(0);
    const lowered = check(text, '--limit', 'maxExpandedNodes=100');
    expect(lowered.stderr).toContain('MS4009: repeat: 300 is more than the node limit (100)');
    const bad = check(text, '--limit', 'maxNodes=1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown limit');
    const lib = compileSource('/x.yaml', text, { limits: { maxExpandedNodes: 50 } });
    expect(lib.diagnostics.map((d) => d.code)).toEqual(['MS4009']);
  });

  it('diff and graph take --limit too', () => {
    const r = check(`${header}layers:\n  - repeat: 300\n    layers:\n      - dense: 4\n`);
    const spec = join(r.dir, 'project', 'spec.yaml');
    const diff = spawnSync(process.execPath, [CLI, 'diff', spec, spec, '--limit', 'maxExpandedNodes=100'], { encoding: 'utf8' });
    expect(diff.status).toBe(2);
    expect(diff.stderr).toContain('MS4009: repeat: 300 is more than the node limit (100)');
    expect(spawnSync(process.execPath, [CLI, 'diff', spec, spec], { encoding: 'utf8' }).status).toBe(0);
    const graph = spawnSync(process.execPath, [CLI, 'graph', spec, '--format', 'mermaid', '--limit', 'maxExpandedNodes=100'], { encoding: 'utf8' });
    expect(graph.status).toBe(1);
    expect(graph.stderr).toContain('MS4009: repeat: 300 is more than the node limit (100)');
  });
});

describe('safety', () => {
  it('__proto__, constructor and prototype are plain keys: no pollution', () => {
    const r = compileSource('/x.yaml', `${header}let:\n  __proto__: 1\n  constructor: 2\n  prototype: 3\nlayers:\n  - dense: {units: 4, __proto__: {polluted: true}}\n`);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['MS2002']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('use: through a symbolic link to a file outside the project is refused too, and shows none of it', () => {
    const r = check(`${header}use: [./lib.yaml]\nlayers:\n  - dense: 4\n`);
    writeFileSync(join(r.dir, 'secret.yaml'), 'token: hunter2\n');
    symlinkSync(join(r.dir, 'secret.yaml'), join(r.dir, 'project', 'lib.yaml'));
    const linked = spawnSync(process.execPath, [CLI, 'check', join(r.dir, 'project', 'spec.yaml')], { encoding: 'utf8' });
    expect(linked.status).toBe(1);
    expect(linked.stderr).toContain("MS3014: './lib.yaml' is outside this spec's project");
    expect(linked.stderr).not.toContain('hunter2');
  });

  it('YAML tags beyond the core schema are refused', () => {
    const r = check(`${header}layers:\n  - dense: !!js/function "function () { return 4 }"\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('MS1002: the tag !!js/function is not allowed');
  });

  it('--set values are read as the core schema too: no tags, no aliases, nothing printed', () => {
    const text = `modelspec: 1\nparams:\n  n: {type: int, default: 2}\ninputs:\n  x: {shape: [4]}\nlayers:\n  - dense: $n\n`;
    const tag = check(text, '--set', 'n=!!js/function f');
    expect(tag.stderr).toContain('MS4008: --set n: the tag !!js/function is not allowed');
    expect(tag.stderr).not.toContain('YAMLWarning');
    const alias = check(text, '--set', 'n=&a [*a]');
    expect(alias.stderr).toContain('MS4008: --set n: YAML aliases (*name) are not allowed in a value');
  });

  it('.nan, .inf and 1e999 are no numbers of a spec', () => {
    const r = check(`${header}layers:\n  - dropout: {rate: .nan}\n  - dense: {units: 2, kernel_regularizer: {l2: 1e999}}\n`);
    expect(r.stderr).toContain('MS2007: .nan is not a finite number');
    expect(r.stderr).toContain('MS2007: 1e999 is not a finite number');
  });

  it('use: outside the project is refused unless allowed', () => {
    const r = check(`${header}use: [../lib.yaml]\nlayers:\n  - dense: 4\n`);
    writeFileSync(join(r.dir, 'lib.yaml'), 'modelspec: 1\nblocks:\n  b:\n    layers:\n      - dense: 2\n');
    const again = spawnSync(process.execPath, [CLI, 'check', join(r.dir, 'project', 'spec.yaml')], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("MS3014: '../lib.yaml' is outside this spec's project");
    const allowed = spawnSync(process.execPath, [CLI, 'check', join(r.dir, 'project', 'spec.yaml'), '--allow-outside-root'], { encoding: 'utf8' });
    expect(allowed.status).toBe(0);
    // diff and graph: the same rule and the same flag.
    const spec = join(r.dir, 'project', 'spec.yaml');
    const diff = spawnSync(process.execPath, [CLI, 'diff', spec, spec], { encoding: 'utf8' });
    expect([diff.status, diff.stderr]).toEqual([2, expect.stringContaining('MS3014')]);
    expect(spawnSync(process.execPath, [CLI, 'diff', spec, spec, '--allow-outside-root'], { encoding: 'utf8' }).status).toBe(0);
    const graph = spawnSync(process.execPath, [CLI, 'graph', spec, '--format', 'dot'], { encoding: 'utf8' });
    expect([graph.status, graph.stderr]).toEqual([1, expect.stringContaining('MS3014')]);
    expect(spawnSync(process.execPath, [CLI, 'graph', spec, '--format', 'dot', '--allow-outside-root'], { encoding: 'utf8' }).status).toBe(0);
  });
});
