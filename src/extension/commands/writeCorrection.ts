import { createHash } from 'crypto';
import * as path from 'path';
import * as vscode from 'vscode';
import { notifyError } from '../untrustedText';
import * as os from 'os';
import { atomicReplace, describeError } from '../../core/fsSafe';
import { stringArg } from '../commandArgs';
import { targetTurn, type CommandContext } from './context';

/**
 * "Write Correction…": a better answer for a turn. Opens a Markdown editor (a private file in
 * the extension's storage, mode 0600) prefilled with the turn's latest correction, else its
 * answer; every save appends a correction record (FeedbackService.watchCorrections; append-only,
 * latest wins, '' withdraws). `{…ref, text}` records `text` without an editor (tests, scripts).
 */
export async function run(c: CommandContext, arg?: unknown) {
  const ref = targetTurn(c, arg);
  if (!ref) return undefined;
  if (!c.feedback.canWrite()) return undefined;
  const given = stringArg(arg, 'text');
  if (given !== undefined) return c.feedback.correct(ref, given);
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
  // Our own storage, not the sessions folder: the draft is ours until a save records it.
  const storage =
    c.context.globalStorageUri.scheme === 'file' ? c.context.globalStorageUri.fsPath : path.join(os.tmpdir(), `bot-memory-${process.getuid?.() ?? 'user'}`);
  const dir = path.join(storage, 'corrections');
  const key = createHash('sha256').update(`${root.sessionsDir}\0${ref.sessionId}\0${ref.turnId}`).digest('hex').slice(0, 16);
  const file = path.join(dir, `${ref.sessionId}-${key}.md`);
  try {
    atomicReplace(file, text, { mode: 0o600, forceMode: true, root: path.dirname(storage) });
  } catch (e) {
    c.output.error(`Write Correction: cannot create the draft ${file}: ${describeError(e)}`);
    void notifyError(`Cannot open a correction editor: ${describeError(e)}`);
    return undefined;
  }
  c.feedback.correctionFiles.set(file, ref);
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  await vscode.languages.setTextDocumentLanguage(doc, 'markdown');
  // Beside the timeline: the conversation stays in view while the correction is written.
  await vscode.window.showTextDocument(doc, { preview: false, viewColumn: vscode.ViewColumn.Beside });
  void vscode.window.setStatusBarMessage(`Correction for turn ${ref.turnId}: edit, then save to record it.`, 8000);
  return { file };
}
