import * as vscode from 'vscode';
import { rootNodeDirOf } from '../commandArgs';
import type { CommandContext } from './context';
import { shardTarget } from './openRawShard';

export async function run(c: CommandContext, arg?: unknown) {
  const node = arg ?? c.sessions.view.selection[0];
  const file = rootNodeDirOf(node) ?? shardTarget(c, node)?.path;
  if (!file) return;
  const uri = vscode.Uri.file(file);
  // Inside the workspace: the Explorer view; elsewhere: the OS file manager.
  if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
  else await vscode.commands.executeCommand('revealFileInOS', uri);
}
