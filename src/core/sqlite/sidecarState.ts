/**
 * `session_tail.sidecar_messages`: what the index keeps of a session's sidecar so that the tail
 * path (tailSidecar.ts) can follow a rewrite that only appended messages without the old file:
 * `[count, digest, active_stream_id, max reply index, users, bytes]` — how many messages it had,
 * their digest, its `active_stream_id`, the largest integer `assistant_message_index` of the
 * session's turns (-1: none; while it is below the message count no turn can gain its reply),
 * whether one message is a user message (1/0), and:
 *
 * - `bytes` a number: the digest is SHA-256 of the message array's element bytes (the bytes between
 *   `\n  "messages": [` and the `\n  ]` that closes it, as core/sidecarReuse.ts finds and checks
 *   them: hermes-webui's `indent=2` layout), `bytes` their length. A rewrite whose array starts with
 *   those bytes kept its old messages exactly; only the bytes are hashed, nothing is decoded.
 * - `bytes` null (another layout, or no message): the digest is of each message's role and content
 *   as parsed (core/sidecarAppend.ts `messagesDigests`); a rewrite is decoded whole to compare it.
 *
 * A full rebuild reads every sidecar split (sidecarReuse with `minBytes` 0) to get the element
 * bytes; the tail path writes the state a full rebuild would write for the new file.
 */

import * as crypto from 'crypto';
import { parseSidecarObject, type Sidecar, type SidecarMessage } from '../sidecar';
import { messagesDigests } from '../sidecarAppend';
import type { SidecarReuse } from '../sidecarReuse';

export interface SidecarState {
  count: number;
  digest: string;
  active: string | null;
  maxIndex: number;
  /** One of the messages is a user message. */
  users: boolean;
  /** The length of the message array's element bytes, which `digest` is of; null: `digest` is of the roles and contents. */
  bytes: number | null;
}

/** The element bytes of a sidecar's message array, as kept by a split read: their length and digest. */
export interface ElementBytes {
  length: number;
  digest: string;
}

export function stateText(s: SidecarState): string {
  return JSON.stringify([s.count, s.digest, s.active, s.maxIndex, s.users ? 1 : 0, s.bytes]);
}

export function stateOf(text: string | null): SidecarState | null {
  if (text === null) return null;
  try {
    const [count, digest, active, maxIndex, users, bytes] = JSON.parse(text) as [number, string, string | null, number, number, number | null];
    if (!Number.isInteger(count) || typeof maxIndex !== 'number' || typeof digest !== 'string') return null;
    return { count, digest, active, maxIndex, users: users === 1, bytes: Number.isInteger(bytes) ? bytes : null };
  } catch {
    return null;
  }
}

/** A hash of element bytes, to be continued (the tail path hashes the old bytes, checks, then the new ones). */
export function elementsHash(): crypto.Hash {
  return crypto.createHash('sha256');
}

/** What a split read (`reuse` with `minBytes` 0) kept of the message array: null when the file was parsed whole (another layout) or has no message. */
export function keptBytes(reuse: SidecarReuse): ElementBytes | null {
  const k = reuse.kept;
  if (!k || k.raws.length === 0) return null;
  return { length: k.elements.length, digest: elementsHash().update(k.elements).digest('hex') };
}

/** The state of a sidecar read whole (`bytes`: keptBytes of its read), but its max reply index. */
export function sidecarStateOf(sidecar: Sidecar, bytes: ElementBytes | null): Omit<SidecarState, 'maxIndex'> {
  const m = sidecar.messages;
  const users = m.some((x) => x.role === 'user');
  if (bytes && m.length > 0) return { count: m.length, digest: bytes.digest, active: sidecar.activeStreamId, users, bytes: bytes.length };
  return { count: m.length, digest: messagesDigests(m).all, active: sidecar.activeStreamId, users, bytes: null };
}

/** `session_tail.sidecar_messages` of a session analysed whole (NULL without a readable sidecar). */
export function sidecarMessagesOf(sidecar: Sidecar | null, maxIndex: number, bytes: ElementBytes | null): string | null {
  return sidecar ? stateText({ ...sidecarStateOf(sidecar, bytes), maxIndex }) : null;
}

const PLACEHOLDER_RAW: Record<string, unknown> = Object.freeze({});
const PLACEHOLDER: SidecarMessage = Object.freeze({ role: '', content: '', timestamp: null, recovered: false, error: false, raw: PLACEHOLDER_RAW });

/**
 * A sidecar's fields from `rest` (its top-level object but its messages), its messages `count`
 * stand-ins for those the index checked unchanged but did not read — no role, no content (the
 * tail path's analysis must not need them: tailSidecar.ts `partialSuffices`) — then `added`.
 * The stand-ins are one shared object, given to parseSidecarObject as a last read's messages
 * (core/sidecar.ts keeps a last read's SidecarMessages for the same values at the same places).
 */
export function withPlaceholders(p: string, rest: Record<string, unknown>, count: number, added: unknown[], size = 0, mtimeMs = 0): Sidecar {
  const raws = new Array<unknown>(count).fill(PLACEHOLDER_RAW);
  const prior = { raws, messages: new Array<SidecarMessage>(count).fill(PLACEHOLDER), problems: [] };
  return parseSidecarObject(p, { ...rest, messages: raws.concat(added) }, size, mtimeMs, { kept: null, last: 'reuse', prior });
}
