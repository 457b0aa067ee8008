import * as path from 'path';
import * as vscode from 'vscode';
import { isValidSessionId } from '../../core/sessionId';
import { fieldArg, uriOf } from '../commandArgs';
import { Commands } from '../commandIds';
import { QUERY_SCHEME, SESSION_COLUMN, TURN_COLUMN } from '../index/queryResults';
import { notifyInfo } from '../untrustedText';
import type { CommandContext } from './context';

export interface OpenRowResult {
  status: 'opened' | 'no-result' | 'no-row' | 'no-session-column' | 'unknown-session';
  message: string;
}

/**
 * "Open Row's Session in Timeline": on a Query Index result, opens the timeline of the row under
 * the cursor (its `session_id`, revealing its `turn_id` when the query returns one). The value is
 * only looked up among the sessions the folder already has: a cell is never used as a path or a
 * command. `{uri, line}` (0-based) picks the row without an editor (tests).
 */
export async function run(c: CommandContext, arg?: unknown): Promise<OpenRowResult> {
  const editor = vscode.window.activeTextEditor;
  const uri = uriOf(fieldArg(arg, 'uri')) ?? uriOf(arg) ?? (editor?.document.uri.scheme === QUERY_SCHEME ? editor.document.uri : undefined);
  const line = typeof fieldArg(arg, 'line') === 'number' ? (fieldArg(arg, 'line') as number) : editor?.selection.active.line;
  const found = uri && line !== undefined ? c.query.documents.rowAt(uri, line) : undefined;
  if (!found) return tell('no-result', 'Put the cursor on a row of a Query Index result first.');
  const col = found.table.columns.indexOf(SESSION_COLUMN);
  if (col < 0) return tell('no-session-column', `This result has no ${SESSION_COLUMN} column: add it to the SELECT to open a row's session.`);
  if (!found.row) return tell('no-row', 'Put the cursor on a row of the table (not the header).');
  const sessionId = found.row[col];
  const root = c.store.roots().find((r) => path.resolve(r.sessionsDir) === path.resolve(found.table.sessionsDir));
  if (typeof sessionId !== 'string' || !isValidSessionId(sessionId) || !root || !c.store.index.root(root.id)?.sessions.has(sessionId)) {
    return tell('unknown-session', `The folder has no such session now (the index may be older than the folder: rebuild it).`);
  }
  const turnCol = found.table.columns.indexOf(TURN_COLUMN);
  const turnId = turnCol >= 0 && typeof found.row[turnCol] === 'string' && found.row[turnCol] ? (found.row[turnCol] as string) : undefined;
  await vscode.commands.executeCommand(Commands.openTimeline, { rootId: root.id, sessionId, ...(turnId ? { turnId } : {}) });
  return { status: 'opened', message: `Opened ${sessionId}.` };
}

function tell(status: OpenRowResult['status'], message: string): OpenRowResult {
  void notifyInfo(message);
  return { status, message };
}
