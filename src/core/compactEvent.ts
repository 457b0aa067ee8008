/**
 * Events that do not hold their parsed object (issue #18, "bounded memory per session").
 *
 * A `CompactEvent` keeps the fixed fields the derivation needs (name, ids, time, position in
 * the shard) and the few payload fields the turn model reads (`ANALYSIS_FIELDS`: the user
 * message, attachments, model, provider, workspace, assistant message index, interruption
 * reason). Its `data` (the whole parsed line) is read back from the shard by byte offset when
 * something asks for it (repair, export, an upstream check of an open turn), parsed, and kept
 * in a small LRU of decoded lines shared by every shard.
 *
 * The user message (`content`) is the largest of those fields: a string longer than
 * INLINE_CONTENT_CHARS is kept in memory only while the session's text allowance lasts
 * (`keepText`, ReadBudget in shardReader.ts); past it the event keeps no `content`, sets
 * `lazyContent`, and `contentOf(e)` reads it back with `data` (the same LRU). So a very large
 * session holds its user messages by reference, a small one (the usual case) keeps them.
 *
 * If the line read back is not the event that was read (the shard was rewritten since, and
 * not yet refreshed), `data` is rebuilt from the fields kept in memory (`event`, `stream_id`,
 * `turn_id`, `created_at` and the analysis fields) and `stale` is set: only values that were
 * in the line when it was read, never a guess, and never bytes of another line.
 */

import * as fs from 'fs';
import { openReadSync } from './fsSafe';
import { parseJsonLine } from './jsonLine';
import type { JournalEvent } from './types';
import { TERMINAL_EVENTS } from './types';
import { pyStr } from './shardReader';

/** The payload fields the analysis and the turn model read on every analysis (kept in memory). */
export const ANALYSIS_FIELDS = ['content', 'attachments', 'model', 'model_provider', 'workspace', 'assistant_message_index', 'reason'] as const;

/** The payload fields the analysis reads, without reading a compact event's line back. */
export function fieldsOf(e: JournalEvent): Record<string, unknown> {
  return e.fields ?? e.data;
}

/** A user message up to this many UTF-16 units is always kept in memory (cheaper than a reference). */
export const INLINE_CONTENT_CHARS = 64;

/**
 * The user message of an event (`content`, as parsed): from `fields`, or read back with `data`
 * when the event keeps it by reference. A line that is no longer the event on disk (`stale`)
 * gives `undefined`: the text is not known any more, and is never taken from another line.
 */
export function contentOf(e: JournalEvent): unknown {
  return (e as CompactEvent).lazyContent !== undefined ? e.data.content : fieldsOf(e).content;
}

/** The event's user message is not in memory (reading it costs a read of its line). */
export function hasLazyContent(e: JournalEvent): boolean {
  return (e as CompactEvent).lazyContent !== undefined;
}

/** The length of a user message kept by reference, known without reading it back (undefined when it is in memory). */
export function lazyContentLength(e: JournalEvent): number | undefined {
  return (e as CompactEvent).lazyContent;
}

const NO_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({});
const NO_ITEMS: readonly unknown[] = Object.freeze([]);

/**
 * The analysis fields present in a parsed line (one shared empty object when there are none),
 * `content` left out when `dropContent`; short string values and empty `attachments` shared
 * through `intern` (model, provider and workspace repeat on every turn).
 */
export function pickFields(obj: Record<string, unknown>, dropContent = false, intern?: Interner): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k of ANALYSIS_FIELDS) {
    if (!Object.prototype.hasOwnProperty.call(obj, k) || (dropContent && k === 'content')) continue;
    let v = obj[k];
    if (intern !== undefined && k !== 'content') {
      if (typeof v === 'string' && v.length <= INLINE_CONTENT_CHARS) v = intern.get(v);
      else if (Array.isArray(v) && v.length === 0) v = NO_ITEMS;
    }
    (out ??= {})[k] = v;
  }
  return out ?? (NO_FIELDS as Record<string, unknown>);
}

/** Decoded lines read back from disk, most recently used last. Bounded by count and by bytes. */
class LineCache {
  private readonly map = new Map<string, { data: Record<string, unknown>; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get(key: string): Record<string, unknown> | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.data;
  }

