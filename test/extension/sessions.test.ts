import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import * as vscode from 'vscode';
import type { Node } from '../../src/extension/tree/sessionsTree';
import type { BotMemoryApi } from '../../src/extension/extension';
import { ev, lifecycle, line, T0 } from '../core/helpers';
import { api, waitFor, waitForWatcher, workspaceDir } from './util';
import { SessionIndex } from '../../src/core/sessionIndex';

describe('Sessions view', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let sessionsDir: string;
  let journal: string;
  const events: string[] = [];
  const seen = () => `file events seen: ${events.join(', ') || 'none'}`;

  /** The root node of our fixture folder, or undefined when it is the only root. */
  async function sessionNodes(): Promise<Node[]> {
    const top = await a.sessions.tree.getChildren();
    const root = top.find((n) => n.kind === 'root' && n.root.sessionsDir === sessionsDir);
    if (root) return a.sessions.tree.getChildren(root);
    return top;
  }
  async function sessionNode(id: string): Promise<Node> {
    const n = (await sessionNodes()).find((x) => x.kind === 'session' && x.sessionId === id);
    assert.ok(n, `no node for session ${id}`);
    return n;
  }
  const item = (n: Node) => a.sessions.tree.getTreeItem(n);
  const iconId = (n: Node) => (item(n).iconPath as vscode.ThemeIcon).id;

  before(async () => {
    a = await api();
    a.services.store.onDidProcessFileChange((e) => events.push(`${e.kind} ${path.basename(e.path)} @${Date.now() % 100000}`));
    sessionsDir = path.join(workspaceDir(), 'bots', 'alpha');
    journal = path.join(sessionsDir, '_turn_journal');
    fs.mkdirSync(journal, { recursive: true });
    fs.writeFileSync(path.join(journal, 'healthy~100.jsonl'), lifecycle('h1', T0) + lifecycle('h2', T0 + 100));
    fs.writeFileSync(
      path.join(sessionsDir, 'healthy.json'),
      JSON.stringify(
        {
          title: 'Healthy chat',
          messages: [
            { role: 'user', content: 'question h1' },
            { role: 'assistant', content: 'answer' },
            { role: 'user', content: 'question h2' },
            { role: 'assistant', content: 'answer 2' },
          ],
        },
        null,
        2,
      ),
    );
    // broken: t1 collides across two shards, t2 dangles, one garbage line.
    fs.writeFileSync(
      path.join(journal, 'broken~1.jsonl'),
      lifecycle('t1', T0 + 10, 'completed', { content: 'Why is the sky blue?\nsecond line' }) +
        'garbage line\n' +
        lifecycle('t2', T0 + 50, null, { content: 'Second question' }),
    );
    fs.writeFileSync(path.join(journal, 'broken~2.jsonl'), line(ev('interrupted', 't1', T0 + 40, { reason: 'cancelled' })));
    fs.writeFileSync(path.join(sessionsDir, 'broken.json'), JSON.stringify({ title: 'Broken chat', messages: [] }));
    await a.services.store.reloadRoots();
    assert.ok(
      a.services.store.roots().some((r) => r.sessionsDir === sessionsDir),
      'the workspace journal folder is a root',
    );
    for (const id of ['healthy', 'broken']) await a.services.store.index.summarize(sessionsDir, id);
    await waitForWatcher(a, sessionsDir);
  });

  afterEach(async () => {
    await vscode.commands.executeCommand('botMemory.filter', 'all');
    await vscode.commands.executeCommand('botMemory.sort', 'lastActivity');
  });

  it('shows each session with its sidecar title, counts and health icon', async () => {
    const healthy = item(await sessionNode('healthy'));
    assert.strictEqual(healthy.label, 'Healthy chat');
    assert.match(
      String(healthy.description),
      /^2 turns · (?:just now|\d+ min ago|\d+ h ago|yesterday|\d+ days ago|\d{4}-\d\d-\d\d)$/,
      'counts, then when it last changed',
    );
    assert.strictEqual((healthy.iconPath as vscode.ThemeIcon).id, 'pass');
    const broken = item(await sessionNode('broken'));
    assert.strictEqual(broken.label, 'Broken chat');
    assert.match(String(broken.description), /^2 turns · 1 open · \d+ issues · (?:just now|\d+ min ago|\d+ h ago|yesterday|\d+ days ago|\d{4}-\d\d-\d\d)$/);
    assert.strictEqual((broken.iconPath as vscode.ThemeIcon).id, 'error');
    // The tooltip is escaped Markdown (untrusted text): read it without its escapes.
    assert.match((broken.tooltip as vscode.MarkdownString).value.replace(/\\(.)/g, '$1'), /broken~1\.jsonl, broken~2\.jsonl/);
  });

  it('lists a broken-lines group and the turns in time order, merged across shards', async () => {
    const children = await a.sessions.tree.getChildren(await sessionNode('broken'));
    assert.strictEqual(children[0].kind, 'findings');
    const lines = await a.sessions.tree.getChildren(children[0]);
    assert.deepStrictEqual(
      lines.map((n) => item(n).label),
      ['broken~1.jsonl:5 · not json'],
    );
    const turns = children.filter((n) => n.kind === 'turn');
    assert.deepStrictEqual(
      turns.map((n) => item(n).label),
      ['Why is the sky blue?', 'Second question'],
    );
    assert.strictEqual(iconId(turns[0]), 'git-compare');
    assert.match(String(item(turns[0]).description), /collision: completed \+ interrupted/);
    assert.strictEqual(iconId(turns[1]), 'watch');
    assert.match(String(item(turns[1]).description), /dangling at assistant_started/);
    const cmd = item(turns[0]).command!;
    assert.strictEqual(cmd.command, 'botMemory.openTimeline');
    // Opened from the tree: a preview tab (review UX), like the explorer's single click.
    assert.deepStrictEqual(cmd.arguments, [{ rootId: sessionsDir, sessionId: 'broken', turnId: 't1', preview: true }]);
  });

  it('fills the Problems panel for shards without opening them', async () => {
    const uri1 = vscode.Uri.file(path.join(journal, 'broken~1.jsonl'));
    const uri2 = vscode.Uri.file(path.join(journal, 'broken~2.jsonl'));
    await waitFor(() => vscode.languages.getDiagnostics(uri1).length > 0, 10_000, 'diagnostics');
    const d1 = vscode.languages.getDiagnostics(uri1);
    const at = (d: vscode.Diagnostic[], code: string) => d.filter((x) => x.code === code).map((x) => [x.range.start.line + 1, x.severity]);
    assert.deepStrictEqual(at(d1, 'malformed_line'), [[5, vscode.DiagnosticSeverity.Error]]);
    assert.deepStrictEqual(at(d1, 'terminal_collision'), [[4, vscode.DiagnosticSeverity.Warning]]);
    assert.deepStrictEqual(at(d1, 'dangling_turn'), [[6, vscode.DiagnosticSeverity.Warning]]);
    assert.deepStrictEqual(at(vscode.languages.getDiagnostics(uri2), 'terminal_collision'), [[1, vscode.DiagnosticSeverity.Warning]]);
    assert.ok(d1.every((d) => d.source === 'Bot Memory'));
  });

  it('updates live when another process appends, and clears fixed problems', async () => {
    const shard = path.join(journal, 'broken~1.jsonl');
    const uri = vscode.Uri.file(shard);
    // Another process appends the missing terminal event for t2.
    execFileSync(process.execPath, [
      '-e',
      `require('fs').appendFileSync(${JSON.stringify(shard)}, ${JSON.stringify(line(ev('completed', 't2', T0 + 70, { assistant_message_index: 3 })))})`,
    ]);
    await waitFor(
      async () => /^2 turns · \d+ issues(?: · .+)?$/.test(String(item(await sessionNode('broken')).description)),
      15_000,
      () => `the tree to show the appended event (${seen()})`,
    );
    await waitFor(() => !vscode.languages.getDiagnostics(uri).some((d) => d.code === 'dangling_turn'), 10_000, 'the dangling diagnostic to go');
    const turns = (await a.sessions.tree.getChildren(await sessionNode('broken'))).filter((n) => n.kind === 'turn');
    assert.strictEqual(iconId(turns[1]), 'check');
  });

  it('picks up a new shard and a new session', async () => {
    fs.writeFileSync(path.join(journal, 'newcomer~7.jsonl'), lifecycle('n1', T0 + 500));
    const n = await waitFor(
      async () => (await sessionNodes()).find((x) => x.kind === 'session' && x.sessionId === 'newcomer'),
      15_000,
      () => `the new session (${seen()})`,
    );
    await waitFor(
      () => /^1 turn(?: · 1 issue)? · (?:just now|\d+ min ago|\d+ h ago|yesterday|\d+ days ago|\d{4}-\d\d-\d\d)$/.test(String(item(n).description)),
      10_000,
      'its summary',
    );
  });

  it('filters and sorts', async () => {
    await vscode.commands.executeCommand('botMemory.filter', 'findings');
    let ids = (await sessionNodes()).filter((n) => n.kind === 'session').map((n) => (n as { sessionId: string }).sessionId);
    assert.ok(ids.includes('broken'));
    assert.ok(!ids.includes('healthy'));
    // The description starts with "n of m reviewed" once any turn has feedback (test/extension/feedback.test.ts).
    assert.match(String(a.sessions.view.description), /(^|· )Filter: with findings$/);
    await vscode.commands.executeCommand('botMemory.filter', 'all');
    await vscode.commands.executeCommand('botMemory.sort', 'title');
    ids = (await sessionNodes()).filter((n) => n.kind === 'session').map((n) => (n as { sessionId: string }).sessionId);
    assert.deepStrictEqual(ids.slice(0, 2), ['broken', 'healthy']);
    await vscode.commands.executeCommand('botMemory.sort', 'lastActivity');
    ids = (await sessionNodes()).filter((n) => n.kind === 'session').map((n) => (n as { sessionId: string }).sessionId);
    assert.strictEqual(ids[0], 'newcomer');
  });

  it('copies ids and opens the raw shard at a line', async () => {
    const broken = await sessionNode('broken');
    await vscode.commands.executeCommand('botMemory.copySessionId', broken);
    assert.strictEqual(await vscode.env.clipboard.readText(), 'broken');
    const children = await a.sessions.tree.getChildren(broken);
    const turn = children.find((n) => n.kind === 'turn')!;
    await vscode.commands.executeCommand('botMemory.copyTurnId', turn);
    assert.strictEqual(await vscode.env.clipboard.readText(), 't1');
    const lineNode = (await a.sessions.tree.getChildren(children[0]))[0];
    await vscode.commands.executeCommand('botMemory.openRawShard', lineNode);
    const editor = await waitFor(() => vscode.window.activeTextEditor, 5000, 'an editor');
    assert.strictEqual(editor.document.uri.fsPath, path.join(journal, 'broken~1.jsonl'));
    assert.strictEqual(editor.selection.active.line, 4);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the status bar counts sessions needing attention and its command filters the view', async () => {
    const sb = a.sessions.statusBar;
    sb.update();
    assert.match(sb.item.text, /\d+ sessions? needs? attention/);
    assert.strictEqual(sb.item.command, 'botMemory.showSessionsNeedingAttention');
    await vscode.commands.executeCommand('botMemory.showSessionsNeedingAttention');
    assert.strictEqual(a.sessions.tree.filter, 'findings');
  });

  it('notices a run journal that appears, grows and goes, and shows what the analysis says of it', async function () {
    if (process.platform === 'win32') this.skip();
    fs.writeFileSync(path.join(journal, 'runner~1.jsonl'), lifecycle('r1', T0 + 600));
    const icon = async () => ((await sessionNodes()).some((x) => x.kind === 'session' && x.sessionId === 'runner') ? iconId(await sessionNode('runner')) : '');
    const waitIcon = (id: string, what: string) =>
      waitFor(
        async () => (await icon()) === id,
        15_000,
        () => `${what}: icon ${id} (${seen()})`,
      );
    await waitIcon('pass', 'the new session, healthy');
    // `_run_journal/` appears with the session's folder, a FIFO named like a run journal (never opened) and a run still streaming.
    const runs = path.join(sessionsDir, '_run_journal', 'runner');
    fs.mkdirSync(runs, { recursive: true });
    execFileSync('mkfifo', [path.join(runs, 'stream-fifo.jsonl')]);
    const file = path.join(runs, 'stream-r1.jsonl');
    const run = (seq: number, event: string, state: string | null) =>
      line({
        version: 1,
        event_id: `stream-r1:${seq}`,
        seq,
        run_id: 'stream-r1',
        session_id: 'runner',
        event,
        type: event,
        created_at: T0 + 600 + seq,
        terminal: state !== null,
        terminal_state: state,
        payload: {},
      });
    try {
      fs.writeFileSync(file, run(1, 'token', null));
      await waitIcon('info', 'a completed turn whose run never settled');
      // It grows: settled as cancelled, which the turn journal's "completed" contradicts (only the run's folder changed).
      fs.appendFileSync(file, run(2, 'cancel', 'interrupted-by-user'));
      await waitIcon('warning', 'the run disagreeing with the turn journal');
      fs.rmSync(file);
      await waitIcon('pass', 'the run gone');
    } finally {
      fs.rmSync(path.join(sessionsDir, '_run_journal'), { recursive: true, force: true });
    }
  });

  it("computes a new folder's cold summaries on a summary worker thread, equal to the core's own on one thread", async () => {
    const index = a.services.store.index;
    const dir = path.join(workspaceDir(), 'bots', 'workers');
    fs.mkdirSync(path.join(dir, '_turn_journal'), { recursive: true });
    const ids = ['w1', 'w2', 'w3'];
    for (const [k, id] of ids.entries()) {
      fs.writeFileSync(path.join(dir, '_turn_journal', `${id}~1.jsonl`), lifecycle(`${id}t`, T0 + k));
      const messages = [
        { role: 'user', content: `question ${id}t` },
        { role: 'assistant', content: 'answer' },
      ];
      fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ title: `Worker ${id}`, messages }));
    }
    try {
      await index.whenBackgroundIdle();
      const before = index.summariesFromWorkers;
      await a.services.store.reloadRoots();
      await index.whenBackgroundIdle();
      assert.strictEqual(index.summaryWorkerError, null);
      assert.ok(index.summariesFromWorkers >= before + ids.length, `${index.summariesFromWorkers - before} summaries from the worker`);
      const here = new SessionIndex({ now: () => Date.now() / 1000 });
      await here.setRoots([{ sessionsDir: dir, source: 'other' }]);
      for (const id of ids) {
        const mine = await here.summarize(dir, id);
        assert.deepStrictEqual({ ...index.cachedSummary(dir, id), computedAt: 0 }, { ...mine, computedAt: 0 }, id);
      }
      here.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await a.services.store.reloadRoots();
    }
  });

  it('keeps watching a journal folder that is deleted and made again', async () => {
    const moved = `${journal}.moved`;
    const processed = (what: string) => events.some((e) => e.startsWith(what));
    events.length = 0;
    fs.renameSync(journal, moved);
    await waitFor(
      () => processed('deleted _turn_journal'),
      15_000,
      () => `the folder's deletion (${seen()})`,
    );
    fs.mkdirSync(journal);
    await waitFor(
      () => processed('created _turn_journal'),
      15_000,
      () => `the folder's creation (${seen()})`,
    );
    try {
      // Only the journal folder's own watch can see this shard: the folder's creation was handled already.
      fs.writeFileSync(path.join(journal, 'phoenix~1.jsonl'), lifecycle('p1', T0 + 700));
      await waitFor(
        async () => (await sessionNodes()).some((x) => x.kind === 'session' && x.sessionId === 'phoenix'),
        15_000,
        () => `the session written into the new folder (${seen()})`,
      );
    } finally {
      for (const f of fs.readdirSync(moved)) fs.renameSync(path.join(moved, f), path.join(journal, f));
      fs.rmdirSync(moved);
    }
  });

  it('a journal folder made in the workspace after start-up becomes a root, without a refresh', async () => {
    const late = path.join(workspaceDir(), 'bots', 'late');
    fs.mkdirSync(path.join(late, '_turn_journal'), { recursive: true });
    try {
      fs.writeFileSync(path.join(late, 'late.json'), JSON.stringify({ title: 'Late chat', messages: [] }));
      fs.writeFileSync(path.join(late, '_turn_journal', 'late~1.jsonl'), lifecycle('l1', T0));
      await waitFor(() => a.services.store.roots().some((r) => r.sessionsDir === late), 20_000, 'the new folder as a root');
      const top = await a.sessions.tree.getChildren();
      const root = top.find((n) => n.kind === 'root' && n.root.sessionsDir === late);
      assert.ok(root, 'the tree lists it');
      assert.deepStrictEqual(
        (await a.sessions.tree.getChildren(root)).map((n) => n.kind === 'session' && n.sessionId),
        ['late'],
      );
    } finally {
      fs.rmSync(late, { recursive: true, force: true });
      await a.services.store.reloadRoots();
    }
  });

  it('every contributed command is registered', async () => {
    const pkg = JSON.parse(
      fs.readFileSync(path.join(vscode.extensions.getExtension('bot-memory-auditor.bot-memory-auditor')!.extensionPath, 'package.json'), 'utf8'),
    );
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const c of pkg.contributes.commands as { command: string }[]) assert.ok(registered.has(c.command), `${c.command} is declared but not registered`);
  });
});
