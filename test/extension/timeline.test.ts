/**
 * The turn timeline custom editor in the real extension host: it opens for a shard, the
 * webview renders the session's turns, the terminal collision and the broken lines, search
 * and filters work, appended events appear live, the openTimeline command reveals a turn,
 * and sessions above the size limit open in pages. What the webview rendered is read back
 * through the internal `_botMemory.timeline.query` command (real DOM, reported by the page).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { Snapshot, WebviewRequest } from '../../src/shared/timelineProtocol';

const EXTENSION_ID = 'bot-memory-auditor.bot-memory-auditor';
const QUERY = '_botMemory.timeline.query';
const T0 = 1767225600; // 2026-01-01T00:00:00Z

const TURN = {
  a: '20260101T000000Z-aaaaaaaaaaaa',
  b: '20260101T000100Z-bbbbbbbbbbbb',
  c: '20260101T000200Z-cccccccccccc',
  d: '20260101T000300Z-dddddddddddd',
  e: '20260101T000400Z-eeeeeeeeeeee',
};

function ev(name: string, turn: string, at: number, extra: Record<string, unknown> = {}): string {
  const e: Record<string, unknown> = { version: 1, event: name, session_id: 'tl', turn_id: turn, created_at: at, stream_id: `s-${turn.slice(-4)}`, ...extra };
  if (name === 'completed' || name === 'interrupted') e.terminal = true;
  return JSON.stringify(e) + '\n';
}

function lifecycle(turn: string, at: number, content: string, index: number | null, end: 'completed' | 'interrupted' | null = 'completed'): string {
  let s = ev('submitted', turn, at, { role: 'user', content, attachments: [], workspace: '/w', model: 'gpt-test', model_provider: 'openai' });
  s += ev('worker_started', turn, at + 0.2);
  s += ev('assistant_started', turn, at + 1.1, { assistant_message_index: index });
  if (end === 'completed') s += ev('completed', turn, at + 14.3, { assistant_message_index: index });
  if (end === 'interrupted') s += ev('interrupted', turn, at + 3, { reason: 'rate_limit' });
  return s;
}

async function query(uri: vscode.Uri, request: WebviewRequest = { kind: 'snapshot' }): Promise<Snapshot> {
  return (await vscode.commands.executeCommand(QUERY, uri.toString(), request)) as Snapshot;
}

async function until(uri: vscode.Uri, ok: (s: Snapshot) => boolean, what: string, timeoutMs = 15000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: Snapshot | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await query(uri);
      if (ok(last)) return last;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  assert.fail(`timed out waiting for ${what}; last snapshot: ${JSON.stringify(last)?.slice(0, 1500)} ${lastErr ? String(lastErr) : ''}`);
}

describe('Turn timeline editor', function () {
  this.timeout(60000);
  let dir: string;
  let shard1: vscode.Uri;
  let shard2: vscode.Uri;
  let api: BotMemoryApi;

  before(async () => {
    api = (await vscode.extensions.getExtension<BotMemoryApi>(EXTENSION_ID)!.activate()) as BotMemoryApi;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-timeline-'));
    const journal = path.join(dir, '_turn_journal');
    fs.mkdirSync(journal);
    // Shard 1: a, a malformed line, b, c (completed), d (dangling: never finished).
    fs.writeFileSync(
      path.join(journal, 'tl~100.jsonl'),
      lifecycle(TURN.a, T0, 'Where is Lisbon?', 1) +
        'this line is not json\n' +
        lifecycle(TURN.b, T0 + 60, 'And Porto?', 3) +
        lifecycle(TURN.c, T0 + 120, 'Trains between them?', 5) +
        lifecycle(TURN.d, T0 + 180, 'Hotels?', null, null),
    );
    // Shard 2: a second terminal event for c (a terminal collision) and a torn tail.
    fs.writeFileSync(path.join(journal, 'tl~200.jsonl'), ev('interrupted', TURN.c, T0 + 140, { reason: 'cancelled' }) + '{"event":"worker_st');
    fs.writeFileSync(
      path.join(dir, 'tl.json'),
      JSON.stringify({
        session_id: 'tl',
        title: 'Portugal trip',
        model: 'gpt-test',
        messages: [
          { role: 'user', content: 'Where is Lisbon?', timestamp: T0 },
          { role: 'assistant', content: 'Lisbon is the capital of Portugal.', timestamp: T0 + 14 },
          { role: 'user', content: 'And Porto?', timestamp: T0 + 60 },
          { role: 'assistant', content: 'Porto is in the north.', timestamp: T0 + 74 },
          { role: 'user', content: 'Trains between them?', timestamp: T0 + 120 },
          { role: 'assistant', content: 'About three hours by Alfa Pendular.', timestamp: T0 + 134 },
        ],
      }),
    );
    shard1 = vscode.Uri.file(path.join(journal, 'tl~100.jsonl'));
    shard2 = vscode.Uri.file(path.join(journal, 'tl~200.jsonl'));
    // The run behind turn a (hermes' run journal, run id = its stream id).
    const runDir = path.join(dir, '_run_journal', 'tl');
    fs.mkdirSync(runDir, { recursive: true });
    const run = (seq: number, event: string, payload: unknown) =>
      JSON.stringify({
        version: 1,
        event_id: `s-aaaa:${seq}`,
        seq,
        run_id: 's-aaaa',
        session_id: 'tl',
        event,
        type: event,
        created_at: T0 + seq,
        terminal: event === 'done' || event === 'stream_end',
        terminal_state: event === 'done' || event === 'stream_end' ? 'completed' : null,
        payload,
      }) + '\n';
    fs.writeFileSync(
      path.join(runDir, 's-aaaa.jsonl'),
      run(1, 'reasoning', { text: 'Lisbon: capital.' }) +
        run(2, 'metering', { usage: { input_tokens: 1500, output_tokens: 60, estimated_cost: 0.042 } }) +
        run(3, 'tool', { name: 'maps', args: { q: 'Lisbon' }, preview: '' }) +
        run(4, 'tool_complete', { name: 'maps', preview: '38.7N 9.1W', duration: 0.3, is_error: false }) +
        run(5, 'token', { text: 'Lisbon is the capital of Portugal.' }) +
        run(6, 'done', {}) +
        run(7, 'stream_end', { session_id: 'tl' }),
    );
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('botMemory.timeline').update('maxSessionMB', undefined, vscode.ConfigurationTarget.Global);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is the default editor for journal shards and renders the whole session', async () => {
    await vscode.commands.executeCommand('vscode.open', shard1);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom, `expected the custom editor, got ${tab?.input?.constructor.name}`);
    assert.strictEqual((tab.input as vscode.TabInputCustom).viewType, 'botMemory.timeline');
    const s = await until(shard1, (x) => x.loaded && x.renderedTurnIds.length >= 4, 'the session to render');
    assert.deepStrictEqual(s.renderedTurnIds, [TURN.a, TURN.b, TURN.c, TURN.d], 'one card per turn, in time order, across both shards');
    assert.strictEqual(s.totalRows, 6, '4 turns + 1 malformed line + 1 torn tail');
    assert.match(s.headerText, /Portugal trip/);
    assert.match(s.headerText, /gpt-test/);
    assert.match(s.headerText, /2 shards/);
    // The opened shard's rows are marked; the torn tail of shard 2 is not.
    assert.ok(s.ownKeys.includes(`t:${TURN.a}`));
    assert.ok(!s.ownKeys.includes('l:tl~200.jsonl:2'));
    assert.ok(s.domElements < 3000);
  });

  it('shows the terminal collision and the broken lines where they sit', async () => {
    const s = await query(shard1);
    assert.deepStrictEqual(s.collisionTurnIds, [TURN.c]);
    assert.deepStrictEqual(s.brokenLines, ['malformed@tl~100.jsonl:5', 'torn@tl~200.jsonl:2']);
    // The malformed line sits right after the turn it follows in its shard.
    const keys = s.renderedKeys;
    assert.strictEqual(keys.indexOf('l:tl~100.jsonl:5'), keys.indexOf(`t:${TURN.a}`) + 1);
  });

  it('searches message text, turn ids and reasons, with highlighted matches', async () => {
    let s = await query(shard1, { kind: 'setSearch', text: 'lisbon' });
    assert.deepStrictEqual(s.renderedTurnIds, [TURN.a]);
    assert.strictEqual(s.searchHits, 1);
    assert.ok(s.marks >= 2, `user message and reply both highlighted (${s.marks} marks)`);
    s = await query(shard1, { kind: 'setSearch', text: 'cccccccc' });
    assert.deepStrictEqual(s.renderedTurnIds, [TURN.c]);
    s = await query(shard1, { kind: 'setSearch', text: 'cancelled' });
    assert.deepStrictEqual(s.renderedTurnIds, [TURN.c], 'the interruption reason is searchable');
    s = await query(shard1, { kind: 'setSearch', text: 'no such text anywhere' });
    assert.strictEqual(s.shownRows, 0);
    s = await query(shard1, { kind: 'setSearch', text: '' });
    assert.strictEqual(s.shownRows, 6);
  });

  it('filters by state, collisions, broken lines and findings', async () => {
    let s = await query(shard1, { kind: 'setFilter', filter: { status: 'collision' } });
    assert.deepStrictEqual(s.renderedTurnIds, [TURN.c]);
    s = await query(shard1, { kind: 'setFilter', filter: { status: 'dangling' } });
    assert.deepStrictEqual(s.renderedTurnIds, [TURN.d]);
    s = await query(shard1, { kind: 'setFilter', filter: { status: 'broken' } });
    assert.deepStrictEqual(s.renderedTurnIds, []);
    assert.strictEqual(s.brokenLines.length, 2);
    s = await query(shard1, { kind: 'setFilter', filter: { status: '', findingsOnly: true } });
    assert.ok(!s.renderedTurnIds.includes(TURN.a) && s.renderedTurnIds.includes(TURN.c) && s.renderedTurnIds.includes(TURN.d));
    s = await query(shard1, { kind: 'setFilter', filter: { status: '', findingsOnly: false, feedbackOnly: true } });
    assert.strictEqual(s.shownRows, 0, 'no feedback source yet');
    s = await query(shard1, { kind: 'setFilter', filter: { status: '', findingsOnly: false, feedbackOnly: false } });
    assert.strictEqual(s.shownRows, 6);
  });

  it('shows appended events live, keeping the reader in place, and follows the tail when asked', async () => {
    const before = await query(shard1, { kind: 'scroll', to: 'top' });
    fs.appendFileSync(shard1.fsPath, lifecycle(TURN.e, T0 + 240, 'Best pastel de nata?', null));
    let s = await until(shard1, (x) => x.totalRows === before.totalRows + 1, 'the appended turn to arrive');
    assert.strictEqual(s.generation, before.generation, 'a patch, not a reload');
    assert.strictEqual(s.scrollTop, before.scrollTop, 'scroll position kept');
    await query(shard1, { kind: 'setFollowTail', on: true });
    s = await query(shard1, { kind: 'scroll', to: 'bottom' });
    assert.ok(s.renderedTurnIds.includes(TURN.e));
    // With follow-tail on, the next append is scrolled into view by itself.
    fs.appendFileSync(shard1.fsPath, ev('interrupted', TURN.d, T0 + 300, { reason: 'no_response' }));
    s = await until(shard1, (x) => x.headerText.includes('interrupted'), 'the dangling turn to be interrupted');
    assert.ok(s.followTail);
    assert.ok(s.scrollTop > 0);
    await query(shard1, { kind: 'setFollowTail', on: false });
  });

  it('the run behind a turn: its usage in the card head, the session total in the header, the run view on demand', async () => {
    await query(shard1, { kind: 'scroll', to: 'top' });
    let s = await until(
      shard1,
      (x) => x.runUsage.some((u) => u.startsWith(`${TURN.a}:`) && / in · /.test(u)) && x.runTotal.includes('(1 run)'),
      'the run’s usage',
    );
    assert.ok(s.runUsage.find((u) => u.startsWith(`${TURN.a}:`))!.includes('1,500 in · 60 out · $0.042'), s.runUsage.join(' | '));
    assert.ok(s.runTotal.includes('1,500 in · 60 out · $0.042'), s.runTotal);
    assert.deepStrictEqual(s.openRuns, [], 'closed until asked');
    s = await query(shard1, { kind: 'toggleRun', turnId: TURN.a });
    assert.deepStrictEqual(s.openRuns, [`${TURN.a}:reasoning,tool,answer,terminal,terminal`]);
    s = await query(shard1, { kind: 'toggleRun', turnId: TURN.a });
    assert.deepStrictEqual(s.openRuns, []);
  });

  it('botMemory.openTimeline opens a session and reveals a turn', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const loc = api.services.store.index.locate(shard1.fsPath);
    assert.ok(loc, 'the shard’s folder became a known root');
    await vscode.commands.executeCommand('botMemory.openTimeline', { ...loc, turnId: TURN.c });
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom);
    const opened = (tab.input as vscode.TabInputCustom).uri;
    const s = await until(opened, (x) => x.loaded && x.selectedKey === `t:${TURN.c}`, 'turn c to be revealed');
    assert.ok(s.renderedTurnIds.includes(TURN.c));
  });

  it('one tab per session, titled by the session (not the shard); a tree open is a preview tab, a second open soon after pins it', async () => {
    // (Run alone, the folder is not a root yet: opening a shard adds it.)
    await vscode.commands.executeCommand('vscode.openWith', shard1, 'botMemory.timeline');
    await until(shard1, (x) => x.loaded, 'shard 1 timeline');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const loc = api.services.store.index.locate(shard1.fsPath)!;
    const timelineTabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputCustom);
    const waitTitle = async (want: string): Promise<vscode.Tab[]> => {
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline) {
        if (timelineTabs().some((t) => t.label === want)) return timelineTabs();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.fail(
        `no tab titled ${want}: ${timelineTabs()
          .map((t) => t.label)
          .join(' | ')}`,
      );
    };
    // From the tree (preview: true), on turn b.
    await vscode.commands.executeCommand('botMemory.openTimeline', { ...loc, turnId: TURN.b, preview: true });
    let tabs = await waitTitle('Portugal trip');
    assert.strictEqual(tabs.length, 1);
    assert.strictEqual(tabs[0].isPreview, true, 'opened from the tree: a preview tab');
    assert.ok(!/tl~\d+\.jsonl/.test(tabs[0].label), 'never the shard name');
    await until((tabs[0].input as vscode.TabInputCustom).uri, (x) => x.loaded && x.selectedKey === `t:${TURN.b}`, 'turn b revealed');
    // Again (Next Unreviewed / the tree, another turn), and through another shard's URI: the same tab.
    await new Promise((r) => setTimeout(r, 600));
    await vscode.commands.executeCommand('botMemory.openTimeline', { ...loc, turnId: TURN.a });
    await vscode.commands.executeCommand('botMemory.openTimeline', shard2);
    tabs = timelineTabs();
    assert.strictEqual(tabs.length, 1, `one tab per session: ${tabs.map((t) => t.label).join(' | ')}`);
    await until((tabs[0].input as vscode.TabInputCustom).uri, (x) => x.selectedKey === `t:${TURN.a}`, 'turn a revealed in the open tab');
    // A double-click in the tree (two opens within 500 ms) pins the preview.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('botMemory.openTimeline', { ...loc, turnId: TURN.b, preview: true });
    await waitTitle('Portugal trip');
    assert.strictEqual(timelineTabs()[0].isPreview, true);
    await vscode.commands.executeCommand('botMemory.openTimeline', { ...loc, turnId: TURN.b, preview: true });
    const deadline = Date.now() + 5000;
    while (timelineTabs()[0]?.isPreview && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.strictEqual(timelineTabs()[0].isPreview, false, 'pinned by the second open');
  });

  it('the tree: a session says when it last changed; a turn’s hover shows its answer as text', async () => {
    const provider = api.sessions.tree;
    const roots = await provider.getChildren();
    const rootId = api.services.store.index.locate(shard1.fsPath)!.rootId;
    const root = roots!.find((n) => n.kind === 'root' && n.root.id === rootId)!;
    const deadline = Date.now() + 15000;
    let sessionItem: vscode.TreeItem | undefined;
    let session: unknown;
    while (Date.now() < deadline) {
      session = (await provider.getChildren(root))!.find((n) => n.kind === 'session' && n.sessionId === 'tl');
      sessionItem = session ? await provider.getTreeItem(session as never) : undefined;
      if (sessionItem && String(sessionItem.description).includes('turn')) break;
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.match(String(sessionItem?.description), /turns · .* · (\d+ days ago|\d{4}-\d\d-\d\d|yesterday|\d+ h ago|\d+ min ago|just now)$/);
    const turns = (await provider.getChildren(session as never))!.filter((n) => n.kind === 'turn');
    const a = turns.find((n) => n.kind === 'turn' && n.turn.turnId === TURN.a)!;
    const tip = (await provider.getTreeItem(a)).tooltip as vscode.MarkdownString;
    assert.match(tip.value, /\*\*Answer\*\*/);
    assert.match(tip.value.replace(/&nbsp;/g, ' '), /Lisbon is the capital of Portugal/);
    assert.ok(!tip.isTrusted && !tip.supportHtml, 'no command links, no HTML');
  });

  it('opens the shard as text from the timeline', async () => {
    await vscode.commands.executeCommand('vscode.openWith', shard2, 'botMemory.timeline');
    await until(shard2, (x) => x.loaded, 'shard 2 timeline');
    await vscode.commands.executeCommand('botMemory.timeline.openAsText');
    const ed = vscode.window.activeTextEditor;
    assert.ok(ed, 'a text editor is active');
    assert.strictEqual(ed.document.uri.fsPath, shard2.fsPath);
  });

  it('opens sessions above the size limit in pages, with a notice', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('botMemory.timeline').update('maxSessionMB', 0.001, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('vscode.openWith', shard1, 'botMemory.timeline');
    const s = await until(shard1, (x) => x.loaded && x.noticeText.includes('above the limit'), 'the paged notice');
    assert.match(s.noticeText, /page 1/i);
    assert.match(s.noticeText, /Next page/);
    assert.ok(s.totalRows > 0 && s.totalRows < 7, `a page shows part of the session (${s.totalRows} rows)`);
    await vscode.workspace.getConfiguration('botMemory.timeline').update('maxSessionMB', undefined, vscode.ConfigurationTarget.Global);
    const full = await until(shard1, (x) => x.loaded && x.noticeText === '', 'the whole session after the limit is lifted');
    assert.ok(full.totalRows >= 7);
  });
});

