import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { cohensKappa, krippendorffAlphaNominal, agreementReport, type Ratings } from '../../src/core/feedback/agreement';
import { datasetCard, writeExport } from '../../src/core/feedback/card';
import { exportTrainingData, type ExportFormat } from '../../src/core/feedback/export';
import { matchHermesFeedback, parseHermesFeedback, readHermesFeedbackFile } from '../../src/core/feedback/hermes';
import { findSensitive, luhnOk, redactText } from '../../src/core/feedback/redact';
import { appendCorrection, SessionFeedbackFile } from '../../src/core/feedback/store';
import { disagreementOf } from '../../src/core/feedback/latest';
import { SessionIndex } from '../../src/core/sessionIndex';
import { tempDir, T0 } from './helpers';
import { NOW, rate, turnLines, validateLine, writeSession, type Msg } from './feedbackFixture';

/** A sessions folder inside its own state dir (hermes' feedback.jsonl sits beside it). */
function stateDir(): { root: string; dir: string } {
  const root = tempDir();
  const dir = path.join(root, 'sessions');
  fs.mkdirSync(path.join(dir, '_turn_journal'), { recursive: true });
  return { root, dir };
}

/** One session, three turns: a 👍 a, b 👎 (to correct), c 👍 after it. */
function threeTurns(): { root: string; dir: string } {
  const s = stateDir();
  writeSession(s.dir, 'k', turnLines('k', 'a', T0, 'Q1', 1) + turnLines('k', 'b', T0 + 60, 'Q2', 3) + turnLines('k', 'c', T0 + 120, 'Q3', 5), [
    { role: 'user', content: 'Q1' },
    { role: 'assistant', content: 'A1 good' },
    { role: 'user', content: 'Q2' },
    { role: 'assistant', content: 'A2 WRONG' },
    { role: 'user', content: 'Q3' },
    { role: 'assistant', content: 'A3 good' },
  ]);
  rate(s.dir, 'k', 'a', 1, 1);
  rate(s.dir, 'k', 'b', -1, 2);
  rate(s.dir, 'k', 'c', 1, 3);
  return s;
}

const contents = (l: string) => JSON.stringify(JSON.parse(l));

