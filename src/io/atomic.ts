/** Writing files so that nothing is ever half-written, and nothing the user wrote is overwritten unasked. */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readTextBounded } from './read.js';

/** Bytes read of an existing file to tell whether modelspec wrote it (a FIFO or device there is not read). */
const MAX_OWNED_FILE_BYTES = 64 * 1024 * 1024;

/**
 * `mkdir -p` without Node's own `{ recursive: true }`, which never returns on some file systems:
 * under /proc, mkdir answers ENOENT for a folder whose parent exists, and Node 20 retries forever
 * (`build --out /proc/x` hung). The missing folders are made one at a time, top down, so a failure
 * is an ordinary errno error (ENOENT, EACCES, ENOTDIR...) naming the folder.
 */
export function makeFolders(path: string): void {
  const missing: string[] = [];
  // The path as given (relative stays relative), so that an error names it as the user wrote it.
  for (let p = path; !existsSync(p); p = dirname(p)) {
    missing.push(p);
    if (dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; // made meanwhile: fine
    }
  }
}

/** Write to a temporary file beside the target, then rename over it (atomic on one file system). */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  makeFolders(dirname(path));
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw aboutTarget(e, path);
  }
  removeStaleTemps(dirname(path), `${basename(path)}.`);
}

/** A file-system error of a temporary name, told about the file the user knows (the target). */
export function aboutTarget(e: unknown, target: string): unknown {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (err instanceof Error && typeof err.code === 'string') {
    err.path = target;
    delete err.dest;
  }
  return e;
}

const pidAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Remove what writes killed half-way (SIGKILL, a crash) left in `dir`: entries named
 * `<prefix>tmp-<pid>-<time>` or `<prefix>old-<pid>-<time>` whose process is gone.
 */
export function removeStaleTemps(dir: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    const m = /^(?:tmp|old)-(\d+)-\d+$/.exec(n.slice(prefix.length));
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) rmSync(join(dir, n), { recursive: true, force: true });
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
