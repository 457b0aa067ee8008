import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { SessionJournal, shardFilesFor } from '../../src/core/session';
import type { SessionAnalysis } from '../../src/core/analyze';
import * as os from 'os';
import { discoverSessions } from '../../src/core/discovery';
import { everyAnomaly, generateSessionsFolder } from '../support/fixtures';
import {
  buildTimelineModel,
  estimateTurnHeight,
  matchesFilter,
  outlineCode,
  stubRow,
  TimelineIndex,
  versionHash,
  type TimelineFilter,
  NO_FILTER,
  searchableText,
  type TimelineLineRow,
  type TimelineModel,
  type TimelineRow,
  type TimelineTurnRow,
} from '../../src/core/timelineModel';
import { formatBytes, formatDuration, formatOffset, stepLabel } from '../../src/shared/timelineFormat';
import { ev, lifecycle, line, sessionsDir, T0 } from './helpers';

const NOW = T0 + 86400;

async function analyze(
  files: Record<string, string>,
  sidecar?: unknown,
): Promise<{ a: SessionAnalysis; journal: SessionJournal; dir: string; journalDir: string }> {
  const { dir, journal } = sessionsDir();
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(journal, name), content);
  if (sidecar !== undefined) fs.writeFileSync(path.join(dir, 'sess.json'), JSON.stringify(sidecar, null, 2));
  const j = new SessionJournal(dir, 'sess');
  j.setShards(shardFilesFor(journal, Object.keys(files).sort()));
  await j.refresh();
  return { a: j.analyze({ now: NOW, staleAfterSeconds: 3600 }), journal: j, dir, journalDir: journal };
}

const turns = (m: TimelineModel): TimelineTurnRow[] => m.rows.filter((r): r is TimelineTurnRow => r.kind === 'turn');
const lines = (m: TimelineModel): TimelineLineRow[] => m.rows.filter((r): r is TimelineLineRow => r.kind === 'line');
const layout = (m: TimelineModel): string[] => m.rows.map((r) => (r.kind === 'turn' ? r.turnId : `${r.problem}@${r.line}`));

function sidecarFor(ids: string[], replies: Record<string, string> = {}): unknown {
  return {
    session_id: 'sess',
    title: 'Trip planning',
    model: 'gpt-x',
    messages: ids.flatMap((t) => [
      { role: 'user', content: `question ${t}`, timestamp: T0 },
      { role: 'assistant', content: replies[t] ?? `answer ${t}`, timestamp: T0 + 1 },
    ]),
  };
}

