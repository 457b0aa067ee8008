/**
 * Incremental, streaming reader of one journal shard.
 *
 * Lines end at `\n` only: U+2028, U+2029, U+0085 and friends are text. A `\r` before the
 * `\n` and a UTF-8 BOM at the start of the file are tolerated. The reader keeps the byte
 * offset just past the last complete line; a refresh after an append parses only the bytes
 * from there. A final line without `\n` (a torn tail, or an append in progress) is parsed
 * on every refresh but never committed, so once its `\n` arrives it is read again whole.
 * A file that shrank or was replaced (new inode) is re-read from the start.
 */

import * as fs from 'fs';
import { UnsafeFileError, openRead, openReadSync } from './fsSafe';
import { isUtf8 } from 'buffer';
import { parseJsonLine, pythonJsonHazard, PYTHON_EXTRA_LINE_BREAKS } from './jsonLine';
import type { JournalEvent, MalformedKind, MalformedLine, TornTail } from './types';
import { TERMINAL_EVENTS } from './types';
import { compactOf, compactParsed, EventColumns, Interner } from './compactEvent';

export interface ReadOptions {
  /** Lines longer than this many bytes are malformed (`too_long`) and never buffered whole. */
  maxLineBytes: number;
  /** Read size per system call. */
  chunkBytes?: number;
  /** Keep each event's line text in `JournalEvent.raw` (the SQLite index stores it). */
  keepRaw?: boolean;
  /**
   * Keep events compact (core/compactEvent.ts): fixed fields and the analysis fields only, the
   * parsed line read back from the shard when `data` is asked for. Ignored with `keepRaw`.
   */
  compact?: boolean;
  /**
   * After each refresh, drop the lookup tables that intern compact events' names and ids (the
   * interned strings stay): for a shard read once (the CLI audit), ~20 bytes an event; a later
   * read rebuilds them. Default false (a shard read again after appends keeps them).
   */
  readOnce?: boolean;
  /** Shared by all readers of one session (default: this reader alone, DEFAULT_MAX_SESSION_BYTES). */
  budget?: ReadBudget;
}

export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/**
 * How many bytes of one session's shards may be read into memory together: past it, the shard
 * that would exceed it becomes an `unreadable_shard` finding that says so (a clear message
 * instead of a V8 out-of-memory crash, issue 14 #10), whether the session is one huge shard or
 * many smaller ones. 768 MiB by default; callers inject another limit (`--max-session-bytes`).
 */
export const DEFAULT_MAX_SESSION_BYTES = 768 * 1024 * 1024;

/**
 * UTF-16 units of user messages (`content` over compactEvent.INLINE_CONTENT_CHARS) one session's
 * compact events keep in memory, all shards together (≤ 8 MB); the rest are read back from the
 * shard when asked (core/compactEvent.ts, `contentOf`). A session of usual size keeps them all.
 */
export const DEFAULT_MAX_INLINE_TEXT_CHARS = 4 * 1024 * 1024;

/**
 * The bytes one session's readers hold, shared by them (each claims its shard's size on refresh),
 * and the user-message text their compact events may keep in memory (`takeText`).
 */
export class ReadBudget {
  private readonly claims = new Map<object, number>();
  private readonly text = new Map<object, number>();
  private textTotal = 0;
  constructor(
    readonly limit: number = DEFAULT_MAX_SESSION_BYTES,
    readonly textLimit: number = DEFAULT_MAX_INLINE_TEXT_CHARS,
  ) {}

  /** Whether `who` may keep `chars` more units of text in memory (and counts them when it may). */
  takeText(who: object, chars: number): boolean {
    if (this.textTotal + chars > this.textLimit) return false;
    this.text.set(who, (this.text.get(who) ?? 0) + chars);
    this.textTotal += chars;
    return true;
  }

  /** Gives back the text `who` kept (its events were dropped: a re-read from 0, an error). */
  releaseText(who: object): void {
    this.textTotal -= this.text.get(who) ?? 0;
    this.text.delete(who);
  }

  /** Claims `bytes` for `who` (replacing its earlier claim): the bytes the others hold when that would pass the limit, else null. */
  claim(who: object, bytes: number): number | null {
    this.claims.delete(who);
    let others = 0;
    for (const n of this.claims.values()) others += n;
    if (others + bytes > this.limit) return others;
    this.claims.set(who, bytes);
    return null;
  }

