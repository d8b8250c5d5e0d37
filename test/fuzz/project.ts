/**
 * The virtual project the fuzz cases compile in: every real spec of the repository (specs/,
 * specs/examples/, the baseline cases and their libraries) under /fuzz/project, served by an
 * in-memory Host. Nothing a fuzz case names is ever read from the real file system, so a
 * mutated `use:` can name /dev/zero or ../../etc/passwd without harm; a few hostile entries
 * (a file over the size limit, a directory, a read that fails oddly) are there to be found.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Host } from '../../src/index.js';
import { ROOT } from '../helpers.js';

export const PROJECT = '/fuzz/project';

/** A spec of the repository: its path in the virtual project and its text. */
export interface SeedFile {
  path: string;
  text: string;
}

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...yamlFiles(p));
    else if (name.endsWith('.yaml')) out.push(p);
  }
  return out;
}

let seeds: SeedFile[] | undefined;

/** Every real spec (and library) of the repository, in a stable order. */
export function seedFiles(): SeedFile[] {
  seeds ??= [...yamlFiles(join(ROOT, 'specs')), ...yamlFiles(join(ROOT, 'test/baselines/cases'))].map((p) => ({
    path: `${PROJECT}/${relative(ROOT, p)}`,
    text: readFileSync(p, 'utf8'),
  }));
  return seeds;
}

/** Paths a mutated `use:` may name: real libraries, hostile entries, and names that do not exist. */
export const HOSTILE_USES = [
  './huge.yaml', './dir.yaml', './weird.yaml', './missing.yaml', '', '.', '..', '/', '/dev/zero', '/etc/passwd',
  '../../../../../../etc/passwd', '/fuzz/project/package.json', 'C:\\windows\\win.ini', '\u0000', './blocks/resnet.yaml',
  './blocks/vision.yaml', './lib/conv-blocks.yaml', './lib/cycle-a.yaml', '../specs/blocks/resnet.yaml', 'file:///etc/passwd',
];

const errno = (code: string, path: string) => Object.assign(new Error(`${code}: ${path}`), { code });

/** The Host of one case: the seed files, overridden or extended by `extra`. */
export function virtualHost(extra: Readonly<Record<string, string>> = {}): Host {
  const files = new Map<string, string>(seedFiles().map((s) => [s.path, s.text]));
  for (const [p, t] of Object.entries(extra)) files.set(p, t);
  return {
    readFile(path: string): string {
      const t = files.get(path);
      if (t !== undefined) return t;
      if (path.endsWith('/huge.yaml')) return `modelspec: 1\ndoc: "${'x'.repeat(1_100_000)}"\n`;
      if (path.endsWith('/dir.yaml') || path === PROJECT || path === '/') throw errno('EISDIR', path);
      if (path.endsWith('/weird.yaml')) throw new Error('the disk is on fire');
      throw errno('ENOENT', path);
    },
    exists(path: string): boolean {
      return path === `${PROJECT}/package.json` || files.has(path);
    },
  };
}
