/**
 * Reading input, names and terminal output under hostile conditions (issue #12), through the built
 * command line (dist/, npm run build) in temporary folders: FIFOs, /dev/zero and directories given
 * as files, ids that TensorFlow.js would refuse as names, git revisions that look like options,
 * images that declare more pixels than they hold, control and bidi characters in what is printed,
 * file-system errors, and the exit-code table of the README, command by command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

const CLI = `${ROOT}dist/cli/modelspec.js`;
const SPEC2TS = `${ROOT}dist/cli/spec2ts.js`;
const TMP = mkdtempSync(join(tmpdir(), 'modelspec-inputs-'));

interface Run { code: number | null; stdout: string; stderr: string }

/** Run a built program in `cwd`; a hang (a FIFO read without end) fails at the timeout instead of hanging the suite. */
function runIn(cwd: string, program: string, args: string[], timeout = 60_000): Run {
  const r = spawnSync(process.execPath, [program, ...args], { cwd, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const ms = (cwd: string, ...args: string[]) => runIn(cwd, CLI, args);
const s2t = (cwd: string, ...args: string[]) => runIn(cwd, SPEC2TS, args);

function folder(name: string): string {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

const TINY = 'modelspec: 1\nname: tiny\ninputs:\n  x: {shape: [28, 28, 1]}\nlayers:\n  - flatten: {}\n  - dense: {units: 10, activation: softmax}\n';

/** No stack trace and no "internal error": what the user sees is a message. */
function userFacing(r: Run): void {
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);
}

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli/modelspec.js is missing: run npm run build first (npm ci does it)');
});

describe('files that are not regular files, read with a bound', () => {
  const dir = folder('nonregular');
  beforeAll(() => {
    execFileSync('mkfifo', [join(dir, 'fifo.yaml'), join(dir, 'fifo.json'), join(dir, 'lib.yaml')]);
    mkdirSync(join(dir, 'folder.yaml'));
    writeFileSync(join(dir, 'uses.yaml'), `modelspec: 1\nuse: [lib.yaml]\nname: uses\ninputs:\n  x: {shape: [4]}\nlayers:\n  - dense: {units: 2}\n`);
  });

  it.each([
    ['a FIFO inside the project', 'fifo.yaml', /cannot read 'fifo.yaml': a FIFO \(named pipe\), not a regular file/],
    ['/dev/zero', '/dev/zero', /cannot read '\/dev\/zero': a character device, not a regular file/],
    ['a directory', 'folder.yaml', /cannot read 'folder.yaml': a directory, not a file/],
  ])('check refuses %s at once (exit 1)', (_, file, message) => {
    const r = ms(dir, 'check', file);
    expect([r.code, r.stderr]).toEqual([1, expect.stringMatching(message)]);
    userFacing(r);
  });

  it('a FIFO named by use: is refused with its position in the spec', () => {
    const r = ms(dir, 'check', 'uses.yaml');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/uses.yaml:2:\d+ - error MS1004: cannot read 'lib.yaml': a FIFO \(named pipe\), not a regular file/);
  });

  it.each([['fifo.json', 'a FIFO'], ['/dev/zero', 'a character device']])('import %s: refused (exit 1)', (file, what) => {
    const r = ms(dir, 'import', file);
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining(`cannot read ${file}: ${what}`)]);
  });

  it.each([['fifo.yaml', 'a FIFO (named pipe)'], ['/dev/zero', 'a character device'], ['folder.yaml', 'a directory'], ['missing.yaml', 'no such file']])('spec2ts %s: a message, no stack trace (exit 1)', (file, what) => {
    const r = s2t(dir, file, '--out', 'gen');
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining(`${file.replace(/^\//, '')}': ${what}`)]);
    expect(r.stderr).toMatch(/^spec2ts: cannot read '/);
    userFacing(r);
  });

  it('git-diff-driver given a FIFO: says it cannot read it and exits 0, as git needs', () => {
    writeFileSync(join(dir, 'new.yaml'), TINY);
    const r = ms(dir, 'git-diff-driver', 'spec.yaml', 'fifo.yaml', '0'.repeat(40), '100644', 'new.yaml', '0'.repeat(40), '100644');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("cannot read 'fifo.yaml': a FIFO (named pipe), not a regular file");
  });

  it('predict refuses a PNG that declares 30000 x 30000 pixels before decoding it (exit 1)', () => {
    const pdir = folder('predict');
    writeFileSync(join(pdir, 'tiny.yaml'), TINY);
    expect(ms(pdir, 'build', 'tiny.yaml', '--out', 'model').code).toBe(0);
    const png = PNG.sync.write(new PNG({ width: 1, height: 1 }));
    png.writeUInt32BE(30000, 16); // IHDR width
    png.writeUInt32BE(30000, 20); // IHDR height
    writeFileSync(join(pdir, 'huge.png'), png);
    const r = ms(pdir, 'predict', 'model', 'huge.png');
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('huge.png: the image declares 30000 x 30000 pixels; the limit is 16,777,216 pixels')]);
    const fifo = join(pdir, 'image.png');
    execFileSync('mkfifo', [fifo]);
    const f = ms(pdir, 'predict', 'model', 'image.png');
    expect([f.code, f.stderr]).toEqual([1, expect.stringContaining('image.png: cannot read (a FIFO (named pipe), not a regular file)')]);
  }, 120_000);
});

