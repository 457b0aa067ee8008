import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  auditMemoryLedger,
  loadLedger,
  memoryReport,
  MemorySchemaError,
  projectionJson,
  sqlCompare,
  type MemoryAudit,
  type MemoryFinding,
} from '../../src/core/memory';
import { openDb } from '../../src/core/sqlite/engine';
import { BotDb, MT0, populateClean } from '../support/memoryFixtures';
import { tempDir } from './helpers';

const NOW = MT0 + 86400 * 30;

function kinds(a: MemoryAudit, severity?: string): string[] {
  return [...new Set(a.findings.filter((f) => !severity || f.severity === severity).map((f) => f.kind))].sort();
}

function only(a: MemoryAudit, kind: string): MemoryFinding[] {
  return a.findings.filter((f) => f.kind === kind);
}

function fresh(name = 'bot.db', options = {}): BotDb {
  return new BotDb(path.join(tempDir('bma-mem-'), name), options);
}

function sha(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('memory ledger: clean databases', () => {
  it('a clean database replays to exactly its table: no findings at all', () => {
    const b = fresh();
    const n = populateClean(b);
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(a.findings, []);
    assert.strictEqual(a.input.events.length, n);
    assert.strictEqual(a.replay.memories.size, 90);
    assert.deepStrictEqual(
      a.bots.map((x) => x.botId),
      ['bot-0', 'bot-1', 'bot-2'],
    );
    // The cap held: auto-pins were evicted, manual pins kept.
    for (const bot of a.bots) {
      assert.ok(bot.autoPinned > 0 && bot.manualPinned > 0, JSON.stringify(bot));
      assert.ok(bot.pinned >= 8, JSON.stringify(bot));
    }
    // The eviction path was exercised: some auto-pinned memories were later unpinned.
    const evicted = [...a.replay.memories.values()].filter((m) => m.significance === 3 && !m.pinned);
    assert.ok(evicted.length > 5, `only ${evicted.length} evictions`);
    assert.strictEqual(memoryReport(a).summary.findings.error, 0);
  });

  it('reads the file without writing, locking or leaving anything beside it', () => {
    const b = fresh();
    populateClean(b, { bots: 1, memoriesPerBot: 10 });
    b.close();
    const dir = path.dirname(b.file);
    const before = { files: fs.readdirSync(dir).sort(), hash: sha(b.file), mtime: fs.statSync(b.file).mtimeMs };
    fs.chmodSync(b.file, 0o444);
    auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), before.files);
    assert.strictEqual(sha(b.file), before.hash);
    assert.strictEqual(fs.statSync(b.file).mtimeMs, before.mtime);
  });

  it('WAL mode: commits that are only in the -wal file are read', () => {
    const b = fresh('live.db', { wal: true });
    populateClean(b, { bots: 2, memoriesPerBot: 10 });
    b.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const checkpointed = b.events;
    const late = b.write('bot-0', 'written after the last checkpoint');
    b.score(late, 3);
    const snap = path.join(path.dirname(b.file), 'copy', 'bot.db');
    b.copyOpenState(snap); // as the app leaves it while running: db + -wal
    b.close();
    assert.ok(fs.statSync(snap + '-wal').size > 0, 'the fixture has a non-empty -wal');
    // The main file alone does not hold the late commits …
    const mainOnly = path.join(path.dirname(b.file), 'mainonly.db');
    fs.copyFileSync(snap, mainOnly);
    const d = openDb(mainOnly);
    d.exec('PRAGMA locking_mode=EXCLUSIVE');
    assert.strictEqual(Number(d.get('SELECT COUNT(*) AS n FROM events')!.n), checkpointed);
    d.close();
    // … and the audit sees them, cleanly, without touching the -wal.
    const walHash = sha(snap + '-wal');
    const a = auditMemoryLedger(snap, { now: NOW });
    assert.strictEqual(a.input.wal, true);
    assert.strictEqual(a.input.events.length, b.events);
    const m = a.replay.memories.get(String(late))!;
    assert.strictEqual(m.text, 'written after the last checkpoint');
    assert.strictEqual(m.pinned && m.autoPinned, true);
    assert.deepStrictEqual(a.findings, []);
    assert.strictEqual(sha(snap + '-wal'), walHash);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(snap)).sort(), ['bot.db', 'bot.db-wal']);
  });
});

