/** The "Memories" view feature: ledgers, tree, Problems-panel diagnostics (its commands are in commands.ts). */

import * as vscode from 'vscode';
import { VIEW_MEMORIES } from '../commandIds';
import type { Registration, Services } from '../services';
import { MemoryDiagnostics } from './diagnostics';
import { MemoryLedgers } from './ledgers';
import { MemoriesTreeProvider, type MemoryNode } from './memoriesTree';

export interface MemoriesFeature {
  ledgers: MemoryLedgers;
  tree: MemoriesTreeProvider;
  view: vscode.TreeView<MemoryNode>;
  diagnostics: MemoryDiagnostics;
}

export function registerMemoriesView(services: Services): Registration<MemoriesFeature> {
  const ledgers = new MemoryLedgers(services.output);
  const tree = new MemoriesTreeProvider(ledgers);
  const view = vscode.window.createTreeView(VIEW_MEMORIES, { treeDataProvider: tree, showCollapseAll: true });
  const diagnostics = new MemoryDiagnostics(ledgers);
  const updateEmpty = () => void vscode.commands.executeCommand('setContext', 'botMemory.noMemoryDatabases', ledgers.list().length === 0);
  updateEmpty();
  // Audit after activation returns (each audit reads a copy of its database).
  const t = setTimeout(() => ledgers.reload(), 0);
  return {
    api: { ledgers, tree, view, diagnostics },
    disposables: [ledgers, tree, view, diagnostics, ledgers.onDidChange(updateEmpty), { dispose: () => clearTimeout(t) }],
  };
}
