import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { markCollisionReviewed } from '../../src/core/repair/review';
import { SessionIndex, type IndexChange } from '../../src/core/sessionIndex';
import { SummaryPool } from '../../src/core/sessions/summaryPool';
import { everyAnomaly, generateLargeFolder, generateLargeSession, generateSessionsFolder } from '../support/fixtures';
import { exportFolder, turnLines, writeSession } from './feedbackFixture';
import { T0, tempDir } from './helpers';

/** The bundle esbuild builds beside the extension's (dist/summaryWorker.js); out/test/core → the repository. */
const WORKER = path.join(__dirname, '..', '..', '..', 'dist', 'summaryWorker.js');

/**
 * A sessions folder with every kind of session a summary reads: feedback files, a repair log's review, hermes-webui's
 * thumbs, run journals (settled, and a FIFO and a symlink named like one), open turns and collisions, a FIFO sidecar,
 * a torn sidecar, a missing one, a symlinked one, a FIFO feedback file, a symlink in the journal folder.
 */
async function hostileFolder(): Promise<{ dir: string; hermes: string }> {
  const dir = exportFolder();
  const j = path.join(dir, '_turn_journal');
  await markCollisionReviewed(dir, { sessionId: 's3', turnId: 'c1', note: 'provider retried', reviewer: 'ana' });
  writeSession(dir, 's4', turnLines('s4', 'f1', T0 + 5, 'fifo sidecar', 1), []);
  fs.rmSync(path.join(dir, 's4.json'));
  execFileSync('mkfifo', [path.join(dir, 's4.json')]);
  writeSession(dir, 's5', turnLines('s5', 'g1', T0 + 6, 'torn sidecar', 1), [{ role: 'user', content: 'torn sidecar' }]);
  const torn = fs.readFileSync(path.join(dir, 's5.json'));
  fs.writeFileSync(path.join(dir, 's5.json'), torn.subarray(0, torn.length - 7));
  writeSession(dir, 's6', turnLines('s6', 'h1', T0 + 7, 'no sidecar', null, null) + '{"torn": ', []);
  fs.rmSync(path.join(dir, 's6.json'));
  execFileSync('mkfifo', [path.join(dir, '_turn_feedback', 's6.jsonl')]);
  writeSession(dir, 's7', turnLines('s7', 'k1', T0 + 8, 'Hi', 1), []);
  fs.rmSync(path.join(dir, 's7.json'));
  fs.symlinkSync(path.join(dir, 's2.json'), path.join(dir, 's7.json'));
  // A shard that is a symbolic link to another session's shard (inside the folder), and one to a FIFO.
  fs.symlinkSync(path.join(j, 's2~100.jsonl'), path.join(j, 's8~100.jsonl'));
  execFileSync('mkfifo', [path.join(dir, 'fifo-target')]);
  fs.symlinkSync(path.join(dir, 'fifo-target'), path.join(j, 's9~100.jsonl'));
  // Run journals of s1: a settled run of t2, a run of no turn, and hostile neighbours named like runs.
  const runs = path.join(dir, '_run_journal', 's1');
  fs.mkdirSync(runs, { recursive: true });
  const run = (id: string, seq: number, state: string | null) =>
    JSON.stringify({
      version: 1,
      event_id: `${id}:${seq}`,
      seq,
      run_id: id,
      session_id: 's1',
      event: state ? 'done' : 'token',
      type: state ? 'done' : 'token',
      created_at: T0 + seq,
      terminal: state !== null,
      terminal_state: state,
      payload: {},
    }) + '\n';
  fs.writeFileSync(path.join(runs, 'st-t2.jsonl'), run('st-t2', 1, null) + run('st-t2', 2, 'completed'));
  fs.writeFileSync(path.join(runs, 'st-nobody.jsonl'), run('st-nobody', 1, null));
  execFileSync('mkfifo', [path.join(runs, 'st-fifo.jsonl')]);
  fs.symlinkSync(path.join(runs, 'st-t2.jsonl'), path.join(runs, 'st-link.jsonl'));
  // hermes-webui's own thumbs (by message index).
  const hermes = path.join(tempDir(), 'feedback.jsonl');
  const h = (o: object) => JSON.stringify(o) + '\n';
  fs.writeFileSync(
    hermes,
    h({ ts: T0 + 500, session_id: 's1', rating: 'down', index: 3, reason: 'inaccurate' }) +
      h({ ts: T0 + 600, session_id: 's2', rating: 'up', index: 1 }) +
      h({ ts: T0 + 700, session_id: 's3', rating: 'up', index: 9 }),
  );
  return { dir, hermes };
}

