/**
 * The run-journal reader (src/core/runJournal.ts) against files written by upstream's own
 * `append_run_event` (when the mirror is here) and by hand for damage upstream's writer leaves.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { readRunEvents, settledOutcome, terminalStateFor, runJournalPath, listRunJournalsSync } from '../../src/core/runJournal';
import { pyJsonDumps, type PyJsonValue, PyFloat } from '../support/fixtures';
import { tempDir } from './helpers';
import { runUpstreamRunSummaries, runUpstreamWriter, upstreamUnavailable, type WriterStep } from '../support/upstreamPython';

/** One run-journal line in upstream's field order and serialisation. */
function runLine(runId: string, sid: string, seq: number, event: string, payload: PyJsonValue, at: number): string {
  const ts = terminalStateFor(event, payload);
  return (
    pyJsonDumps(
      new Map<string, PyJsonValue>([
        ['version', 1],
        ['event_id', `${runId}:${seq}`],
        ['seq', seq],
        ['run_id', runId],
        ['session_id', sid],
        ['event', event],
        ['type', event],
        ['created_at', new PyFloat(at)],
        ['terminal', ts !== null],
        ['terminal_state', ts],
        ['payload', payload],
      ]),
    ) + '\n'
  );
}

const ENDINGS: { name: string; events: [string, Record<string, unknown>][]; outcome: string }[] = [
  {
    name: 'done then stream_end',
    events: [
      ['done', {}],
      ['stream_end', {}],
    ],
    outcome: 'completed',
  },
  {
    name: 'done with tool limit',
    events: [
      ['done', { terminal_state: 'tool_limit_reached' }],
      ['stream_end', {}],
    ],
    outcome: 'tool_limit_reached',
  },
  {
    name: 'cancel',
    events: [
      ['cancel', {}],
      ['stream_end', {}],
    ],
    outcome: 'interrupted-by-user',
  },
  { name: 'apperror cancelled', events: [['apperror', { type: 'cancelled' }]], outcome: 'interrupted-by-user' },
  { name: 'apperror interrupted', events: [['apperror', { type: 'interrupted' }]], outcome: 'interrupted-by-crash' },
  { name: 'error tool_limit_reached', events: [['error', { type: 'tool_limit_reached' }]], outcome: 'tool_limit_reached' },
  {
    name: 'error',
    events: [
      ['error', { message: 'boom' }],
      ['stream_end', {}],
    ],
    outcome: 'errored',
  },
  { name: 'stream_end only', events: [['stream_end', {}]], outcome: 'completed' },
  { name: 'no terminal', events: [], outcome: 'running' },
];

