import * as path from 'path';
import * as vscode from 'vscode';
import { projectionJson } from '../../core/memory/audit';
import { atomicReplace } from '../../core/durable';
import { fileOf } from '../commandArgs';
import type { CommandContext } from './context';
import { notifyError, notifyInfo, notifyWarning, showPick } from '../untrustedText';

/**
 * Writes the replayed projection (the memories table as the event log says it should be) as
 * JSON. Writes a file: trusted workspaces only. `target` (a URI) skips the save dialog.
 */
export async function run(c: CommandContext, arg?: unknown, target?: vscode.Uri): Promise<string | undefined> {
  if (!vscode.workspace.isTrusted) {
    void notifyWarning('Exporting a memory projection writes a file: trust this workspace first.');
    return undefined;
  }
  let file = fileOf(arg);
  if (!file) {
    const list = c.memories.ledgers.list().filter((l) => l.audit);
    if (list.length === 0) {
      void notifyInfo('No memory database is audited yet: add one with "Add Memory Database…".');
      return undefined;
    }
    const pick = list.length === 1 ? list[0] : (await showPick(list.map((l) => ({ label: path.basename(l.file), description: l.file, l })), { title: 'Export the projection of which database?' }))?.l;
    if (!pick) return undefined;
    file = pick.file;
  }
  const ledger = c.memories.ledgers.get(file) ?? c.memories.ledgers.audit(file);
  if (!ledger.audit) {
    void notifyError(`Cannot export ${path.basename(file)}: ${ledger.error ?? 'not audited'}`);
    return undefined;
  }
  let out = target instanceof vscode.Uri ? target : undefined;
  if (!out) {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(path.dirname(file));
    out = await vscode.window.showSaveDialog({
      defaultUri: vscode.Uri.joinPath(base, `${path.basename(file).replace(/\.[^.]+$/, '')}.projection.json`),
      filters: { JSON: ['json'] },
      title: 'Export Memory Projection as JSON',
    });
  }
  if (!out) return undefined;
  if (path.resolve(out.fsPath) === path.resolve(file)) {
    void notifyError('Refusing to overwrite the database with its projection.');
    return undefined;
  }
  atomicReplace(out.fsPath, JSON.stringify(projectionJson(ledger.audit), null, 2) + '\n', { mode: 0o600, forceMode: true });
  c.output.info(`Memory projection of ${file} written to ${out.fsPath}`);
  if (!(target instanceof vscode.Uri)) void notifyInfo(`Projection written to ${out.fsPath}`);
  return out.fsPath;
}
