import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';
import { writeRepairFixture } from '../support/repairFixtures';
import { api, waitFor, workspaceDir } from './util';

/** Bot Memory diagnostics of every shard of `sessionId` under `dir`, with their file. */
function diagnosticsOf(dir: string, sessionId: string): { uri: vscode.Uri; d: vscode.Diagnostic }[] {
  const journal = path.join(dir, '_turn_journal');
  return fs
    .readdirSync(journal)
    .filter((f) => f.startsWith(`${sessionId}~`))
    .flatMap((f) => {
      const uri = vscode.Uri.file(path.join(journal, f));
      return vscode.languages
        .getDiagnostics(uri)
        .filter((d) => d.source === 'Bot Memory')
        .map((d) => ({ uri, d }));
    });
}

async function quickFixes(uri: vscode.Uri, range: vscode.Range): Promise<vscode.CodeAction[]> {
  // Code actions are asked of an open document (as the lightbulb and the Problems panel do).
  await vscode.workspace.openTextDocument(uri);
  const all = (await vscode.commands.executeCommand<(vscode.CodeAction | vscode.Command)[]>('vscode.executeCodeActionProvider', uri, range)) ?? [];
  return all.filter((a): a is vscode.CodeAction => 'kind' in a || 'diagnostics' in a || 'isPreferred' in a);
}

describe('Problems panel quick fixes', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let dir: string;

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'quickfixes');
    fs.mkdirSync(dir, { recursive: true });
    writeRepairFixture(dir);
    await a.services.store.reloadRoots();
    assert.ok(a.services.store.index.root(dir), 'the fixture folder is a root');
    await a.services.store.index.scan(dir);
    await Promise.all(a.services.store.index.sessions(dir).map((s) => a.services.store.index.summarize(dir, s.sessionId)));
  });

  it('a glued line is ONE Problems entry, and it offers Repair Session (preferred) and Open in Timeline', async () => {
    const glued = await waitFor(() => diagnosticsOf(dir, 'glued2').find((x) => x.d.code === 'glued_event'), 15_000, 'a glued_event diagnostic');
    const sameLine = diagnosticsOf(dir, 'glued2').filter((x) => x.uri.fsPath === glued.uri.fsPath && x.d.range.start.line === glued.d.range.start.line);
    assert.deepStrictEqual(
      sameLine.map((x) => x.d.code),
      ['glued_event'],
      'the glued line is one entry (not malformed_line + glued_event)',
    );
    assert.match(glued.d.message, /^glued line: a complete "[a-z_]+" event is glued[\s\S]*\(the line as written: malformed line: /);
    const actions = await quickFixes(glued.uri, glued.d.range);
    const titles = actions.map((x) => x.title);
    assert.ok(
      titles.some((t) => /^Repair session "Glued and torn lines" \(shows the plan first\)…$/.test(t)),
      titles.join(' | '),
    );
    const repair = actions.find((x) => x.title.startsWith('Repair session'))!;
    assert.strictEqual(repair.isPreferred, true);
    assert.strictEqual(repair.command?.command, 'botMemory.repairSession');
    assert.deepStrictEqual(repair.command?.arguments, [{ rootId: dir, sessionId: 'glued2' }]);
    assert.ok(
      titles.some((t) => /^Open turn \S+ in the Turn Timeline$/.test(t)),
      titles.join(' | '),
    );
    assert.ok(!titles.some((t) => /collision/i.test(t)), 'no collision action on a glued line');
  });

  it('a terminal collision offers Mark Collision Reviewed; running the quick fix records it and the action goes away', async () => {
    const col = await waitFor(() => diagnosticsOf(dir, 'collide3').find((x) => x.d.code === 'terminal_collision'), 15_000, 'a terminal_collision diagnostic');
    const actions = await quickFixes(col.uri, col.d.range);
    const mark = actions.find((x) => x.command?.command === 'botMemory.markCollisionReviewed');
    assert.ok(mark, actions.map((x) => x.title).join(' | '));
    assert.match(mark.title, /^Mark collision of turn \S+ reviewed…$/);
    const [target] = mark.command!.arguments as [{ rootId: string; sessionId: string; turnId: string }];
    assert.strictEqual(target.sessionId, 'collide3');
    // The command asks for a note; a note in the argument skips the input box (as scripts do).
    const r = (await vscode.commands.executeCommand(mark.command!.command, { ...target, note: 'quick fix: provider retried' })) as { status: string };
    assert.strictEqual(r.status, 'reviewed');
    const after = await waitFor(
      () => diagnosticsOf(dir, 'collide3').find((x) => x.d.code === 'terminal_collision' && x.d.severity === vscode.DiagnosticSeverity.Information),
      10_000,
      'the collision shown as reviewed',
    );
    const again = await quickFixes(after.uri, after.d.range);
    assert.ok(!again.some((x) => x.command?.command === 'botMemory.markCollisionReviewed'), 'no second review offered');
    assert.ok(again.some((x) => x.command?.command === 'botMemory.openTimeline'));
  });

  it('running "Open … in the Turn Timeline" opens the session timeline', async () => {
    const d = await waitFor(() => diagnosticsOf(dir, 'dangling1').find((x) => x.d.code === 'dangling_turn'), 15_000, 'a dangling_turn diagnostic');
    const open = (await quickFixes(d.uri, d.d.range)).find((x) => x.command?.command === 'botMemory.openTimeline');
    assert.ok(open?.command);
    assert.ok((open.command.arguments?.[0] as { turnId?: string }).turnId, 'the dangling turn is named');
    await vscode.commands.executeCommand(open.command.command, ...(open.command.arguments ?? []));
    const tab = await waitFor(
      () => {
        const t = vscode.window.tabGroups.activeTabGroup.activeTab;
        return t?.input instanceof vscode.TabInputCustom && t.input.viewType === 'botMemory.timeline' ? t : undefined;
      },
      10_000,
      'the timeline tab',
    );
    assert.match((tab.input as vscode.TabInputCustom).uri.fsPath, /dangling1~\d+\.jsonl$/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
