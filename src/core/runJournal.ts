/**
 * Reader of hermes-webui's run journal: `SESSION_DIR/_run_journal/<sid>/<run_id>.jsonl`, one
 * file per streamed run, `run_id` = the turn's `stream_id` (FORMATS.md §5, upstream
 * `api/run_journal.py`). One compact JSON object a line: `version`, `event_id`
 * (`<run_id>:<seq>`), `seq`, `run_id`, `session_id`, `event`, `type`, `created_at`, `terminal`,
 * `terminal_state`, `payload`.
 *
 * These files grow to gigabytes (every streamed token is a line, and they are never pruned), so
 * nothing here reads a file whole:
 * - {@link readRunEvents} reads a page of events from a byte offset (`{fromOffset, limit}`) and
 *   returns where the next page starts;
 * - {@link settledOutcome} streams the file once, parsing only the lines that can be terminal
 *   (a top-level `"terminal":true` cannot hide inside an escaped string), and returns the run's
 *   settled outcome by upstream's authoritative-terminal rule.
 * Same guarantees as the turn-journal shard reader: lines end at `\n` only; a final line without
 * `\n` is a torn tail (reported, never an event); a line that is not a JSON object is malformed
 * (a complete event glued after a torn fragment is recovered); lines over `maxLineBytes` are
 * never buffered whole (their header fields, which upstream writes before `payload`, are still
 * read); only regular files are opened, never through a symbolic link, never blocking on a FIFO.
 */

import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { createHash } from 'crypto';
import { isUtf8 } from 'buffer';
import { parseJsonLine, PYTHON_EXTRA_LINE_BREAKS } from './jsonLine';
import { describeFsError } from './shardReader';

export const RUN_JOURNAL_DIR_NAME = '_run_journal';

/** Upstream's terminal SSE events (`TERMINAL_SSE_EVENTS`). */
export const TERMINAL_SSE_EVENTS: ReadonlySet<string> = new Set(['done', 'cancel', 'apperror', 'error', 'stream_end']);

/**
 * A run's settled outcome: upstream's `terminal_state` values, `running` (events, none terminal)
 * or `unknown` (no events). Upstream writes no other terminal states to disk today, but a value
 * we do not know is passed through as written, never rejected.
 */
export type RunOutcome =
  | 'completed'
  | 'tool_limit_reached'
  | 'interrupted-by-user'
  | 'interrupted-by-crash'
  | 'errored'
  | 'running'
  | 'unknown'
  | (string & { readonly __other?: never });

/** Outcomes that say the run ended without a complete answer. */
export const RUN_FAILURE_OUTCOMES: ReadonlySet<string> = new Set(['errored', 'interrupted-by-user', 'interrupted-by-crash', 'tool_limit_reached']);

export interface RunEvent {
  /** `event` as written (`str(... or "")`). */
  event: string;
  type: string | null;
  seq: number | null;
  eventId: string | null;
  runId: string | null;
  sessionId: string | null;
  /** `created_at` when it is a finite number. */
  createdAt: number | null;
  /** `terminal` is exactly `true` (upstream selects on truthiness; its recovery requires `is True`). */
  terminal: boolean;
  /** `terminal_state` as written (null when missing or not a string). */
  terminalState: string | null;
  /** What upstream's `_terminal_state_for_event` computes from `event` and `payload`. */
  derivedTerminalState: string | null;
  /** 1-based line number (only meaningful when reading started at offset 0 or `fromLine` was given). */
  line: number;
  offset: number;
  /** Bytes of the line without `\n`. */
  length: number;
  /** The SSE data; absent when the line was over the limit (`payloadOmitted`) or not asked for. */
  payload?: unknown;
  payloadOmitted?: boolean;
  /** Recovered from the end of a line that a torn append left unterminated. */
  recovered?: boolean;
  /** The line holds a character Python's `splitlines()` breaks on: upstream's reader loses it. */
  pythonLineBreaks?: boolean;
}