  release(who: object): void {
    this.claims.delete(who);
    this.releaseText(who);
  }
}

function tooLarge(size: number, others: number, limit: number): string {
  const what =
    others === 0
      ? `too large to read into memory (${size} bytes, limit ${limit} per session`
      : `too large to read into memory with the session's other shards (${size} bytes here, ${others} already read, limit ${limit} per session`;
  return `${what}; give Node more memory (--max-old-space-size) and raise --max-session-bytes to read it)`;
}
const DEFAULT_CHUNK = 1024 * 1024;
const PREVIEW_BYTES = 2048;
const MAX_GLUE_CANDIDATES = 64;

/** What a shard holds after the last refresh. Owned by ShardReader; treat as read-only. */
export interface ShardContents {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  dev: number;
  /** Committed (newline-terminated) lines read so far. */
  lineCount: number;
  events: JournalEvent[];
  malformed: MalformedLine[];
  /** The final line when it has no `\n` (its event, if valid, is in `tailEvent`). */
  tail: TornTail | null;
  tailEvent: JournalEvent | null;
  tailMalformed: MalformedLine | null;
  hasBom: boolean;
  /** Lines that ended in `\r\n`. */
  crlfLines: number;
  /** Set when the file could not be read at all. */
  error?: string;
}

export interface RefreshResult {
  /** 'none': nothing changed; 'append': only new bytes were parsed; 'full': re-read from 0. */
  mode: 'none' | 'append' | 'full';
  /** Bytes read from disk by this refresh. */
  bytesRead: number;
  newEvents: number;
}

/**
 * What is left to read up to this size is read with synchronous calls: for the many small
 * shards of a sessions folder, thread-pool round trips (open, read, close) cost more than the
 * read, and a read this small blocks for well under a millisecond. Larger reads stay async.
 */
const SYNC_READ_BYTES = 1024 * 1024;

/** Where a read is in the file, and the line it has not finished yet. */
interface LineScan {
  /** File offset of the current read buffer's first byte. */
  pos: number;
  lineStart: number;
  /** Bytes of the current (incomplete) line carried over from earlier chunks. */
  carry: Buffer[];
  carryLen: number;
  /** Set while skipping the rest of an over-long line. */
  overLong: { preview: Buffer } | null;
}

interface ReadHandle {
  read(buf: Buffer, offset: number, length: number, position: number): number | Promise<number>;
  close(): void | Promise<void>;
}

// Regular files only (fsSafe): a file swapped for a FIFO or device after the stat is refused,
// never opened in a way that blocks. Symbolic links were vetted by discovery.
function openSync(path: string, pre?: fs.Stats): ReadHandle {
  const { fd } = openReadSync(path, { followSymlink: true, pre });
  return { read: (b, o, l, p) => fs.readSync(fd, b, o, l, p), close: () => fs.closeSync(fd) };
}

async function openAsync(path: string): Promise<ReadHandle> {
  const { fh } = await openRead(path, { followSymlink: true });
  return { read: async (b, o, l, p) => (await fh.read(b, o, l, p)).bytesRead, close: () => fh.close() };
}

export class ShardReader {
  readonly contents: ShardContents;
  /** Byte offset just past the last committed line. */
  private committed = 0;
  private readonly maxLineBytes: number;
  private readonly chunkBytes: number;
  private readonly keepRaw: boolean;
  private readonly readOnce: boolean;
  /** Interns names and ids of compact events; null when events keep their parsed object. */
  private readonly intern: Interner | null;
  /** Whether a compact event may keep one more user message in memory (the session's text allowance). */
  private readonly keepText = (chars: number): boolean => this.budget.takeText(this, chars);
  private readonly budget: ReadBudget;
  /** The fixed fields of the compact events (columnar; new ones on a full re-read); null when events keep their parsed object. */
  private cols: EventColumns | null;

