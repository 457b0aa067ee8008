/**
 * The timeline webview's state, with no DOM: the rows the host sent, which of them pass the
 * search and filters, their heights (measured or estimated) and offsets, selection, expansion,
 * follow-tail. Everything here is plain data and arithmetic, so it is unit-tested in Node
 * (test/webview/timelineState.test.ts); the DOM modules read and change it.
 */

import {
  COLLAPSE_LINES,
  estimateLineHeight,
  estimateTurnHeight,
  matchesFilter,
  NO_FILTER,
  searchableText,
  stubRow,
  versionHash,
  type TimelineFilter,
  type TimelineHeader,
  type TimelineOutline,
  type TimelineRow,
} from '../../shared/timelineModel';
import {
  MAX_NEED_ROWS,
  type PatchMessage,
  type PersistedState,
  type ResetMessage,
  type RowsMessage,
  type SearchResultMessage,
  type WindowRowsMessage,
} from '../../shared/timelineProtocol';
import { RunState } from './runState';

/** Gap between cards (px). */
export const GAP = 8;
/** Longer texts are clamped until the card is expanded. */
export const COLLAPSE_CHARS = 600;
export { COLLAPSE_LINES };

export class TimelineState {
  header: TimelineHeader | null = null;
  rows: TimelineRow[] = [];
  generation = -1;
  expectedTotal = 0;
  /** Every row of the current generation has arrived. */
  loaded = false;
  /** Indices into `rows` that pass the search and the filters, in order. */
  shown: number[] = [];
  /** offsets[i] = top of shown[i]; offsets[shown.length] = the list's height. */
  offsets = new Float64Array(1);
  readonly heights = new Map<string, number>();
  query: string;
  filter: TimelineFilter;
  followTail: boolean;
  readonly expanded: Set<string>;
  selectedKey: string | null;
  /** Scroll position to restore once every row is there (from the persisted state). */
  restoreTopKey: string | null;
  searchHits = 0;
  /** A turn to reveal once it arrives. */
  pendingReveal: string | null = null;
  /** The host allows feedback (a trusted workspace). */
  feedbackEnabled = false;
  /** The runs behind the turns: usage, open runs and their items, the session total. */
  readonly runs = new RunState();

  /**
   * A windowed session (many rows): `rows` holds every row, placeholders (`stub`) for those the
   * host has not sent; the rows coming into view are asked for (`needRows`), search runs on the host.
   */
  windowed = false;
  /** Windowed: the version hash of every row as the host last listed it (a loaded row that differs is stale). */
  private expected = new Map<string, number>();
  /** Windowed: keys asked for and not answered yet, per request in order. */
  private readonly requested = new Set<string>();
  private readonly batches: string[][] = [];
  /** Windowed: the keys matching the search (the host's answer), null while none came. */
  private searchMatches: Set<string> | null = null;
  /** Windowed: a search sent to the host and not answered yet. */
  searchPending: string | null = null;

  private indexByKey = new Map<string, number>();
  private readonly textCache = new Map<string, { version: string; text: string }>();

  constructor(saved?: PersistedState) {
    this.query = saved?.search ?? '';
    this.filter = { ...NO_FILTER, ...(saved?.filter ?? {}) };
    this.followTail = saved?.followTail ?? false;
    this.expanded = new Set(saved?.expanded ?? []);
    this.selectedKey = saved?.selectedKey ?? null;
    this.restoreTopKey = saved?.topKey ?? null;
  }

  // ---- rows from the host ---------------------------------------------------------------

  applyReset(m: ResetMessage): void {
    this.generation = m.generation;
    this.header = m.header;
    this.windowed = m.outline !== undefined;
    this.requested.clear();
    this.batches.length = 0;
    this.searchMatches = null;
    this.searchPending = null;
    this.rows = m.outline ? this.fromOutline(m.outline, new Map(m.rows.map((r) => [r.key, r]))) : m.rows.slice();
    this.expectedTotal = m.outline ? this.rows.length : m.total;
    this.reindex();
    this.heights.clear();
    this.loaded = this.rows.length >= this.expectedTotal;
    this.recomputeShown();
  }

  /** Appends a chunk; false when it belongs to another generation or does not follow on. */
  applyRows(m: RowsMessage): boolean {
    if (m.generation !== this.generation || m.start !== this.rows.length) return false;
    for (const r of m.rows) {
      this.indexByKey.set(r.key, this.rows.length);
      this.rows.push(r);
      if (this.passes(r)) this.shown.push(this.rows.length - 1);
    }
    if (this.query) this.searchHits = this.shown.length;
    this.loaded = this.rows.length >= this.expectedTotal;
    this.layout();
    return true;
  }

