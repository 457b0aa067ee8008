import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { auditFolder, reachesThreshold } from '../../src/core/audit';
import { discoverSessions } from '../../src/core/discovery';
import {
  BACKUP_DIR_NAME,
  LOCK_NAME,
  RepairBusyError,
  SidecarEditError,
  acquireRepairLock,
  appendSidecarMessages,
  applyRepair,
  auditShardName,
  hasWork,
  loadKnownReviews,
  loadSession,
  markCollisionReviewed,
  markReviewedFindings,
  planIsEmpty,
  planRepair,
  pruneBackups,
  readRepairLog,
  repairLogPath,
  undoLastRepair,
  type RepairPlan,
} from '../../src/core/repair';
import { FIXED_NOW, PyFloat, pyJsonDumps, type PyJsonValue } from '../support/fixtures';
import { HAS_PYTHON, runUpstreamReader, snapshotFiles, writeRepairFixture } from '../support/repairFixtures';
import { ev, line, sessionsDir, tempDir, T0 } from './helpers';

const NOW = FIXED_NOW;

function fixture(): string {
  const dir = tempDir('bma-repair-');
  writeRepairFixture(dir);
  return dir;
}

const plan = (dir: string, o: { sessionId?: string; now?: number } = {}): Promise<RepairPlan> => planRepair(dir, { now: NOW, ...o });

function otherShards(files: Map<string, Buffer>): Map<string, Buffer> {
  return new Map([...files].filter(([k]) => k.startsWith('_turn_journal') && !k.endsWith('~audit.jsonl')));
}

describe('repair: sidecar edit', () => {
  const base = (messages: PyJsonValue[]): Map<string, PyJsonValue> =>
    new Map<string, PyJsonValue>([
      ['session_id', 's1'],
      ['title', 'Café ☕ «quoted» \u2028 line'],
      ['created_at', new PyFloat(1763661600)],
      ['updated_at', new PyFloat(1763661601.25)],
      ['message_count', messages.length],
      ['messages', messages],
      ['tool_calls', []],
      ['unknown_field', { nested: [1, new PyFloat(2), 'x'] }],
    ]);
  const m1 = { role: 'user', content: 'hi', timestamp: 1763661600 };
  const add = [
    { role: 'user', content: 'Ünï "q" \\ \n next', timestamp: 1763661700, attachments: ['a.txt'], _recovered: true },
    { role: 'assistant', content: '**Response interrupted.**', timestamp: 1763661800, _error: true, type: 'interrupted', interruption_cause: 'audit_repair' },
  ];

  it('appends messages byte-for-byte as Python json.dumps(indent=2, ensure_ascii=False) would write them', () => {
    const before = pyJsonDumps(base([m1]), { indent: 2 });
    const after = appendSidecarMessages(before, add);
    assert.strictEqual(after.text, pyJsonDumps(base([m1, ...add]), { indent: 2 }).replace('"message_count": 1', '"message_count": 3'));
    assert.ok(after.text.includes('1763661600.0'), 'float lexemes of untouched fields are kept');
    assert.strictEqual(after.messageCount, 3);
  });

  it('fills an empty messages list and keeps a compact file compact', () => {
    const empty = pyJsonDumps(base([]), { indent: 2 });
    assert.strictEqual(appendSidecarMessages(empty, add).text, pyJsonDumps(base(add), { indent: 2 }).replace('"message_count": 0', '"message_count": 2'));
    const compact = JSON.stringify({ title: 't', messages: [m1] });
    const out = appendSidecarMessages(compact, add.slice(0, 1)).text;
    assert.deepStrictEqual(JSON.parse(out), { title: 't', messages: [m1, add[0]] });
    assert.ok(!out.includes('\n'));
  });

  it('refuses a sidecar without a messages list or that is not JSON', () => {
    assert.throws(() => appendSidecarMessages('{"title": "x"}', add), SidecarEditError);
    assert.throws(() => appendSidecarMessages('{"messages": [', add), SidecarEditError);
    assert.throws(() => appendSidecarMessages('[]', add), SidecarEditError);
  });
});

