/**
 * The timeline webview's state module in plain Node (no DOM): rows from Reset/Rows/Patch,
 * search and filters, geometry (offsets, the rendered window) and persistence; and the shared
 * MessageHandler's request/reply pairing.
 */

import * as assert from 'assert';
import { GAP, TimelineState } from '../../src/webview/timeline/state';
import { MessageHandler } from '../../src/shared/messageHandler';
import type { TimelineHeader, TimelineLineRow, TimelineTurnRow } from '../../src/shared/timelineModel';
import { MessageType, type FromWebview, type ResetMessage, type ToWebview } from '../../src/shared/timelineProtocol';

function turn(n: number, over: Partial<TimelineTurnRow> = {}): TimelineTurnRow {
  return {
    kind: 'turn',
    key: `t:turn-${n}`,
    ordinal: n,
    turnId: `turn-${n}`,
    streamId: null,
    state: 'completed',
    status: 'completed',
    terminal: true,
    userMessage: `question ${n}`,
    attachments: 0,
    reply: `answer ${n}`,
    replyIndex: null,
    model: null,
    modelProvider: null,
    reason: null,
    startedAt: 1767225600 + n,
    lastAt: 1767225600 + n,
    total: 1,
    steps: [],
    collision: null,
    findings: [],
    worst: null,
    own: true,
    feedback: null,
    version: 'v1',
    ...over,
  };
}

function broken(line: number): TimelineLineRow {
  return {
    kind: 'line',
    key: `l:s.jsonl:${line}`,
    problem: 'malformed',
    malformedKind: 'not_json',
    shard: 's.jsonl',
    line,
    offset: 0,
    length: 10,
    raw: '{oops',
    rawTruncated: false,
    detail: 'not JSON',
    glued: null,
    near: null,
    own: true,
    findings: [],
    worst: 'error',
    version: 'l1',
  };
}

const header = { sessionId: 's', shards: [{ name: 's.jsonl' }] } as unknown as TimelineHeader;

function reset(rows: (TimelineTurnRow | TimelineLineRow)[], total = rows.length, generation = 1): ResetMessage {
  return { type: MessageType.Reset, generation, header, total, rows, notice: null, page: null };
}