export type RunMalformedKind = 'invalid_utf8' | 'not_json' | 'not_object' | 'too_long' | 'torn_tail';

export interface RunMalformedLine {
  kind: RunMalformedKind;
  line: number;
  offset: number;
  length: number;
  detail: string;
  /** A short printable preview (untrusted text). */
  preview: string;
}

export interface ReadRunOptions {
  /** Byte offset to start at; must be the start of a line (a `nextOffset` from a page, or 0). */
  fromOffset?: number;
  /** Line number of the line at `fromOffset` (default 1). */
  fromLine?: number;
  /** Stop after this many events (default 1000). */
  limit?: number;
  /** Keep each event's `payload` (default true). */
  payloads?: boolean;
  /** Lines longer than this are not buffered whole (default 16 MiB). */
  maxLineBytes?: number;
}

export interface RunEventPage {
  events: RunEvent[];
  malformed: RunMalformedLine[];
  /** Offset of the first line not consumed (pass it as `fromOffset` for the next page). */
  nextOffset: number;
  nextLine: number;
  /** Every complete line up to the end of the file was consumed. */
  eof: boolean;
  /** File size when the page was read. */
  size: number;
  error?: string;
}

export interface RunSummary {
  path: string;
  /** The file stem: upstream's run id (= the turn's stream id). */
  runId: string;
  /** The folder name: the session id. */
  sessionId: string;
  size: number;
  mtimeMs: number;
  /** Complete, non-blank lines (events and malformed lines alike; not parsed one by one). */
  lines: number;
  /** Terminal events, in file order. */
  terminalEvents: RunEvent[];
  /** The authoritative terminal event (upstream's `select_authoritative_terminal_event`). */
  terminal: RunEvent | null;
  outcome: RunOutcome;
  /** Upstream's `_run_journal_event_owns_run` on the terminal event, and `terminal is True`. */
  terminalOwnsRun: boolean;
  /** Header of the last complete line (its seq and event), when it parses. */
  lastSeq: number | null;
  lastEvent: string | null;
  firstCreatedAt: number | null;
  lastCreatedAt: number | null;
  /** Final bytes without `\n`. */
  tornTail: boolean;
  /** Invalid UTF-8 somewhere: upstream's `read_text` raises, so upstream reads no outcome at all. */
  invalidUtf8: boolean;
  /** What upstream's own summary would say: null when its read raises. */
  upstreamOutcome: RunOutcome | null;
  error?: string;
}

const DEFAULT_MAX_LINE = 16 * 1024 * 1024;
const CHUNK = 1024 * 1024;
const HEAD_BYTES = 64 * 1024;
const PREVIEW = 200;

/** Upstream's `_terminal_state_for_event(event_name, payload)`. */
export function terminalStateFor(eventName: string, payload: unknown): string | null {
  const p = payload !== null && typeof payload === 'object' && !Array.isArray(payload) ? (payload as Record<string, unknown>) : null;
  if (eventName === 'done' || eventName === 'stream_end') {
    const explicit = p ? pyLowerStrip(p.terminal_state) : '';
    return explicit === 'tool_limit_reached' ? explicit : 'completed';
  }
  if (eventName === 'cancel') return 'interrupted-by-user';
  if (eventName === 'apperror' || eventName === 'error') {
    const t = p ? pyLowerStrip(p.type) : '';
    if (t === 'tool_limit_reached') return 'tool_limit_reached';
    if (t === 'cancelled' || t === 'canceled') return 'interrupted-by-user';
    if (t === 'interrupted') return 'interrupted-by-crash';
    return 'errored';
  }
  return null;
}

function pyLowerStrip(v: unknown): string {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return '';
  return String(v).trim().toLowerCase();
}

/**
 * Upstream's `select_authoritative_terminal_event`: among events whose `terminal` is truthy, the
 * last one that is not `stream_end` (transport closure), else the last terminal event.
 */
