import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { Comparison, PreferenceResult } from '../../src/extension/compare/compareAnswers';
import type { BotMemoryApi } from '../../src/extension/extension';
import { FIXED_NOW, writeSessionsFolder } from '../support/fixtures';
import { api, workspaceDir } from './util';

describe('Compare Answers (extension host)', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let dir: string;
  let turns: string[];

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'compare');
    fs.mkdirSync(dir, { recursive: true });
    writeSessionsFolder(
      dir,
      [
        {
          id: 'regen1',
          title: 'Regenerated answers',
          pids: [3100],
          startAt: FIXED_NOW - 86400,
          turns: [
            { user: 'Explain fsync', assistant: 'fsync flushes the file.\nIt is slow.' },
            { user: 'Explain fsync', assistant: 'fsync flushes the file and its metadata.\nIt is slow on ext4.' },
            { user: 'Thanks <b>!</b>', assistant: 'You are welcome.' },
          ],
        },
      ],
      { seed: 11, now: FIXED_NOW },
    );
    await a.services.store.reloadRoots();
    assert.ok(a.services.store.index.root(dir), 'the fixture folder is a root');
    await a.services.store.index.scan(dir);
    const analysis = await a.services.store.index.analyze(dir, 'regen1');
    turns = analysis!.turns.map((t) => t.turnId);
    assert.strictEqual(turns.length, 3);
  });
  after(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));

  it('opens the diff editor on two read-only answers to the same question; "Prefer Right Answer" records the preference pair', async () => {
    const c = (await vscode.commands.executeCommand('botMemory.compareAnswers', { rootId: dir, sessionId: 'regen1', turnId: turns[0] })) as Comparison;
    assert.ok(c, 'a comparison opened (the only other answer to "Explain fsync")');
    assert.strictEqual(c.right.ref.turnId, turns[1]);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputTextDiff, `the diff editor is active, got ${tab?.input?.constructor.name}`);
    assert.match(tab.label, /^turn 1 \(qwen\/qwen3-coder\) ↔ turn 2 \(qwen\/qwen3-coder\)$/);
    const input = tab.input as vscode.TabInputTextDiff;
    assert.strictEqual(input.original.scheme, 'bot-memory-answer');
    assert.strictEqual((await vscode.workspace.openTextDocument(input.original)).getText(), 'fsync flushes the file.\nIt is slow.');
    assert.strictEqual((await vscode.workspace.openTextDocument(input.modified)).getText(), 'fsync flushes the file and its metadata.\nIt is slow on ext4.');
    // Read-only: a virtual document of a content provider cannot be saved.
    assert.strictEqual((await vscode.workspace.openTextDocument(input.modified)).isUntitled, false);

    const r = (await vscode.commands.executeCommand('botMemory.compare.preferRight')) as PreferenceResult;
    assert.deepStrictEqual(r.recorded, [
      { turnId: turns[1], value: 1 },
      { turnId: turns[0], value: -1 },
    ]);
    await a.services.store.index.refreshFeedback(dir, 'regen1');
    const chosen = a.feedback.current({ rootId: dir, sessionId: 'regen1', turnId: turns[1] });
    const rejected = a.feedback.current({ rootId: dir, sessionId: 'regen1', turnId: turns[0] });
    assert.strictEqual(chosen?.value, 1);
    assert.strictEqual(chosen?.note, 'preferred over turn 1 (qwen/qwen3-coder) (Compare Answers)');
    assert.deepStrictEqual(chosen?.tags, ['compare']);
    assert.strictEqual(rejected?.value, -1);
    assert.strictEqual(rejected?.note, 'turn 2 (qwen/qwen3-coder) preferred (Compare Answers)');
  });

  it("compares a turn's answer with its correction; preferring the correction rates only the turn's own answer", async () => {
    const ref = { rootId: dir, sessionId: 'regen1', turnId: turns[2] };
    await vscode.commands.executeCommand('botMemory.feedback.writeCorrection', { ...ref, text: 'You are very welcome.' });
    const none = await vscode.commands.executeCommand('botMemory.compareAnswers', { ...ref, other: turns[0] });
    assert.strictEqual(none, undefined, 'turn 1 asked another question: not a candidate');
    const c = (await vscode.commands.executeCommand('botMemory.compareAnswers', ref)) as Comparison;
    assert.strictEqual(c.right.kind, 'correction');
    assert.strictEqual(c.right.text, 'You are very welcome.');
    assert.match(vscode.window.tabGroups.activeTabGroup.activeTab?.label ?? '', /^turn 3 \(.+\) ↔ correction of turn 3 \(.+\)$/);
    const r = (await vscode.commands.executeCommand('botMemory.compare.preferRight')) as PreferenceResult;
    assert.deepStrictEqual(r.recorded, [{ turnId: turns[2], value: -1 }]);
  });

  it('every compare command has a title, the category, and a when clause where it is offered', () => {
    const pkg = JSON.parse(
      fs.readFileSync(path.join(vscode.extensions.getExtension('bot-memory-auditor.bot-memory-auditor')!.extensionPath, 'package.json'), 'utf8'),
    );
    for (const id of ['botMemory.compareAnswers', 'botMemory.compare.preferLeft', 'botMemory.compare.preferRight']) {
      const cmd = pkg.contributes.commands.find((x: { command: string }) => x.command === id);
      assert.strictEqual(cmd.category, 'Bot Memory', id);
      assert.ok(cmd.title, id);
    }
    const keys = pkg.contributes.keybindings.filter((k: { command: string }) => k.command.startsWith('botMemory.compare.'));
    assert.strictEqual(keys.length, 2);
    for (const k of keys) assert.match(k.when, /resourceScheme == bot-memory-answer/);
  });
});