  constructor(path: string, name: string, options: ReadOptions) {
    this.maxLineBytes = options.maxLineBytes;
    this.budget = options.budget ?? new ReadBudget();
    this.keepRaw = options.keepRaw === true;
    this.readOnce = options.readOnce === true;
    this.intern = options.compact === true && !this.keepRaw ? new Interner() : null;
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
    this.contents = emptyContents(path, name);
    this.cols = this.intern === null ? null : new EventColumns({ name, path });
  }

  get committedOffset(): number {
    return this.committed;
  }

  /**
   * Before the first refresh: continue after `offset` (the end of a complete line) as if its
   * `lineCount` lines had been read, so the refresh reads only what follows (the SQLite
   * index's appended tails, core/sqlite/tailAppend.ts).
   */
  resumeAt(offset: number, lineCount: number): void {
    this.committed = offset;
    this.contents.lineCount = lineCount;
  }

  /**
   * Reads what changed since the last refresh. `stat`: a `stat` of the shard the caller has just
   * taken (null: it said the file does not exist), used instead of taking one here; the open then
   * needs no `lstat` of its own (fsSafe's `pre`).
   */
  async refresh(stat?: fs.Stats | null): Promise<RefreshResult> {
    const c = this.contents;
    let st;
    try {
      // A stat is a few microseconds on a local disk: cheaper synchronously than a thread-pool round trip.
      // A missing file (most sessions have no feedback file) is told without an exception thrown.
      st = stat === undefined ? fs.statSync(c.path, { throwIfNoEntry: false }) : (stat ?? undefined);
    } catch (err) {
      st = describeFsError(err);
    }
    if (st === undefined) st = describeFsError({ code: 'ENOENT' });
    if (typeof st === 'string') {
      this.reset();
      this.budget.release(this);
      c.error = st;
      return { mode: 'full', bytesRead: 0, newEvents: 0 };
    }
    if (!st.isFile()) {
      this.reset();
      this.budget.release(this);
      c.error = 'not a regular file';
      return { mode: 'full', bytesRead: 0, newEvents: 0 };
    }
    const others = this.budget.claim(this, st.size);
    if (others !== null) {
      this.reset();
      c.error = tooLarge(st.size, others, this.budget.limit);
      return { mode: 'full', bytesRead: 0, newEvents: 0 };
    }
    const replaced = c.ino !== 0 && (st.ino !== c.ino || st.dev !== c.dev);
    const shrank = st.size < this.committed;
    let mode: RefreshResult['mode'] = 'append';
    if (replaced || shrank || c.error !== undefined) {
      this.reset();
      mode = 'full';
    } else if (st.size === c.size && st.mtimeMs === c.mtimeMs && c.ino !== 0) {
      return { mode: 'none', bytesRead: 0, newEvents: 0 };
    }
    if (this.committed === 0 && c.lineCount === 0) mode = 'full';
    c.ino = st.ino;
    c.dev = st.dev;
    c.mtimeMs = st.mtimeMs;
    const before = c.events.length;
    let bytesRead = 0;
    try {
      bytesRead = await this.readFrom(this.committed, st.size, stat ?? undefined);
    } catch (err) {
      this.reset();
      this.budget.release(this);
      c.error = describeFsError(err);
      return { mode: 'full', bytesRead, newEvents: 0 };
    }
    this.cols?.fit(this.readOnce);
    return { mode, bytesRead, newEvents: c.events.length - before };
  }

  /** Gives back this reader's share of the session's budget (a shard that left the session). */
  releaseBudget(): void {
    this.budget.release(this);
  }

  private reset(): void {
    const c = this.contents;
    Object.assign(c, emptyContents(c.path, c.name));
    this.committed = 0;
    this.intern?.clear();
    if (this.cols !== null) this.cols = new EventColumns(this.cols.src);
    this.budget.releaseText(this);
  }