describe('curation: training never learns a rejected answer', () => {
  it('every format leaves out examples with an uncorrected 👎 in the history; a correction replaces it and becomes the target', async () => {
    const { dir } = threeTurns();
    for (const format of ['sft', 'sft-messages', 'kto', 'openai-sft'] as ExportFormat[]) {
      const r = await exportTrainingData(dir, { format, hermesFeedback: null });
      assert.ok(!r.lines.some((l) => l.includes('A2 WRONG') && !(format === 'kto' && JSON.parse(l).label === false)), `${format}: ${r.lines.join('')}`);
      assert.strictEqual(r.summary.excluded.rejected_in_history, 1, format);
    }
    appendCorrection(dir, { sessionId: 'k', turnId: 'b', text: 'A2 right', reviewer: 'ana', at: new Date(NOW.getTime() + 4 * 60_000) });
    const sft = await exportTrainingData(dir, { format: 'sft', hermesFeedback: null });
    assert.deepStrictEqual(
      sft.lines.map((l) => JSON.parse(l).completion[0].content),
      ['A1 good', 'A2 right', 'A3 good'],
    );
    assert.deepStrictEqual(
      JSON.parse(sft.lines[2]).prompt.map((m: { content: string }) => m.content),
      ['Q1', 'A1 good', 'Q2', 'A2 right', 'Q3'],
    );
    for (const l of sft.lines) assert.strictEqual(validateLine('sft', l), null);
    assert.deepStrictEqual(sft.summary.included, { up: 2, down: 1, corrected: 1 });
    const msgs = await exportTrainingData(dir, { format: 'sft-messages', hermesFeedback: null });
    assert.ok(!msgs.lines.join('').includes('A2 WRONG'));
    for (const l of msgs.lines) assert.strictEqual(validateLine('sft-messages', l), null);
    const oai = await exportTrainingData(dir, { format: 'openai-sft', hermesFeedback: null });
    const last = JSON.parse(oai.lines[2]).messages as { role: string; content: string; weight?: number }[];
    assert.deepStrictEqual(
      last.filter((m) => m.role === 'assistant').map((m) => [m.content, m.weight]),
      [
        ['A1 good', 0],
        ['A2 right', 0],
        ['A3 good', 1],
      ],
    );
    assert.ok(last.filter((m) => m.role !== 'assistant').every((m) => !('weight' in m)));
    // The correction is a DPO pair: chosen = correction, rejected = the original.
    const dpo = await exportTrainingData(dir, { format: 'dpo', hermesFeedback: null });
    assert.deepStrictEqual(dpo.lines.map(contents), [
      JSON.stringify({
        prompt: [
          { role: 'user', content: 'Q1' },
          { role: 'assistant', content: 'A1 good' },
          { role: 'user', content: 'Q2' },
        ],
        chosen: [{ role: 'assistant', content: 'A2 right' }],
        rejected: [{ role: 'assistant', content: 'A2 WRONG' }],
      }),
    ]);
    const odpo = await exportTrainingData(dir, { format: 'openai-dpo', hermesFeedback: null });
    assert.deepStrictEqual(Object.keys(JSON.parse(odpo.lines[0])), ['input', 'preferred_output', 'non_preferred_output']);
    assert.deepStrictEqual(JSON.parse(odpo.lines[0]).preferred_output, [{ role: 'assistant', content: 'A2 right' }]);
    const kto = await exportTrainingData(dir, { format: 'kto', hermesFeedback: null });
    assert.deepStrictEqual(
      kto.lines.map((l) => [JSON.parse(l).completion[0].content, JSON.parse(l).label]),
      [
        ['A1 good', true],
        ['A2 right', true],
        ['A2 WRONG', false],
        ['A3 good', true],
      ],
    );
    // Latest correction wins; history kept; '' withdraws it.
    appendCorrection(dir, { sessionId: 'k', turnId: 'b', text: '', reviewer: 'ana', at: new Date(NOW.getTime() + 5 * 60_000) });
    const f = SessionFeedbackFile.forSession(dir, 'k');
    await f.refresh();
    assert.strictEqual(f.latestCorrections().get('b')!.history.length, 2);
    assert.strictEqual(f.problems.length, 0, 'correction records are not problems');
    assert.strictEqual((await exportTrainingData(dir, { format: 'sft', hermesFeedback: null })).lines.length, 1);
  });

  it("tool calls travel in TRL's form (arguments an object, tool name) and OpenAI's (arguments a string, ids)", async () => {
    const { dir } = stateDir();
    const msgs = [
      { role: 'user', content: 'Weather in Oslo?' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '3C' },
      { role: 'assistant', content: 'It is 3C in Oslo.' },
    ] as unknown as Msg[];
    writeSession(dir, 'w', turnLines('w', 'w1', T0, 'Weather in Oslo?', 3), msgs);
    rate(dir, 'w', 'w1', 1, 1);
    const trl = JSON.parse((await exportTrainingData(dir, { format: 'sft', hermesFeedback: null })).lines[0]);
    assert.deepStrictEqual(trl.prompt, [{ role: 'user', content: 'Weather in Oslo?' }]);
    assert.deepStrictEqual(trl.completion, [
      { role: 'assistant', content: '', tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
      { role: 'tool', content: '3C', name: 'get_weather' },
      { role: 'assistant', content: 'It is 3C in Oslo.' },
    ]);
    const oai = JSON.parse((await exportTrainingData(dir, { format: 'openai-sft', hermesFeedback: null })).lines[0]);
    assert.deepStrictEqual(oai.messages[1], {
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }],
      weight: 1,
    });
    assert.deepStrictEqual(oai.messages[2], { role: 'tool', content: '3C', tool_call_id: 'call_1' });
  });
});

