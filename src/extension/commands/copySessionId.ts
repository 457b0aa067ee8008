import * as vscode from 'vscode';
import { stringArg } from '../commandArgs';
import type { CommandContext } from './context';

export function run(c: CommandContext, arg?: unknown): Promise<void> {
  return copy(stringArg(arg ?? c.sessions.view.selection[0], 'sessionId'), 'session id');
}

/** Copies `text` (if any) and says so in the status bar. */
export async function copy(text: string | undefined, what: string): Promise<void> {
  if (!text) return;
  await vscode.env.clipboard.writeText(text);
  vscode.window.setStatusBarMessage(`$(copy) Copied ${what} ${text}`, 3000);
}
