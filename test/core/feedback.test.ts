import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { spawn } from 'child_process';
import { appendFeedback, SessionFeedbackFile } from '../../src/core/feedback/store';
import { formatFeedbackRecord, feedbackFilePath, parseFeedbackRecord, type FeedbackValue } from '../../src/core/feedback/record';
import { isReviewed, latestPerTurn, timelineFeedbackOf } from '../../src/core/feedback/latest';
import { feedbackKey, latestFeedback, listFeedbackFiles, readFeedbackFile } from '../../src/core/feedback/read';
import { buildPrompt, exportTrainingData } from '../../src/core/feedback/export';
import { defaultReviewer } from '../../src/core/feedback/reviewer';
import { SessionIndex } from '../../src/core/sessionIndex';
import { Rng } from '../support/fixtures';
import { sessionsDir, tempDir, T0 } from './helpers';
import { exportFolder, NOW, rate, turnLines, validateLine, writeSession } from './feedbackFixture';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('feedback records', () => {
  it('appends the documented record shape, one line, and reads it back', async () => {
    const { dir } = sessionsDir();
    const rec = appendFeedback(dir, {
      sessionId: 's1',
      turnId: 't1',
      feedback: 1,
      note: 'good\nanswer',
      tags: ['geo', 'geo', ' '],
      reviewer: 'Ana',
      at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
    });
    const text = fs.readFileSync(feedbackFilePath(dir, 's1'), 'utf8');
    assert.strictEqual(text.split('\n').length, 2, 'one line with its newline');
    const o = JSON.parse(text);
    assert.deepStrictEqual(Object.keys(o), ['type', 'version', 'id', 'session_id', 'turn_id', 'feedback', 'note', 'tags', 'reviewer', 'timestamp']);
    assert.match(o.id, UUID);
    assert.deepStrictEqual(
      { ...o, id: 0 },
      {
        type: 'feedback',
        version: 1,
        id: 0,
        session_id: 's1',
        turn_id: 't1',
        feedback: 1,
        note: 'good\nanswer',
        tags: ['geo'],
        reviewer: 'Ana',
        timestamp: '2026-01-02T03:04:05.006Z',
      },
    );
    assert.strictEqual(rec.id, o.id);
    assert.strictEqual(fs.statSync(feedbackFilePath(dir, 's1')).mode & 0o777, 0o600);
    const f = SessionFeedbackFile.forSession(dir, 's1');
    await f.refresh();
    assert.strictEqual(f.records.length, 1);
    assert.strictEqual(f.records[0].raw, text.trimEnd());
    assert.strictEqual(f.latest().get('t1')?.value, 1);
  });

  it('refuses to write what it could not read back', () => {
    const bad = [
      { sessionId: '../x', turnId: 't', feedback: 1, reviewer: 'a' },
      { sessionId: 's', turnId: ' ', feedback: 1, reviewer: 'a' },
      { sessionId: 's', turnId: 't', feedback: 2, reviewer: 'a' },
      { sessionId: 's', turnId: 't', feedback: 1, reviewer: '  ' },
      { sessionId: 's', turnId: 't', feedback: 1, reviewer: 'a', note: 'x'.repeat(10_001) },
    ];
    for (const b of bad) assert.throws(() => formatFeedbackRecord(b as never), Error, JSON.stringify(b).slice(0, 80));
  });

  it('parses legacy interaction-log corrections as turnless and rejects wrong shapes with a reason', () => {
    const legacy = parseFeedbackRecord({ type: 'feedback', session_id: 's', feedback: -1, timestamp: '2026-01-01T00:00:00Z' }, 'f', 1, '');
    assert.ok(typeof legacy !== 'string' && legacy.turnId === null);
    assert.match(parseFeedbackRecord({ type: 'feedback', version: 1, session_id: 's', turn_id: 't', feedback: 5 }, 'f', 1, '') as string, /feedback is 5/);
    assert.match(parseFeedbackRecord({ type: 'note' }, 'f', 1, '') as string, /type is "note"/);
    assert.match(parseFeedbackRecord({ type: 'feedback', version: 2, session_id: 's', turn_id: 't', feedback: 1 }, 'f', 1, '') as string, /version 2/);
    assert.match(parseFeedbackRecord({ type: 'feedback', version: 1, session_id: 's', turn_id: 't', feedback: 1, tags: [1] }, 'f', 1, '') as string, /tags/);
    // Legacy records rate no turn.
    assert.strictEqual(latestPerTurn([legacy as never]).size, 0);
  });

  it('latest wins by timestamp, then file order, over many corrections; history keeps them all', async () => {
    const { dir } = sessionsDir();
    const rng = new Rng(42);
    const written: { turn: string; v: FeedbackValue; ms: number; line: number; note: string }[] = [];
    const f = SessionFeedbackFile.forSession(dir, 's');
    for (let i = 0; i < 400; i++) {
      const turn = `t${rng.int(0, 11)}`;
      const v = ([1, -1, 0] as FeedbackValue[])[rng.int(0, 2)];
      // Coarse times: many ties (file order decides), some out of order (timestamp decides).
      const ms = NOW.getTime() + rng.int(0, 60) * 1000;
      const note = `n${i}`;
      appendFeedback(dir, { sessionId: 's', turnId: turn, feedback: v, note, reviewer: 'r', at: new Date(ms) });
      written.push({ turn, v, ms, line: i + 1, note });
      if (i % 37 === 0) await f.refresh(); // incremental reads along the way
    }
    await f.refresh();
    const fresh = SessionFeedbackFile.forSession(dir, 's');
    await fresh.refresh();
    for (const reader of [f, fresh]) {
      const latest = reader.latest();
      const turns = new Set(written.map((w) => w.turn));
      assert.strictEqual(latest.size, turns.size);
      for (const t of turns) {
        const mine = written.filter((w) => w.turn === t);
        const expected = mine.reduce((best, w) => (w.ms > best.ms || (w.ms === best.ms && w.line > best.line) ? w : best));
        const got = latest.get(t)!;
        assert.strictEqual(got.note, expected.note, `turn ${t}`);
        assert.strictEqual(got.value, expected.v);
        assert.strictEqual(got.history.length, mine.length);
        assert.strictEqual(isReviewed(got), expected.v !== 0);
        // History is in winning order: timestamps never decrease.
        for (let i = 1; i < got.history.length; i++) assert.ok(Date.parse(got.history[i].timestamp!) >= Date.parse(got.history[i - 1].timestamp!));
      }
    }
    // The facade used by the SQLite index agrees.
    const file = await readFeedbackFile(feedbackFilePath(dir, 's'), '_turn_feedback/s.jsonl');
    const byFacade = latestFeedback(file.records);
    for (const [turn, tf] of fresh.latest()) assert.strictEqual(byFacade.get(feedbackKey('s', turn))?.note, tf.note);
    assert.deepStrictEqual(
      (await listFeedbackFiles(dir)).map((x) => x.name),
      ['_turn_feedback/s.jsonl'],
    );
  });

  it('0 clears the rating; the timeline shows nothing, or the note as neutral', async () => {
    const { dir } = sessionsDir();
    rate(dir, 's', 't', 1, 1, { note: 'nice' });
    rate(dir, 's', 't', 0, 2);
    rate(dir, 's', 'u', -1, 1);
    rate(dir, 's', 'u', 0, 2, { note: 'not sure any more' });
    const f = SessionFeedbackFile.forSession(dir, 's');
    await f.refresh();
    const t = f.latest().get('t')!;
    assert.strictEqual(t.value, 0);
    assert.strictEqual(t.history.length, 2);
    assert.strictEqual(isReviewed(t), false);
    assert.strictEqual(timelineFeedbackOf(t), null);
    assert.deepStrictEqual(timelineFeedbackOf(f.latest().get('u')), {
      rating: 'neutral',
      comment: 'not sure any more',
      reviewer: 'ana',
      source: '_turn_feedback/s.jsonl',
      at: NOW.getTime() / 1000 + 120,
      revisions: 2,
    });
  });

  it('garbage, wrong-shaped and torn lines are problems; the good records survive; a completed tail is read', async () => {
    const { dir } = sessionsDir();
    rate(dir, 's', 't1', 1, 1);
    const p = feedbackFilePath(dir, 's');
    fs.appendFileSync(p, 'not json at all\n{"type":"feedback","version":1,"session_id":"s","turn_id":"t1","feedback":"up"}\n');
    rate(dir, 's', 't2', -1, 2);
    const torn = formatFeedbackRecord({ sessionId: 's', turnId: 't3', feedback: 1, reviewer: 'r', at: NOW });
    fs.appendFileSync(p, torn.slice(0, 30));
    const f = SessionFeedbackFile.forSession(dir, 's');
    await f.refresh();
    assert.deepStrictEqual(
      f.records.map((r) => r.turnId),
      ['t1', 't2'],
    );
    assert.deepStrictEqual(
      f.problems.map((x) => [x.line, /not JSON|feedback is "up"|torn/.test(x.detail)]),
      [
        [2, true],
        [3, true],
        [5, true],
      ],
    );
    fs.appendFileSync(p, torn.slice(30) + '\n');
    await f.refresh();
    assert.deepStrictEqual(
      f.records.map((r) => r.turnId),
      ['t1', 't2', 't3'],
    );
    assert.strictEqual(f.problems.length, 2);
  });

  it('concurrent appends from 6 processes lose nothing and never interleave', async function () {
    this.timeout(30_000);
    const { dir } = sessionsDir();
    const worker = path.join(__dirname, '..', 'support', 'feedbackAppender.js');
    const N = 6;
    const COUNT = 150;
    await Promise.all(
      Array.from(
        { length: N },
        (_, w) =>
          new Promise<void>((resolve, reject) => {
            const p = spawn(process.execPath, [worker, dir, 'busy', String(w), String(COUNT)], { stdio: ['ignore', 'ignore', 'pipe'] });
            let errText = '';
            p.stderr.on('data', (d) => (errText += d));
            p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${w} exited ${code}: ${errText}`))));
          }),
      ),
    );
    const text = fs.readFileSync(feedbackFilePath(dir, 'busy'), 'utf8');
    const lines = text.split('\n');
    assert.strictEqual(lines.pop(), '', 'ends with a newline');
    assert.strictEqual(lines.length, N * COUNT);
    const f = SessionFeedbackFile.forSession(dir, 'busy');
    await f.refresh();
    assert.strictEqual(f.problems.length, 0);
    assert.strictEqual(f.records.length, N * COUNT);
    assert.strictEqual(new Set(f.records.map((r) => r.id)).size, N * COUNT, 'ids are unique');
    for (let w = 0; w < N; w++) {
      const notes = f.records.filter((r) => r.reviewer === `worker ${w}`).map((r) => r.note);
      assert.deepStrictEqual(
        notes,
        Array.from({ length: COUNT }, (_, i) => `w${w}-${i}`),
        `worker ${w}'s records, in its order`,
      );
    }
  });

  it('the reviewer defaults to the setting, else git user.name, else the OS user', async () => {
    assert.strictEqual(await defaultReviewer('  Configured Name '), 'Configured Name');
    const repo = tempDir('bma-git-');
    const name = await defaultReviewer('', repo);
    assert.ok(name.length > 0);
  });
});

describe('training-data export', () => {
  it('sft: prompt-completion for each 👍 answer; a 👎 earlier in the conversation leaves the example out', async () => {
    const dir = exportFolder();
    const { lines, summary } = await exportTrainingData(dir, { format: 'sft' });
    for (const l of lines) assert.strictEqual(validateLine('sft', l), null, l);
    const rows = lines.map((l) => JSON.parse(l) as { prompt: { content: string }[]; completion: { content: string }[] });
    assert.deepStrictEqual(
      rows.map((r) => r.completion.map((m) => m.content)),
      [['Hello!'], ['second try']],
    );
    assert.deepStrictEqual(
      rows[0].prompt.map((m) => m.content),
      ['Hi'],
    );
    // t4 (Madrid, 👍) follows t2 (Paris, 👎 without a correction): TRL would see Paris in the prompt only,
    // but sft-messages would train on it; the same rule for every format keeps it out.
    assert.deepStrictEqual(summary.included, { up: 2, down: 0, corrected: 0 });
    assert.deepStrictEqual(summary.excluded, {
      thumbs_down_in_sft: 2,
      rejected_in_history: 1,
      interrupted: 1,
      cleared: 1,
      collision: 1,
      not_finished: 1,
      answer_overwritten: 1,
      unknown_turn: 1,
    });
    assert.strictEqual(summary.ratedTurns, 11);
  });

  it('kto: every 👍/👎 answer with its label; none with a rejected answer in its prompt', async () => {
    const { lines, summary } = await exportTrainingData(exportFolder(), { format: 'kto' });
    for (const l of lines) assert.strictEqual(validateLine('kto', l), null, l);
    assert.deepStrictEqual(
      lines.map((l) => {
        const o = JSON.parse(l);
        return [o.completion[0].content, o.label];
      }),
      [
        ['Hello!', true],
        ['Paris', false],
        ['Go away.', false],
        ['second try', true],
      ],
    );
    assert.deepStrictEqual(summary.included, { up: 2, down: 2, corrected: 0 });
    assert.strictEqual(summary.excluded.rejected_in_history, 1);
  });

  it('dpo: a 👍 and a 👎 answer to the same prompt make a pair; the rest is unpaired', async () => {
    const { lines, summary } = await exportTrainingData(exportFolder(), { format: 'dpo' });
    assert.strictEqual(lines.length, 1);
    assert.strictEqual(validateLine('dpo', lines[0]), null);
    assert.deepStrictEqual(JSON.parse(lines[0]), {
      prompt: [{ role: 'user', content: 'Hi' }],
      chosen: [{ role: 'assistant', content: 'Hello!' }],
      rejected: [{ role: 'assistant', content: 'Go away.' }],
    });
    assert.strictEqual(summary.excluded.unpaired, 2);
    assert.deepStrictEqual(summary.included, { up: 1, down: 1, corrected: 0 });
  });

  it('filters by time, model and tag; includes interrupted and collisions only when asked', async () => {
    const dir = exportFolder();
    const geo = await exportTrainingData(dir, { format: 'kto', tags: ['geo'] });
    assert.deepStrictEqual(geo.summary.excluded.rejected_in_history, 1, 'the geo turn follows a 👎 answer');
    assert.strictEqual(geo.summary.excluded.tag_mismatch, 8);
    const model = await exportTrainingData(dir, { format: 'kto', model: 'gpt-y' });
    assert.strictEqual(model.lines.length, 0);
    assert.strictEqual(model.summary.excluded.other_model, 8);
    const window = await exportTrainingData(dir, { format: 'kto', since: T0 + 30, until: T0 + 100 });
    assert.deepStrictEqual(
      window.lines.map((l) => JSON.parse(l).completion[0].content),
      ['Paris', 'second try'],
    );
    const withCollisions = await exportTrainingData(dir, { format: 'sft', includeCollisions: true, includeInterrupted: true });
    assert.ok(withCollisions.lines.some((l) => l.includes('collided answer')));
    // The interrupted turn has no answer even when asked for.
    assert.strictEqual(withCollisions.summary.excluded.no_answer, 1);
  });

  it('a sidecar that disagrees with the journal is left out, not mislabelled', async () => {
    const { dir } = sessionsDir();
    writeSession(dir, 'm', turnLines('m', 'x1', T0, 'What I asked', 1), [
      { role: 'user', content: 'Something else' },
      { role: 'assistant', content: 'answer' },
    ]);
    rate(dir, 'm', 'x1', 1, 1);
    const r = await exportTrainingData(dir, { format: 'sft' });
    assert.strictEqual(r.lines.length, 0);
    assert.deepStrictEqual(r.summary.excluded, { context_mismatch: 1 });
  });

  it('equal input gives byte-equal output, whatever order the files were written in', async () => {
    const a = exportFolder();
    const b = tempDir();
    // Copy in reverse name order (different inode and directory order).
    const copy = (from: string, to: string) => {
      fs.mkdirSync(to, { recursive: true });
      for (const e of fs.readdirSync(from, { withFileTypes: true }).reverse()) {
        if (e.isDirectory()) copy(path.join(from, e.name), path.join(to, e.name));
        else fs.copyFileSync(path.join(from, e.name), path.join(to, e.name));
      }
    };
    copy(a, b);
    for (const format of ['sft', 'sft-messages', 'kto', 'dpo', 'openai-sft', 'openai-dpo'] as const) {
      const x = await exportTrainingData(a, { format });
      const y = await exportTrainingData(a, { format });
      const z = await exportTrainingData(b, { format });
      assert.strictEqual(x.lines.join(''), y.lines.join(''));
      assert.strictEqual(x.lines.join(''), z.lines.join(''));
      assert.deepStrictEqual(x.summary, z.summary);
    }
  });

  it('buildPrompt drops interruption markers with the messages they answered, and unknown roles', () => {
    const m = (role: string, content: string, error = false) => ({ role, content, timestamp: null, recovered: false, error, raw: {} });
    assert.deepStrictEqual(
      buildPrompt([
        m('system', 'be nice'),
        m('user', 'a'),
        m('user', 'b'),
        m('assistant', 'x', true),
        m('weird', 'w'),
        m('user', 'c'),
        m('assistant', 'd'),
        m('user', 'e'),
      ]),
      [
        { role: 'system', content: 'be nice' },
        { role: 'user', content: 'c' },
        { role: 'assistant', content: 'd' },
        { role: 'user', content: 'e' },
      ],
    );
  });
});

describe('SessionIndex with feedback', () => {
  it('summaries count reviewed of reviewable turns; a feedback append refreshes the session', async () => {
    const dir = exportFolder();
    const index = new SessionIndex({ now: () => T0 + 600 });
    await index.setRoots([{ sessionsDir: dir, source: 'other' }]);
    const s1 = await index.summarize(dir, 's1');
    assert.deepStrictEqual([s1?.reviewable, s1?.reviewed, s1?.thumbsUp, s1?.thumbsDown], [3, 3, 3, 1]);
    const s2 = await index.summarize(dir, 's2');
    assert.deepStrictEqual([s2?.reviewable, s2?.reviewed], [2, 1], 'a cleared turn is not reviewed');
    const changes: string[] = [];
    index.onDidChange((c) => changes.push(JSON.stringify(c.sessions)));
    rate(dir, 's2', 'u2', -1, 30);
    assert.strictEqual(await index.fileChanged(feedbackFilePath(dir, 's2'), 'changed'), true);
    assert.ok(changes.includes('["s2"]'), changes.join());
    assert.strictEqual(index.cachedSummary(dir, 's2')?.reviewed, 2);
    assert.strictEqual(index.feedback(dir, 's2').get('u2')?.value, -1);
    // Unknown sessions' feedback files are ignored, but belong to the root.
    assert.strictEqual(await index.fileChanged(path.join(dir, '_turn_feedback', 'nosuch.jsonl'), 'created'), true);
  });
});
