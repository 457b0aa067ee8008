import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';
import type { MemoryNode } from '../../src/extension/memory/memoriesTree';
import { BotDb, populateClean } from '../support/memoryFixtures';
import { api, waitFor, workspaceDir } from './util';

describe('Memories view', function () {
  this.timeout(60_000);
  let a: BotMemoryApi;
  let dir: string;
  let clean: string;
  let broken: string;

  const tree = () => a.memories.tree;
  const item = (n: MemoryNode) => tree().getTreeItem(n);
  const label = (n: MemoryNode) => String(item(n).label);
  const iconId = (n: MemoryNode) => (item(n).iconPath as vscode.ThemeIcon).id;
  const dbNode = (file: string) =>
    tree()
      .getChildren()
      .find((n) => n.kind === 'db' && n.file === file);
  const codes = (file: string) => vscode.languages.getDiagnostics(vscode.Uri.file(file)).map((d) => String(d.code));

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'memdb');
    fs.mkdirSync(dir, { recursive: true });
    let b = new BotDb(path.join(dir, 'clean.db'));
    populateClean(b, { bots: 2, memoriesPerBot: 30 });
    b.close();
    clean = b.file;
    b = new BotDb(path.join(dir, 'broken.db'));
    for (let i = 0; i < 8; i++) b.score(b.write('ada', `pivotal memory ${i}`), 3);
    b.score(b.write('ada', 'one too many'), 3, { evict: 'newest-auto' });
    b.close();
    broken = b.file;
    // One relative path (against the workspace folder), one absolute.
    await vscode.workspace.getConfiguration('botMemory.memory').update('databases', ['memdb/clean.db', broken], vscode.ConfigurationTarget.Workspace);
    await waitFor(
      () => dbNode(clean) && dbNode(broken) && a.memories.ledgers.get(clean)?.audit && a.memories.ledgers.get(broken)?.audit,
      20_000,
      'both databases audited',
    );
  });

  after(async () => {
    await vscode.workspace.getConfiguration('botMemory.memory').update('databases', undefined, vscode.ConfigurationTarget.Workspace);
  });

  it("lists bots, their pinned and recent memories with significance and pin kind, and each memory's events", () => {
    const db = dbNode(clean)!;
    assert.strictEqual(label(db), 'clean.db');
    assert.match(String(item(db).description), /^2 bots · \d+ events$/);
    const bots = tree().getChildren(db);
    assert.deepStrictEqual(bots.map(label), ['bot-0', 'bot-1']);
    assert.match(String(item(bots[0]).description), /30 memories · \d+ pinned \(\d+ auto, \d+ manual\)/);
    const groups = tree().getChildren(bots[0]);
    assert.deepStrictEqual(
      groups.map(label).map((l) => l.replace(/\(\d+\)/, '(n)')),
      ['Pinned (n)', 'Recent (n)'],
    );
    const pinned = tree().getChildren(groups[0]);
    assert.ok(pinned.length >= 8);
    const looks = pinned.map((n) => [iconId(n), String(item(n).description)]);
    assert.ok(
      looks.some(([icon, d]) => icon === 'sparkle' && /significance 3 · auto pin/.test(d)),
      JSON.stringify(looks),
    );
    assert.ok(
      looks.some(([icon, d]) => icon === 'pinned' && /manual pin/.test(d)),
      JSON.stringify(looks),
    );
    const recent = tree().getChildren(groups[1]);
    assert.strictEqual(recent.length, 20);
    assert.strictEqual(label(recent[0]), 'memory 29 of bot 0');
    // A scored, auto-pinned memory's history: written, significance, auto-pin.
    const autoPinned = pinned.find((n) => iconId(n) === 'sparkle')!;
    const history = tree().getChildren(autoPinned);
    assert.deepStrictEqual(history.slice(0, 3).map(label), ['memory_written', 'memory_significance_set', 'memory_pin_changed']);
    assert.match(String(item(history[1]).description), /^significance 3 · event \d+/);
    assert.match(String(item(history[2]).description), /^auto-pin/);
    assert.deepStrictEqual(codes(clean), []);
  });

  it('highlights findings in the tree and the Problems panel', () => {
    const bots = tree().getChildren(dbNode(broken)!);
    assert.deepStrictEqual(bots.map(label), ['ada']);
    assert.strictEqual(iconId(bots[0]), 'error');
    const [findings] = tree().getChildren(bots[0]);
    assert.strictEqual(label(findings), 'Findings (1)');
    const [f] = tree().getChildren(findings);
    assert.strictEqual(String(item(f).description), 'wrong_pin_evicted');
    assert.match(label(f), /oldest auto-pin is memory 1/);
    const diags = vscode.languages.getDiagnostics(vscode.Uri.file(broken));
    assert.deepStrictEqual(
      diags.map((d) => [String(d.code), d.severity, d.range.start.line]),
      [['wrong_pin_evicted', vscode.DiagnosticSeverity.Error, 0]],
    );
    assert.match(diags[0].message, /^\[ada\] /);
  });

  it('re-audits when the database changes', async () => {
    const b = new BotDb(clean);
    b.sql('UPDATE memories SET significance = 99 WHERE id = 1'); // memory 1 is bot-0's first
    b.close();
    await waitFor(() => codes(clean).includes('memory_drift'), 20_000, 'a memory_drift diagnostic on clean.db');
    const bot0 = tree().getChildren(dbNode(clean)!)[0];
    assert.strictEqual(label(tree().getChildren(bot0)[0]), 'Findings (1)');
  });

  it('exports the replayed projection as JSON', async () => {
    const out = path.join(dir, 'clean.projection.json');
    const written = await vscode.commands.executeCommand<string>('botMemory.memory.exportProjection', dbNode(clean), vscode.Uri.file(out));
    assert.strictEqual(written, out);
    const p = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.strictEqual(p.memories.length, 60);
    assert.deepStrictEqual(p.memories.filter((m: { owner: string }) => m.owner === 'bot-0').length, 30);
    // The projection is what the events say, not the table (which now says 99).
    assert.strictEqual(p.memories.find((m: { id: number }) => m.id === 1).significance, 3);
  });
});
