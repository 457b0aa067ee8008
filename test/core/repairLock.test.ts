/**
 * Repair under hermes-webui's own journal lock (issue 14 #15): a real Python writer that takes
 * `fcntl.flock(LOCK_EX)` on its shard around each append, as api/turn_journal.py does. Apply
 * waits for it or skips the session; it never decides "nothing was appended" while the writer
 * can still append, and never interleaves with it.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import { applyRepair, planRepair } from '../../src/core/repair';
import { holdFlocks } from '../../src/core/flock';
import { tempDir } from './helpers';

const T = 1762009200;
const NOW = T + 86_400;
const HAS_PYTHON = spawnSync('python3', ['-c', 'import fcntl'], { encoding: 'utf8' }).status === 0;

function evLine(turn: string, event: string, at: number): string {
  return JSON.stringify({
    event,
    stream_id: 'st',
    ...(event === 'submitted' ? { role: 'user', content: 'hello' } : {}),
    version: 1,
    session_id: 's1',
    turn_id: turn,
    created_at: at,
    ...(event === 'completed' ? { terminal: true } : {}),
  });
}

/** s1: one completed turn and one dangling turn t2 (repair adds a sidecar marker and an `interrupted`). */
function folder(): { dir: string; shard: string } {
  const dir = tempDir('bma-flock-');
  fs.mkdirSync(path.join(dir, '_turn_journal'));
  const shard = path.join(dir, '_turn_journal', 's1~100.jsonl');
  fs.writeFileSync(shard, [evLine('t1', 'submitted', T), evLine('t1', 'completed', T + 1), evLine('t2', 'submitted', T + 10)].join('\n') + '\n');
  const messages = [
    { role: 'user', content: 'hello' },
    { role: 'assistant', content: 'hi' },
    { role: 'user', content: 'hello' },
  ];
  fs.writeFileSync(path.join(dir, 's1.json'), JSON.stringify({ session_id: 's1', title: 'one', messages }));
  return { dir, shard };
}

/**
 * hermes-webui's append (api/turn_journal.py): open O_APPEND, flock(LOCK_EX) (blocking), write
 * the line, fsync, unlock. `hold` seconds between taking the lock and writing; `mark` is created
 * just before it asks for the lock.
 */
const WRITER = [
  'import fcntl, os, sys, time',
  'path, line, hold, mark = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]',
  'fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)',
  'with os.fdopen(fd, "a", encoding="utf-8") as fh:',
  '    open(mark, "w").close()',
  '    t = time.monotonic()',
  '    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)',
  '    print("locked %.3f" % (time.monotonic() - t), flush=True)',
  '    time.sleep(hold)',
  '    fh.write(line + "\\n")',
  '    fh.flush()',
  '    os.fsync(fh.fileno())',
  '    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)',
].join('\n');