  /** Applies a live change; false when it belongs to another generation. */
  applyPatch(m: PatchMessage): boolean {
    if (m.generation !== this.generation) return false;
    this.header = m.header;
    if (m.outline) {
      // Keep the rows already here (a stale one is shown until its new version arrives).
      this.rows = this.fromOutline(m.outline, new Map(this.rows.filter((r) => !r.stub).map((r) => [r.key, r])));
      this.reindex();
      this.recomputeShown();
      return true;
    }
    const byKey = new Map(this.rows.map((r) => [r.key, r]));
    for (const r of m.upserts) {
      if (byKey.has(r.key)) this.heights.delete(r.key);
      byKey.set(r.key, r);
    }
    if (m.order) {
      this.rows = m.order.map((k) => byKey.get(k)).filter((r): r is TimelineRow => r !== undefined);
    } else {
      this.rows = this.rows.map((r) => byKey.get(r.key)!);
      for (const r of m.upserts) if (!this.indexByKey.has(r.key)) this.rows.push(r);
    }
    this.reindex();
    this.expectedTotal = this.rows.length;
    this.loaded = true;
    this.recomputeShown();
    return true;
  }

  /** Every row of an outline: the loaded one where there is one, else a placeholder. */
  private fromOutline(o: TimelineOutline, loaded: ReadonlyMap<string, TimelineRow>): TimelineRow[] {
    this.expected = new Map();
    const rows: TimelineRow[] = new Array<TimelineRow>(o.keys.length);
    let ordinal = 0;
    for (let i = 0; i < o.keys.length; i++) {
      const key = o.keys[i];
      if (key.startsWith('t:')) ordinal++;
      this.expected.set(key, o.versions[i]);
      rows[i] = loaded.get(key) ?? stubRow(o, i, ordinal);
    }
    return rows;
  }

  /** Windowed: rows the host sent, in place of their placeholders; false when of another generation. */
  applyWindowRows(m: WindowRowsMessage): boolean {
    if (m.generation !== this.generation) return false;
    for (const k of this.batches.shift() ?? []) this.requested.delete(k);
    for (const r of m.rows) {
      const i = this.indexByKey.get(r.key);
      if (i === undefined) continue;
      if (this.rows[i].stub) this.heights.delete(r.key);
      this.rows[i] = r;
    }
    return true;
  }

  /**
   * Windowed: keys of the shown rows [first, last] to ask the host for (placeholders, and rows
   * whose version changed), not asked for already; they count as asked from now on.
   */
  needRows(first: number, last: number): string[] {
    if (!this.windowed) return [];
    const keys: string[] = [];
    for (let i = Math.max(0, first); i <= Math.min(last, this.shown.length - 1) && keys.length < MAX_NEED_ROWS; i++) {
      const r = this.rows[this.shown[i]];
      if (this.requested.has(r.key)) continue;
      if (r.stub || versionHash(r.version) !== this.expected.get(r.key)) keys.push(r.key);
    }
    if (keys.length) {
      for (const k of keys) this.requested.add(k);
      this.batches.push(keys);
    }
    return keys;
  }

  /** Windowed: waiting for rows or a search from the host. */
  busy(): boolean {
    return this.requested.size > 0 || this.searchPending !== null;
  }

  /** Windowed: the host's search answer; false when it is not for the current search. */
  applySearch(m: SearchResultMessage): boolean {
    if (m.generation !== this.generation || m.query !== this.query) return false;
    this.searchPending = null;
    this.searchMatches = new Set(m.keys);
    this.recomputeShown();
    return true;
  }

  rowByKey(key: string): TimelineRow | undefined {
    const i = this.indexByKey.get(key);
    return i === undefined ? undefined : this.rows[i];
  }

  hasKey(key: string): boolean {
    return this.indexByKey.has(key);
  }

  private reindex(): void {
    this.indexByKey = new Map(this.rows.map((r, i) => [r.key, i]));
  }

  // ---- search and filters ---------------------------------------------------------------

  private searchTextOf(row: TimelineRow): string {
    const c = this.textCache.get(row.key);
    if (c && c.version === row.version) return c.text;
    const text = searchableText(row).toLowerCase();
    this.textCache.set(row.key, { version: row.version, text });
    return text;
  }

  passes(row: TimelineRow): boolean {
    if (!matchesFilter(row, this.filter)) return false;
    if (!this.query) return true;
    if (this.windowed) return this.searchMatches === null || this.searchMatches.has(row.key);
    return this.searchTextOf(row).includes(this.query.toLowerCase());
  }

