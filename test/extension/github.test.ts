import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { FakeGithub } from '../support/fakeGithub';
import { idsOf, writeFeedback, writeSession, turnId } from '../support/githubFixtures';
import { openDb } from '../../src/core/sqlite/engine';
import type { RebuildOutcome } from '../../src/extension/commands/rebuildIndex';
import { api } from './util';

interface PushCommandResult {
  sessionsDir: string;
  result?: { appended: number; alreadyPresent: number; left: number; findings: { kind: string; severity: string; restored: string[]; lost: string[] }[] };
  error?: string;
}

describe('GitHub log commands', function () {
  this.timeout(30_000);
  let gh: FakeGithub;
  let dir: string;
  const cfg = () => vscode.workspace.getConfiguration('botMemory.github');

  before(async () => {
    await api();
    gh = await new FakeGithub().start();
    gh.createRepo('acme/bot', { [`data/interactions.jsonl`]: '{"id":"prior"}\nnot a record\n' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bma-ext-gh-'));
    writeSession(dir, 'ext1', 5);
    writeFeedback(dir, 'ext1', [{ id: 'fb-ext', turn: turnId(0), feedback: -1 }]);
    await cfg().update('repository', 'acme/bot', vscode.ConfigurationTarget.Global);
    await cfg().update('apiUrl', gh.url, vscode.ConfigurationTarget.Global);
  });

  after(async () => {
    await vscode.commands.executeCommand('botMemory.setGithubToken', '');
    await cfg().update('repository', undefined, vscode.ConfigurationTarget.Global);
    await cfg().update('apiUrl', undefined, vscode.ConfigurationTarget.Global);
    await gh.stop();
  });

  it('contributes the commands and settings', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['botMemory.pushGithub', 'botMemory.pullGithub', 'botMemory.setGithubToken']) assert.ok(commands.includes(c), c);
    assert.strictEqual(cfg().inspect('path')?.defaultValue, 'data/interactions.jsonl');
  });

  it('reports a bad token without pushing, and keeps the records in the outbox', async () => {
    await vscode.commands.executeCommand('botMemory.setGithubToken', 'wrong-token');
    const r = (await vscode.commands.executeCommand('botMemory.pushGithub', { sessionsDir: dir })) as PushCommandResult[];
    assert.strictEqual(r.length, 1);
    assert.match(r[0].error ?? '', /401 Bad credentials/);
    assert.ok(!(r[0].error ?? '').includes('wrong-token'));
    assert.strictEqual(fs.readFileSync(path.join(dir, '_github_outbox.jsonl'), 'utf8').trim().split('\n').length, 5);
    assert.strictEqual(gh.file('acme/bot', 'data/interactions.jsonl')!.toString(), '{"id":"prior"}\nnot a record\n');
  });

  it('pushes finished turns and feedback once, with a token from secret storage', async () => {
    await vscode.commands.executeCommand('botMemory.setGithubToken', 'test-token');
    const r = (await vscode.commands.executeCommand('botMemory.pushGithub', { sessionsDir: dir })) as PushCommandResult[];
    assert.strictEqual(r[0].error, undefined);
    assert.strictEqual(r[0].result?.appended, 5);
    const content = gh.file('acme/bot', 'data/interactions.jsonl')!.toString();
    assert.ok(content.startsWith('{"id":"prior"}\nnot a record\n'));
    assert.strictEqual(idsOf(content.split('\n').slice(2).join('\n')).length, 5);
    const again = (await vscode.commands.executeCommand('botMemory.pushGithub', { sessionsDir: dir })) as PushCommandResult[];
    assert.strictEqual(again[0].result?.appended, 0);
    assert.strictEqual(fs.readFileSync(path.join(dir, '_github_outbox.jsonl'), 'utf8'), '');
    const settings = JSON.stringify(vscode.workspace.getConfiguration('botMemory'));
    assert.ok(!settings.includes('test-token'), 'the token is not in settings');
  });

  it('pulls the last lines of the log', async () => {
    const r = (await vscode.commands.executeCommand('botMemory.pullGithub', { sessionsDir: dir, last: 3 })) as { file: string; lines: number; records: number };
    assert.strictEqual(r.lines, 3);
    assert.strictEqual(fs.readFileSync(r.file, 'utf8').trim().split('\n').length, 3);
  });

  it('replays the pulled log into _github_log.sqlite beside it, and leaves the journal index alone', async () => {
    const pulled = (await vscode.commands.executeCommand('botMemory.pullGithub', { sessionsDir: dir })) as { file: string };
    const records = fs
      .readFileSync(pulled.file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        try {
          return JSON.parse(l) as { type?: string };
        } catch {
          return null;
        }
      });
    const interactions = records.filter((r) => r?.type === 'interaction').length;
    const feedback = records.filter((r) => r?.type === 'feedback' || r?.type === 'turn_feedback').length; // pushed per-turn feedback is turn_feedback
    assert.ok(interactions > 0 && feedback > 0, `${interactions} interactions, ${feedback} feedback records in the log`);
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('botMemory.rebuildIndexFromLog'));
    const outcome = (await vscode.commands.executeCommand('botMemory.rebuildIndexFromLog', dir)) as RebuildOutcome;
    assert.strictEqual(outcome.status, 'done', outcome.message);
    const db = path.join(dir, '_github_log.sqlite');
    assert.strictEqual(outcome.result!.db, db);
    assert.deepStrictEqual([outcome.result!.counts.turns, outcome.result!.counts.feedback], [interactions, feedback]);
    // The two lines that were in the log before are not records: findings, not failures.
    assert.ok(outcome.result!.counts.findings >= 2, `${outcome.result!.counts.findings} findings`);
    const h = openDb(db, { readOnly: true });
    try {
      assert.strictEqual(Number(h.get("SELECT count(*) AS n FROM turns WHERE source = 'log'")!.n), interactions);
      assert.strictEqual(h.get("SELECT value FROM meta WHERE key = 'log_lines'")!.value, String(records.length));
    } finally {
      h.close();
    }
    assert.ok(!fs.existsSync(path.join(dir, '_audit_index.sqlite')), 'the journal index was not written');
  });

  it('heals a log someone rewrote, reporting log_rewritten', async () => {
    gh.writeFile('acme/bot', 'data/interactions.jsonl', '{"type":"feedback","session_id":"ext1","feedback":-1}\n');
    const r = (await vscode.commands.executeCommand('botMemory.pushGithub', { sessionsDir: dir })) as PushCommandResult[];
    assert.strictEqual(r[0].error, undefined);
    assert.strictEqual(r[0].result?.appended, 5);
    assert.deepStrictEqual(
      r[0].result?.findings.map((f) => [f.kind, f.severity, f.restored.length, f.lost.length]),
      [['log_rewritten', 'warning', 5, 0]],
    );
    const lines = gh.file('acme/bot', 'data/interactions.jsonl')!.toString().trim().split('\n');
    assert.strictEqual(lines.length, 6);
    assert.strictEqual(new Set(idsOf(lines.slice(1).join('\n'))).size, 5);
  });
});