function startWriter(shard: string, line: string, holdSeconds: number): { child: ChildProcess; mark: string; out: () => string; exited: Promise<void> } {
  const mark = path.join(tempDir('bma-flock-mark-'), 'asked');
  const child = spawn('python3', ['-c', WRITER, shard, line, String(holdSeconds), mark], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return { child, mark, out: () => out, exited };
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

(HAS_PYTHON ? describe : describe.skip)("repair under hermes-webui's journal lock", function () {
  this.timeout(60_000);

  it('waits while the writer holds the lock, then sees its append and skips (nothing written, no interleave)', async () => {
    const { dir, shard } = folder();
    const sidecarBefore = fs.readFileSync(path.join(dir, 's1.json'));
    const plan = await planRepair(dir, { now: NOW });
    assert.strictEqual(plan.sessions[0].appends.length, 1, 'the plan interrupts t2');
    const completion = evLine('t2', 'completed', T + 20);
    const w = startWriter(shard, completion, 0.7);
    await until(() => w.out().includes('locked'), 'the writer to hold its lock');
    const r = await applyRepair(plan, { lockTimeoutMs: 10_000 });
    await w.exited;
    const s = r.sessions[0];
    assert.strictEqual(s.status, 'skipped');
    // We got the lock only after the writer's append: the re-check saw it.
    assert.match(s.message!, /^the journal changed since the plan \(s1~100\.jsonl\); plan again$/);
    assert.ok(!fs.existsSync(path.join(dir, '_turn_journal', 's1~audit.jsonl')), 'no interrupted event was appended');
    assert.ok(fs.readFileSync(path.join(dir, 's1.json')).equals(sidecarBefore), 'the sidecar is untouched');
    assert.ok(fs.readFileSync(shard, 'utf8').endsWith(`\n${completion}\n`), "the writer's line is whole");
    // Planned again: t2 is answered, nothing is left to interrupt.
    const again = await planRepair(dir, { now: NOW });
    assert.deepStrictEqual(
      again.sessions.flatMap((x) => x.appends),
      [],
    );
  });

  it('skips with a clear message when the lock is not released in time', async () => {
    const { dir, shard } = folder();
    const plan = await planRepair(dir, { now: NOW });
    const w = startWriter(shard, evLine('t2', 'completed', T + 20), 3);
    try {
      await until(() => w.out().includes('locked'), 'the writer to hold its lock');
      const r = await applyRepair(plan, { lockTimeoutMs: 300 });
      assert.strictEqual(r.sessions[0].status, 'skipped');
      assert.match(
        r.sessions[0].message!,
        /^hermes-webui's journal lock on s1~100\.jsonl cannot be taken: another process holds its lock \(hermes-webui is writing to it\); nothing was written, retry later$/,
      );
      assert.ok(!fs.existsSync(path.join(dir, '_turn_journal', 's1~audit.jsonl')));
      const log = fs.readFileSync(path.join(dir, '_audit_repairs.jsonl'), 'utf8');
      assert.match(log, /"op":"skipped".*journal lock on s1~100\.jsonl cannot be taken/);
    } finally {
      w.child.kill('SIGKILL');
      await w.exited;
    }
  });

  it('a writer that asks for the lock during the repair waits until we are done, then appends whole', async () => {
    const { dir, shard } = folder();
    const plan = await planRepair(dir, { now: NOW });
    const planned = fs.statSync(shard).size;
    const completion = evLine('t2', 'completed', T + 20);
    let w: ReturnType<typeof startWriter> | null = null;
    let sizeAtAppend = -1;
    const r = await applyRepair(plan, {
      onStep: (step) => {
        if (step === 'sidecar:s1') {
          w = startWriter(shard, completion, 0);
          const end = Date.now() + 10_000;
          while (!fs.existsSync(w.mark) && Date.now() < end) sleepSync(10);
          sleepSync(200); // the writer is now blocked in flock(LOCK_EX)
        }
        if (step === 'append:s1') sizeAtAppend = fs.statSync(shard).size;
      },
    });
    assert.ok(w, 'the writer was started');
    const writer = w as ReturnType<typeof startWriter>;
    await writer.exited;
    assert.strictEqual(r.sessions[0].status, 'applied', r.sessions[0].message);
    assert.strictEqual(sizeAtAppend, planned, 'nothing reached their shard while we held the lock');
    const waited = Number(/locked (\d+\.\d+)/.exec(writer.out())![1]);
    assert.ok(waited > 0.1, `the writer waited for our lock (${waited}s)`);
    assert.ok(fs.readFileSync(shard, 'utf8').endsWith(`\n${completion}\n`), "the writer's line is whole, after ours");
    const own = fs.readFileSync(path.join(dir, '_turn_journal', 's1~audit.jsonl'), 'utf8');
    assert.strictEqual(own.split('\n').filter(Boolean).length, 1);
    assert.match(own, /^\{.*"event":"interrupted".*\}\n$/);
  });

  it('an append between plan and apply (lock free) makes apply skip with "plan again"; a new plan has nothing to interrupt', async () => {
    const { dir, shard } = folder();
    const plan = await planRepair(dir, { now: NOW });
    const w = startWriter(shard, evLine('t2', 'completed', T + 20), 0);
    await w.exited;
    const r = await applyRepair(plan);
    assert.strictEqual(r.sessions[0].status, 'skipped');
    assert.strictEqual(r.sessions[0].message, 'the journal changed since the plan (s1~100.jsonl); plan again');
    assert.deepStrictEqual(
      (await planRepair(dir, { now: NOW })).sessions.flatMap((x) => x.appends),
      [],
    );
  });

  it('releases every lock when done (the writer gets it at once); a FIFO among the files is refused, not opened blocking', async () => {
    const { dir, shard } = folder();
    const r = await applyRepair(await planRepair(dir, { now: NOW }));
    assert.strictEqual(r.sessions[0].status, 'applied', r.sessions[0].message);
    const w = startWriter(shard, evLine('t3', 'submitted', T + 30), 0);
    await w.exited;
    assert.ok(Number(/locked (\d+\.\d+)/.exec(w.out())![1]) < 0.5);
    const fifo = path.join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const lock = await holdFlocks([shard, fifo], 200);
    assert.ok('error' in lock && lock.file === fifo && /not a regular file/.test(lock.error), JSON.stringify(lock));
  });
});
