/** Writing files so that nothing is ever half-written, and nothing the user wrote is overwritten unasked. */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTextBounded } from './read.js';

/** Bytes read of an existing file to tell whether modelspec wrote it (a FIFO or device there is not read). */
const MAX_OWNED_FILE_BYTES = 64 * 1024 * 1024;

/** Write to a temporary file beside the target, then rename over it (atomic on one file system). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export class RefusedOverwrite extends Error {}

/** Marker that modelspec puts in the files it generates (e.g. `generatedBy` of a model.json). */
export const GENERATOR = 'modelspec';

/**
 * Refuse to replace a file modelspec did not write, unless forced. `isOurs` inspects the
 * existing content; a missing file is always fine.
 */
export function checkOverwrite(path: string, force: boolean, isOurs: (content: string) => boolean): void {
  if (force || !existsSync(path)) return;
  let ours = false;
  try {
    ours = isOurs(readTextBounded(path, MAX_OWNED_FILE_BYTES));
  } catch {
    ours = false;
  }
  if (!ours) throw new RefusedOverwrite(`${path} exists and was not written by modelspec; pass --force to replace it`);
}
