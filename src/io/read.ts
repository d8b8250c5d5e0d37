/**
 * Bounded reading of input files: every file modelspec reads goes through here.
 *
 * - Only regular files (a symbolic link to one is fine): a FIFO, a device (/dev/zero), a socket or
 *   a directory is refused with a message that says what it is, before it is opened for reading,
 *   so that nothing hangs on a FIFO that no one writes and nothing reads /dev/zero without end.
 * - At most `limit` bytes: one more than that is read at most (a file that grows while it is read
 *   counts too), and a larger file is refused with its size and the limit.
 * - The file is opened with O_NONBLOCK, so that a FIFO swapped in between the check and the open
 *   cannot block the open either; the descriptor is checked again with fstat.
 *
 * Errors are `ReadError`s whose message is a phrase for the user ("a FIFO (named pipe), not a
 * regular file", "permission denied"); `describeReadError` gives the same phrase for any error.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

export class ReadError extends Error {
  constructor(
    readonly path: string,
    /** The phrase for the user: what is wrong with the file, without its name. */
    readonly why: string,
    /** `ENOTREG` for a file that is not a regular file, `EFBIG` for one over the limit, else the errno code. */
    readonly code: string,
  ) {
    super(why);
    this.name = 'ReadError';
  }
}

/** Bytes of one model topology or metadata JSON (model.json, checkpoint state). */
export const MAX_JSON_BYTES = 64 * 1024 * 1024;
/** Bytes of one image given to `predict`. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;
/** Bytes of one data set file (MNIST IDX, a CIFAR-10 batch), weights or optimizer state. */
export const MAX_DATA_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** What a file that is not a regular file is, in words. */
function kindOf(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isDirectory()) return 'a directory, not a file';
  if (st.isFIFO()) return 'a FIFO (named pipe), not a regular file';
  if (st.isCharacterDevice()) return 'a character device, not a regular file';
  if (st.isBlockDevice()) return 'a block device, not a regular file';
  if (st.isSocket()) return 'a socket, not a regular file';
  return 'not a regular file';
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the file name is too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files',
  EIO: 'an input/output error',
  EAGAIN: 'not ready to be read (a FIFO or device)',
};

/** A short phrase for the user for an error met while reading (or writing) a file. */
export function describeReadError(e: unknown): string {
  if (e instanceof ReadError) return e.why;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code && ERRNO_WORDS[code]) return ERRNO_WORDS[code]!;
  return code ?? String((e as Error)?.message ?? e);
}

function fail(path: string, e: unknown): never {
  if (e instanceof ReadError) throw e;
  throw new ReadError(path, describeReadError(e), (e as NodeJS.ErrnoException)?.code ?? 'EIO');
}

/** Refuse a file that is not a regular one; its size when it is. */
export function regularFileSize(path: string): number {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    fail(path, e);
  }
  const kind = kindOf(st);
  if (kind) throw new ReadError(path, kind, st.isDirectory() ? 'EISDIR' : 'ENOTREG');
  return st.size;
}

function tooLarge(path: string, size: number | undefined, limit: number): ReadError {
  return new ReadError(path, `${size === undefined ? 'more than' : 'has'} ${size ?? limit} bytes; the limit is ${limit}`, 'EFBIG');
}

/** The bytes of a regular file of at most `limit` bytes. */
export function readFileBounded(path: string, limit: number): Buffer {
  const size = regularFileSize(path);
  if (size > limit) throw tooLarge(path, size, limit);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (e) {
    fail(path, e);
  }
  try {
    const st = fstatSync(fd);
    const kind = kindOf(st);
    if (kind) throw new ReadError(path, kind, 'ENOTREG');
    // One byte more than the limit tells a file that grew past it.
    const buf = Buffer.allocUnsafe(Math.min(limit, Math.max(st.size, 0)) + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > limit) throw tooLarge(path, undefined, limit);
        break;
      }
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > limit) throw tooLarge(path, undefined, limit);
    if (n < buf.length) return buf.subarray(0, n);
    // The file grew to exactly the buffer: read on, up to the limit plus one.
    const chunks = [buf];
    let total = n;
    for (;;) {
      const more = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      if (more.length === 0) throw tooLarge(path, undefined, limit);
      const got = readSync(fd, more, 0, more.length, null);
      if (got === 0) break;
      chunks.push(more.subarray(0, got));
      total += got;
      if (total > limit) throw tooLarge(path, undefined, limit);
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    fail(path, e);
  } finally {
    closeSync(fd);
  }
}

/** The text (UTF-8) of a regular file of at most `limit` bytes. */
export function readTextBounded(path: string, limit: number): string {
  return readFileBounded(path, limit).toString('utf8');
}
