/**
 * File-system problems as the user sees them: a path, what went wrong in words, and what to do.
 * `FileProblem` is the error the commands that read or write run folders, models and builds
 * raise (and report with exit code 1, a problem of the input or the environment, not a bug);
 * `fileProblem` turns a Node.js errno error (EACCES, ENOSPC, EISDIR...) into one.
 * `insideFolder` resolves a path read from a file (a model's weight paths, a run's last.json)
 * and refuses one that leaves its folder: `../`, an absolute path, or a symbolic link out.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ReadError } from './read.js';

export class FileProblem extends Error {
  constructor(message: string, readonly path?: string) {
    super(message);
  }
}

const WHAT: Record<string, [string, string]> = {
  EACCES: ['permission denied', 'fix its permissions or choose another folder'],
  EPERM: ['operation not permitted', 'fix its permissions or choose another folder'],
  EROFS: ['the file system is read-only', 'choose a folder on a writable file system'],
  ENOSPC: ['no space left on the device', 'free some space or choose a folder on another disk'],
  EDQUOT: ['the disk quota is exceeded', 'free some space or choose a folder on another disk'],
  EFBIG: ['the file is too large for the file system', 'choose a folder on another file system'],
  EISDIR: ['a folder is where a file belongs', 'move or remove that folder, or choose another output folder'],
  ENOTDIR: ['a file is where a folder belongs', 'move or remove that file, or choose another output folder'],
  ENOENT: ['no such file or folder', 'check the path'],
  EEXIST: ['it already exists', 'move or remove it, or choose another output folder'],
  ENOTEMPTY: ['the folder is not empty', 'move or remove it, or choose another output folder'],
  EMFILE: ['too many open files', 'raise the limit (ulimit -n) or close other programs'],
  ENFILE: ['too many open files in the system', 'close other programs and try again'],
  EIO: ['an input/output error of the device', 'check the disk'],
  ELOOP: ['too many levels of symbolic links', 'check the links on the path'],
  ENAMETOOLONG: ['the name is too long', 'choose a shorter path'],
  EBUSY: ['the file or folder is busy', 'try again when the other program is done with it'],
  EXDEV: ['it is on another file system', 'keep the output folder on one file system'],
};

/** An errno error of node:fs (it has a `code` and usually a `path`), else undefined. */
export function errnoOf(e: unknown): NodeJS.ErrnoException | undefined {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string'
    ? (e as NodeJS.ErrnoException)
    : undefined;
}

/**
 * A FileProblem for a file-system error, or undefined when `e` is not one. `doing` says what the
 * command was doing ("write", "read"); the path is the error's own, else `path`.
 */
export function fileProblem(e: unknown, doing = 'write', path?: string): FileProblem | undefined {
  if (e instanceof FileProblem) return e;
  // A bounded read's refusal (src/io/read.ts): a folder, a FIFO or a device where a file belongs, or a file over its limit.
  if (e instanceof ReadError) {
    const known = WHAT[e.code];
    return new FileProblem(`cannot read ${e.path}: ${known ? `${known[0]} (${e.code}); ${known[1]}` : e.why}`, e.path);
  }
  const err = errnoOf(e);
  if (!err?.code) return undefined;
  const where = err.path ?? path ?? '(unknown path)';
  // What the failing call did, where it says more than `doing` (a read while writing a run).
  if (['read', 'scandir', 'stat', 'lstat', 'readlink', 'access'].includes(err.syscall ?? '')) doing = 'read';
  const destPath = (err as { dest?: unknown }).dest;
  const dest = typeof destPath === 'string' ? ` -> ${destPath}` : '';
  const [what, todo] = WHAT[err.code] ?? [err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, ''), 'check the path and try again'];
  return new FileProblem(`cannot ${doing} ${where}${dest}: ${what} (${err.code}); ${todo}`, where);
}

/** `run()`, with a file-system error turned into a FileProblem (anything else passes through). */
export function withFileProblems<T>(doing: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    throw fileProblem(e, doing) ?? e;
  }
}

const within = (root: string, p: string) => {
  const r = relative(root, p);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !isAbsolute(r));
};

/**
 * The path `rel`, read from `source` (a model.json, a last.json), resolved in `folder`: refused
 * with a FileProblem when it is absolute, climbs out with `..`, or is (or passes through) a
 * symbolic link that leads out of the folder. A path that does not exist yet is checked as written.
 */
export function insideFolder(folder: string, rel: unknown, source: string, what = 'a path'): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0')) {
    throw new FileProblem(`${source} names ${what} that is not a file name (${JSON.stringify(rel)}); the file is damaged or was not written by modelspec`, source);
  }
  const root = resolve(folder);
  const target = resolve(root, rel);
  if (isAbsolute(rel) || !within(root, target)) {
    throw new FileProblem(`${source} names ${what} outside its folder (${JSON.stringify(rel)}); refused: paths in it must stay inside ${root}`, source);
  }
  let real: string | undefined;
  try {
    real = realpathSync(target);
  } catch {
    real = undefined; // missing: the reader reports it
  }
  if (real !== undefined && !within(realpathSync(root), real)) {
    throw new FileProblem(`${source} names ${what} (${JSON.stringify(rel)}) that is a symbolic link out of its folder, to ${real}; refused: paths in it must stay inside ${root}`, source);
  }
  return target;
}
