import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { RepairCommandResult } from '../../src/extension/repair/repairService';
import { mechanismScenario, runWriterModel } from '../support/fixtures/mechanisms';
import { writeStateDb } from '../support/fixtures/stateDb';
import { spawnSync } from 'child_process';
import { api, waitFor, workspaceDir } from './util';

/** Issue 13 in the extension: upstream's writer damage shows in the report and Problems; repair never marks an answered turn. */
describe('Upstream writer damage in the extension (split turns, dropped events, Make Readable)', function () {
  this.timeout(90_000);
  let a: BotMemoryApi;
  let dir: string;
  const T0 = 1763600000;
  const sc = mechanismScenario(T0, 0);

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'mechanisms');
    fs.rmSync(dir, { recursive: true, force: true });
    runWriterModel(dir, sc.steps);
    for (const f of fs.readdirSync(path.join(dir, '_turn_journal'))) fs.utimesSync(path.join(dir, '_turn_journal', f), T0, T0);
    await a.services.store.reloadRoots();
    assert.ok(a.services.store.index.root(dir), 'the corpus folder is a root');
  });

  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await a.services.store.reloadRoots();
  });

  it('the report and the Problems panel show split turns, dropped lifecycle events and the session upstream cannot read', async () => {
    const r = (await vscode.commands.executeCommand('botMemory.auditSessions', { showReport: false })) as { markdown: string };
    assert.match(r.markdown, /`split_turn`/);
    assert.match(r.markdown, /`lifecycle_dropped`/);
    assert.match(r.markdown, /`upstream_unreadable`/);
    const uri = vscode.Uri.file(path.join(dir, '_turn_journal', 'dropped0~1.jsonl'));
    await waitFor(
      () => vscode.languages.getDiagnostics(uri).some((d) => d.code === 'upstream_unreadable' && d.severity === vscode.DiagnosticSeverity.Error),
      15_000,
      'upstream_unreadable error in Problems',
    );
  });

  it("with botMemory.stateDb set, the report has upstream's state_db_* kinds; state.db is opened read-only in place", async function () {
    if (spawnSync('python3', ['--version']).status !== 0) return this.skip();
    const db = path.join(workspaceDir(), 'hermes-home', 'state.db');
    fs.rmSync(path.dirname(db), { recursive: true, force: true });
    fs.mkdirSync(path.dirname(db), { recursive: true });
    writeStateDb(db, [{ id: 'dbonly-ext', source: 'webui', messages: 2 }], [{ id: 'dbempty-ext', source: 'webui', messages: 0 }]);
    const config = vscode.workspace.getConfiguration('botMemory');
    await config.update('stateDb', db, vscode.ConfigurationTarget.Global);
    try {
      const r = (await vscode.commands.executeCommand('botMemory.auditSessions', { showReport: false })) as { markdown: string };
      assert.match(r.markdown, /`state_db_missing_sidecar` `dbonly-ext` \(repairable, `materialize_from_state_db`\)/);
      assert.match(r.markdown, /`state_db_orphan_webui_row` `dbempty-ext` \(unsafe_to_repair, `manual_review`\)/);
      assert.match(r.markdown, /state\.db .*: read read-only/, 'node:sqlite in the extension host reads it in place');
      // The Problems panel has them too, on the (missing) sidecar each is about.
      const missing = vscode.Uri.file(path.join(dir, 'dbonly-ext.json'));
      const problems = vscode.languages.getDiagnostics(missing);
      assert.deepStrictEqual(
        problems.map((d) => [d.code, d.severity, d.source]),
        [['state_db_missing_sidecar', vscode.DiagnosticSeverity.Warning, 'Bot Memory']],
      );
      assert.match(problems[0].message, /its sidecar dbonly-ext\.json is missing .*hermes-webui's own audit: repairable, materialize_from_state_db/);
    } finally {
      await config.update('stateDb', undefined, vscode.ConfigurationTarget.Global);
      fs.rmSync(path.dirname(db), { recursive: true, force: true });
    }
    await vscode.commands.executeCommand('botMemory.auditSessions', { showReport: false });
    assert.deepStrictEqual(vscode.languages.getDiagnostics(vscode.Uri.file(path.join(dir, 'dbonly-ext.json'))), [], 'the next run clears it');
  });

  it('Make Readable for hermes-webui, then Repair All: no answered turn gets a marker', async () => {
    const m = (await vscode.commands.executeCommand('botMemory.makeReadable', { yes: true })) as { status: string; message: string };
    assert.strictEqual(m.status, 'applied', m.message);
    const r = (await vscode.commands.executeCommand('botMemory.repairAll', { yes: true, showPlan: false, rootIds: [dir] })) as RepairCommandResult;
    assert.strictEqual(r.status, 'applied', r.message);
    for (const sid of new Set(sc.turns.map((t) => t.sessionId))) {
      const side = JSON.parse(fs.readFileSync(path.join(dir, `${sid}.json`), 'utf8')) as { messages: { type?: string }[] };
      const want = sc.turns.filter((t) => t.sessionId === sid && !t.answered).length;
      assert.strictEqual(side.messages.filter((x) => x.type === 'interrupted').length, want, `${sid}: markers only for unanswered turns`);
    }
  });
});
