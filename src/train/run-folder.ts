/**
 * A training run's --out folder while a run writes it: locked (src/io/lock.ts), so that a second
 * run on the same folder stops at once with a clear message; and, for --force, the previous run
 * moved aside into `.previous-run/` rather than deleted, then removed only once the new run has
 * written its first checkpoint. A new run that fails before that puts the previous one back; one
 * killed before that (SIGKILL) leaves it aside, and the next run in the folder puts it back.
 */
import { makeFolders } from '../io/atomic.js';
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { lockFolder, type FolderLock } from '../io/lock.js';
import { fileProblem } from '../io/fs-problems.js';

/**
 * What a run writes in its folder (and what --force replaces). last.json first: it is what says
 * a folder holds a run, so a run killed while setting the previous one aside leaves it in
 * `.previous-run/`, and the next run puts the previous run back rather than removing it.
 */
export const RUN_ENTRIES = ['last.json', 'best.json', 'checkpoints', 'model', 'metrics.jsonl', 'curves.svg'] as const;
const ASIDE = '.previous-run';

export class RunFolder {
  private aside = false;
  private constructor(readonly out: string, private readonly lock: FolderLock, private readonly created: boolean, readonly notes: string[]) {}

  /** Create (if need be) and lock `out`; put back a previous run a killed --force run left aside. */
  static open(out: string): RunFolder {
    const created = !existsSync(out);
    try {
      makeFolders(out);
    } catch (e) {
      throw fileProblem(e, 'create the output folder', out) ?? e;
    }
    const lock = lockFolder(out, '--out');
    const notes: string[] = [];
    if (lock.takenOver) notes.push(`${out}: took over the lock of run pid ${lock.takenOver.pid} (started ${lock.takenOver.started}), which no longer runs`);
    const folder = new RunFolder(out, lock, created, notes);
    try {
      folder.recover();
    } catch (e) {
      lock.release();
      throw fileProblem(e, 'recover the previous run in', out) ?? e;
    }
    return folder;
  }

  /** A `.previous-run/` left by a run killed during --force: gone if that run had checkpointed, else put back. */
  private recover(): void {
    const aside = join(this.out, ASIDE);
    if (!existsSync(aside)) return;
    if (existsSync(join(this.out, 'last.json'))) {
      rmSync(aside, { recursive: true, force: true });
      return;
    }
    this.restore();
    this.notes.push(`${this.out}: put back the previous run that a killed --force run had set aside`);
  }

  /** --force: move the previous run's files aside (nothing is deleted yet). */
  setAside(): void {
    const present = RUN_ENTRIES.filter((f) => existsSync(join(this.out, f)));
    if (!present.length) return;
    const aside = join(this.out, ASIDE);
    try {
      mkdirSync(aside);
      for (const f of present) renameSync(join(this.out, f), join(aside, f));
    } catch (e) {
      this.restore();
      throw fileProblem(e, 'move the previous run aside in', this.out) ?? e;
    }
    this.aside = true;
  }

  /** The new run has written a checkpoint: the previous run can go. */
  commit(): void {
    if (!this.aside) return;
    this.aside = false;
    rmSync(join(this.out, ASIDE), { recursive: true, force: true });
  }

  /**
   * The new run failed (or was killed) before its first checkpoint: put the previous run's files
   * back over what the new run wrote. Files not set aside (a kill in the middle of setAside) are
   * the previous run's own and stay.
   */
  restore(): void {
    const aside = join(this.out, ASIDE);
    if (!existsSync(aside)) return;
    for (const f of readdirSync(aside)) {
      rmSync(join(this.out, f), { recursive: true, force: true });
      renameSync(join(aside, f), join(this.out, f));
    }
    rmdirSync(aside);
    this.aside = false;
  }

  /** The end of the run, however it ends: a failed run puts back what it set aside; the lock goes. */
  close(failed: boolean): void {
    try {
      if (failed && this.aside) this.restore();
    } finally {
      this.lock.release();
      if (failed && this.created) {
        // A folder this run created and left empty goes too.
        try { rmdirSync(this.out); } catch { /* not empty */ }
      }
    }
  }
}
