import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { auditFolder } from '../../src/core/audit';
import { rebuildIndex } from '../../src/core/sqlite/rebuild';
import { TargetBusyError, acquireRebuildLock } from '../../src/core/sqlite/lock';
import { SCHEMA_VERSION, TABLES } from '../../src/core/sqlite/schema';
import { dumpIndex, exactDump, query } from '../support/sqliteDump';
import { engineParityCheck } from '../support/engineParity';
import { engineName, nativeAvailable } from '../../src/core/sqlite/engine';
import { FIXED_NOW, appendEventLine, generateSessionsFolder } from '../support/fixtures';
import { ev, lifecycle, line, sessionsDir, tempDir, T0 } from './helpers';

/** The CLI bundle, which is also the rebuild worker (built by `npm run test:unit`). */
const WORKER = path.resolve(__dirname, '../../../dist/cli.js');

/** The audit --json facts, read back from the index. */
function reportFromIndex(file: string) {
  const sessions = query(file, "SELECT * FROM sessions WHERE source = 'journal' ORDER BY session_id");
  return sessions.map((s) => {
    const sid = String(s.session_id);
    const turns = query(file, 'SELECT turn_id, state FROM turns WHERE session_id = ? AND event_count > 0 ORDER BY ordinal', [sid]);
    const coll = query(
      file,
      'SELECT turn_id, event, shard, line FROM collisions c JOIN turns t USING (session_id, turn_id) WHERE session_id = ? ORDER BY t.ordinal, c.ordinal',
      [sid],
    );
    const collisions: { turn_id: string; events: string[]; lines: string[] }[] = [];
    for (const c of coll) {
      let last = collisions[collisions.length - 1];
      if (!last || last.turn_id !== c.turn_id) collisions.push((last = { turn_id: String(c.turn_id), events: [], lines: [] }));
      last.events.push(String(c.event));
      last.lines.push(`${c.shard}:${c.line}`);
    }
    return {
      session_id: sid,
      title: s.title,
      model: s.model,
      shards: query(file, 'SELECT name FROM shards WHERE session_id = ? ORDER BY name', [sid]).map((r) => r.name),
      event_count: Number(query(file, 'SELECT count(*) AS n FROM events WHERE session_id = ?', [sid])[0].n),
      turn_count: s.turn_count,
      open_turn_count: s.open_turn_count,
      states: Object.fromEntries(turns.map((t) => [t.turn_id, t.state])),
      collisions,
      malformed: query(
        file,
        'SELECT shard, line, offset, kind, torn, glued FROM malformed WHERE session_id = ? AND shard IN (SELECT name FROM shards) ORDER BY shard, line',
        [sid],
      ).map((m) => ({
        shard: m.shard,
        line: m.line,
        offset: m.offset,
        kind: m.kind,
        torn: m.torn === 1,
        glued: m.glued === 1,
      })),
      findings: query(
        file,
        "SELECT kind, severity, turn_id, shard, line, offset, CAST(message AS BLOB) AS message FROM findings WHERE session_id = ? AND source = 'journal' ORDER BY ordinal",
        [sid],
      ).map((f) => {
        // Read as bytes: the engine's text reader stops at U+0000, which messages may hold.
        const r: Record<string, unknown> = { kind: f.kind, severity: f.severity, message: Buffer.from(f.message as Uint8Array).toString('utf8') };
        for (const k of ['turn_id', 'shard', 'line', 'offset'] as const) if (f[k] !== null) r[k] = f[k];
        return r;
      }),
      first_activity: s.first_activity,
      last_activity: s.last_activity,
    };
  });
}

/**
 * A report as `audit --json` prints it (its maps have no prototype), without what the index has
 * no columns for: the upstream view and the findings' upstream_kind / category.
 */
function asIndexed(sessions: unknown[]): unknown[] {
  const out = JSON.parse(JSON.stringify(sessions)) as Record<string, unknown>[];
  for (const s of out) {
    delete s.upstream;
    for (const f of s.findings as Record<string, unknown>[]) {
      delete f.upstream_kind;
      delete f.category;
    }
  }
  return out;
}

