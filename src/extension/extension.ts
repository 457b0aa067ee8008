/**
 * The entry point: builds the services, registers each feature (`register(services) →
 * { api, disposables }`), then every command (commands.ts), all disposed through one store.
 * Nothing imports this file but the tests (for `BotMemoryApi`).
 */

import type * as vscode from 'vscode';
import { registerCommands } from './commands';
import { DisposableStore } from './dispose';
import { registerFeedback } from './feedback/register';
import type { FeedbackService } from './feedback/service';
import { registerQueryIndex, type QueryIndexFeature } from './index/register';
import { registerQuickFixes, type QuickFixes } from './quickFixes';
import { registerMemoriesView, type MemoriesFeature } from './memory/memoriesView';
import { registerRepair, type RepairFeature } from './repair/register';
import { createServices, type Registration, type Services } from './services';
import { registerSessionsView, type SessionsFeature } from './sessionsView';
import { TimelineEditorProvider } from './timeline/timelineEditor';

/** Returned from activate(): integration tests reach the live services through it. */
export interface BotMemoryApi {
  services: Services;
  sessions: SessionsFeature;
  feedback: FeedbackService;
  memories: MemoriesFeature;
  repair: RepairFeature;
  quickFixes: QuickFixes;
  query: QueryIndexFeature;
}

export async function activate(context: vscode.ExtensionContext): Promise<BotMemoryApi> {
  const disposables = new DisposableStore();
  context.subscriptions.push(disposables);
  const use = <Api>(r: Registration<Api>): Api => {
    disposables.addAll(r.disposables);
    return r.api;
  };

  const services = use(createServices(context));
  const sessions = use(registerSessionsView(services));
  const timeline = use(TimelineEditorProvider.register(services));
  const memories = use(registerMemoriesView(services));
  const feedback = use(registerFeedback(services));
  const repair = use(registerRepair(services));
  const quickFixes = use(registerQuickFixes(services));
  const query = use(registerQueryIndex(services));
  disposables.addAll(registerCommands({ ...services, sessions, timeline, memories, feedback, repair, query }));

  const { store, output } = services;
  void store.reloadRoots().catch((err) => output.error(`Loading sessions failed: ${err instanceof Error ? err.message : String(err)}`));
  return { services, sessions, feedback, memories, repair, quickFixes, query };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
