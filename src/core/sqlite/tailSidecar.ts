/**
 * The tail path (tailAppend.ts) with a rewritten sidecar: hermes-webui saves `<sid>.json` whole
 * (temp file + rename) at every turn's start and end, appending messages. When the new sidecar's
 * first messages are the ones indexed (`session_tail.sidecar_messages`: their count, digest and the
 * `active_stream_id`; core/sidecarAppend.ts `messagesDigests`), the indexed turns whose sidecar
 * fields can change are found by core/sidecarAppend.ts' rule (the incremental analysis' own) and
 * only their `live`, `user_message_saved` and `assistant_text` are recomputed, with the
 * `invalid_sidecar` finding of a completed turn whose reply the sidecar now has. Anything else
 * (another status, messages changed, the first user message, text SQL cannot compare exactly, an
 * upstream pending turn, other shape problems) returns null: the session is redone whole.
 */

import { userContentsOf } from '../analyze';
import { messagesDigests, sidecarAppend, sidecarFields, sidecarFieldsMayChange, type SidecarAppend } from '../sidecarAppend';
import { readSidecar, sidecarPath, type Sidecar, type SidecarRead } from '../sidecar';
import type { Finding } from '../types';
import type { Db, Row } from './engine';
import { statStampSync } from './readSession';
import { bloomHas } from './streamBloom';
import { sidecarMessagesOf } from './writer';

/** A lone surrogate (stored as U+FFFD) or U+FFFD itself: such an id is not compared in SQL. */
export const UNSAFE_TEXT = /[\ud800-\udfff\ufffd]/u;
/** Text compared in SQL here: nothing stored differently from the JavaScript string (U+0000 included, to be safe). */
// eslint-disable-next-line no-control-regex
const UNCOMPARABLE = /[\ud800-\udfff\ufffd\u0000]/u;

/** A column read as bytes (CAST(col AS BLOB): the wasm engine's text reader stops at U+0000), as text. */
export function textOf(v: Row[string]): string | undefined {
  return v === null ? undefined : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v);
}

/** `session_tail.sidecar_messages` (writer.ts sidecarMessagesOf). */
export interface SidecarState {
  count: number;
  digest: string;
  active: string | null;
  maxIndex: number;
}

export interface TailSidecar {
  read: SidecarRead;
  /** The stamp of the stat taken before the read. */
  stamp: string;
  /** What the index holds of the sidecar (null: it had no readable one). */
  state: SidecarState | null;
  /** Set when the sidecar changed since the index: what the rewrite appended, and the new digest. */
  change: { sidecar: Sidecar; delta: SidecarAppend; userContents: Set<string>; digest: string } | null;
}

function stateOf(text: string | null): SidecarState | null {
  if (text === null) return null;
  try {
    const [count, digest, active, maxIndex] = JSON.parse(text) as [number, string, string | null, number];
    return Number.isInteger(count) && typeof maxIndex === 'number' ? { count, digest, active, maxIndex } : null;
  } catch {
    return null;
  }
}

/**
 * The session's sidecar, and when it changed, what it appended to the one indexed; null when it
 * changed in another way.
 */
export async function readTailSidecar(sessionsDir: string, sid: string, prev: { fingerprint: string; messages: string | null }): Promise<TailSidecar | null> {
  // The stamp of a stat before the read, in the form the index keeps (readSession.ts).
  const stamp = statStampSync(sidecarPath(sessionsDir, sid));
  const read = await readSidecar(sessionsDir, sid);
  const state = stateOf(prev.messages);
  if (stamp === prev.fingerprint) return { read, stamp, state, change: null };
  if (read.status !== 'ok' || state === null) return null;
  const n = read.sidecar;
  if (state.count > n.messages.length) return null;
  const digests = messagesDigests(n.messages, state.count);
  if (digests.prefix !== state.digest) return null;
  // The indexed sidecar as far as terminal turns read it: these messages and its active stream.
  const old: Sidecar = { ...n, messages: n.messages.slice(0, state.count), activeStreamId: state.active };
  const delta = sidecarAppend(old, n, userContentsOf(old));
  if (typeof delta === 'string') return null;
  for (const x of [...delta.streams, ...delta.newContents]) if (UNCOMPARABLE.test(x)) return null;
  return { read, stamp, state, change: { sidecar: n, delta, userContents: userContentsOf(n), digest: digests.all } };
}

/** An indexed turn whose sidecar fields change, with the new values. */
export interface TurnUpdate {
  rowid: number;
  turnId: string;
  live: boolean;
  userMessageSaved: boolean;
  assistantReply: string | null;
  /** Its `invalid_sidecar` finding (a completed turn pointing at a reply the sidecar lacked) goes. */
  dropsFinding: boolean;
}

/**
 * The indexed turns of the session the rewrite changes (the user-message filter and SQL narrow,
 * sidecarFieldsMayChange decides).
 */
export function changedTurns(db: Db, sid: string, side: TailSidecar, userBloom: Uint8Array | null): TurnUpdate[] {
  const { delta: d, sidecar, userContents } = side.change!;
  // New user contents that may be an indexed turn's user message (the others are none's).
  const contents = userBloom ? [...d.newContents].filter((c) => bloomHas(userBloom, c)) : [...d.newContents];
  // No stream or user content to look for, and no turn points past the old messages: nothing changes.
  if (d.streams.size === 0 && contents.length === 0 && side.state!.maxIndex < d.oldLength) return [];
  const rows = db.all(
    `SELECT rowid AS r, CAST(turn_id AS BLOB) AS turn_id, CAST(stream_id AS BLOB) AS stream_id, CAST(user_text AS BLOB) AS user_text,
       assistant_message_index AS idx, state, live, user_message_saved AS saved, assistant_text IS NULL AS no_reply
     FROM turns WHERE session_id = ?1 AND (stream_id IN (SELECT value FROM json_each(?2))
       OR user_text IN (SELECT value FROM json_each(?3)) OR assistant_message_index >= ?4)`,
    [sid, JSON.stringify([...d.streams]), JSON.stringify(contents), d.oldLength],
  );
  const out: TurnUpdate[] = [];
  for (const r of rows) {
    const idx = r.idx === null ? null : Number(r.idx);
    const t = { streamId: textOf(r.stream_id) ?? null, userMessage: textOf(r.user_text) ?? null, assistantMessageIndex: idx };
    if (!sidecarFieldsMayChange(d, t)) continue;
    const now = sidecarFields(t, sidecar, userContents);
    // A reply the index has is kept (its message is one of the old ones); one it lacked may now be there.
    const hadReply = Number(r.no_reply) === 0;
    const gainsReply = !hadReply && now.assistantReply !== null;
    if (now.live === (Number(r.live) === 1) && now.userMessageSaved === (Number(r.saved) === 1) && !gainsReply) continue;
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
    db.all('UPDATE turns SET live = ?, user_message_saved = ?, assistant_text = CAST(? AS TEXT) WHERE rowid = ?', [
      u.live ? 1 : 0,
      u.userMessageSaved ? 1 : 0,
      u.assistantReply,
      u.rowid,
    ]);
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
    if (st && maxIndex > st.maxIndex)
      db.all('UPDATE session_tail SET sidecar_messages = ? WHERE session_id = ?', [JSON.stringify([st.count, st.digest, st.active, maxIndex]), sid]);
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
  db.all('UPDATE session_tail SET sidecar_messages = CAST(? AS TEXT) WHERE session_id = ?', [sidecarMessagesOf(s, maxIndex, side.change.digest), sid]);
}