describe("curation: hermes-webui's own thumbs", () => {
  it('maps index and message_id to turns as reviewer hermes-webui, lists unmatched records, never writes the file', async () => {
    const { root, dir } = threeTurns();
    const file = path.join(root, 'feedback.jsonl');
    const hermesLines = [
      { ts: T0 + 500, session_id: 'k', rating: 'down', profile: 'default', index: 5, reason: 'too_long' },
      { ts: T0 + 501, session_id: 'k', rating: 'up', profile: 'default', index: 2 },
      { ts: T0 + 502, session_id: 'nope', rating: 'up', profile: 'default', index: 1 },
      { ts: T0 + 503, session_id: 'k', rating: 'meh', index: 1 },
    ];
    const text = hermesLines.map((o) => JSON.stringify(o)).join('\n') + '\n';
    fs.writeFileSync(file, text);
    const before = fs.statSync(file);
    const read = await readHermesFeedbackFile(file);
    assert.strictEqual(read.records.length, 3);
    assert.match(read.problems[0], /feedback.jsonl:4: rating is "meh"/);
    const only = await exportTrainingData(dir, { format: 'kto', reviewers: ['hermes-webui'] });
    // Only hermes' ratings count: ana's 👎 on b is not in this export, so c's history is clean.
    assert.deepStrictEqual(
      only.lines.map((l) => [JSON.parse(l).completion[0].content, JSON.parse(l).label]),
      [['A3 good', false]],
    );
    assert.strictEqual(only.summary.hermes!.matched, 1);
    assert.deepStrictEqual(only.summary.hermes!.unmatched, [
      'k line 2: sidecar message 2 is not an assistant answer',
      'nope line 3: no session "nope" in ' + path.join(dir, '_turn_journal'),
    ]);
    assert.strictEqual(only.summary.excluded.other_reviewer, 2);
    // ana 👍 and hermes-webui 👎 on c: an even split under --resolve majority.
    const maj = await exportTrainingData(dir, { format: 'kto', resolve: 'majority' });
    assert.strictEqual(maj.summary.excluded.no_majority, 1);
    const after = fs.statSync(file);
    assert.strictEqual(fs.readFileSync(file, 'utf8'), text);
    assert.strictEqual(after.mtimeMs, before.mtimeMs);
    // message_id: the sidecar message whose id is it.
    const m = parseHermesFeedback({ ts: 1, session_id: 'k', rating: 'up', message_id: 'm-9' }, 1);
    assert.ok(typeof m !== 'string');
    const analysis = {
      sessionId: 'k',
      turns: [{ turnId: 'x', assistantMessageIndex: 1, lastAt: 1 }],
      sidecar: {
        messages: [
          { role: 'user', raw: {} },
          { role: 'assistant', raw: { id: 'm-9' } },
        ],
      },
    };
    assert.strictEqual(matchHermesFeedback([m], analysis as never).records[0].turnId, 'x');
  });

  it('the session index shows them: latest per turn, counts and disagreements in the summary, re-read when the file changes', async () => {
    const { root, dir } = threeTurns();
    rate(dir, 'k', 'a', -1, 4, { reviewer: 'bo' }); // ana 👍 vs bo 👎 on a: reviewers disagree
    const file = path.join(root, 'feedback.jsonl');
    const line = (o: object) => JSON.stringify(o) + '\n';
    // hermes on c: 👍 then 👎 (latest wins: 👎 vs ana's 👍); on b: 👎 like ana (agreement).
    fs.writeFileSync(
      file,
      line({ ts: T0 + 500, session_id: 'k', rating: 'up', index: 5 }) +
        line({ ts: T0 + 600, session_id: 'k', rating: 'down', index: 5, reason: 'too_long' }) +
        line({ ts: T0 + 700, session_id: 'k', rating: 'down', index: 3, reason: 'inaccurate' }),
    );
    const index = new SessionIndex({ now: () => T0 + 86400 });
    await index.setRoots([{ sessionsDir: dir, source: 'setting' }]);
    let sum = await index.summarize(dir, 'k');
    assert.deepStrictEqual([sum?.hermesUp, sum?.hermesDown, sum?.disagreements], [0, 2, 2]);
    const h = index.hermesFeedback(dir, 'k');
    assert.deepStrictEqual([...h.values()].map((f) => [f.turnId, f.value, f.reason, f.reviewer, f.history.length]).sort(), [
      ['b', -1, 'inaccurate', 'hermes-webui', 1],
      ['c', -1, 'too_long', 'hermes-webui', 2],
    ]);
    assert.deepStrictEqual(disagreementOf(index.feedback(dir, 'k').get('c'), h.get('c')), [
      { reviewer: 'ana', value: 1 },
      { reviewer: 'hermes-webui', value: -1 },
    ]);
    assert.strictEqual(disagreementOf(index.feedback(dir, 'k').get('b'), h.get('b')), null);
    // hermes appends a 👍 on c: the fingerprint changes, the summary follows.
    fs.appendFileSync(file, line({ ts: T0 + 800, session_id: 'k', rating: 'up', index: 5 }));
    assert.strictEqual(await index.fileChanged(file, 'changed'), true);
    sum = await index.summarize(dir, 'k');
    assert.deepStrictEqual([sum?.hermesUp, sum?.hermesDown, sum?.disagreements], [1, 1, 1]);
    // "off": none read.
    index.configure({ hermesFeedback: 'off' });
    sum = await index.summarize(dir, 'k');
    assert.deepStrictEqual([sum?.hermesUp, sum?.hermesDown, sum?.disagreements, index.hermesFeedback(dir, 'k').size], [0, 0, 1, 0]);
  });

  it('reads only a regular file: a FIFO is refused without blocking', async function () {
    const { root } = stateDir();
    const fifo = path.join(root, 'feedback.jsonl');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      this.skip();
    }
    const r = await readHermesFeedbackFile(fifo);
    assert.strictEqual(r.records.length, 0);
    assert.match(r.problems[0], /not a regular file/);
  });
});

