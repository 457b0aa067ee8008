/** The Sessions view feature: tree, Problems-panel diagnostics, status bar, and their commands. */

import * as vscode from 'vscode';
import type { Services } from './extension';
import { DiagnosticsPublisher } from './diagnostics';
import { AttentionStatusBar } from './statusBar';
import { createSessionsView } from './tree/sessionsTree';
import type { CommandContext } from './commands/context';
import * as refresh from './commands/refresh';
import * as filter from './commands/filter';
import * as sort from './commands/sort';
import * as openRawShard from './commands/openRawShard';
import * as revealInExplorer from './commands/revealInExplorer';
import * as copyIds from './commands/copyIds';
import * as addSessionsFolder from './commands/addSessionsFolder';
import * as openDemo from './commands/openDemo';
import * as showAttention from './commands/showAttention';

export interface SessionsFeature {
  tree: CommandContext['tree'];
  view: CommandContext['view'];
  diagnostics: DiagnosticsPublisher;
  statusBar: AttentionStatusBar;
}

export function registerSessionsView(services: Services): SessionsFeature {
  const { provider, view, disposables } = createSessionsView(services.store, services.context);
  const c: CommandContext = { ...services, tree: provider, view };
  const diagnostics = new DiagnosticsPublisher(services.store);
  const statusBar = new AttentionStatusBar(services.store);
  const updateEmpty = () => void vscode.commands.executeCommand('setContext', 'botMemory.noSessions', services.store.roots().every((r) => r.sessions.size === 0));
  services.context.subscriptions.push(
    ...disposables,
    diagnostics,
    statusBar,
    services.store.onDidChangeRoots(updateEmpty),
    services.store.onDidChange((ch) => ch.sessions === 'all' && updateEmpty()),
    ...[refresh, filter, sort, openRawShard, revealInExplorer, copyIds, addSessionsFolder, openDemo, showAttention].map((m) => m.register(c)),
  );
  return { tree: provider, view, diagnostics, statusBar };
}