describe('timeline webview state (Node)', () => {
  it('Reset then Rows chunks: rows in order, loaded only when all arrived, chunks of another generation or out of order ignored', () => {
    const s = new TimelineState();
    s.applyReset(reset([turn(1), turn(2)], 4));
    assert.strictEqual(s.loaded, false);
    assert.strictEqual(s.applyRows({ type: MessageType.Rows, generation: 0, start: 2, rows: [turn(3)] }), false, 'old generation');
    assert.strictEqual(s.applyRows({ type: MessageType.Rows, generation: 1, start: 3, rows: [turn(4)] }), false, 'gap');
    assert.strictEqual(s.applyRows({ type: MessageType.Rows, generation: 1, start: 2, rows: [turn(3), turn(4)] }), true);
    assert.strictEqual(s.loaded, true);
    assert.deepStrictEqual(s.shown, [0, 1, 2, 3]);
    assert.strictEqual(s.shownIndexOfKey('t:turn-3'), 2);
  });

  it('Patch: upserts replace by key and append new keys; an order drops rows not in it; a measured height of a changed row is forgotten', () => {
    const s = new TimelineState();
    s.applyReset(reset([turn(1), turn(2)]));
    s.setMeasured('t:turn-1', 300);
    s.setMeasured('t:turn-2', 300);
    assert.ok(s.applyPatch({ type: MessageType.Patch, generation: 1, header, upserts: [turn(2, { version: 'v2', reply: 'new' }), turn(3)] }));
    assert.deepStrictEqual(
      s.rows.map((r) => r.key),
      ['t:turn-1', 't:turn-2', 't:turn-3'],
    );
    assert.strictEqual((s.rowByKey('t:turn-2') as TimelineTurnRow).reply, 'new');
    assert.strictEqual(s.heights.has('t:turn-2'), false);
    assert.strictEqual(s.heights.get('t:turn-1'), 300);
    s.applyPatch({ type: MessageType.Patch, generation: 1, header, upserts: [], order: ['t:turn-3', 't:turn-1'] });
    assert.deepStrictEqual(
      s.rows.map((r) => r.key),
      ['t:turn-3', 't:turn-1'],
    );
    assert.strictEqual(s.hasKey('t:turn-2'), false);
    assert.strictEqual(s.applyPatch({ type: MessageType.Patch, generation: 7, header, upserts: [turn(9)] }), false);
  });

  it('search (case-insensitive, counted) and filters combine; countsText says what is shown', () => {
    const s = new TimelineState();
    s.applyReset(
      reset([
        turn(1, { userMessage: 'Lisbon trains' }),
        turn(2, { status: 'interrupted', state: 'interrupted' }),
        broken(7),
        turn(3, { userMessage: 'lisbon food' }),
      ]),
    );
    s.setQuery('LISBON');
    assert.deepStrictEqual(s.shown, [0, 3]);
    assert.strictEqual(s.countsText(), '2 matches');
    s.setQuery('');
    s.setFilter({ status: 'broken' });
    assert.deepStrictEqual(s.shown, [2]);
    assert.strictEqual(s.countsText(), '1 of 4');
    s.setFilter({ status: 'interrupted' });
    assert.deepStrictEqual(s.shown, [1]);
    s.setFilter({ status: '' });
    assert.strictEqual(s.countsText(), '');
  });

  it('geometry: offsets are prefix sums of measured-or-estimated heights plus the gap; indexAt and the window are bounded', () => {
    const s = new TimelineState();
    const rows = Array.from({ length: 1000 }, (_, i) => turn(i + 1));
    s.applyReset(reset(rows));
    for (const r of rows) s.setMeasured(r.key, 100);
    const total = s.layout();
    assert.strictEqual(total, 1000 * (100 + GAP));
    assert.strictEqual(s.offsets[10], 10 * (100 + GAP));
    assert.strictEqual(s.indexAt(10 * (100 + GAP) + 5), 10);
    assert.strictEqual(s.indexAt(-50), 0);
    assert.strictEqual(s.indexAt(1e9), 999);
    const w = s.window(50000, 800, 600, 60);
    assert.ok(w.first <= s.indexAt(50000) && w.last >= s.indexAt(50800), 'the viewport is inside the window');
    assert.ok(w.last - w.first + 1 <= 60, 'at most 60 cards');
    const huge = s.window(0, 1e6, 600, 60);
    assert.strictEqual(huge.last - huge.first + 1, 60, 'a tall viewport is trimmed to the card bound');
    assert.deepStrictEqual(new TimelineState().window(0, 800, 600, 60), { first: 0, last: -1 });
  });

  it('expanding a long message makes its estimate taller; the persisted state round-trips', () => {
    const s = new TimelineState();
    const long = turn(1, { reply: 'x\n'.repeat(50) });
    s.applyReset(reset([long]));
    const before = s.estimateHeight(long);
    s.toggleExpanded(long.key);
    assert.ok(s.estimateHeight(long) > before);
    s.setQuery('x');
    s.followTail = true;
    s.selectedKey = long.key;
    const p = s.persisted('t:turn-1');
    const again = new TimelineState(p);
    assert.strictEqual(again.query, 'x');
    assert.strictEqual(again.followTail, true);
    assert.deepStrictEqual([...again.expanded], [long.key]);
    assert.strictEqual(again.restoreTopKey, 't:turn-1');
    assert.strictEqual(again.selectedKey, long.key);
  });
});

describe('shared MessageHandler (messageId / inReplyTo)', () => {
  it('pairs a request with its reply, ignores stray replies and junk, times out, and rejects pending requests on rejectAll', async () => {
    const wire: { toWebview: ToWebview[]; toHost: FromWebview[] } = { toWebview: [], toHost: [] };
    const host = new MessageHandler<ToWebview, FromWebview>(
      () => undefined,
      (m) => wire.toWebview.push(m),
    );
    const page = new MessageHandler<FromWebview, ToWebview>(
      (m) => (m.type === MessageType.Request ? { type: MessageType.Reply, result: { search: m.request.kind } as never } : undefined),
      (m) => wire.toHost.push(m),
    );
    const p = host.sendRequest<Extract<FromWebview, { type: MessageType.Reply }>>({ type: MessageType.Request, request: { kind: 'snapshot' } }, 1000);
    assert.strictEqual(wire.toWebview.length, 1);
    const sent = wire.toWebview[0];
    assert.strictEqual(typeof sent.messageId, 'number');
    await page.handleMessage(sent);
    assert.strictEqual(wire.toHost[0].inReplyTo, sent.messageId);
    await host.handleMessage({ type: MessageType.Reply, inReplyTo: 999, result: {} }); // nobody waits for it
    await host.handleMessage('junk');
    await host.handleMessage(null);
    await host.handleMessage(wire.toHost[0]);
    assert.strictEqual((await p).result.search, 'snapshot');

    await assert.rejects(host.sendRequest({ type: MessageType.Request, request: { kind: 'snapshot' } }, 20), /no answer/);
    const pending = host.sendRequest({ type: MessageType.Request, request: { kind: 'snapshot' } });
    host.rejectAll('closed');
    await assert.rejects(pending, /closed/);
    // An event carries no id, and the page answers nothing to it.
    host.sendEvent({ type: MessageType.Reveal, turnId: 't' });
    assert.strictEqual(wire.toWebview.at(-1)!.messageId, undefined);
  });
});