describe('repair: plan', () => {
  it('plans sidecar messages and events for dangling turns, recovers glued events, reviews broken lines, leaves collisions and live turns', async () => {
    const dir = fixture();
    const p = await plan(dir);
    const by = new Map(p.sessions.map((s) => [s.sessionId, s]));
    assert.ok(!by.has('healthy6'));
    const d = by.get('dangling1')!;
    assert.deepStrictEqual(
      d.messages.map((m) => m.kind),
      ['recovered_user_message', 'interruption_marker', 'recovered_user_message', 'interruption_marker'],
    );
    assert.deepStrictEqual(d.messages[0].message, {
      role: 'user',
      content: 'Ünïcödé question — never answered ✓',
      timestamp: d.messages[0].message.timestamp,
      attachments: ['notes.txt'],
      _recovered: true,
    });
    assert.strictEqual(d.messages[1].message._error, true);
    assert.strictEqual(d.messages[1].message.type, 'interrupted');
    assert.ok(!/answer:/i.test(String(d.messages[1].message.content)));
    assert.deepStrictEqual(
      d.appends.map((a) => a.kind),
      ['interrupted_event', 'interrupted_event'],
    );
    const ev0 = JSON.parse(d.appends[0].line);
    assert.deepStrictEqual(Object.keys(ev0), ['event', 'stream_id', 'reason', 'version', 'session_id', 'turn_id', 'created_at', 'terminal']);
    assert.deepStrictEqual([ev0.event, ev0.reason, ev0.terminal, ev0.created_at, ev0.session_id], ['interrupted', 'audit_repair', true, NOW, 'dangling1']);
    const g = by.get('glued2')!;
    // The torn turn's `completed` was cut off, but the sidecar holds its answer: it is closed as
    // completed, never marked interrupted (issue 13).
    assert.deepStrictEqual(
      g.appends.map((a) => [a.kind, a.event]),
      [
        ['recovered_event', 'completed'],
        ['completed_event', 'completed'],
      ],
    );
    assert.strictEqual(g.messages.length, 0);
    assert.match(g.appends[1].evidence!.join(' '), /assistant reply/);
    assert.deepStrictEqual(
      g.reviews.map((r) => r.kind),
      ['malformed_line', 'torn_tail'],
    );
    const c = by.get('collide3')!;
    assert.strictEqual(c.human.length, 1);
    assert.strictEqual(c.appends.length + c.messages.length, 0);
    assert.deepStrictEqual(
      c.reviews.map((r) => r.kind),
      ['malformed_line', 'malformed_line'],
    );
    for (const sid of ['live4', 'stale5']) {
      const s = by.get(sid)!;
      assert.ok(!hasWork(s), sid);
      assert.strictEqual(s.skipped.length, 1);
      assert.ok(s.skipped[0].retry);
    }
  });

  async function single(files: Record<string, string>, sidecar: unknown, now = T0 + 86400): Promise<RepairPlan['sessions'][number] | undefined> {
    const { dir, journal } = sessionsDir();
    for (const [n, c] of Object.entries(files)) fs.writeFileSync(path.join(journal, n), c);
    if (sidecar !== undefined) fs.writeFileSync(path.join(dir, 'sess.json'), JSON.stringify(sidecar, null, 2));
    return (await planRepair(dir, { now })).sessions[0];
  }
  const sc = (extra: Record<string, unknown> = {}) => ({ session_id: 'sess', messages: [{ role: 'user', content: 'question t1', timestamp: T0 }], ...extra });
  const open = line(ev('submitted', 't1', T0)) + line(ev('worker_started', 't1', T0 + 1));

  it('does nothing for a turn that is open but not stale yet; a turn without a usable created_at is aged by its file mtime', async () => {
    assert.strictEqual(await single({ 'sess~1.jsonl': open }, sc(), T0 + 60), undefined);
    const unknown = line(ev('submitted', 't1', 'yesterday'));
    // Its file was written just now: it may still be running.
    assert.strictEqual(await single({ 'sess~1.jsonl': unknown }, sc(), Date.now() / 1000), undefined);
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), unknown);
    fs.writeFileSync(path.join(dir, 'sess.json'), JSON.stringify({ session_id: 'sess', messages: [] }));
    fs.utimesSync(path.join(journal, 'sess~1.jsonl'), T0, T0);
    const s = (await planRepair(dir, { now: T0 + 86400 })).sessions[0];
    assert.deepStrictEqual(
      s.messages.map((m) => m.kind),
      ['recovered_user_message', 'interruption_marker'],
    );
    assert.match(String(s.messages[1].message.content), /last activity before 2026-01-01 00:00 UTC/);
  });

  it('never closes a turn whose terminal event is timed before its latest event (would collide)', async () => {
    const s = (await single({ 'sess~1.jsonl': open + line(ev('completed', 't1', T0 + 0.5)) }, sc()))!;
    assert.ok(!hasWork(s));
    assert.match(s.skipped[0].reason, /collision/);
  });

  it('skips a turn whose pending_user_message is set, and sessions without a usable sidecar', async () => {
    assert.match((await single({ 'sess~1.jsonl': open }, sc({ pending_user_message: 'question t1' })))!.skipped[0].reason, /live/);
    assert.match((await single({ 'sess~1.jsonl': open }, undefined))!.skipped[0].reason, /no sidecar/);
    assert.match((await single({ 'sess~1.jsonl': open }, '{"messages": 3'))!.skipped[0].reason, /cannot be used/);
  });

  it('does not recover a glued terminal event into a turn that already has one, nor one already present', async () => {
    const completed = JSON.stringify(ev('completed', 't1', T0 + 5));
    const torn = JSON.stringify(ev('assistant_started', 't1', T0 + 2)).slice(0, 30);
    const s = (await single(
      { 'sess~1.jsonl': open + torn + completed + '\n', 'sess~2.jsonl': line(ev('interrupted', 't1', T0 + 4, { reason: 'cancelled' })) },
      sc(),
    ))!;
    assert.strictEqual(s.appends.length, 0);
    assert.match(s.skipped[0].reason, /terminal collision/);
    const s2 = (await single({ 'sess~1.jsonl': open + torn + completed + '\n', 'sess~audit.jsonl': completed + '\n' }, sc()))!;
    assert.strictEqual(s2.appends.length, 0);
    assert.strictEqual(s2.skipped.length, 0);
  });

  it('escapes U+2028/U+2029/U+0085 in lines it writes so upstream splitlines() keeps them whole', async () => {
    const completed = JSON.stringify(ev('completed', 't1', T0 + 5, { note: 'a\u2028b\u0085c' }));
    const torn = JSON.stringify(ev('assistant_started', 't1', T0 + 2)).slice(0, 30);
    const s = (await single({ 'sess~1.jsonl': open + torn + completed + '\n' }, sc()))!;
    assert.strictEqual(s.appends.length, 1);
    assert.ok(!/[\u2028\u0085]/.test(s.appends[0].line));
    assert.strictEqual(JSON.parse(s.appends[0].line).note, 'a\u2028b\u0085c');
  });
});