export function selectAuthoritativeTerminal<T extends { event: string; terminal: boolean }>(events: readonly T[]): T | null {
  const terminals = events.filter((e) => e.terminal);
  for (let i = terminals.length - 1; i >= 0; i--) if (terminals[i].event !== 'stream_end') return terminals[i];
  return terminals.length ? terminals[terminals.length - 1] : null;
}

/** The outcome an authoritative terminal event gives: its written `terminal_state`, else upstream's derivation. */
export function outcomeOf(terminal: RunEvent | null, anyEvents: boolean): RunOutcome {
  if (!terminal) return anyEvents ? 'running' : 'unknown';
  return terminal.terminalState ?? terminal.derivedTerminalState ?? 'errored';
}

/** Where upstream keeps the run journal of `sessionId`'s run `runId` under a sessions folder. */
export function runJournalPath(sessionsDir: string, sessionId: string, runId: string): string {
  return path.join(sessionsDir, RUN_JOURNAL_DIR_NAME, sessionId, `${runId}.jsonl`);
}

/** Upstream's id rule for run ids and session ids (`^[A-Za-z0-9_.-]+$`, not `.`/`..`). */
export function isSafeRunId(id: string): boolean {
  return /^[A-Za-z0-9_.-]+$/.test(id) && id !== '.' && id !== '..';
}

// ───────────────────────────── reading ─────────────────────────────

interface OpenRun {
  fh: fsp.FileHandle;
  size: number;
  mtimeMs: number;
}

/** Opens a regular file without following a symbolic link and without blocking on a FIFO. */
async function openRegular(file: string): Promise<OpenRun> {
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0) | (fs.constants.O_NONBLOCK ?? 0);
  const fh = await fsp.open(file, flags);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    return { fh, size: st.size, mtimeMs: st.mtimeMs };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function openError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ELOOP') return 'is a symbolic link (not followed)';
  if (e?.code === 'ENOTREG') return 'not a regular file';
  return describeFsError(err);
}

/** One physical line: its bytes (or only its head when over the limit) and where it sits. */
interface RawLine {
  bytes: Buffer;
  offset: number;
  /** Full length without `\n`. */
  length: number;
  /** `bytes` is only the first HEAD_BYTES of a longer line. */
  cut: boolean;
  /** No `\n` after it: the file's final, unterminated bytes. */
  torn: boolean;
}

/**
 * Calls `onLine` for every line from `start` to the size seen at open (appends after that are
 * for the next read). `onLine` returns false to stop; the result is the offset after the last
 * line handed over (complete lines only).
 */
async function forEachLine(run: OpenRun, start: number, maxLine: number, onLine: (l: RawLine) => boolean): Promise<{ next: number; stopped: boolean }> {
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(CHUNK, run.size - start)));
  let pos = start;
  let lineStart = start;
  let carry: Buffer[] = [];
  let carryLen = 0;
  let head: Buffer | null = null; // set while skipping an over-long line
  while (pos < run.size) {
    const { bytesRead } = await run.fh.read(buf, 0, Math.min(buf.length, run.size - pos), pos);
    if (bytesRead === 0) break;
    let i = 0;
    while (i < bytesRead) {
      const nl = buf.indexOf(10, i);
      const end = nl === -1 || nl >= bytesRead ? bytesRead : nl;
      const piece = buf.subarray(i, end);
      if (head === null && carryLen + piece.length > maxLine) {
        head = Buffer.concat([...carry, piece]).subarray(0, HEAD_BYTES);
        head = Buffer.from(head);
        carry = [];
        carryLen = 0;
      }
      if (end === bytesRead) {
        if (head === null) {
          carry.push(Buffer.from(piece));
          carryLen += piece.length;
        }
        i = bytesRead;
        continue;
      }
      const lineEnd = pos + end;
      let line: RawLine;
      if (head !== null) line = { bytes: head, offset: lineStart, length: lineEnd - lineStart, cut: true, torn: false };
      else if (carryLen > 0) line = { bytes: Buffer.concat([...carry, piece]), offset: lineStart, length: lineEnd - lineStart, cut: false, torn: false };
      else line = { bytes: piece, offset: lineStart, length: piece.length, cut: false, torn: false };
      head = null;
      carry = [];
      carryLen = 0;
      lineStart = lineEnd + 1;
      i = end + 1;
      if (!onLine(line)) return { next: lineStart, stopped: true };
    }
    pos += bytesRead;
  }
  if (lineStart < pos) {
    const bytes = head ?? Buffer.concat(carry, carryLen);
    onLine({ bytes, offset: lineStart, length: pos - lineStart, cut: head !== null, torn: true });
  }
  return { next: lineStart, stopped: false };
}

