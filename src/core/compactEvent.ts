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

const NSN = 1; // nonStandardNumbers
const PLB = 2; // pythonLineBreaks
const STALE = 4; // data had to be rebuilt
const RAW_AT = 8; // created_at is not a number: its value is in `atRaw`
const NO_STREAM = 0xffffffff;

/**
 * The fixed fields of one shard's compact events, columnar (issue #18, "events that do not hold
 * their text"): typed arrays outside the JS heap, ~45 bytes an event, names and ids interned
 * (`strs`), the analysis fields in a table of read-only objects shared between events that
 * have the same ones (`fieldTable`; index 0 = none). A `CompactEvent` is its columns and an
 * index. A full re-read starts new columns: the events of the old ones keep their values.
 */
export class EventColumns {
  size = 0;
  private cap = 0;
  name = new Uint32Array(0);
  turn = new Uint32Array(0);
  stream = new Uint32Array(0);
  at = new Float64Array(0);
  line = new Uint32Array(0);
  offset = new Float64Array(0);
  len = new Uint32Array(0);
  fld = new Uint32Array(0);
  /** A user message kept by reference: its length + 1 (0: none). */
  lazy = new Uint32Array(0);
  flags = new Uint8Array(0);
  readonly strs: string[] = [];
  private readonly strIds = new Map<string, number>();
  readonly fieldTable: Record<string, unknown>[] = [NO_FIELDS as Record<string, unknown>];
  private readonly fieldIds = new Map<string, number>();
  /** `created_at` values that are not numbers, by event index (flag RAW_AT). */
  readonly atRaw = new Map<number, unknown>();
  readonly hazard = new Map<number, string>();

  constructor(readonly src: ShardRef) {}

  str(s: string): number {
    if (this.strIds.size === 0 && this.strs.length > 0) for (let k = 0; k < this.strs.length; k++) this.strIds.set(this.strs[k], k);
    let id = this.strIds.get(s);
    if (id === undefined) {
      id = this.strs.length;
      this.strs.push(s);
      this.strIds.set(s, id);
    }
    return id;
  }

  /** The index of `fields` in the table: shared with earlier events when its values are short (model, ids, empty lists). */
  fieldsId(fields: Record<string, unknown>): number {
    if (fields === NO_FIELDS) return 0;
    const key = shareKey(fields);
    if (key !== null) {
      const id = this.fieldIds.get(key);
      if (id !== undefined) return id;
      if (this.fieldIds.size < 4096) this.fieldIds.set(key, this.fieldTable.length);
    }
    this.fieldTable.push(fields);
    return this.fieldTable.length - 1;
  }

  /**
   * Room for one more event (the columns double when full, from 16: most shards of a sessions folder hold a few
   * events, and ten typed arrays of 256 each, then shrunk by `fit`, were ~9 % of a cold summary's CPU).
   */
  grow(): number {
    if (this.size === this.cap) this.resize(Math.max(16, this.cap * 2));
    return this.size++;
  }

  /**
   * After a read: the columns keep at most an eighth more room than their events (doubling left
   * up to half empty); with `dropLookups`, the tables that find an interned string's or a shared
   * fields object's index are dropped too (`str` rebuilds the first when called again; fields
   * read later are simply not shared with earlier ones).
   */
  fit(dropLookups = false): void {
    const cap = this.size + (this.size >> 3) + 16;
    if (this.cap > cap) this.resize(cap);
    if (dropLookups) {
      this.strIds.clear();
      this.fieldIds.clear();
    }
  }

  private resize(cap: number): void {
    this.name = resized(this.name, cap);
    this.turn = resized(this.turn, cap);
    this.stream = resized(this.stream, cap);
    this.at = resized(this.at, cap);
    this.line = resized(this.line, cap);
    this.offset = resized(this.offset, cap);
    this.len = resized(this.len, cap);
    this.fld = resized(this.fld, cap);
    this.lazy = resized(this.lazy, cap);
    this.flags = resized(this.flags, cap);
    this.cap = cap;
  }
}

function resized<T extends Uint32Array | Float64Array | Uint8Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a.length > cap ? a.subarray(0, cap) : a);
  return b;
}

/** A key equal for analysis fields of equal short values (null: not shared, e.g. a user message). */
function shareKey(fields: Record<string, unknown>): string | null {
  let key = '';
  for (const k in fields) {
    const v = fields[k];
    // Each value with its type and length: no text of one value can read as another field.
    if (v === NO_ITEMS) key += `${k}=[];`;
    else if (typeof v === 'string' && v.length <= INLINE_CONTENT_CHARS) key += `${k}=s${v.length}:${v};`;
    else if (typeof v === 'number') key += `${k}=n${Object.is(v, -0) ? '-0' : String(v)};`;
    else if (typeof v === 'boolean' || v === null) key += `${k}=${String(v)};`;
    else return null;
  }
  return key;
}

export class CompactEvent implements JournalEvent {
  constructor(
    /** The shard's columns (one per shard reader and full read, shared by its events). */
    readonly cols: EventColumns,
    readonly i: number,
  ) {}

  get name(): string {
    return this.cols.strs[this.cols.name[this.i]];
  }

  get turnId(): string {
    return this.cols.strs[this.cols.turn[this.i]];
  }

