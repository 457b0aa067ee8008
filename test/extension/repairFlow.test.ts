import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { lastUndoableRepair } from '../../src/core/repair';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { RepairCommandResult } from '../../src/extension/repair/repairService';
import { describeUndo } from '../../src/extension/repair/undoDescription';
import { SHOWN_LOG, type ShownRecord } from '../../src/extension/untrustedText';
import { writeRepairFixture } from '../support/repairFixtures';
import { api, waitFor, workspaceDir } from './util';

describe('Repair flow polish', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let dir: string;
  const shown: ShownRecord[] = [];

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'repairflow');
    fs.mkdirSync(dir, { recursive: true });
    writeRepairFixture(dir);
    await a.services.store.reloadRoots();
    await a.services.store.index.scan(dir);
    await Promise.all(a.services.store.index.sessions(dir).map((s) => a.services.store.index.summarize(dir, s.sessionId)));
    (globalThis as Record<symbol, unknown>)[SHOWN_LOG] = shown;
  });
  after(() => {
    delete (globalThis as Record<symbol, unknown>)[SHOWN_LOG];
  });

  it('asks in a NON-modal quick pick naming the session by title with counted words; dismissing it cancels and the plan says so', async () => {
    shown.length = 0;
    const sidecar = fs.readFileSync(path.join(dir, 'dangling1.json'));
    const pending = vscode.commands.executeCommand('botMemory.repairSession', { rootId: dir, sessionId: 'dangling1' }) as Thenable<RepairCommandResult>;
    const ask = await waitFor(() => shown.find((r) => r.surface === 'pick' && /as shown in the plan\?/.test(r.text)), 15_000, 'the confirmation');
    assert.strictEqual(ask.text, 'Repair "Two dangling turns" as shown in the plan?');
    assert.strictEqual(ask.options?.ignoreFocusOut, true, 'stays open while the plan is read');
    assert.ok(!shown.some((r) => r.detail !== undefined), 'no modal dialog');
    const detail = ask.options?.placeHolder ?? '';
    assert.match(detail, /^\d+ sidecar messages? added(, | and )\d+ journal events? appended[^.]*\.$/);
    assert.match(ask.items?.[0].detail ?? '', /backed up first.*Undo Last Repair/);
    assert.ok(!/\(s\)/.test(detail), `no "(s)": ${detail}`);
    assert.deepStrictEqual(
      ask.items?.map((i) => i.label),
      ['$(check) Repair', '$(close) Cancel'],
    );
    // Escape is a cancel.
    await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    const r = await pending;
    assert.strictEqual(r.status, 'cancelled');
    assert.ok(fs.readFileSync(path.join(dir, 'dangling1.json')).equals(sidecar), 'nothing written');
    assert.match(
      a.repair.plans.text(vscode.Uri.parse(r.planUri!)) ?? '',
      /^> \*\*Cancelled\*\* at \d\d:\d\d: nothing was written\.\n\n# Repair plan — dangling1/,
    );
  });

  it('after applying, the plan says what happened and the result offers Undo; the undo question names the session, its changes and when', async () => {
    shown.length = 0;
    const r = (await vscode.commands.executeCommand('botMemory.repairSession', { rootId: dir, sessionId: 'dangling1', yes: true })) as RepairCommandResult;
    assert.strictEqual(r.status, 'applied', r.message);
    assert.strictEqual(r.message, 'Bot Memory: repaired 1 session.');
    assert.match(a.repair.plans.text(vscode.Uri.parse(r.planUri!)) ?? '', /^> \*\*Applied\*\* at \d\d:\d\d: repaired 1 session\. Undo with/);
    assert.ok(shown.some((x) => x.surface === 'info' && x.text === 'Bot Memory: repaired 1 session.'));
    const repair = lastUndoableRepair(dir)!;
    const d = describeUndo(repair, 'repairflow', (sid) => a.services.store.index.cachedSummary(dir, sid)?.title, Date.now() / 1000);
    assert.match(d.question, /^Undo the repair of "Two dangling turns" \(dangling1\) \((just now|\d+ min ago)\)\?$/);
    assert.ok(!/rep_|[0-9a-f]{12,}/.test(d.question), `no raw repair id: ${d.question}`);
    assert.ok(d.changes.length > 0);
    for (const c of d.changes) assert.match(c, /^(1 [a-z ]+[^s] |[2-9]\d* [a-z ]+s )[a-z ]+$/, `counted words: ${c}`);
    assert.match(d.detail, /^Made (just now|\d+ min ago), \d{4}-\d\d-\d\d \d\d:\d\d:\d\d in repairflow\b/);
    assert.match(d.detail, /Undone: .*journal events? appended/);
    // The command uses the same words (recorded on its way to the output channel).
    const u = (await vscode.commands.executeCommand('botMemory.undoRepair', { yes: true })) as { status: string };
    assert.strictEqual(u.status, 'undone');
  });
});
