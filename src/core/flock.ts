/**
 * `flock(2)` from Node, which has none: hermes-webui's writer takes `flock(LOCK_EX)` on its own
 * shard `<sid>~<pid>.jsonl` around each journal append (write + fsync, api/turn_journal.py
 * `_journal_file_lock`), so a rewrite of its shard, or a decision that no event was appended to
 * it, must hold the same lock.
 * A tiny python3 helper opens each file (read-only, non-blocking, no symbolic link followed,
 * regular files only), takes `fcntl.flock(LOCK_EX | LOCK_NB)` on all of them (retrying until the
 * timeout; never blocking, so it cannot deadlock with a writer), says "locked", and holds the
 * locks until we close its stdin. flock locks belong to the open file description, so a lock is
 * on the inode the helper opened: after our atomic rename, writers that opened the old inode
 * wait for it. python3 is what hermes-webui itself runs on; without it the caller is told and
 * does nothing.
 */

import { spawn } from 'child_process';

const HELPER = [
  'import fcntl, os, stat, sys, time',
  'timeout, files = float(sys.argv[1]), sys.argv[2:]',
  'fds = []',
  'for i, f in enumerate(files):',
  '    try:',
  '        fd = os.open(f, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))',
  '    except OSError as e:',
  '        print("open %d %s" % (i, e.strerror), flush=True)',
  '        sys.exit(4)',
  '    if not stat.S_ISREG(os.fstat(fd).st_mode):',
  '        print("open %d not a regular file" % i, flush=True)',
  '        sys.exit(4)',
  '    fds.append(fd)',
  'deadline = time.monotonic() + timeout',
  'for i, fd in enumerate(fds):',
  '    while True:',
  '        try:',
  '            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)',
  '            break',
  '        except BlockingIOError:',
  '            if time.monotonic() > deadline:',
  '                print("busy %d" % i, flush=True)',
  '                sys.exit(3)',
  '            time.sleep(0.01)',
  'print("locked", flush=True)',
  'sys.stdin.read()',
].join('\n');

export interface HeldLock {
  /** Releases the lock (the helper exits); resolves when it has. */
  release(): Promise<void>;
}

const BUSY = 'another process holds its lock (hermes-webui is writing to it)';

/** Takes `flock(LOCK_EX)` on `file` (waiting up to `timeoutMs`); an error message when it cannot. */
export async function holdFlock(file: string, timeoutMs = 1000): Promise<HeldLock | { error: string }> {
  const r = await holdFlocks([file], timeoutMs);
  return 'error' in r ? { error: r.error } : r;
}

/**
 * Takes `flock(LOCK_EX)` on every file of `files` in one helper (waiting up to `timeoutMs` in all).
 * On failure nothing stays locked, and `file` names the file that could not be locked or opened.
 */
export function holdFlocks(files: readonly string[], timeoutMs = 1000): Promise<HeldLock | { error: string; file?: string }> {
  if (files.length === 0) return Promise.resolve({ release: async () => undefined });
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: HeldLock | { error: string; file?: string }) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    const noPython = (e: Error) => done({ error: `python3 is needed to take hermes-webui's file lock: ${e.message}` });
    let child;
    try {
      child = spawn('python3', ['-c', HELPER, String(timeoutMs / 1000), ...files], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      noPython(e as Error);
      return;
    }
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(locked|busy (\d+)|open (\d+) (.*))\n/m.exec(out);
      if (!m) return;
      if (m[1] === 'locked') {
        done({
          release: async () => {
            child.stdin.end();
            await exited;
          },
        });
      } else if (m[2] !== undefined) done({ error: BUSY, file: files[Number(m[2])] });
      else done({ error: `it cannot be opened: ${m[4]}`, file: files[Number(m[3])] });
    });
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.stdin.on('error', () => undefined); // the helper exited first (reported by 'exit')
    child.on('error', noPython);
    // 'close', not 'exit': the helper's last line is read before its exit code is taken as the answer.
    child.on('close', (code) => done({ error: code === 3 ? BUSY : `the lock helper failed: ${errText.trim().split('\n').pop() ?? code}` }));
  });
}