describe('repair: apply', function () {
  this.timeout(20000);

  it('repairs, never touches other shards, keeps sidecars valid, and a second run plans nothing', async () => {
    const dir = fixture();
    const before = snapshotFiles(dir);
    const upBefore = HAS_PYTHON ? runUpstreamReader(dir) : null;
    const p = await plan(dir);
    const r = await applyRepair(p);
    assert.ok(r.repairId);
    assert.deepStrictEqual(
      r.sessions.map((s) => [s.sessionId, s.status]),
      [
        ['collide3', 'applied'],
        ['dangling1', 'applied'],
        ['glued2', 'applied'],
      ],
    );
    const after = snapshotFiles(dir);
    assert.deepStrictEqual(otherShards(after), otherShards(before));
    for (const [k, v] of after) if (/^[^/]+\.json$/.test(k)) JSON.parse(v.toString('utf8'));
    // The sidecar: the old object plus the planned messages at the end, message_count updated.
    const oldSc = JSON.parse(before.get('dangling1.json')!.toString());
    const newSc = JSON.parse(after.get('dangling1.json')!.toString());
    const d = p.sessions.find((s) => s.sessionId === 'dangling1')!;
    assert.deepStrictEqual(newSc, { ...oldSc, message_count: oldSc.messages.length + 4, messages: [...oldSc.messages, ...d.messages.map((m) => m.message)] });
    assert.ok(!after.has('collide3.json') || after.get('collide3.json')!.equals(before.get('collide3.json')!));
    // Backup of each changed sidecar, byte-identical to the original.
    assert.ok(after.get(path.join(BACKUP_DIR_NAME, r.repairId!, 'dangling1.json'))!.equals(before.get('dangling1.json')!));
    // Our shard holds exactly the planned lines.
    assert.strictEqual(
      after.get(path.join('_turn_journal', auditShardName('glued2')))!.toString(),
      p.sessions
        .find((s) => s.sessionId === 'glued2')!
        .appends.map((a) => a.line + '\n')
        .join(''),
    );
    // Idempotent.
    const again = await plan(dir);
    assert.ok(planIsEmpty(again), JSON.stringify(again.sessions.filter(hasWork)));
    assert.strictEqual((await applyRepair(again)).repairId, null);
    // Our audit: no dangling or pending turn left in repaired sessions; line findings known.
    const audit = await auditFolder(dir, { now: NOW });
    for (const s of audit.sessions.filter((x) => ['dangling1', 'glued2'].includes(x.session_id))) {
      assert.ok(!s.findings.some((f) => f.kind === 'dangling_turn' || f.kind === 'pending_turn'), s.session_id);
    }
    const disc = await discoverSessions(dir);
    const glued = await loadSession(
      dir,
      disc.sessions.find((s) => s.sessionId === 'glued2')!,
      { now: NOW, staleAfterMinutes: 60 },
    );
    assert.ok(markReviewedFindings(glued.analysis, loadKnownReviews(dir)) >= 3);
    assert.ok(
      glued.analysis.findings.filter((f) => ['malformed_line', 'torn_tail', 'glued_event'].includes(f.kind) && f.severity === 'error').every((f) => f.reviewed),
    );
    if (upBefore) {
      const up = runUpstreamReader(dir);
      for (const sid of ['dangling1', 'glued2']) {
        assert.deepStrictEqual(
          Object.entries(up[sid].states).filter(([, st]) => st !== 'completed' && st !== 'interrupted'),
          [],
          sid,
        );
        assert.deepStrictEqual(up[sid].collisions, upBefore[sid].collisions);
        assert.deepStrictEqual(up[sid].malformed, upBefore[sid].malformed);
      }
    }
  });

  it('skips a session whose sidecar or journal changed between plan and apply', async () => {
    const dir = fixture();
    const p = await plan(dir);
    const scPath = path.join(dir, 'dangling1.json');
    fs.writeFileSync(scPath, fs.readFileSync(scPath, 'utf8').replace('"title": "Two dangling turns"', '"title": "Renamed"'));
    fs.appendFileSync(path.join(dir, '_turn_journal', 'glued2~5100.jsonl'), line(ev('worker_started', 'zz', NOW)));
    const mid = snapshotFiles(dir);
    const r = await applyRepair(p);
    const by = new Map(r.sessions.map((s) => [s.sessionId, s]));
    assert.strictEqual(by.get('dangling1')!.status, 'skipped');
    assert.match(by.get('dangling1')!.message!, /sidecar .* changed/);
    assert.strictEqual(by.get('glued2')!.status, 'skipped');
    assert.match(by.get('glued2')!.message!, /journal changed/);
    const after = snapshotFiles(dir);
    assert.ok(after.get('dangling1.json')!.equals(mid.get('dangling1.json')!));
    assert.ok(!after.has(path.join('_turn_journal', 'dangling1~audit.jsonl')));
    assert.ok(!after.has(path.join('_turn_journal', 'glued2~audit.jsonl')));
  });

  it('drops a torn last line of its own shard (a killed append) and redoes the work', async () => {
    const dir = fixture();
    const p = await plan(dir, { sessionId: 'dangling1' });
    const own = path.join(dir, '_turn_journal', auditShardName('dangling1'));
    fs.writeFileSync(own, p.sessions[0].appends[0].line.slice(0, 40));
    const p2 = await plan(dir, { sessionId: 'dangling1' });
    assert.deepStrictEqual(p2.sessions[0].dropOwnTail, { offset: 0, size: 40 });
    await applyRepair(p2);
    assert.strictEqual(fs.readFileSync(own, 'utf8'), p2.sessions[0].appends.map((a) => a.line + '\n').join(''));
    assert.ok(planIsEmpty(await plan(dir)) === false); // other sessions still have work
    assert.strictEqual((await plan(dir, { sessionId: 'dangling1' })).sessions[0]?.appends.length ?? 0, 0);
  });
});

