import * as assert from 'assert';
import * as vscode from 'vscode';

const EXTENSION_ID = 'bot-memory-auditor.bot-memory-auditor';

describe('Extension activation', () => {
  it('opens the test workspace folder', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.strictEqual(folders.length, 1, 'expected exactly one workspace folder');
    assert.strictEqual(folders[0].uri.scheme, 'file');
  });

  it('is installed', () => {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `extension ${EXTENSION_ID} not found`);
  });

  it('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext);
    await ext.activate();
    assert.strictEqual(ext.isActive, true);
  });

  it('registers botMemory.refresh', async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('botMemory.refresh'), 'command botMemory.refresh is not registered');
  });
});
