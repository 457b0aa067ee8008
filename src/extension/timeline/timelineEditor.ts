/**
 * The turn timeline: a read-only custom editor, the default for `**\/_turn_journal/*.jsonl`,
 * that shows the whole session of the opened shard (all its shards merged) as cards.
 * "Reopen Editor With… → Text Editor" and the editor-title button open the raw text.
 *
 * Commands:
 * - botMemory.openTimeline (target?: {rootId, sessionId, turnId?} | Uri): opens a session's
 *   timeline (its newest shard, or the given one) and reveals `turnId`; with no target,
 *   the active shard or a quick pick of sessions.
 * - botMemory.timeline.openAsText: the active timeline's shard in the text editor.
 * - _botMemory.timeline.query (internal, for tests): asks an open timeline what it rendered.
 */

import { promises as fsp } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { Commands, TIMELINE_VIEW_TYPE } from '../commandIds';
import type { Services } from '../extension';
import type { Snapshot, WebviewRequest } from '../../webview/timeline/protocol';
import { TimelineController } from './controller';
import { openShardAtLine } from './util';
import { notifyInfo, notifyWarning, showPick } from '../untrustedText';

export const TimelineCommands = {
  /** Internal (not contributed): tests ask an open timeline what its webview rendered. */
  query: '_botMemory.timeline.query',
} as const;

export type OpenTimelineTarget = { rootId: string; sessionId: string; turnId?: string } | vscode.Uri;

interface TimelineDocument extends vscode.CustomDocument {
  readonly uri: vscode.Uri;
}

export class TimelineEditorProvider implements vscode.CustomReadonlyEditorProvider<TimelineDocument>, vscode.Disposable {
  private readonly controllers = new Set<TimelineController>();
  /** Most recently active first. */
  private recent: TimelineController[] = [];

  static register(services: Services): vscode.Disposable[] {
    const provider = new TimelineEditorProvider(services);
    return [
      provider,
      vscode.window.registerCustomEditorProvider(TIMELINE_VIEW_TYPE, provider, {
        // The webview restores its state (search, filters, scroll) from vscode.setState instead.
        webviewOptions: { retainContextWhenHidden: false },
        supportsMultipleEditorsPerDocument: true,
      }),
      vscode.commands.registerCommand(Commands.openTimeline, (target?: unknown) => provider.openTimeline(target)),
      vscode.commands.registerCommand(Commands.openTimelineAsText, (uri?: unknown) => provider.openAsText(uri)),
      vscode.commands.registerCommand(TimelineCommands.query, (uri: unknown, request: WebviewRequest) => provider.query(uri, request)),
    ];
  }

  private constructor(private readonly services: Services) {}