describe('repair: undo', function () {
  this.timeout(20000);

  it('restores sidecars and removes our lines byte-for-byte; the next undo walks back further', async () => {
    const dir = fixture();
    const before = snapshotFiles(dir);
    await applyRepair(await plan(dir, { sessionId: 'dangling1' }));
    await applyRepair(await plan(dir, { sessionId: 'glued2' }));
    const u1 = undoLastRepair(dir);
    assert.strictEqual(u1.status, 'undone', u1.message);
    // The repair created glued2~audit.jsonl: undo removes it instead of leaving 0 bytes.
    assert.ok(!fs.existsSync(path.join(dir, '_turn_journal', 'glued2~audit.jsonl')));
    assert.ok(fs.readFileSync(path.join(dir, 'glued2.json')).equals(before.get('glued2.json')!));
    assert.notStrictEqual(fs.readFileSync(path.join(dir, 'dangling1.json')).length, before.get('dangling1.json')!.length);
    assert.strictEqual(undoLastRepair(dir).status, 'undone');
    assert.ok(fs.readFileSync(path.join(dir, 'dangling1.json')).equals(before.get('dangling1.json')!));
    assert.deepStrictEqual(
      [...snapshotFiles(dir).keys()].filter((k) => k.startsWith('_turn_journal')).sort(),
      [...before.keys()].filter((k) => k.startsWith('_turn_journal')).sort(),
    );
    assert.strictEqual(undoLastRepair(dir).status, 'nothing');
    // The reviews of undone repairs no longer count: the plan is the original one again.
    const again = await plan(dir);
    assert.deepStrictEqual(
      again.sessions.filter(hasWork).map((s) => s.sessionId),
      ['collide3', 'dangling1', 'glued2'],
    );
  });

  it('refuses, changing nothing, when a file changed since the repair', async () => {
    const dir = fixture();
    await applyRepair(await plan(dir, { sessionId: 'dangling1' }));
    const scPath = path.join(dir, 'dangling1.json');
    fs.writeFileSync(scPath, fs.readFileSync(scPath, 'utf8').replace('"title": "Two dangling turns"', '"title": "Saved by upstream"'));
    const mid = snapshotFiles(dir);
    const u = undoLastRepair(dir);
    assert.strictEqual(u.status, 'refused');
    assert.match(u.message, /dangling1\.json changed since the repair/);
    const after = snapshotFiles(dir);
    after.delete('_audit_repairs.jsonl');
    mid.delete('_audit_repairs.jsonl');
    assert.deepStrictEqual(after, mid);
  });

  it("refuses when our shard no longer ends with the repair's lines", async () => {
    const dir = fixture();
    await applyRepair(await plan(dir, { sessionId: 'dangling1' }));
    fs.appendFileSync(path.join(dir, '_turn_journal', 'dangling1~audit.jsonl'), line(ev('worker_started', 'x', NOW)));
    assert.strictEqual(undoLastRepair(dir).status, 'refused');
  });
});