/** Parses one line into an event, a malformed line (with a glued event recovered), or null (blank). */
function parseRunLine(l: RawLine, lineNo: number, payloads: boolean): { event?: RunEvent; malformed?: RunMalformedLine } | null {
  let bytes = l.bytes;
  if (bytes.length && bytes[bytes.length - 1] === 13 && !l.cut) bytes = bytes.subarray(0, bytes.length - 1);
  if (l.offset === 0 && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const bad = (kind: RunMalformedKind, detail: string): RunMalformedLine => ({
    kind: l.torn ? 'torn_tail' : kind,
    line: lineNo,
    offset: l.offset,
    length: l.length,
    detail: l.torn ? `the file ends without a newline (${detail})` : detail,
    preview: new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, PREVIEW)),
  });
  if (l.cut) {
    const ev = headerEvent(bytes, l, lineNo);
    if (ev) return { event: ev };
    return { malformed: bad('too_long', `line is ${l.length} bytes, over the limit`) };
  }
  if (!isUtf8(bytes)) {
    if (bytes.every((b) => b === 0x20 || b === 0x09)) return null;
    const m = bad('invalid_utf8', 'invalid UTF-8');
    return glue(m, bytes, l, lineNo, payloads);
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return null;
  const parsed = parseJsonLine(text);
  if (!parsed.ok || typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    const m = bad(parsed.ok ? 'not_object' : 'not_json', parsed.ok ? 'valid JSON but not an object' : 'not JSON');
    return parsed.ok ? { malformed: m } : glue(m, bytes, l, lineNo, payloads);
  }
  if (l.torn) return { malformed: bad('torn_tail', 'a complete object, not yet committed') };
  const ev = toRunEvent(parsed.value as Record<string, unknown>, lineNo, l.offset, l.length, payloads);
  if (PYTHON_EXTRA_LINE_BREAKS.test(text)) ev.pythonLineBreaks = true;
  return { event: ev };
}

/** A torn append followed by a later one on the same line: recover the complete object at the end. */
function glue(m: RunMalformedLine, bytes: Buffer, l: RawLine, lineNo: number, payloads: boolean): { event?: RunEvent; malformed: RunMalformedLine } {
  let from = 1;
  for (let tries = 0; tries < 32; tries++) {
    const at = bytes.indexOf('{"version"', from);
    if (at === -1) break;
    from = at + 1;
    const suffix = bytes.subarray(at);
    if (!isUtf8(suffix)) continue;
    const p = parseJsonLine(suffix.toString('utf8'));
    if (!p.ok || typeof p.value !== 'object' || p.value === null || Array.isArray(p.value)) continue;
    const ev = toRunEvent(p.value as Record<string, unknown>, lineNo, l.offset + at, suffix.length, payloads);
    ev.recovered = true;
    return { event: ev, malformed: { ...m, detail: `${m.detail}; a complete event was glued after the torn part` } };
  }
  return { malformed: m };
}

/**
 * An over-long line: upstream writes every header field before `payload`, so the head up to
 * `,"payload":` closed with `}` is the event without its payload.
 */