  /**
   * Reads from `start` to EOF, committing complete lines and parsing the tail. `size` is the
   * file size seen by stat just before: the read buffer is no larger than what is left (a
   * small shard costs a small buffer, not a fresh chunk), and a short read is the end of the
   * file (anything appended after it is read by the next refresh, since `size` is then larger).
   */
  private async readFrom(start: number, size: number, pre?: fs.Stats): Promise<number> {
    const c = this.contents;
    c.tail = null;
    c.tailEvent = null;
    c.tailMalformed = null;
    const fh = size - start <= SYNC_READ_BYTES ? openSync(c.path, pre) : await openAsync(c.path);
    let total = 0;
    try {
      const s: LineScan = { pos: start, lineStart: start, carry: [], carryLen: 0, overLong: null };
      // One byte more than what is left, so that reading it all is a short read.
      const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(this.chunkBytes, size - start + 1)));
      for (;;) {
        const bytesRead = await fh.read(chunk, 0, chunk.length, s.pos);
        if (bytesRead === 0) break;
        total += bytesRead;
        this.scanChunk(chunk, bytesRead, s);
        s.pos += bytesRead;
        if (bytesRead < chunk.length) break;
      }
      c.size = s.pos;
      this.finishTail(s);
    } finally {
      await fh.close();
    }
    return total;
  }

  /** Commits the lines of one read buffer (`chunk[0, bytesRead)`) and carries over the unfinished one. */
  private scanChunk(chunk: Buffer, bytesRead: number, s: LineScan): void {
    let i = 0;
    // Fast path, tried once per chunk: the complete lines that lie wholly inside this chunk,
    // when they are all valid UTF-8, are decoded line by line without copies (commitRegion).
    const lastNl = chunk.lastIndexOf(10, bytesRead - 1);
    let fastTried = lastNl === -1;
    // The file's first line takes the general path only when it starts with a BOM (which parseShardLine drops and records).
    const bomAt0 = s.pos === 0 && bytesRead >= 3 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf;
    while (i < bytesRead) {
      if (!fastTried && s.overLong === null && s.carryLen === 0 && (s.pos + i > 0 || !bomAt0) && i < lastNl) {
        fastTried = true;
        if (isUtf8(chunk.subarray(i, lastNl))) {
          this.commitRegion(chunk, i, lastNl, s.pos + i);
          s.lineStart = s.pos + lastNl + 1;
          this.committed = s.lineStart;
          i = lastNl + 1;
          continue;
        }
      }
      i = this.scanLine(chunk, i, bytesRead, s);
    }
  }

  /** The general path for one line from `chunk[i]`: returns where the next line starts in the chunk. */
  private scanLine(chunk: Buffer, i: number, bytesRead: number, s: LineScan): number {
    const nl = chunk.indexOf(10, i);
    const end = nl === -1 || nl >= bytesRead ? bytesRead : nl;
    const piece = chunk.subarray(i, end);
    if (s.overLong === null && s.carryLen + piece.length > this.maxLineBytes) {
      const head = s.carryLen > 0 ? Buffer.concat([...s.carry, piece]) : piece;
      s.overLong = { preview: Buffer.from(head.subarray(0, PREVIEW_BYTES)) };
      s.carry = [];
      s.carryLen = 0;
    }
    if (s.overLong === null) {
      if (end === bytesRead) {
        // No newline in the rest of this chunk: keep a copy and read on.
        s.carry.push(Buffer.from(piece));
        s.carryLen += piece.length;
      } else if (s.carryLen > 0) {
        s.carry.push(piece);
        this.commitLine(Buffer.concat(s.carry, s.carryLen + piece.length), s.lineStart);
        s.carry = [];
        s.carryLen = 0;
      } else {
        this.commitLine(piece, s.lineStart);
      }
    }
    if (end === bytesRead) return bytesRead;
    const lineEnd = s.pos + end;
    if (s.overLong !== null) {
      this.commitOverLong(s.overLong.preview, s.lineStart, lineEnd - s.lineStart, false);
      s.overLong = null;
    }
    s.lineStart = lineEnd + 1;
    this.committed = s.lineStart;
    return end + 1;
  }

  /** Whatever follows the last `\n` is a torn tail (or an append still in progress). */
  private finishTail(s: LineScan): void {
    if (s.overLong !== null) {
      this.tailOverLong(s.overLong.preview, s.lineStart, s.pos - s.lineStart);
    } else if (s.carryLen > 0) {
      this.parseTail(Buffer.concat(s.carry, s.carryLen), s.lineStart);
    }
  }

  /**
   * Commits the complete lines of `chunk[from, to)` (`to` is the index of a `\n`, every line
   * in the range ends with one), known to be valid UTF-8 and not a file's first line that starts
   * with a BOM (none to strip). Same results as commitLine on each line; lines that are not plain
   * JSON objects, or are too long, take the general path.
   */
  private commitRegion(chunk: Buffer, from: number, to: number, fileOffset: number): void {
    const c = this.contents;
    // Most chunks have no character Python's splitlines() breaks on: then no line has one
    // (a byte search is several times faster than the regular expression on the text).
    const mayBreak = hasPythonLineBreakBytes(chunk.subarray(from, to));
    // Each line is decoded on its own: most lines are ASCII and become one-byte strings
    // (decoding, JSON.parse and keeping them are cheaper); one toString of the whole region
    // gives a two-byte string as soon as one line is not ASCII (measured 2.5× slower to
    // decode and split; docs/performance.md).
    let p = from;
    while (p <= to) {
      const nl = p === to ? to : chunk.indexOf(10, p);
      const offset = fileOffset + (p - from);
      const length = nl - p;
      if (length > this.maxLineBytes) {
        this.commitOverLong(Buffer.from(chunk.subarray(p, p + PREVIEW_BYTES)), offset, length, false);
        p = nl + 1;
        continue;
      }
      const cr = length > 0 && chunk[nl - 1] === 13;
      const line = chunk.toString('utf8', p, cr ? nl - 1 : nl);
      let value: unknown;
      try {
        value = line.trim().length === 0 ? undefined : JSON.parse(line);
      } catch {
        value = undefined;
      }
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        c.lineCount++;
        if (cr) c.crlfLines++;
        const plb = mayBreak && PYTHON_EXTRA_LINE_BREAKS.test(line);
        const hazard = pythonJsonHazard(line);
        if (this.intern !== null && !this.keepRaw) {
          // Compact: straight into the shard's columns, no plain event in between.
          const at = { line: c.lineCount, offset, length, pythonLineBreaks: plb, hazard };
          c.events.push(compactParsed(value as Record<string, unknown>, at, this.cols!, this.intern, this.keepText));
          p = nl + 1;
          continue;
        }
        const ev = toEvent(value as Record<string, unknown>, c.name, c.lineCount, offset, length);
        if (this.keepRaw) ev.raw = line;
        if (plb) ev.pythonLineBreaks = true;
        if (hazard !== null) ev.pythonHazard = hazard;
        c.events.push(this.intern === null ? ev : compactOf(ev, this.cols!, this.intern, this.keepText));
      } else {
        // Blank, not JSON, NaN / Infinity, not an object: the general path decides.
        this.commitLine(chunk.subarray(p, nl), offset);
      }
      p = nl + 1;
    }
  }

  private commitLine(raw: Buffer, offset: number): void {
    const c = this.contents;
    c.lineCount++;
    const parsed = this.parseLine(raw, offset, c.lineCount, false);
    if (parsed === null) return;
    if ('kind' in parsed) c.malformed.push(parsed);
    else c.events.push(this.intern === null ? parsed : compactOf(parsed, this.cols!, this.intern, this.keepText));
  }

  private commitOverLong(preview: Buffer, offset: number, length: number, torn: boolean): MalformedLine {
    const c = this.contents;
    const line = torn ? c.lineCount + 1 : ++c.lineCount;
    const m = malformedLine('too_long', c.name, line, offset, length, preview, `line is ${length} bytes, over the limit of ${this.maxLineBytes}`);
    if (torn) m.torn = true;
    else c.malformed.push(m);
    return m;
  }

  private tailOverLong(preview: Buffer, offset: number, length: number): void {
    const c = this.contents;
    c.tail = { shard: c.name, line: c.lineCount + 1, offset, length, parsed: false };
    c.tailMalformed = this.commitOverLong(preview, offset, length, true);
  }

  private parseTail(raw: Buffer, offset: number): void {
    const c = this.contents;
    const line = c.lineCount + 1;
    const parsed = this.parseLine(raw, offset, line, true);
    if (parsed === null) return; // whitespace only
    c.tail = { shard: c.name, line, offset, length: raw.length, parsed: !('kind' in parsed) };
    if ('kind' in parsed) c.tailMalformed = parsed;
    else c.tailEvent = parsed;
  }

  /** Parses one line (without its `\n`) and records BOM / CRLF on the shard. */
  private parseLine(raw: Buffer, offset: number, line: number, torn: boolean): JournalEvent | MalformedLine | null {
    const c = this.contents;
    const r = parseShardLine(raw, c.name, offset, line, torn, this.keepRaw);
    if (r.bom) c.hasBom = true;
    if (r.crlf && !torn) c.crlfLines++;
    return r.item;
  }
}

