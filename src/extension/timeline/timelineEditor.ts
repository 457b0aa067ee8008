/**
 * The turn timeline: a read-only custom editor, the default for `**\/_turn_journal/*.jsonl`,
 * that shows the whole session of the opened shard (all its shards merged) as cards.
 * "Reopen Editor With… → Text Editor" and the editor-title button open the raw text.
 * Its commands (commands/openTimeline.ts, openTimelineAsText.ts, timelineQuery.ts) call the
 * provider, the feature's api.
 */

import { promises as fsp } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { TIMELINE_VIEW_TYPE } from '../commandIds';
import { sessionRefOf, stringArg } from '../commandArgs';
import { DisposableStore } from '../dispose';
import type { Registration, Services } from '../services';
import { AUDIT_SHARD_TAG } from '../../core/repair/plan';
import { pickSession } from '../sessionPicker';
import type { Snapshot, WebviewRequest } from '../../shared/timelineProtocol';
import { TimelineController } from './controller';
import { openShardAtLine } from '../openShard';
import { notifyWarning } from '../untrustedText';

export type OpenTimelineTarget = { rootId: string; sessionId: string; turnId?: string } | vscode.Uri;

interface TimelineDocument extends vscode.CustomDocument {
  readonly uri: vscode.Uri;
}

export class TimelineEditorProvider implements vscode.CustomReadonlyEditorProvider<TimelineDocument>, vscode.Disposable {
  private readonly controllers = new Set<TimelineController>();
  /** Most recently active first. */
  private recent: TimelineController[] = [];
  private readonly onDidCreateEmitter = new vscode.EventEmitter<TimelineController>();

  /** The timeline feature: the custom editor provider (its api) and its registration. */
  static register(services: Services): Registration<TimelineEditorProvider> {
    const provider = new TimelineEditorProvider(services);
    const registration = vscode.window.registerCustomEditorProvider(TIMELINE_VIEW_TYPE, provider, {
      // The webview restores its state (search, filters, scroll) from vscode.setState instead.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: true,
    });
    return { api: provider, disposables: [provider, registration] };
  }

  private constructor(private readonly services: Services) {}

  openCustomDocument(uri: vscode.Uri): TimelineDocument {
    return { uri, dispose: () => undefined };
  }

  resolveCustomEditor(document: TimelineDocument, panel: vscode.WebviewPanel): void {
    const c = new TimelineController(this.services, document.uri, panel);
    this.controllers.add(c);
    this.recent.unshift(c);
    const subscriptions = new DisposableStore();
    subscriptions.add(
      panel.onDidChangeViewState(() => {
        if (panel.active) this.recent = [c, ...this.recent.filter((x) => x !== c)];
      }),
    );
    subscriptions.add(
      c.onDidDispose(() => {
        this.controllers.delete(c);
        this.recent = this.recent.filter((x) => x !== c);
        subscriptions.dispose();
      }),
    );
    this.onDidCreateEmitter.fire(c);
  }

  dispose(): void {
    for (const c of [...this.controllers]) c.dispose();
    this.controllers.clear();
    this.recent = [];
    this.onDidCreateEmitter.dispose();
  }

  private controllerFor(uri?: vscode.Uri): TimelineController | undefined {
    if (!uri) return this.recent.find((c) => c.panel.active) ?? this.recent[0];
    const key = uri.toString();
    return this.recent.find((c) => c.uri.toString() === key && c.panel.active) ?? this.recent.find((c) => c.uri.toString() === key);
  }

  /** The open timeline of a session (one tab per session). */
  controllerForSession(rootId: string, sessionId: string): TimelineController | undefined {
    return this.recent.find((c) => c.sessionRef?.rootId === rootId && c.sessionRef.sessionId === sessionId);
  }

  /** The last preview open from the tree: a second open of the same session soon after is a double-click (pin it). */
  private lastPreview: { key: string; at: number } | undefined;

