/**
 * The "Sessions" tree: roots → sessions → (findings group, turns).
 * Sessions are listed from discovery alone (no parsing); their summaries arrive in the
 * background and update single nodes. Turns are resolved only when a session is expanded.
 */

import * as path from 'path';
import * as vscode from 'vscode';
import type { SessionAnalysis, Turn } from '../../core/analyze';
import type { IndexChange, Root, SessionSummary } from '../../core/sessionIndex';
import type { MalformedLine } from '../../core/types';
import { Commands, VIEW_SESSIONS } from '../commandIds';
import { Disposable } from '../dispose';
import type { SessionStore } from '../store';
import {
  appendFeedbackTooltip,
  feedbackIcon,
  firstLine,
  formatDuration,
  malformedLabel,
  plural,
  sessionDescription,
  sessionTooltip,
  severityIcon,
  turnLook,
} from './presentation';
import { appendVoicesTooltip, turnVoices, voicesAccessibility, voicesContext, voicesDescription, voicesIcon } from './feedbackPresentation';
import { appendUntrustedBlock, plainText, untrustedMarkdown } from '../untrustedText';

export type SessionFilter = 'all' | 'findings' | 'open';
export type SessionSort = 'lastActivity' | 'title' | 'id';

export type Node = RootNode | SessionNode | TurnNode | FindingsNode | LineNode | MessageNode;

export interface RootNode {
  kind: 'root';
  root: Root;
}
export interface SessionNode {
  kind: 'session';
  rootId: string;
  sessionId: string;
}
export interface TurnNode {
  kind: 'turn';
  rootId: string;
  sessionId: string;
  turn: Turn;
  dangling: boolean;
  shardPath: string | undefined;
}
export interface FindingsNode {
  kind: 'findings';
  rootId: string;
  sessionId: string;
  lines: MalformedLine[];
}
export interface LineNode {
  kind: 'line';
  rootId: string;
  sessionId: string;
  line: MalformedLine;
  path: string;
}
export interface MessageNode {
  kind: 'message';
  text: string;
  icon?: string;
}

const FILTER_KEY = 'botMemory.sessions.filter';
const SORT_KEY = 'botMemory.sessions.sort';

