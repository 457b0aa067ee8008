import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { OpenRowResult } from '../../src/extension/commands/openQueryRow';
import type { QueryCommandResult } from '../../src/extension/commands/queryIndex';
import type { RebuildOutcome } from '../../src/extension/commands/rebuildIndex';
import type { BotMemoryApi } from '../../src/extension/extension';
import { SAVED_QUERIES } from '../../src/extension/index/savedQueries';
import { SHOWN_LOG, type ShownRecord } from '../../src/extension/untrustedText';
import { writeRepairFixture } from '../support/repairFixtures';
import { api, workspaceDir } from './util';

describe('Query Index (extension host)', function () {
  this.timeout(90_000);
  let a: BotMemoryApi;
  let dir: string;
  const shown: ShownRecord[] = [];
  const query = (sql: string) => vscode.commands.executeCommand('botMemory.queryIndex', { sessionsDir: dir, sql, open: false }) as Thenable<QueryCommandResult>;

  before(async () => {
    a = await api();
    dir = path.join(workspaceDir(), 'bots', 'query');
    fs.mkdirSync(dir, { recursive: true });
    writeRepairFixture(dir);
    await a.services.store.reloadRoots();
    const r = (await vscode.commands.executeCommand('botMemory.rebuildIndex', dir)) as RebuildOutcome;
    assert.strictEqual(r.status, 'done', r.message);
    (globalThis as Record<symbol, unknown>)[SHOWN_LOG] = shown;
  });
  after(() => {
    delete (globalThis as Record<symbol, unknown>)[SHOWN_LOG];
  });

  it('runs every saved query of docs/sqlite.md against the rebuilt index', async () => {
    const doc = fs.readFileSync(path.join(vscode.extensions.getExtension('bot-memory-auditor.bot-memory-auditor')!.extensionPath, 'docs', 'sqlite.md'), 'utf8');
    for (const q of SAVED_QUERIES) {
      assert.ok(doc.includes(q.sql.split('\n')[0]), `"${q.label}" is in docs/sqlite.md`);
      const r = await query(q.sql);
      assert.strictEqual(r.status, 'done', `${q.label}: ${r.message}`);
    }
    const r = await query(SAVED_QUERIES[0].sql);
    assert.deepStrictEqual(r.columns, ['session_id', 'title', 'errors', 'warnings', 'open_turn_count']);
    assert.ok(r.rowCount! >= 3, `sessions needing attention: ${r.rowCount}`);
    const text = a.query.documents.text(vscode.Uri.parse(r.uri!))!;
    const lines = text.split('\n');
    assert.match(lines[0], /^-- SELECT session_id, title, errors/);
    const head = lines.findIndex((l) => l.startsWith('session_id'));
    assert.match(lines[head], /^session_id\s+│ title\s+│ errors │ warnings │ open_turn_count$/);
    assert.match(lines[head + 1], /^─+─┼─/);
    assert.ok(
      lines.some((l) => /^dangling1\s+│ Two dangling turns\s+│ \d+\s+│ \d+\s+│ 2$/.test(l)),
      text,
    );
    assert.match(text, new RegExp(`-- ${r.rowCount} rows in \\d+ ms from `));
  });

  it('shows cells as one line of plain text: markup stays text, line breaks and bidi controls are visible', async () => {
    const r = await query("SELECT '<img src=x onerror=alert(1)>' || char(10) || '[x](command:evil)' || char(8238) || 'end' AS cell, 1 AS n");
    assert.strictEqual(r.status, 'done', r.message);
    assert.strictEqual(r.rowCount, 1);
    const text = a.query.documents.text(vscode.Uri.parse(r.uri!))!;
    assert.ok(text.includes('<img src=x onerror=alert(1)>⏎[x](command:evil)\ufffdend'), text);
    assert.ok(!text.includes('\u202e'), 'the right-to-left override is not in the document');
    assert.match(text, /-- 1 row in \d+ ms/);
    // Wide characters (CJK, emoji) take two columns: the separators still line up on screen.
    const wide = await query("SELECT '日本語' AS a, 'x' AS b UNION ALL SELECT 'abcdefg', 'y' UNION ALL SELECT 'q 😀', 'z'");
    const rows = a.query.documents
      .text(vscode.Uri.parse(wide.uri!))!
      .split('\n')
      .filter((l) => /│ [xyz]$/.test(l));
    const cols = (l: string) => [...l.slice(0, l.indexOf('│'))].reduce((w, ch) => w + (/[\u3000-\u9fff]|\p{Extended_Pictographic}/u.test(ch) ? 2 : 1), 0);
    assert.deepStrictEqual(rows.map(cols), [8, 8, 8], rows.join('\n'));
  });

  it('errors are clear messages: a write is refused by the read-only connection, two statements are refused, SQLite errors are named', async () => {
    shown.length = 0;
    const write = await query('DELETE FROM sessions');
    assert.strictEqual(write.status, 'error');
    assert.match(write.message, /^The index is opened read-only: .*Query Index runs SELECT statements only\.$/);
    const two = await query('SELECT 1; SELECT 2');
    assert.strictEqual(two.status, 'refused');
    assert.match(two.message, /^Query refused: run one statement at a time/);
    const bad = await query('SELECT * FROM no_such_table');
    assert.strictEqual(bad.status, 'error');
    assert.strictEqual(bad.message, 'SQLite: no such table: no_such_table');
    assert.deepStrictEqual(
      shown.filter((s) => s.surface === 'error').map((s) => s.text),
      [write.message, two.message, bad.message],
    );
    const still = await query('SELECT count(*) AS n FROM sessions');
    assert.strictEqual(still.status, 'done', 'the index is unchanged and still answers');
    assert.match(a.query.documents.text(vscode.Uri.parse(still.uri!))!, /\n6\n/);
  });

  it("a result row opens its session's timeline on its turn; a value the folder does not have opens nothing", async () => {
    const open = (uri: string, line: number) =>
      vscode.commands.executeCommand('botMemory.openQueryRow', { uri: vscode.Uri.parse(uri), line }) as Thenable<OpenRowResult>;
    const r = await query("SELECT session_id, turn_id, state FROM turns WHERE session_id = 'dangling1' ORDER BY ordinal DESC");
    assert.strictEqual(r.status, 'done', r.message);
    const lines = a.query.documents.text(vscode.Uri.parse(r.uri!))!.split('\n');
    assert.ok(lines.includes("-- Right-click a row: Open Row's Session in Timeline"), lines.join('\n'));
    const head = lines.findIndex((l) => l.startsWith('session_id'));
    const row = lines[head + 2].split('│').map((c) => c.trim());
    assert.strictEqual(row[0], 'dangling1');
    assert.strictEqual((await open(r.uri!, head)).status, 'no-row', 'the header is not a row');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const opened = await open(r.uri!, head + 2);
    assert.strictEqual(opened.status, 'opened', opened.message);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom, 'a timeline tab is active');
    const shard = (tab.input as vscode.TabInputCustom).uri;
    assert.match(shard.fsPath, /dangling1~/);
    const deadline = Date.now() + 15_000;
    let selected: string | null = null;
    while (Date.now() < deadline && selected !== `t:${row[1]}`) {
      selected = ((await vscode.commands.executeCommand('_botMemory.timeline.query', shard.toString(), { kind: 'snapshot' })) as { selectedKey: string | null })
        .selectedKey;
      await new Promise((res) => setTimeout(res, 150));
    }
    assert.strictEqual(selected, `t:${row[1]}`, "the row's turn is revealed");
    shown.length = 0;
    const odd = await query("SELECT '../../../etc/passwd' AS session_id UNION ALL SELECT 'nosuch' UNION ALL SELECT 7");
    const oddHead = a.query.documents
      .text(vscode.Uri.parse(odd.uri!))!
      .split('\n')
      .findIndex((l) => l.startsWith('session_id'));
    for (const i of [0, 1, 2]) {
      const x = await open(odd.uri!, oddHead + 2 + i);
      assert.strictEqual(x.status, 'unknown-session', `row ${i}: ${x.message}`);
    }
    assert.strictEqual(shown.length, 3, 'each says so');
    const noCol = await query('SELECT 1 AS n');
    assert.strictEqual((await open(noCol.uri!, 5)).status, 'no-session-column');
  });

  it('a folder without an index says so and offers to rebuild', async () => {
    const empty = path.join(workspaceDir(), 'bots', 'query-none');
    fs.mkdirSync(empty, { recursive: true });
    const r = (await vscode.commands.executeCommand('botMemory.queryIndex', { sessionsDir: empty, sql: 'SELECT 1' })) as QueryCommandResult;
    assert.strictEqual(r.status, 'no-index');
    assert.match(r.message, /no SQLite index for .* yet: rebuild it first/);
  });
});
