import * as path from 'path';
import * as vscode from 'vscode';
import { SECTION } from '../config';
import { VIEW_MEMORIES } from '../commandIds';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';

/** Adds a bot's SQLite database (or a JSONL export of its events) to botMemory.memory.databases. */
export async function run(c: CommandContext, given?: vscode.Uri) {
  let uri = given instanceof vscode.Uri ? given : undefined;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFiles: true,
      canSelectFolders: false,
      canSelectMany: false,
      openLabel: 'Add Memory Database',
      title: "A bot's SQLite database, or a JSONL export of its memory events",
      filters: { 'SQLite or JSONL': ['db', 'sqlite', 'sqlite3', 'jsonl'], 'All files': ['*'] },
    });
    uri = picked?.[0];
  }
  if (!uri) return;
  const file = uri.fsPath;
  const config = vscode.workspace.getConfiguration(`${SECTION}.memory`);
  const current = config.get<string[]>('databases') ?? [];
  if (current.some((d) => path.resolve(d) === path.resolve(file))) {
    void notifyInfo(`${file} is already in botMemory.memory.databases.`);
    return;
  }
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update('databases', [...current, file], target);
  c.memories.ledgers.reload();
  await vscode.commands.executeCommand(`${VIEW_MEMORIES}.focus`);
}