interface Run {
  index: SessionIndex;
  changes: string[];
}

type Options = { summaryWorker?: string; summaryWorkers?: number; hermesFeedback?: string; now?: () => number };

async function summarizeAll(dir: string, options: Options): Promise<Run> {
  const index = new SessionIndex({ now: () => T0 + 86400, ...options });
  await index.setRoots([{ sessionsDir: dir, source: 'setting' }]);
  const changes: string[] = [];
  index.onDidChange((c: IndexChange) => Array.isArray(c.sessions) && changes.push(...c.sessions));
  index.summarizeInBackground(dir);
  await index.whenBackgroundIdle();
  return { index, changes };
}

function hermesOf(r: Run, dir: string): Record<string, unknown> {
  return Object.fromEntries(r.index.sessions(dir).map((s) => [s.sessionId, [...r.index.hermesFeedback(dir, s.sessionId)]]));
}

describe('summary workers (cold background summaries off the host thread)', function () {
  this.timeout(60_000);
  before(function () {
    if (process.platform === 'win32') this.skip();
    assert.ok(fs.existsSync(WORKER), `${WORKER} (node esbuild.js builds it)`);
  });

  it('summaries computed on 1 and 2 workers deep-equal the ones computed on this thread, on folders with every anomaly, FIFOs, symlinks, a 3 MB session and a backlog of 200 small ones', async () => {
    const { dir: hostile, hermes } = await hostileFolder();
    const generated = tempDir('bma-worker-gen-');
    generateSessionsFolder(generated, { seed: 5, anomalies: everyAnomaly(2), sessions: 40 });
    const demo = tempDir('bma-worker-demo-');
    fs.cpSync(path.join(__dirname, '..', '..', '..', 'demo', 'sessions'), demo, { recursive: true });
    // One session over the worker's plain-events bound (1 MiB of shards): read with compact events there.
    const large = tempDir('bma-worker-large-');
    generateLargeSession(large, { bytes: 3 * 1024 * 1024, shards: 2, seed: 6, sidecars: true });
    // The bench's small sessions, more than two batches of them: a backlog, so 2 workers both compute.
    const many = tempDir('bma-worker-many-');
    generateLargeFolder(many, { sessions: 200, eventsPerSession: 12, shardsPerSession: 2, contentChars: 80, seed: 12 });
    for (const [dir, least] of [
      [hostile, 7],
      [generated, 30],
      [demo, 9],
      [large, 1],
      [many, 200],
    ] as const) {
      const here = await summarizeAll(dir, { hermesFeedback: hermes });
      const n = here.index.sessions(dir).length;
      assert.ok(n >= least, `${n} sessions in ${dir}`);
      for (const workers of [1, 2]) {
        const there = await summarizeAll(dir, { hermesFeedback: hermes, summaryWorker: WORKER, summaryWorkers: workers });
        assert.strictEqual(there.index.summaryWorkerError, null);
        assert.strictEqual(there.index.summariesFromWorkers, n, 'every summary was computed by a worker');
        if (dir === many) assert.strictEqual(there.index.summaryWorkersRunning, workers, 'a backlog: every worker started');
        assert.deepStrictEqual(there.index.exportCache(), here.index.exportCache());
        assert.deepStrictEqual(hermesOf(there, dir), hermesOf(here, dir), "hermes-webui's thumbs per turn, as matched");
        assert.deepStrictEqual(there.changes.sort(), here.changes.sort(), 'one change per session');
        // The same fingerprints: a cache of worker summaries validates with nothing stale, and a second pass computes nothing.
        const warm = new SessionIndex({ now: () => T0 + 86400, hermesFeedback: hermes });
        await warm.setRoots([{ sessionsDir: dir, source: 'setting' }]);
        warm.importCache(there.index.exportCache());
        assert.deepStrictEqual(await warm.validateCached(dir), []);
        there.changes.length = 0;
        there.index.summarizeInBackground(dir);
        await there.index.whenBackgroundIdle();
        assert.deepStrictEqual(there.changes, [], 'nothing changed: no event');
        assert.strictEqual(there.index.summariesFromWorkers, n, 'unchanged fingerprints: nothing recomputed');
        there.index.dispose();
      }
      here.index.dispose();
    }
    const s = (await summarizeAll(hostile, { hermesFeedback: hermes, summaryWorker: WORKER })).index;
    assert.strictEqual(s.cachedSummary(hostile, 's4')?.title, null, 'the FIFO sidecar is not read');
    assert.ok((s.cachedSummary(hostile, 's3')?.reviewedFindings ?? 0) > 0, "the repair log's review reached the worker");
    assert.ok((s.cachedSummary(hostile, 's1')?.hermesDown ?? 0) > 0, "hermes-webui's thumbs reached the worker");
    assert.ok((s.cachedSummary(hostile, 's6')?.lineFindings.length ?? 0) > 0, 'the torn tail is a located finding');
    assert.ok((s.cachedSummary(hostile, 's1')?.thumbsUp ?? 0) > 0, 'the feedback file was read');
    s.dispose();
  });

  it('a session queued again before its batch started is not queued twice (the tree asks for every missing summary at each refresh)', async () => {
    const dir = tempDir('bma-worker-dedupe-');
    generateSessionsFolder(dir, { seed: 4, anomalies: everyAnomaly(1), sessions: 300 });
    const index = new SessionIndex({ now: () => T0 + 86400, summaryWorker: WORKER });
    await index.setRoots([{ sessionsDir: dir, source: 'setting' }]);
    const n = index.sessions(dir).length;
    assert.ok(n >= 300);
    // The first call starts two batches of 64 (one worker, two in flight); their sessions may be sent again, no other.
    for (let k = 0; k < 5; k++) index.summarizeInBackground(dir);
    await index.whenBackgroundIdle();
    assert.ok(index.summaryJobsSent >= n && index.summaryJobsSent <= n + 2 * 64, `${index.summaryJobsSent} sent for ${n} sessions`);
    assert.strictEqual(index.summariesFromWorkers, n, 'each computed once');
    // Queued again once done: sent again (a file may have changed), found unchanged.
    const sent = index.summaryJobsSent;
    index.summarizeInBackground(dir);
    await index.whenBackgroundIdle();
    assert.strictEqual(index.summaryJobsSent, sent + n);
    assert.strictEqual(index.summariesFromWorkers, n);
    index.dispose();
  });

  it('an open turn is recomputed on the worker once the clock moves on, as on this thread', async () => {
    const { dir } = await hostileFolder();
    let now = T0 + 100;
    const here = await summarizeAll(dir, { now: () => now });
    const there = await summarizeAll(dir, { now: () => now, summaryWorker: WORKER });
    assert.deepStrictEqual(there.index.exportCache(), here.index.exportCache());
    const open = here.index.sessions(dir).filter((s) => (here.index.cachedSummary(dir, s.sessionId)?.open ?? 0) > 0);
    assert.ok(open.length > 0);
    now = T0 + 86400 * 3;
    for (const r of [here, there]) {
      r.index.summarizeInBackground(dir);
      await r.index.whenBackgroundIdle();
    }
    assert.deepStrictEqual(there.index.exportCache(), here.index.exportCache());
    for (const s of open) assert.strictEqual(there.index.cachedSummary(dir, s.sessionId)?.computedAt, now, s.sessionId);
    here.index.dispose();
    there.index.dispose();
  });

  it('a session whose journal is kept (being viewed) is summarized on this thread, through the journal cache', async () => {
    const { dir } = await hostileFolder();
    const index = new SessionIndex({ now: () => T0 + 86400, summaryWorker: WORKER });
    await index.setRoots([{ sessionsDir: dir, source: 'setting' }]);
    const kept = await index.analyze(dir, 's1');
    index.summarizeInBackground(dir);
    await index.whenBackgroundIdle();
    assert.strictEqual(index.summariesFromWorkers, index.sessions(dir).length - 1);
    assert.strictEqual(index.lastAnalysis(dir, 's1'), kept, 'the kept analysis is still the one the timeline reads');
    index.dispose();
  });

  it('falls back to this thread when the worker cannot start, with the same summaries', async () => {
    const { dir } = await hostileFolder();
    const here = await summarizeAll(dir, {});
    const broken = await summarizeAll(dir, { summaryWorker: path.join(os.tmpdir(), 'no-such-summary-worker.js') });
    assert.match(broken.index.summaryWorkerError ?? '', /no-such-summary-worker|Cannot find module/);
    assert.strictEqual(broken.index.summariesFromWorkers, 0);
    assert.deepStrictEqual(broken.index.exportCache(), here.index.exportCache());
    here.index.dispose();
    broken.index.dispose();
  });

  it('starts a worker with the first batch and lets it go once idle; a new batch starts one again', async () => {
    const { dir } = await hostileFolder();
    const pool = new SummaryPool(WORKER, 2, 50);
    const batch = { sessionsDir: dir, maxLineBytes: 1 << 20, staleAfterSeconds: 3600, now: T0, feedbackDir: true, runsDir: true, jobs: [] };
    assert.strictEqual(pool.running, 0);
    const [a, b] = await Promise.all([pool.run(batch), pool.run(batch)]);
    assert.deepStrictEqual([a, b], [[], []]);
    assert.strictEqual(pool.running, 1, 'two batches: the second waits behind the first, no second worker');
    await new Promise((r) => setTimeout(r, 300));
    const three = await Promise.all([pool.run(batch), pool.run(batch), pool.run(batch)]);
    assert.deepStrictEqual(three, [[], [], []]);
    assert.strictEqual(pool.running, 2, 'a second worker for a backlog (the first had a batch waiting)');
    await new Promise((r) => setTimeout(r, 300));
    assert.strictEqual(pool.running, 0, 'let go after the idle time');
    assert.deepStrictEqual(await pool.run(batch), []);
    assert.strictEqual(pool.running, 1);
    pool.dispose();
    assert.strictEqual(pool.running, 0);
    await assert.rejects(pool.run(batch), /disposed/);
  });

  it('drops the answers of a root removed, or an index disposed, mid-batch; workers are let go', async () => {
    const dir = tempDir('bma-worker-cancel-');
    generateSessionsFolder(dir, { seed: 9, anomalies: everyAnomaly(1), sessions: 300 });
    const index = new SessionIndex({ now: () => T0 + 86400, summaryWorker: WORKER, summaryWorkers: 2 });
    await index.setRoots([{ sessionsDir: dir, source: 'setting' }]);
    index.summarizeInBackground(dir);
    await new Promise((r) => setTimeout(r, 5));
    await index.setRoots([]);
    await index.whenBackgroundIdle();
    assert.deepStrictEqual(index.exportCache().summaries, {}, 'nothing stored for a root that went');
    assert.strictEqual(index.summaryWorkerError, null);

    const gone = new SessionIndex({ now: () => T0 + 86400, summaryWorker: WORKER });
    await gone.setRoots([{ sessionsDir: dir, source: 'setting' }]);
    gone.summarizeInBackground(dir);
    await new Promise((r) => setTimeout(r, 5));
    gone.dispose();
    await gone.whenBackgroundIdle();
    assert.strictEqual(gone.summaryWorkersRunning, 0, 'terminated on dispose');
    index.dispose();
    assert.strictEqual(index.summaryWorkersRunning, 0);
  });
});
