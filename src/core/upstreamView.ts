/**
 * What hermes-webui itself says about a session (FORMATS.md §1, §2b): its reader
 * (`read_turn_journal`: `read_text(utf-8)`, `splitlines()`, `json.loads`), its derivation
 * (`derive_turn_journal_states`, which raises on a non-numeric `created_at`) and its audit's
 * pending rule (`turn_journal_pending_turn`). Our own reading stays as documented (glued events
 * recovered, lines split at `\n` only); this view sits beside it, in `audit --json` as
 * `upstream`, so a user can match our report line for line with upstream's.
 *
 * Computed from the analysis, re-reading only the lines where upstream reads differently
 * (a character Python's `splitlines()` breaks on, malformed lines): never the whole journal.
 * Upstream's reader has no line-length limit (it reads the whole shard with `read_text`), so
 * a line our reader leaves unparsed for its length (`too_long`) is re-read and parsed here as
 * upstream parses it, up to UPSTREAM_MAX_REREAD (64 MiB; invalid UTF-8 in it makes the session
 * unreadable, as for upstream). A longer line is scanned in 1 MiB pieces, never held whole:
 * its UTF-8 is checked and its Python line breaks counted (so later line numbers stay
 * upstream's), and its pieces are listed in `unverified` instead of being judged.
 * Known limit: shards are taken in file-name order (upstream uses directory order; only
 * `created_at` ties across shards can tell).
 */

import type { SessionAnalysis } from './analyze';
import { compareFindings } from './analyze';
import { openRead } from './fsSafe';
import { pyFloatKey, pyFloatRaises, TerminalEvents } from './derive';
import { parseJsonLine } from './jsonLine';
import { toEvent } from './shardReader';
import { compareNames } from './sessionId';
import type { JournalEvent } from './types';

export interface UpstreamView {
  /** False when upstream's read or derivation raises (then its audit crashes for the whole folder). */
  readable: boolean;
  /** The exception upstream raises: `UnicodeDecodeError`, `ValueError`, `RecursionError`. */
  error: string | null;
  /** turn_id → the name of its latest event, as upstream derives it. */
  states: Record<string, string>;
  collisions: { turn_id: string; events: string[] }[];
  /** Upstream's malformed lines: shard and its `splitlines()` line number. */
  malformed: { shard: string; line: number }[];
  /** Upstream's `turn_journal_pending_turn` items. */
  pending: { turn_id: string; event: string }[];
  event_count: number;
  /** Lines longer than UPSTREAM_MAX_REREAD: upstream parses them, this view does not judge them (absent when none). */
  unverified?: { shard: string; line: number }[];
}

/** The longest line this view re-reads whole to parse it as upstream does (upstream itself has no limit). */
export const UPSTREAM_MAX_REREAD = 64 * 1024 * 1024;
// Python's str.splitlines() boundaries.
// eslint-disable-next-line no-control-regex
const PY_BREAKS = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/;

