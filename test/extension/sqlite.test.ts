import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { auditFolder } from '../../src/core/audit';
import * as os from 'os';
import { nativeAvailable, openDb } from '../../src/core/sqlite/engine';
import { engineParityCheck } from '../support/engineParity';
import type { RebuildOutcome } from '../../src/extension/commands/rebuildIndex';
import { api, workspaceDir } from './util';

describe('Rebuild SQLite Index (extension host)', function () {
  this.timeout(60_000);

  it('rebuilds the demo sessions in a child process; the index holds what the audit says', async () => {
    await api();
    const dir = path.join(workspaceDir(), 'demo', 'sessions');
    const db = path.join(dir, '_audit_index.sqlite');
    fs.rmSync(db, { force: true });
    console.log(`extension host: node ${process.versions.node}, electron ${process.versions.electron ?? '-'}, execPath ${process.execPath}`);
    const outcome = (await vscode.commands.executeCommand(Commands_rebuild, dir)) as RebuildOutcome;
    assert.strictEqual(outcome.status, 'done', outcome.message);
    assert.strictEqual(outcome.result!.db, db);
    const report = await auditFolder(dir);
    const h = openDb(db, { readOnly: true });
    try {
      const n = (sql: string) => Number(h.get(sql)!.n);
      assert.strictEqual(n('SELECT count(*) AS n FROM sessions'), report.summary.sessions);
      assert.strictEqual(n('SELECT count(*) AS n FROM events'), report.summary.events);
      assert.strictEqual(n('SELECT count(*) AS n FROM turns WHERE event_count > 0'), report.summary.turns);
      const states = Object.fromEntries(
        h.all('SELECT session_id, turn_id, state FROM turns WHERE event_count > 0').map((r) => [`${r.session_id}/${r.turn_id}`, r.state]),
      );
      const expected: Record<string, string> = {};
      for (const s of report.sessions) for (const [t, st] of Object.entries(s.states)) expected[`${s.session_id}/${t}`] = st;
      assert.deepStrictEqual(states, expected);
      const collisions = report.sessions.reduce((k, s) => k + s.collisions.length, 0);
      assert.ok(collisions > 0, 'the demo has collisions');
      assert.strictEqual(n('SELECT count(DISTINCT session_id || turn_id) AS n FROM collisions'), collisions);
      assert.strictEqual(
        n('SELECT count(*) AS n FROM malformed'),
        report.sessions.reduce((k, s) => k + s.malformed.length, 0),
      );
    } finally {
      h.close();
    }
    // A second run only redoes what changed (nothing but clock-sensitive sessions).
    const again = (await vscode.commands.executeCommand(Commands_rebuild, dir)) as RebuildOutcome;
    assert.strictEqual(again.status, 'done');
    assert.strictEqual(again.result!.mode, 'incremental');
    assert.strictEqual(again.result!.eventsAdded, 0);
    assert.strictEqual(await vscode.commands.executeCommand('botMemory.openIndex', dir), db);
    assert.deepStrictEqual(
      fs.readdirSync(dir).filter((f) => f.startsWith('._audit_index') || f.endsWith('.rebuild-lock')),
      [],
    );
  });
});

describe('SQLite engines (extension host)', function () {
  this.timeout(120_000);

  it('the extension host has node:sqlite, and it writes every table byte for byte as the wasm fallback does', async () => {
    assert.ok(nativeAvailable(), `node:sqlite is missing from this extension host (node ${process.versions.node})`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-engines-'));
    try {
      await engineParityCheck(dir, path.resolve(__dirname, '../../../dist/cli.js'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const Commands_rebuild = 'botMemory.rebuildIndex';
