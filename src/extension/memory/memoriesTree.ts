/**
 * The "Memories" tree: databases → (file findings, bots) → bot: findings, Pinned, Recent →
 * memory: its findings, then its event history. Memory text is the bot's: shown as plain
 * labels and escaped tooltips, never as trusted Markdown.
 */

import * as path from 'path';
import * as vscode from 'vscode';
import type { MemoryAudit } from '../../core/memory/audit';
import type { LedgerEvent } from '../../core/memory/load';
import type { MemoryFinding, ProjectedMemory } from '../../core/memory/replay';
import type { Severity } from '../../core/types';
import { SEVERITY_RANK } from '../../core/types';
import { Disposable } from '../dispose';
import { plural, severityIcon } from '../tree/presentation';
import type { Ledger, MemoryLedgers } from './ledgers';
import { appendUntrustedBlock, untrustedMarkdown } from '../untrustedText';

export const RECENT_LIMIT = 20;

export type MemoryNode = DbNode | BotNode | GroupNode | MemNode | EventNode | FindingNode | InfoNode;
export interface DbNode {
  kind: 'db';
  file: string;
}
export interface BotNode {
  kind: 'bot';
  file: string;
  botId: string;
}
export interface GroupNode {
  kind: 'group';
  file: string;
  botId: string | null;
  group: 'pinned' | 'recent' | 'findings';
}
export interface MemNode {
  kind: 'memory';
  file: string;
  botId: string;
  key: string;
  group: 'pinned' | 'recent';
}
export interface EventNode {
  kind: 'event';
  file: string;
  key: string;
  seq: number;
}
export interface FindingNode {
  kind: 'finding';
  file: string;
  finding: MemoryFinding;
}
export interface InfoNode {
  kind: 'info';
  text: string;
  icon: string;
  tooltip?: string;
}

function worst(findings: readonly MemoryFinding[]): Severity | null {
  let w: Severity | null = null;
  for (const f of findings) if (w === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[w]) w = f.severity;
  return w;
}

function oneLine(s: string, max = 80): string {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? t.slice(0, max - 1) + '…' : t;
}

function plainTooltip(lines: string[]): vscode.MarkdownString {
  const md = untrustedMarkdown();
  for (const l of lines) appendUntrustedBlock(md, l, 2100);
  return md;
}

export function pinWords(m: ProjectedMemory): string {
  return m.pinned ? (m.autoPinned ? 'auto-pinned' : 'pinned by hand') : 'not pinned';
}

export class MemoriesTreeProvider extends Disposable implements vscode.TreeDataProvider<MemoryNode> {
  private readonly changeEmitter = this._register(new vscode.EventEmitter<MemoryNode | undefined | void>());
  readonly onDidChangeTreeData = this.changeEmitter.event;
  private readonly dbNodes = new Map<string, DbNode>();

  constructor(private readonly ledgers: MemoryLedgers) {
    super();
    this._register(ledgers.onDidChange((l) => this.changeEmitter.fire(l ? this.dbNodes.get(l.file) : undefined)));
  }

  private audit(file: string): MemoryAudit | undefined {
    return this.ledgers.get(file)?.audit;
  }

  private findingsOf(file: string, pred: (f: MemoryFinding) => boolean): MemoryFinding[] {
    return this.audit(file)?.findings.filter(pred) ?? [];
  }

  getChildren(n?: MemoryNode): MemoryNode[] {
    if (!n) {
      return this.ledgers.list().map((l) => {
        let node = this.dbNodes.get(l.file);
        if (!node) this.dbNodes.set(l.file, (node = { kind: 'db', file: l.file }));
        return node;
      });
    }
    const a = 'file' in n ? this.audit(n.file) : undefined;
    switch (n.kind) {
      case 'db': {
        const l = this.ledgers.get(n.file);
        if (!l) return [];
        if (l.error !== undefined) return [{ kind: 'info', text: l.error, icon: 'error', tooltip: l.error }];
        if (!a) return [];
        const out: MemoryNode[] = [];
        const bots = new Set(a.bots.map((b) => b.botId));
        if (a.findings.some((f) => !bots.has(f.sessionId))) out.push({ kind: 'group', file: n.file, botId: null, group: 'findings' });
        for (const b of a.bots) out.push({ kind: 'bot', file: n.file, botId: b.botId });
        if (out.length === 0) out.push({ kind: 'info', text: 'No memories in the event log', icon: 'info' });
        return out;
      }
      case 'bot': {
        if (!a) return [];
        const out: MemoryNode[] = [];
        if (a.findings.some((f) => f.sessionId === n.botId)) out.push({ kind: 'group', file: n.file, botId: n.botId, group: 'findings' });
        out.push({ kind: 'group', file: n.file, botId: n.botId, group: 'pinned' }, { kind: 'group', file: n.file, botId: n.botId, group: 'recent' });
        return out;
      }
      case 'group': {
        if (!a) return [];
        if (n.group === 'findings') {
          const bots = new Set(a.bots.map((b) => b.botId));
          const fs = n.botId === null ? a.findings.filter((f) => !bots.has(f.sessionId)) : a.findings.filter((f) => f.sessionId === n.botId);
          return fs.map((finding) => ({ kind: 'finding', file: n.file, finding }));
        }
        const mine = [...a.replay.memories.values()].filter((m) => m.owner === n.botId);
        const list =
          n.group === 'pinned'
            ? mine.filter((m) => m.pinned).sort((x, y) => y.writtenSeq - x.writtenSeq)
            : mine.sort((x, y) => y.writtenSeq - x.writtenSeq).slice(0, RECENT_LIMIT);
        return list.map((m) => ({ kind: 'memory', file: n.file, botId: n.botId!, key: m.key, group: n.group as 'pinned' | 'recent' }));
      }
      case 'memory': {
        if (!a) return [];
        const m = a.replay.memories.get(n.key);
        if (!m) return [];
        const own: MemoryNode[] = this.findingsOf(n.file, (f) => f.memoryId === n.key && f.eventSeq === undefined).map((finding) => ({
          kind: 'finding',
          file: n.file,
          finding,
        }));
        return [...own, ...m.history.map((seq) => ({ kind: 'event' as const, file: n.file, key: n.key, seq }))];
      }
      default:
        return [];
    }
  }