export interface ParsedLine {
  /** The event, the malformed line, or null for a blank line. */
  item: JournalEvent | MalformedLine | null;
  /** The line started with a UTF-8 BOM (only possible at offset 0), which was skipped. */
  bom: boolean;
  /** The line ended in `\r`, which was dropped. */
  crlf: boolean;
}

/**
 * Parses one physical line of a shard (without its `\n`): the single place where a line
 * becomes an event or a malformed line. `offset` is the line's byte offset in the shard,
 * `line` its 1-based number, `torn` whether it is a final line without `\n`.
 */
export function parseShardLine(raw: Buffer, shard: string, offset: number, line: number, torn: boolean, keepRaw = false): ParsedLine {
  let bytes = raw;
  let start = offset;
  let bom = false;
  let crlf = false;
  if (offset === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    bom = true;
    bytes = bytes.subarray(3);
    start += 3;
  }
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) {
    bytes = bytes.subarray(0, bytes.length - 1);
    crlf = true;
  }
  const done = (item: JournalEvent | MalformedLine | null): ParsedLine => ({ item, bom, crlf });
  if (!isUtf8(bytes)) {
    if (isBlankBytes(bytes)) return done(null);
    const m = malformedLine('invalid_utf8', shard, line, offset, raw.length, bytes, `invalid UTF-8 at byte ${firstInvalidUtf8(bytes)} of the line`);
    if (torn) m.torn = true;
    tryGlue(m, bytes, start, undefined, keepRaw);
    return done(m);
  }
  const text = bytes.toString('utf8');
  if (text.trim().length === 0) return done(null);
  const result = parseJsonLine(text);
  if (!result.ok || typeof result.value !== 'object' || result.value === null || Array.isArray(result.value)) {
    const kind: MalformedKind = result.ok ? 'not_object' : 'not_json';
    const detail = result.ok
      ? `valid JSON but ${Array.isArray(result.value) ? 'an array' : result.value === null ? 'null' : `a ${typeof result.value}`}, not an object`
      : `not JSON: ${result.error}`;
    const m = malformedLine(kind, shard, line, offset, raw.length, bytes, detail);
    if (torn) m.torn = true;
    if (!result.ok) tryGlue(m, bytes, start, text, keepRaw);
    return done(m);
  }
  const ev = toEvent(result.value as Record<string, unknown>, shard, line, offset, raw.length);
  if (keepRaw) ev.raw = text;
  if (result.nonStandard) ev.nonStandardNumbers = true;
  if (PYTHON_EXTRA_LINE_BREAKS.test(text)) ev.pythonLineBreaks = true;
  const hazard = pythonJsonHazard(text);
  if (hazard !== null) ev.pythonHazard = hazard;
  return done(ev);
}