function headerEvent(head: Buffer, l: RawLine, lineNo: number): RunEvent | null {
  const at = head.indexOf(',"payload":');
  if (at === -1 || !isUtf8(head.subarray(0, at))) return null;
  const p = parseJsonLine(head.subarray(0, at).toString('utf8') + '}');
  if (!p.ok || typeof p.value !== 'object' || p.value === null || Array.isArray(p.value)) return null;
  const ev = toRunEvent(p.value as Record<string, unknown>, lineNo, l.offset, l.length, false);
  ev.payloadOmitted = true;
  if (l.torn) return null;
  return ev;
}

function toRunEvent(o: Record<string, unknown>, line: number, offset: number, length: number, payloads: boolean): RunEvent {
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const event = o.event === null || o.event === undefined || o.event === '' || o.event === false || o.event === 0 ? '' : String(o.event);
  const seq = typeof o.seq === 'number' && Number.isInteger(o.seq) ? o.seq : null;
  const ev: RunEvent = {
    event,
    type: str(o.type),
    seq,
    eventId: str(o.event_id),
    runId: str(o.run_id),
    sessionId: str(o.session_id),
    createdAt: typeof o.created_at === 'number' && Number.isFinite(o.created_at) ? o.created_at : null,
    terminal: o.terminal === true,
    terminalState: str(o.terminal_state),
    derivedTerminalState: terminalStateFor(event, o.payload),
    line,
    offset,
    length,
  };
  // Upstream selects terminal events on truthiness (`event.get("terminal")`).
  if (!ev.terminal && o.terminal !== undefined && o.terminal !== null && o.terminal !== false && o.terminal !== 0 && o.terminal !== '') ev.terminal = true;
  if (payloads && 'payload' in o) ev.payload = o.payload;
  return ev;
}

/**
 * A page of a run's events from `fromOffset` (default 0), at most `limit` of them. Malformed
 * lines met on the way are returned beside them. Reads only what the page needs.
 */
export async function readRunEvents(file: string, opts: ReadRunOptions = {}): Promise<RunEventPage> {
  const limit = Math.max(1, opts.limit ?? 1000);
  const payloads = opts.payloads !== false;
  let lineNo = (opts.fromLine ?? 1) - 1;
  const start = Math.max(0, opts.fromOffset ?? 0);
  let run: OpenRun;
  try {
    run = await openRegular(file);
  } catch (err) {
    return { events: [], malformed: [], nextOffset: start, nextLine: lineNo + 1, eof: true, size: 0, error: openError(err) };
  }
  const events: RunEvent[] = [];
  const malformed: RunMalformedLine[] = [];
  let nextLine = lineNo + 1;
  try {
    if (start > run.size)
      return { events, malformed, nextOffset: start, nextLine, eof: true, size: run.size, error: 'the offset is past the end of the file (was it replaced?)' };
    const r = await forEachLine(run, start, opts.maxLineBytes ?? DEFAULT_MAX_LINE, (l) => {
      lineNo++;
      const res = parseRunLine(l, lineNo, payloads);
      if (res?.malformed) malformed.push(res.malformed);
      if (res?.event && !(l.torn && !res.event.recovered)) events.push(res.event);
      if (!l.torn) nextLine = lineNo + 1;
      return events.length < limit;
    });
    return { events, malformed, nextOffset: r.next, nextLine, eof: !r.stopped, size: run.size };
  } catch (err) {
    return { events, malformed, nextOffset: start, nextLine, eof: true, size: run.size, error: describeFsError(err) };
  } finally {
    await run.fh.close();
  }
}

const TERMINAL_MARKS = [Buffer.from('"terminal":true'), Buffer.from('"terminal": true')];

/**
 * The run's settled outcome by upstream's authoritative-terminal rule, reading the file once in
 * chunks. Only lines that can be terminal are parsed, plus the last line (for `lastSeq`).
 */
