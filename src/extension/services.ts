/**
 * The services every feature receives (like GitLens' `container.ts`), and the one contract a
 * feature follows: `register(services) → { api, disposables }`. Features import this file,
 * never `extension.ts`; `activate()` collects every feature's disposables in one store.
 */

import * as vscode from 'vscode';
import { SessionStore } from './store';

/** What features share: built once in activate(), disposed with the extension. */
export interface Services {
  context: vscode.ExtensionContext;
  store: SessionStore;
  output: vscode.LogOutputChannel;
}

/** What a feature's `register` returns: what other features and the tests reach, and what to dispose. */
export interface Registration<Api> {
  api: Api;
  disposables: vscode.Disposable[];
}

/** A feature: registers its views, providers and listeners (its commands are in `commands.ts`). */
export type Feature<Api> = (services: Services) => Registration<Api>;

/** The shared services: the log output channel and the session store. */
export function createServices(context: vscode.ExtensionContext): Registration<Services> {
  const output = vscode.window.createOutputChannel('Bot Memory Auditor', { log: true });
  const store = new SessionStore(context, output);
  return { api: { context, store, output }, disposables: [output, store] };
}
