/** `modelspec build` and `modelspec import` on the command line: files, formats, backends, refusals. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTf } from '../src/backends/tfjs/backend.js';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = () => mkdtempSync(join(tmpdir(), 'modelspec-build-'));

describe('modelspec build', () => {
  it('writes model.json + weights.bin that TensorFlow.js loads back, and says which backend it used', async () => {
    const out = tmp();
    const r = run('build', 'specs/mnist-cnn.yaml', '--out', out, '--backend', 'cpu');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend: cpu /);
    // modelspec's own short report, not tfjs' model.summary().
    expect(r.stdout).toContain('mnist_cnn: 9 layers, 80,266 params (80,266 trainable, 0 non-trainable), 5.19 M MACs\n  inputs:  image (None, 28, 28, 1)\n  outputs: dense (None, 10)\n  layer by layer: modelspec summary specs/mnist-cnn.yaml\n');
    expect(r.stdout).not.toContain('Total params');
    expect(r.stdout.split('\n').length).toBeLessThan(10);
    const modelJson = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.generatedBy).toMatch(/^modelspec/);
    expect(modelJson.userDefinedMetadata.modelspec.parameters).toMatchObject({ filters: 64 });
    const weights = readFileSync(join(out, 'weights.bin'));
    expect(weights.byteLength).toBe(80_266 * 4);
    const { tf } = await loadTf('cpu');
    const model = await tf.loadLayersModel(tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }));
    expect(model.countParams()).toBe(80_266);
    expect(model.layers.map((l) => l.name)).toContain('conv2d_2');
    model.dispose();
  });

  it('--format keras-json writes the Keras topology, which import turns back into the same model', () => {
    const out = tmp();
    expect(run('build', 'specs/resnet-v1.yaml', '--out', out, '--format', 'keras-json', '--backend', 'cpu').code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(json.class_name).toBe('Model');
    expect(json.config.layers).toHaveLength(72);
    expect(json.config.layers[1].name).toBe('stem.conv2d');
    const spec = join(out, 'imported.yaml');
    const imp = run('import', join(out, 'model.json'), '--out', spec);
    expect(imp.code).toBe(0);
    expect(run('check', spec).stdout).toContain('ok (72 layers, 274,442 params)');
  });

  it('never replaces a file it did not write, unless --force', () => {
    const out = tmp();
    writeFileSync(join(out, 'model.json'), '{"mine": true}');
    const r = run('build', 'specs/mnist-cnn.yaml', '--out', out, '--backend', 'cpu');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('model.json exists and was not written by modelspec; pass --force to replace it');
    expect(readFileSync(join(out, 'model.json'), 'utf8')).toBe('{"mine": true}');
    expect(existsSync(join(out, 'weights.bin'))).toBe(false);
    expect(run('build', 'specs/mnist-cnn.yaml', '--out', out, '--backend', 'cpu', '--force').code).toBe(0);
    // Its own files it replaces freely.
    expect(run('build', 'specs/mnist-cnn.yaml', '--out', out, '--backend', 'cpu').code).toBe(0);
  });

  it('a missing backend is a clear usage error; a bad spec is exit 1', () => {
    const node = run('build', 'specs/mnist-cnn.yaml', '--out', tmp(), '--backend', 'node');
    if (node.code !== 0) {
      expect(node.code).toBe(2);
      expect(node.stderr).toContain('backend node is not available: @tensorflow/tfjs-node is not installed');
      expect(node.stderr).not.toMatch(/\n\s+at /);
    }
    expect(run('build', 'specs/mnist-cnn.yaml', '--out', tmp(), '--backend', 'gpu').code).toBe(2);
    const bad = run('build', 'test/baselines/cases/unknown-attribute.yaml', '--out', tmp());
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('MS2002');
  });
});
