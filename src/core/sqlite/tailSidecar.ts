/**
 * The tail path (tailAppend.ts) with a rewritten sidecar: hermes-webui saves `<sid>.json` whole
 * (temp file + rename) at every turn's start and end, appending messages. When the new sidecar's
 * first messages are the ones indexed (`session_tail.sidecar_messages`, sidecarState.ts: in
 * hermes' `indent=2` layout the digest of the message array's bytes, checked without decoding
 * them, and only the new messages and the other fields parsed; in another layout the digest of
 * their roles and contents, the file decoded whole), the indexed turns whose sidecar fields can
 * change are found by core/sidecarAppend.ts' rule (the incremental analysis' own) and only their
 * `live`, `user_message_saved` and `assistant_text` are recomputed, with the `invalid_sidecar`
 * finding of a completed turn whose reply the sidecar now has. Anything else (another status,
 * messages changed, the first user message, text SQL cannot compare exactly, an upstream pending
 * turn, other shape problems) returns null: the session is redone whole.
 *
 * The new lines are analysed with placeholders for the indexed messages (not read) unless the
 * analysis would read one (`partialSuffices`); a sidecar that did not change is not read at all then.
 */

import { isUtf8 } from 'buffer';
import type * as fs from 'fs';
import { userContentsOf, type SessionAnalysis } from '../analyze';
import { readFileSync } from '../fsSafe';
import { appendedTo, fieldsAfterAppend, messagesDigests, sidecarAppend, sidecarFieldsMayChange, type SidecarAppend } from '../sidecarAppend';
import { parseSidecarObject, readSidecar, sidecarPath, type Sidecar, type SidecarRead } from '../sidecar';
import { messagesAt, parseAfter, type SidecarReuse } from '../sidecarReuse';
import type { Finding } from '../types';
import type { Db, Row } from './engine';
import { elementsHash, keptBytes, sidecarStateOf, stateOf, stateText, type SidecarState, withPlaceholders } from './sidecarState';
import { bloomHas } from './streamBloom';

/** A lone surrogate (stored as U+FFFD) or U+FFFD itself: such an id is not compared in SQL. */
export const UNSAFE_TEXT = /[\ud800-\udfff\ufffd]/u;
/** Text compared in SQL here: nothing stored differently from the JavaScript string (U+0000 included, to be safe). */
// eslint-disable-next-line no-control-regex
const UNCOMPARABLE = /[\ud800-\udfff\ufffd\u0000]/u;

/** A column read as bytes (CAST(col AS BLOB): the wasm engine's text reader stops at U+0000), as text. */
export function textOf(v: Row[string]): string | undefined {
  return v === null ? undefined : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v);
}

export interface TailSidecar {
  /** The sidecar for the analysis of the new lines: with `whole`, its indexed messages are placeholders. */
  read: SidecarRead;
  /** The stamp of the planner's stat, taken before the read. */
  stamp: string;
  /** What the index holds of the sidecar (null: it had no readable one). */
  state: SidecarState | null;
  /** Set when `read` holds placeholders for the indexed messages: the sidecar read whole (partialSuffices says when it is needed). */
  whole: (() => Promise<SidecarRead>) | null;
  /** Set when the sidecar changed since the index: the new one (placeholders as in `read`), what the rewrite appended, the new state. */
  change: { sidecar: Sidecar; delta: AppendDelta; next: Omit<SidecarState, 'maxIndex'> } | null;
}

type AppendDelta = Omit<SidecarAppend, 'lastUser'>;

/**
 * The session's sidecar (the planner's `stamp` of it), and when it changed, what it appended to the
 * one indexed; null when it changed in another way, or that cannot be told.
 */
export async function readTailSidecar(
  sessionsDir: string,
  sid: string,
  prev: { fingerprint: string; messages: string | null },
  stamp: string,
): Promise<TailSidecar | null> {
  const state = stateOf(prev.messages);
  const p = sidecarPath(sessionsDir, sid);
  if (stamp === prev.fingerprint) {
    const whole = (): Promise<SidecarRead> => readSidecar(sessionsDir, sid);
    if (!state) return { read: await whole(), stamp, state, whole: null, change: null };
    // The same file: nothing is read unless the analysis needs an indexed message.
    const same = withPlaceholders(p, { active_stream_id: state.active }, state.count, []);
    return { read: { status: 'ok', sidecar: same }, stamp, state, whole, change: null };
  }
  if (state === null) return null;
  return state.bytes === null ? appendedByMessages(sessionsDir, sid, stamp, state) : appendedByBytes(p, stamp, state, state.bytes);
}

/**
 * A rewrite checked by its bytes: its message array must start with the indexed element bytes (their
 * digest), then only new messages (core/sidecarReuse.ts `parseAfter`). Only those and the other
 * fields are parsed; nothing else is decoded.
 */
