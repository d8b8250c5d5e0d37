/**
 * The regression corpus: every input that once broke a property, as JSON (a spec's text may hold
 * any character). The short run in `npm test` replays all of them; the long run adds new ones.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import type { FuzzCase } from './harness.js';

export const CORPUS_DIR = join(ROOT, 'test/fuzz/corpus');

export interface CorpusEntry extends FuzzCase {
  name: string;
}

export function listCorpus(dir = CORPUS_DIR): CorpusEntry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ ...(JSON.parse(readFileSync(join(dir, f), 'utf8')) as FuzzCase), name: f.replace(/\.json$/, '') }));
}

/** Write a failing case (unless the same input is there already); returns its file name. */
export function saveCase(c: FuzzCase, note: string, dir = CORPUS_DIR): string {
  mkdirSync(dir, { recursive: true });
  const { kind, file, text, files, set, limits, allowOutsideRoot } = c;
  const body = { kind, file, text, ...(files ? { files } : {}), ...(set ? { set } : {}), ...(limits ? { limits } : {}), ...(allowOutsideRoot ? { allowOutsideRoot } : {}) };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 10);
  const name = `${kind.replace(/[^a-z0-9-]/gi, '_')}-${hash}.json`;
  const path = join(dir, name);
  if (!existsSync(path)) writeFileSync(path, `${JSON.stringify({ note, ...body }, null, 2)}\n`);
  return name;
}