  set(key: string, data: Record<string, unknown>, bytes: number): void {
    if (bytes > this.maxBytes / 4) return; // one huge line does not flush the cache
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.bytes;
      this.map.delete(key);
    }
    this.map.set(key, { data, bytes });
    this.bytes += bytes;
    for (const [k, v] of this.map) {
      if (this.map.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.bytes;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

/** Shared by every compact event: 4,096 lines or 16 MB of line bytes, whichever comes first. */
export const decodedLines = new LineCache(4096, 16 * 1024 * 1024);

/** Strings seen many times (event names, turn and stream ids) stored once per reader. */
export class Interner {
  private readonly map = new Map<string, string>();
  get(s: string): string {
    const hit = this.map.get(s);
    if (hit !== undefined) return hit;
    this.map.set(s, s);
    return s;
  }
  clear(): void {
    this.map.clear();
  }
}

/** A shard's file name and path: one per shard reader, shared by its compact events. */
export interface ShardRef {
  readonly name: string;
  readonly path: string;
}

export class CompactEvent implements JournalEvent {
  declare nonStandardNumbers?: boolean;
  declare pythonLineBreaks?: boolean;
  declare pythonHazard?: string;
  declare recovered?: boolean;
  declare raw?: string;
  /** Set when `data` had to be rebuilt because the line on disk is no longer this event. */
  declare stale?: boolean;
  /** `content` is not in `fields` (this is its length in UTF-16 units): read it back (`contentOf`). */
  declare lazyContent?: number;

  constructor(
    readonly name: string,
    readonly turnId: string,
    readonly streamId: string | null,
    readonly createdAtRaw: unknown,
    /** The shard's name and path (one object per shard, shared by its events). */
    readonly src: ShardRef,
    readonly line: number,
    readonly offset: number,
    readonly length: number,
    /** The analysis fields of the line (ANALYSIS_FIELDS); read-only, shared when empty. */
    readonly fields: Record<string, unknown>,
  ) {}

  get terminal(): boolean {
    return TERMINAL_EVENTS.has(this.name);
  }

  get shard(): string {
    return this.src.name;
  }

  /** The shard's path, to read the line back. */
  get path(): string {
    return this.src.path;
  }

  /** The documented sort key: the number when it is one (±Infinity included), else 0. */
  get sortKey(): number {
    const v = this.createdAtRaw;
    return typeof v === 'number' && !Number.isNaN(v) ? v : 0;
  }

  /** The whole parsed line, read back from the shard (or from the cache of decoded lines). */
  get data(): Record<string, unknown> {
    const key = `${this.offset}:${this.path}`;
    const hit = decodedLines.get(key);
    if (hit !== undefined && sameEvent(hit, this)) return hit;
    const read = readBack(this.path, this.offset, this.length);
    if (read !== null && sameEvent(read, this)) {
      decodedLines.set(key, read, this.length);
      return read;
    }
    this.stale = true;
    return this.rebuilt();
  }

  /** JSON of a compact event is the JSON of the plain event (with its `data`). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      ...(this as object),
      terminal: this.terminal,
      shard: this.shard,
      path: this.path,
      sortKey: this.sortKey,
      data: this.data,
    };
    delete out.src;
    delete out.lazyContent;
    return out;
  }

  private rebuilt(): Record<string, unknown> {
    const out: Record<string, unknown> = { event: this.name };
    if (this.streamId !== null) out.stream_id = this.streamId;
    if (this.turnId !== '') out.turn_id = this.turnId;
    if (this.createdAtRaw !== undefined) out.created_at = this.createdAtRaw;
    return Object.assign(out, this.fields);
  }
}

/** A line's bytes `[offset, offset + length)` parsed as an object, or null (gone, unreadable, not an object). */
function readBack(path: string, offset: number, length: number): Record<string, unknown> | null {
  let fd: number | undefined;
  try {
    fd = openReadSync(path, { followSymlink: true }).fd;
    const buf = Buffer.allocUnsafe(length);
    const n = fs.readSync(fd, buf, 0, length, offset);
    let from = 0;
    let to = n;
    if (offset === 0 && n >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) from = 3;
    if (to > from && buf[to - 1] === 0x0d) to--;
    const r = parseJsonLine(buf.toString('utf8', from, to));
    return r.ok && typeof r.value === 'object' && r.value !== null && !Array.isArray(r.value) ? (r.value as Record<string, unknown>) : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** The line read back is the one this event was made from (its fixed fields agree). */
function sameEvent(obj: Record<string, unknown>, e: CompactEvent): boolean {
  if (pyStr(obj.event) !== e.name || pyStr(obj.turn_id).trim() !== e.turnId) return false;
  const c = obj.created_at;
  const r = e.createdAtRaw;
  return c === r || (typeof c === 'number' && typeof r === 'number' && Number.isNaN(c) && Number.isNaN(r)) || (typeof c === 'object' && typeof r === 'object');
}

/**
 * Makes the compact form of a plain event (its `data` is dropped; `recovered` events stay plain).
 * A user message longer than INLINE_CONTENT_CHARS stays in memory only when `keepText(length)`
 * says the session's allowance has room for it (no `keepText`: always).
 */
export function compactOf(ev: JournalEvent, src: ShardRef, intern: Interner, keepText?: (chars: number) => boolean): JournalEvent {
  if (ev.recovered || ev.raw !== undefined) return ev;
  const content = ev.data.content;
  const lazy = keepText !== undefined && typeof content === 'string' && content.length > INLINE_CONTENT_CHARS && !keepText(content.length);
  const c = new CompactEvent(
    intern.get(ev.name),
    intern.get(ev.turnId),
    ev.streamId === null ? null : intern.get(ev.streamId),
    ev.createdAtRaw,
    src,
    ev.line,
    ev.offset,
    ev.length,
    pickFields(ev.data, lazy, intern),
  );
  if (lazy) c.lazyContent = content.length;
  if (ev.nonStandardNumbers) c.nonStandardNumbers = true;
  if (ev.pythonLineBreaks) c.pythonLineBreaks = true;
  if (ev.pythonHazard !== undefined) c.pythonHazard = ev.pythonHazard;
  return c;
}