/**
 * A crash mid-append leaves a line without `\n`; the same process's next append is then
 * glued onto it. If a suffix of the malformed line starting at `{"` parses as an object
 * with an `event`, that suffix is the glued event.
 */
function tryGlue(m: MalformedLine, bytes: Buffer, start: number, text?: string, keepRaw = false): void {
  let tries = 0;
  let from = 1;
  while (tries < MAX_GLUE_CANDIDATES) {
    const at = bytes.indexOf(0x7b /* { */, from);
    if (at === -1) return;
    from = at + 1;
    // Upstream's lines start with `{"`; anything else is not a glued event.
    if (bytes[at + 1] !== 0x22) continue;
    tries++;
    const suffix = bytes.subarray(at);
    if (text === undefined && !isUtf8(suffix)) continue;
    const parsed = parseJsonLine(suffix.toString('utf8'));
    if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) continue;
    const obj = parsed.value as Record<string, unknown>;
    if (typeof obj.event !== 'string' || obj.event.length === 0) continue;
    const ev = toEvent(obj, m.shard, m.line, start + at, suffix.length);
    ev.recovered = true;
    if (keepRaw) ev.raw = suffix.toString('utf8');
    if (parsed.nonStandard) ev.nonStandardNumbers = true;
    m.glued = ev;
    m.gluedAt = start + at - m.offset;
    return;
  }
}

