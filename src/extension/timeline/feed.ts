/**
 * Which messages carry a timeline model to the webview: the first screen at once, the rest
 * in chunks, and later only what changed. No `vscode` import (the benchmark uses it too).
 */

import type { TimelineModel, TimelineRow } from '../../core/timelineModel';
import {
  CHUNK_ROWS,
  FIRST_CHUNK_ROWS,
  MessageType,
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

  get currentGeneration(): number {
    return this.generation;
  }

  private remember(rows: readonly TimelineRow[]): void {
    this.versions = new Map(rows.map((r) => [r.key, r.version]));
    this.order = rows.map((r) => r.key);
  }
}
