import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { JOURNAL_DIR_NAME } from '../../core/sessionId';
import { SECTION } from '../config';
import type { CommandContext } from './context';
import { notifyInfo, notifyWarning } from '../untrustedText';

export async function run(c: CommandContext, given?: vscode.Uri) {
  let uri = given;
  if (!uri) {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Add Sessions Folder',
      title: 'Folder that holds _turn_journal/ (e.g. ~/.hermes/webui/sessions)',
    });
    uri = picked?.[0];
  }
  if (!uri) return;
  let dir = uri.fsPath;
  if (path.basename(dir) === JOURNAL_DIR_NAME) dir = path.dirname(dir);
  if (!fs.existsSync(path.join(dir, JOURNAL_DIR_NAME))) {
    const go = await notifyWarning(`${dir} has no ${JOURNAL_DIR_NAME} folder yet. Add it anyway? Sessions appear when the bot writes its first turn.`, { modal: true }, 'Add Anyway');
    if (go !== 'Add Anyway') return;
  }
  const config = vscode.workspace.getConfiguration(SECTION);
  const current = config.get<string[]>('sessionDirectories') ?? [];
  if (current.includes(dir)) {
    void notifyInfo(`${dir} is already in botMemory.sessionDirectories.`);
    return;
  }
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await config.update('sessionDirectories', [...current, dir], target);
  await c.store.reloadRoots();
}
