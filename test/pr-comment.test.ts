/**
 * The pull-request comment script that examples/github/modelspec-diff.yml runs, on a
 * temporary git repository with two commits (a base branch and a pull-request branch):
 * a changed spec, a spec changed only in ids, a new spec, a block library and a YAML file
 * that is no spec. No network.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const SCRIPT = `${ROOT}examples/github/modelspec-pr-comment.mjs`;
let repo: string;
const git = (...args: string[]) => {
  const r = spawnSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: repo } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const script = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { cwd: repo, encoding: 'utf8' });

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'modelspec-pr-'));
  mkdirSync(join(repo, 'specs/blocks'), { recursive: true });
  cpSync(`${ROOT}specs/mnist-cnn.yaml`, join(repo, 'specs/mnist.yaml'));
  cpSync(`${ROOT}specs/resnet-v1.yaml`, join(repo, 'specs/resnet.yaml'));
  cpSync(`${ROOT}specs/blocks/resnet.yaml`, join(repo, 'specs/blocks/resnet.yaml'));
  writeFileSync(join(repo, 'specs/settings.yaml'), 'colour: blue\n');
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'test@example.com');
  git('config', 'user.name', 'test');
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  git('checkout', '-q', '-b', 'feature');
  // The pull request: ResNet20 -> ResNet32 (n: 3 -> 5), mnist's dense layer renamed (ids only),
  // a new spec, the block library and the settings file edited.
  const resnet = readFileSync(join(repo, 'specs/resnet.yaml'), 'utf8');
  expect(resnet).toMatch(/n: \{type: int, default: 3/);
  writeFileSync(join(repo, 'specs/resnet.yaml'), resnet.replace(/n: \{type: int, default: 3/, 'n: {type: int, default: 5'));
  const mnist = readFileSync(join(repo, 'specs/mnist.yaml'), 'utf8');
  writeFileSync(join(repo, 'specs/mnist.yaml'), mnist.replace(/(- dense: \{units: \$num_classes[^\n]*\n)/, '$1    id: classifier\n'));
  cpSync(`${ROOT}specs/y-network.yaml`, join(repo, 'specs/y.yaml'));
  writeFileSync(join(repo, 'specs/blocks/resnet.yaml'), `${readFileSync(join(repo, 'specs/blocks/resnet.yaml'), 'utf8')}\n# edited\n`);
  writeFileSync(join(repo, 'specs/settings.yaml'), 'colour: red\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'pull request');
});
afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('examples/github/modelspec-pr-comment.mjs', () => {
  it('writes one Markdown comment: the semantic diff of each changed spec, new specs, what it skipped', () => {
    const r = script('--base', 'main', '--head', 'feature', '--specs', 'specs/**.yaml', '--out', 'comment.md');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const md = readFileSync(join(repo, 'comment.md'), 'utf8');
    expect(md.startsWith('<!-- modelspec-pr-comment -->\n## modelspec: architecture diff\n')).toBe(true);
    expect(md).toContain('5 spec files changed, 2 with an architectural change.');
    // ResNet20 -> ResNet32: the folded repeat rows, with totals.
    expect(md).toContain('### Architecture diff: `resnet_v1`');
    expect(md).toMatch(/\| repeat \| `stage0` \| \*\*3 → 5 blocks/);
    expect(md).toContain('```mermaid');
    // mnist: only an id changed: no architectural change, one line about the rename.
    expect(md).toContain('### Architecture diff: `mnist_cnn`\n\n**No architectural change** (9 layers, 80,266 params');
    expect(md).toContain('1 layer renamed (ids only: --names lists them).');
    expect(md).toContain('### New spec `specs/y.yaml`\n\n24 layers, 208,394 params');
    expect(md).toMatch(/Skipped \(no model to compare\): `specs\/blocks\/resnet\.yaml` \(.*block library.*\), `specs\/settings\.yaml`/);
  });

  it('refuses a revision that looks like an option, and a missing --base (exit 2)', () => {
    expect(script('--base', '--output=x', '--head', 'feature').status).toBe(2);
    expect(script('--head', 'feature').status).toBe(2);
    expect(script('--base', 'no-such-branch').status).toBe(2);
  });
});
