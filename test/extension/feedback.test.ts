/**
 * Feedback in the real extension host: commands write `_turn_feedback/<sid>.jsonl`, the tree
 * item and the timeline card show it at once, another process's append shows too, the
 * timeline's keys rate the focused card, Next Unreviewed walks completed turns newest first,
 * and Export Training Data writes valid lines.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { Node } from '../../src/extension/tree/sessionsTree';
import type { Snapshot, WebviewRequest } from '../../src/shared/timelineProtocol';
import { formatFeedbackRecord } from '../../src/core/feedback/record';
import { T0 } from '../core/helpers';
import { turnLines, validateLine, writeSession } from '../core/feedbackFixture';
import { api, waitFor, waitForWatcher, workspaceDir } from './util';

const QUERY = '_botMemory.timeline.query';

describe('Feedback', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let dir: string;
  const file = (sid: string) => path.join(dir, '_turn_feedback', `${sid}.jsonl`);
  const records = (sid: string) =>
    fs.existsSync(file(sid))
      ? fs
          .readFileSync(file(sid), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];

  async function turnNodes(sid: string): Promise<Node[]> {
    const top = await a.sessions.tree.getChildren();
    const root = top.find((n) => n.kind === 'root' && n.root.sessionsDir === dir);
    const sessions = root ? await a.sessions.tree.getChildren(root) : top;
    const s = sessions.find((n) => n.kind === 'session' && n.sessionId === sid);
    assert.ok(s, `no session node ${sid}`);
    return (await a.sessions.tree.getChildren(s)).filter((n) => n.kind === 'turn');
  }
  async function turnItem(sid: string, turnId: string): Promise<vscode.TreeItem> {
    const n = (await turnNodes(sid)).find((x) => x.kind === 'turn' && x.turn.turnId === turnId);
    assert.ok(n, `no turn node ${turnId}`);
    return a.sessions.tree.getTreeItem(n);
  }
  const query = async (uri: vscode.Uri, r: WebviewRequest = { kind: 'snapshot' }) =>
    (await vscode.commands.executeCommand(QUERY, uri.toString(), r)) as Snapshot;
  async function until(uri: vscode.Uri, ok: (s: Snapshot) => boolean, what: string): Promise<Snapshot> {
    let last: Snapshot | undefined;
    return waitFor(
      async () => {
        last = await query(uri);
        return ok(last) ? last : undefined;
      },
      15_000,
      () => `${what}; last: ${JSON.stringify(last?.feedback)} ${last?.renderedTurnIds}`,
    );
  }

  /** Resolves when the 👎 reason pick is shown. */
  const askedReason = () =>
    new Promise<void>((resolve) => {
      const sub = a.feedback.onDidAskReason(() => {
        sub.dispose();
        resolve();
      });
    });
  /** Accepts item i of the quick pick that is shown (0 = the first). */
  async function pickItem(i: number): Promise<void> {
    await new Promise((r) => setTimeout(r, 300));
    for (let k = 0; k < i; k++) await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
  }

  before(async () => {
    a = await api();
    await vscode.workspace.getConfiguration('botMemory.feedback').update('reviewer', 'Test Reviewer', vscode.ConfigurationTarget.Global);
    // Rating keys stay in the session here (the UI test follows focus across sessions).
    await vscode.workspace.getConfiguration('botMemory.feedback').update('advanceAfterRating', 'nextTurn', vscode.ConfigurationTarget.Global);
    dir = path.join(workspaceDir(), 'bots', 'fb');
    writeSession(
      dir,
      'fa',
      turnLines('fa', 'a1', T0, 'Hi', 1) +
        turnLines('fa', 'a2', T0 + 60, 'Capital of France?', 3) +
        turnLines('fa', 'a3', T0 + 120, 'Stop', null, 'interrupted'),
      [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Capital of France?' },
        { role: 'assistant', content: 'Paris' },
      ],
    );
    writeSession(dir, 'fb', turnLines('fb', 'b1', T0 + 30, 'Hi', 1) + turnLines('fb', 'b2', T0 + 200, 'Newest question', 3), [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Go away.' },
      { role: 'user', content: 'Newest question' },
      { role: 'assistant', content: 'Newest answer' },
    ]);
    await a.services.store.reloadRoots();
    assert.ok(a.services.store.roots().some((r) => r.sessionsDir === dir));
    await waitForWatcher(a, dir);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('botMemory.feedback').update('reviewer', undefined, vscode.ConfigurationTarget.Global);
    await vscode.workspace.getConfiguration('botMemory.feedback').update('advanceAfterRating', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('thumbs up from the tree writes a record and the tree item shows it at once', async () => {
    const node = (await turnNodes('fa')).find((n) => n.kind === 'turn' && n.turn.turnId === 'a1')!;
    await vscode.commands.executeCommand('botMemory.feedback.thumbsUp', node);
    const recs = records('fa');
    assert.strictEqual(recs.length, 1);
    assert.deepStrictEqual(
      [recs[0].type, recs[0].version, recs[0].session_id, recs[0].turn_id, recs[0].feedback, recs[0].reviewer],
      ['feedback', 1, 'fa', 'a1', 1, 'Test Reviewer'],
    );
    const item = await turnItem('fa', 'a1');
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'thumbsup');
    assert.match(String(item.description), /^thumbs up · completed/);
    assert.match(String(item.contextValue), /\brated up\b/);
    assert.match((item.tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' '), /thumbs up by Test Reviewer/);
    await waitFor(() => a.services.store.index.cachedSummary(dir, 'fa')?.reviewed === 1, 5000, 'the summary counts it');
    assert.match(String(a.sessions.view.description), /\d+ of \d+ reviewed/);
    await waitFor(
      () => /^[1-9]\d* of \d+ completed turns reviewed$/.test(String(a.sessions.view.message)),
      5000,
      () => `the view message (${a.sessions.view.message})`,
    );
  });

  it('the timeline shows it, and its keys and buttons rate the focused card; notes and another process too', async () => {
    await vscode.commands.executeCommand('botMemory.openTimeline', { rootId: dir, sessionId: 'fa', turnId: 'a2' });
    const uri = vscode.Uri.file(path.join(dir, '_turn_journal', 'fa~100.jsonl'));
    await until(uri, (x) => x.feedback.includes('up:a1') && x.feedbackButtons > 0, 'a1 shows 👍 with buttons');
    // Keyboard: "-" on a2's card asks why; Escape cancels (nothing written, a2 selected again).
    let asked = askedReason();
    await query(uri, { kind: 'key', key: '-', turnId: 'a2' });
    await asked;
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    await until(uri, (x) => x.selectedKey === 't:a2', 'Escape: a2 is selected again');
    assert.strictEqual(records('fa').length, 1, 'Escape rated nothing');
    // "-" again, then the second reason of the list (upstream's: inaccurate, not_helpful, …).
    asked = askedReason();
    await query(uri, { kind: 'key', key: '-', turnId: 'a2' });
    await asked;
    await pickItem(2);
    await until(uri, (x) => x.feedback.includes('down:a2'), 'the - key rated a2 👎');
    assert.deepStrictEqual(
      records('fa').map((r) => [r.turn_id, r.feedback, r.reason ?? null]),
      [
        ['a1', 1, null],
        ['a2', -1, 'not_helpful'],
      ],
    );
    // A note through the command the "n" key runs (the input box is skipped by the argument).
    await vscode.commands.executeCommand('botMemory.feedback.addNote', { rootId: dir, sessionId: 'fa', turnId: 'a2', note: 'Say <b>Paris</b> first' });
    await waitFor(() => records('fa').at(-1)?.note === 'Say <b>Paris</b> first' && records('fa').at(-1)?.feedback === -1, 5000, 'the note keeps the 👎');
    // "0" clears.
    await query(uri, { kind: 'key', key: '0', turnId: 'a1' });
    await until(uri, (x) => !x.feedback.some((f) => f.endsWith(':a1')), 'the 0 key cleared a1');
    assert.strictEqual(records('fa').at(-1).feedback, 0);
    // Another process appends: the watcher brings it in.
    fs.appendFileSync(
      file('fa'),
      formatFeedbackRecord({ sessionId: 'fa', turnId: 'a3', feedback: 1, reviewer: 'Other Process', note: 'from elsewhere' }) + '\n',
    );
    const s = await until(uri, (x) => x.feedback.includes('up:a3'), 'a record from another process shows');
    assert.ok(s.feedback.includes('down:a2'));
    const item = await turnItem('fa', 'a3');
    assert.strictEqual((item.iconPath as vscode.ThemeIcon).id, 'thumbsup');
    assert.match((item.tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' '), /from elsewhere/);
  });

  it('Give Feedback on Turn… with a full argument, and Next Unreviewed walks the queue oldest first (or newest first)', async () => {
    await vscode.commands.executeCommand('botMemory.giveFeedback', { rootId: dir, sessionId: 'fb', turnId: 'b1', value: -1, note: 'rude' });
    assert.deepStrictEqual(
      records('fb').map((r) => [r.turn_id, r.feedback, r.note]),
      [['b1', -1, 'rude']],
    );
    // Unreviewed completed turns in this folder now: a1 (fa, from T0, cleared), b2 (fb, from T0+30). a3 is interrupted.
    const walk = async (arg?: object) => {
      a.feedback.resetWalk();
      const seen: string[] = [];
      for (let i = 0; i < 60; i++) {
        const next = (await vscode.commands.executeCommand('botMemory.nextUnreviewedTurn', arg)) as
          { rootId: string; sessionId: string; turnId: string } | undefined;
        if (!next) break;
        if (next.rootId === dir) seen.push(`${next.sessionId}/${next.turnId}`);
        if (seen.length === 2) break;
      }
      return seen;
    };
    assert.deepStrictEqual(await walk({ order: 'newestFirst' }), ['fb/b2', 'fa/a1']);
    assert.deepStrictEqual(await walk(), ['fa/a1', 'fb/b2'], 'oldest first by default');
    const shown = await until(
      vscode.Uri.file(path.join(dir, '_turn_journal', 'fb~100.jsonl')),
      (x) => x.selectedKey === 't:b2',
      'b2 (the last one visited) revealed in its timeline',
    );
    assert.strictEqual(shown.shownRows, 2, 'the whole session is shown');
    // The walk shows the queue's progress in the status bar, live; a click walks on.
    const bar = a.feedback.statusBar;
    assert.ok(bar.visible, 'the review progress is in the status bar once the walk started');
    assert.strictEqual(bar.item.command, 'botMemory.nextUnreviewedTurn');
    const before = a.feedback.progress();
    assert.strictEqual(bar.item.text, `$(feedback) ${before.reviewed} of ${before.reviewable} reviewed`);
    // Rating b2 removes it from the walk, and the status bar counts it without another step.
    await vscode.commands.executeCommand('botMemory.feedback.thumbsUp', { rootId: dir, sessionId: 'fb', turnId: 'b2' });
    await waitFor(
      () => bar.item.text === `$(feedback) ${before.reviewed + 1} of ${before.reviewable} reviewed` || undefined,
      5000,
      () => `the status bar to count the rating (it says ${bar.item.text})`,
    );
    a.feedback.resetWalk();
    const next = (await vscode.commands.executeCommand('botMemory.nextUnreviewedTurn')) as { rootId: string; sessionId: string; turnId: string } | undefined;
    assert.ok(!(next?.rootId === dir && next.turnId === 'b2'));
  });

  it('Export Training Data writes valid lines and reports what it left out', async () => {
    const out = path.join(workspaceDir(), 'kto.jsonl');
    const summary = (await vscode.commands.executeCommand('botMemory.exportTrainingData', { rootId: dir, format: 'kto', out, options: {} })) as {
      examples: number;
      excluded: Record<string, number>;
    };
    const lines = fs.readFileSync(out, 'utf8').split(/(?<=\n)/);
    assert.strictEqual(lines.length, summary.examples);
    for (const l of lines) assert.strictEqual(validateLine('kto', l), null, l);
    // fa/a2 👎, fb/b1 👎; a1 cleared; a3 interrupted; fb/b2 👍 follows b1's 👎: left out (it would train on "Go away.").
    assert.deepStrictEqual(
      lines.map((l) => {
        const o = JSON.parse(l);
        return [o.completion[0].content, o.label];
      }),
      [
        ['Paris', false],
        ['Go away.', false],
      ],
    );
    assert.deepStrictEqual(summary.excluded, { cleared: 1, interrupted: 1, rejected_in_history: 1 });
    assert.strictEqual(fs.statSync(out).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(`${out}.README.md`, 'utf8'), /^---\nlicense: other/);
    // No examples: nothing written.
    const none = path.join(workspaceDir(), 'none.jsonl');
    const r = (await vscode.commands.executeCommand('botMemory.exportTrainingData', {
      rootId: dir,
      format: 'dpo',
      out: none,
      options: { model: 'no-such-model' },
    })) as { written: boolean; examples: number };
    assert.deepStrictEqual([r.written, r.examples, fs.existsSync(none)], [false, 0, false]);
  });

  it('the export notification\'s "Open File" opens the exported file in an editor', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const out = path.join(workspaceDir(), 'toast-kto.jsonl');
    const r = (await vscode.commands.executeCommand('botMemory.exportTrainingData', { rootId: dir, format: 'kto', out, options: {}, toast: true })) as {
      written: boolean;
    };
    assert.ok(r.written && fs.existsSync(out));
    assert.notStrictEqual(vscode.window.activeTextEditor?.document.uri.fsPath, out, 'not open before the action');
    // The newest notification's primary action is its first button, "Open File" (the workbench's own command, as Ctrl+Shift+A).
    const ed = await waitFor(
      async () => {
        if (vscode.window.activeTextEditor?.document.uri.fsPath === out) return vscode.window.activeTextEditor;
        await vscode.commands.executeCommand('notification.acceptPrimaryAction');
        await new Promise((res) => setTimeout(res, 200));
        return undefined;
      },
      10_000,
      () => `the exported file opens (active: ${vscode.window.activeTextEditor?.document.uri.fsPath})`,
    );
    assert.strictEqual(ed.document.getText(), fs.readFileSync(out, 'utf8'));
  });

  it('c on a timeline card opens the correction editor prefilled with the answer; saving records it; DPO then pairs it', async () => {
    await vscode.commands.executeCommand('botMemory.openTimeline', { rootId: dir, sessionId: 'fb', turnId: 'b1' });
    const uri = vscode.Uri.file(path.join(dir, '_turn_journal', 'fb~100.jsonl'));
    await until(uri, (x) => x.feedbackButtons > 0, 'fb timeline with buttons');
    // b2 unrated again: after c on b1 the focus moves on to it (the next unrated answered turn).
    await vscode.commands.executeCommand('botMemory.feedback.clear', { rootId: dir, sessionId: 'fb', turnId: 'b2' });
    await until(uri, (x) => !x.feedback.some((f) => f.endsWith(':b2')), 'b2 cleared');
    await query(uri, { kind: 'key', key: 'c', turnId: 'b1' });
    const direct = await vscode.commands.executeCommand('botMemory.feedback.writeCorrection', { rootId: dir, sessionId: 'fb', turnId: 'b1' });
    assert.ok(direct, 'the command opened a draft');
    const ed = await waitFor(
      () => (vscode.window.activeTextEditor?.document.languageId === 'markdown' ? vscode.window.activeTextEditor : undefined),
      10_000,
      'a Markdown editor opens',
    );
    assert.strictEqual(ed.document.getText(), 'Go away.');
    assert.strictEqual(fs.statSync(ed.document.uri.fsPath).mode & 0o777, 0o600);
    await ed.edit((e) => e.replace(new vscode.Range(0, 0, ed.document.lineCount, 0), 'Hello! How can I help?\n\n- with *Markdown*'));
    await ed.document.save();
    await waitFor(() => records('fb').some((r) => r.type === 'correction'), 10_000, 'the save appended a correction');
    const cor = records('fb').find((r) => r.type === 'correction');
    await until(uri, (x) => x.selectedKey === 't:b2', 'the focus moved on to b2');
    assert.deepStrictEqual([cor.turn_id, cor.text, cor.reviewer], ['b1', 'Hello! How can I help?\n\n- with *Markdown*', 'Test Reviewer']);
    const out = path.join(workspaceDir(), 'dpo.jsonl');
    const summary = (await vscode.commands.executeCommand('botMemory.exportTrainingData', { rootId: dir, format: 'dpo', out, options: {} })) as {
      examples: number;
    };
    const pairs = fs
      .readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    assert.strictEqual(pairs.length, summary.examples);
    assert.ok(
      pairs.some((p) => p.chosen[0].content === cor.text && p.rejected[0].content === 'Go away.'),
      JSON.stringify(pairs),
    );
  });

  it("shows hermes-webui's own thumbs and disagreement in the tree (per turn and per session)", async () => {
    // feedback.jsonl beside the sessions folder (hermes' default profile): b1's answer (index 1) 👍, b2's (index 3) 👎 too_long.
    const hermesFile = path.join(path.dirname(dir), 'feedback.jsonl');
    const line = (o: object) => JSON.stringify(o) + '\n';
    fs.writeFileSync(
      hermesFile,
      line({ ts: 1767225700, session_id: 'fb', rating: 'up', profile: 'default', index: 1 }) +
        line({ ts: 1767225800, session_id: 'fb', rating: 'down', profile: 'default', index: 3, reason: 'too_long' }),
    );
    try {
      await vscode.commands.executeCommand('botMemory.feedback.clear', { rootId: dir, sessionId: 'fb', turnId: 'b2' });
      // The watcher on hermes' folder brings it in (no command touches the file).
      const b1 = await waitFor(
        async () => {
          const item = await turnItem('fb', 'b1');
          return /disagree/.test(String(item.description)) ? item : undefined;
        },
        15_000,
        'b1 (our 👎 vs hermes 👍) shows the disagreement',
      );
      assert.strictEqual((b1.iconPath as vscode.ThemeIcon).id, 'comment-discussion');
      assert.match(String(b1.description), /^thumbs down · hermes thumbs up · disagree · completed/);
      assert.match(String(b1.contextValue), /\bhermesUp\b.*\bdisagree\b/);
      // Escaped Markdown (every ASCII punctuation backslash-escaped): compare the text without the escapes.
      const tip = (b1.tooltip as vscode.MarkdownString).value.replace(/&nbsp;/g, ' ').replace(/\\/g, '');
      assert.ok(tip.includes('hermes-webui (feedback.jsonl): 👍 thumbs up'), tip);
      assert.ok(tip.includes('Disagreement: Test Reviewer 👎, hermes-webui 👍'), tip);
      const b2 = await turnItem('fb', 'b2');
      assert.strictEqual((b2.iconPath as vscode.ThemeIcon).id, 'thumbsdown');
      assert.match(String(b2.description), /^hermes thumbs down \(too_long\) · completed/);
      await waitFor(
        () => {
          const sum = a.services.store.index.cachedSummary(dir, 'fb');
          return sum?.hermesUp === 1 && sum.hermesDown === 1 && sum.disagreements === 1;
        },
        10_000,
        'the summary counts them',
      );
      const top = await a.sessions.tree.getChildren();
      const root = top.find((n) => n.kind === 'root' && n.root.sessionsDir === dir);
      const session = (root ? await a.sessions.tree.getChildren(root) : top).find((n) => n.kind === 'session' && n.sessionId === 'fb')!;
      assert.match(String(a.sessions.tree.getTreeItem(session).description), /hermes 1 up 1 down · 1 disagreement/);
      // Never written by us.
      assert.strictEqual(fs.readFileSync(hermesFile, 'utf8').split('\n').filter(Boolean).length, 2);
    } finally {
      fs.rmSync(hermesFile, { force: true });
    }
  });

  it('the inline 👎 on a tree row asks why too (Escape cancels, a pick is recorded)', async () => {
    const node = (await turnNodes('fa')).find((n) => n.kind === 'turn' && n.turn.turnId === 'a1')!;
    const before = records('fa').length;
    let asked = askedReason();
    const cancelled = vscode.commands.executeCommand('botMemory.feedback.thumbsDown', node);
    await asked;
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.strictEqual(await cancelled, undefined);
    assert.strictEqual(records('fa').length, before, 'Escape rated nothing');
    asked = askedReason();
    const rated = vscode.commands.executeCommand('botMemory.feedback.thumbsDown', node);
    await asked;
    await pickItem(1);
    await rated;
    assert.deepStrictEqual([records('fa').at(-1).turn_id, records('fa').at(-1).feedback, records('fa').at(-1).reason], ['a1', -1, 'inaccurate']);
  });
});