/** The contents of a shard before anything was read. */
export function emptyContents(path: string, name: string): ShardContents {
  return {
    name,
    path,
    size: 0,
    mtimeMs: 0,
    ino: 0,
    dev: 0,
    lineCount: 0,
    events: [],
    malformed: [],
    tail: null,
    tailEvent: null,
    tailMalformed: null,
    hasBom: false,
    crlfLines: 0,
  };
}

/** Builds a JournalEvent from a parsed object with upstream's coercions. */
export function toEvent(obj: Record<string, unknown>, shard: string, line: number, offset: number, length: number): JournalEvent {
  const name = pyStr(obj.event);
  const turnId = pyStr(obj.turn_id).trim();
  const stream = obj.stream_id;
  const createdAtRaw = obj.created_at;
  return {
    name,
    turnId,
    streamId: typeof stream === 'string' ? stream : stream == null ? null : pyStr(stream),
    createdAtRaw,
    sortKey: sortKeyOf(createdAtRaw),
    terminal: TERMINAL_EVENTS.has(name),
    shard,
    line,
    offset,
    length,
    data: obj,
  };
}

/**
 * `str(x or "")` for the JSON value types: falsy values (None, "", 0, false, empty list or
 * object) give "", numbers and booleans print as Python prints them.
 */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return '';
  if (typeof v === 'string') return v;
  if (v === true) return 'True';
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (Array.isArray(v)) return v.length === 0 ? '' : JSON.stringify(v);
  if (typeof v === 'object') return Object.keys(v as object).length === 0 ? '' : JSON.stringify(v);
  return String(v);
}

/** The documented sort key: a finite or infinite number as is; missing, NaN or non-numeric = 0. */
export function sortKeyOf(v: unknown): number {
  if (typeof v === 'number' && !Number.isNaN(v)) return v;
  return 0;
}

export function malformedLine(kind: MalformedKind, shard: string, line: number, offset: number, length: number, bytes: Buffer, detail: string): MalformedLine {
  const cut = bytes.length > PREVIEW_BYTES;
  const head = cut ? bytes.subarray(0, PREVIEW_BYTES) : bytes;
  return {
    kind,
    shard,
    line,
    offset,
    length,
    preview: new TextDecoder('utf-8', { fatal: false }).decode(head),
    previewTruncated: cut,
    detail,
  };
}

const PY_BREAK_BYTES = [0x0d, 0x0b, 0x0c, 0x1c, 0x1d, 0x1e];
const PY_BREAK_SEQUENCES = [Buffer.from([0xc2, 0x85]), Buffer.from([0xe2, 0x80, 0xa8]), Buffer.from([0xe2, 0x80, 0xa9])];

/** Whether UTF-8 bytes hold a character of PYTHON_EXTRA_LINE_BREAKS (\r, \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029). */
export function hasPythonLineBreakBytes(b: Buffer): boolean {
  for (const x of PY_BREAK_BYTES) if (b.indexOf(x) !== -1) return true;
  for (const x of PY_BREAK_SEQUENCES) if (b.indexOf(x) !== -1) return true;
  return false;
}

function isBlankBytes(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const x = b[i];
    if (x !== 0x20 && x !== 0x09 && x !== 0x0d && x !== 0x0b && x !== 0x0c) return false;
  }
  return true;
}

/** Byte index of the first invalid UTF-8 sequence (for the message). */
export function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const x = b[i];
    let n: number;
    if (x < 0x80) n = 1;
    else if (x >= 0xc2 && x <= 0xdf) n = 2;
    else if (x >= 0xe0 && x <= 0xef) n = 3;
    else if (x >= 0xf0 && x <= 0xf4) n = 4;
    else return i;
    if (n > 1 && !isUtf8(b.subarray(i, i + n))) return i;
    i += n;
  }
  return b.length;
}

export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'EISDIR':
      return 'is a directory';
    default:
      return err instanceof UnsafeFileError ? err.message : (e?.message ?? String(err));
  }
}
