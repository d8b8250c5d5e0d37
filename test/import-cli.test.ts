/**
 * `modelspec import` through the built CLI (dist/): it compiles the spec it would write,
 * and a hostile or broken model gets its problems reported (exit 1, nothing written), never
 * a spec that fails `modelspec check` (issue #12).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first');
  dir = mkdtempSync(join(tmpdir(), 'modelspec-import-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A Keras 2 functional model as `model.to_json()` writes it: input -> dense -> dense. */
function model(mutate: (m: { input: Record<string, unknown>; hidden: Record<string, unknown> }) => void = () => {}) {
  const input: Record<string, unknown> = { batch_input_shape: [null, 8], dtype: 'float32', name: 'features' };
  const hidden: Record<string, unknown> = { name: 'hidden', units: 4, activation: 'relu', use_bias: true };
  mutate({ input, hidden });
  return {
    class_name: 'Functional',
    config: {
      name: 'tiny',
      layers: [
        { class_name: 'InputLayer', name: 'features', config: input, inbound_nodes: [] },
        { class_name: 'Dense', name: 'hidden', config: hidden, inbound_nodes: [[['features', 0, 0, {}]]] },
        { class_name: 'Dense', name: 'out', config: { name: 'out', units: 2, activation: 'softmax' }, inbound_nodes: [[['hidden', 0, 0, {}]]] },
      ],
      input_layers: [['features', 0, 0]],
      output_layers: [['out', 0, 0]],
    },
    keras_version: '2.15.0',
  };
}

describe('modelspec import compiles what it writes', () => {
  it('a sound model: exit 0, and the spec it writes passes check', () => {
    writeFileSync(join(dir, 'ok.json'), JSON.stringify(model()));
    const r = run(['import', 'ok.json', '--out', 'ok.yaml']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(run(['check', 'ok.yaml']).code).toBe(0);
  });

  const hostile: [string, (m: { input: Record<string, unknown>; hidden: Record<string, unknown> }) => void, string, string][] = [
    ['units: -5', (m) => { m.hidden.units = -5; }, "MS2005: dense attribute 'units' must be >= 1, got -5", 'dense: {units: -5'],
    ['a 1e300 dimension', (m) => { m.input.batch_input_shape = [null, 1e300]; }, "MS2004: input 'features' shape must be a list of positive integers", 'shape: [1e+300]'],
    ['an activation with a newline', (m) => { m.hidden.activation = 'relu\nrm -rf'; }, "MS2006: dense attribute 'activation' must be one of", 'activation: "relu\\nrm -rf"'],
  ];
  it.each(hostile)('%s: exit 1, the problem with its place in the would-be spec, nothing written', (name, mutate, message, frame) => {
    const file = `${name.replace(/\W+/g, '-')}.json`;
    writeFileSync(join(dir, file), JSON.stringify(model(mutate)));
    const out = join(dir, `${file}.yaml`);
    const r = run(['import', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`modelspec import: ${file} describes a model modelspec cannot build`);
    expect(r.stderr).toContain('nothing written');
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/\./g, '\\.')} \\(as a spec\\):\\d+:\\d+ - error `));
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(frame);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(existsSync(out)).toBe(false);
    // To standard output: the same refusal, no spec printed.
    const stdout = run(['import', file]);
    expect(stdout.code).toBe(1);
    expect(stdout.stdout).toBe('');
  });

  it('an existing --out is left as it was when the import is refused', () => {
    writeFileSync(join(dir, 'bad.json'), JSON.stringify(model((m) => { m.hidden.units = 0; })));
    writeFileSync(join(dir, 'keep.yaml'), '# mine\n');
    const r = run(['import', 'bad.json', '--out', 'keep.yaml', '--force']);
    expect(r.code).toBe(1);
    expect(readFileSync(join(dir, 'keep.yaml'), 'utf8')).toBe('# mine\n');
  });
});
