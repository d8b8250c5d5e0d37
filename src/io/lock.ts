/**
 * A folder locked while a process writes it: `<folder>/.lock` holds the owner's pid, host and
 * process start time, created with O_EXCL so that of two processes starting at once one wins.
 * A lock whose process is gone (killed with SIGKILL, a crash) is stale: the next process takes
 * it over. On Linux the start time read from /proc tells a live owner from a new process that
 * reused the pid.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { ReadError, readTextBounded } from './read.js';

/** A lock file holds one line of JSON; anything longer (or a FIFO planted there) is not one of ours. */
const MAX_LOCK_BYTES = 64 * 1024;
import { hostname } from 'node:os';
import { join } from 'node:path';
import { FileProblem, fileProblem } from './fs-problems.js';

export const LOCK_FILE = '.lock';

interface LockInfo {
  pid: number;
  host: string;
  /** Start time of the process, in clock ticks since boot (Linux), when known. */
  startTicks?: number;
  started: string;
  command?: string;
}

/** Field 22 of /proc/<pid>/stat: the process' start time, which changes when a pid is reused. */
function startTicksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function alive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // another machine's process: cannot tell, assume it runs
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (info.startTicks !== undefined) {
    const now = startTicksOf(info.pid);
    if (now !== undefined && now !== info.startTicks) return false;
  }
  return true;
}

export class FolderLocked extends FileProblem {}

export interface FolderLock {
  /** The stale lock taken over, if any. */
  takenOver?: { pid: number; started: string };
  release(): void;
}

/**
 * Lock `folder` (which must exist) for this process. A live owner: FolderLocked, saying who holds
 * it. A stale lock: taken over. `what` names the user's action for the message ("train --out").
 */
export function lockFolder(folder: string, what: string): FolderLock {
  const path = join(folder, LOCK_FILE);
  const mine: LockInfo = {
    pid: process.pid, host: hostname(), ...(startTicksOf(process.pid) !== undefined ? { startTicks: startTicksOf(process.pid)! } : {}),
    started: new Date().toISOString(), command: process.argv.slice(2).join(' ').slice(0, 500),
  };
  let takenOver: FolderLock['takenOver'];
  for (let attempt = 0; attempt < 5; attempt++) {
    if (createLockFile(path, mine)) return heldLock(path, mine, takenOver);
    let text: string;
    try {
      text = readTextBounded(path, MAX_LOCK_BYTES);
    } catch (e) {
      // A FIFO, a device or a folder where the lock belongs is not a lock: say so, never wait on it.
      if (e instanceof ReadError && e.code !== 'ENOENT') throw e;
      continue; // released meanwhile: try again
    }
    const info = parseLock(text);
    if (info === undefined) {
      // Written by a process killed between creating and filling it: stale only once it is old.
      if (Date.now() - statOrZero(path).mtimeMs < 2000) {
        sleep(100);
        continue;
      }
    } else if (alive(info)) {
      throw new FolderLocked(
        `${folder} is in use by another run (pid ${info.pid} on ${info.host}, started ${info.started}${info.command ? `: ${info.command}` : ''}); `
          + `wait for it to end, or choose another ${what}. If no such process runs any more, remove ${path}`,
        path,
      );
    }
    if (removeStale(path, text) && info) takenOver = { pid: info.pid, started: info.started };
  }
  throw new FolderLocked(`${folder}: could not take the lock ${path} (other processes keep changing it); try again`, path);
}

/** Create the lock file exclusively and fill it; false when it exists already. */
function createLockFile(path: string, mine: LockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fileProblem(e, 'lock', path) ?? e;
    return false;
  }
  try {
    writeSync(fd, JSON.stringify(mine) + '\n');
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The handle of a lock this process holds: release() removes the file only while it is still ours. */
function heldLock(path: string, mine: LockInfo, takenOver: FolderLock['takenOver']): FolderLock {
  let released = false;
  return {
    ...(takenOver ? { takenOver } : {}),
    release: () => {
      if (released) return;
      released = true;
      try {
        const now = JSON.parse(readTextBounded(path, MAX_LOCK_BYTES)) as LockInfo;
        if (now.pid === mine.pid && now.started === mine.started) rmSync(path, { force: true });
      } catch {
        // gone or unreadable: nothing of ours to remove
      }
    },
  };
}

function parseLock(text: string): LockInfo | undefined {
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Remove a stale lock whose text was `text`: move it aside (only one of two racing processes can),
 * check that it was the stale one, else give it back. Returns whether it removed it.
 */
function removeStale(path: string, text: string): boolean {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  if (readTextBounded(aside, MAX_LOCK_BYTES) !== text) {
    // Another process took it over between our read and our rename: give it back.
    try { renameSync(aside, path); } catch { /* it goes with the other's lock */ }
    return false;
  }
  rmSync(aside, { force: true });
  return true;
}

function statOrZero(path: string): { mtimeMs: number } {
  try {
    return { mtimeMs: statSync(path).mtimeMs };
  } catch {
    return { mtimeMs: 0 };
  }
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
