/**
 * Compact events (src/core/compactEvent.ts): a session read with compact events analyses to
 * exactly what the same session read with plain events (parsed objects kept) gives, on real
 * files with every anomaly the fixture generator plants; `data` read back by byte offset is the
 * parsed line; a line that changed on disk is never read as the event (rebuilt from the fields
 * kept, and flagged `stale`).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { auditFolder, sessionReport } from '../../src/core/audit';
import { CompactEvent, contentOf, decodedLines, hasLazyContent, INLINE_CONTENT_CHARS } from '../../src/core/compactEvent';
import { discoverSessions } from '../../src/core/discovery';
import { analyzeWithUpstream, SessionJournal, shardFilesFor } from '../../src/core/session';
import { ShardReader } from '../../src/core/shardReader';
import type { JournalEvent } from '../../src/core/types';
import { everyAnomaly, generateSessionsFolder } from '../support/fixtures';
import { ev, line, lifecycle, sessionsDir, T0, tempDir } from './helpers';

const OPTS = { now: T0 + 86400, staleAfterSeconds: 3600 };

/** An event as plain data (what a plain event holds), whichever form it has. */
function plain(e: JournalEvent): Record<string, unknown> {
  return {
    name: e.name,
    turnId: e.turnId,
    streamId: e.streamId,
    createdAtRaw: e.createdAtRaw,
    sortKey: e.sortKey,
    terminal: e.terminal,
    shard: e.shard,
    line: e.line,
    offset: e.offset,
    length: e.length,
    data: e.data,
    nonStandardNumbers: e.nonStandardNumbers === true,
    pythonLineBreaks: e.pythonLineBreaks === true,
    pythonHazard: e.pythonHazard ?? null,
    recovered: e.recovered === true,
  };
}

/** JSON of an analysis with every event in its plain form. */
function normalized(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof CompactEvent) return plain(x);
    if (x !== null && typeof x === 'object' && 'data' in x && 'shard' in x && 'offset' in x && 'turnId' in x) return plain(x as JournalEvent);
    return x;
  });
}

/** `maxInlineTextChars`: the session's allowance of user-message text kept in memory (0: every long one by reference). */
async function analyses(dir: string, compact: boolean, maxInlineTextChars?: number): Promise<Map<string, unknown>> {
  const d = await discoverSessions(dir);
  const out = new Map<string, unknown>();
  for (const s of d.sessions) {
    const j = new SessionJournal(d.sessionsDir, s.sessionId, { compact, maxInlineTextChars });
    j.setShards(s.shards);
    await j.refresh();
    const a = await analyzeWithUpstream(j, OPTS);
    out.set(s.sessionId, { analysis: normalized(a), report: JSON.stringify(sessionReport(a)) });
  }
  return out;
}

