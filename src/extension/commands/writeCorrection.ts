import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { feedbackFilePath } from '../../core/feedback/record';
import { appendCorrection } from '../../core/feedback/store';
import { Commands } from '../commandIds';
import type { TurnRef } from '../feedback/service';
import { targetTurn, type FeedbackContext } from './feedbackContext';

/**
 * "Write Correction…": a better answer for a turn. Opens a Markdown editor (a private file in
 * the extension's storage, mode 0600) prefilled with the turn's latest correction, else its
 * answer; every save appends a correction record (append-only, latest wins, '' withdraws).
 * `{…ref, text}` records `text` without an editor (tests, scripts).
 */
export function register(c: FeedbackContext): vscode.Disposable {
  const pending = new Map<string, TurnRef>();
  const onSave = vscode.workspace.onDidSaveTextDocument(async (doc) => {
    const ref = pending.get(doc.uri.fsPath);
    if (!ref) return;
    const rec = await record(c, ref, doc.getText());
    if (rec) void vscode.window.showInformationMessage(rec.text === '' ? `Correction withdrawn for turn ${ref.turnId}.` : `Correction saved for turn ${ref.turnId} (${rec.text.length} characters): it is an SFT target and a DPO pair.`);
  });
  const cmd = vscode.commands.registerCommand(Commands.writeCorrection, async (arg?: unknown) => {
    const ref = targetTurn(c, arg);
    if (!ref) return undefined;
    if (!c.feedback.canWrite()) return undefined;
    const given = (arg as { text?: unknown } | undefined)?.text;
    if (typeof given === 'string') return record(c, ref, given);
    const root = c.store.index.root(ref.rootId);
    if (!root) return undefined;
    await c.store.index.refreshFeedback(ref.rootId, ref.sessionId);
    const latest = c.store.index.feedbackFile(ref.rootId, ref.sessionId)?.latestCorrections().get(ref.turnId);
    let text = latest && latest.text !== '' ? latest.text : '';
    if (!text) {
      const a = await c.store.index.analyze(ref.rootId, ref.sessionId);
      const t = a?.turns.find((x) => x.turnId === ref.turnId);
      const i = t?.assistantMessageIndex;
      const m = i !== null && i !== undefined ? a?.sidecar?.messages[i] : undefined;
      text = m && m.role === 'assistant' && !m.error ? m.content : '';
    }
    const dir = path.join(c.context.globalStorageUri.fsPath, 'corrections');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const key = createHash('sha256').update(`${root.sessionsDir}\0${ref.sessionId}\0${ref.turnId}`).digest('hex').slice(0, 16);
    const file = path.join(dir, `${ref.sessionId}-${key}.md`);
    fs.writeFileSync(file, text, { mode: 0o600 });
    fs.chmodSync(file, 0o600);
    pending.set(file, ref);
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
    await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
    await vscode.window.showTextDocument(doc, { preview: false });
    void vscode.window.setStatusBarMessage(`Correction for turn ${ref.turnId}: edit and save to record it.`, 8000);
    return { file };
  });
  return vscode.Disposable.from(onSave, cmd);
}

async function record(c: FeedbackContext, ref: TurnRef, text: string) {
  const root = c.store.index.root(ref.rootId);
  if (!root) return undefined;
  try {
    const rec = appendCorrection(root.sessionsDir, { sessionId: ref.sessionId, turnId: ref.turnId, text, reviewer: await c.feedback.reviewer() });
    c.output.info(`correction on ${ref.sessionId}/${ref.turnId} by ${rec.reviewer} (${rec.text.length} characters)`);
    await c.store.index.fileChanged(feedbackFilePath(root.sessionsDir, ref.sessionId), 'changed');
    return rec;
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not save the correction: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}
