import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPAIR_LOG_NAME } from '../../src/core/repair/log';
import { SessionIndex, SUMMARY_CACHE_VERSION, type IndexChange } from '../../src/core/sessionIndex';
import { ev, lifecycle, line, sessionsDir, T0 } from './helpers';
import * as os from 'os';
import { everyAnomaly, generateSessionsFolder } from '../support/fixtures';
import { exportFolder } from './feedbackFixture';

function setup() {
  const a = sessionsDir();
  const b = sessionsDir();
  fs.writeFileSync(path.join(a.journal, 's1~1.jsonl'), lifecycle('t1', T0));
  fs.writeFileSync(path.join(a.journal, 's2~1.jsonl'), lifecycle('t2', T0, null));
  fs.writeFileSync(
    path.join(a.dir, 's1.json'),
    JSON.stringify({
      title: 'First',
      messages: [
        { role: 'user', content: 'question t1' },
        { role: 'assistant', content: 'x' },
      ],
    }),
  );
  fs.writeFileSync(path.join(b.journal, 'x~1.jsonl'), lifecycle('t3', T0) + 'junk\n');
  return { a, b };
}

describe('SessionIndex', () => {
  it('lists sessions of several roots before parsing anything, then summarizes lazily', async () => {
    const { a, b } = setup();
    const index = new SessionIndex({ now: () => T0 + 86400 });
    await index.setRoots([
      { sessionsDir: a.dir, source: 'setting' },
      { sessionsDir: b.journal, source: 'workspace' },
      { sessionsDir: a.dir, source: 'default' },
    ]);
    assert.deepStrictEqual(
      index.roots().map((r) => r.id),
      [a.dir, b.dir],
    );
    assert.deepStrictEqual(
      index.sessions(a.dir).map((s) => s.sessionId),
      ['s1', 's2'],
    );
    assert.strictEqual(index.cachedSummary(a.dir, 's1'), undefined);
    const s1 = await index.summarize(a.dir, 's1');
    assert.strictEqual(s1?.title, 'First');
    assert.strictEqual(s1?.worst, null);
    const s2 = await index.summarize(a.dir, 's2');
    assert.strictEqual(s2?.open, 1);
    assert.strictEqual(s2?.worst, 'warning');
    const x = await index.summarize(b.dir, 'x');
    assert.strictEqual(x?.malformed, 1);
    assert.strictEqual(x?.worst, 'error');
  });

  it('background summaries fire one change per session as they arrive', async () => {
    const { a } = setup();
    const index = new SessionIndex({ now: () => T0 + 86400 });
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      index.onDidChange((c: IndexChange) => {
        if (Array.isArray(c.sessions)) seen.push(...c.sessions);
        if (seen.length === 2) resolve();
      });
    });
    index.summarizeInBackground(a.dir);
    await done;
    assert.deepStrictEqual(seen.sort(), ['s1', 's2']);
  });

  it('re-reads only appended bytes for a kept journal, and picks up new shards and deletions', async () => {
    const { a } = setup();
    const index = new SessionIndex({ now: () => T0 + 86400 });
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    const first = await index.analyze(a.dir, 's2');
    assert.strictEqual(first?.turns[0].state, 'assistant_started');
    fs.appendFileSync(path.join(a.journal, 's2~1.jsonl'), line(ev('completed', 't2', T0 + 20)));
    assert.ok(await index.fileChanged(path.join(a.journal, 's2~1.jsonl'), 'changed'));
    assert.strictEqual(index.lastAnalysis(a.dir, 's2')?.turns[0].state, 'completed');

    fs.writeFileSync(path.join(a.journal, 's2~2.jsonl'), line(ev('interrupted', 't2', T0 + 30, { reason: 'x' })));
    await index.fileChanged(path.join(a.journal, 's2~2.jsonl'), 'created');
    assert.deepStrictEqual(
      index
        .sessions(a.dir)
        .find((s) => s.sessionId === 's2')
        ?.shards.map((s) => s.name),
      ['s2~1.jsonl', 's2~2.jsonl'],
    );
    assert.strictEqual(index.lastAnalysis(a.dir, 's2')?.counts.collisions, 1);

    fs.rmSync(path.join(a.journal, 's1~1.jsonl'));
    await index.fileChanged(path.join(a.journal, 's1~1.jsonl'), 'deleted');
    assert.deepStrictEqual(
      index.sessions(a.dir).map((s) => s.sessionId),
      ['s2'],
    );
  });

  it('reuses a persisted summary while the fingerprint matches, and drops it when a file changes', async () => {
    const { a } = setup();
    const one = new SessionIndex({ now: () => T0 + 86400 });
    await one.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    await one.summarize(a.dir, 's1');
    const cache = JSON.parse(JSON.stringify(one.exportCache()));

    const two = new SessionIndex({ now: () => T0 + 86400 });
    two.importCache(cache);
    await two.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    assert.deepStrictEqual(await two.validateCached(a.dir), []);
    assert.strictEqual(two.cachedSummary(a.dir, 's1')?.title, 'First');
    fs.appendFileSync(path.join(a.journal, 's1~1.jsonl'), 'junk\n');
    assert.deepStrictEqual(await two.validateCached(a.dir), ['s1']);
    assert.strictEqual((await two.summarize(a.dir, 's1'))?.malformed, 1);
  });

  it('ignores a persisted cache of an older version even when its fingerprints still match (its counts followed other rules)', async () => {
    const { a } = setup();
    const one = new SessionIndex({ now: () => T0 + 86400 });
    await one.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    const fresh = await one.summarize(a.dir, 's1');
    const cache = JSON.parse(JSON.stringify(one.exportCache()));
    assert.strictEqual(cache.version, SUMMARY_CACHE_VERSION);
    // What version 1 wrote: the bare record of summaries, counting every completed turn as reviewable.
    const k = Object.keys(cache.summaries)[0];
    const v1 = { [k]: { ...cache.summaries[k], reviewable: fresh!.reviewable + 5 } };
    for (const old of [v1, { version: SUMMARY_CACHE_VERSION - 1, summaries: v1 }, { version: SUMMARY_CACHE_VERSION + 1, summaries: v1 }]) {
      const two = new SessionIndex({ now: () => T0 + 86400 });
      two.importCache(old);
      await two.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
      assert.strictEqual(two.cachedSummary(a.dir, 's1'), undefined, `not loaded: ${JSON.stringify(Object.keys(old))}`);
      assert.strictEqual((await two.summarize(a.dir, 's1'))?.reviewable, fresh!.reviewable, 'recomputed by the current rule');
    }
    // The current version with the same (wrong) counts is trusted by fingerprint: the version is what protects.
    const three = new SessionIndex({ now: () => T0 + 86400 });
    three.importCache({ version: SUMMARY_CACHE_VERSION, summaries: v1 });
    await three.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    assert.strictEqual(three.cachedSummary(a.dir, 's1')?.reviewable, fresh!.reviewable + 5);
  });

  it('a FIFO at the repair log name neither blocks nor hides the summaries (the log is read non-blocking, regular files only)', async function () {
    if (process.platform === 'win32') this.skip();
    const { a } = setup();
    execFileSync('mkfifo', [path.join(a.dir, REPAIR_LOG_NAME)]);
    const index = new SessionIndex({ now: () => T0 + 86400 });
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    // A blocking open of the FIFO would never return (no writer): the test would time out.
    const s1 = await index.summarize(a.dir, 's1');
    assert.strictEqual(s1?.title, 'First');
    assert.strictEqual(s1?.reviewedFindings, undefined);
  });

  it("background summaries (the fingerprint's stats reused by the reads) neither open nor block on a FIFO sidecar or feedback file, and say what one by one says", async function () {
    if (process.platform === 'win32') this.skip();
    const { a } = setup();
    fs.rmSync(path.join(a.dir, 's1.json'));
    execFileSync('mkfifo', [path.join(a.dir, 's1.json')]);
    fs.mkdirSync(path.join(a.dir, '_turn_feedback'));
    execFileSync('mkfifo', [path.join(a.dir, '_turn_feedback', 's2.jsonl')]);
    const one = new SessionIndex({ now: () => T0 + 86400 });
    const batch = new SessionIndex({ now: () => T0 + 86400 });
    await one.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    await batch.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    for (const s of one.sessions(a.dir)) await one.summarize(a.dir, s.sessionId);
    // A blocking open of either FIFO would never return (no writer): the test would time out.
    batch.summarizeInBackground(a.dir);
    await batch.whenBackgroundIdle();
    assert.deepStrictEqual(batch.exportCache(), one.exportCache());
    assert.strictEqual(batch.cachedSummary(a.dir, 's1')?.title, null, 'the FIFO sidecar is not read');
    assert.match(batch.feedbackFile(a.dir, 's2')?.fileInfo.error ?? '', /not a regular file/);
  });

  it('background summaries (shared root stamps, synchronous stats) equal summaries computed one by one, on folders with every anomaly', async function () {
    this.timeout(60_000);
    const dirs = [1, 3].map((seed) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-summaries-'));
      generateSessionsFolder(dir, { seed, anomalies: everyAnomaly(seed === 1 ? 1 : 2), sessions: 16 });
      return dir;
    });
    const demo = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-summaries-demo-'));
    fs.cpSync(path.join(__dirname, '..', '..', '..', 'demo', 'sessions'), demo, { recursive: true });
    dirs.push(demo);
    // With a feedback folder (per-session feedback files stat-ed; the demo and generated folders have none).
    dirs.push(exportFolder());
    try {
      for (const dir of dirs) {
        const one = new SessionIndex({ now: () => T0 + 86400 });
        const batch = new SessionIndex({ now: () => T0 + 86400 });
        await one.setRoots([{ sessionsDir: dir, source: 'setting' }]);
        await batch.setRoots([{ sessionsDir: dir, source: 'setting' }]);
        const ids = one.sessions(dir).map((x) => x.sessionId);
        assert.ok(ids.length >= 3, `${ids.length} sessions in ${dir}`);
        for (const id of ids) await one.summarize(dir, id);
        batch.summarizeInBackground(dir);
        await batch.whenBackgroundIdle();
        assert.deepStrictEqual(batch.exportCache(), one.exportCache());
        // A cached summary validates by the same fingerprint (stats only): nothing is stale.
        const warm = new SessionIndex({ now: () => T0 + 86400 });
        await warm.setRoots([{ sessionsDir: dir, source: 'setting' }]);
        warm.importCache(batch.exportCache());
        assert.deepStrictEqual(await warm.validateCached(dir), []);
      }
    } finally {
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run journal that appears, grows or goes after a summary was cached makes it stale; FIFOs and symlinks named like one are neither opened nor followed', async function () {
    if (process.platform === 'win32') this.skip();
    const { a } = setup();
    const index = new SessionIndex({ now: () => T0 + 86400 });
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    const before = await index.summarize(a.dir, 's1');
    assert.deepStrictEqual(before?.findings, { error: 0, warning: 0, info: 0 });
    const cache = JSON.parse(JSON.stringify(index.exportCache()));
    // What the full analysis of the session (a fresh index, nothing cached) says now.
    const full = async () => {
      const fresh = new SessionIndex({ now: () => T0 + 86400 });
      await fresh.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
      const an = (await fresh.analyze(a.dir, 's1'))!;
      return { findings: an.counts.findings, kinds: an.findings.map((f) => f.kind).sort(), summary: fresh.cachedSummary(a.dir, 's1')! };
    };
    const runs = path.join(a.dir, '_run_journal', 's1');
    fs.mkdirSync(runs, { recursive: true });
    // Hostile neighbours named like run journals: a FIFO (an open would block: no writer) and a symlink to a run outside.
    execFileSync('mkfifo', [path.join(runs, 'stream-fifo.jsonl')]);
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-run-outside-'));
    const run = (id: string, seq: number, event: string, state: string | null) =>
      line({
        version: 1,
        event_id: `${id}:${seq}`,
        seq,
        run_id: id,
        session_id: 's1',
        event,
        type: event,
        created_at: T0 + seq,
        terminal: state !== null,
        terminal_state: state,
        payload: {},
      });
    fs.writeFileSync(path.join(outside, 'stream-link.jsonl'), run('stream-link', 1, 'done', 'completed'));
    fs.symlinkSync(path.join(outside, 'stream-link.jsonl'), path.join(runs, 'stream-link.jsonl'));
    const file = path.join(runs, 'stream-t1.jsonl');
    const expect = async (label: string, stale: string[]) => {
      const f = await full();
      assert.ok(!f.kinds.includes('run_without_turn'), `${label}: neither the FIFO nor the symlink is read as a run`);
      const two = new SessionIndex({ now: () => T0 + 86400 });
      two.importCache(cache);
      await two.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
      assert.deepStrictEqual(await two.validateCached(a.dir), stale, `${label}: validateCached`);
      const again = (await index.summarize(a.dir, 's1'))!;
      assert.deepStrictEqual(again.findings, f.findings, `${label}: the summary says what the full analysis says`);
      assert.deepStrictEqual({ ...again, computedAt: 0 }, { ...f.summary, computedAt: 0 }, label);
      const batch = new SessionIndex({ now: () => T0 + 86400 });
      await batch.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
      batch.importCache(cache);
      batch.summarizeInBackground(a.dir);
      await batch.whenBackgroundIdle();
      assert.deepStrictEqual({ ...batch.cachedSummary(a.dir, 's1')!, computedAt: 0 }, { ...f.summary, computedAt: 0 }, `${label}: background`);
      return f;
    };
    try {
      assert.deepStrictEqual((await expect('only hostile entries', [])).findings, before?.findings);
      // Appears: the completed turn's run has events but never settled.
      fs.writeFileSync(file, run('stream-t1', 1, 'token', null));
      assert.deepStrictEqual((await expect('appears', ['s1'])).kinds, ['run_unsettled']);
      // Grows: it settles as cancelled, which the turn journal's "completed" contradicts.
      fs.appendFileSync(file, run('stream-t1', 2, 'cancel', 'interrupted-by-user'));
      assert.deepStrictEqual((await expect('grows', ['s1'])).kinds, ['run_disagreement']);
      // Goes: back to the first summary.
      fs.rmSync(file);
      assert.deepStrictEqual((await expect('goes', [])).findings, before?.findings);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('locates shard and sidecar paths', async () => {
    const { a } = setup();
    const index = new SessionIndex();
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    assert.deepStrictEqual(index.locate(path.join(a.journal, 's1~99.jsonl')), { rootId: a.dir, sessionId: 's1' });
    assert.deepStrictEqual(index.locate(path.join(a.dir, 's2.json')), { rootId: a.dir, sessionId: 's2' });
    assert.strictEqual(index.locate('/elsewhere/x.jsonl'), undefined);
  });
});

describe('SessionIndex memory budget', () => {
  it('keeps full journals within a byte budget, always keeping the most recent one', async () => {
    const { a } = setup();
    const index = new SessionIndex({ now: () => T0 + 86400, keepJournalBytes: 1 });
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    await index.analyze(a.dir, 's1');
    assert.ok(index.lastAnalysis(a.dir, 's1'), 'the only journal is kept even over budget');
    await index.analyze(a.dir, 's2');
    assert.ok(index.lastAnalysis(a.dir, 's2'));
    assert.strictEqual(index.lastAnalysis(a.dir, 's1'), undefined, 'the older one was evicted');
    // Evicted sessions still summarize and analyze (from scratch).
    assert.strictEqual((await index.analyze(a.dir, 's1'))?.turns.length, 1);
  });

  it("counts a kept journal's sidecar (parsed, and the buffer kept for a rewrite's re-read) in the byte budget", async () => {
    const { a } = setup();
    // A large sidecar as hermes-webui writes it (indent=2): its buffer is kept for the re-read of a rewrite.
    const messages = [];
    for (let i = 0; i < 2000; i++) messages.push({ role: i % 2 ? 'assistant' : 'user', content: `message ${i} `.padEnd(400, 'x') });
    fs.writeFileSync(path.join(a.dir, 's1.json'), JSON.stringify({ title: 'First', messages }, null, 2));
    const sidecar = fs.statSync(path.join(a.dir, 's1.json')).size;
    const shards = fs.statSync(path.join(a.journal, 's1~1.jsonl')).size + fs.statSync(path.join(a.journal, 's2~1.jsonl')).size;
    assert.ok(sidecar > 512 * 1024, `${sidecar} bytes`);
    // Room for both journals' shards and the parsed sidecar, not for the kept buffer on top.
    const budget = shards + sidecar + 1024;
    const index = new SessionIndex({ now: () => T0 + 86400, keepJournalBytes: budget });
    await index.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    await index.analyze(a.dir, 's1');
    await index.analyze(a.dir, 's2');
    assert.strictEqual(index.lastAnalysis(a.dir, 's1'), undefined, 'the journal holding the large sidecar was evicted');
    assert.ok(index.lastAnalysis(a.dir, 's2'));
    // With room for the buffer too, both stay.
    const roomy = new SessionIndex({ now: () => T0 + 86400, keepJournalBytes: shards + 3 * sidecar });
    await roomy.setRoots([{ sessionsDir: a.dir, source: 'setting' }]);
    await roomy.analyze(a.dir, 's1');
    await roomy.analyze(a.dir, 's2');
    assert.ok(roomy.lastAnalysis(a.dir, 's1') && roomy.lastAnalysis(a.dir, 's2'), 'both kept within the bound');
  });
});