describe('ids that start with _ and __proto__ as an input name', () => {
  const dir = folder('ids');
  const spec = 'modelspec: 1\nname: underscores\ninputs:\n  __proto__: {shape: [4]}\n  _x: {shape: [4]}\nlayers:\n  - add: {}\n    from: [__proto__, _x]\n  - dense: {units: 2}\n    id: _d\n';
  beforeAll(() => writeFileSync(join(dir, 'u.yaml'), spec));

  it('check and build agree: the model is built, its tfjs names made valid, the summary keeps the ids', () => {
    expect(ms(dir, 'check', 'u.yaml').code).toBe(0);
    const b = ms(dir, 'build', 'u.yaml', '--out', 'model');
    expect([b.code, b.stderr]).toEqual([0, '']);
    const names = (JSON.parse(readFileSync(join(dir, 'model', 'model.json'), 'utf8')) as { modelTopology: { config: { layers: { name: string }[] } } }).modelTopology.config.layers.map((l) => l.name);
    expect(names).toEqual(['id-__proto__', 'id-_x', 'add', 'id-_d']);
    const s = ms(dir, 'summary', 'u.yaml');
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^ *_d \(Dense\)/m);
    expect(s.stdout).toMatch(/^ *__proto__ \(InputLayer\)/m);
  }, 60_000);

  it('spec2ts generates its builder', () => {
    const r = s2t(dir, 'u.yaml', '--out', 'gen', '--root', '.');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(readFileSync(join(dir, 'gen', 'u.ts'), 'utf8')).toContain('__proto__');
  });
});

describe('nothing reaches git as an option', () => {
  it('diff with a "revision" that starts with -- is refused, and git writes nothing', () => {
    const dir = folder('git');
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: dir, stdio: 'pipe' });
    git('init', '-q');
    writeFileSync(join(dir, 'spec.yaml'), TINY);
    git('add', 'spec.yaml');
    git('commit', '-qm', 'spec');
    const target = join(dir, 'PWNED');
    const r = ms(dir, 'diff', '--', `--output=${target}:spec.yaml`, 'spec.yaml');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`'--output=${target}' is not a git revision`);
    expect(existsSync(target)).toBe(false);
    // A real revision still works.
    expect(ms(dir, 'diff', 'HEAD:spec.yaml', 'spec.yaml').code).toBe(0);
  });
});

describe('terminal output escapes control and bidi characters', () => {
  const dir = folder('escape');
  const hostile = 'a\x1b]0;title\x07b\x1b[2Jc\u202ed';
  const file = `${hostile}.yaml`;
  beforeAll(() => writeFileSync(join(dir, file), `modelspec: 1\nname: t\ninputs:\n  x: {shape: [4]}\nlayers:  # ${hostile}\n  - dense: {units: 0}\n`));

  it('in file names, messages and code frames', () => {
    const r = ms(dir, 'check', file);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(r.stderr).toContain('a\\x1b]0;title\\x07b\\x1b[2Jc\\u202ed.yaml:');
    expect(r.stderr).toContain('# a\\x1b]0;title\\x07b\\x1b[2Jc\\u202ed'); // the frame
  });

  it('--json keeps the raw strings (JSON escapes them)', () => {
    const r = ms(dir, 'check', file, '--json');
    expect(r.code).toBe(1);
    const [first] = JSON.parse(r.stdout) as { file: string }[];
    expect(first!.file).toContain(hostile);
  });
});

describe('file-system and environment errors are messages, not internal errors', () => {
  const dir = folder('errors');
  beforeAll(() => {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    writeFileSync(join(dir, 'big.yaml'), 'modelspec: 1\nname: big\ninputs:\n  x: {shape: [3000000]}\nlayers:\n  - dense: {units: 2930000}\n');
  });

  it('a file where build --out needs a directory (exit 1)', () => {
    const r = ms(dir, 'build', 'tiny.yaml', '--out', 'tiny.yaml/model');
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('cannot write tiny.yaml/model: a file is where a folder belongs (ENOTDIR); move or remove that file, or choose another output folder')]);
    userFacing(r);
  }, 60_000);

  it('--plugin, removed, is a usage error whatever it names (exit 2), and nothing is loaded', () => {
    writeFileSync(join(dir, 'throws.mjs'), 'throw new Error("boom");\n');
    for (const plugin of ['./nope.mjs', './throws.mjs']) {
      const r = ms(dir, 'check', 'tiny.yaml', '--plugin', plugin);
      expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/^modelspec: --plugin was removed: .*\n$/)]);
      expect(r.stderr).not.toContain('boom');
    }
  });

  it('build of a spec with 8.8 T parameters, which check accepts (exit 1)', () => {
    expect(ms(dir, 'check', 'big.yaml').code).toBe(0);
    const r = ms(dir, 'build', 'big.yaml', '--out', 'big');
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('big has 8,790,002,930,000 parameters')]);
    userFacing(r);
  }, 60_000);

  it.runIf(process.getuid?.() !== 0)('permission denied on --out (exit 1)', () => {
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    const r = ms(dir, 'build', 'tiny.yaml', '--out', 'locked/model');
    expect([r.code, r.stderr]).toEqual([1, expect.stringContaining('(EACCES): permission denied')]);
  }, 60_000);
});