describe('memory ledger: planted violations', () => {
  /** Bot "b" with 8 auto-pins (memories 1..8), ready to go over the cap. */
  function eightAutoPins(b: BotDb): number[] {
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) {
      const id = b.write('b', `m${i}`);
      b.score(id, 3);
      ids.push(id);
    }
    return ids;
  }

  it('pin_cap_exceeded: an auto-pin takes a bot over 8 and nothing is evicted', () => {
    const b = fresh();
    eightAutoPins(b);
    const id = b.write('b', 'ninth');
    b.score(id, 3, { evict: 'none' });
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['pin_cap_exceeded']);
    const f = only(a, 'pin_cap_exceeded')[0];
    assert.strictEqual(f.severity, 'error');
    assert.strictEqual(f.sessionId, 'b');
    assert.strictEqual(f.memoryId, String(id));
    assert.match(f.message, /9 pins \(cap 8\).*oldest auto-pin \(memory 1\)/);
  });

  it('over the cap with only manual pins to evict is the soft cap: info, not error', () => {
    const b = fresh();
    for (let i = 0; i < 8; i++) b.pin(b.write('b', `manual ${i}`));
    const id = b.write('b', 'auto');
    b.score(id, 3);
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['pin_cap_exceeded']);
    assert.strictEqual(only(a, 'pin_cap_exceeded')[0].severity, 'info');
  });

  it('manual_pin_evicted: the eviction unpins a manual pin', () => {
    const b = fresh();
    const manual = b.write('b', 'pinned by hand');
    b.pin(manual);
    for (let i = 0; i < 7; i++) b.score(b.write('b', `m${i}`), 3);
    b.score(b.write('b', 'over'), 3, { evict: 'manual' });
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['manual_pin_evicted']);
    assert.strictEqual(only(a, 'manual_pin_evicted')[0].memoryId, String(manual));
  });

  it('wrong_pin_evicted: an auto-pin that is not the oldest is evicted', () => {
    const b = fresh();
    const ids = eightAutoPins(b);
    b.score(b.write('b', 'over'), 3, { evict: 'newest-auto' });
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['wrong_pin_evicted']);
    const f = only(a, 'wrong_pin_evicted')[0];
    assert.strictEqual(f.memoryId, String(ids[7]));
    assert.match(f.message, new RegExp(`oldest auto-pin is memory ${ids[0]}\\b`));
  });

  it('the oldest auto-pin follows created_at, then id, as the worker query orders it (ISO text times too)', () => {
    const b = fresh('bot.db', { isoTimes: true });
    const ids = eightAutoPins(b);
    // Make memory 5 the oldest by created_at in both the event and the table.
    b.sql(`UPDATE memories SET created_at = '2025-12-01 00:00:00' WHERE id = ?`, [ids[4]]);
    const over = b.write('b', 'over');
    b.score(over, 3); // the fixture's worker queries the table: evicts memory 5
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    // The table's created_at differs from the event's: that is drift, but the eviction is right.
    assert.deepStrictEqual(kinds(a), []);
    assert.strictEqual(a.replay.memories.get(String(ids[4]))!.pinned, false);
    assert.ok(sqlCompare(1, '0') < 0 && sqlCompare(null, 0) < 0 && sqlCompare('a', 'b') < 0);
  });

  it('score_not_auto_pinned and auto_pin_below_threshold', () => {
    const b = fresh();
    const s3 = b.write('b', 'pivotal');
    b.score(s3, 3, { skipPin: true });
    const low = b.write('b', 'minor');
    b.score(low, 1, { forcePin: true });
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['auto_pin_below_threshold', 'score_not_auto_pinned']);
    assert.strictEqual(only(a, 'score_not_auto_pinned')[0].memoryId, String(s3));
    assert.strictEqual(only(a, 'auto_pin_below_threshold')[0].memoryId, String(low));
  });

  it('memory_missing, memory_extra and memory_drift against the live table', () => {
    const b = fresh();
    const gone = b.write('b', 'deleted behind the log');
    const drifted = b.write('b', 'pinned behind the log');
    const sig = b.write('b', 'rescored behind the log');
    b.score(sig, 2);
    b.sql('DELETE FROM memories WHERE id = ?', [gone]);
    b.sql('UPDATE memories SET pinned = 1, auto_pinned = 1 WHERE id = ?', [drifted]);
    b.sql('UPDATE memories SET significance = 3 WHERE id = ?', [sig]);
    b.sql(`INSERT INTO memories (id, owner_id, text, pinned, auto_pinned, created_at) VALUES (99, 'b', 'no event', 0, 0, 1)`);
    b.sql('UPDATE memories SET text = ? WHERE id = ?', ['edited', drifted]);
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['memory_drift', 'memory_extra', 'memory_missing']);
    assert.deepStrictEqual(
      only(a, 'memory_missing').map((f) => f.memoryId),
      [String(gone)],
    );
    assert.deepStrictEqual(
      only(a, 'memory_extra').map((f) => f.memoryId),
      ['99'],
    );
    const drift = only(a, 'memory_drift');
    assert.deepStrictEqual(
      drift.map((f) => [f.memoryId, f.severity]),
      [
        [String(drifted), 'error'],
        [String(drifted), 'warning'],
        [String(sig), 'error'],
      ],
    );
    assert.match(drift[0].message, /pinned: table 1, events 0; auto_pinned: table 1, events 0/);
    assert.match(drift[2].message, /significance: table 3, events 2/);
  });

  it('unknown memories, unknown kinds, wrong payload types, duplicates', () => {
    const b = fresh();
    const id = b.write('b', 'real');
    b.event('memory_significance_set', { memory_id: 4242, significance: 1 });
    b.event('memory_archived', { memory_id: id });
    b.event('memory_archived', { memory_id: id });
    b.event('chat_message', { text: 'not a memory event' });
    b.event('memory_significance_set', { memory_id: id, significance: 'high' });
    b.event('memory_pin_changed', { memory_id: id, pinned: 'yes', auto_pinned: 0 });
    b.event('memory_pin_changed', { memory_id: '', pinned: 1, auto_pinned: 0 });
    b.event('memory_pin_changed', null, '{not json');
    b.event('memory_written', { memory_id: id, owner_id: 'b', text: 'again' });
    b.close();
    const a = auditMemoryLedger(b.file, { now: NOW, settings: { ignoreKinds: ['chat_*'] } });
    assert.deepStrictEqual(kinds(a), ['duplicate_memory_written', 'invalid_event_payload', 'unknown_event_kind', 'unknown_memory_event']);
    assert.deepStrictEqual(
      only(a, 'unknown_memory_event').map((f) => f.memoryId),
      ['4242'],
    );
    const unk = only(a, 'unknown_event_kind');
    assert.strictEqual(unk.length, 1, 'one finding per unknown kind; chat_* ignored');
    assert.match(unk[0].message, /2 events of unknown kind "memory_archived"/);
    const bad = only(a, 'invalid_event_payload').map((f) => f.message);
    assert.strictEqual(bad.length, 4);
    assert.match(bad[0], /significance is "high", expected a number/);
    assert.match(bad[1], /pinned is "yes"/);
    assert.match(bad[2], /memory id is ""/);
    assert.match(bad[3], /payload is not JSON/);
    // Findings point at the events: event ids as stored.
    assert.ok(only(a, 'invalid_event_payload').every((f) => typeof f.eventId === 'number'));
  });
});

