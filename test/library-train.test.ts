/**
 * train, evaluate and predict through the library (issue #13, item 2): `import ... from
 * 'modelspec'` (src/index.ts) gives `train`, `evaluateModel` and `predictImages`, which return
 * their results, report progress through a callback, write nothing to stdout and throw typed
 * errors; the CLI commands are thin parsers over them (test/max-examples.test.ts runs those).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { evaluateModel, ModelDirError, predictImages, train } from '../src/index.js';
import { ROOT } from './helpers.js';

const TINY = `${ROOT}test/fixtures/train/tiny-dense.yaml`;

afterEach(() => { vi.restoreAllMocks(); });

describe('train, evaluateModel and predictImages from the library', () => {
  it('train a tiny model, evaluate it and classify images, with no output on stdout', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-library-'));
    const out = join(dir, 'run');
    const lines: string[] = [];
    const log = (line: string) => { lines.push(line); };
    const trained = await train({ spec: TINY, out, limit: 64, overrides: { epochs: 1, batch_size: 32 }, workers: 1, backend: 'cpu', progress: 'none', log });
    expect(trained.status).toBe('done');
    expect(trained.epoch).toBe(1);
    expect(lines.join('\n')).toMatch(/^data: mnist, 64 training \/ 64 test images/m);

    lines.length = 0;
    const ev = await evaluateModel(out, { maxExamples: 16, workers: 1, backend: 'cpu', log });
    expect(ev.count).toBe(16);
    expect(ev.dataset).toBe('mnist');
    expect(ev.classes).toHaveLength(10);
    expect(ev.confusion.flat().reduce((a, b) => a + b, 0)).toBe(16);
    expect(ev.accuracy).toBeGreaterThanOrEqual(0);
    expect(ev.accuracy).toBeLessThanOrEqual(1);
    expect(lines[0]).toMatch(/^backend: /);
    expect(lines[1]).toMatch(/^model: .*the final model of a training run/);

    const images = join(dir, 'images.idx');
    const head = Buffer.alloc(16);
    head.writeUInt32BE(0x803, 0);
    head.writeUInt32BE(4, 4);
    head.writeUInt32BE(28, 8);
    head.writeUInt32BE(28, 12);
    writeFileSync(images, Buffer.concat([head, Buffer.alloc(4 * 784, 128)]));
    const predictions = await predictImages(out, [images], { maxExamples: 3, top: 2, backend: 'cpu' });
    expect(predictions).toHaveLength(3);
    for (const p of predictions) {
      expect(p.top).toHaveLength(2);
      expect(p.top[0]!.probability).toBeGreaterThanOrEqual(p.top[1]!.probability);
    }
    expect(stdout).not.toHaveBeenCalled();
  }, 120_000);

  it('a folder without a model is a ModelDirError, thrown, not printed', async () => {
    const stdout = vi.spyOn(process.stdout, 'write');
    const empty = mkdtempSync(join(tmpdir(), 'modelspec-library-'));
    await expect(evaluateModel(empty, { backend: 'cpu' })).rejects.toBeInstanceOf(ModelDirError);
    await expect(predictImages(empty, ['x.png'], { backend: 'cpu' })).rejects.toBeInstanceOf(ModelDirError);
    expect(stdout).not.toHaveBeenCalled();
  });
});
