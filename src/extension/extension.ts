import * as vscode from 'vscode';
import { SessionStore } from './store';
import { registerSessionsView, type SessionsFeature } from './sessionsView';
import * as rebuildIndex from './commands/rebuildIndex';
import * as rebuildIndexFromLog from './commands/rebuildIndexFromLog';
import * as openIndex from './commands/openIndex';
import { TimelineEditorProvider } from './timeline/timelineEditor';
import { registerMemoriesView, type MemoriesFeature } from './memory/memoriesView';
import * as pushGithub from './commands/pushGithub';
import * as pullGithub from './commands/pullGithub';
import * as setGithubToken from './commands/setGithubToken';
import { registerFeedback } from './feedback/register';
import type { FeedbackService } from './feedback/service';
import { registerRepair, type RepairFeature } from './repair/register';

/** What features share: registered once in activate(), disposed with the extension. */
export interface Services {
  context: vscode.ExtensionContext;
  store: SessionStore;
  output: vscode.LogOutputChannel;
}

/** Returned from activate(): integration tests reach the live services through it. */
export interface BotMemoryApi {
  services: Services;
  sessions: SessionsFeature;
  feedback: FeedbackService;
  memories: MemoriesFeature;
  repair: RepairFeature;
}

export async function activate(context: vscode.ExtensionContext): Promise<BotMemoryApi> {
  const output = vscode.window.createOutputChannel('Bot Memory Auditor', { log: true });
  context.subscriptions.push(output);
  const store = new SessionStore(context, output);
  context.subscriptions.push(store);
  const services: Services = { context, store, output };

  const sessions = registerSessionsView(services);
  context.subscriptions.push(...TimelineEditorProvider.register(services));
  const memories = registerMemoriesView(services);
  context.subscriptions.push(pushGithub.register(services), pullGithub.register(services), setGithubToken.register(services));
  const feedback = registerFeedback(services, sessions);
  context.subscriptions.push(rebuildIndex.register(services), rebuildIndexFromLog.register(services), openIndex.register(services));
  const repair = registerRepair(services);
  context.subscriptions.push(...repair.disposables);

  void store.reloadRoots().catch((err) => output.error(`Loading sessions failed: ${err instanceof Error ? err.message : String(err)}`));
  return { services, sessions, feedback, memories, repair: repair.feature };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
