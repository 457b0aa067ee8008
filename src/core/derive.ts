/**
 * Upstream's state derivation (FORMATS.md §1), reproduced exactly:
 * 1. all valid events of all shards, in the documented order (shards by file name, lines in
 *    file order), stable-sorted by `created_at` (missing or non-numeric = 0);
 * 2. per `turn_id` (events without one ignored) the latest event by `created_at`, ties to
 *    the one later in the sorted order — with upstream's own comparison, see pyFloatKey;
 * 3. a terminal collision is a `turn_id` with more than one terminal event, listed in
 *    ascending `created_at`.
 * NaN sorts as 0 here (Python's sort order with NaN keys is undefined); the event is flagged.
 */

import { compareNames } from './sessionId';
import type { JournalEvent } from './types';

/** Sorts in place, stably, into the documented total order. */
export function sortEvents(events: JournalEvent[], shardRank: (shard: string) => number): JournalEvent[] {
  return events.sort(compareEvents(shardRank));
}

/**
 * The documented order: `created_at` (sortKey), then shard by name, then line. A total order
 * (no two events share shard and line), so sorting any arrangement of events gives one result.
 */
export function compareEvents(shardRank: (shard: string) => number): (a: JournalEvent, b: JournalEvent) => number {
  // sortKey may be ±Infinity: Infinity - Infinity is NaN, which is falsy, so ties fall through
  // to shard rank and line exactly like equal finite keys.
  return (a, b) => a.sortKey - b.sortKey || shardRank(a.shard) - shardRank(b.shard) || a.line - b.line;
}

/**
 * Upstream compares `float(event.get('created_at') or 0)` while deriving states: numeric
 * strings count, booleans are 0/1, NaN never wins a `>=`. A value `float()` rejects makes
 * upstream raise; we use 0 and report it (invalid_created_at).
 */
export function pyFloatKey(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === true) return 1;
  if (typeof v === 'string') {
    const t = v.trim().replace(/_/g, '');
    if (/^[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/.test(t)) return Number(t);
    const low = t.toLowerCase().replace(/^\+/, '');
    if (low === 'nan' || low === '-nan') return NaN;
    if (low === 'inf' || low === 'infinity') return Infinity;
    if (low === '-inf' || low === '-infinity') return -Infinity;
  }
  return 0;
}

/** True when upstream's `float(created_at or 0)` would raise for this value. */
export function pyFloatRaises(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '' || typeof v === 'number' || v === true) return false;
  if (typeof v === 'string') return pyFloatKey(v) === 0 && !/^[+-]?(0+\.?0*|\.0+)([eE][+-]?\d+)?$/.test(v.trim().replace(/_/g, ''));
  // Lists and objects: empty ones are falsy (→ 0), others make float() raise.
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

export function rankByName(shards: readonly string[]): (shard: string) => number {
  const sorted = [...shards].sort(compareNames);
  const ranks = new Map(sorted.map((s, i) => [s, i]));
  return (s) => ranks.get(s) ?? sorted.length;
}

export interface Derived {
  /** turn_id → its latest event. */
  states: Map<string, JournalEvent>;
  /** turn_id → its terminal events in ascending created_at, only for turns with more than one. */
  collisions: Map<string, JournalEvent[]>;
}

/**
 * The terminal events of each turn, in the order added: a turn's first one, and a list only for a
 * turn with more than one (no list per turn). Ours (`deriveStates`) and upstream's view use it.
 */
export class TerminalEvents {
  private readonly first = new Map<string, JournalEvent>();
  private readonly more = new Map<string, JournalEvent[]>();

  add(ev: JournalEvent): void {
    const f = this.first.get(ev.turnId);
    if (f === undefined) this.first.set(ev.turnId, ev);
    else {
      const list = this.more.get(ev.turnId);
      if (list) list.push(ev);
      else this.more.set(ev.turnId, [f, ev]);
    }
  }

  /** Turns with more than one terminal event, in order of each turn's first one. */
  collisions(): Map<string, JournalEvent[]> {
    const out = new Map<string, JournalEvent[]>();
    if (this.more.size > 0) for (const turnId of this.first.keys()) if (this.more.has(turnId)) out.set(turnId, this.more.get(turnId)!);
    return out;
  }
}

/** `events` must already be in sorted order. */
export function deriveStates(sorted: readonly JournalEvent[]): Derived {
  const states = new Map<string, JournalEvent>();
  const terminals = new TerminalEvents();
  for (const ev of sorted) {
    if (ev.turnId === '') continue;
    if (ev.terminal) terminals.add(ev);
    const prev = states.get(ev.turnId);
    if (prev === undefined || pyFloatKey(ev.createdAtRaw) >= pyFloatKey(prev.createdAtRaw)) states.set(ev.turnId, ev);
  }
  return { states, collisions: terminals.collisions() };
}
