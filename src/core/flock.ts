/**
 * `flock(2)` from Node, which has none: hermes-webui's writer takes `flock(LOCK_EX)` around each
 * journal append (api/turn_journal.py), so a rewrite of its shard must hold the same lock.
 * A tiny python3 helper opens the file (no symbolic link followed), takes
 * `fcntl.flock(LOCK_EX | LOCK_NB)` (retrying until the timeout), says "locked", and holds the
 * lock until we close its stdin. flock locks belong to the open file description, so the lock
 * is on the inode the helper opened: after our atomic rename, writers that opened the old
 * inode wait for it. python3 is what hermes-webui itself runs on; without it the caller is told
 * and does nothing.
 */

import { spawn } from 'child_process';

const HELPER = [
  'import fcntl, os, sys, time',
  'fd = os.open(sys.argv[1], os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))',
  'deadline = time.monotonic() + float(sys.argv[2])',
  'while True:',
  '    try:',
  '        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)',
  '        break',
  '    except BlockingIOError:',
  '        if time.monotonic() > deadline:',
  '            print("busy", flush=True)',
  '            sys.exit(3)',
  '        time.sleep(0.02)',
  'print("locked", flush=True)',
  'sys.stdin.read()',
].join('\n');

export interface HeldLock {
  /** Releases the lock (the helper exits); resolves when it has. */
  release(): Promise<void>;
}

/** Takes `flock(LOCK_EX)` on `file` (waiting up to `timeoutMs`); an error message when it cannot. */
export function holdFlock(file: string, timeoutMs = 1000): Promise<HeldLock | { error: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: HeldLock | { error: string }) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    let child;
    try {
      child = spawn('python3', ['-c', HELPER, file, String(timeoutMs / 1000)], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      done({ error: `python3 is needed to take hermes-webui's file lock: ${(e as Error).message}` });
      return;
    }
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('locked')) {
        done({
          release: async () => {
            child.stdin.end();
            await exited;
          },
        });
      } else if (out.includes('busy')) done({ error: 'another process holds its lock (hermes-webui is writing to it)' });
    });
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.on('error', (e) => done({ error: `python3 is needed to take hermes-webui's file lock: ${e.message}` }));
    child.on('exit', (code) =>
      done({
        error:
          code === 3 ? 'another process holds its lock (hermes-webui is writing to it)' : `the lock helper failed: ${errText.trim().split('\n').pop() ?? code}`,
      }),
    );
  });
}
