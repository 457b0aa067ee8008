import * as vscode from 'vscode';
import { VIEW_SESSIONS } from '../commandIds';
import type { CommandContext } from './context';

export async function run(c: CommandContext) {
  await vscode.window.withProgress({ location: { viewId: VIEW_SESSIONS } }, () => c.store.refreshAll());
  c.sessions.tree.refreshAll();
}
