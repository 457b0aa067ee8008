import * as path from 'path';
import * as vscode from 'vscode';
import { atomicReplace } from '../../core/durable';
import { describeSummary, exportTrainingData, type ExportFormat, type ExportOptions, type ExportSummary } from '../../core/feedback/export';
import type { CommandContext } from './context';

export interface ExportArgs {
  rootId?: string;
  format?: ExportFormat;
  /** Absolute path: skips the save dialog. */
  out?: string;
  options?: Omit<ExportOptions, 'format'>;
}

/**
 * "Export Training Data…": format, filters, save dialog, then a summary with "Open File".
 * With `{format, out, options?, rootId?}` nothing is asked (tests); resolves with the summary.
 */
export async function run(c: CommandContext, arg?: ExportArgs): Promise<(ExportSummary & { out: string }) | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Exporting training data writes a file: trust this workspace first.');
    return undefined;
  }
  await c.store.whenReady();
  const roots = c.store.roots();
  let root = arg?.rootId ? c.store.index.root(arg.rootId) : roots.length === 1 ? roots[0] : undefined;
  if (!root) {
    if (roots.length === 0) {
      void vscode.window.showInformationMessage('No sessions folder is open.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(roots.map((r) => ({ label: r.label, description: r.sessionsDir, r })), { title: 'Export Training Data: sessions folder' });
    if (!picked) return undefined;
    root = picked.r;
  }
  const format = arg?.format ?? (await pickFormat());
  if (!format) return undefined;
  const options = arg?.options ?? (arg?.out ? {} : await pickOptions());
  if (!options) return undefined;
  let out = arg?.out;
  if (!out) {
    const base = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri ?? vscode.Uri.file(root.sessionsDir);
    const uri = await vscode.window.showSaveDialog({ title: `Save ${format.toUpperCase()} training data`, defaultUri: vscode.Uri.joinPath(base, `training-${format}.jsonl`), filters: { 'JSON Lines': ['jsonl'] }, saveLabel: 'Export' });
    if (!uri) return undefined;
    out = uri.fsPath;
  }
  const target = out;
  const sessionsDir = root.sessionsDir;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Exporting ${format} training data…` }, async () => {
    const r = await exportTrainingData(sessionsDir, { ...options, format });
    atomicReplace(target, r.lines.join(''), { mode: 0o600, forceMode: true });
    return r;
  });
  const lines = describeSummary(result.summary);
  c.output.info(`Exported ${target}:\n  ${lines.join('\n  ')}${result.summary.problems.length ? `\n  problems:\n    ${result.summary.problems.join('\n    ')}` : ''}`);
  if (!arg?.out) {
    const left = lines.length - 1;
    void vscode.window.showInformationMessage(`${lines[0]} → ${path.basename(target)}.${left ? ` ${left} reason${left === 1 ? '' : 's'} for leaving turns out (see Output).` : ''}`, 'Open File', 'Show Details').then((choice) => {
      if (choice === 'Open File') void vscode.window.showTextDocument(vscode.Uri.file(target));
      if (choice === 'Show Details') c.output.show(true);
    });
  }
  return { ...result.summary, out: target };
}

async function pickFormat(): Promise<ExportFormat | undefined> {
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'sft', description: 'SFTTrainer', detail: '{"messages":[…]}: the conversation up to each 👍 answer', f: 'sft' as const },
      { label: 'kto', description: 'KTOTrainer', detail: '{"prompt":[…],"completion":[…],"label":true|false}: every 👍 and 👎 answer', f: 'kto' as const },
      { label: 'dpo', description: 'DPOTrainer', detail: '{"prompt":[…],"chosen":[…],"rejected":[…]}: a 👍 and a 👎 answer to the same prompt', f: 'dpo' as const },
    ],
    { title: 'Export Training Data: format (Hugging Face TRL)', matchOnDetail: true },
  );
  return picked?.f;
}

async function pickOptions(): Promise<Omit<ExportOptions, 'format'> | undefined> {
  type Opt = 'interrupted' | 'collisions' | 'tag' | 'model' | 'since';
  const picked = await vscode.window.showQuickPick(
    [
      { label: 'Include interrupted turns', description: 'left out by default', o: 'interrupted' as Opt },
      { label: 'Include turns with terminal collisions', description: 'left out by default', o: 'collisions' as Opt },
      { label: 'Only turns tagged…', o: 'tag' as Opt },
      { label: 'Only one model…', o: 'model' as Opt },
      { label: 'Only turns since…', o: 'since' as Opt },
    ],
    { title: 'Export Training Data: options (none = defaults)', canPickMany: true },
  );
  if (!picked) return undefined;
  const has = (o: Opt) => picked.some((p) => p.o === o);
  const options: Omit<ExportOptions, 'format'> = { includeInterrupted: has('interrupted'), includeCollisions: has('collisions') };
  if (has('tag')) {
    const t = await vscode.window.showInputBox({ title: 'Only turns whose feedback has one of these tags', prompt: 'Comma-separated' });
    if (t === undefined) return undefined;
    options.tags = t.split(',').map((x) => x.trim()).filter(Boolean);
  }
  if (has('model')) {
    const m = await vscode.window.showInputBox({ title: 'Only turns of this model (as in the submitted event)' });
    if (m === undefined) return undefined;
    if (m.trim()) options.model = m.trim();
  }
  if (has('since')) {
    const s = await vscode.window.showInputBox({ title: 'Only turns started since (ISO-8601 date or time, UTC)', placeHolder: '2026-01-01', validateInput: (v) => (Number.isFinite(Date.parse(v)) ? undefined : 'Not a date') });
    if (s === undefined) return undefined;
    options.since = Date.parse(s) / 1000;
  }
  return options;
}