  getTreeItem(n: MemoryNode): vscode.TreeItem {
    switch (n.kind) {
      case 'db':
        return this.dbItem(n);
      case 'bot':
        return this.botItem(n);
      case 'group':
        return this.groupItem(n);
      case 'memory':
        return this.memoryItem(n);
      case 'event':
        return this.eventItem(n);
      case 'finding':
        return findingItem(n.finding);
      case 'info': {
        const item = new vscode.TreeItem(oneLine(n.text, 200), vscode.TreeItemCollapsibleState.None);
        item.iconPath = n.icon === 'error' ? severityIcon('error') : new vscode.ThemeIcon(n.icon);
        if (n.tooltip) item.tooltip = plainTooltip([n.tooltip]);
        item.contextValue = 'memoryInfo';
        return item;
      }
    }
  }

  private dbItem(n: DbNode): vscode.TreeItem {
    const l: Ledger | undefined = this.ledgers.get(n.file);
    const item = new vscode.TreeItem(path.basename(n.file), vscode.TreeItemCollapsibleState.Expanded);
    item.id = `memdb:${n.file}`;
    item.resourceUri = vscode.Uri.file(n.file);
    const a = l?.audit;
    if (!a) {
      item.iconPath = severityIcon('error');
      item.description = 'cannot audit';
    } else {
      const c = { error: 0, warning: 0 };
      for (const f of a.findings) if (f.severity !== 'info') c[f.severity]++;
      item.iconPath = new vscode.ThemeIcon(
        'database',
        worst(a.findings) === 'error'
          ? new vscode.ThemeColor('problemsErrorIcon.foreground')
          : worst(a.findings) === 'warning'
            ? new vscode.ThemeColor('problemsWarningIcon.foreground')
            : undefined,
      );
      const parts = [plural(a.bots.length, 'bot'), plural(a.input.events.length, 'event')];
      if (c.error + c.warning) parts.push(plural(c.error + c.warning, 'issue'));
      item.description = parts.join(' · ');
    }
    const memoriesTable = a?.input.schema.memoriesTable ? `, memories table "${a.input.schema.memoriesTable}"` : '';
    item.tooltip = plainTooltip([
      n.file,
      a
        ? `${a.input.format === 'sqlite' ? 'SQLite' : 'JSONL export'}${a.input.wal ? ' with -wal' : ''}; ` +
          `events table "${a.input.schema.eventsTable}"${memoriesTable}`
        : (l?.error ?? ''),
    ]);
    item.contextValue = `memoryDb${a?.findings.length ? ' hasFindings' : ''}`;
    return item;
  }