describe('memory ledger: settings and schema validation', () => {
  it('custom table and column names through settings', () => {
    const b = fresh('bot.db', { names: { events: 'ledger', memories: 'mem', payload: 'body', owner: 'bot' } });
    populateClean(b, { bots: 2, memoriesPerBot: 12 });
    b.close();
    assert.throws(
      () => auditMemoryLedger(b.file, { now: NOW }),
      (e: Error) =>
        e instanceof MemorySchemaError &&
        /no event log table "events" or "event_log"/.test(e.message) &&
        /tables: .*ledger.*mem/.test(e.message) &&
        /botMemory\.memory\.eventsTable/.test(e.message),
    );
    assert.throws(
      () => auditMemoryLedger(b.file, { now: NOW, settings: { eventsTable: 'ledger' } }),
      (e: Error) =>
        /table "ledger" has no column for payload \("payload" or "payload_json" or "data"; set botMemory\.memory\.eventColumns\.payload/.test(e.message),
    );
    assert.throws(
      () => auditMemoryLedger(b.file, { now: NOW, settings: { eventsTable: 'ledger', eventColumns: { payload: 'body' } } }),
      /no memories table "memories" or "memory"/,
    );
    assert.throws(
      () => auditMemoryLedger(b.file, { now: NOW, settings: { eventsTable: 'ledger', eventColumns: { payload: 'body' }, memoriesTable: 'mem' } }),
      /table "mem" has no column for owner \("owner_id" or "owner" or "bot_id" or "host_bot_id"/,
    );
    const a = auditMemoryLedger(b.file, {
      now: NOW,
      settings: { eventsTable: 'ledger', eventColumns: { payload: 'body' }, memoriesTable: 'mem', memoryColumns: { owner: 'bot' } },
    });
    assert.deepStrictEqual(a.findings, []);
    assert.strictEqual(a.replay.memories.size, 24);
  });

  it('an explicit setting is the only name tried', () => {
    const b = fresh();
    populateClean(b, { bots: 1, memoriesPerBot: 3 });
    b.close();
    assert.throws(
      () => loadLedger(b.file, { memoryColumns: { text: 'narrative' } }),
      /no column for text \("narrative"; set botMemory\.memory\.memoryColumns\.text/,
    );
  });

  it('a file that is neither SQLite nor events, and a missing file, are clear errors or findings', () => {
    const dir = tempDir('bma-mem-');
    assert.throws(() => loadLedger(path.join(dir, 'nope.db')), /cannot read .*nope\.db: ENOENT/);
    assert.throws(() => loadLedger(dir), /is not a file/);
    const junk = path.join(dir, 'junk.jsonl');
    fs.writeFileSync(junk, 'hello\n[1]\n{"kind": 3}\n');
    const a = auditMemoryLedger(junk, { now: NOW });
    assert.deepStrictEqual(
      only(a, 'malformed_line').map((f) => f.line),
      [1, 2, 3],
    );
  });
});

describe('memory ledger: JSONL exports', () => {
  it('replays a JSONL export (payload as object or text, other key names), findings carry the line', () => {
    const dir = tempDir('bma-mem-');
    const file = path.join(dir, 'events.jsonl');
    const lines = [
      { id: 1, kind: 'memory_written', payload: { memory_id: 1, host_bot_id: 'ada', narrative_text: 'first', created_at: MT0 }, created_at: MT0 },
      { id: 2, kind: 'memory_significance_set', payload: JSON.stringify({ memory_id: 1, significance: 3 }), created_at: MT0 + 1 },
      { id: 3, kind: 'memory_pin_changed', payload: { memory_id: 1, pinned: true, auto_pinned: true }, created_at: MT0 + 2 },
      { id: 4, kind: 'memory_pin_changed', payload: { memory_id: 7, pinned: 1, auto_pinned: 0 }, created_at: MT0 + 3 },
    ];
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n\n');
    const a = auditMemoryLedger(file, { now: NOW });
    assert.strictEqual(a.input.format, 'jsonl');
    const m = a.replay.memories.get('1')!;
    assert.deepStrictEqual([m.owner, m.text, m.significance, m.pinned, m.autoPinned, m.history], ['ada', 'first', 3, true, true, [0, 1, 2]]);
    assert.deepStrictEqual(kinds(a), ['memories_table_unavailable', 'unknown_memory_event']);
    const f = only(a, 'unknown_memory_event')[0];
    assert.deepStrictEqual([f.shard, f.line, f.eventId], ['events.jsonl', 4, 4]);
    assert.deepStrictEqual(projectionJson(a).memories, [
      { id: 1, owner: 'ada', text: 'first', significance: 3, pinned: 1, auto_pinned: 1, created_at: MT0, events: 3 },
    ]);
  });
});

describe('memory ledger: snapshot and backup retention', () => {
  function touch(file: string, at: number, content = 'SQLite format 3\u0000' + 'x'.repeat(84)): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    fs.utimesSync(file, at, at);
  }

  it('healthy folders give no finding; too many, stale, too frequent and unreadable ones do', () => {
    const b = fresh();
    populateClean(b, { bots: 1, memoriesPerBot: 5 });
    b.close();
    const dir = path.dirname(b.file);
    const lastEvent = b.clock;
    for (let i = 0; i < 5; i++) touch(path.join(dir, 'snapshots', `periodic-${i}.db`), lastEvent - 3600 * (5 - i));
    touch(path.join(dir, 'snapshots', 'pre-migration.db'), MT0 - 86400 * 100); // not periodic: not pruned, not counted
    const night = (d: number) => NOW - 86400 * d - 3600 * 5; // 03:00-ish each night
    for (let d = 0; d < 14; d++) touch(path.join(dir, 'backups', `backup-${String(d).padStart(2, '0')}.db`), night(13 - d));
    let a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(a.findings, []);
    assert.strictEqual(a.retention.snapshots!.files.length, 5);
    assert.strictEqual(a.retention.backups!.files.length, 14);

    touch(path.join(dir, 'snapshots', 'periodic-old.db'), lastEvent - 3600 * 10);
    touch(path.join(dir, 'backups', 'backup-extra.db'), night(0) + 3600, 'not a database');
    a = auditMemoryLedger(b.file, { now: NOW });
    assert.deepStrictEqual(kinds(a), ['backup_too_frequent', 'backup_unreadable', 'retention_exceeded']);
    assert.strictEqual(only(a, 'retention_exceeded').length, 2);

    // Stale: the last backup is three days old; the newest snapshot lags the last event by 2 days.
    a = auditMemoryLedger(b.file, { now: NOW + 86400 * 3, settings: { snapshotMaxAgeHours: 0.5, backupKeep: 20, snapshotKeep: 10 } });
    assert.ok(kinds(a).includes('backup_stale'));
    assert.ok(kinds(a).includes('snapshot_stale'));
  });
});
