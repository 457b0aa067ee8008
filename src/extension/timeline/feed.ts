/**
 * Which messages carry a timeline model to the webview: the first screen at once, the rest
 * in chunks, and later only what changed. No `vscode` import (the benchmark uses it too).
 */

import type { TimelineIndex, TimelineModel, TimelineRow } from '../../core/timelineModel';
import {
  CHUNK_ROWS,
  FIRST_CHUNK_ROWS,
  MAX_NEED_ROWS,
  MessageType,
  WINDOW_EDGE_ROWS,
  type SearchResultMessage,
  type WindowRowsMessage,
  type Notice,
  type PageInfo,
  type PatchMessage,
  type ResetMessage,
  type RowsMessage,
} from '../../shared/timelineProtocol';

export class TimelineFeed {
  private generation = 0;
  private versions = new Map<string, string>();
  private order: string[] = [];

  /** Everything, from scratch: Reset with the first rows, then Rows chunks. */
  reset(model: TimelineModel, notice: Notice | null = null, page: PageInfo | null = null): (ResetMessage | RowsMessage)[] {
    this.generation++;
    this.remember(model.rows);
    const first = model.rows.slice(0, FIRST_CHUNK_ROWS);
    const out: (ResetMessage | RowsMessage)[] = [
      { type: MessageType.Reset, generation: this.generation, header: model.header, total: model.rows.length, rows: first, notice, page },
    ];
    for (let start = first.length; start < model.rows.length; start += CHUNK_ROWS) {
      out.push({ type: MessageType.Rows, generation: this.generation, start, rows: model.rows.slice(start, start + CHUNK_ROWS) });
    }
    return out;
  }

  /** Only what changed since the last reset/patch; null when nothing did (header aside). */
  patch(model: TimelineModel): PatchMessage {
    const upserts: TimelineRow[] = [];
    for (const r of model.rows) if (this.versions.get(r.key) !== r.version) upserts.push(r);
    const keys = model.rows.map((r) => r.key);
    const appendOnly = keys.length >= this.order.length && this.order.every((k, i) => keys[i] === k);
    const msg: PatchMessage = { type: MessageType.Patch, generation: this.generation, header: model.header, upserts };
    if (!appendOnly) msg.order = keys;
    else {
      // New keys must be exactly the upserts that are new, in order (guaranteed: they are the tail).
      const fresh = keys.slice(this.order.length);
      const newInUpserts = upserts.filter((r) => !this.versions.has(r.key)).map((r) => r.key);
      if (fresh.join('\n') !== newInUpserts.join('\n')) msg.order = keys;
    }
    this.remember(model.rows);
    return msg;
  }

  // ---- windowed sessions (many rows): an outline of every row, full rows when asked --------

  /** Reset with the outline and the rows at both ends (the top, and the tail for follow-tail). */
  resetWindowed(index: TimelineIndex, notice: Notice | null = null, page: PageInfo | null = null): ResetMessage {
    this.generation++;
    this.versions.clear();
    this.order = [];
    const n = index.size;
    const rows = index.rows(0, WINDOW_EDGE_ROWS);
    if (n > WINDOW_EDGE_ROWS) rows.push(...index.rows(Math.max(WINDOW_EDGE_ROWS, n - WINDOW_EDGE_ROWS), n));
    return { type: MessageType.Reset, generation: this.generation, header: index.header, total: n, rows, notice, page, outline: index.outline() };
  }

  /** A live change: the new outline (the webview asks again for the rows it shows whose version changed). */
  patchWindowed(index: TimelineIndex): PatchMessage {
    return { type: MessageType.Patch, generation: this.generation, header: index.header, upserts: [], outline: index.outline() };
  }

  /** The rows of these keys that exist (unknown keys are skipped), at most MAX_NEED_ROWS. */
  windowRows(index: TimelineIndex, keys: readonly unknown[]): WindowRowsMessage {
    const rows: TimelineRow[] = [];
    for (const k of keys.slice(0, MAX_NEED_ROWS)) {
      const i = typeof k === 'string' ? index.indexOfKey(k) : -1;
      if (i >= 0) rows.push(index.row(i));
    }
    return { type: MessageType.WindowRows, generation: this.generation, rows };
  }

  search(index: TimelineIndex, query: string): SearchResultMessage {
    return { type: MessageType.SearchResult, generation: this.generation, query, keys: index.search(query) };
  }

  get currentGeneration(): number {
    return this.generation;
  }

  private remember(rows: readonly TimelineRow[]): void {
    this.versions = new Map(rows.map((r) => [r.key, r.version]));
    this.order = rows.map((r) => r.key);
  }
}
