import * as vscode from 'vscode';

/**
 * Opens a shard in the plain text editor (bypassing the timeline, the default editor for
 * shards), selects a 1-based line and reveals it. The one way every feature opens raw journal
 * lines (the timeline's "open raw line", the tree's "Open Raw Shard", quick fixes).
 */
export async function openShardAtLine(
  file: vscode.Uri | string,
  line: number,
  viewColumn: vscode.ViewColumn = vscode.ViewColumn.Active,
): Promise<vscode.TextEditor> {
  const uri = typeof file === 'string' ? vscode.Uri.file(file) : file;
  await vscode.commands.executeCommand('vscode.openWith', uri, 'default', { viewColumn, preview: true } satisfies vscode.TextDocumentShowOptions);
  // The text editor VS Code just opened: the active one; else show the document in the group that
  // is now active (not `viewColumn` again: `Beside` would open a second editor further along).
  const active = vscode.window.activeTextEditor;
  const editor =
    active?.document.uri.toString() === uri.toString()
      ? active
      : await vscode.window.showTextDocument(uri, { viewColumn: vscode.window.tabGroups.activeTabGroup.viewColumn, preview: true });
  const n = Math.min(Math.max(0, Math.floor(line) - 1), Math.max(0, editor.document.lineCount - 1));
  const range = editor.document.lineAt(n).range;
  editor.selection = new vscode.Selection(range.start, range.end);
  editor.revealRange(range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}
