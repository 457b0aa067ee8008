import * as vscode from 'vscode';

export const TIMELINE_SECTION = 'botMemory.timeline';

export interface TimelineSettings {
  /** Sessions larger than this (all shards together) open in pages. */
  maxSessionBytes: number;
}

export function timelineSettings(): TimelineSettings {
  const mb = vscode.workspace.getConfiguration(TIMELINE_SECTION).get<unknown>('maxSessionMB');
  const value = typeof mb === 'number' && Number.isFinite(mb) && mb > 0 ? mb : 200;
  return { maxSessionBytes: Math.floor(value * 1024 * 1024) };
}

/**
 * Opens a shard in the plain text editor (bypassing the timeline, the default editor for
 * shards) and selects a line.
 */
export async function openShardAtLine(
  uri: vscode.Uri,
  line: number,
  viewColumn: vscode.ViewColumn = vscode.ViewColumn.Active,
): Promise<vscode.TextEditor | undefined> {
  await vscode.commands.executeCommand('vscode.openWith', uri, 'default', { viewColumn, preview: true });
  const editor =
    vscode.window.activeTextEditor?.document.uri.toString() === uri.toString()
      ? vscode.window.activeTextEditor
      : vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
  if (!editor) return undefined;
  const n = Math.min(Math.max(0, Math.floor(line) - 1), Math.max(0, editor.document.lineCount - 1));
  const range = editor.document.lineAt(n).range;
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}
