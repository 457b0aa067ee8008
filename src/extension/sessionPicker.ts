/**
 * The one session picker: a quick pick over every session of every open sessions folder,
 * each with its health icon, grouped by folder when there are several.
 */

import * as vscode from 'vscode';
import type { DiscoveredSession } from '../core/discovery';
import type { SessionRef, SessionSummary } from '../core/sessionIndex';
import type { SessionStore } from './store';
import { notifyInfo, showPick } from './untrustedText';

export interface SessionPickOptions {
  title?: string;
  placeHolder: string;
  /** Shown when there is no session at all. */
  empty: string;
  /** 'attention': errors, warnings, not read yet, healthy; 'recent': last activity first; 'folder': as discovered. */
  order: 'attention' | 'recent' | 'folder';
  /** The item's second line; default: its health. */
  detail?: (summary: SessionSummary | undefined, session: DiscoveredSession) => string | undefined;
}

type Item = vscode.QuickPickItem & { ref?: SessionRef; rank?: number; last?: number };

/** The session's health in words: findings, turns, open turns. */
export function health(x: SessionSummary | undefined): string {
  if (!x) return 'not read yet';
  const parts = [x.findings.error && plural(x.findings.error, 'error'), x.findings.warning && plural(x.findings.warning, 'warning')].filter(Boolean);
  return `${parts.length ? parts.join(', ') : 'healthy'} · ${plural(x.turns, 'turn')}, ${x.open} open`;
}

/** 3 errors, 2 warnings, 1 not read yet, 0 healthy. */
function rankOf(sum: SessionSummary | undefined): number {
  return !sum ? 1 : sum.worst === 'error' ? 3 : sum.worst === 'warning' ? 2 : 0;
}

const ICONS = ['$(pass)', '$(loading~spin)', '$(warning)', '$(error)'];

export async function pickSession(store: SessionStore, o: SessionPickOptions): Promise<SessionRef | undefined> {
  await store.whenReady();
  const roots = store.roots();
  const items: Item[] = [];
  for (const root of roots) {
    const group: Item[] = store.index.sessions(root.id).map((s) => {
      const sum = store.index.cachedSummary(root.id, s.sessionId);
      const rank = rankOf(sum);
      return {
        label: `${ICONS[rank]} ${sum?.title?.trim() || s.sessionId}`,
        description: sum?.title?.trim() ? s.sessionId : undefined,
        detail: o.detail ? o.detail(sum, s) : health(sum),
        ref: { rootId: root.id, sessionId: s.sessionId },
        rank,
        last: sum?.lastActivity ?? -Infinity,
      };
    });
    if (group.length === 0) continue;
    if (o.order === 'attention') group.sort((a, b) => b.rank! - a.rank! || a.ref!.sessionId.localeCompare(b.ref!.sessionId));
    if (o.order === 'recent') group.sort((a, b) => b.last! - a.last!);
    if (roots.length > 1) items.push({ label: root.label, kind: vscode.QuickPickItemKind.Separator });
    items.push(...group);
  }
  if (items.length === 0) {
    void notifyInfo(o.empty);
    return undefined;
  }
  const picked = await showPick(items, { title: o.title, placeHolder: o.placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.ref;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
