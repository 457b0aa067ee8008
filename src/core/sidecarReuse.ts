/**
 * Re-reading a rewritten sidecar without parsing its messages again.
 *
 * hermes-webui rewrites the whole `<sid>.json` at each turn's start and end (`Session.save` in
 * api/models.py: `json.dumps(payload, ensure_ascii=False, indent=2)`, temp file + `os.replace`).
 * Its metadata (`updated_at`, `message_count`, …) comes first and changes at every save; then
 * `"messages": [ … ]`, then `tool_calls`, `anchor_activity_scenes` and the rest. A live turn only
 * appends messages, so the new file's message array starts with the old one's bytes.
 *
 * With `indent=2`, the top-level key is the line `\n  "messages": [` and the array closes at a
 * line `\n  ]`. These are only candidates: every shortcut is checked so that the result is exactly
 * `JSON.parse` of the whole file, and anything in doubt parses the whole file.
 * - The array span `[` … `\n  ]` must parse on its own (on a rewrite: the old elements' bytes
 *   unchanged, then nothing or `,` and at least one new element, which alone are parsed).
 * - What follows the span must start (after whitespace) with `,` or `}`, and the rest of the file
 *   with the span replaced by `0`, then by `1`, must parse to an object whose `messages` is `0`,
 *   then `1`: the span is the value of the top-level `messages` key that JSON.parse keeps (a nested
 *   key, or a later duplicate, would give the same value both times). Cut points are ASCII, so the
 *   UTF-8 pieces decode as the whole does; a raw newline cannot be inside a valid string.
 * Large sidecars only (REUSE_MIN_BYTES): a small one is parsed whole, as before.
 */

import { isUtf8 } from 'buffer';
import type { SidecarMessage } from './sidecar';

/** Sidecars smaller than this are parsed whole and nothing is kept. */
export const REUSE_MIN_BYTES = 256 * 1024;

/** What the last parse kept: the message array's element bytes (between `[` and `\n  ]`) and their parsed values. */
interface Kept {
  elements: Buffer;
  raws: unknown[];
}

/** Kept by the caller between reads of one sidecar (SessionJournal). */
export interface SidecarReuse {
  kept: Kept | null;
  /** The last parse's message values and what sidecar.ts made of them (its SidecarMessages, their problems). */
  prior?: { raws: readonly unknown[]; messages: readonly SidecarMessage[]; problems: readonly string[] } | null;
  /** How the last parse went: whole file, whole in two checked pieces, or only the new messages parsed. */
  last: 'whole' | 'split' | 'reuse' | null;
  /**
   * Files smaller than this are parsed whole and nothing is kept (default REUSE_MIN_BYTES). The SQLite
   * index reads every sidecar split (0): the digest of the kept element bytes is what its tail path checks.
   */
  minBytes?: number;
}

export function newSidecarReuse(): SidecarReuse {
  return { kept: null, last: null };
}

/**
 * Bytes of memory the kept buffers hold: each distinct underlying buffer once, whole (a subarray
 * keeps all of the file buffer it was cut from alive). For the journal cache's byte bound.
 */
export function reuseBytes(r: SidecarReuse | undefined): number {
  const held = new Set<ArrayBufferLike>();
  if (r?.kept) held.add(r.kept.elements.buffer);
  let n = 0;
  for (const b of held) n += b.byteLength;
  return n;
}

const KEY = Buffer.from('\n  "messages": [');
const CLOSE = Buffer.from('\n  ]');

interface Span {
  /** Index of the array's `[`. */
  open: number;
  /** Index of the `\n  ]` that closes it. */
  close: number;
}

