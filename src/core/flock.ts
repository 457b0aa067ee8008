/**
 * `flock(2)` from Node, which has none: hermes-webui's writer takes `flock(LOCK_EX)` on its own
 * shard `<sid>~<pid>.jsonl` around each journal append (write + fsync, api/turn_journal.py
 * `_journal_file_lock`), so a rewrite of its shard, or a decision that no event was appended to
 * it, must hold the same lock.
 * A small python3 helper serves lock requests read from its stdin, one JSON line each: it opens
 * every file (read-only, non-blocking, no symbolic link followed, regular files only), takes
 * `fcntl.flock(LOCK_EX | LOCK_NB)` on all of them (retrying until the timeout; never blocking,
 * so it cannot deadlock with a writer) and answers "locked"; "unlock" closes them (which
 * releases the locks), and so does its exit when our end of the pipe closes (also when we are
 * killed). flock locks belong to the open file description, so a lock is on the inode the
 * helper opened: after our atomic rename, writers that opened the old inode wait for it. One
 * helper serves many requests (a repair locks each session's shards in turn), so python3
 * starts once. python3 is what hermes-webui itself runs on; without it the caller is told and
 * does nothing.
 */

import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';

const HELPER = [
  'import fcntl, json, os, stat, sys, time',
  'fds = []',
  'def unlock():',
  '    while fds:',
  '        os.close(fds.pop())',
  'def lock(files, timeout):',
  '    for i, f in enumerate(files):',
  '        try:',
  '            fd = os.open(f, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))',
  '        except OSError as e:',
  '            return "open %d %s" % (i, e.strerror)',
  '        fds.append(fd)',
  '        if not stat.S_ISREG(os.fstat(fd).st_mode):',
  '            return "open %d not a regular file" % i',
  '    deadline = time.monotonic() + timeout',
  '    for i, fd in enumerate(fds):',
  '        while True:',
  '            try:',
  '                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)',
  '                break',
  '            except BlockingIOError:',
  '                if time.monotonic() > deadline:',
  '                    return "busy %d" % i',
  '                time.sleep(0.01)',
  '    return "locked"',
  'print("ready", flush=True)',
  'for line in sys.stdin:',
  '    req = json.loads(line)',
  '    unlock()',
  '    if req["op"] == "lock":',
  '        answer = lock(req["files"], req["timeout"])',
  '        if answer != "locked":',
  '            unlock()',
  '    else:',
  '        answer = "unlocked"',
  '    print(answer, flush=True)',
].join('\n');

export interface HeldLock {
  /** Releases the lock; resolves when it has. */
  release(): Promise<void>;
}

export type LockAnswer = HeldLock | { error: string; file?: string };

const BUSY = 'another process holds its lock (hermes-webui is writing to it)';

/** One python3 helper serving lock requests in turn (one held set of locks at a time). */
export class FlockHelper {
  private child: ChildProcessWithoutNullStreams | null = null;
  private failed: string | null = null;
  private out = '';
  private waiting: ((line: string | null) => void) | null = null;
  private exited: Promise<void> = Promise.resolve();

  /** Takes `flock(LOCK_EX)` on every file of `files` (waiting up to `timeoutMs` in all); on failure nothing stays locked. */
  async lock(files: readonly string[], timeoutMs: number): Promise<LockAnswer> {
    if (files.length === 0) return { release: async () => undefined };
    if (!(await this.start())) return { error: this.failed! };
    const answer = await this.ask({ op: 'lock', files, timeout: timeoutMs / 1000 });
    if (answer === 'locked') return { release: async () => void (await this.ask({ op: 'unlock' })) };
    const m = /^(busy (\d+)|open (\d+) (.*))$/.exec(answer ?? '');
    if (m?.[2] !== undefined) return { error: BUSY, file: files[Number(m[2])] };
    if (m?.[3] !== undefined) return { error: `it cannot be opened: ${m[4]}`, file: files[Number(m[3])] };
    return { error: this.failed ?? `the lock helper failed: ${answer}` };
  }

  /** Ends the helper (releasing anything still locked); resolves when it has exited. */
  async close(): Promise<void> {
    this.child?.stdin.end();
    await this.exited;
    this.child = null;
  }

  private async start(): Promise<boolean> {
    if (this.child) return true;
    if (this.failed) return false;
    const noPython = (e: Error) => `python3 is needed to take hermes-webui's file lock: ${e.message}`;
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn('python3', ['-c', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      this.failed = noPython(e as Error);
      return false;
    }
    this.child = child;
    let errText = '';
    this.exited = new Promise<void>((r) => child.on('close', () => r()));
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    child.stdin.on('error', () => undefined); // the helper exited first (reported by 'close')
    child.on('error', (e) => {
      this.failed = noPython(e);
      this.answer(null);
    });
    child.on('close', (code) => {
      this.failed ??= `the lock helper failed: ${errText.trim().split('\n').pop() || `exit ${code}`}`;
      this.answer(null);
    });
    child.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      let nl;
      while ((nl = this.out.indexOf('\n')) !== -1) {
        const line = this.out.slice(0, nl);
        this.out = this.out.slice(nl + 1);
        this.answer(line);
      }
    });
    if ((await this.next()) === 'ready') return true;
    this.child = null;
    return false;
  }

  private answer(line: string | null): void {
    const w = this.waiting;
    this.waiting = null;
    w?.(line);
  }

  private next(): Promise<string | null> {
    if (this.failed) return Promise.resolve(null);
    return new Promise((r) => (this.waiting = r));
  }

  private ask(req: object): Promise<string | null> {
    const p = this.next();
    this.child?.stdin.write(JSON.stringify(req) + '\n');
    return p;
  }
}

/** Takes `flock(LOCK_EX)` on every file of `files` with a helper of its own (released with the locks). */
export async function holdFlocks(files: readonly string[], timeoutMs = 1000): Promise<LockAnswer> {
  const helper = new FlockHelper();
  const r = await helper.lock(files, timeoutMs);
  if ('error' in r) {
    await helper.close();
    return r;
  }
  return {
    release: async () => {
      await r.release();
      await helper.close();
    },
  };
}

/** Takes `flock(LOCK_EX)` on `file` (waiting up to `timeoutMs`); an error message when it cannot. */
export async function holdFlock(file: string, timeoutMs = 1000): Promise<HeldLock | { error: string }> {
  const r = await holdFlocks([file], timeoutMs);
  return 'error' in r ? { error: r.error } : r;
}
