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
import { sessionReport } from '../../src/core/audit';
import { CompactEvent, decodedLines } from '../../src/core/compactEvent';
import { discoverSessions } from '../../src/core/discovery';
import { analyzeWithUpstream, SessionJournal } from '../../src/core/session';
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

async function analyses(dir: string, compact: boolean): Promise<Map<string, unknown>> {
  const d = await discoverSessions(dir);
  const out = new Map<string, unknown>();
  for (const s of d.sessions) {
    const j = new SessionJournal(d.sessionsDir, s.sessionId, { compact });
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