describe('compact events', () => {
  for (const seed of [1, 3]) {
    it(`analyse exactly as plain events, every anomaly planted (seed ${seed})`, async function () {
      this.timeout(60000);
      const dir = tempDir();
      generateSessionsFolder(dir, { seed, anomalies: everyAnomaly(seed === 1 ? 1 : 2), sessions: 16 });
      const [c, p] = [await analyses(dir, true), await analyses(dir, false)];
      assert.ok(c.size >= 12, `sessions: ${c.size}`);
      assert.deepStrictEqual([...c.keys()], [...p.keys()]);
      for (const [sid, v] of c) assert.deepStrictEqual(v, p.get(sid), `session ${sid}`);
    });
  }

  it('analyse exactly as plain events with every long user message kept by reference (text allowance 0)', async function () {
    this.timeout(60000);
    const dir = tempDir();
    generateSessionsFolder(dir, { seed: 1, anomalies: everyAnomaly(1), sessions: 16 });
    const [c, p] = [await analyses(dir, true, 0), await analyses(dir, false)];
    assert.deepStrictEqual([...c.keys()], [...p.keys()]);
    for (const [sid, v] of c) assert.deepStrictEqual(v, p.get(sid), `session ${sid}`);
    // The allowance was used: messages were read back, not held.
    const d = await discoverSessions(dir);
    let lazy = 0;
    let turns = 0;
    for (const s of d.sessions) {
      const j = new SessionJournal(d.sessionsDir, s.sessionId, { maxInlineTextChars: 0 });
      j.setShards(s.shards);
      await j.refresh();
      const a = j.analyze(OPTS);
      lazy += a.events.filter((e) => hasLazyContent(e)).length;
      for (const t of a.turns) {
        turns++;
        assert.ok(
          !Object.values(t).some((v) => typeof v === 'string' && v.length > INLINE_CONTENT_CHARS && v === t.userMessage),
          'the turn holds no long message',
        );
        assert.ok(!Object.prototype.hasOwnProperty.call(t, 'steps'), 'the turn holds no steps');
      }
    }
    assert.ok(lazy >= 10 && turns > 20, `lazy ${lazy}, turns ${turns}`);
  });

  it('keep user messages within the session allowance, read the rest back; a rewritten shard never gives another line’s text', async () => {
    const { dir, journal } = sessionsDir();
    const file = path.join(journal, 'sess~1.jsonl');
    const long = (k: number): string => `question ${k} ${'ü'.repeat(80)}`;
    fs.writeFileSync(file, [1, 2, 3].map((k) => lifecycle(`t${k}`, T0 + k * 10, 'completed', { content: long(k) })).join(''));
    const j = new SessionJournal(dir, 'sess', { maxInlineTextChars: long(1).length + 5 });
    j.setShards(shardFilesFor(journal, ['sess~1.jsonl']));
    await j.refresh();
    const subs = j.analyze(OPTS).events.filter((e) => e.name === 'submitted');
    assert.deepStrictEqual(
      subs.map((e) => hasLazyContent(e)),
      [false, true, true],
    );
    decodedLines.clear();
    const a = j.analyze(OPTS);
    assert.deepStrictEqual(
      a.turns.map((t) => t.userMessage),
      [long(1), long(2), long(3)],
    );
    assert.deepStrictEqual(
      subs.map((e) => contentOf(e)),
      [long(1), long(2), long(3)],
    );
    // Another writer rewrites the shard (other turns) before we refresh: the text is unknown, never another line's.
    fs.writeFileSync(file, [1, 2, 3].map((k) => lifecycle(`x${k}`, T0 + k * 10)).join(''));
    decodedLines.clear();
    assert.strictEqual(a.turns[0].userMessage, long(1), 'held in memory');
    assert.strictEqual(a.turns[1].userMessage, null);
    assert.strictEqual((subs[1] as CompactEvent).stale, true);
    assert.strictEqual(subs[2].data.content, undefined);
    // A refresh re-reads the replaced file and gives the allowance back.
    await j.refresh();
    assert.deepStrictEqual(
      j.analyze(OPTS).turns.map((t) => t.userMessage),
      ['question x1', 'question x2', 'question x3'],
    );
  });

  it('audit a folder the same whether the next session is read ahead or only after the current one is handed out', async function () {
    this.timeout(60000);
    const dir = tempDir();
    generateSessionsFolder(dir, { seed: 3, anomalies: everyAnomaly(1), sessions: 8 });
    const report = async (readAheadMaxBytes?: number): Promise<string> => {
      const r = await auditFolder(dir, { now: OPTS.now, readAheadMaxBytes });
      assert.ok(r.sessions.length >= 6, `sessions: ${r.sessions.length}`);
      return JSON.stringify({ ...r, generated_at: '' });
    };
    assert.strictEqual(await report(0), await report());
  });

  it('hold no parsed object, and read each line back by byte offset (BOM, CRLF, non-ASCII, NaN)', async () => {
    const { journal } = sessionsDir();
    const file = path.join(journal, 'sess~1.jsonl');
    const text =
      '\ufeff' +
      line(ev('submitted', 't1', T0, { content: 'héllo wörld — 你好 \u2028 two' })) +
      line(ev('worker_started', 't1', T0 + 1)).replace('\n', '\r\n') +
      '{"event":"assistant_started","turn_id":"t1","created_at":NaN}\n' +
      lifecycle('t2', T0 + 10);
    fs.writeFileSync(file, text);
    const compact = new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20, compact: true });
    const full = new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20 });
    await Promise.all([compact.refresh(), full.refresh()]);
    assert.strictEqual(compact.contents.events.length, 7);
    decodedLines.clear();
    compact.contents.events.forEach((e, i) => {
      assert.ok(e instanceof CompactEvent);
      assert.ok(!Object.prototype.hasOwnProperty.call(e, 'data'), 'no parsed object held');
      const want = full.contents.events[i];
      if (Number.isNaN(want.createdAtRaw)) assert.ok(Number.isNaN(e.data.created_at));
      else assert.deepStrictEqual(e.data, want.data);
      assert.deepStrictEqual(plain(e), plain(want));
      assert.strictEqual(e.stale, undefined);
    });
    assert.strictEqual(compact.contents.events[0].fields!.content, 'héllo wörld — 你好 \u2028 two');
    assert.deepStrictEqual(compact.contents.events[1].fields, {});
  });

  it('never read another line as the event: a rewritten shard gives the fields kept, flagged stale', async () => {
    const { journal } = sessionsDir();
    const file = path.join(journal, 'sess~1.jsonl');
    fs.writeFileSync(file, lifecycle('t1', T0, 'interrupted'));
    const r = new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20, compact: true });
    await r.refresh();
    decodedLines.clear();
    // Another writer replaces the file (same length, other turn) before we refresh.
    fs.writeFileSync(file, lifecycle('t9', T0, 'interrupted'));
    const sub = r.contents.events[0] as CompactEvent;
    assert.deepStrictEqual(sub.data, {
      event: 'submitted',
      stream_id: 'stream-t1',
      turn_id: 't1',
      created_at: T0,
      content: 'question t1',
      attachments: [],
      model: 'gpt-x',
      model_provider: 'openai',
    });
    assert.strictEqual(sub.stale, true);
    const intr = r.contents.events[3];
    assert.strictEqual(intr.data.reason, 'cancelled');
    assert.strictEqual(intr.data.turn_id, 't1');
    // Gone: the same.
    fs.rmSync(file);
    assert.strictEqual(r.contents.events[1].data.turn_id, 't1');
  });

  it('keep their fixed fields in columns: values survive growth, a re-read and a rewrite; equal short fields are one object, never two different ones', async () => {
    const { journal } = sessionsDir();
    const file = path.join(journal, 'sess~1.jsonl');
    let text = '';
    for (let i = 0; i < 300; i++) text += lifecycle(`t${i}`, T0 + i * 20, i % 7 === 0 ? 'interrupted' : 'completed');
    // A model that spells another field's key: its fields must not be taken for { model: 'a', model_provider: 'b' }.
    const sub = (turn: string, at: unknown, f: Record<string, unknown>): string => line({ event: 'submitted', turn_id: turn, created_at: at, ...f });
    text += sub('x1', T0 + 9000, { model: 'a;model_provider=sb' });
    text += sub('x2', T0 + 9001, { model: 'a', model_provider: 'b;' });
    text += sub('x3', 'soon', { model: 'a', model_provider: 'b' });
    fs.writeFileSync(file, text);
    const [c, p] = [true, false].map((compact) => new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20, compact }));
    await Promise.all([c.refresh(), p.refresh()]);
    const events = c.contents.events;
    assert.strictEqual(events.length, p.contents.events.length);
    events.forEach((e, i) => assert.deepStrictEqual(plain(e), plain(p.contents.events[i]), `event ${i}`));
    // Every completed event has { assistant_message_index: 1 }: one object for all of them.
    const completed = events.filter((e) => e.name === 'completed');
    assert.ok(completed.length > 200 && completed.every((e) => e.fields === completed[0].fields));
    const [x1, x2, x3] = events.slice(-3);
    assert.deepStrictEqual(x1.fields, { model: 'a;model_provider=sb' });
    assert.deepStrictEqual(x2.fields, { model: 'a', model_provider: 'b;' });
    assert.deepStrictEqual(x3.fields, { model: 'a', model_provider: 'b' });
    assert.strictEqual(x3.createdAtRaw, 'soon');
    assert.strictEqual(x3.sortKey, 0);
    // The file is replaced by another: a full re-read starts new columns, the events read before keep their values.
    const before = events.map(plain);
    fs.writeFileSync(file, lifecycle('z', T0 + 1, null));
    await c.refresh();
    assert.strictEqual(c.contents.events.length, 3);
    assert.strictEqual(c.contents.events[0].turnId, 'z');
    const kept = events.map((e) => ({ ...plain(e), data: undefined }));
    assert.deepStrictEqual(
      kept,
      before.map((e) => ({ ...e, data: undefined })),
    );
  });

  it('read once (the CLI audit: interning tables dropped after the read), still read appends right', async () => {
    const { journal } = sessionsDir();
    const file = path.join(journal, 'sess~1.jsonl');
    fs.writeFileSync(file, lifecycle('t1', T0) + lifecycle('t2', T0 + 30, null));
    const r = new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20, compact: true, readOnce: true });
    await r.refresh();
    fs.appendFileSync(file, line(ev('completed', 't2', T0 + 50, { assistant_message_index: 1 })) + lifecycle('t3', T0 + 60));
    await r.refresh();
    const p = new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20 });
    await p.refresh();
    assert.strictEqual(r.contents.events.length, 12);
    r.contents.events.forEach((e, i) => assert.deepStrictEqual(plain(e), plain(p.contents.events[i]), `event ${i}`));
    const cols = (r.contents.events[0] as CompactEvent).cols;
    assert.strictEqual(new Set(cols.strs).size, cols.strs.length, 'each name and id interned once');
  });

  it("report a session's turn states with upstream's dictionary when it says the same, their own when not", async () => {
    const { dir, journal } = sessionsDir();
    const report = async (): Promise<{ states: Record<string, string>; up: Record<string, string> | undefined }> => {
      const j = new SessionJournal(dir, 'sess', {});
      j.setShards(shardFilesFor(journal, ['sess~1.jsonl']));
      await j.refresh();
      const a = await analyzeWithUpstream(j, OPTS);
      return { states: sessionReport(a).states, up: a.upstream?.states };
    };
    fs.writeFileSync(path.join(journal, 'sess~1.jsonl'), lifecycle('t1', T0) + lifecycle('t2', T0 + 30, 'interrupted') + lifecycle('t3', T0 + 60, null));
    const same = await report();
    assert.strictEqual(same.states, same.up);
    assert.deepStrictEqual({ ...same.states }, { t1: 'completed', t2: 'interrupted', t3: 'assistant_started' });
    // A time upstream's float() raises on: its derivation fails (no states), ours goes on.
    fs.appendFileSync(path.join(journal, 'sess~1.jsonl'), line(ev('worker_started', 't1', 'later')));
    const other = await report();
    assert.notStrictEqual(other.states, other.up);
    assert.deepStrictEqual(other.up, {});
    assert.deepStrictEqual(Object.keys(other.states), ['t1', 't2', 't3']);
    assert.strictEqual(Object.getPrototypeOf(other.states), null);
  });

  it('serialise to JSON with their data, like plain events', async () => {
    const { journal } = sessionsDir();
    const file = path.join(journal, 'sess~1.jsonl');
    fs.writeFileSync(file, lifecycle('t1', T0));
    const [c, p] = [true, false].map((compact) => new ShardReader(file, 'sess~1.jsonl', { maxLineBytes: 1 << 20, compact }));
    await Promise.all([c.refresh(), p.refresh()]);
    const strip = (e: Record<string, unknown>): Record<string, unknown> => {
      delete e.path;
      delete e.fields;
      return e;
    };
    for (let i = 0; i < 4; i++) {
      assert.deepStrictEqual(strip(JSON.parse(JSON.stringify(c.contents.events[i]))), JSON.parse(JSON.stringify(p.contents.events[i])));
    }
  });
});