function appendedByBytes(p: string, stamp: string, state: SidecarState, bytes: number): TailSidecar | null {
  let buf: Buffer;
  let st: fs.Stats;
  try {
    ({ data: buf, stat: st } = readFileSync(p, { followSymlink: true })); // a regular file only, as readSidecar
  } catch {
    return null;
  }
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const at = messagesAt(buf);
  if (state.count === 0 || at < start || at + bytes > buf.length || !isUtf8(buf)) return null;
  const h = elementsHash().update(buf.subarray(at, at + bytes));
  if (h.copy().digest('hex') !== state.digest) return null;
  const part = parseAfter(buf, start, at, bytes);
  if (!part) return null;
  const n = withPlaceholders(p, part.rest, state.count, part.added, st.size, st.mtimeMs);
  const delta = appendedTo({ length: state.count, users: state.users, activeStreamId: state.active }, n);
  if (typeof delta === 'string' || !comparable(delta)) return null;
  const users = state.users || n.messages.some((m, i) => i >= state.count && m.role === 'user');
  const digest = h.update(buf.subarray(at + bytes, part.close)).digest('hex');
  const next = { count: n.messages.length, digest, active: n.activeStreamId, users, bytes: part.close - at };
  // The checks above make JSON.parse of the whole file the same object with the indexed messages in place.
  const whole = async (): Promise<SidecarRead> => ({
    status: 'ok',
    sidecar: parseSidecarObject(p, JSON.parse(buf.toString('utf8', start)), st.size, st.mtimeMs),
  });
  return { read: { status: 'ok', sidecar: n }, stamp, state, whole, change: { sidecar: n, delta, next } };
}

/** A rewrite of a sidecar indexed by its messages' roles and contents (not hermes' layout): decoded whole, its first messages' digest compared. */
async function appendedByMessages(sessionsDir: string, sid: string, stamp: string, state: SidecarState): Promise<TailSidecar | null> {
  const reuse: SidecarReuse = { kept: null, last: null, minBytes: 0 };
  const read = await readSidecar(sessionsDir, sid, reuse);
  if (read.status !== 'ok') return null;
  const n = read.sidecar;
  if (state.count > n.messages.length) return null;
  const digests = messagesDigests(n.messages, state.count);
  if (digests.prefix !== state.digest) return null;
  // The indexed sidecar as far as terminal turns read it: these messages and its active stream.
  const old: Sidecar = { ...n, messages: n.messages.slice(0, state.count), activeStreamId: state.active };
  const delta = sidecarAppend(old, n, userContentsOf(old));
  if (typeof delta === 'string' || !comparable(delta)) return null;
  return { read, stamp, state, whole: null, change: { sidecar: n, delta, next: sidecarStateOf(n, keptBytes(reuse)) } };
}

/** New streams and user contents are compared in SQL: none may hold text stored differently. */
function comparable(d: AppendDelta): boolean {
  for (const x of [...d.streams, ...d.newContents]) if (UNCOMPARABLE.test(x)) return false;
  return true;
}

/**
 * Whether the analysis of the new lines made with placeholders for the indexed messages is the one
 * the whole sidecar gives: no new turn's user message may be an indexed one's (a user content
 * among the new messages, or the sidecar had no user message), no reply index points at an indexed
 * message, and upstream's pending rule finds nothing (it compares with every user message).
 */
export function partialSuffices(mini: SessionAnalysis, side: TailSidecar): boolean {
  const st = side.state!;
  const newContents = side.change?.delta.newContents;
  for (const t of mini.turns) {
    const u = t.userMessage;
    if (u !== null && st.users && !newContents?.has(u)) return false;
    const i = t.assistantMessageIndex;
    if (i !== null && Number.isInteger(i) && i >= 0 && i < st.count) return false;
  }
  return (mini.upstream?.pending.length ?? 0) === 0;
}

/** An indexed turn whose sidecar fields change, with the new values. */
export interface TurnUpdate {
  rowid: number;
  turnId: string;
  live: boolean;
  userMessageSaved: boolean;
  /** Undefined: as indexed. */
  assistantReply: string | null | undefined;
  /** Its `invalid_sidecar` finding (a completed turn pointing at a reply the sidecar lacked) goes. */
  dropsFinding: boolean;
}

/**
 * The indexed turns of the session the rewrite changes (the user-message filter and SQL narrow,
 * sidecarFieldsMayChange decides, fieldsAfterAppend gives their new fields from their indexed ones).
 */
