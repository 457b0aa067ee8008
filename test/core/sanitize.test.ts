/**
 * "Make Readable for hermes-webui" (repair --sanitize): on a session upstream's own writer left
 * unreadable (a crash cut a multi-byte character), only idle shards, upstream's flock held during
 * the swap, undecodable lines moved byte for byte, upstream's reader reads the session afterwards,
 * undo restores the original bytes exactly.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { applySanitize, planSanitize, undecodableLines } from '../../src/core/repair/sanitize';
import { undoLastRepair } from '../../src/core/repair/undo';
import { undoLastRepairLocked } from '../../src/core/repair/undoLocked';
import { mechanismScenario, runWriterModel } from '../support/fixtures/mechanisms';
import { HAS_PYTHON, runUpstreamReader } from '../support/upstreamReader';
import { tempDir } from './helpers';

const T0 = 1763600000;

function corpus(): { dir: string; shard: string } {
  const dir = tempDir();
  runWriterModel(dir, mechanismScenario(T0, 0).steps);
  const shard = path.join(dir, '_turn_journal', 'dropped0~1.jsonl');
  for (const f of fs.readdirSync(path.join(dir, '_turn_journal'))) fs.utimesSync(path.join(dir, '_turn_journal', f), T0, T0);
  return { dir, shard };
}

describe('repair --sanitize (Make Readable for hermes-webui)', function () {
  this.timeout(60_000);
  before(function () {
    if (!HAS_PYTHON) this.skip(); // the flock helper and upstream's reader need python3
  });

  it('moves the undecodable lines aside; upstream reads the session; undo restores the bytes exactly', async () => {
    const { dir, shard } = corpus();
    const original = fs.readFileSync(shard);
    assert.match(runUpstreamReader(dir).sessions.dropped0.error ?? '', /UnicodeDecodeError/);
    const plan = await planSanitize(dir);
    assert.deepStrictEqual(
      plan.shards.map((s) => [s.shard, s.skip, s.lines.length]),
      [['dropped0~1.jsonl', null, 1]],
    );
    const bad = plan.shards[0].lines[0];
    const res = await applySanitize(plan, { settleMs: 50 });
    assert.strictEqual(res.shards[0].status, 'sanitized', res.shards[0].message);
    const after = fs.readFileSync(shard);
    assert.deepStrictEqual(undecodableLines(after), []);
    // every other line kept byte for byte; the bad one moved byte for byte, offsets recorded
    assert.ok(after.equals(Buffer.concat([original.subarray(0, bad.offset), original.subarray(bad.offset + bad.length)])));
    assert.ok(fs.readFileSync(path.join(dir, '_audit_quarantine', 'dropped0~1.jsonl')).equals(original.subarray(bad.offset, bad.offset + bad.length)));
    const offsets = JSON.parse(fs.readFileSync(path.join(dir, '_audit_quarantine', 'dropped0~1.jsonl.offsets.jsonl'), 'utf8'));
    assert.deepStrictEqual(offsets.lines, [bad]);
    const up = runUpstreamReader(dir).sessions.dropped0;
    assert.strictEqual(up.error, undefined, 'upstream reads the session without raising');
    assert.ok(up.event_count > 0);
    const u = undoLastRepair(dir);
    assert.strictEqual(u.status, 'undone', u.message);
    assert.ok(fs.readFileSync(shard).equals(original), 'undo restores the original bytes');
  });

  it('leaves alone a shard written recently, and one whose flock another process holds', async () => {
    const { dir, shard } = corpus();
    fs.utimesSync(shard, new Date(), new Date());
    assert.match((await planSanitize(dir)).shards[0].skip ?? '', /recently/);
    fs.utimesSync(shard, T0, T0);
    const holder = spawn('python3', [
      '-c',
      'import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print("held", flush=True); sys.stdin.read()',
      shard,
    ]);
    await new Promise<void>((r) => holder.stdout.once('data', () => r()));
    try {
      assert.match((await planSanitize(dir)).shards[0].skip ?? '', /lock/);
    } finally {
      holder.stdin.end();
      await new Promise((r) => holder.on('exit', r));
    }
    assert.strictEqual((await planSanitize(dir)).shards[0].skip, null);
  });

  it('carries over bytes a writer appended to the old inode while the shard was swapped', async () => {
    const { dir, shard } = corpus();
    const plan = await planSanitize(dir);
    // a writer like upstream's: opens the path (the old inode) now, waits for the flock, then appends
    const line = '{"event":"worker_started","stream_id":"late","version":1,"session_id":"dropped0","turn_id":"late","created_at":1763600100.0}\n';
    const writer = spawn('python3', [
      '-c',
      'import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_WRONLY|os.O_APPEND); print("open", flush=True); sys.stdin.readline(); fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, sys.argv[2].encode()); fcntl.flock(fd, fcntl.LOCK_UN)',
      shard,
      line,
    ]);
    const writerExited = new Promise((r) => writer.on('exit', r));
    await new Promise<void>((r) => writer.stdout.once('data', () => r()));
    const applying = applySanitize(plan, {
      settleMs: 1500,
      onStep: (s) => {
        if (s.startsWith('log-sanitize')) writer.stdin.write('go\n'); // it blocks on our flock until the swap is done
      },
    });
    const res = await applying;
    await writerExited;
    assert.strictEqual(res.shards[0].carried, Buffer.byteLength(line));
    assert.ok(fs.readFileSync(shard).toString('utf8').endsWith(line), 'the late line is in the new shard');
    assert.deepStrictEqual(undecodableLines(fs.readFileSync(shard)), []);
  });

  it("undo holds upstream's flock too: refused while a writer holds it; a line appended meanwhile is kept", async () => {
    const { dir, shard } = corpus();
    const original = fs.readFileSync(shard);
    assert.strictEqual((await applySanitize(await planSanitize(dir), { settleMs: 50 })).shards[0].status, 'sanitized');
    const sanitized = fs.readFileSync(shard);
    const holder = spawn('python3', [
      '-c',
      'import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); fcntl.flock(fd, fcntl.LOCK_EX); print("held", flush=True); sys.stdin.read()',
      shard,
    ]);
    await new Promise<void>((r) => holder.stdout.once('data', () => r()));
    const refused = await undoLastRepairLocked(dir);
    holder.stdin.end();
    await new Promise((r) => holder.on('exit', r));
    assert.strictEqual(refused.status, 'refused');
    assert.match(refused.message, /upstream's lock cannot be taken/);
    assert.ok(fs.readFileSync(shard).equals(sanitized), 'nothing written');
    // a writer like upstream's opens the sanitized shard, then waits for the flock the undo holds
    const line = '{"event":"worker_started","stream_id":"late2","version":1,"session_id":"dropped0","turn_id":"late2","created_at":1763600200.0}\n';
    const writer = spawn('python3', [
      '-c',
      'import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_WRONLY|os.O_APPEND); print("open", flush=True); sys.stdin.readline(); fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, sys.argv[2].encode()); fcntl.flock(fd, fcntl.LOCK_UN)',
      shard,
      line,
    ]);
    const writerExited = new Promise((r) => writer.on('exit', r));
    await new Promise<void>((r) => writer.stdout.once('data', () => r()));
    const u = await undoLastRepairLocked(dir, {
      settleMs: 1500,
      onStep: (x) => {
        if (x === 'undo_begin') writer.stdin.write('go\n');
      },
    });
    await writerExited;
    assert.strictEqual(u.status, 'undone', u.message);
    assert.match(u.message, /appended during the undo were kept/);
    assert.ok(fs.readFileSync(shard).equals(Buffer.concat([original, Buffer.from(line)])), 'original bytes, then the late line');
  });
});