export async function settledOutcome(file: string, opts: { maxLineBytes?: number } = {}): Promise<RunSummary> {
  const runId = path.basename(file).replace(/\.jsonl$/, '');
  const summary: RunSummary = {
    path: file,
    runId,
    sessionId: path.basename(path.dirname(file)),
    size: 0,
    mtimeMs: 0,
    lines: 0,
    terminalEvents: [],
    terminal: null,
    outcome: 'unknown',
    terminalOwnsRun: false,
    lastSeq: null,
    lastEvent: null,
    firstCreatedAt: null,
    lastCreatedAt: null,
    tornTail: false,
    invalidUtf8: false,
    upstreamOutcome: null,
  };
  let run: OpenRun;
  try {
    run = await openRegular(file);
  } catch (err) {
    summary.error = openError(err);
    return summary;
  }
  summary.size = run.size;
  summary.mtimeMs = run.mtimeMs;
  // Only where the first and last lines sit is kept; their heads are read again at the end.
  let first: { offset: number; length: number; no: number } | null = null;
  let last: { offset: number; length: number; no: number } | null = null;
  const upstreamTerminals: RunEvent[] = [];
  let firstEv: RunEvent | undefined;
  let lastEv: RunEvent | undefined;
  try {
    let lineNo = 0;
    await forEachLine(run, 0, opts.maxLineBytes ?? DEFAULT_MAX_LINE, (l) => {
      lineNo++;
      if (!l.cut && !isUtf8(l.bytes)) summary.invalidUtf8 = true;
      if (l.torn) {
        summary.tornTail = true;
        return true;
      }
      if (isBlank(l.bytes)) return true;
      summary.lines++;
      if (first === null) first = { offset: l.offset, length: l.length, no: lineNo };
      last = { offset: l.offset, length: l.length, no: lineNo };
      if (!TERMINAL_MARKS.some((m) => l.bytes.includes(m))) return true;
      const ev = parseRunLine(l, lineNo, false)?.event;
      if (ev && ev.terminal) {
        summary.terminalEvents.push(ev);
        // Upstream's reader splits lines on U+2028 & co. and loses a glued event.
        if (!ev.pythonLineBreaks && !ev.recovered) upstreamTerminals.push(ev);
      }
      return true;
    });
    firstEv = first ? await lineEventAt(run, first) : undefined;
    lastEv = last ? await lineEventAt(run, last) : undefined;
  } catch (err) {
    summary.error = describeFsError(err);
  } finally {
    await run.fh.close();
  }
  summary.firstCreatedAt = firstEv?.createdAt ?? null;
  summary.lastCreatedAt = lastEv?.createdAt ?? null;
  summary.lastSeq = lastEv?.seq ?? null;
  summary.lastEvent = lastEv?.event ?? null;
  summary.terminal = selectAuthoritativeTerminal(summary.terminalEvents);
  summary.outcome = outcomeOf(summary.terminal, summary.lines > 0);
  summary.terminalOwnsRun = summary.terminal !== null && ownsRun(summary.terminal, summary.sessionId, runId);
  if (!summary.invalidUtf8) {
    const t = selectAuthoritativeTerminal(upstreamTerminals);
    summary.upstreamOutcome = t ? (t.terminalState ?? 'unknown') : summary.lines > 0 ? 'running' : 'unknown';
  }
  return summary;
}

/** The event on the line at `at` (only its head is read when the line is long). */
async function lineEventAt(run: OpenRun, at: { offset: number; length: number; no: number }): Promise<RunEvent | undefined> {
  const cut = at.length > HEAD_BYTES;
  const buf = Buffer.alloc(cut ? HEAD_BYTES : at.length);
  const { bytesRead } = await run.fh.read(buf, 0, buf.length, at.offset);
  const l: RawLine = { bytes: buf.subarray(0, bytesRead), offset: at.offset, length: at.length, cut, torn: false };
  return parseRunLine(l, at.no, false)?.event;
}