function pySplitlines(s: string): string[] {
  const parts = s.split(PY_BREAKS);
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Python's `not s.strip()`. */
// eslint-disable-next-line no-control-regex
const PY_BLANK = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
function pyBlank(s: string): boolean {
  return PY_BLANK.test(s);
}

/** Where a line to re-read is in its shard. */
interface Item {
  line: number;
  offset: number;
  length: number;
}

/** A line too long to judge: its `count` upstream lines are listed as unverified. Returns the extra lines. */
function unverifiedLines(view: UpstreamView, shard: string, first: number, count: number): number {
  for (let k = 0; k < count; k++) (view.unverified ??= []).push({ shard, line: first + k });
  return count - 1;
}

/** A re-read line (null: unreadable) as upstream splits and parses it. Returns the extra lines it makes. */
function upstreamLines(view: UpstreamView, seen: { push(e: JournalEvent): void }, shard: string, first: number, it: Item, text: string | null): number {
  // The bytes re-read include a BOM at the start of the file, as upstream's text does.
  const pieces = text === null ? [''] : pySplitlines(text.replace(/\r$/, ''));
  pieces.forEach((piece, k) => {
    if (text !== null && pyBlank(piece)) return;
    const parsed = text === null ? null : parseJsonLine(piece);
    if (parsed && parsed.ok && typeof parsed.value === 'object' && parsed.value !== null && !Array.isArray(parsed.value)) {
      seen.push(toEvent(parsed.value as Record<string, unknown>, shard, first + k, it.offset, it.length));
    } else {
      view.malformed.push({ shard, line: first + k });
    }
  });
  return Math.max(0, pieces.length - 1);
}

/**
 * A list of about `size` events filled in place (a list grown by push leaves its old, ever
 * larger copies as garbage), cut to the events pushed when done.
 */
class EventList {
  private readonly list: JournalEvent[];
  private n = 0;
  constructor(size: number) {
    this.list = new Array<JournalEvent>(size);
  }
  push(e: JournalEvent): void {
    this.list[this.n++] = e;
  }
  done(): JournalEvent[] {
    this.list.length = this.n;
    return this.list;
  }
}

/** Upstream's view of one analysed session; `shardPath` gives each shard's file. */
export async function upstreamView(a: SessionAnalysis, shardPath: (name: string) => string | undefined, o: { maxReread?: number } = {}): Promise<UpstreamView> {
  const maxReread = o.maxReread ?? UPSTREAM_MAX_REREAD;
  const view: UpstreamView = { readable: true, error: null, states: {}, collisions: [], malformed: [], pending: [], event_count: 0 };
  if (a.malformed.some((m) => m.kind === 'invalid_utf8')) return unreadable(view, 'UnicodeDecodeError');
  if (a.events.some((e) => e.pythonHazard !== undefined && e.recovered !== true)) return unreadable(view, 'RecursionError');
  let seen: readonly JournalEvent[];
  let order: Uint32Array | null = null;
  if (readsLikeUs(a)) seen = a.events;
  else {
    const read = await upstreamEvents(a, shardPath, maxReread, view);
    if (typeof read === 'string') return unreadable(view, read);
    seen = read;
    order = upstreamOrder(seen);
  }
  view.event_count = seen.length;
  const states = new Map<string, JournalEvent>();
  const terminals = new TerminalEvents();
  for (let n = 0; n < seen.length; n++) {
    const e = seen[order === null ? n : order[n]];
    if (e.turnId === '') continue;
    if (e.terminal) terminals.add(e);
    const prev = states.get(e.turnId);
    // `float(event.get('created_at') or 0) >= float(previous...)`: raises for a non-numeric value.
    if (prev !== undefined && (pyFloatRaises(e.createdAtRaw) || pyFloatRaises(prev.createdAtRaw))) return unreadable(view, 'ValueError');
    if (prev === undefined || pyFloatKey(e.createdAtRaw) >= pyFloatKey(prev.createdAtRaw)) states.set(e.turnId, e);
  }
  view.states = statesObject(states);
  for (const [tid, list] of terminals.collisions()) {
    const ordered = list.map((e, i) => ({ e, i })).sort((x, y) => pyFloatKey(x.e.createdAtRaw) - pyFloatKey(y.e.createdAtRaw) || x.i - y.i);
    view.collisions.push({ turn_id: tid, events: ordered.map((x) => x.e.name) });
  }
  view.pending = pendingTurns(states, a);
  return view;
}

/**
 * True when upstream reads exactly the analysis' events, in the analysis' order (the usual case,
 * no line to re-read): no malformed line (so no recovered event), no shard with a BOM, no event
 * with a character Python's `splitlines()` breaks on, every `created_at` a number (then
 * upstream's `_safe_ts` key is our sort key, and a stable sort of the documented order by it is
 * the analysis' order, which sorts by that key, then shard name, then line).
 */
function readsLikeUs(a: SessionAnalysis): boolean {
  if (a.malformed.length > 0) return false;
  const names = new Set<string>();
  for (const s of a.shards) {
    if (s.hasBom) return false;
    names.add(s.name);
  }
  for (const e of a.events) {
    if (e.pythonLineBreaks === true || e.recovered === true || typeof e.createdAtRaw !== 'number' || !names.has(e.shard)) return false;
  }
  return true;
}

/**
 * The events upstream reads, in the documented order (shards by name, lines in file order), the
 * lines it reads differently re-read (malformed lines and their line numbers go to `view`);
 * the exception upstream raises while reading, if it does.
 */
async function upstreamEvents(
  a: SessionAnalysis,
  shardPath: (name: string) => string | undefined,
  maxReread: number,
  view: UpstreamView,
): Promise<JournalEvent[] | 'UnicodeDecodeError'> {
  // Upstream reads about as many events as we do.
  const into = new EventList(a.events.length);
  for (const shard of [...a.shards].sort((x, y) => compareNames(x.name, y.name))) {
    // The shard's events and malformed lines in line order (events first on a tie, as a stable
    // sort of both would put them); only the lines to re-read become objects.
    const evs: JournalEvent[] = [];
    for (const e of a.events) if (e.shard === shard.name && e.recovered !== true) evs.push(e);
    evs.sort((x, y) => x.line - y.line);
    const bad = a.malformed.filter((m) => m.shard === shard.name).sort((x, y) => x.line - y.line);
    const file = shardPath(shard.name);
    let extra = 0;
    for (let i = 0, j = 0; i < evs.length || j < bad.length;) {
      const e = i < evs.length && (j >= bad.length || evs[i].line <= bad[j].line) ? evs[i++] : undefined;
      const it: Item = e ?? { line: bad[j].line, offset: bad[j].offset, length: bad[j++].length };
      const first = it.line + extra;
      if (e !== undefined && e.pythonLineBreaks !== true) {
        if (shard.hasBom && e.line === 1) view.malformed.push({ shard: shard.name, line: first });
        else into.push(e);
        continue;
      }
      const got = file ? await readLine(file, it.offset, it.length, maxReread) : null;
      if (got === 'invalid_utf8') return 'UnicodeDecodeError';
      extra += typeof got === 'number' ? unverifiedLines(view, shard.name, first, got) : upstreamLines(view, into, shard.name, first, it, got);
    }
  }
  return into.done();
}

/**
 * `_safe_ts`: float(created_at or 0), 0 when that raises; a stable sort. The positions of
 * `seen` in that order (a typed array of keys and one of positions: no object per event).
 */
function upstreamOrder(seen: readonly JournalEvent[]): Uint32Array {
  const keys = new Float64Array(seen.length);
  for (let i = 0; i < seen.length; i++) {
    const v = seen[i].createdAtRaw;
    const k = pyFloatRaises(v) ? 0 : pyFloatKey(v);
    keys[i] = Number.isNaN(k) ? 0 : k;
  }
  const order = new Uint32Array(seen.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((x, y) => keys[x] - keys[y] || x - y);
  return order;
}

/**
 * Turn id → the name of its latest event, the object assigning each turn id to `{}` made (same keys,
 * same order, `Object.prototype`), built as a dictionary from the start: those assignments made a
 * hidden class per new key. Built with a null prototype, then given `Object.prototype`, so a turn id
 * "__proto__" is skipped as its assignment to `{}` was (a string is no prototype: no key was set).
 */
function statesObject(states: Map<string, JournalEvent>): Record<string, string> {
  const o: Record<string, string> = Object.create(null);
  for (const [tid, e] of states) if (tid !== '__proto__') o[tid] = e.name;
  return Object.setPrototypeOf(o, Object.prototype) as Record<string, string>;
}

function unreadable(view: UpstreamView, error: string): UpstreamView {
  return { ...view, readable: false, error, states: {}, collisions: [], malformed: [], pending: [], event_count: 0 };
}

/**
 * Upstream's pending rule: a turn whose latest event is not terminal, whose latest event has a
 * non-empty stripped `content` missing from the stripped contents of the sidecar's user messages.
 */
function pendingTurns(states: Map<string, JournalEvent>, a: SessionAnalysis): { turn_id: string; event: string }[] {
  // The turns whose latest event is not terminal (usually none or one), by turn id; the sidecar's
  // user messages are looked at only when there is one.
  const open: string[] = [];
  for (const [tid, e] of states) if (!e.terminal) open.push(tid);
  if (open.length === 0) return [];
  const existing = new Set<string>();
  for (const m of a.sidecar?.messages ?? []) if (m.raw.role === 'user') existing.add(pyStrOrEmpty(m.raw.content).trim());
  const out: { turn_id: string; event: string }[] = [];
  for (const tid of open.sort(compareNames)) {
    const e = states.get(tid)!;
    const content = pyStrOrEmpty(e.data.content).trim();
    if (!content || existing.has(content)) continue;
    out.push({ turn_id: tid, event: e.name });
  }
  return out;
}

/** `str(x or '')` for JSON values (lists and objects are rare here; shown as JSON). */
function pyStrOrEmpty(v: unknown): string {
  if (v === null || v === undefined || v === '' || v === 0 || v === false) return '';
  if (typeof v === 'string') return v;
  if (v === true) return 'True';
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v) && v.length === 0) return '';
  if (typeof v === 'object' && Object.keys(v as object).length === 0) return '';
  return JSON.stringify(v);
}

