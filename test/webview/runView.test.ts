/**
 * The run behind a turn as the timeline shows it, on real run-journal files written the way
 * hermes-webui's `append_run_event` writes them (field order, seq per file, terminal state):
 * the view items (shared/runView), the usage found in the file's tail and the pages read by
 * byte offset (extension/timeline/runReader, no vscode), and the webview's run state.
 */

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { appendRunItems, addUsage, budgetItems, formatUsage, usageOf, type RunItem } from '../../src/shared/runView';
import { MAX_TAIL, readRunPage, readRunUsage, RunUsageCache } from '../../src/extension/timeline/runReader';
import { RunState } from '../../src/webview/timeline/runState';
import { MessageType } from '../../src/shared/timelineProtocol';

const SID = 'sess1';
const RUN = 'run0001';

function runLine(seq: number, event: string, payload: unknown, at = 1767225600 + seq): string {
  const terminal = ['done', 'stream_end', 'cancel', 'apperror', 'error'].includes(event);
  const state = event === 'done' || event === 'stream_end' ? 'completed' : event === 'cancel' ? 'interrupted-by-user' : terminal ? 'errored' : null;
  return JSON.stringify({
    version: 1,
    event_id: `${RUN}:${seq}`,
    seq,
    run_id: RUN,
    session_id: SID,
    event,
    type: event,
    created_at: at,
    terminal,
    terminal_state: state,
    payload,
  });
}

function metering(input: number, output: number, cost: number): Record<string, unknown> {
  return { tps: 40.2, tps_available: true, session_id: SID, usage: { input_tokens: input, output_tokens: output, estimated_cost: cost, cache_read_tokens: 5 } };
}

/** A run: reasoning, tokens with metering ticks between them, a tool call, an approval, a warning, done. */
function sampleEvents(): [string, unknown][] {
  return [
    ['reasoning', { text: 'Think ' }],
    ['reasoning', { text: 'first.' }],
    ['metering', metering(100, 1, 0.001)],
    ['tool', { event_type: 'tool.started', name: 'web_search', preview: 'searching', args: { q: '<script>alert(1)</script>' } }],
    ['approval', { description: 'run rm -rf /tmp/x', pending_count: 1 }],
    ['tool_complete', { event_type: 'tool.completed', name: 'web_search', preview: '3 results', args: {}, duration: 1.5, is_error: false }],
    ['interim_assistant', { text: 'Let me check.', already_streamed: false }],
    ['token', { text: 'Hello' }],
    ['metering', metering(1200, 40, 0.0123)],
    ['token', { text: ', world' }],
    ['warning', { type: 'fallback', message: 'fell back to model B' }],
    ['done', { session: { messages: [] }, usage: { input_tokens: 1300, output_tokens: 45, estimated_cost: 0.02 } }],
    ['stream_end', { session_id: SID }],
  ];
}

function writeRun(dir: string, events: [string, unknown][], tail = ''): string {
  const file = path.join(dir, '_run_journal', SID, `${RUN}.jsonl`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, events.map(([e, p], i) => runLine(i + 1, e, p)).join('\n') + '\n' + tail);
  return file;
}