  get streamId(): string | null {
    const s = this.cols.stream[this.i];
    return s === NO_STREAM ? null : this.cols.strs[s];
  }

  get createdAtRaw(): unknown {
    const c = this.cols;
    return (c.flags[this.i] & RAW_AT) !== 0 ? c.atRaw.get(this.i) : c.at[this.i];
  }

  get line(): number {
    return this.cols.line[this.i];
  }

  get offset(): number {
    return this.cols.offset[this.i];
  }

  get length(): number {
    return this.cols.len[this.i];
  }

  /** The analysis fields of the line (ANALYSIS_FIELDS); read-only, shared between events. */
  get fields(): Record<string, unknown> {
    return this.cols.fieldTable[this.cols.fld[this.i]];
  }

  get nonStandardNumbers(): true | undefined {
    return (this.cols.flags[this.i] & NSN) !== 0 ? true : undefined;
  }

  get pythonLineBreaks(): true | undefined {
    return (this.cols.flags[this.i] & PLB) !== 0 ? true : undefined;
  }

  get pythonHazard(): string | undefined {
    return this.cols.hazard.get(this.i);
  }

  /** Never set on a compact event (recovered events stay plain). */
  get recovered(): undefined {
    return undefined;
  }

  /** Never set on a compact event (a reader that keeps raw lines keeps plain events). */
  get raw(): undefined {
    return undefined;
  }

  /** Set when `data` had to be rebuilt because the line on disk is no longer this event. */
  get stale(): true | undefined {
    return (this.cols.flags[this.i] & STALE) !== 0 ? true : undefined;
  }

  /** `content` is not in `fields` (this is its length in UTF-16 units): read it back (`contentOf`). */
  get lazyContent(): number | undefined {
    const n = this.cols.lazy[this.i];
    return n === 0 ? undefined : n - 1;
  }

  get terminal(): boolean {
    return TERMINAL_EVENTS.has(this.name);
  }

  get shard(): string {
    return this.cols.src.name;
  }

  /** The shard's path, to read the line back. */
  get path(): string {
    return this.cols.src.path;
  }

  /** The documented sort key: the number when it is one (±Infinity included), else 0. */
  get sortKey(): number {
    const c = this.cols;
    if ((c.flags[this.i] & RAW_AT) !== 0) return 0;
    const v = c.at[this.i];
    return Number.isNaN(v) ? 0 : v;
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
    this.cols.flags[this.i] |= STALE;
    return this.rebuilt();
  }

  /** JSON of a compact event is the JSON of the plain event (with its `data`), with its `fields`. */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: this.name,
      turnId: this.turnId,
      streamId: this.streamId,
      createdAtRaw: this.createdAtRaw,
      line: this.line,
      offset: this.offset,
      length: this.length,
      fields: this.fields,
    };
    if (this.nonStandardNumbers) out.nonStandardNumbers = true;
    if (this.pythonLineBreaks) out.pythonLineBreaks = true;
    if (this.pythonHazard !== undefined) out.pythonHazard = this.pythonHazard;
    // `stale` as known before this read back (which may set it), like a spread of the fields then `data`.
    if (this.stale) out.stale = true;
    return Object.assign(out, { terminal: this.terminal, shard: this.shard, path: this.path, sortKey: this.sortKey, data: this.data });
  }

  private rebuilt(): Record<string, unknown> {
    const out: Record<string, unknown> = { event: this.name };
    const streamId = this.streamId;
    if (streamId !== null) out.stream_id = streamId;
    if (this.turnId !== '') out.turn_id = this.turnId;
    const at = this.createdAtRaw;
    if (at !== undefined) out.created_at = at;
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
 * Makes the compact form of a plain event in `cols` (its `data` is dropped; `recovered` events
 * stay plain). A user message longer than INLINE_CONTENT_CHARS stays in memory only when
 * `keepText(length)` says the session's allowance has room for it (no `keepText`: always).
 */
export function compactOf(ev: JournalEvent, cols: EventColumns, intern: Interner, keepText?: (chars: number) => boolean): JournalEvent {
  if (ev.recovered || ev.raw !== undefined) return ev;
  const content = ev.data.content;
  const lazy =
    keepText !== undefined && typeof content === 'string' && content.length > INLINE_CONTENT_CHARS && content.length < NO_STREAM && !keepText(content.length);
  const i = cols.grow();
  cols.name[i] = cols.str(ev.name);
  cols.turn[i] = cols.str(ev.turnId);
  cols.stream[i] = ev.streamId === null ? NO_STREAM : cols.str(ev.streamId);
  const at = ev.createdAtRaw;
  let flags = 0;
  if (typeof at === 'number') cols.at[i] = at;
  else {
    cols.at[i] = 0;
    flags |= RAW_AT;
    cols.atRaw.set(i, at);
  }
  cols.line[i] = ev.line;
  cols.offset[i] = ev.offset;
  cols.len[i] = ev.length;
  cols.fld[i] = cols.fieldsId(pickFields(ev.data, lazy, intern));
  cols.lazy[i] = lazy ? (content as string).length + 1 : 0;
  if (ev.nonStandardNumbers) flags |= NSN;
  if (ev.pythonLineBreaks) flags |= PLB;
  cols.flags[i] = flags;
  if (ev.pythonHazard !== undefined) cols.hazard.set(i, ev.pythonHazard);
  return new CompactEvent(cols, i);
}