describe('repair: log, backups, lock, reviews', function () {
  this.timeout(20000);

  it('keeps the backups of the last 14 repairs', () => {
    const { dir } = sessionsDir();
    for (let i = 0; i < 17; i++) fs.mkdirSync(path.join(dir, BACKUP_DIR_NAME, `20260101T0000${String(i).padStart(2, '0')}000Z-aaaaaa`), { recursive: true });
    assert.strictEqual(pruneBackups(dir).length, 3);
    const left = fs.readdirSync(path.join(dir, BACKUP_DIR_NAME)).sort();
    assert.strictEqual(left.length, 14);
    assert.strictEqual(left[0], '20260101T000003000Z-aaaaaa');
  });

  it('reads a log with a torn last line, and the next record is not glued onto it', async () => {
    const dir = fixture();
    await applyRepair(await plan(dir, { sessionId: 'dangling1' }));
    fs.appendFileSync(repairLogPath(dir), '{"op":"begin","repair_id":"x');
    const n = readRepairLog(dir).length;
    await applyRepair(await plan(dir, { sessionId: 'glued2' }));
    const records = readRepairLog(dir);
    assert.ok(records.length > n);
    assert.strictEqual(records[records.length - 1].op, 'done');
  });

  it('takes over a lock left by a dead process, refuses one held by a live process', async () => {
    const { dir } = sessionsDir();
    fs.writeFileSync(path.join(dir, LOCK_NAME), '999999999\n');
    const release = acquireRepairLock(dir);
    release();
    assert.ok(!fs.existsSync(path.join(dir, LOCK_NAME)));
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
    try {
      fs.writeFileSync(path.join(dir, LOCK_NAME), `${child.pid}\n`);
      assert.throws(() => acquireRepairLock(dir), RepairBusyError);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a collision marked reviewed with a note shows as known and no longer fails the audit', async () => {
    const dir = fixture();
    const p = await plan(dir, { sessionId: 'collide3' });
    const turnId = p.sessions[0].human[0].turnId;
    await assert.rejects(markCollisionReviewed(dir, { sessionId: 'collide3', turnId, note: '  ' }), /needs a note/);
    await assert.rejects(markCollisionReviewed(dir, { sessionId: 'collide3', turnId: 'nope', note: 'x' }), /no turn/);
    await markCollisionReviewed(dir, { sessionId: 'collide3', turnId, note: 'provider retried; the completed answer is right', reviewer: 'ana' });
    const p2 = await plan(dir, { sessionId: 'collide3' });
    assert.deepStrictEqual(p2.sessions[0].human[0].reviewed?.note, 'provider retried; the completed answer is right');
    await applyRepair(p2); // reviews the garbage lines
    const disc = await discoverSessions(dir);
    const { analysis } = await loadSession(
      dir,
      disc.sessions.find((s) => s.sessionId === 'collide3')!,
      { now: NOW, staleAfterMinutes: 60 },
    );
    markReviewedFindings(analysis, loadKnownReviews(dir));
    const coll = analysis.findings.filter((f) => f.kind === 'terminal_collision');
    assert.strictEqual(coll.length, 2);
    assert.ok(coll.every((f) => f.reviewed?.by === 'ana'));
    const report = await auditFolder(dir, { now: NOW, sessionId: 'collide3' });
    assert.ok(reachesThreshold(report, 'warning'), 'without the review flags the report still fails');
  });
});

describe('repair: the session index shows reviewed findings as known', function () {
  this.timeout(20000);
  it('summaries stop counting reviewed findings once the repair log records them, and count them again after undo', async () => {
    const { SessionIndex } = await import('../../src/core/sessionIndex');
    const dir = fixture();
    const index = new SessionIndex({ now: () => NOW });
    await index.setRoots([{ sessionsDir: dir, source: 'other' }]);
    const root = index.roots()[0].id;
    const before = (await index.summarize(root, 'collide3'))!;
    assert.ok(before.findings.error >= 2);
    assert.strictEqual(before.reviewedFindings, undefined);
    await applyRepair(await plan(dir, { sessionId: 'collide3' }));
    const after = (await index.summarize(root, 'collide3'))!;
    assert.strictEqual(after.reviewedFindings, 2);
    assert.strictEqual(after.findings.error, before.findings.error - 2);
    assert.ok(after.lineFindings.filter((f) => f.kind === 'malformed_line').every((f) => f.reviewed && /left as is/.test(f.reviewed.note)));
    undoLastRepair(dir);
    const undone = (await index.summarize(root, 'collide3'))!;
    assert.strictEqual(undone.reviewedFindings, undefined);
    assert.strictEqual(undone.findings.error, before.findings.error);
    index.dispose();
  });
});

describe('repair: lock leftovers', () => {
  it('removes the private lock files of killed processes', () => {
    const { dir } = sessionsDir();
    const stray = path.join(dir, `${LOCK_NAME}.999999999.0`);
    fs.writeFileSync(stray, '999999999\n');
    acquireRepairLock(dir)();
    assert.ok(!fs.existsSync(stray));
    assert.deepStrictEqual(
      fs.readdirSync(dir).filter((n) => n.startsWith(LOCK_NAME)),
      [],
    );
  });
});
