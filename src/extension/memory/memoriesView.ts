/** The "Memories" view feature: ledgers, tree, Problems-panel diagnostics and their commands. */

import * as vscode from 'vscode';
import { VIEW_MEMORIES } from '../commandIds';
import type { Services } from '../extension';
import { MemoryDiagnostics } from './diagnostics';
import { MemoryLedgers } from './ledgers';
import { MemoriesTreeProvider, type MemoryNode } from './memoriesTree';
import type { MemoryContext } from './commands/context';
import * as addDatabase from './commands/addDatabase';
import * as exportProjection from './commands/exportProjection';
import * as refresh from './commands/refresh';

export interface MemoriesFeature {
  ledgers: MemoryLedgers;
  tree: MemoriesTreeProvider;
  view: vscode.TreeView<MemoryNode>;
  diagnostics: MemoryDiagnostics;
}

export function registerMemoriesView(services: Services): MemoriesFeature {
  const ledgers = new MemoryLedgers(services.output);
  const tree = new MemoriesTreeProvider(ledgers);
  const view = vscode.window.createTreeView(VIEW_MEMORIES, { treeDataProvider: tree, showCollapseAll: true });
  const diagnostics = new MemoryDiagnostics(ledgers);
  const updateEmpty = () => void vscode.commands.executeCommand('setContext', 'botMemory.noMemoryDatabases', ledgers.list().length === 0);
  const c: MemoryContext = { ...services, ledgers, tree, view, viewId: VIEW_MEMORIES };
  services.context.subscriptions.push(ledgers, tree, view, diagnostics, ledgers.onDidChange(updateEmpty), ...[addDatabase, exportProjection, refresh].map((m) => m.register(c)));
  updateEmpty();
  // Audit after activation returns (each audit reads a copy of its database).
  const t = setTimeout(() => ledgers.reload(), 0);
  services.context.subscriptions.push({ dispose: () => clearTimeout(t) });
  return { ledgers, tree, view, diagnostics };
}