describe('curation: several reviewers', () => {
  it("Cohen's kappa and Krippendorff's alpha match hand-computed values", () => {
    // 10 turns, two reviewers: ++ x4, -- x3, +- x2, -+ x1.
    const r: Ratings = new Map();
    const add = (i: number, a: string, b: string) =>
      r.set(
        `t${i}`,
        new Map([
          ['A', a],
          ['B', b],
        ]),
      );
    let i = 0;
    for (let k = 0; k < 4; k++) add(i++, 'up', 'up');
    for (let k = 0; k < 3; k++) add(i++, 'down', 'down');
    for (let k = 0; k < 2; k++) add(i++, 'up', 'down');
    add(i, 'down', 'up');
    const k = cohensKappa(r, 'A', 'B');
    assert.strictEqual(k.n, 10);
    assert.ok(Math.abs(k.observed! - 0.7) < 1e-12 && Math.abs(k.expected! - 0.5) < 1e-12);
    assert.ok(Math.abs(k.kappa! - 0.4) < 1e-12, String(k.kappa));
    // alpha = 1 - (n-1) * D_o / sum n_c n_k = 1 - 19 * 6 / (2 * 11 * 9) = 0.424242…
    assert.ok(Math.abs(krippendorffAlphaNominal(r).alpha! - (1 - 114 / 198)) < 1e-12);
    // Three reviewers, uneven units: {+,+,+}, {+,-}, {-,-,+}, and one single rating (not pairable).
    const r3: Ratings = new Map([
      [
        'u1',
        new Map([
          ['A', 'up'],
          ['B', 'up'],
          ['C', 'up'],
        ]),
      ],
      [
        'u2',
        new Map([
          ['A', 'up'],
          ['B', 'down'],
        ]),
      ],
      [
        'u3',
        new Map([
          ['A', 'down'],
          ['B', 'down'],
          ['C', 'up'],
        ]),
      ],
      ['u4', new Map([['A', 'up']])],
    ]);
    const a3 = krippendorffAlphaNominal(r3);
    assert.strictEqual(a3.units, 3);
    assert.strictEqual(a3.values, 8);
    assert.ok(Math.abs(a3.alpha! - (1 - 28 / 30)) < 1e-12, String(a3.alpha));
    // Perfect agreement with one category only: chance agreement 1, kappa undefined.
    assert.strictEqual(
      cohensKappa(
        new Map([
          [
            'x',
            new Map([
              ['A', 'up'],
              ['B', 'up'],
            ]),
          ],
        ]),
        'A',
        'B',
      ).kappa,
      null,
    );
  });

  it('--resolve latest | majority | unanimous, and the agreement report lists disagreements', async () => {
    const { dir } = stateDir();
    writeSession(dir, 'v', turnLines('v', 'v1', T0, 'Q', 1) + turnLines('v', 'v2', T0 + 60, 'R', 3), [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'A' },
      { role: 'user', content: 'R' },
      { role: 'assistant', content: 'B' },
    ]);
    rate(dir, 'v', 'v1', 1, 1, { reviewer: 'ana' });
    rate(dir, 'v', 'v1', 1, 2, { reviewer: 'bo' });
    rate(dir, 'v', 'v1', -1, 3, { reviewer: 'cy' });
    rate(dir, 'v', 'v2', 1, 4, { reviewer: 'ana' });
    rate(dir, 'v', 'v2', 1, 5, { reviewer: 'bo' });
    const labels = async (resolve: 'latest' | 'majority' | 'unanimous') =>
      (await exportTrainingData(dir, { format: 'kto', resolve, hermesFeedback: null })).lines.map(
        (l) => `${JSON.parse(l).completion[0].content}:${JSON.parse(l).label}`,
      );
    // latest: cy's 👎 on v1 wins, and v2 (after it) is left out: its history holds a rejected answer.
    assert.deepStrictEqual(await labels('latest'), ['A:false']);
    assert.deepStrictEqual(await labels('majority'), ['A:true', 'B:true']);
    const u = await exportTrainingData(dir, { format: 'kto', resolve: 'unanimous', hermesFeedback: null });
    assert.deepStrictEqual(u.lines.length, 1);
    assert.strictEqual(u.summary.excluded.not_unanimous, 1);
    const rep = await agreementReport(dir, null);
    assert.deepStrictEqual(rep.disagreements, [{ sessionId: 'v', turnId: 'v1', ratings: { ana: 'up', bo: 'up', cy: 'down' } }]);
    assert.strictEqual(rep.sharedTurns, 2);
    assert.deepStrictEqual(
      rep.kappa.map((k) => [k.a, k.b, k.n]),
      [
        ['ana', 'bo', 2],
        ['ana', 'cy', 1],
        ['bo', 'cy', 1],
      ],
    );
  });
});

