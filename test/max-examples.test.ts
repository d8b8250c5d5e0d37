/**
 * `--limit` has one meaning (issue #13, item 6): a compiler resource limit, `name=value`, on
 * check, summary, build, diff, graph and export (test/limits.test.ts). The number of examples of
 * train, evaluate and predict is `--max-examples N`; `--limit` there is refused (exit 2) with a
 * hint naming `--max-examples`. Through the built CLI (dist/cli/modelspec.js).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const TINY = `${ROOT}test/fixtures/train/tiny-dense.yaml`;
const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });

/** An IDX3 file of `n` 28x28 grey images (pixel values vary with the image). */
function idxImages(path: string, n: number): void {
  const head = Buffer.alloc(16);
  head.writeUInt32BE(0x803, 0);
  head.writeUInt32BE(n, 4);
  head.writeUInt32BE(28, 8);
  head.writeUInt32BE(28, 12);
  const pixels = Buffer.alloc(n * 784);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + Math.floor(i / 784) * 31) % 256;
  writeFileSync(path, Buffer.concat([head, pixels]));
}

describe('--limit N on train, evaluate and predict is refused with a hint; --max-examples N works', () => {
  it.each([
    ['train', [TINY]],
    ['evaluate', ['no-such-run']],
    ['predict', ['no-such-model', 'x.png']],
  ])('%s --limit 32: exit 2, the hint names --max-examples 32, no stack trace', (command, args) => {
    const r = cli([command, ...args, '--limit', '32']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--max-examples 32');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('train --limit name=value (a resource limit, which train does not take): exit 2, naming --max-examples', () => {
    const r = cli(['train', TINY, '--limit', 'maxNodes=5']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--max-examples N');
  });

  it('--max-examples is in the help of train, evaluate and predict; --limit is not', () => {
    for (const command of ['train', 'evaluate', 'predict']) {
      const h = cli([command, '--help']).stdout;
      expect(h, command).toContain('--max-examples <n>');
      expect(h, command).not.toContain('--limit');
    }
  });

  it('train, evaluate and predict with --max-examples use that many examples', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modelspec-max-examples-'));
    const out = join(dir, 'run');
    const t = cli(['train', TINY, '--max-examples', '64', '--batch-size', '32', '--epochs', '1', '--workers', '1', '--no-progress', '--out', out]);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^data: mnist, 64 training \/ 64 test images 28x28x1 \(--max-examples 64\)$/m);
    const ev = cli(['evaluate', out, '--max-examples', '16', '--workers', '1', '--json']);
    expect(ev.status, ev.stderr).toBe(0);
    expect((JSON.parse(ev.stdout) as { count: number }).count).toBe(16);
    const images = join(dir, 'images.idx');
    idxImages(images, 5);
    const all = cli(['predict', out, images, '--json']);
    expect(all.status, all.stderr).toBe(0);
    expect((JSON.parse(all.stdout) as unknown[]).length).toBe(5);
    const some = cli(['predict', out, images, '--max-examples', '2', '--json']);
    expect(some.status, some.stderr).toBe(0);
    expect((JSON.parse(some.stdout) as unknown[]).length).toBe(2);
  }, 120_000);
});
