import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import type { CommandContext } from './context';
import { shardTarget } from './openRawShard';

export function register(c: CommandContext): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.revealInExplorer, async (arg?: unknown) => {
    const node = (arg ?? c.view.selection[0]) as { kind?: string; root?: { sessionsDir: string } } | undefined;
    const file = node?.kind === 'root' && node.root ? node.root.sessionsDir : shardTarget(c, node)?.path;
    if (!file) return;
    const uri = vscode.Uri.file(file);
    // Inside the workspace: the Explorer view; elsewhere: the OS file manager.
    if (vscode.workspace.getWorkspaceFolder(uri)) await vscode.commands.executeCommand('revealInExplorer', uri);
    else await vscode.commands.executeCommand('revealFileInOS', uri);
  });
}