describe('SQLite index', function () {
  this.timeout(60_000);

  it('creates every table at the documented schema version, with meta', async () => {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), lifecycle('t1', T0));
    const db = path.join(dir, 'index.sqlite');
    const r = await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
    assert.strictEqual(r.mode, 'full');
    assert.strictEqual(query(db, 'PRAGMA user_version')[0].user_version, SCHEMA_VERSION);
    const tables = query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((t) => t.name);
    assert.deepStrictEqual(tables, [...TABLES].sort());
    const meta = Object.fromEntries(query(db, 'SELECT key, value FROM meta').map((m) => [m.key, m.value]));
    assert.strictEqual(meta.schema_version, String(SCHEMA_VERSION));
    assert.strictEqual(meta.engine, engineName());
    assert.match(String(meta.sqlite_version), /^3\.\d+/);
    assert.deepStrictEqual(JSON.parse(String(meta.sources)), [{ kind: 'journal', path: dir }]);
    assert.ok(!Number.isNaN(Date.parse(String(meta.built_at))));
    const evs = query(db, 'SELECT * FROM events ORDER BY offset');
    assert.strictEqual(evs.length, 4);
    // The line is stored once, in its shard (events.raw is NULL without inlineRaw).
    assert.strictEqual(evs[0].raw, null);
    const shardBytes = fs.readFileSync(path.join(journal, 'sess~1.jsonl'));
    const at = (e: Record<string, unknown>): string => shardBytes.toString('utf8', Number(e.offset), Number(e.offset) + Number(e.length));
    assert.deepStrictEqual(JSON.parse(at(evs[0])), ev('submitted', 't1', T0));
    assert.strictEqual(meta.inline_raw, '0');
    assert.strictEqual(evs[0].offset, 0);
    assert.strictEqual(evs[1].offset, Buffer.byteLength(line(ev('submitted', 't1', T0))));
    const turn = query(db, 'SELECT * FROM turns')[0];
    assert.strictEqual(turn.state, 'completed');
    assert.strictEqual(turn.user_text, 'question t1');
    assert.strictEqual(turn.terminal_count, 1);
    assert.ok(Math.abs(Number(turn.total_s) - 14.3) < 1e-5, String(turn.total_s));
    const plan = query(db, "EXPLAIN QUERY PLAN SELECT * FROM turns WHERE state = 'completed'")
      .map((p) => String(p.detail))
      .join(' ');
    assert.match(plan, /turns_by_state/);
  });

  for (const workers of [0, 1]) {
    it(`stores each event's line exactly as written, in events.raw with inlineRaw, else by offset (${workers ? 'on a worker' : 'main thread'})`, async () => {
      const { dir, journal } = sessionsDir();
      // Not what JSON.stringify would write: spaces, 1.0, an escaped é, a key order, a CRLF
      // line, non-ASCII text, a duplicate key. The first line takes the reader's general
      // path, the others its fast path (whole regions of lines).
      const lines = [
        `{"event": "submitted", "turn_id": "t1", "created_at": ${T0}.0, "session_id": "sess", "content": "caf\\u00e9"}`,
        `{"turn_id":"t1","event":"worker_started","created_at":${T0 + 1}.50,"session_id":"sess"}\r`,
        `{"event":"assistant_started","turn_id":"t1","created_at":${T0 + 2}e0,"session_id":"sess","x":1,"x":2}`,
        `{"event":"completed","turn_id":"t1","created_at":${T0 + 3},"session_id":"sess","content":"déjà vu — 🙂"}`,
      ];
      fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), lines.map((l) => l + '\n').join(''));
      const db = path.join(dir, 'index.sqlite');
      await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100, workerScript: WORKER, workers, alwaysWorkers: true, inlineRaw: true });
      const raws = query(db, 'SELECT raw FROM events ORDER BY offset').map((r) => String(r.raw));
      assert.deepStrictEqual(
        raws,
        lines.map((l) => l.replace(/\r$/, '')),
      );
      // Without inlineRaw (another setting: a full rebuild), offset and length give the same bytes from the shard.
      const r = await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100, workerScript: WORKER, workers, alwaysWorkers: true });
      assert.deepStrictEqual([r.mode, r.reason], ['full', 'the index was built with other settings']);
      const shard = fs.readFileSync(path.join(journal, 'sess~1.jsonl'));
      const rows = query(db, 'SELECT raw, offset, length FROM events ORDER BY offset');
      assert.deepStrictEqual(
        rows.map((x) => [x.raw, shard.toString('utf8', Number(x.offset), Number(x.offset) + Number(x.length))]),
        lines.map((l) => [null, l]),
      );
    });
  }

  for (const seed of [1, 2, 3]) {
    it(`holds the same facts as audit --json (fixture seed ${seed})`, async () => {
      const dir = tempDir();
      generateSessionsFolder(dir, { seed, sessions: 10 });
      const db = path.join(dir, 'i.sqlite');
      await rebuildIndex({ sessionsDir: dir, db, now: FIXED_NOW });
      const report = await auditFolder(dir, { now: FIXED_NOW });
      const expected = asIndexed(report.sessions);
      assert.deepStrictEqual(reportFromIndex(db), expected);
      const totals = query(db, 'SELECT count(*) AS n, sum(event_count) AS e, sum(turn_count) AS t FROM sessions')[0];
      assert.deepStrictEqual([totals.n, totals.e, totals.t], [report.summary.sessions, report.summary.events, report.summary.turns]);
      const sev = Object.fromEntries(
        query(db, "SELECT severity, count(*) AS n FROM findings WHERE source = 'journal' GROUP BY severity").map((r) => [r.severity, r.n]),
      );
      assert.deepStrictEqual({ error: sev.error ?? 0, warning: sev.warning ?? 0, info: sev.info ?? 0 }, report.summary.findings);
      assert.ok(report.summary.findings.error > 0, 'the fixture plants anomalies');
      assert.deepStrictEqual(JSON.parse(String(query(db, "SELECT value FROM meta WHERE key = 'skipped_files'")[0].value)), report.skipped_files);
    });
  }

  it('indexes garbage as findings and never aborts', async () => {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(
      path.join(journal, 'junk~1.jsonl'),
      Buffer.concat([Buffer.from(lifecycle('j1', T0)), Buffer.from([0xff, 0xfe, 0x00, 0x0a]), Buffer.from('not json\n[1,2]\n{"event":"completed"')]),
    );
    fs.writeFileSync(path.join(journal, 'binary~1.jsonl'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)));
    fs.mkdirSync(path.join(dir, '_turn_feedback'));
    fs.writeFileSync(
      path.join(dir, '_turn_feedback', 'junk.jsonl'),
      '{"type":"feedback","version":1,"session_id":"junk","turn_id":"j1","feedback":5,"reviewer":"r"}\nnope\n',
    );
    fs.writeFileSync(path.join(dir, 'junk.json'), '{"messages": [');
    const db = path.join(dir, 'i.sqlite');
    const r = await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
    assert.strictEqual(r.counts.sessions, 2);
    const kinds = new Set(query(db, 'SELECT kind FROM findings').map((f) => String(f.kind)));
    for (const k of ['malformed_line', 'torn_tail', 'invalid_sidecar', 'invalid_feedback', 'upstream_incompatible_line'])
      assert.ok(kinds.has(k), `finding ${k} in ${[...kinds]}`);
    const mal = query(db, "SELECT kind FROM malformed WHERE shard = 'junk~1.jsonl' ORDER BY line").map((m) => m.kind);
    assert.deepStrictEqual(mal, ['invalid_utf8', 'not_json', 'not_object', 'not_json']);
    assert.strictEqual(query(db, "SELECT count(*) AS n FROM malformed WHERE shard = '_turn_feedback/junk.jsonl'")[0].n, 2);
    const report = await auditFolder(dir, { now: T0 + 100 });
    assert.deepStrictEqual(reportFromIndex(db), asIndexed(report.sessions));
  });

  it('indexes run-journal findings like the audit (the rebuild reads _run_journal/<sid>/)', async () => {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 'ran~1.jsonl'), lifecycle('r1', T0));
    const runs = path.join(dir, '_run_journal', 'ran');
    fs.mkdirSync(runs, { recursive: true });
    const line = (seq: number, event: string) =>
      JSON.stringify({
        version: 1,
        event_id: `lost-run:${seq}`,
        seq,
        run_id: 'lost-run',
        session_id: 'ran',
        event,
        type: event,
        created_at: T0 + seq,
        terminal: event === 'done',
        terminal_state: event === 'done' ? 'completed' : null,
        payload: {},
      }) + '\n';
    fs.writeFileSync(path.join(runs, 'lost-run.jsonl'), line(1, 'token') + line(2, 'done'));
    const db = path.join(dir, 'i.sqlite');
    await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
    const kinds = query(db, "SELECT kind FROM findings WHERE session_id = 'ran'").map((f) => String(f.kind));
    assert.ok(kinds.includes('run_without_turn'), `run_without_turn in ${kinds}`);
    const report = await auditFolder(dir, { now: T0 + 100 });
    assert.deepStrictEqual(reportFromIndex(db), asIndexed(report.sessions));
  });

  it('builds the same index byte for byte on worker threads (1 and 2 workers) as on one thread', async () => {
    const dir = tempDir();
    generateSessionsFolder(dir, { seed: 4, sessions: 10 });
    const journal = path.join(dir, '_turn_journal');
    // Strings that encode differently: U+0000, a lone surrogate, astral characters; big and fractional numbers.
    const odd = { ...ev('submitted', 'odd\u0000turn', T0 + 0.125), session_id: 'odd', content: 'nul\u0000 lone \ud800 astral 😀 é', big: 2 ** 40 };
    fs.writeFileSync(
      path.join(journal, 'odd~1.jsonl'),
      line(odd) + line({ ...ev('completed', 'odd\u0000turn', 2 ** 33 + 0.5), session_id: 'odd' }) + '{"glued":1}{"event":"x"}\n',
    );
    const one = path.join(dir, 'one.sqlite');
    await rebuildIndex({ sessionsDir: dir, db: one, now: FIXED_NOW, workerScript: WORKER, workers: 0 });
    const expected = exactDump(one);
    assert.ok(expected.events.length > 100 && expected.turns.length > 10, 'the fixture has rows');
    assert.ok(
      expected.events.some((r) => r.includes('00')),
      'a U+0000 is stored',
    );
    for (const workers of [1, 2]) {
      const db = path.join(dir, `w${workers}.sqlite`);
      const r = await rebuildIndex({ sessionsDir: dir, db, now: FIXED_NOW, workerScript: WORKER, workers, alwaysWorkers: true });
      assert.strictEqual(r.eventsAdded, expected.events.length);
      assert.deepStrictEqual(exactDump(db), expected, `${workers} worker(s)`);
    }
  });

  it('node:sqlite and the wasm engine write every table byte for byte alike (full, incremental, on a worker)', async function () {
    // The unit tests run on the system Node (20 here and in CI: no node:sqlite); the extension
    // tests run this same check inside VS Code (Node 24). Locally: run mocha with Node >= 22.5.
    if (!nativeAvailable()) this.skip();
    await engineParityCheck(tempDir(), WORKER);
  });

  it('reads feedback records: every record kept, the latest per turn on the turn', async () => {
    const { dir, journal } = sessionsDir();
    fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), lifecycle('t1', T0) + lifecycle('t2', T0 + 60));
    fs.mkdirSync(path.join(dir, '_turn_feedback'));
    const rec = (turn: string, feedback: number, extra: object = {}) =>
      JSON.stringify({
        type: 'feedback',
        version: 1,
        id: `id-${turn}-${feedback}`,
        session_id: 'sess',
        turn_id: turn,
        feedback,
        reviewer: 'ana',
        timestamp: '2026-01-02T00:00:00Z',
        ...extra,
      }) + '\n';
    fs.writeFileSync(
      path.join(dir, '_turn_feedback', 'sess.jsonl'),
      rec('t1', 1) + rec('t1', -1, { note: 'wrong <b>answer</b>', tags: ['factual'] }) + rec('t2', 0),
    );
    const db = path.join(dir, 'i.sqlite');
    await rebuildIndex({ sessionsDir: dir, db, now: T0 + 1000 });
    assert.strictEqual(query(db, 'SELECT count(*) AS n FROM feedback')[0].n, 3);
    const t = query(db, 'SELECT turn_id, feedback, feedback_note, feedback_tags, feedback_reviewer FROM turns ORDER BY turn_id');
    assert.deepStrictEqual(
      t.map((x) => [x.turn_id, x.feedback, x.feedback_note, x.feedback_tags, x.feedback_reviewer]),
      [
        ['t1', -1, 'wrong <b>answer</b>', '["factual"]', 'ana'],
        ['t2', 0, null, null, 'ana'],
      ],
    );
    assert.deepStrictEqual(
      query(db, 'SELECT line FROM feedback WHERE latest = 1 ORDER BY line').map((r) => r.line),
      [2, 3],
    );
  });

  describe('incremental rebuild', () => {
    function grow(dir: string): number {
      // New turns in two sessions' existing shards, a new shard, a completed torn tail, a sidecar change, feedback.
      const journal = path.join(dir, '_turn_journal');
      const shards = fs
        .readdirSync(journal)
        .filter((n) => n.endsWith('.jsonl') && n.includes('~') && !n.startsWith('tail~'))
        .sort();
      let added = 0;
      for (const name of [shards[0], shards[shards.length - 1]]) {
        const sid = name.slice(0, name.indexOf('~'));
        for (const e of ['submitted', 'worker_started', 'assistant_started', 'completed']) {
          appendEventLine(path.join(journal, name), {
            ...ev(e, `20260102T000000Z-${added.toString(16).padStart(12, '0')}`, FIXED_NOW + 10 + added),
            session_id: sid,
          } as never);
          added++;
        }
      }
      const sid2 = shards[1].slice(0, shards[1].indexOf('~'));
      fs.writeFileSync(path.join(journal, `${sid2}~999999.jsonl`), line({ ...ev('submitted', 'new-turn', FIXED_NOW - 5), session_id: sid2 }));
      added++;
      fs.mkdirSync(path.join(dir, '_turn_feedback'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, '_turn_feedback', `${sid2}.jsonl`),
        JSON.stringify({
          type: 'feedback',
          version: 1,
          id: 'x',
          session_id: sid2,
          turn_id: 'new-turn',
          feedback: -1,
          reviewer: 'r',
          timestamp: '2026-01-01T00:00:00Z',
        }) + '\n',
      );
      return added;
    }

    for (const workers of [0, 1])
      it(`adds only the new rows and gives the same database as a full rebuild (${workers ? 'on a worker thread' : 'on one thread'})`, async () => {
        const w = { workerScript: WORKER, workers, alwaysWorkers: true };
        const dir = tempDir();
        generateSessionsFolder(dir, { seed: 5, sessions: 10 });
        // A valid event without its newline (an append in progress) at the end of a shard.
        const tailShard = path.join(dir, '_turn_journal', 'tail~1.jsonl');
        fs.writeFileSync(
          tailShard,
          lifecycle('x1', FIXED_NOW - 100)
            .replace(/\n$/, '')
            .replace(/"session_id":"sess"/g, '"session_id":"tail"'),
        );
        const inc = path.join(dir, 'inc.sqlite');
        const full = path.join(dir, 'full.sqlite');
        await rebuildIndex({ sessionsDir: dir, db: inc, now: FIXED_NOW, ...w });
        const before = Number(query(inc, 'SELECT count(*) AS n FROM events')[0].n);
        assert.strictEqual(query(inc, "SELECT count(*) AS n FROM events WHERE shard = 'tail~1.jsonl'")[0].n, 4);
        // The line without its newline is the shard's torn event, found through the partial index.
        assert.deepStrictEqual(
          query(inc, "SELECT event, torn FROM events WHERE shard = 'tail~1.jsonl' ORDER BY offset").map((e) => e.torn),
          [0, 0, 0, 1],
        );
        assert.match(
          query(inc, "EXPLAIN QUERY PLAN DELETE FROM events WHERE shard = 'tail~1.jsonl' AND torn = 1")
            .map((p) => String(p.detail))
            .join(' '),
          /events_torn/,
        );
        const added = grow(dir);
        fs.appendFileSync(tailShard, '\n' + line({ ...ev('completed', 'x2', FIXED_NOW - 50), session_id: 'tail' }));
        // Complete every torn tail (its line gets its newline plus a new event).
        const journal = path.join(dir, '_turn_journal');
        for (const n of fs.readdirSync(journal)) {
          const p = path.join(journal, n);
          const buf = fs.readFileSync(p);
          if (buf.length && buf[buf.length - 1] !== 10) fs.appendFileSync(p, '\n');
        }
        const sidecars = fs.readdirSync(dir).filter((n) => n.endsWith('.json') && !n.startsWith('_'));
        fs.appendFileSync(path.join(dir, sidecars[0]), ' ');
        const r = await rebuildIndex({ sessionsDir: dir, db: inc, now: FIXED_NOW + 30, ...w });
        assert.strictEqual(r.mode, 'incremental', String(r.reason));
        assert.ok(r.sessionsRedone < 11, `redid ${r.sessionsRedone} of 11 sessions`);
        assert.strictEqual(query(inc, "SELECT count(*) AS n FROM events WHERE shard = 'tail~1.jsonl'")[0].n, 5);
        assert.strictEqual(query(inc, 'SELECT count(*) AS n FROM events WHERE torn = 1')[0].n, 0);
        const after = Number(query(inc, 'SELECT count(*) AS n FROM events')[0].n);
        assert.ok(after - before >= added, `${after - before} new events, ${added} appended`);
        const rf = await rebuildIndex({ sessionsDir: dir, db: full, now: FIXED_NOW + 30, full: true });
        assert.strictEqual(rf.mode, 'full');
        assert.deepStrictEqual(dumpIndex(inc), dumpIndex(full));
        assert.deepStrictEqual(exactDump(inc), exactDump(full));
        assert.strictEqual(query(inc, "SELECT feedback FROM turns WHERE turn_id = 'new-turn'")[0].feedback, -1);
      });

    for (const workers of [0, 1])
      it(`drops a turn whose only event was a torn tail that a later append glued onto (${workers ? 'on a worker thread' : 'on one thread'})`, async () => {
        const w = { workerScript: WORKER, workers, alwaysWorkers: true };
        const { dir, journal } = sessionsDir();
        const shard = path.join(journal, 'sess~1.jsonl');
        // A complete turn, then a valid event of turn "zz" without its newline.
        fs.writeFileSync(shard, lifecycle('t1', T0) + line(ev('submitted', 'zz', T0 + 20)).replace(/\n$/, ''));
        const inc = path.join(dir, 'inc.sqlite');
        await rebuildIndex({ sessionsDir: dir, db: inc, now: T0 + 100, ...w });
        assert.deepStrictEqual(
          query(inc, 'SELECT turn_id FROM turns ORDER BY ordinal').map((t) => t.turn_id),
          ['t1', 'zz'],
        );
        // The writer crashed; its next append is glued onto the torn line: "zz" is gone (upstream
        // cannot parse the line), the glued event's turn "yy" is known only from the malformed line.
        fs.appendFileSync(shard, line(ev('submitted', 'yy', T0 + 30)) + line(ev('completed', 't1', T0 + 40)));
        const r = await rebuildIndex({ sessionsDir: dir, db: inc, now: T0 + 100, ...w });
        assert.strictEqual(r.mode, 'incremental', String(r.reason));
        const full = path.join(dir, 'full.sqlite');
        await rebuildIndex({ sessionsDir: dir, db: full, now: T0 + 100, full: true });
        assert.ok(!query(inc, 'SELECT turn_id FROM turns').some((t) => t.turn_id === 'zz'));
        assert.deepStrictEqual(exactDump(inc), exactDump(full));
      });

    it('applies changed feedback to sessions it does not redo, as a full rebuild does', async () => {
      const { dir, journal } = sessionsDir();
      fs.writeFileSync(path.join(journal, 'a~1.jsonl'), lifecycle('a1', T0) + lifecycle('a2', T0 + 50));
      fs.writeFileSync(path.join(journal, 'b~1.jsonl'), lifecycle('b1', T0));
      fs.writeFileSync(path.join(journal, 'c~1.jsonl'), lifecycle('c1', T0));
      const fb = path.join(dir, '_turn_feedback');
      fs.mkdirSync(fb);
      const rec = (sid: string, turn: string, feedback: number, day: number) =>
        JSON.stringify({
          type: 'feedback',
          version: 1,
          id: `${sid}-${turn}-${day}`,
          session_id: sid,
          turn_id: turn,
          feedback,
          reviewer: 'r',
          timestamp: `2026-01-0${day}T00:00:00Z`,
        }) + '\n';
      fs.writeFileSync(path.join(fb, 'a.jsonl'), rec('a', 'a1', 1, 1));
      fs.writeFileSync(path.join(fb, 'b.jsonl'), rec('b', 'b1', -1, 1));
      fs.writeFileSync(path.join(fb, 'c.jsonl'), rec('c', 'c1', 1, 1));
      const db = path.join(dir, 'i.sqlite');
      await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
      fs.appendFileSync(path.join(fb, 'a.jsonl'), rec('a', 'a1', -1, 2) + rec('a', 'a2', 1, 2));
      fs.rmSync(path.join(fb, 'b.jsonl'));
      // A record in another session's file (c's) for session a: the latest for a2.
      fs.appendFileSync(path.join(fb, 'c.jsonl'), rec('a', 'a2', 0, 3));
      const r = await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
      assert.deepStrictEqual([r.mode, r.sessionsRedone], ['incremental', 0]);
      const turns = query(db, 'SELECT turn_id, feedback FROM turns ORDER BY turn_id').map((t) => [t.turn_id, t.feedback]);
      assert.deepStrictEqual(turns, [
        ['a1', -1],
        ['a2', 0],
        ['b1', null],
        ['c1', 1],
      ]);
      const full = path.join(dir, 'f.sqlite');
      await rebuildIndex({ sessionsDir: dir, db: full, now: T0 + 100, full: true });
      assert.deepStrictEqual(exactDump(db), exactDump(full));
    });

    it('an unchanged folder redoes only sessions whose findings depend on the clock', async () => {
      const { dir, journal } = sessionsDir();
      fs.writeFileSync(path.join(journal, 'done~1.jsonl'), lifecycle('d1', T0));
      fs.writeFileSync(path.join(journal, 'open~1.jsonl'), lifecycle('o1', T0, null));
      const db = path.join(dir, 'i.sqlite');
      await rebuildIndex({ sessionsDir: dir, db, now: T0 + 10 });
      const r = await rebuildIndex({ sessionsDir: dir, db, now: T0 + 7200 });
      assert.deepStrictEqual([r.mode, r.sessionsRedone, r.eventsAdded], ['incremental', 1, 0]);
      assert.strictEqual(query(db, "SELECT count(*) AS n FROM findings WHERE kind = 'dangling_turn'")[0].n, 1);
    });

    for (const [what, change] of [
      ['a shard shrank', (p: string) => fs.truncateSync(p, 10)],
      [
        'a shard was rewritten in place',
        (p: string) => {
          const b = fs.readFileSync(p);
          b[5] = b[5] === 0x61 ? 0x62 : 0x61;
          fs.writeFileSync(p, Buffer.concat([b, Buffer.from(line(ev('submitted', 'zz', T0 + 99)))]));
        },
      ],
      ['a shard was removed', (p: string) => fs.rmSync(p)],
    ] as const) {
      it(`rebuilds fully when ${what}`, async () => {
        const { dir, journal } = sessionsDir();
        fs.writeFileSync(path.join(journal, 'a~1.jsonl'), lifecycle('a1', T0) + lifecycle('a2', T0 + 50));
        fs.writeFileSync(path.join(journal, 'b~1.jsonl'), lifecycle('b1', T0));
        const db = path.join(dir, 'i.sqlite');
        await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
        change(path.join(journal, 'a~1.jsonl'));
        const r = await rebuildIndex({ sessionsDir: dir, db, now: T0 + 100 });
        assert.strictEqual(r.mode, 'full');
        assert.match(String(r.reason), /a~1\.jsonl/);
        const full = path.join(dir, 'f.sqlite');
        await rebuildIndex({ sessionsDir: dir, db: full, now: T0 + 100 });
        assert.deepStrictEqual(dumpIndex(db), dumpIndex(full));
      });
    }
  });

  describe('replay from the GitHub interaction log', () => {
    it('replays every line: interactions, duplicates, feedback corrections and garbage', async () => {
      const dir = tempDir();
      const log = path.join(dir, 'interactions.jsonl');
      const lines: string[] = [];
      for (let i = 0; i < 1200; i++) {
        const sid = `s${i % 7}`;
        lines.push(
          JSON.stringify({
            type: 'interaction',
            version: 1,
            id: `${sid}/t${i}`,
            session_id: sid,
            turn_id: `t${i}`,
            state: i % 10 === 9 ? 'interrupted' : 'completed',
            created_at: '2026-01-01T00:00:00Z',
            completed_at: T0 + i,
            model: 'm1',
            model_provider: 'p',
            user: `q${i}`,
            assistant: `a${i}`,
            ...(i % 10 === 9 ? { reason: 'cancelled' } : {}),
          }),
        );
      }
      lines.push(
        JSON.stringify({
          type: 'interaction',
          version: 1,
          id: 's0/t0',
          session_id: 's0',
          turn_id: 't0',
          state: 'interrupted',
          created_at: T0,
          completed_at: T0 + 5,
          model: 'm2',
          model_provider: 'p',
          user: 'q0 again',
          assistant: null,
          reason: 'error',
        }),
      );
      lines.push(JSON.stringify({ type: 'feedback', session_id: 's1', feedback: -1, timestamp: '2026-01-03T00:00:00Z' }));
      lines.push(
        JSON.stringify({
          type: 'feedback',
          version: 1,
          id: 'f1',
          session_id: 's2',
          turn_id: 't2',
          feedback: -1,
          reviewer: 'bot',
          timestamp: '2026-01-03T00:00:00Z',
        }),
      );
      // Pushes write per-turn feedback as turn_feedback (docs/github-log.md): read as feedback.
      lines.push(
        JSON.stringify({
          type: 'turn_feedback',
          version: 1,
          id: 'f2',
          session_id: 's2',
          turn_id: 't2',
          feedback: 1,
          note: 'fixed',
          reviewer: 'ana',
          timestamp: '2026-01-04T00:00:00Z',
        }),
      );
      lines.push('garbage', '[]', JSON.stringify({ type: 'mystery' }), JSON.stringify({ type: 'interaction', session_id: '../x', turn_id: 't' }));
      fs.writeFileSync(log, lines.join('\n') + '\n');
      const db = path.join(dir, 'i.sqlite');
      const r = await rebuildIndex({ fromLog: log, db, now: T0 });
      assert.strictEqual(r.counts.turns, 1200);
      assert.strictEqual(r.counts.sessions, 7);
      assert.strictEqual(r.counts.feedback, 3);
      assert.strictEqual(r.counts.malformed, 4);
      const t0 = query(db, "SELECT * FROM turns WHERE session_id = 's0' AND turn_id = 't0'")[0];
      assert.deepStrictEqual(
        [t0.state, t0.reason, t0.model, t0.user_text, t0.assistant_text, t0.source],
        ['interrupted', 'error', 'm2', 'q0 again', null, 'log'],
      );
      assert.strictEqual(t0.ordinal, 0);
      assert.deepStrictEqual(query(db, "SELECT feedback, feedback_note FROM turns WHERE session_id = 's2' AND turn_id = 't2'")[0], {
        feedback: 1,
        feedback_note: 'fixed',
      });
      assert.strictEqual(query(db, "SELECT count(*) AS n FROM feedback WHERE turn_id IS NULL AND session_id = 's1'")[0].n, 1);
      const kinds = query(db, 'SELECT kind, count(*) AS n FROM findings GROUP BY kind ORDER BY kind').map((k) => [k.kind, k.n]);
      assert.deepStrictEqual(kinds, [
        ['duplicate_interaction', 1],
        ['invalid_log_line', 4],
      ]);
      assert.strictEqual(query(db, "SELECT count(*) AS n FROM turns WHERE state = 'interrupted'")[0].n, 120 + 1);
      const s0 = query(db, "SELECT * FROM sessions WHERE session_id = 's0'")[0];
      assert.deepStrictEqual([s0.source, s0.turn_count, s0.infos], ['log', 172, 1]);
      const meta = Object.fromEntries(query(db, 'SELECT key, value FROM meta').map((m) => [m.key, m.value]));
      assert.strictEqual(meta.log_lines, String(lines.length));
    });
  });

  describe('safety', () => {
    async function built(): Promise<{ dir: string; db: string; before: Buffer }> {
      const { dir, journal } = sessionsDir();
      fs.writeFileSync(path.join(journal, 'a~1.jsonl'), lifecycle('a1', T0));
      const db = path.join(dir, 'i.sqlite');
      await rebuildIndex({ sessionsDir: dir, db, now: T0 });
      fs.appendFileSync(path.join(journal, 'a~1.jsonl'), lifecycle('a2', T0 + 100));
      return { dir, db, before: fs.readFileSync(db) };
    }

    for (const suffix of ['-journal', '-wal']) {
      it(`refuses to replace an index with a ${suffix} file beside it`, async () => {
        const { dir, db, before } = await built();
        fs.writeFileSync(db + suffix, 'x');
        await assert.rejects(
          rebuildIndex({ sessionsDir: dir, db, now: T0, force: true }),
          (e: unknown) => e instanceof TargetBusyError && !e.forceable && e.message.includes(suffix),
        );
        assert.ok(fs.readFileSync(db).equals(before));
      });
    }

    it('refuses while the engine lock folder exists', async () => {
      const { dir, db, before } = await built();
      fs.mkdirSync(db + '.lock');
      await assert.rejects(rebuildIndex({ sessionsDir: dir, db, now: T0 }), /is locked/);
      assert.ok(fs.readFileSync(db).equals(before));
    });

    it('names a process that holds the index open, and replaces it with force', async function () {
      if (process.platform !== 'linux') this.skip();
      const { dir, db, before } = await built();
      const child = spawn(process.execPath, ['-e', `require('fs').openSync(${JSON.stringify(db)}, 'r'); console.log('open'); setTimeout(() => {}, 20000)`], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise((r) => child.stdout!.once('data', r));
        await assert.rejects(
          rebuildIndex({ sessionsDir: dir, db, now: T0 }),
          (e: unknown) => e instanceof TargetBusyError && e.forceable && e.message.includes(`pid ${child.pid}`),
        );
        assert.ok(fs.readFileSync(db).equals(before));
        const r = await rebuildIndex({ sessionsDir: dir, db, now: T0, force: true });
        assert.strictEqual(r.counts.turns, 2);
      } finally {
        child.kill('SIGKILL');
      }
    });

    it("refuses while another rebuild of the same index runs, and takes over a dead one's lock", async () => {
      const { dir, db } = await built();
      const release = acquireRebuildLock(db);
      try {
        fs.writeFileSync(db + '.rebuild-lock', JSON.stringify({ pid: process.ppid }));
        await assert.rejects(rebuildIndex({ sessionsDir: dir, db, now: T0 }), /another rebuild/);
      } finally {
        release();
      }
      fs.writeFileSync(db + '.rebuild-lock', JSON.stringify({ pid: 999999999 }));
      fs.writeFileSync(path.join(dir, '.i.sqlite.tmp-999999999-abcd1234'), 'half-built');
      fs.mkdirSync(path.join(dir, '.i.sqlite.tmp-999999999-abcd1234.lock'));
      await rebuildIndex({ sessionsDir: dir, db, now: T0 });
      assert.deepStrictEqual(
        fs.readdirSync(dir).filter((n) => n.startsWith('.i.sqlite') || n.includes('rebuild-lock')),
        [],
      );
    });

    it('cancelling leaves the old index and no temp file', async () => {
      const dir = tempDir();
      generateSessionsFolder(dir, { seed: 9, sessions: 8 });
      const db = path.join(dir, 'i.sqlite');
      await rebuildIndex({ sessionsDir: dir, db, now: FIXED_NOW });
      const before = fs.readFileSync(db);
      const ac = new AbortController();
      await assert.rejects(
        rebuildIndex({ sessionsDir: dir, db, now: FIXED_NOW, full: true, signal: ac.signal, checkpoint: (n) => n === 'session' && ac.abort() }),
        /cancelled/,
      );
      assert.ok(fs.readFileSync(db).equals(before));
      assert.deepStrictEqual(
        fs.readdirSync(dir).filter((n) => n.startsWith('.i.sqlite') || n.includes('lock')),
        [],
      );
    });
  });
});