  openCustomDocument(uri: vscode.Uri): TimelineDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: TimelineDocument, panel: vscode.WebviewPanel): void {
    const c = new TimelineController(this.services, document.uri, panel);
    this.controllers.add(c);
    this.recent.unshift(c);
    panel.onDidChangeViewState(() => {
      if (panel.active) this.recent = [c, ...this.recent.filter((x) => x !== c)];
    });
    c.onDidDispose(() => {
      this.controllers.delete(c);
      this.recent = this.recent.filter((x) => x !== c);
    });
  }

  dispose(): void {
    for (const c of [...this.controllers]) c.dispose();
    this.controllers.clear();
    this.recent = [];
  }

  private controllerFor(uri?: vscode.Uri): TimelineController | undefined {
    if (!uri) return this.recent.find((c) => c.panel.active) ?? this.recent[0];
    const key = uri.toString();
    return this.recent.find((c) => c.uri.toString() === key && c.panel.active) ?? this.recent.find((c) => c.uri.toString() === key);
  }

  async openTimeline(target?: unknown): Promise<void> {
    let uri: vscode.Uri | undefined;
    let turnId: string | undefined;
    if (target instanceof vscode.Uri) {
      uri = target;
    } else if (isSessionTarget(target)) {
      uri = await this.newestShard(target.rootId, target.sessionId);
      turnId = typeof target.turnId === 'string' && target.turnId ? target.turnId : undefined;
      if (!uri) {
        void notifyWarning(`Session ${target.sessionId} has no shard to open.`);
        return;
      }
    } else {
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active && active.scheme === 'file' && isShardPath(active.fsPath)) uri = active;
      else uri = await this.pickSession();
      if (!uri) return;
    }
    await vscode.commands.executeCommand('vscode.openWith', uri, TIMELINE_VIEW_TYPE);
    if (turnId) this.controllerFor(uri)?.reveal(turnId);
  }

  private async newestShard(rootId: string, sessionId: string): Promise<vscode.Uri | undefined> {
    const { store } = this.services;
    await store.whenReady();
    const shards = store.index.root(rootId)?.sessions.get(sessionId)?.shards ?? [];
    let best: { path: string; mtime: number } | undefined;
    for (const s of shards) {
      const mtime = await fsp.stat(s.path).then((st) => st.mtimeMs, () => -1);
      if (!best || mtime > best.mtime || (mtime === best.mtime && s.name > path.basename(best.path))) best = { path: s.path, mtime };
    }
    return best ? vscode.Uri.file(best.path) : undefined;
  }

  private async pickSession(): Promise<vscode.Uri | undefined> {
    const { store } = this.services;
    await store.whenReady();
    type Item = vscode.QuickPickItem & { rootId?: string; sessionId?: string };
    const items: Item[] = [];
    for (const root of store.roots()) {
      const sessions = store.index.sessions(root.id);
      if (sessions.length === 0) continue;
      items.push({ label: root.label, kind: vscode.QuickPickItemKind.Separator });
      for (const s of sessions) {
        const sum = store.index.cachedSummary(root.id, s.sessionId);
        const parts: string[] = [];
        if (sum) {
          parts.push(`${sum.turns} turns`);
          if (sum.open) parts.push(`${sum.open} open`);
          if (sum.collisions) parts.push(`${sum.collisions} collisions`);
          if (sum.malformed) parts.push(`${sum.malformed} broken lines`);
        }
        parts.push(`${s.shards.length} shard${s.shards.length === 1 ? '' : 's'}`);
        items.push({
          label: sum?.title || s.sessionId,
          description: sum?.title ? s.sessionId : undefined,
          detail: parts.join(' · '),
          rootId: root.id,
          sessionId: s.sessionId,
        });
      }
    }
    if (items.length === 0) {
      void notifyInfo('No hermes-webui sessions found. Add a sessions folder with the setting botMemory.sessionDirectories.');
      return undefined;
    }
    const picked = await showPick(items, { placeHolder: 'Open the turn timeline of a session', matchOnDescription: true, matchOnDetail: true });
    if (!picked?.rootId || !picked.sessionId) return undefined;
    return this.newestShard(picked.rootId, picked.sessionId);
  }

  async openAsText(arg?: unknown): Promise<void> {
    const uri = arg instanceof vscode.Uri ? arg : this.controllerFor()?.uri ?? activeTabUri();
    if (!uri) return;
    const c = this.controllerFor(uri);
    await openShardAtLine(uri, 1, c?.panel.viewColumn ?? vscode.ViewColumn.Active);
  }

  async query(uri: unknown, request: WebviewRequest): Promise<Snapshot> {
    const target = uri instanceof vscode.Uri ? uri : typeof uri === 'string' ? vscode.Uri.parse(uri) : undefined;
    const deadline = Date.now() + 10000;
    let c = this.controllerFor(target);
    while (!c && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      c = this.controllerFor(target);
    }
    if (!c) throw new Error(`no timeline editor is open${target ? ` for ${target.toString()}` : ''}`);
    return c.request(request ?? { kind: 'snapshot' });
  }
}

function isSessionTarget(t: unknown): t is { rootId: string; sessionId: string; turnId?: string } {
  return typeof t === 'object' && t !== null && typeof (t as { rootId?: unknown }).rootId === 'string' && typeof (t as { sessionId?: unknown }).sessionId === 'string';
}

function isShardPath(p: string): boolean {
  return p.endsWith('.jsonl') && path.basename(path.dirname(p)) === '_turn_journal';
}

function activeTabUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) return input.uri;
  return undefined;
}
