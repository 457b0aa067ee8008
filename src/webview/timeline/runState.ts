/**
 * What the webview knows of the runs behind its turns (no DOM): usage per run (with the run
 * size it was read at), which runs are open and their items so far, the session total, and a
 * version per turn that goes into the card's render stamp so a card is rebuilt when its run
 * data changes.
 */

import type { RunItem, RunPage, RunUsage } from '../../shared/runView';
import type { RunUsageMessage, RunUsageTotal } from '../../shared/timelineProtocol';

export interface OpenRun {
  items: RunItem[];
  /** A page is being read. */
  loading: boolean;
  more: boolean;
  eventsRead: number;
  size: number;
  error?: string;
}

export class RunState {
  /** Usage per turn id, with the run's size when it was asked for. */
  readonly usage = new Map<string, { usage: RunUsage | null; size: number; error?: string }>();
  /** Asked and not yet answered: turn id → run size asked at. */
  readonly asked = new Map<string, number>();
  readonly open = new Map<string, OpenRun>();
  total: RunUsageTotal | null = null;
  private readonly versions = new Map<string, number>();

  /** Part of a card's render stamp. */
  stamp(turnId: string): number {
    return this.versions.get(turnId) ?? 0;
  }

  private bump(turnId: string): void {
    this.versions.set(turnId, this.stamp(turnId) + 1);
  }

  /** Does this turn's usage need asking for (never asked, or its run grew since)? Marks it asked. */
  needsUsage(turnId: string, size: number): boolean {
    const have = this.usage.get(turnId);
    if ((have && have.size === size) || this.asked.get(turnId) === size) return false;
    this.asked.set(turnId, size);
    return true;
  }

  applyUsage(m: RunUsageMessage): void {
    for (const u of m.usages) {
      const size = this.asked.get(u.turnId) ?? this.usage.get(u.turnId)?.size ?? -1;
      this.asked.delete(u.turnId);
      this.usage.set(u.turnId, { usage: u.usage, size, ...(u.error ? { error: u.error } : {}) });
      this.bump(u.turnId);
    }
    this.total = m.total;
  }

  /** Opens a closed run (true: its first page must be asked for) or closes an open one. */
  toggle(turnId: string): boolean {
    this.bump(turnId);
    if (this.open.delete(turnId)) return false;
    this.open.set(turnId, { items: [], loading: true, more: false, eventsRead: 0, size: 0 });
    return true;
  }

  /** The next page is being read. */
  loadingMore(turnId: string): boolean {
    const r = this.open.get(turnId);
    if (!r || r.loading || !r.more) return false;
    r.loading = true;
    this.bump(turnId);
    return true;
  }

  applyPage(page: RunPage, append: boolean): void {
    const r = this.open.get(page.turnId);
    if (!r) return;
    r.items = append ? [...r.items, ...page.items] : page.items;
    r.loading = false;
    r.more = page.next !== null;
    r.eventsRead = page.eventsRead;
    r.size = page.size;
    if (page.error) r.error = page.error;
    else delete r.error;
    this.bump(page.turnId);
  }
}
