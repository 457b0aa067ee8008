/**
 * A lock file holding its owner's pid, for "one at a time per folder" (repair, GitHub push).
 * The pid is written to a private file first and then `link()`ed into place, so a lock is
 * never seen without its pid; a lock whose process no longer runs is taken over; private
 * files of processes killed between writing and linking are cleaned up.
 */

import * as fs from 'fs';
import * as path from 'path';

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
    for (const n of fs.readdirSync(dir)) {
      const m = re.exec(n);
      if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) fs.rmSync(path.join(dir, n), { force: true });
    }
  } catch {
    // unreadable folder: the attempt below reports it
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const tmp = `${file}.${process.pid}.${attempt}`;
    fs.writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
      return {
        release: () => {
          try {
            if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.rmSync(file, { force: true });
          } catch {
            // already gone
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(file, 'utf8').trim());
      } catch {
        continue; // removed meanwhile
      }
      // Our own pid counts as held: in the extension host two commands share one process.
      if (pidAlive(owner)) return { heldBy: owner };
      fs.rmSync(file, { force: true }); // stale: its process is gone
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}
