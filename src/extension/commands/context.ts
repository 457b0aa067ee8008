import type * as vscode from 'vscode';
import type { Services } from '../extension';
import type { Node, SessionsTreeProvider } from '../tree/sessionsTree';

/** What the sessions-view commands need. */
export interface CommandContext extends Services {
  tree: SessionsTreeProvider;
  view: vscode.TreeView<Node>;
}

/** A session reference from a tree node, a timeline, or a command argument. */
export function sessionRefOf(arg: unknown): { rootId: string; sessionId: string } | undefined {
  const a = arg as { rootId?: unknown; sessionId?: unknown } | undefined;
  return a && typeof a.rootId === 'string' && typeof a.sessionId === 'string' ? { rootId: a.rootId, sessionId: a.sessionId } : undefined;
}