export function changedTurns(db: Db, sid: string, side: TailSidecar, userBloom: Uint8Array | null): TurnUpdate[] {
  const { delta: d, sidecar } = side.change!;
  // New user contents that may be an indexed turn's user message (the others are none's).
  const contents = userBloom ? [...d.newContents].filter((c) => bloomHas(userBloom, c)) : [...d.newContents];
  // A turn pointing past the old messages gains a reply only at a new assistant message (no indexed turn points past maxIndex).
  const replies: number[] = [];
  for (let i = d.oldLength; i <= side.state!.maxIndex && i < sidecar.messages.length; i++) if (sidecar.messages[i].role === 'assistant') replies.push(i);
  // No stream, user content or reply to look for: nothing changes.
  if (d.streams.size === 0 && contents.length === 0 && replies.length === 0) return [];
  const rows = db.all(
    `SELECT rowid AS r, CAST(turn_id AS BLOB) AS turn_id, CAST(stream_id AS BLOB) AS stream_id, CAST(user_text AS BLOB) AS user_text,
       assistant_message_index AS idx, state, live, user_message_saved AS saved, assistant_text IS NULL AS no_reply
     FROM turns WHERE session_id = ?1 AND (stream_id IN (SELECT value FROM json_each(?2))
       OR user_text IN (SELECT value FROM json_each(?3)) OR assistant_message_index IN (SELECT value FROM json_each(?4)))`,
    [sid, JSON.stringify([...d.streams]), JSON.stringify(contents), JSON.stringify(replies)],
  );
  const out: TurnUpdate[] = [];
  for (const r of rows) {
    const idx = r.idx === null ? null : Number(r.idx);
    const t = { streamId: textOf(r.stream_id) ?? null, userMessage: textOf(r.user_text) ?? null, assistantMessageIndex: idx };
    if (!sidecarFieldsMayChange(d, t)) continue;
    const was = { userMessageSaved: Number(r.saved) === 1 };
    const now = fieldsAfterAppend(d, t, was, sidecar);
    // A reply the index has is kept (its message is one of the old ones); one it lacked may now be there.
    const gainsReply = Number(r.no_reply) === 1 && typeof now.assistantReply === 'string';
    if (now.live === (Number(r.live) === 1) && now.userMessageSaved === was.userMessageSaved && !gainsReply) continue;
    out.push({
      rowid: Number(r.r),
      turnId: textOf(r.turn_id)!,
      ...now,
      // sidecarTurnFindings: a completed turn with an index and no reply; append-only never takes a reply away.
      dropsFinding: gainsReply && String(r.state) === 'completed',
    });
  }
  return out;
}

export function writeTurnUpdates(db: Db, updates: readonly TurnUpdate[]): void {
  for (const u of updates) {
    const flags = [u.live ? 1 : 0, u.userMessageSaved ? 1 : 0];
    if (u.assistantReply === undefined) db.all('UPDATE turns SET live = ?, user_message_saved = ? WHERE rowid = ?', [...flags, u.rowid]);
    else db.all('UPDATE turns SET live = ?, user_message_saved = ?, assistant_text = CAST(? AS TEXT) WHERE rowid = ?', [...flags, u.assistantReply, u.rowid]);
  }
}

/**
 * Whether the session-wide findings the sidecar feeds stay as indexed: its shape finding (the
 * same problems) and upstream's pending turns (none indexed: a new user message could end one).
 */
export function sidecarFindingsSame(db: Db, sid: string, fresh: readonly Finding[]): boolean {
  const shape = (f: Finding): boolean => f.kind === 'invalid_sidecar' && f.turnId === undefined && f.shard === undefined;
  const now = fresh.filter(shape);
  const rows = db.all(
    `SELECT kind, severity, CAST(message AS BLOB) AS message FROM findings WHERE session_id = ? AND source = 'journal'
       AND (kind = 'upstream_pending_turn' OR (kind = 'invalid_sidecar' AND turn_id IS NULL AND shard IS NULL)) ORDER BY ordinal`,
    [sid],
  );
  if (rows.length !== now.length) return false;
  return rows.every((r, i) => String(r.kind) === 'invalid_sidecar' && String(r.severity) === now[i].severity && textOf(r.message) === now[i].message);
}

/**
 * The session row's sidecar columns after the tail path (the turns' rows already updated):
 * after a rewrite, its title, model and stamp; and `sidecar_messages` with the new turns'
 * largest reply index.
 */
export function updateSessionSidecar(db: Db, sid: string, side: TailSidecar, maxIndex: number): void {
  const st = side.state;
  if (!side.change) {
    if (st && maxIndex > st.maxIndex) db.all('UPDATE session_tail SET sidecar_messages = ? WHERE session_id = ?', [stateText({ ...st, maxIndex }), sid]);
    return;
  }
  const s = side.change.sidecar;
  db.all(
    `UPDATE sessions SET title = CAST(?2 AS TEXT), sidecar_fingerprint = ?3,
       model = coalesce(CAST(?4 AS TEXT), (SELECT model FROM turns WHERE session_id = ?1 AND model IS NOT NULL AND model <> '' ORDER BY ordinal LIMIT 1)),
       model_provider = coalesce(CAST(?5 AS TEXT),
         (SELECT model_provider FROM turns WHERE session_id = ?1 AND model_provider IS NOT NULL AND model_provider <> '' ORDER BY ordinal LIMIT 1))
     WHERE session_id = ?1`,
    [sid, s.title, side.stamp, s.model, s.modelProvider],
  );
  db.all('UPDATE session_tail SET sidecar_messages = CAST(? AS TEXT) WHERE session_id = ?', [stateText({ ...side.change.next, maxIndex }), sid]);
}
