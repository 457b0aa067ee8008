import type * as vscode from 'vscode';
import type { Services } from '../../extension';
import type { MemoryLedgers } from '../ledgers';
import type { MemoriesTreeProvider, MemoryNode } from '../memoriesTree';

/** What the Memories view's commands need. */
export interface MemoryContext extends Services {
  ledgers: MemoryLedgers;
  tree: MemoriesTreeProvider;
  view: vscode.TreeView<MemoryNode>;
  viewId: string;
}

/** The database a command was invoked on: a tree node, a file URI, a path, or undefined. */
export function databaseOf(arg: unknown): string | undefined {
  const a = arg as { file?: unknown; fsPath?: unknown } | undefined;
  if (typeof arg === 'string') return arg;
  if (a && typeof a.file === 'string') return a.file;
  if (a && typeof a.fsPath === 'string') return a.fsPath;
  return undefined;
}