/** The README's exit-code table, command by command: 0 success, 1 bad input, 2 usage (the overwrite refusal included). */
describe('exit codes: one table for every command', () => {
  const dir = folder('exit-codes');
  beforeAll(() => {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    writeFileSync(join(dir, 'other.yaml'), TINY.replace('units: 10', 'units: 10, use_bias: false'));
    writeFileSync(join(dir, 'bad.yaml'), 'modelspec: 1\nname: bad\nlayers: 3\n');
    writeFileSync(join(dir, 'foreign.txt'), 'mine\n');
    writeFileSync(join(dir, 'hostile.json'), JSON.stringify({ class_name: 'Functional', config: { layers: 5 } }));
    mkdirSync(join(dir, 'foreign-model'));
    writeFileSync(join(dir, 'foreign-model', 'model.json'), '{}');
    mkdirSync(join(dir, 'foreign-run', 'model'), { recursive: true });
    writeFileSync(join(dir, 'foreign-run', 'model', 'model.json'), '{}');
    mkdirSync(join(dir, 'run'));
    writeFileSync(join(dir, 'run', 'last.json'), JSON.stringify({ checkpoint: 'checkpoints/epoch-001', epoch: 1 }));
  });
  const nine = ['spec.yaml', 'tiny.yaml', '0'.repeat(40), '100644', 'other.yaml', '0'.repeat(40), '100644'];

  it.each([
    ['check', ['check', 'tiny.yaml'], ['check', 'bad.yaml'], ['check', 'tiny.yaml', '--no-such-flag']],
    ['summary', ['summary', 'tiny.yaml'], ['summary', 'bad.yaml'], ['summary']],
    ['graph', ['graph', 'tiny.yaml'], ['graph', 'bad.yaml'], ['graph', 'tiny.yaml', '--format', 'gif']],
    ['diff', ['diff', 'tiny.yaml', 'tiny.yaml'], ['diff', 'tiny.yaml', 'other.yaml'], ['diff', 'tiny.yaml']],
    ['git-diff-driver', ['git-diff-driver', ...nine], undefined, ['git-diff-driver', 'one']],
    ['build', ['build', 'tiny.yaml', '--out', 'built'], ['build', 'bad.yaml', '--out', 'built'], ['build', 'tiny.yaml']],
    ['import', ['import', 'built/model.json'], ['import', 'hostile.json'], ['import']],
    ['train', undefined, ['train', 'bad.yaml', '--out', 'trained'], ['train', 'tiny.yaml', '--epochs', 'x']],
    ['evaluate', undefined, ['evaluate', 'no-such-model'], ['evaluate']],
    ['predict', undefined, ['predict', 'no-such-model', 'x.png'], ['predict', 'model-folder']],
  ] as [string, string[] | undefined, string[] | undefined, string[]][])('%s: 0 ok, 1 bad input, 2 usage', (_, ok, bad, usage) => {
    // diff's 1 is "the specs differ", as diff(1); a hostile model.json is bad input for import.
    if (ok) expect(ms(dir, ...ok).code).toBe(0);
    if (bad) {
      const r = ms(dir, ...bad);
      expect(r.code).toBe(1);
      userFacing(r);
    }
    expect(ms(dir, ...usage).code).toBe(2);
  }, 120_000);

  it('spec2ts: 0 ok, 1 bad input, 2 usage', () => {
    expect(s2t(dir, 'tiny.yaml', '--out', 'gen', '--root', '.').code).toBe(0);
    expect(s2t(dir, 'bad.yaml', '--out', 'gen', '--root', '.').code).toBe(1);
    expect(s2t(dir, '--no-such-flag').code).toBe(2);
  });

  it.each([
    ['import', ['import', 'built/model.json', '--out', 'foreign.txt']],
    ['graph', ['graph', 'tiny.yaml', '--out', 'foreign.txt', '--format', 'dot']],
    ['build', ['build', 'tiny.yaml', '--out', 'foreign-model']],
    ['train (a folder with a run)', ['train', 'tiny.yaml', '--out', 'run']],
    ['train (a model folder modelspec did not write)', ['train', 'tiny.yaml', '--out', 'foreign-run']],
  ])('%s: the overwrite refusal exits 2', (_, args) => {
    const r = ms(dir, ...args);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/--force/)]);
    expect(readFileSync(join(dir, 'foreign.txt'), 'utf8')).toBe('mine\n');
  }, 120_000);

  it('spec2ts: the overwrite refusal exits 2', () => {
    mkdirSync(join(dir, 'gen2'), { recursive: true });
    writeFileSync(join(dir, 'gen2', 'tiny.ts'), '// mine\n');
    const r = s2t(dir, 'tiny.yaml', '--out', 'gen2', '--root', '.');
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('pass --force')]);
  });
});
