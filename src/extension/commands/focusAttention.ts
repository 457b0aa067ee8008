import * as vscode from 'vscode';
import { VIEW_SESSIONS } from '../commandIds';
import type { CommandContext } from './context';

export async function run(c: CommandContext) {
  c.sessions.tree.setFilter('findings');
  await vscode.commands.executeCommand(`${VIEW_SESSIONS}.focus`);
}
