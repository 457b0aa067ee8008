import * as vscode from 'vscode';
import { Commands, VIEW_SESSIONS } from '../commandIds';
import type { CommandContext } from './context';

export function register(c: CommandContext): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.refresh, async () => {
    await vscode.window.withProgress({ location: { viewId: VIEW_SESSIONS } }, () => c.store.refreshAll());
    c.tree.refreshAll();
  });
}