/**
 * One line's text as upstream decodes it; 'invalid_utf8' where its `read_text` raises; null
 * when it cannot be read. Over `max` bytes: the number of lines Python's `splitlines()` makes
 * of it, counted in 1 MiB pieces (never the whole line in memory).
 */
async function readLine(file: string, offset: number, length: number, max: number): Promise<string | 'invalid_utf8' | number | null> {
  let fh: Awaited<ReturnType<typeof openRead>>['fh'] | undefined;
  try {
    fh = (await openRead(file)).fh;
    if (length > max) return await countPieces(fh, offset, length);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    if (!isUtf8(buf.subarray(0, bytesRead))) return 'invalid_utf8';
    return buf.toString('utf8', 0, bytesRead);
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

// eslint-disable-next-line no-control-regex
const PY_BREAKS_G = /\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]/g;

// eslint-disable-next-line no-control-regex
const PY_BREAK_AT_END = /[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]$/;

async function countPieces(fh: Awaited<ReturnType<typeof openRead>>['fh'], offset: number, length: number): Promise<number | 'invalid_utf8'> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const buf = Buffer.alloc(Math.min(length, 1 << 20));
  let breaks = 0;
  let tail = '';
  let endsWithBreak = false;
  try {
    for (let at = 0; at < length;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - at), offset + at);
      if (bytesRead === 0) break;
      at += bytesRead;
      const final = at >= length;
      let text = tail + decoder.decode(buf.subarray(0, bytesRead), { stream: !final });
      tail = '';
      // A `\r` at the end of a piece may be the first half of `\r\n`; at the line's end it is the CRLF's `\r`.
      if (text.endsWith('\r')) {
        text = text.slice(0, -1);
        if (!final) tail = '\r';
      }
      breaks += text.match(PY_BREAKS_G)?.length ?? 0;
      if (text) endsWithBreak = PY_BREAK_AT_END.test(text);
    }
    if (tail) {
      breaks++;
      endsWithBreak = true;
    }
  } catch {
    return 'invalid_utf8';
  }
  // `splitlines()` makes no empty last line after a final break.
  return breaks + (endsWithBreak ? 0 : 1) || 1;
}

