/**
 * `session_tail.id_bloom`: a Bloom filter of the stream ids and turn ids of a session's indexed
 * events, so that the tail path (tailAppend.ts `idsAreNew`) can tell that an appended turn's ids
 * are new without looking them up in the session's events (a stream shared with an old turn would
 * join it: upstream's split turns; an old turn's id would make the new events that turn's).
 * `session_tail.user_bloom`, the same of its turns' user messages, tells that a user message a
 * rewritten sidecar gained is no indexed turn's (tailSidecar.ts). A fixed 8,192 bits (1 KiB) and 3
 * probes: adding ids is a union, so the filter after any sequence of appends is the one a full
 * rebuild computes (the index stays byte for byte the same); ~250 turns of one stream each (500
 * ids) answer "maybe" for a new id ~0.5 % of the time, 1,000 turns ~13 %; a "maybe" is settled by
 * a lookup. Hashed over UTF-16 code units (JavaScript strings as read: lone surrogates too).
 */

const BITS = 8192;
const PROBES = 3;

function hashes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Both unsigned: `(b >>> 0) | 1` is a signed int, and a negative step made a probe's bit negative —
  // never set, and read as unset: ids the filter held answered "never added" (session 6's filters).
  return [a >>> 0, (b | 1) >>> 0];
}

function emptyBloom(): Uint8Array {
  return new Uint8Array(BITS / 8);
}

function bloomAdd(bloom: Uint8Array, s: string): void {
  const [a, b] = hashes(s);
  for (let k = 0; k < PROBES; k++) {
    const bit = (a + k * b) % BITS;
    bloom[bit >>> 3] |= 1 << (bit & 7);
  }
}

/** False: `s` was never added. True: it may have been. */
export function bloomHas(bloom: Uint8Array, s: string): boolean {
  if (bloom.length !== BITS / 8) return true;
  const [a, b] = hashes(s);
  for (let k = 0; k < PROBES; k++) {
    const bit = (a + k * b) % BITS;
    if ((bloom[bit >>> 3] & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** The filter of these events' stream ids and turn ids (added to `bloom`: a filter of earlier ones). */
export function streamBloom(events: Iterable<{ streamId: string | null; turnId: string }>, bloom = emptyBloom()): Uint8Array {
  let stream: string | null = null;
  let turn = '';
  for (const e of events) {
    // A turn's events usually share one stream: hash each id once per run of equal ids.
    if (e.streamId && e.streamId !== stream) bloomAdd(bloom, e.streamId);
    if (e.turnId !== '' && e.turnId !== turn) bloomAdd(bloom, e.turnId);
    stream = e.streamId;
    turn = e.turnId;
  }
  return bloom;
}

/** The filter of these texts (null: none; added to `bloom`: a filter of earlier ones). */
export function textBloom(texts: Iterable<string | null>, bloom = emptyBloom()): Uint8Array {
  for (const t of texts) if (t !== null) bloomAdd(bloom, t);
  return bloom;
}