describe('timeline: the run behind a turn', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-runview-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('turns a run into items: reasoning and answer joined across metering ticks, tool call with its result, approval, warning, terminal', async () => {
    const file = writeRun(dir, sampleEvents());
    const page = await readRunPage(file, { turnId: 't1', runId: RUN });
    const kinds = page.items.map((i) => i.kind);
    assert.deepStrictEqual(kinds, ['reasoning', 'tool', 'approval', 'interim', 'answer', 'warning', 'terminal', 'terminal']);
    const [reasoning, tool, approval, , answer, warning, done] = page.items as Extract<RunItem, { kind: string }>[];
    assert.strictEqual((reasoning as { text: string }).text, 'Think first.');
    assert.strictEqual((answer as { text: string }).text, 'Hello, world');
    assert.deepStrictEqual(
      { name: (tool as { name: string }).name, result: (tool as { result: string }).result, duration: (tool as { duration: number }).duration },
      { name: 'web_search', result: '3 results', duration: 1.5 },
    );
    assert.ok((tool as { args: string }).args.includes('<script>alert(1)</script>'), 'arguments kept verbatim (shown as text)');
    assert.match((approval as { text: string }).text, /Approval asked: run rm -rf/);
    assert.strictEqual((warning as { text: string }).text, 'fell back to model B');
    assert.deepStrictEqual([(done as { event: string }).event, (done as { state: string }).state], ['done', 'completed']);
    assert.strictEqual(page.next, null);
    assert.strictEqual(page.eventsRead, 13);
  });

  it('reads pages by byte offset: the second page starts where the first ended and continues the text', async () => {
    const events: [string, unknown][] = Array.from({ length: 50 }, (_, i) => ['token', { text: `w${i} ` }] as [string, unknown]);
    const file = writeRun(dir, [...events, ['done', {}]]);
    const first = await readRunPage(file, { turnId: 't1', runId: RUN }, undefined, 20);
    assert.ok(first.next, 'a next page');
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    assert.strictEqual(first.next.offset, Buffer.byteLength(lines.slice(0, 20).join('\n') + '\n'));
    assert.strictEqual(first.next.line, 21);
    const second = await readRunPage(file, { turnId: 't1', runId: RUN }, { ...first.next, eventsRead: first.eventsRead }, 20);
    assert.strictEqual((second.items[0] as { text: string }).text.split(' ')[0], 'w20');
    assert.strictEqual(second.eventsRead, 40);
    const state = new RunState();
    state.toggle('t1');
    state.applyPage(first, false);
    state.applyPage(second, true);
    assert.strictEqual(state.open.get('t1')!.items.length, 2, 'pages appended');
    assert.strictEqual(state.open.get('t1')!.more, true);
  });

  it('usage: the last metering event in the tail, not the done event; a run with none falls back to done, then null', async () => {
    const file = writeRun(dir, sampleEvents());
    const r = await readRunUsage(file);
    assert.deepStrictEqual(r.usage && { i: r.usage.inputTokens, o: r.usage.outputTokens, c: r.usage.cost, src: r.usage.source, seq: r.usage.seq }, {
      i: 1200,
      o: 40,
      c: 0.0123,
      src: 'metering',
      seq: 9,
    });
    assert.strictEqual(formatUsage(r.usage!), '1,200 in · 40 out · $0.012');
    const noMeter = writeRun(
      dir,
      sampleEvents().filter(([e]) => e !== 'metering'),
    );
    assert.strictEqual((await readRunUsage(noMeter)).usage?.source, 'done');
    const none = writeRun(dir, [['token', { text: 'x' }]]);
    assert.strictEqual((await readRunUsage(none)).usage, null);
  });

  it('usage is found past a large final line without reading the file whole, and a torn tail is not an event', async () => {
    // A metering event, then 3 MB of token lines, then a torn half line: the tail window doubles until it finds the metering line.
    const filler: [string, unknown][] = Array.from({ length: 3000 }, () => ['token', { text: 'x'.repeat(1000) }] as [string, unknown]);
    const file = writeRun(dir, [['metering', metering(7, 8, 0.5)], ...filler], '{"version":1,"event_id":"run0001:99');
    const r = await readRunUsage(file);
    assert.strictEqual(r.usage?.inputTokens, 7);
    assert.ok(r.tailBytes >= 3_000_000 && r.tailBytes <= MAX_TAIL, `tail read ${r.tailBytes}`);
    const cache = new RunUsageCache();
    await cache.get(file);
    assert.ok(cache.has(file));
    assert.strictEqual(cache.known(file)?.outputTokens, 8);
  });

  it('a run journal that is a symbolic link or a FIFO is refused with a message, never followed or blocked on', async () => {
    const real = writeRun(dir, sampleEvents());
    const link = path.join(dir, 'link.jsonl');
    fs.symlinkSync(real, link);
    const r = await readRunUsage(link);
    assert.strictEqual(r.usage, null);
    assert.ok(r.error, 'an error message');
    const page = await readRunPage(link, { turnId: 't', runId: RUN });
    assert.ok(page.error && page.items.length === 0);
  });

  it('session totals add usage; the webview asks for a run again only when it grew', () => {
    const u = usageOf({ event: 'metering', seq: 3, terminal: false, terminalState: null, derivedTerminalState: null, payload: metering(10, 2, 0.5) })!;
    const t = addUsage(addUsage(null, u), u);
    assert.deepStrictEqual([t.inputTokens, t.outputTokens, t.cost], [20, 4, 1]);
    const s = new RunState();
    assert.strictEqual(s.needsUsage('t1', 100), true);
    assert.strictEqual(s.needsUsage('t1', 100), false, 'asked, not answered yet');
    s.applyUsage({ type: MessageType.RunUsage, usages: [{ turnId: 't1', usage: u }], total: { usage: u, counted: 1, runs: 2 } });
    assert.strictEqual(s.needsUsage('t1', 100), false);
    assert.strictEqual(s.needsUsage('t1', 200), true, 'the run grew');
    assert.strictEqual(s.total?.counted, 1);
  });

  it('caps huge item text, and a whole page, so one message to the webview stays small', () => {
    const items = appendRunItems(
      [],
      [{ event: 'reasoning', seq: 1, terminal: false, terminalState: null, derivedTerminalState: null, payload: { text: 'y'.repeat(100_000) } }],
    );
    assert.ok((items[0] as { text: string }).text.length < 21_000);
    const tools = appendRunItems(
      [],
      Array.from({ length: 500 }, (_, i) => ({
        event: 'tool',
        seq: i,
        terminal: false,
        terminalState: null,
        derivedTerminalState: null,
        payload: { name: 't', args: { a: 'z'.repeat(30_000) }, preview: 'p'.repeat(30_000) },
      })),
    );
    const chars = (list: RunItem[]) => list.reduce((n, it) => n + (it.kind === 'tool' ? it.args.length + it.preview.length : 0), 0);
    assert.ok(chars(tools) > 10_000_000, 'over the page budget before');
    const kept = chars(budgetItems(tools));
    assert.ok(kept < 2_100_000 + 500 * 2 * 600, `a page keeps about the budget (${kept})`);
  });
});