  /**
   * Opens a session's timeline, or reveals its tab when the session is open already (one tab
   * per session). `preview: true` (the tree) opens a preview tab, pinned by a second open of
   * the same session within 500 ms (a double-click) or by VS Code's own gestures.
   */
  async openTimeline(target?: unknown): Promise<void> {
    let uri: vscode.Uri | undefined;
    let turnId: string | undefined;
    const preview = typeof target === 'object' && target !== null && (target as { preview?: unknown }).preview === true;
    let pin = false;
    if (target instanceof vscode.Uri) {
      uri = target;
      const loc = target.scheme === 'file' ? this.services.store.index.locate(target.fsPath) : undefined;
      const open = loc ? this.controllerForSession(loc.rootId, loc.sessionId) : undefined;
      if (open && open.uri.toString() !== target.toString()) {
        open.panel.reveal(open.panel.viewColumn);
        return;
      }
    } else if (sessionRefOf(target)) {
      const ref = sessionRefOf(target)!;
      const key = `${ref.rootId}\0${ref.sessionId}`;
      pin = preview && this.lastPreview?.key === key && Date.now() - this.lastPreview.at < 500;
      this.lastPreview = preview && !pin ? { key, at: Date.now() } : undefined;
      // One tab per session: the open tab's shard (VS Code reveals its tab), else the newest shard.
      uri = this.controllerForSession(ref.rootId, ref.sessionId)?.uri ?? (await this.newestShard(ref.rootId, ref.sessionId));
      turnId = stringArg(target, 'turnId') || undefined;
      if (!uri) {
        void notifyWarning(`Session ${ref.sessionId} has no shard to open.`);
        return;
      }
    } else {
      const active = vscode.window.activeTextEditor?.document.uri;
      if (active && active.scheme === 'file' && isShardPath(active.fsPath)) uri = active;
      else uri = await this.pickSession();
      if (!uri) return;
    }
    await vscode.commands.executeCommand('vscode.openWith', uri, TIMELINE_VIEW_TYPE, { preview: preview && !pin, preserveFocus: preview && !pin });
    if (pin) await vscode.commands.executeCommand('workbench.action.keepEditor');
    // A double-click's second open counts from when the first one finished (opening can be slow).
    if (this.lastPreview && preview && !pin) this.lastPreview.at = Date.now();
    if (turnId) this.controllerFor(uri)?.reveal(turnId);
  }

  private async newestShard(rootId: string, sessionId: string): Promise<vscode.Uri | undefined> {
    const { store } = this.services;
    await store.whenReady();
    // Hermes' own newest shard, not the one our repair appends to (`<sid>~audit.jsonl`), unless it is the only one.
    const all = store.index.root(rootId)?.sessions.get(sessionId)?.shards ?? [];
    const theirs = all.filter((s) => !s.name.endsWith(`~${AUDIT_SHARD_TAG}.jsonl`));
    const shards = theirs.length ? theirs : all;
    let best: { path: string; mtime: number } | undefined;
    for (const s of shards) {
      const mtime = await fsp.stat(s.path).then(
        (st) => st.mtimeMs,
        () => -1,
      );
      if (!best || mtime > best.mtime || (mtime === best.mtime && s.name > path.basename(best.path))) best = { path: s.path, mtime };
    }
    return best ? vscode.Uri.file(best.path) : undefined;
  }

  private async pickSession(): Promise<vscode.Uri | undefined> {
    const picked = await pickSession(this.services.store, {
      placeHolder: 'Open the turn timeline of a session',
      empty: 'No hermes-webui sessions found. Add a sessions folder with the setting botMemory.sessionDirectories.',
      order: 'folder',
      detail: (sum, s) => {
        const parts: string[] = [];
        if (sum) {
          parts.push(`${sum.turns} turns`);
          if (sum.open) parts.push(`${sum.open} open`);
          if (sum.collisions) parts.push(`${sum.collisions} collisions`);
          if (sum.malformed) parts.push(`${sum.malformed} broken lines`);
        }
        parts.push(`${s.shards.length} shard${s.shards.length === 1 ? '' : 's'}`);
        return parts.join(' · ');
      },
    });
    return picked ? this.newestShard(picked.rootId, picked.sessionId) : undefined;
  }

  async openAsText(arg?: unknown): Promise<void> {
    const uri = arg instanceof vscode.Uri ? arg : (this.controllerFor()?.uri ?? activeTabUri());
    if (!uri) return;
    const c = this.controllerFor(uri);
    await openShardAtLine(uri, 1, c?.panel.viewColumn ?? vscode.ViewColumn.Active);
  }

  async query(uri: unknown, request: WebviewRequest): Promise<Snapshot> {
    const target = uri instanceof vscode.Uri ? uri : typeof uri === 'string' ? vscode.Uri.parse(uri) : undefined;
    const c = this.controllerFor(target) ?? (await this.whenOpened(target, 10000));
    if (!c) throw new Error(`no timeline editor is open${target ? ` for ${target.toString()}` : ''}`);
    return c.request(request ?? { kind: 'snapshot' });
  }

  /** The next timeline editor opened on `uri` (any, without one), or undefined after `timeoutMs`. */
  private whenOpened(uri: vscode.Uri | undefined, timeoutMs: number): Promise<TimelineController | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        sub.dispose();
        resolve(undefined);
      }, timeoutMs);
      const sub = this.onDidCreateEmitter.event((c) => {
        if (uri && c.uri.toString() !== uri.toString()) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(c);
      });
    });
  }
}

function isShardPath(p: string): boolean {
  return p.endsWith('.jsonl') && path.basename(path.dirname(p)) === '_turn_journal';
}

function activeTabUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputCustom || input instanceof vscode.TabInputText) return input.uri;
  return undefined;
}
