/**
 * A sidecar rewritten with its messages extended (hermes-webui saves `<sid>.json` whole — temp
 * file + rename — when a turn starts and when it ends, appending the user message, then the
 * reply): what such a rewrite can change in the turns already analysed. Shared by the
 * incremental analysis (core/incrementalAnalysis.ts) and the SQLite index's tail path
 * (core/sqlite/tailSidecar.ts), so both follow the same rules.
 *
 * What a turn reads of the sidecar (analyze.ts buildTurn / finishTurn, evidence.ts): the messages
 * (by index), the set of user contents, `active_stream_id`, and — through the claims, for open
 * turns' evidence — the user messages in order. The other fields (title, model, problems, …)
 * are read only by `summarize` and the session-wide findings. So, with the old messages a
 * prefix of the new ones, a previous turn's sidecar fields (`live`, `userMessageSaved`,
 * `assistantReply`) change only if: its stream is the old or new active stream (when they
 * differ); its user message is a user content the old sidecar did not have; or its
 * `assistant_message_index` points past the old messages. (The claims are the incremental
 * analysis' own: see sidecarDelta there.)
 */

import * as crypto from 'crypto';
import { assistantReplyAt, isLive, type Turn } from './analyze';
import type { Sidecar, SidecarMessage } from './sidecar';
import { userMessageLengthOf } from './turnRecord';

export interface SidecarAppend {
  /** How many messages the old sidecar had. */
  oldLength: number;
  /** User contents among the new messages that the old sidecar did not have. */
  newContents: Set<string>;
  /** Their lengths (a user message kept by reference is read back only on an equal length). */
  newLengths: Set<number>;
  /** Every new user message's content, trimmed (claims compare trimmed contents). */
  newTrimmed: Set<string>;
  /** The old and the new active stream ids when they differ (empty when they are the same). */
  streams: Set<string>;
  /** Index of the last user message among the old messages (-1: none). */
  lastUser: number;
}

/**
 * What the rewrite from `o` to `n` changes, or why it is not an append (then a caller
 * re-analyses in full). `oldContents`: the old sidecar's user contents.
 */
export function sidecarAppend(o: Sidecar, n: Sidecar, oldContents: ReadonlySet<string>): SidecarAppend | string {
  if (!messagesExtend(o.messages, n.messages)) return "the sidecar's messages changed (not only appended to)";
  const d = appendedTo({ length: o.messages.length, users: oldContents.size > 0, activeStreamId: o.activeStreamId, had: (c) => oldContents.has(c) }, n);
  if (typeof d === 'string') return d;
  let lastUser = -1;
  for (let i = o.messages.length - 1; i >= 0 && lastUser < 0; i--) if (o.messages[i].role === 'user') lastUser = i;
  return { ...d, lastUser };
}

/** What is known of the old sidecar when its messages were checked unchanged by their bytes, not at hand. */
export interface OldSidecar {
  /** How many messages it had (`n`'s first ones). */
  length: number;
  /** Whether one of them is a user message. */
  users: boolean;
  activeStreamId: string | null;
  /** Whether it had this user content; without it every new user content counts as new (a superset, see below). */
  had?: (content: string) => boolean;
}

/**
 * sidecarAppend from what is known of the old sidecar (`n`'s first `old.length` messages are its
 * own, unchanged). Without `old.had`, `newContents` holds every new user content: a superset, which
 * sidecarFieldsMayChange and fieldsAfterAppend allow (a content the old sidecar had already saved
 * the turns asking it).
 */
export function appendedTo(old: OldSidecar, n: Sidecar): Omit<SidecarAppend, 'lastUser'> | string {
  const newContents = new Set<string>();
  const newTrimmed = new Set<string>();
  for (let i = old.length; i < n.messages.length; i++) {
    const m = n.messages[i];
    if (m.role !== 'user') continue;
    newTrimmed.add(m.content.trim());
    if (!old.had?.(m.content)) newContents.add(m.content);
  }
  // buildTurn sets userMessageSaved only when the sidecar has user messages: the first one changes every turn.
  if (!old.users && newContents.size > 0) return 'the sidecar gained its first user message';
  const streams = new Set<string>();
  if (old.activeStreamId !== n.activeStreamId) for (const s of [old.activeStreamId, n.activeStreamId]) if (s !== null) streams.add(s);
  const newLengths = new Set([...newContents].map((c) => c.length));
  return { oldLength: old.length, newContents, newLengths, newTrimmed, streams };
}