describe('timeline view-model', () => {
  it('one row per turn in time order, merged across shards, with steps and relative times', async () => {
    const { a } = await analyze(
      { 'sess~1.jsonl': lifecycle('t1', T0) + lifecycle('t3', T0 + 200), 'sess~2.jsonl': lifecycle('t2', T0 + 100) },
      sidecarFor(['t1']),
    );
    const m = buildTimelineModel(a, { now: NOW, openedShard: 'sess~2.jsonl' });
    assert.deepStrictEqual(layout(m), ['t1', 't2', 't3']);
    const t1 = turns(m)[0];
    assert.strictEqual(t1.ordinal, 1);
    assert.strictEqual(t1.status, 'completed');
    assert.deepStrictEqual(
      t1.steps.map((s) => `${s.label} ${formatOffset(s.sinceStart)}`),
      ['submitted +0 s', 'worker +0.2 s', 'assistant +1.1 s', 'completed +14.3 s'],
    );
    assert.strictEqual(t1.userMessage, 'question t1');
    assert.strictEqual(t1.reply, 'answer t1', 'the reply comes from the sidecar message at assistant_message_index');
    assert.strictEqual(t1.model, 'gpt-x');
    assert.ok(Math.abs(t1.total! - 14.3) < 1e-6);
    // Opened shard marking
    assert.deepStrictEqual(
      turns(m).map((t) => t.own),
      [false, true, false],
    );
    assert.ok(turns(m)[1].steps.every((s) => s.own && s.shard === 'sess~2.jsonl'));
    assert.deepStrictEqual(
      m.header.shards.map((s) => [s.name, s.own]),
      [
        ['sess~1.jsonl', false],
        ['sess~2.jsonl', true],
      ],
    );
    assert.strictEqual(m.header.title, 'Trip planning');
    assert.strictEqual(m.header.counts.turns, 3);
    assert.deepStrictEqual(m.header.counts.byStatus, { completed: 3 });
  });

  it('a terminal collision lists both terminal events with time, shard and line', async () => {
    const { a } = await analyze({
      'sess~1.jsonl': lifecycle('t1', T0),
      'sess~2.jsonl': line(ev('interrupted', 't1', T0 + 20, { reason: 'rate_limit' })),
    });
    const m = buildTimelineModel(a, { now: NOW });
    const t1 = turns(m)[0];
    assert.deepStrictEqual(
      t1.collision?.map((c) => [c.name, c.at, `${c.shard}:${c.line}`, c.reason]),
      [
        ['completed', T0 + 14.3, 'sess~1.jsonl:4', null],
        ['interrupted', T0 + 20, 'sess~2.jsonl:1', 'rate_limit'],
      ],
    );
    assert.strictEqual(t1.state, 'interrupted');
    assert.strictEqual(t1.reason, 'rate_limit');
    assert.ok(t1.findings.some((f) => f.kind === 'terminal_collision'));
    assert.strictEqual(m.header.counts.collisions, 1);
    assert.ok(matchesFilter(t1, { ...NO_FILTER, status: 'collision' }));
  });

  it('malformed, glued and torn lines sit where they are in the shard, raw text kept', async () => {
    const raw = '<script>alert(1)</script>';
    const { a } = await analyze({
      'sess~1.jsonl': lifecycle('t1', T0) + raw + '\n' + lifecycle('t2', T0 + 100) + '{"event":"subm' + line(ev('submitted', 't3', T0 + 150)) + '{"ev',
    });
    const m = buildTimelineModel(a, { now: NOW, openedShard: 'sess~1.jsonl' });
    assert.deepStrictEqual(layout(m), ['t1', 'malformed@5', 't2', 'glued@10', 't3', 'torn@11']);
    const [bad, glued, torn] = lines(m);
    assert.strictEqual(bad.raw, raw);
    assert.strictEqual(bad.malformedKind, 'not_json');
    assert.ok(bad.own);
    assert.strictEqual(bad.near, T0 + 14.3);
    assert.deepStrictEqual(glued.glued && [glued.glued.name, glued.glued.turnId], ['submitted', 't3']);
    assert.ok(glued.findings.some((f) => f.kind === 'glued_event'));
    assert.strictEqual(torn.problem, 'torn');
    assert.ok(torn.findings.some((f) => f.kind === 'torn_tail'));
    // A turn known only from a glued line is a recovered turn with recovered steps.
    const t3 = turns(m).find((t) => t.turnId === 't3')!;
    assert.strictEqual(t3.status, 'recovered');
    assert.ok(t3.steps.every((s) => s.recovered));
    assert.ok(matchesFilter(bad, { ...NO_FILTER, status: 'broken' }));
    assert.ok(!matchesFilter(turns(m)[0], { ...NO_FILTER, status: 'broken' }));
  });

  it('a broken first line sits before the shard’s first event', async () => {
    const { a } = await analyze({ 'sess~1.jsonl': 'garbage\n' + lifecycle('t1', T0) });
    assert.deepStrictEqual(layout(buildTimelineModel(a, { now: NOW })), ['malformed@1', 't1']);
  });

  it('dangling, open, interrupted and orphan turns get their status and findings', async () => {
    const { a } = await analyze({
      'sess~1.jsonl':
        lifecycle('t1', T0, null) + lifecycle('t2', T0 + 10, 'interrupted') + lifecycle('t3', NOW - 30, null) + line(ev('completed', 't4', T0 + 40)),
    });
    const m = buildTimelineModel(a, { now: NOW });
    const byId = new Map(turns(m).map((t) => [t.turnId, t]));
    assert.strictEqual(byId.get('t1')!.status, 'dangling');
    assert.ok(byId.get('t1')!.findings.some((f) => f.kind === 'dangling_turn'));
    assert.strictEqual(byId.get('t2')!.status, 'interrupted');
    assert.strictEqual(byId.get('t2')!.reason, 'cancelled');
    assert.strictEqual(byId.get('t3')!.status, 'open');
    assert.ok(byId.get('t4')!.findings.some((f) => f.kind === 'orphan_turn'));
    assert.deepStrictEqual(m.header.counts.byStatus, { dangling: 1, interrupted: 1, open: 1, completed: 1 });
    assert.ok(m.header.findingKinds.length > 0);
    assert.ok(!matchesFilter(byId.get('t3')!, { ...NO_FILTER, findingsOnly: true }) || byId.get('t3')!.findings.length > 0);
    assert.ok(matchesFilter(byId.get('t1')!, { ...NO_FILTER, status: 'dangling', findingsOnly: true }));
  });

  it('feedback slot: null without a source, rendered data when one is given', async () => {
    const { a } = await analyze({ 'sess~1.jsonl': lifecycle('t1', T0) + lifecycle('t2', T0 + 50) });
    assert.strictEqual(turns(buildTimelineModel(a, { now: NOW }))[0].feedback, null);
    const m = buildTimelineModel(a, { now: NOW, feedback: (id) => (id === 't2' ? { rating: 'down', comment: 'wrong city' } : null) });
    assert.deepStrictEqual(turns(m)[1].feedback, { rating: 'down', comment: 'wrong city' });
    assert.ok(matchesFilter(turns(m)[1], { ...NO_FILTER, feedbackOnly: true }));
    assert.ok(!matchesFilter(turns(m)[0], { ...NO_FILTER, feedbackOnly: true }));
    assert.notStrictEqual(turns(m)[1].version, turns(buildTimelineModel(a, { now: NOW }))[1].version);
  });

  it('versions change only for rows that changed after an append', async () => {
    const { a, journal, journalDir } = await analyze({ 'sess~1.jsonl': lifecycle('t1', T0) + lifecycle('t2', T0 + 50, null) });
    const before = buildTimelineModel(a, { now: NOW });
    fs.appendFileSync(path.join(journalDir, 'sess~1.jsonl'), line(ev('completed', 't2', T0 + 70)) + lifecycle('t3', T0 + 100));
    await journal.refresh();
    const after = buildTimelineModel(journal.analyze({ now: NOW, staleAfterSeconds: 3600 }), { now: NOW });
    const v = (m: TimelineModel) => new Map(m.rows.map((r) => [r.key, r.version]));
    assert.strictEqual(v(after).get('t:t1'), v(before).get('t:t1'));
    assert.notStrictEqual(v(after).get('t:t2'), v(before).get('t:t2'));
    assert.deepStrictEqual(layout(after), ['t1', 't2', 't3']);
  });

  it('search text covers message, reply, turn id and reason', async () => {
    const { a } = await analyze({ 'sess~1.jsonl': lifecycle('t1', T0, 'interrupted', { content: 'Where is Lisbon?' }) }, sidecarFor(['t1']));
    const row: TimelineRow = buildTimelineModel(a, { now: NOW }).rows[0];
    const text = searchableText(row);
    for (const s of ['Where is Lisbon?', 't1', 'cancelled']) assert.ok(text.includes(s), s);
  });

  it('the model is plain serialisable data', async () => {
    const { a } = await analyze({ 'sess~1.jsonl': lifecycle('t1', T0) + 'x\n' }, sidecarFor(['t1']));
    const m = buildTimelineModel(a, { now: NOW });
    assert.deepStrictEqual(JSON.parse(JSON.stringify(m)), m);
  });
});