/** Upstream's `_run_journal_event_owns_run` plus `terminal is True`: the terminal event really belongs to this run. */
export function ownsRun(ev: RunEvent, sessionId: string, runId: string): boolean {
  return ev.terminal && ev.seq !== null && ev.seq >= 1 && ev.sessionId === sessionId && ev.runId === runId && ev.eventId === `${runId}:${ev.seq}`;
}

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const x = b[i];
    if (x !== 0x20 && x !== 0x09 && x !== 0x0d) return false;
  }
  return true;
}

/**
 * The run journal files of one session (`_run_journal/<sid>/*.jsonl`), regular files only, by name.
 * Synchronous: an lstat (nearly always "missing") and a readdir of one small folder cost less than
 * two round trips through the thread pool, and neither opens a file.
 */
export function listRunJournalsSync(sessionsDir: string, sessionId: string, knownMissing = false): string[] {
  if (knownMissing) return [];
  const dir = path.join(sessionsDir, RUN_JOURNAL_DIR_NAME, sessionId);
  let entries: fs.Dirent[];
  try {
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!st?.isDirectory()) return [];
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.jsonl') && isSafeRunId(e.name.slice(0, -6)))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/**
 * A stamp of a session's run journals (as `listRunJournalsSync` lists them): `fingerprint` hashes
 * each one's name, inode, size and mtime ('none' when there are none); `runIds` are their names.
 * Stats only: the SQLite index and the Sessions view's summaries tell a changed run journal by it.
 */
export function runJournalStamp(sessionsDir: string, sessionId: string, knownMissing = false): { fingerprint: string; runIds: Set<string> } {
  const runIds = new Set<string>();
  const files = listRunJournalsSync(sessionsDir, sessionId, knownMissing);
  if (files.length === 0) return { fingerprint: 'none', runIds };
  const h = createHash('sha1');
  for (const f of files) {
    const n = path.basename(f);
    runIds.add(n.slice(0, -6));
    let stamp = 'gone';
    try {
      const st = fs.lstatSync(f, { bigint: true });
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      // removed since the listing: the stamp says so
    }
    h.update(`${n}\0${stamp}\n`);
  }
  return { fingerprint: h.digest('hex'), runIds };
}

/**
 * The settled outcome of every run of one session, kept between refreshes: a run journal is
 * read again only when its size, mtime or inode changed.
 */
export class RunSummaryCache {
  private readonly byPath = new Map<string, { stamp: string; summary: RunSummary }>();
  readonly byRunId = new Map<string, RunSummary>();

  /** Re-reads what changed; returns whether anything did. `knownMissing`: the caller has just seen no `_run_journal/` folder. */
  async refresh(sessionsDir: string, sessionId: string, knownMissing = false): Promise<boolean> {
    const files = listRunJournalsSync(sessionsDir, sessionId, knownMissing);
    let changed = files.length !== this.byPath.size;
    const keep = new Set(files);
    for (const p of [...this.byPath.keys()]) if (!keep.has(p)) this.byPath.delete(p);
    for (const file of files) {
      let stamp: string;
      try {
        const st = fs.lstatSync(file);
        stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
      } catch {
        stamp = 'gone';
      }
      const cached = this.byPath.get(file);
      if (cached && cached.stamp === stamp) continue;
      changed = true;
      this.byPath.set(file, { stamp, summary: await settledOutcome(file) });
    }
    if (changed) {
      this.byRunId.clear();
      for (const { summary } of this.byPath.values()) this.byRunId.set(summary.runId, summary);
    }
    return changed;
  }
}

/** Every run of one session by run id (= stream id), read once. */
export async function loadRunSummaries(sessionsDir: string, sessionId: string): Promise<Map<string, RunSummary>> {
  const c = new RunSummaryCache();
  await c.refresh(sessionsDir, sessionId);
  return c.byRunId;
}