describe('Turn timeline editor, a session large enough to be windowed', function () {
  this.timeout(90000);
  const TURNS = 2400; // > WINDOW_MIN_ROWS rows: an outline, rows sent as they come into view
  const id = (n: number) => `20260101T000000Z-${n.toString(16).padStart(12, '0')}`;
  const FAR_COLLISION = 2301;
  const FAR_WORD = 2207;
  let dir: string;
  let shard: vscode.Uri;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-timeline-big-'));
    const journal = path.join(dir, '_turn_journal');
    fs.mkdirSync(journal);
    const lines: string[] = [];
    for (let n = 0; n < TURNS; n++) {
      const text = n === FAR_WORD ? 'Is the azulejo museum open on Mondays?' : `Question number ${n} about trains`;
      lines.push(lifecycle(id(n), T0 + n * 30, text, null));
      if (n === FAR_COLLISION) lines.push(ev('interrupted', id(n), T0 + n * 30 + 20, { reason: 'cancelled' }));
    }
    fs.writeFileSync(path.join(journal, 'big~1.jsonl'), lines.join('').replace(/"session_id":"tl"/g, '"session_id":"big"') + 'not json at the end\n');
    fs.writeFileSync(path.join(dir, 'big.json'), JSON.stringify({ session_id: 'big', title: 'A long session', model: 'gpt-test', messages: [] }));
    shard = vscode.Uri.file(path.join(journal, 'big~1.jsonl'));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('vscode.openWith', shard, 'botMemory.timeline');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens windowed: every row counted, the first cards rendered in full, the DOM bounded', async () => {
    const s = await until(shard, (x) => x.loaded && x.renderedTurnIds.length > 0, 'the session to render', 30000);
    assert.strictEqual(s.windowed, true);
    assert.strictEqual(s.totalRows, TURNS + 1, 'every turn and the malformed line are rows');
    assert.strictEqual(s.renderedTurnIds[0], id(0));
    assert.strictEqual(s.stubCards, 0, 'the cards on screen arrived');
    assert.ok(s.domElements < 3000, `${s.domElements} elements`);
  });

  it('jumps to an anomaly far down (the collision filter) and reveals a far turn', async () => {
    let s = await query(shard, { kind: 'setFilter', filter: { status: 'collision' } });
    assert.deepStrictEqual(s.renderedTurnIds, [id(FAR_COLLISION)]);
    assert.deepStrictEqual(s.collisionTurnIds, [id(FAR_COLLISION)], 'the full card, with its banner');
    s = await query(shard, { kind: 'setFilter', filter: { status: 'broken' } });
    assert.deepStrictEqual(s.brokenLines, [`malformed@big~1.jsonl:${TURNS * 4 + 2}`]);
    s = await query(shard, { kind: 'setFilter', filter: { status: '' } });
    assert.strictEqual(s.shownRows, TURNS + 1);
    const loc = (await vscode.extensions.getExtension<BotMemoryApi>(EXTENSION_ID)!.activate()).services.store.index.locate(shard.fsPath)!;
    await vscode.commands.executeCommand('botMemory.openTimeline', { ...loc, turnId: id(1900) });
    s = await until(shard, (x) => x.selectedKey === `t:${id(1900)}` && x.stubCards === 0, 'turn 1900 revealed');
    assert.ok(s.renderedTurnIds.includes(id(1900)));
    assert.ok(s.scrollTop > 100000, `scrolled far down (${s.scrollTop} px)`);
  });

  it('searches the whole session on the host', async () => {
    let s = await query(shard, { kind: 'setSearch', text: 'AZULEJO' });
    assert.strictEqual(s.searchHits, 1);
    assert.deepStrictEqual(s.renderedTurnIds, [id(FAR_WORD)]);
    assert.ok(s.marks >= 1, 'highlighted');
    s = await query(shard, { kind: 'setSearch', text: 'about trains' });
    assert.strictEqual(s.searchHits, TURNS - 1);
    assert.strictEqual(s.stubCards, 0);
    s = await query(shard, { kind: 'setSearch', text: '' });
    assert.strictEqual(s.shownRows, TURNS + 1);
  });

  it('follows the tail: the last turns render, an appended turn arrives and is scrolled to', async () => {
    await query(shard, { kind: 'setFollowTail', on: true });
    let s = await query(shard, { kind: 'scroll', to: 'bottom' });
    assert.ok(s.renderedTurnIds.includes(id(TURNS - 1)), s.renderedTurnIds.slice(-3).join(' '));
    assert.strictEqual(s.stubCards, 0);
    const before = s;
    fs.appendFileSync(shard.fsPath, lifecycle(id(TURNS), T0 + TURNS * 30, 'One more question', null).replace(/"session_id":"tl"/g, '"session_id":"big"'));
    s = await until(shard, (x) => x.totalRows === before.totalRows + 1 && x.renderedTurnIds.includes(id(TURNS)) && x.stubCards === 0, 'the appended turn');
    assert.strictEqual(s.generation, before.generation, 'a patch, not a reload');
    assert.ok(s.followTail);
    assert.ok(s.scrollTop >= before.scrollTop);
    await query(shard, { kind: 'setFollowTail', on: false });
  });
});
