import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { RepairCommandResult } from '../../src/extension/repair/repairService';
import { trustGate, UNTRUSTED_MESSAGE } from '../../src/extension/repair/repairService';
import { writeRepairFixture } from '../support/repairFixtures';
import { api, waitFor, workspaceDir } from './util';

describe('Audit and repair commands', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let dir: string;
  const original = new Map<string, Buffer>();
  const diagnosticsOf = (file: string) => vscode.languages.getDiagnostics(vscode.Uri.file(path.join(dir, '_turn_journal', file)));

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'repairs');
    fs.mkdirSync(dir, { recursive: true });
    writeRepairFixture(dir);
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) original.set(f, fs.readFileSync(path.join(dir, f)));
    await a.services.store.reloadRoots();
    assert.ok(a.services.store.index.root(dir), 'the fixture folder is a root');
  });

  it('Audit Sessions fills the Problems panel and writes a report per session, per finding, with what repair would do', async () => {
    const r = (await vscode.commands.executeCommand('botMemory.auditSessions', { showReport: false })) as { markdown: string };
    assert.match(r.markdown, /## dangling1 — Two dangling turns/);
    assert.match(r.markdown, /`dangling_turn`/);
    assert.match(r.markdown, /### What repair would do/);
    assert.match(r.markdown, /interruption marker for turn/);
    assert.match(r.markdown, /For a human\*\* \(terminal collisions are never fixed automatically\)/);
    assert.ok(!/<script/i.test(r.markdown), 'transcript text is escaped');
    await waitFor(
      () => diagnosticsOf('collide3~6200.jsonl').some((d) => d.severity === vscode.DiagnosticSeverity.Error && d.code === 'malformed_line'),
      10_000,
      'malformed-line errors in the Problems panel',
    );
  });

  it('Repair Session applies the shown plan (confirmation skipped with {yes: true}) and the tree follows', async () => {
    const r = (await vscode.commands.executeCommand('botMemory.repairSession', { rootId: dir, sessionId: 'dangling1', yes: true })) as RepairCommandResult;
    assert.strictEqual(r.status, 'applied', r.message);
    assert.ok(r.planUri);
    assert.match(a.repair.plans.text(vscode.Uri.parse(r.planUri!)) ?? '', /# Repair plan — dangling1[\s\S]*recovered user message of turn/);
    const sc = JSON.parse(fs.readFileSync(path.join(dir, 'dangling1.json'), 'utf8')) as { messages: { type?: string; interruption_cause?: string }[] };
    assert.strictEqual(sc.messages.filter((m) => m.type === 'interrupted' && m.interruption_cause === 'audit_repair').length, 2);
    assert.strictEqual(
      fs
        .readFileSync(path.join(dir, '_turn_journal', 'dangling1~audit.jsonl'), 'utf8')
        .trim()
        .split('\n').length,
      2,
    );
    await waitFor(() => a.services.store.index.cachedSummary(dir, 'dangling1')?.open === 0, 10_000, 'no open turn left in dangling1');
    const again = (await vscode.commands.executeCommand('botMemory.repairSession', {
      rootId: dir,
      sessionId: 'dangling1',
      yes: true,
      showPlan: false,
    })) as RepairCommandResult;
    assert.strictEqual(again.status, 'nothing');
  });

  it('Repair All Sessions repairs a folder; reviewed broken lines become Information in the Problems panel', async () => {
    const r = (await vscode.commands.executeCommand('botMemory.repairAll', { yes: true, showPlan: false, rootIds: [dir] })) as RepairCommandResult;
    assert.strictEqual(r.status, 'applied', r.message);
    assert.deepStrictEqual(
      r.results[0].sessions.map((s) => [s.sessionId, s.status]),
      [
        ['collide3', 'applied'],
        ['glued2', 'applied'],
      ],
    );
    await waitFor(
      () => {
        const ds = diagnosticsOf('collide3~6200.jsonl').filter((d) => d.code === 'malformed_line');
        return ds.length === 2 && ds.every((d) => d.severity === vscode.DiagnosticSeverity.Information && /reviewed: left as is/.test(d.message));
      },
      10_000,
      'reviewed malformed lines shown as information',
    );
  });

  it('Mark Collision Reviewed records a note; the collision is never changed', async () => {
    const analysis = await a.services.store.index.analyze(dir, 'collide3');
    const turn = analysis!.turns.find((t) => t.collision)!;
    const shardBytes = fs.readFileSync(path.join(dir, '_turn_journal', 'collide3~6100.jsonl'));
    const r = (await vscode.commands.executeCommand('botMemory.markCollisionReviewed', {
      rootId: dir,
      sessionId: 'collide3',
      turnId: turn.turnId,
      note: 'checked by hand',
    })) as { status: string; events: string[] };
    assert.strictEqual(r.status, 'reviewed');
    assert.strictEqual(r.events.length, 2);
    assert.ok(fs.readFileSync(path.join(dir, '_turn_journal', 'collide3~6100.jsonl')).equals(shardBytes));
    await waitFor(
      () =>
        a.services.store.index
          .cachedSummary(dir, 'collide3')
          ?.lineFindings.filter((f) => f.kind === 'terminal_collision')
          .every((f) => f.reviewed?.note === 'checked by hand'),
      10_000,
      'collision findings reviewed',
    );
  });

  it('Undo Last Repair restores the sidecars of the last repair byte for byte', async () => {
    // glued2's torn turn WAS answered (its reply is in the sidecar): the repair closed it in our
    // own shard and never touched the sidecar (issue 13: no false interruption marker).
    assert.ok(fs.readFileSync(path.join(dir, 'glued2.json')).equals(original.get('glued2.json')!));
    assert.ok(fs.readFileSync(path.join(dir, '_turn_journal', 'glued2~audit.jsonl')).length > 0);
    const r = (await vscode.commands.executeCommand('botMemory.undoRepair', { yes: true })) as { status: string; message: string };
    assert.strictEqual(r.status, 'undone', r.message);
    assert.ok(fs.readFileSync(path.join(dir, 'glued2.json')).equals(original.get('glued2.json')!));
    assert.ok(!fs.existsSync(path.join(dir, '_turn_journal', 'glued2~audit.jsonl')), 'undo removes the shard the repair created');
    const r2 = (await vscode.commands.executeCommand('botMemory.undoRepair', { yes: true })) as { status: string; message: string };
    assert.strictEqual(r2.status, 'undone', r2.message);
    assert.ok(fs.readFileSync(path.join(dir, 'dangling1.json')).equals(original.get('dangling1.json')!));
    await waitFor(() => (a.services.store.index.cachedSummary(dir, 'dangling1')?.open ?? 0) > 0, 10_000, 'dangling1 open again');
  });

  it('Repair Session takes a shard URI (the timeline title bar) and repairs its session', async () => {
    const shard = vscode.Uri.file(path.join(dir, '_turn_journal', 'dangling1~4100.jsonl'));
    assert.ok(fs.existsSync(shard.fsPath));
    const r = (await vscode.commands.executeCommand('botMemory.repairSession', shard, { yes: true, showPlan: false })) as RepairCommandResult;
    assert.strictEqual(r.status, 'applied', r.message);
    assert.deepStrictEqual(
      r.plans[0].sessions.map((x) => x.sessionId),
      ['dangling1'],
    );
  });

  it('writing commands are gated on workspace trust (setting, menus and a runtime check)', () => {
    assert.strictEqual(trustGate(true), null);
    assert.strictEqual(trustGate(false), UNTRUSTED_MESSAGE);
    const pkg = JSON.parse(
      fs.readFileSync(path.join(vscode.extensions.getExtension('bot-memory-auditor.bot-memory-auditor')!.extensionPath, 'package.json'), 'utf8'),
    );
    const writing = ['botMemory.repairSession', 'botMemory.repairAll', 'botMemory.undoRepair', 'botMemory.markCollisionReviewed'];
    for (const id of writing) {
      const cmd = pkg.contributes.commands.find((c: { command: string }) => c.command === id);
      assert.strictEqual(cmd.enablement, 'isWorkspaceTrusted', id);
      assert.strictEqual(cmd.category, 'Bot Memory');
      for (const where of ['commandPalette', 'view/item/context', 'view/title']) {
        for (const m of pkg.contributes.menus[where].filter((x: { command: string }) => x.command === id))
          assert.match(m.when, /isWorkspaceTrusted|^false$/, `${where} ${id}`);
      }
    }
    const audit = pkg.contributes.commands.find((c: { command: string }) => c.command === 'botMemory.auditSessions');
    assert.strictEqual(audit.enablement, undefined, 'the read-only audit works in untrusted workspaces');
  });
});
