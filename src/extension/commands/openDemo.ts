import * as fs from 'fs';
import { copyTreeSync, removeTree } from '../../core/fsSafe';
import * as path from 'path';
import * as vscode from 'vscode';
import { VIEW_SESSIONS } from '../commandIds';
import type { CommandContext } from './context';
import { notifyError } from '../untrustedText';

/**
 * Copies the bundled demo sessions to the extension's storage (so nothing ever writes into
 * the installed extension) and shows them in the Sessions view for this window.
 */
export async function run(c: CommandContext) {
  const source = path.join(c.context.extensionPath, 'demo', 'sessions');
  if (!fs.existsSync(source)) {
    void notifyError('The demo sessions are missing from this installation.');
    return;
  }
  const target = path.join(c.context.globalStorageUri.fsPath, 'demo-sessions');
  removeTree(target); // a link at the old copy is removed itself, never followed
  copyTreeSync(source, target);
  await c.store.addTransientRoot(target);
  await vscode.commands.executeCommand(`${VIEW_SESSIONS}.focus`);
  c.sessions.tree.refreshAll();
}