/**
 * Adds upstream's pending turns to the analysis as findings (`upstream_pending_turn`, upstream
 * kind `turn_journal_pending_turn`), beside our own `pending_turn` where the rules differ.
 */
export function attachUpstreamView(a: SessionAnalysis, view: UpstreamView): void {
  a.upstream = view;
  for (const p of view.pending) {
    const t = a.turns.find((x) => x.turnId === p.turn_id || x.aliasTurnIds.includes(p.turn_id));
    const e = t?.events.find((x) => x.turnId === p.turn_id && x.name === p.event);
    a.findings.push({
      kind: 'upstream_pending_turn',
      severity: 'warning',
      sessionId: a.sessionId,
      message: `hermes-webui's audit reports turn ${p.turn_id} as pending: its latest event "${p.event}" is not terminal and its message is not among the sidecar's user messages`,
      turnId: p.turn_id,
      ...(e ? { shard: e.shard, line: e.line, offset: e.offset } : {}),
      upstreamKind: 'turn_journal_pending_turn',
      category: 'repairable',
    });
    a.counts.findings.warning++;
  }
  if (view.pending.length) {
    a.findings.sort(compareFindings);
    if (a.worstSeverity === null || a.worstSeverity === 'info') a.worstSeverity = 'warning';
  }
}
