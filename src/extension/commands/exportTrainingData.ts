import * as path from 'path';
import * as vscode from 'vscode';
import { writeExport } from '../../core/feedback/card';
import { describeSummary, exportTrainingData, type ExportFormat, type ExportOptions, type ExportSummary } from '../../core/feedback/export';
import type { CommandContext } from './context';
import { notifyInfo, notifyWarning, showPick } from '../untrustedText';

export interface ExportArgs {
  rootId?: string;
  format?: ExportFormat;
  /** Absolute path: skips the save dialog. */
  out?: string;
  options?: Omit<ExportOptions, 'format'>;
  /** Show the summary notification ("Open File", "Show Details") even with `out` (tests). */
  toast?: boolean;
}

/**
 * "Export Training Data…": format, filters, save dialog, then a summary with "Open File".
 * With `{format, out, options?, rootId?}` nothing is asked and no notification shown unless `toast` (tests); resolves with the summary.
 */
export async function run(c: CommandContext, arg?: ExportArgs): Promise<(ExportSummary & { out: string; written: boolean }) | undefined> {
  if (!vscode.workspace.isTrusted) {
    void notifyWarning('Exporting training data writes a file: trust this workspace first.');
    return undefined;
  }
  await c.store.whenReady();
  const roots = c.store.roots();
  let root = arg?.rootId ? c.store.index.root(arg.rootId) : roots.length === 1 ? roots[0] : undefined;
  if (!root) {
    if (roots.length === 0) {
      void notifyInfo('No sessions folder is open.');
      return undefined;
    }
    const picked = await showPick(
      roots.map((r) => ({ label: r.label, description: r.sessionsDir, r })),
      { title: 'Export Training Data: sessions folder' },
    );
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
    const uri = await vscode.window.showSaveDialog({
      title: `Save ${format.toUpperCase()} training data`,
      defaultUri: vscode.Uri.joinPath(base, `training-${format}.jsonl`),
      filters: { 'JSON Lines': ['jsonl'] },
      saveLabel: 'Export',
    });
    if (!uri) return undefined;
    out = uri.fsPath;
  }
  const target = out;
  const sessionsDir = root.sessionsDir;
  // hermes-webui's own thumbs: the setting, else beside the sessions folder; "off" reads none.
  const hermesSetting = vscode.workspace.getConfiguration('botMemory.feedback').get<string>('hermesFeedbackFile', '').trim();
  const hermesFeedback = options.hermesFeedback !== undefined ? options.hermesFeedback : hermesSetting === 'off' ? null : hermesSetting || undefined;
  let written: { data: string; card: string } | null = null;
  const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Exporting ${format} training data…` }, async () => {
    const r = await exportTrainingData(sessionsDir, { ...options, hermesFeedback, format });
    // Transcript text: mode 0600, a dataset card beside it; nothing at all for 0 examples.
    written = writeExport(target, r.lines, r.summary);
    return r;
  });
  const lines = describeSummary(result.summary);
  const head = written ? `Exported ${target} (card: ${target}.README.md)` : `Nothing written to ${target}: no examples`;
  const problems = result.summary.problems.length ? `\n  problems:\n    ${result.summary.problems.join('\n    ')}` : '';
  c.output.info(`${head}:\n  ${lines.join('\n  ')}${problems}`);
  if (!written && !arg?.out) {
    void notifyWarning(`No ${format} examples: nothing was written. ${lines.slice(1, 4).join('; ')}`, 'Show Details').then((choice) => {
      if (choice === 'Show Details') c.output.show(true);
    });
  } else if (!arg?.out || arg.toast) {
    const left = lines.length - 1;
    void notifyInfo(
      `${lines[0]} → ${path.basename(target)}.${left ? ` ${left} reason${left === 1 ? '' : 's'} for leaving turns out (see Output).` : ''}`,
      'Open File',
      'Show Details',
    ).then((choice) => {
      if (choice === 'Open File') void vscode.window.showTextDocument(vscode.Uri.file(target));
      if (choice === 'Show Details') c.output.show(true);
    });
  }
  return { ...result.summary, out: target, written: written !== null };
}

async function pickFormat(): Promise<ExportFormat | undefined> {
  const picked = await showPick(
    [
      {
        label: 'sft',
        description: 'TRL SFTTrainer',
        detail: '{"prompt":[…],"completion":[…]}: each 👍 answer or correction alone is trained',
        f: 'sft' as const,
      },
      { label: 'sft-messages', description: 'TRL SFTTrainer', detail: '{"messages":[…]}: the conversation; no 👎 answer anywhere', f: 'sft-messages' as const },
      { label: 'kto', description: 'TRL KTOTrainer', detail: '{"prompt","completion","label"}: 👍 and corrections true, 👎 false', f: 'kto' as const },
      {
        label: 'dpo',
        description: 'TRL DPOTrainer',
        detail: '{"prompt","chosen","rejected"}: correction vs original, 👍 vs 👎 to one prompt',
        f: 'dpo' as const,
      },
      { label: 'openai-sft', description: 'OpenAI fine-tuning', detail: '{"messages":[…]} with weight 0 on answers not to train', f: 'openai-sft' as const },
      {
        label: 'openai-dpo',
        description: 'OpenAI preference fine-tuning',
        detail: '{"input","preferred_output","non_preferred_output"}',
        f: 'openai-dpo' as const,
      },
    ],
    { title: 'Export Training Data: format', matchOnDetail: true },
  );
  return picked?.f;
}

async function pickOptions(): Promise<Omit<ExportOptions, 'format'> | undefined> {
  type Opt = 'interrupted' | 'collisions' | 'tag' | 'model' | 'since' | 'majority' | 'unanimous' | 'noRedact';
  const picked = await showPick(
    [
      { label: 'Include interrupted turns', description: 'left out by default', o: 'interrupted' as Opt },
      { label: 'Include turns with terminal collisions', description: 'left out by default', o: 'collisions' as Opt },
      { label: 'Only turns tagged…', o: 'tag' as Opt },
      { label: 'Only one model…', o: 'model' as Opt },
      { label: 'Only turns since…', o: 'since' as Opt },
      { label: 'Several reviewers: majority', description: 'default: the latest rating wins', o: 'majority' as Opt },
      { label: 'Several reviewers: unanimous only', o: 'unanimous' as Opt },
      { label: 'Do not redact secrets and personal data', description: 'stated in the dataset card', o: 'noRedact' as Opt },
    ],
    { title: 'Export Training Data: options (none = defaults)', canPickMany: true },
  );
  if (!picked) return undefined;
  const has = (o: Opt) => picked.some((p) => p.o === o);
  const options: Omit<ExportOptions, 'format'> = {
    includeInterrupted: has('interrupted'),
    includeCollisions: has('collisions'),
    resolve: has('unanimous') ? 'unanimous' : has('majority') ? 'majority' : 'latest',
    redact: !has('noRedact'),
  };
  if (has('tag')) {
    const t = await vscode.window.showInputBox({ title: 'Only turns whose feedback has one of these tags', prompt: 'Comma-separated' });
    if (t === undefined) return undefined;
    options.tags = t
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  }
  if (has('model')) {
    const m = await vscode.window.showInputBox({ title: 'Only turns of this model (as in the submitted event)' });
    if (m === undefined) return undefined;
    if (m.trim()) options.model = m.trim();
  }
  if (has('since')) {
    const s = await vscode.window.showInputBox({
      title: 'Only turns started since (ISO-8601 date or time, UTC)',
      placeHolder: '2026-01-01',
      validateInput: (v) => (Number.isFinite(Date.parse(v)) ? undefined : 'Not a date'),
    });
    if (s === undefined) return undefined;
    options.since = Date.parse(s) / 1000;
  }
  return options;
}