  private botItem(n: BotNode): vscode.TreeItem {
    const a = this.audit(n.file)!;
    const b = a.bots.find((x) => x.botId === n.botId);
    const item = new vscode.TreeItem(n.botId, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `membot:${n.file}\0${n.botId}`;
    const fs = a.findings.filter((f) => f.sessionId === n.botId);
    const w = worst(fs.filter((f) => f.severity !== 'info'));
    item.iconPath = w ? severityIcon(w) : new vscode.ThemeIcon('hubot');
    const findings = fs.length ? ` · ${plural(fs.length, 'finding')}` : '';
    if (b) item.description = `${plural(b.memories, 'memory', 'memories')} · ${b.pinned} pinned (${b.autoPinned} auto, ${b.manualPinned} manual)${findings}`;
    item.contextValue = `memoryBot${fs.length ? ' hasFindings' : ''}`;
    return item;
  }

  private groupItem(n: GroupNode): vscode.TreeItem {
    const a = this.audit(n.file)!;
    const kids = this.getChildren(n);
    const label = n.group === 'findings' ? `Findings (${kids.length})` : n.group === 'pinned' ? `Pinned (${kids.length})` : `Recent (${kids.length})`;
    const item = new vscode.TreeItem(
      label,
      n.group === 'findings' || n.group === 'pinned' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = `memgroup:${n.file}\0${n.botId ?? ''}\0${n.group}`;
    if (n.group === 'findings') {
      const fs = kids.map((k) => (k as FindingNode).finding);
      item.iconPath = severityIcon(worst(fs));
    } else item.iconPath = new vscode.ThemeIcon(n.group === 'pinned' ? 'pinned' : 'history');
    if (n.group === 'recent') {
      const total = [...a.replay.memories.values()].filter((m) => m.owner === n.botId).length;
      if (total > RECENT_LIMIT) item.description = `newest ${RECENT_LIMIT} of ${total}`;
    }
    item.contextValue = `memoryGroup ${n.group}`;
    return item;
  }

  private memoryItem(n: MemNode): vscode.TreeItem {
    const a = this.audit(n.file)!;
    const m = a.replay.memories.get(n.key)!;
    const item = new vscode.TreeItem(oneLine(m.text ?? `memory ${m.key}`), vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `mem:${n.file}\0${n.group}\0${n.key}`;
    const fs = a.findings.filter((f) => f.memoryId === n.key);
    const w = worst(fs.filter((f) => f.severity !== 'info'));
    item.iconPath = w
      ? severityIcon(w)
      : m.pinned
        ? new vscode.ThemeIcon(m.autoPinned ? 'sparkle' : 'pinned', new vscode.ThemeColor(m.autoPinned ? 'charts.yellow' : 'charts.blue'))
        : new vscode.ThemeIcon('note');
    const sig = m.significance === null ? 'unscored' : `significance ${m.significance}`;
    const pin = m.pinned ? (m.autoPinned ? 'auto pin' : 'manual pin') : '';
    item.description = [`#${m.key}`, sig, pin, fs.length ? plural(fs.length, 'finding') : ''].filter(Boolean).join(' · ');
    item.tooltip = plainTooltip([
      m.text ?? '(no text in the event log)',
      '',
      `memory ${m.key} of ${m.owner}`,
      `${sig}; ${pinWords(m)}`,
      `created ${JSON.stringify(m.createdAt)}`,
      `${plural(m.history.length, 'event')}`,
      ...fs.map((f) => `${f.severity}: ${f.message}`),
    ]);
    item.contextValue = `memory${m.pinned ? (m.autoPinned ? ' autoPinned' : ' manualPinned') : ''}${fs.length ? ' hasFindings' : ''}`;
    item.accessibilityInformation = { label: `${oneLine(m.text ?? m.key, 60)}, ${sig}, ${pinWords(m)}${fs.length ? `, ${plural(fs.length, 'finding')}` : ''}` };
    return item;
  }

  private eventItem(n: EventNode): vscode.TreeItem {
    const a = this.audit(n.file)!;
    const ev: LedgerEvent = a.input.events[n.seq];
    const fs = a.findings.filter((f) => f.eventSeq === n.seq);
    const item = new vscode.TreeItem(ev.kind, vscode.TreeItemCollapsibleState.None);
    item.id = `memev:${n.file}\0${n.key}\0${n.seq}`;
    const p = ev.payload && typeof ev.payload === 'object' ? (ev.payload as Record<string, unknown>) : {};
    const what =
      ev.kind === 'memory_significance_set'
        ? `significance ${JSON.stringify(p.significance)}`
        : ev.kind === 'memory_pin_changed'
          ? p.pinned === 1 || p.pinned === true
            ? p.auto_pinned === 1 || p.auto_pinned === true
              ? 'auto-pin'
              : 'manual pin'
            : 'unpin'
          : ev.kind === 'memory_written'
            ? 'written'
            : '';
    item.description = [what, `event ${ev.id ?? `#${ev.seq + 1}`}`, ev.createdAt !== null && ev.createdAt !== undefined ? String(ev.createdAt) : '']
      .filter(Boolean)
      .join(' · ');
    const w = worst(fs);
    item.iconPath = w
      ? severityIcon(w)
      : new vscode.ThemeIcon(ev.kind === 'memory_written' ? 'add' : ev.kind === 'memory_pin_changed' ? (what === 'unpin' ? 'pin' : 'pinned') : 'symbol-number');
    const raw = ev.payloadError ?? JSON.stringify(ev.payload);
    item.tooltip = plainTooltip([
      `${ev.kind} (event ${ev.id ?? '—'}${ev.line ? `, line ${ev.line}` : ''})`,
      raw.length > 2000 ? raw.slice(0, 2000) + '…' : raw,
      ...fs.map((f) => `${f.severity}: ${f.message}`),
    ]);
    item.contextValue = `memoryEvent${fs.length ? ' hasFindings' : ''}`;
    return item;
  }
}

export function findingItem(f: MemoryFinding): vscode.TreeItem {
  const item = new vscode.TreeItem(oneLine(f.message, 160), vscode.TreeItemCollapsibleState.None);
  item.iconPath = severityIcon(f.severity);
  item.description = f.kind;
  item.tooltip = plainTooltip([`${f.severity}: ${f.kind}`, f.message]);
  item.contextValue = `memoryFinding ${f.severity}`;
  return item;
}