/** Whether the rewrite may change the turn's `live`, `userMessageSaved` or `assistantReply`. */
export function sidecarFieldsMayChange(
  d: Pick<SidecarAppend, 'streams' | 'newLengths' | 'newContents' | 'oldLength'>,
  t: Pick<Turn, 'streamId' | 'userMessage' | 'assistantMessageIndex'>,
): boolean {
  const idx = t.assistantMessageIndex;
  return (
    (t.streamId !== null && d.streams.has(t.streamId)) ||
    // Lengths first: a user message kept by reference is read back only when its length matches a new one.
    (d.newLengths.has(userMessageLengthOf(t) ?? -1) && t.userMessage !== null && d.newContents.has(t.userMessage)) ||
    (idx !== null && Number.isInteger(idx) && idx >= d.oldLength)
  );
}

/**
 * A turn's sidecar fields after an append (`d`), from the ones it had before (`was`) and the new
 * sidecar, needing none of the old messages: `live` from the new active stream; its user message
 * saved when it was, or when it is among the new user contents (a content the old sidecar had was
 * saved already; appendedTo refuses the first user message); its reply the same (undefined) unless
 * it points at a new message (an append leaves the old ones as they were).
 */
export function fieldsAfterAppend(
  d: Pick<SidecarAppend, 'newContents' | 'oldLength'>,
  t: Pick<Turn, 'streamId' | 'userMessage' | 'assistantMessageIndex'>,
  was: Pick<Turn, 'userMessageSaved'>,
  sidecar: Sidecar,
): { live: boolean; userMessageSaved: boolean; assistantReply: string | null | undefined } {
  const idx = t.assistantMessageIndex;
  return {
    live: isLive(t.streamId, sidecar),
    userMessageSaved: was.userMessageSaved || (t.userMessage !== null && d.newContents.has(t.userMessage)),
    assistantReply: idx !== null && Number.isInteger(idx) && idx >= d.oldLength ? assistantReplyAt(sidecar, idx) : undefined,
  };
}

/**
 * Whether `b` starts with `a`'s messages, by value (the parsed JSON, keys in the same order: the
 * analysis shows the sidecar and its turns copy message text, so equal values give equal output).
 * Linear in the old messages' size, like the read that produced `b`; the last old message is
 * compared first, so the usual edit (the last reply rewritten) is found at once.
 */
function messagesExtend(a: readonly SidecarMessage[], b: readonly SidecarMessage[]): boolean {
  if (b.length < a.length) return false;
  const k = a.length - 1;
  if (k >= 0 && !sameJson(a[k].raw, b[k].raw)) return false;
  for (let i = 0; i < k; i++) if (!sameJson(a[i].raw, b[i].raw)) return false;
  return true;
}

function sameJson(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== 'object' || typeof y !== 'object' || x === null || y === null) return typeof x === 'number' && Object.is(x, y);
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  if (Array.isArray(x)) {
    const ya = y as unknown[];
    if (x.length !== ya.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], ya[i])) return false;
    return true;
  }
  const xo = x as Record<string, unknown>;
  const yo = y as Record<string, unknown>;
  const kx = Object.keys(xo);
  const ky = Object.keys(yo);
  if (kx.length !== ky.length) return false;
  for (let i = 0; i < kx.length; i++) if (kx[i] !== ky[i] || !sameJson(xo[kx[i]], yo[ky[i]])) return false;
  return true;
}

/**
 * Digests of what terminal turns read of a sidecar's messages: each one's `role` and `content`
 * as parsed (`SidecarMessage.role`/`content` and upstream's pending rule are functions of them),
 * of the first `count` messages and of all of them, in one pass. The index keeps the digest of
 * all (`session_tail.sidecar_messages`) to tell, without the old file, that a rewritten sidecar's
 * first messages are the ones it indexed, for a sidecar not in hermes-webui's `indent=2` layout
 * (in that layout it keeps the digest of the messages' bytes: core/sqlite/sidecarState.ts). The other fields of a message (timestamps, error
 * markers, tool calls) feed only the claims and evidence of open turns, which the tail path
 * never handles (a session with an open turn is redone whole).
 */
export function messagesDigests(messages: readonly SidecarMessage[], count = messages.length): { prefix: string; all: string } {
  const h = crypto.createHash('sha1');
  const part = (from: number, to: number): void => {
    const parts: string[] = [];
    const put = (v: unknown): void => {
      const s = typeof v === 'string' ? `s${v}` : v === undefined ? 'u' : `j${JSON.stringify(v)}`;
      parts.push(`${s.length}:${s}`);
    };
    for (let i = from; i < to; i++) {
      put(messages[i].raw.role);
      put(messages[i].raw.content);
    }
    h.update(parts.join(''), 'utf16le'); // lossless for any string, lone surrogates included; no UTF-8 encoding pass
  };
  part(0, count);
  const prefix = count === messages.length ? null : h.copy().digest('hex');
  part(count, messages.length);
  const all = h.digest('hex');
  return { prefix: prefix ?? all, all };
}