export class SessionsTreeProvider extends Disposable implements vscode.TreeDataProvider<Node> {
  private readonly changeEmitter = this._register(new vscode.EventEmitter<Node | undefined | void>());
  readonly onDidChangeTreeData = this.changeEmitter.event;
  /** Node objects are reused so a change can refresh exactly one of them. */
  private readonly rootNodes = new Map<string, RootNode>();
  private readonly sessionNodes = new Map<string, SessionNode>();
  private pendingChanges: IndexChange[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  filter: SessionFilter;
  sort: SessionSort;

  constructor(
    private readonly store: SessionStore,
    private readonly memento: vscode.Memento,
  ) {
    super();
    this.filter = memento.get<SessionFilter>(FILTER_KEY) ?? 'all';
    this.sort = memento.get<SessionSort>(SORT_KEY) ?? 'lastActivity';
    this._register(store.onDidChange((c) => this.queueChange(c)));
    this._register(store.onDidChangeRoots(() => this.refreshAll()));
    this._register({ dispose: () => this.flushTimer && clearTimeout(this.flushTimer) });
  }

  setFilter(f: SessionFilter): void {
    this.filter = f;
    void this.memento.update(FILTER_KEY, f);
    this.refreshAll();
  }

  setSort(s: SessionSort): void {
    this.sort = s;
    void this.memento.update(SORT_KEY, s);
    this.refreshAll();
  }

  refreshAll(): void {
    this.changeEmitter.fire();
  }

  /** Batches change events: one session → that node; list or order changes → the parent. */
  private queueChange(c: IndexChange): void {
    this.pendingChanges.push(c);
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      const changes = this.pendingChanges.splice(0);
      const roots = new Set<string>();
      const sessions = new Set<string>();
      for (const ch of changes) {
        if (ch.sessions === 'all' || this.sort !== 'id' || this.filter !== 'all') roots.add(ch.rootId);
        else for (const s of ch.sessions) sessions.add(`${ch.rootId}\0${s}`);
      }
      if (roots.size > 0 && (this.store.roots().length === 1 || roots.size > 20)) {
        this.changeEmitter.fire();
        return;
      }
      for (const r of roots) {
        const node = this.rootNodes.get(r);
        if (node) this.changeEmitter.fire(node);
        else this.changeEmitter.fire();
      }
      for (const k of sessions) {
        const node = this.sessionNodes.get(k);
        if (node && !roots.has(node.rootId)) this.changeEmitter.fire(node);
      }
    }, 100);
  }

  getParent(node: Node): Node | undefined {
    switch (node.kind) {
      case 'session':
        return this.store.roots().length > 1 ? this.rootNode(this.store.index.root(node.rootId)!) : undefined;
      case 'turn':
      case 'findings':
        return this.sessionNode(node.rootId, node.sessionId);
      case 'line':
        return undefined;
      default:
        return undefined;
    }
  }

  async getChildren(node?: Node): Promise<Node[]> {
    if (!node) {
      await this.store.whenReady();
      const roots = this.store.roots();
      if (roots.length === 0) return [];
      if (roots.length === 1) return this.sessionChildren(roots[0]);
      return roots.map((r) => this.rootNode(r));
    }
    switch (node.kind) {
      case 'root':
        return this.sessionChildren(node.root);
      case 'session':
        return this.turnChildren(node);
      case 'findings':
        return node.lines.map(
          (line) => ({ kind: 'line', rootId: node.rootId, sessionId: node.sessionId, line, path: this.shardPath(node.rootId, line.shard) }) as LineNode,
        );
      default:
        return [];
    }
  }

  private rootNode(root: Root): RootNode {
    let n = this.rootNodes.get(root.id);
    if (!n || n.root !== root) {
      n = { kind: 'root', root };
      this.rootNodes.set(root.id, n);
    }
    return n;
  }

  private sessionNode(rootId: string, sessionId: string): SessionNode {
    const k = `${rootId}\0${sessionId}`;
    let n = this.sessionNodes.get(k);
    if (!n) {
      n = { kind: 'session', rootId, sessionId };
      this.sessionNodes.set(k, n);
    }
    return n;
  }

  private sessionChildren(root: Root): Node[] {
    if (root.error) return [{ kind: 'message', text: root.error, icon: 'error' }];
    const index = this.store.index;
    let list = index.sessions(root.id).map((s) => ({ id: s.sessionId, summary: index.cachedSummary(root.id, s.sessionId) }));
    if (this.filter !== 'all') {
      list = list.filter(({ summary }) => {
        if (!summary) return true; // not known yet: keep it visible until it is
        return this.filter === 'open' ? summary.open > 0 : summary.findings.error + summary.findings.warning > 0;
      });
    }
    const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    if (this.sort === 'id') list.sort(byId);
    else if (this.sort === 'title') list.sort((a, b) => (a.summary?.title ?? a.id).localeCompare(b.summary?.title ?? b.id) || byId(a, b));
    else list.sort((a, b) => (b.summary?.lastActivity ?? -Infinity) - (a.summary?.lastActivity ?? -Infinity) || byId(a, b));
    const missing = list.filter((x) => !x.summary).map((x) => x.id);
    if (missing.length) index.summarizeInBackground(root.id, missing);
    if (list.length === 0) {
      const total = index.sessions(root.id).length;
      return [
        {
          kind: 'message',
          text: total === 0 ? 'No sessions in this folder yet' : `No sessions match the filter (${plural(total, 'session')} hidden)`,
          icon: 'filter',
        },
      ];
    }
    return list.map((x) => this.sessionNode(root.id, x.id));
  }

  private async turnChildren(node: SessionNode): Promise<Node[]> {
    let a: SessionAnalysis | undefined;
    try {
      a = await this.store.index.analyze(node.rootId, node.sessionId);
    } catch (err) {
      return [{ kind: 'message', text: `Cannot read this session: ${err instanceof Error ? err.message : String(err)}`, icon: 'error' }];
    }
    if (!a) return [{ kind: 'message', text: 'This session no longer exists', icon: 'trash' }];
    const out: Node[] = [];
    if (a.malformed.length > 0) out.push({ kind: 'findings', rootId: node.rootId, sessionId: node.sessionId, lines: a.malformed });
    const danglingTurns = new Set(a.findings.filter((f) => f.kind === 'dangling_turn').map((f) => f.turnId));
    const turns = [...a.turns].sort((x, y) => (x.startedAt ?? x.events[0]?.sortKey ?? 0) - (y.startedAt ?? y.events[0]?.sortKey ?? 0));
    for (const t of turns) {
      const first = t.events[0] ?? t.recovered[0];
      out.push({
        kind: 'turn',
        rootId: node.rootId,
        sessionId: node.sessionId,
        turn: t,
        dangling: danglingTurns.has(t.turnId),
        shardPath: first ? this.shardPath(node.rootId, first.shard) : undefined,
      });
    }
    if (out.length === 0) out.push({ kind: 'message', text: 'No events yet', icon: 'circle-slash' });
    return out;
  }

  private shardPath(rootId: string, shard: string): string {
    const root = this.store.index.root(rootId);
    return root ? path.join(root.journalDir, shard) : shard;
  }

  getTreeItem(node: Node): vscode.TreeItem {
    switch (node.kind) {
      case 'root':
        return this.rootItem(node);
      case 'session':
        return this.sessionItem(node);
      case 'turn':
        return this.turnItem(node);
      case 'findings': {
        const item = new vscode.TreeItem(`Broken lines (${node.lines.length})`, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `findings\0${node.rootId}\0${node.sessionId}`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
        item.tooltip = "Malformed, torn and glued lines in this session's shards";
        item.contextValue = 'findings';
        return item;
      }
      case 'line': {
        const m = node.line;
        const item = new vscode.TreeItem(malformedLabel(m), vscode.TreeItemCollapsibleState.None);
        item.id = `line\0${node.rootId}\0${node.sessionId}\0${m.shard}\0${m.line}`;
        item.description = plainText(m.detail, 200);
        // Untrusted bytes of a broken line: escaped text, never a code fence it could close.
        const tip = appendUntrustedBlock(untrustedMarkdown(), m.detail, 300);
        item.tooltip = appendUntrustedBlock(tip, m.preview.slice(0, 500) + (m.previewTruncated || m.preview.length > 500 ? '…' : ''), 600);
        item.iconPath = new vscode.ThemeIcon(
          m.glued ? 'combine' : m.torn ? 'debug-disconnect' : 'error',
          new vscode.ThemeColor('problemsErrorIcon.foreground'),
        );
        item.contextValue = 'brokenLine';
        item.command = { command: Commands.openRawShard, title: 'Open at Line', arguments: [{ path: node.path, line: m.line }] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        if (node.icon) item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
    }
  }

  private rootItem(node: RootNode): vscode.TreeItem {
    const r = node.root;
    const item = new vscode.TreeItem(r.label, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `root\0${r.id}`;
    const sessions = this.store.index.sessions(r.id);
    const attention = sessions.filter((s) => {
      const sum = this.store.index.cachedSummary(r.id, s.sessionId);
      return sum && sum.findings.error + sum.findings.warning > 0;
    }).length;
    const extra = `${attention ? ` · ${attention} need attention` : ''}${r.source === 'default' ? ' · hermes default' : ''}`;
    item.description = `${plural(sessions.length, 'session')}${extra}`;
    item.tooltip = r.sessionsDir;
    item.iconPath = new vscode.ThemeIcon(r.error ? 'error' : 'database');
    item.resourceUri = vscode.Uri.file(r.sessionsDir);
    item.contextValue = 'root';
    return item;
  }

  private sessionItem(node: SessionNode): vscode.TreeItem {
    const index = this.store.index;
    const s: SessionSummary | undefined = index.cachedSummary(node.rootId, node.sessionId);
    const item = new vscode.TreeItem(s?.title?.trim() ? plainText(s.title, 200) : node.sessionId, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `session\0${node.rootId}\0${node.sessionId}`;
    const root = index.root(node.rootId);
    if (s) {
      item.description = sessionDescription(s);
      item.iconPath = severityIcon(s.worst);
      item.tooltip = sessionTooltip(s, root?.sessionsDir ?? '');
      const flags = [s.findings.error + s.findings.warning > 0 ? 'hasFindings' : '', s.open > 0 ? 'hasOpen' : ''].filter(Boolean);
      item.contextValue = ['session', ...flags].join(' ');
      item.accessibilityInformation = { label: `${item.label}: ${item.description}${s.worst ? `, worst finding ${s.worst}` : ', healthy'}` };
    } else {
      item.description = 'reading…';
      item.iconPath = new vscode.ThemeIcon('loading~spin');
      item.contextValue = 'session';
    }
    return item;
  }

  private turnItem(node: TurnNode): vscode.TreeItem {
    const t = node.turn;
    const look = turnLook(t, node.dangling);
    const fb = this.store.index.feedback(node.rootId, node.sessionId).get(t.turnId);
    const rated = fb?.value === 1 ? 'up' : fb?.value === -1 ? 'down' : null;
    const voices = turnVoices(fb, this.store.index.hermesFeedback(node.rootId, node.sessionId).get(t.turnId));
    const item = new vscode.TreeItem(firstLine(t.userMessage), vscode.TreeItemCollapsibleState.None);
    item.id = `turn\0${node.rootId}\0${node.sessionId}\0${t.turnId}`;
    const dur = formatDuration(t.durations.total);
    item.description = [rated ? `thumbs ${rated}` : '', ...voicesDescription(voices), look.words, dur, fb?.note ? 'note' : ''].filter(Boolean).join(' · ');
    // A rating (or a disagreement, or hermes' own thumb) replaces the state icon (the state stays in the description); a collision keeps its icon.
    item.iconPath = t.collision ? look.icon : (voicesIcon(voices, rated !== null) ?? (rated ? feedbackIcon(rated) : look.icon));
    // Turn id, model and message are untrusted: escaped text (core/untrustedText), never a fence or link.
    const md = untrustedMarkdown();
    appendUntrustedBlock(md, `${t.turnId}\n${look.words}${dur ? ` in ${dur}` : ''}${t.model ? ` · ${t.model}` : ''}`, 600);
    if (t.userMessage) {
      md.appendMarkdown('\n\n**Question**\n\n');
      appendUntrustedBlock(md, t.userMessage.slice(0, 600), 700);
    }
    if (t.assistantReply) {
      md.appendMarkdown('\n\n**Answer**\n\n');
      appendUntrustedBlock(md, t.assistantReply.slice(0, 900), 1000);
    }
    if (fb) appendFeedbackTooltip(md, fb);
    appendVoicesTooltip(md, voices);
    item.tooltip = md;
    const flags = [t.collision ? 'collision' : '', t.terminal ? 'terminal' : 'open', rated ? `rated ${rated}` : '', fb?.note ? 'hasNote' : ''];
    item.contextValue = ['turn', ...flags, ...voicesContext(voices)].filter(Boolean).join(' ');
    item.command = {
      command: Commands.openTimeline,
      title: 'Open Timeline',
      arguments: [{ rootId: node.rootId, sessionId: node.sessionId, turnId: t.turnId, preview: true }],
    };
    item.accessibilityInformation = {
      label:
        `Turn: ${item.label}. ${rated ? `Rated thumbs ${rated}. ` : ''}${look.words}${dur ? `, ${dur}` : ''}` +
        `${fb?.note ? '. Has a feedback note.' : ''}${voicesAccessibility(voices)}`,
    };
    return item;
  }
}

export function createSessionsView(
  store: SessionStore,
  context: vscode.ExtensionContext,
): { provider: SessionsTreeProvider; view: vscode.TreeView<Node>; disposables: vscode.Disposable[] } {
  const provider = new SessionsTreeProvider(store, context.workspaceState);
  const view = vscode.window.createTreeView(VIEW_SESSIONS, { treeDataProvider: provider, showCollapseAll: true });
  const describe = () => {
    const f = provider.filter === 'all' ? '' : provider.filter === 'findings' ? 'with findings' : 'open turns';
    const p = store.index.reviewProgress();
    const reviewed = p.reviewable > 0 ? `${p.reviewed} of ${p.reviewable} reviewed` : '';
    view.description = [reviewed, f ? `Filter: ${f}` : ''].filter(Boolean).join(' · ') || undefined;
    // A view alone in its container shows no description: once reviewing has started, say it above the tree too.
    view.message = p.reviewed > 0 ? `${p.reviewed} of ${p.reviewable} completed turns reviewed` : undefined;
    void vscode.commands.executeCommand('setContext', 'botMemory.sessions.filtered', provider.filter !== 'all');
  };
  describe();
  return { provider, view, disposables: [provider, view, provider.onDidChangeTreeData(describe)] };
}