describe('windowed timeline (TimelineIndex)', () => {
  const FILTERS: Partial<TimelineFilter>[] = [
    {},
    { status: 'broken' },
    { status: 'collision' },
    { findingsOnly: true },
    { feedbackOnly: true },
    ...(['completed', 'interrupted', 'live', 'open', 'dangling', 'recovered', 'other'] as const).map((status) => ({ status })),
  ];

  it('outline and stubs agree with the full rows (filters, codes, versions, heights, search) on folders with every anomaly', async function () {
    this.timeout(60_000);
    let sessions = 0;
    for (const seed of [1, 3]) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-timeline-window-'));
      try {
        generateSessionsFolder(dir, { seed, anomalies: everyAnomaly(seed === 1 ? 1 : 2), sessions: 12 });
        for (const s of (await discoverSessions(dir)).sessions) {
          const j = new SessionJournal(dir, s.sessionId);
          j.setShards(s.shards);
          await j.refresh();
          const a = j.analyze({ now: NOW, staleAfterSeconds: 3600 });
          const options = {
            now: NOW,
            openedShard: s.shards[0]?.name,
            feedback: (id: string) => (id.endsWith('1') ? { rating: 'down' as const, comment: 'Wrong' } : null),
          };
          const model = buildTimelineModel(a, options);
          const index = new TimelineIndex(a, options);
          const outline = index.outline();
          assert.deepStrictEqual(index.rows(0, index.size), model.rows);
          let ordinal = 0;
          model.rows.forEach((r, i) => {
            if (r.kind === 'turn') ordinal++;
            assert.strictEqual(outline.keys[i], r.key);
            assert.strictEqual(index.indexOfKey(r.key), i);
            assert.strictEqual(outline.codes[i], outlineCode(r), r.key);
            assert.strictEqual(outline.versions[i], versionHash(r.version), r.key);
            const stub = stubRow(outline, i, ordinal);
            assert.strictEqual(outlineCode(stub), outline.codes[i], r.key);
            if (r.kind === 'turn') {
              const inputs = { ...r, collisions: r.collision?.length ?? 0, findings: r.findings.length, reason: !!r.reason, feedback: r.feedback !== null };
              assert.strictEqual(outline.est[i], estimateTurnHeight(inputs, false, false), r.key);
            }
            for (const f of FILTERS)
              assert.strictEqual(matchesFilter(stub, { ...NO_FILTER, ...f }), matchesFilter(r, { ...NO_FILTER, ...f }), `${r.key} ${JSON.stringify(f)}`);
          });
          for (const q of ['wrong', 'the', 'a', 'TURN', 'zzz-none', s.sessionId.slice(0, 6)]) {
            const want = model.rows.filter((r) => searchableText(r).toLowerCase().includes(q.toLowerCase())).map((r) => r.key);
            assert.deepStrictEqual(index.search(q), want, q);
          }
          sessions++;
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
    assert.ok(sessions >= 20, `${sessions} sessions`);
  });
});

describe('timeline formatting', () => {
  it('formats offsets and durations', () => {
    assert.deepStrictEqual([0, 0.2, 1.1, 14.3, 125, 7300].map(formatOffset), ['+0 s', '+0.2 s', '+1.1 s', '+14.3 s', '+2 min 5 s', '+2 h 2 min']);
    assert.strictEqual(formatOffset(null), '');
    assert.strictEqual(formatDuration(3 * 86400), '3 days');
    assert.strictEqual(formatBytes(2.5 * 1024 * 1024), '2.5 MB');
    assert.strictEqual(stepLabel('worker_started'), 'worker');
    assert.strictEqual(stepLabel('custom_event'), 'custom_event');
  });
});