describe('run journal: settled outcome', () => {
  for (const end of ENDINGS) {
    it(`${end.name} -> ${end.outcome} (written like upstream)`, async () => {
      const dir = tempDir();
      const file = runJournalPath(dir, 'sess', 'run1');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      let text =
        runLine('run1', 'sess', 1, 'token', { text: 'Hello' }, 1000) +
        runLine('run1', 'sess', 2, 'tool', { name: 'terminal', preview: '"terminal":true' }, 1001);
      end.events.forEach(([e, p], i) => (text += runLine('run1', 'sess', 3 + i, e, p as PyJsonValue, 1002 + i)));
      fs.writeFileSync(file, text);
      const s = await settledOutcome(file);
      assert.strictEqual(s.outcome, end.outcome);
      assert.strictEqual(s.upstreamOutcome, end.outcome);
      assert.strictEqual(s.lines, 2 + end.events.length);
      assert.strictEqual(s.terminalOwnsRun, end.events.length > 0);
      assert.strictEqual(s.lastSeq, 2 + end.events.length);
    });
  }

  it("agrees with upstream's latest_run_summary on journals its own append_run_event wrote", async function () {
    const why = upstreamUnavailable();
    if (why) return this.skip();
    const dir = tempDir();
    const steps: WriterStep[] = [{ op: 'clock', t: 1763600000 }];
    ENDINGS.forEach((end, i) => {
      steps.push({ op: 'run', sid: 'sess', run_id: `r${i}`, event: 'token', payload: { text: 'partial answer' } });
      for (const [e, p] of end.events) steps.push({ op: 'run', sid: 'sess', run_id: `r${i}`, event: e, payload: p });
    });
    this.timeout(120_000);
    runUpstreamWriter(dir, steps);
    const ups = runUpstreamRunSummaries(
      dir,
      ENDINGS.map((_, i) => ['sess', `r${i}`]),
    );
    for (let i = 0; i < ENDINGS.length; i++) {
      const up = ups[i];
      const ours = await settledOutcome(runJournalPath(dir, 'sess', `r${i}`));
      assert.strictEqual(ours.outcome, up.terminal_state, ENDINGS[i].name);
      assert.strictEqual(ours.upstreamOutcome, up.terminal_state, ENDINGS[i].name);
      assert.strictEqual(ours.lastSeq, up.last_seq);
    }
    assert.deepStrictEqual(
      listRunJournalsSync(dir, 'sess').map((p) => path.basename(p)),
      ENDINGS.map((_, i) => `r${i}.jsonl`).sort(),
    );
  });

  it('a done whose payload holds U+2028 settles completed for us; upstream loses the line', async function () {
    const dir = tempDir();
    const file = runJournalPath(dir, 'sess', 'run1');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, runLine('run1', 'sess', 1, 'token', { text: 'a' }, 1) + runLine('run1', 'sess', 2, 'done', { text: 'line\u2028break' }, 2));
    const s = await settledOutcome(file);
    assert.strictEqual(s.outcome, 'completed');
    assert.strictEqual(s.upstreamOutcome, 'running');
    if (upstreamUnavailable()) return;
    this.timeout(60_000);
    assert.strictEqual(runUpstreamRunSummaries(dir, [['sess', 'run1']])[0].terminal_state, 'running');
  });

  it('invalid UTF-8: we still read the outcome, upstream raises', async function () {
    const dir = tempDir();
    const file = runJournalPath(dir, 'sess', 'run1');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tok = Buffer.from(runLine('run1', 'sess', 1, 'token', { text: 'héllo' }, 1));
    const cut = tok.subarray(0, tok.indexOf(Buffer.from('é')) + 1); // a crash cut the character
    fs.writeFileSync(file, Buffer.concat([cut, Buffer.from(runLine('run1', 'sess', 2, 'done', {}, 2))]));
    const s = await settledOutcome(file);
    assert.strictEqual(s.invalidUtf8, true);
    assert.strictEqual(s.upstreamOutcome, null);
    assert.strictEqual(s.outcome, 'completed', 'the glued done is recovered');
    const page = await readRunEvents(file);
    assert.strictEqual(page.malformed[0].kind, 'invalid_utf8');
    assert.deepStrictEqual(
      page.events.map((e) => [e.event, e.recovered ?? false]),
      [['done', true]],
    );
    if (upstreamUnavailable()) return;
    this.timeout(60_000);
    assert.deepStrictEqual(runUpstreamRunSummaries(dir, [['sess', 'run1']])[0], { error: 'UnicodeDecodeError' });
  });
});

describe('run journal: paged reading', () => {
  it('reads pages by byte offset; the pages together are the file', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'run.jsonl');
    let text = '';
    for (let i = 1; i <= 2500; i++) text += runLine('run', 's', i, 'token', { text: `t${i}` }, i);
    text += runLine('run', 's', 2501, 'done', {}, 2501) + '{"version":1,"event_id":"run:25'; // torn tail
    fs.writeFileSync(file, text);
    const seen: number[] = [];
    let from = 0;
    let line = 1;
    let pages = 0;
    for (;;) {
      const page = await readRunEvents(file, { fromOffset: from, fromLine: line, limit: 1000, payloads: false });
      pages++;
      page.events.forEach((e) => {
        assert.strictEqual(e.line, e.seq, 'line numbers carry across pages');
        seen.push(e.seq!);
      });
      if (page.eof) {
        assert.strictEqual(page.malformed.length, 1);
        assert.strictEqual(page.malformed[0].kind, 'torn_tail');
        break;
      }
      from = page.nextOffset;
      line = page.nextLine;
    }
    assert.strictEqual(pages, 3);
    assert.deepStrictEqual(
      seen,
      Array.from({ length: 2501 }, (_, i) => i + 1),
    );
  });

  it('an over-long line is not buffered whole: its header is still read', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'run.jsonl');
    fs.writeFileSync(file, runLine('run', 's', 1, 'token', { text: 'x' }, 1) + runLine('run', 's', 2, 'done', { text: 'y'.repeat(300_000) }, 2));
    const s = await settledOutcome(file, { maxLineBytes: 100_000 });
    assert.strictEqual(s.outcome, 'completed');
    const page = await readRunEvents(file, { maxLineBytes: 100_000 });
    assert.deepStrictEqual(
      page.events.map((e) => [e.event, e.payloadOmitted ?? false]),
      [
        ['token', false],
        ['done', true],
      ],
    );
  });

  it('opens regular files only: a FIFO and a symbolic link are refused without blocking', async () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'fifo.jsonl');
    execFileSync('mkfifo', [fifo]);
    assert.match((await settledOutcome(fifo)).error ?? '', /not a regular file/);
    const real = path.join(dir, 'real.jsonl');
    fs.writeFileSync(real, runLine('run', 's', 1, 'done', {}, 1));
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync(real, link);
    assert.match((await readRunEvents(link)).error ?? '', /symbolic link/);
    assert.strictEqual((await settledOutcome(real)).outcome, 'completed');
  });
});
