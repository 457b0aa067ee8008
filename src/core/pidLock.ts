/**
 * A lock file holding its owner's pid, for "one at a time per folder" (repair, GitHub push).
 * The pid is written to a private file first and then `link()`ed into place, so a lock is
 * never seen without its pid; a lock whose process no longer runs is taken over; private
 * files of processes killed between writing and linking are cleaned up.
 */

import * as path from 'path';
import { createExclusive, linkExclusive, listNames, readTextSync, removeFile } from './fsSafe';

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type LockAttempt = { release: () => void } | { heldBy: number };

/** One attempt to take `file`: the release function, or the pid of the live process holding it. */
export function tryPidLock(file: string): LockAttempt {
  const dir = path.dirname(file);
  const base = path.basename(file);
  try {
    const re = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)\\.\\d+$`);
    for (const n of listNames(dir)) {
      const m = re.exec(n);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) removeFile(path.join(dir, n));
    }
  } catch {
    // unreadable folder: the attempt below reports it
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = `${file}.${process.pid}.${attempt}`;
    // O_EXCL|O_NOFOLLOW: a link planted at our private name is removed (as a link), never written through.
    removeFile(tmp);
    createExclusive(tmp, `${process.pid}\n`);
    try {
      linkExclusive(tmp, file);
      return {
        release: () => {
          try {
            if (readTextSync(file).trim() === String(process.pid)) removeFile(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: number;
      try {
        owner = Number(readTextSync(file).trim());
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile
        owner = NaN; // a link, FIFO or garbage planted at the lock name: not a live holder
      }
      // Our own pid counts as held: in the extension host two commands share one process.
      if (pidAlive(owner)) return { heldBy: owner };
      removeFile(file); // stale (or planted): its process is gone; a link is removed, never followed
    } finally {
      removeFile(tmp);
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}
