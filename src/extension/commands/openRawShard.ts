import * as path from 'path';
import * as vscode from 'vscode';
import type { Node } from '../tree/sessionsTree';
import { fileLineOf } from '../commandArgs';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';

/** Opens a shard as plain text (not in the timeline editor) with the cursor on a line. */
export async function openShardAtLine(file: string, line: number): Promise<vscode.TextEditor> {
  const uri = vscode.Uri.file(file);
  const zero = Math.max(0, line - 1);
  await vscode.commands.executeCommand('vscode.openWith', uri, 'default', { preview: true } satisfies vscode.TextDocumentShowOptions);
  const editor = await vscode.window.showTextDocument(uri, { preview: true, selection: new vscode.Range(zero, 0, zero, 0) });
  editor.revealRange(new vscode.Range(zero, 0, zero, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  return editor;
}

/** Which shard file and line a node points at. */
export function shardTarget(c: CommandContext, arg: unknown): { path: string; line: number } | undefined {
  const node = arg as Node | undefined;
  if (node?.kind === 'turn' && node.shardPath) return { path: node.shardPath, line: node.turn.events[0]?.line ?? 1 };
  if (node?.kind === 'line') return { path: node.path, line: node.line.line };
  if (node?.kind === 'session') {
    const root = c.store.index.root(node.rootId);
    const s = root?.sessions.get(node.sessionId);
    const shard = s?.shards[s.shards.length - 1];
    if (root && shard) return { path: path.join(root.journalDir, shard.name), line: 1 };
  }
  // A plain {path, line} (from the timeline or a link).
  return fileLineOf(arg);
}

export async function run(c: CommandContext, arg?: unknown) {
  const target = shardTarget(c, arg ?? c.sessions.view.selection[0]);
  if (!target) {
    void notifyInfo('Select a session, turn or broken line in the Sessions view first.');
    return;
  }
  await openShardAtLine(target.path, target.line);
}