function isWs(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The candidate span of the top-level messages array (its close searched from `closeFrom`), or null. */
function spanOf(buf: Buffer, start: number, closeFrom?: number): Span | null {
  const k = buf.indexOf(KEY, start);
  if (k === -1) return null;
  const open = k + KEY.length - 1;
  const close = buf.indexOf(CLOSE, Math.max(open + 1, closeFrom ?? 0));
  if (close === -1) return null;
  let i = close + CLOSE.length;
  while (i < buf.length && isWs(buf[i])) i++;
  if (i >= buf.length || (buf[i] !== 0x2c && buf[i] !== 0x7d)) return null;
  return { open, close };
}

/** The top-level object parsed without the span (its `messages` still the placeholder), when the span is its messages value. */
function restOf(buf: Buffer, start: number, s: Span): Record<string, unknown> | null {
  const head = buf.toString('utf8', start, s.open);
  const tail = buf.toString('utf8', s.close + CLOSE.length);
  const a = tryParse(`${head}0${tail}`);
  if (!isObject(a) || a.messages !== 0) return null;
  const b = tryParse(`${head}1${tail}`);
  if (!isObject(b) || b.messages !== 1) return null;
  return a;
}

/** The whole file in two checked pieces (the rest, then the message array), keeping what a rewrite can reuse. */
function parseSplit(buf: Buffer, start: number, r: SidecarReuse): unknown {
  const s = spanOf(buf, start);
  const rest = s && restOf(buf, start, s);
  const raws = s && rest ? tryParse(buf.toString('utf8', s.open, s.close + CLOSE.length)) : undefined;
  if (s && rest && Array.isArray(raws)) {
    rest.messages = raws;
    r.kept = { elements: buf.subarray(s.open + 1, s.close), raws };
    r.last = 'split';
    return rest;
  }
  return parseWhole(buf, start, r);
}

function parseWhole(buf: Buffer, start: number, r: SidecarReuse): unknown {
  r.kept = null;
  r.last = 'whole';
  return JSON.parse(buf.toString('utf8', start));
}

/** A rewrite whose message array starts with the kept one's bytes: only the new messages and the rest are parsed. Undefined when it does not. */
function parseReused(buf: Buffer, start: number, kept: Kept, r: SidecarReuse, at: number): unknown {
  if (kept.raws.length === 0) return undefined; // `[ ,x]` would not be JSON: nothing to append to
  const p = parseAfter(buf, start, at, kept.elements.length);
  if (!p) return undefined;
  const raws = kept.raws.concat(p.added);
  p.rest.messages = raws;
  r.kept = { elements: buf.subarray(at, p.close), raws };
  r.last = 'reuse';
  return p.rest;
}

/**
 * The top-level object of `buf` (from `start`) without its messages, and the messages that follow
 * the first `oldLength` bytes of the message array's elements, which start at `at` (messagesAt):
 * the caller knows those bytes are the elements of a message array it parsed before, with at least
 * one message (by comparing them: sidecarReuse, or by their digest: the SQLite index's tail path).
 * The checks above make `rest` + the old messages + `added` exactly JSON.parse of the whole; `close`
 * is where the array's `\n  ]` starts (the elements are `[at, close)`). Undefined when any fails.
 */
export function parseAfter(
  buf: Buffer,
  start: number,
  at: number,
  oldLength: number,
): { rest: Record<string, unknown>; added: unknown[]; close: number } | undefined {
  if (at < start) return undefined; // not there (-1), or inside a BOM
  const s = spanOf(buf, start, at + oldLength);
  if (!s) return undefined;
  const from = s.open + 1;
  const oldEnd = from + oldLength;
  if (from !== at || oldEnd > s.close) return undefined;
  let i = oldEnd;
  while (i < s.close && isWs(buf[i])) i++;
  let added: unknown[] = [];
  if (i < s.close) {
    if (buf[i] !== 0x2c) return undefined;
    const more = tryParse(`[${buf.toString('utf8', i + 1, s.close)}]`);
    if (!Array.isArray(more) || more.length === 0) return undefined;
    added = more;
  }
  const rest = restOf(buf, start, s);
  if (!rest) return undefined;
  return { rest, added, close: s.close };
}

/**
 * Whether `buf` is valid UTF-8. When it holds the kept message elements at their place (bytes that
 * passed this check in the last read, cut at ASCII characters), only the bytes around them are
 * checked: a valid sequence followed by a valid sequence is valid, and a valid whole cut at an
 * ASCII byte gives valid parts.
 */
export function isUtf8Sidecar(buf: Buffer, reuse?: SidecarReuse, from = reuse ? keptAt(buf, reuse) : -1): boolean {
  if (from === -1) return isUtf8(buf);
  return isUtf8(buf.subarray(0, from)) && isUtf8(buf.subarray(from + reuse!.kept!.elements.length));
}

/** Where the kept elements start in `buf` (right after the first `\n  "messages": [`, bytes unchanged), or -1. */
export function keptAt(buf: Buffer, r: SidecarReuse): number {
  const kept = r.kept;
  let from = -1;
  if (kept && buf.length >= (r.minBytes ?? REUSE_MIN_BYTES)) {
    const at = messagesAt(buf);
    const end = at + kept.elements.length;
    if (at !== -1 && end <= buf.length && buf.compare(kept.elements, 0, kept.elements.length, at, end) === 0) from = at;
  }
  return from;
}

/** Where the elements of the message array would start: right after the first `\n  "messages": [` (-1: none). */
export function messagesAt(buf: Buffer): number {
  const k = buf.indexOf(KEY);
  return k === -1 ? -1 : k + KEY.length;
}

/**
 * JSON.parse of `buf` from `start` (UTF-8, already checked valid), exactly; throws as it does.
 * With `reuse` and a large file, the message array's bytes and values are kept for the next read,
 * and a rewrite that only appended messages (or changed nothing in them) parses only what is new.
 */
export function parseSidecarJson(buf: Buffer, start: number, reuse?: SidecarReuse, at = reuse ? keptAt(buf, reuse) : -1): unknown {
  if (!reuse || buf.length - start < (reuse.minBytes ?? REUSE_MIN_BYTES)) {
    if (reuse) {
      reuse.kept = null;
      reuse.last = 'whole';
    }
    return JSON.parse(buf.toString('utf8', start));
  }
  const kept = reuse.kept;
  if (kept) {
    const v = parseReused(buf, start, kept, reuse, at);
    if (v !== undefined) return v;
  }
  return parseSplit(buf, start, reuse);
}