describe('curation: redaction and the dataset card', () => {
  it('masks secrets and personal data (Luhn-checked cards), leaves ordinary numbers', () => {
    const t =
      'key sk-proj-abcdefghijklmnopqrstuvwxyz012345 and ghp_' +
      'a'.repeat(36) +
      ' AKIAIOSFODNN7EXAMPLE mail ana@example.org call +1 415-555-0132 ' +
      'card 4111 1111 1111 1111 not 4111 1111 1111 1112 at 10.0.0.12 password=hunter22 on 2026-01-02 order 12345';
    const r = redactText(t);
    for (const k of ['openai_key', 'github_token', 'aws_access_key', 'email', 'phone', 'card_number', 'ip_address', 'password_assignment'])
      assert.ok(r.text.includes(`[REDACTED:${k}]`), `${k}: ${r.text}`);
    for (const leak of ['sk-proj-abc', 'ghp_aaa', 'AKIAIOSF', 'ana@', '555-0132', '4111 1111 1111 1111', '10.0.0.12', 'hunter22'])
      assert.ok(!r.text.includes(leak), leak);
    assert.ok(r.text.includes('4111 1111 1111 1112') && r.text.includes('2026-01-02') && r.text.includes('order 12345'), r.text);
    assert.ok(luhnOk('4111111111111111') && !luhnOk('4111111111111112'));
    assert.strictEqual(findSensitive('nothing to see here, 42 apples').length, 0);
  });

  it('the export masks in the output only, writes a 0600 file and a card; 0 examples write nothing', async () => {
    const { root, dir } = stateDir();
    writeSession(dir, 'p', turnLines('p', 'p1', T0, 'my mail is ana@example.org', 1), [
      { role: 'user', content: 'my mail is ana@example.org' },
      { role: 'assistant', content: 'Noted, ana@example.org.' },
    ]);
    rate(dir, 'p', 'p1', 1, 1);
    const sidecar = fs.readFileSync(path.join(dir, 'p.json'), 'utf8');
    const r = await exportTrainingData(dir, { format: 'sft' });
    assert.ok(!r.lines.join('').includes('ana@example.org'));
    assert.deepStrictEqual(r.summary.redactions, { email: 2 });
    const out = path.join(root, 'train.jsonl');
    fs.writeFileSync(out, 'old', { mode: 0o644 });
    const w = writeExport(out, r.lines, r.summary, new Date('2026-03-01T00:00:00Z'))!;
    assert.strictEqual(fs.statSync(out).mode & 0o777, 0o600);
    assert.strictEqual(fs.statSync(w.card).mode & 0o777, 0o600);
    const card = fs.readFileSync(w.card, 'utf8');
    assert.match(card, /^---\nlicense: other/);
    for (const want of [
      'language:\n  - en',
      'task_categories:\n  - text-generation',
      'size_categories:\n  - n<1K',
      'configs:',
      'path: "train.jsonl"',
      '- `email`: 1'.replace('1', '2'),
      'reviewers: ana',
      'models: gpt\\-x',
    ])
      assert.ok(card.includes(want), `${want}\n${card}`);
    assert.strictEqual(fs.readFileSync(path.join(dir, 'p.json'), 'utf8'), sidecar, 'the sidecar is never masked');
    const raw = await exportTrainingData(dir, { format: 'sft', redact: false });
    assert.ok(raw.lines.join('').includes('ana@example.org'));
    assert.match(datasetCard(raw.summary, out), /\*\*Not redacted\*\*/);
    assert.strictEqual(writeExport(path.join(root, 'empty.jsonl'), [], raw.summary), null);
    assert.ok(!fs.existsSync(path.join(root, 'empty.jsonl')));
  });
});
