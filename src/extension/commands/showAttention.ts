import * as vscode from 'vscode';
import { Commands, VIEW_SESSIONS } from '../commandIds';
import type { CommandContext } from './context';

export function register(c: CommandContext): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.focusAttention, async () => {
    c.tree.setFilter('findings');
    await vscode.commands.executeCommand(`${VIEW_SESSIONS}.focus`);
  });
}
