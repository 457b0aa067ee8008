/** The Sessions view feature: tree, Problems-panel diagnostics, status bar (its commands are in commands.ts). */

import * as vscode from 'vscode';
import type { Registration, Services } from './services';
import { DiagnosticsPublisher } from './diagnostics';
import { AttentionStatusBar } from './statusBar';
import { createSessionsView, type Node, type SessionsTreeProvider } from './tree/sessionsTree';

export interface SessionsFeature {
  tree: SessionsTreeProvider;
  view: vscode.TreeView<Node>;
  diagnostics: DiagnosticsPublisher;
  statusBar: AttentionStatusBar;
}

export function registerSessionsView(services: Services): Registration<SessionsFeature> {
  const { provider, view, disposables } = createSessionsView(services.store, services.context);
  const diagnostics = new DiagnosticsPublisher(services.store);
  const statusBar = new AttentionStatusBar(services.store);
  const updateEmpty = () =>
    void vscode.commands.executeCommand(
      'setContext',
      'botMemory.noSessions',
      services.store.roots().every((r) => r.sessions.size === 0),
    );
  return {
    api: { tree: provider, view, diagnostics, statusBar },
    disposables: [
      ...disposables,
      diagnostics,
      statusBar,
      services.store.onDidChangeRoots(updateEmpty),
      services.store.onDidChange((ch) => ch.sessions === 'all' && updateEmpty()),
    ],
  };
}