  recomputeShown(): void {
    this.shown = [];
    for (let i = 0; i < this.rows.length; i++) if (this.passes(this.rows[i])) this.shown.push(i);
    this.searchHits = this.query ? this.shown.length : 0;
    this.layout();
  }

  setFilter(f: Partial<TimelineFilter>): void {
    this.filter = { ...this.filter, ...f };
    this.recomputeShown();
  }

  /** Windowed: the shown rows change when the host answers (the search to send is `searchPending`). */
  setQuery(q: string): void {
    this.query = q;
    if (this.windowed && q) {
      this.searchPending = q;
      return;
    }
    this.searchPending = null;
    this.searchMatches = null;
    this.recomputeShown();
  }

  /** "3 matches", "12 of 40", or "" when everything is shown. */
  countsText(): string {
    const total = this.rows.length;
    if (this.query) return `${this.searchHits.toLocaleString('en-US')} match${this.searchHits === 1 ? '' : 'es'}`;
    if (this.shown.length !== total) return `${this.shown.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`;
    return '';
  }

  // ---- geometry -------------------------------------------------------------------------

  estimateHeight(row: TimelineRow): number {
    const buttons = row.kind === 'turn' && this.feedbackEnabled ? 30 : 0;
    if (row.stub) return (row.est ?? 120) + buttons;
    if (row.kind === 'line') return estimateLineHeight(row.glued !== null);
    const inputs = {
      userMessage: row.userMessage,
      reply: row.reply,
      collisions: row.collision?.length ?? 0,
      status: row.status,
      findings: row.findings.length,
      reason: !!row.reason,
      feedback: row.feedback !== null,
    };
    return estimateTurnHeight(inputs, this.expanded.has(row.key), this.feedbackEnabled);
  }

  heightOf(i: number): number {
    const row = this.rows[this.shown[i]];
    return this.heights.get(row.key) ?? this.estimateHeight(row);
  }

  /** Recomputes every offset; returns the list's height. */
  layout(): number {
    const n = this.shown.length;
    this.offsets = new Float64Array(n + 1);
    let y = 0;
    for (let i = 0; i < n; i++) {
      this.offsets[i] = y;
      y += this.heightOf(i) + GAP;
    }
    this.offsets[n] = y;
    return y;
  }

  get totalHeight(): number {
    return this.offsets[this.shown.length];
  }

  /** Records a measured height; true when it changed. */
  setMeasured(key: string, height: number): boolean {
    if (height <= 0 || this.heights.get(key) === height) return false;
    this.heights.set(key, height);
    return true;
  }

  /** Index of the shown row containing y (binary search over offsets). */
  indexAt(y: number): number {
    let lo = 0;
    let hi = this.shown.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid] <= y) lo = mid;
      else hi = mid - 1;
    }
    return Math.max(0, lo);
  }

  /** Position among the shown rows of a key, or -1. */
  shownIndexOfKey(key: string | null): number {
    if (key === null) return -1;
    const ri = this.indexByKey.get(key);
    if (ri === undefined) return -1;
    let lo = 0;
    let hi = this.shown.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.shown[mid] === ri) return mid;
      if (this.shown[mid] < ri) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The shown row at position i. */
  rowAt(i: number): TimelineRow {
    return this.rows[this.shown[i]];
  }

  /**
   * Which shown rows to keep in the DOM for a viewport: the viewport plus overscan, at most
   * `maxCards` (the overscan is trimmed first). [first, last], last < first when empty.
   */
  window(top: number, height: number, overscan: number, maxCards: number): { first: number; last: number } {
    if (this.shown.length === 0) return { first: 0, last: -1 };
    let first = this.indexAt(Math.max(0, top - overscan));
    let last = this.indexAt(top + height + overscan);
    if (last - first + 1 > maxCards) {
      const vFirst = this.indexAt(top);
      first = Math.max(first, vFirst - Math.floor(maxCards / 4));
      last = Math.min(last, first + maxCards - 1);
    }
    return { first, last };
  }

  /** Marks for "the opened shard" only mean something when the session has several. */
  multiShard(): boolean {
    return (this.header?.shards.length ?? 0) > 1;
  }

  // ---- expansion and persistence --------------------------------------------------------

  toggleExpanded(key: string): void {
    if (this.expanded.has(key)) this.expanded.delete(key);
    else this.expanded.add(key);
    this.heights.delete(key);
    this.layout();
  }

  persisted(topKey: string | null): PersistedState {
    return {
      search: this.query,
      filter: this.filter,
      followTail: this.followTail,
      expanded: [...this.expanded].slice(-200),
      topKey,
      selectedKey: this.selectedKey,
    };
  }
}
