import * as fs from 'fs';
import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import { indexPathFor, pickSessionsDir } from '../index/indexPath';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';

/** "Open Index": reveals the index file (Explorer inside the workspace, else the OS file manager). */
export async function run(s: CommandContext, arg?: unknown): Promise<string | undefined> {
  const dir = await pickSessionsDir(s.store.roots(), arg, 'Reveal the SQLite index of which sessions folder?');
  if (!dir) return undefined;
  const db = indexPathFor(dir);
  if (!fs.existsSync(db)) {
    const pick = await notifyInfo(`There is no SQLite index yet at ${db}.`, 'Rebuild SQLite Index');
    if (pick) await vscode.commands.executeCommand(Commands.rebuildIndex, dir);
    return undefined;
  }
  await revealFile(db);
  return db;
}

/** Reveals a file: in the Explorer when it is inside the workspace, else in the OS file manager. */
export async function revealFile(file: string): Promise<void> {
  const uri = vscode.Uri.file(file);
  if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}
