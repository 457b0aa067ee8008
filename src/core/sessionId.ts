/**
 * Session-id and shard-name rules of hermes-webui's turn journal (FORMATS.md §1).
 *
 * A session id matches `^[A-Za-z0-9_.-]+$` and is neither `.` nor `..`. `~` cannot occur
 * in an id, so everything before the first `~` of a shard's file stem is the session id:
 * `<sid>.jsonl` is the legacy single file, `<sid>~<tag>.jsonl` a per-process shard.
 */

const SESSION_ID_RE = /^[A-Za-z0-9_.-]+$/;

export const JOURNAL_DIR_NAME = '_turn_journal';
export const SHARD_EXTENSION = '.jsonl';

export function isValidSessionId(id: string): boolean {
  return SESSION_ID_RE.test(id) && id !== '.' && id !== '..';
}

export type ShardNameParse =
  { ok: true; sessionId: string; /** text after the first `~`, or null for the legacy file */ tag: string | null } | { ok: false; reason: string };

/** Splits a file name from `_turn_journal/` into session id and shard tag. */
export function parseShardFileName(fileName: string): ShardNameParse {
  if (!fileName.endsWith(SHARD_EXTENSION)) {
    return { ok: false, reason: `not a ${SHARD_EXTENSION} file` };
  }
  const stem = fileName.slice(0, -SHARD_EXTENSION.length);
  const tilde = stem.indexOf('~');
  const sessionId = tilde === -1 ? stem : stem.slice(0, tilde);
  const tag = tilde === -1 ? null : stem.slice(tilde + 1);
  if (!isValidSessionId(sessionId)) {
    return {
      ok: false,
      reason:
        sessionId.length === 0 ? 'the session id before "~" is empty' : `"${sessionId}" breaks the session-id rule ^[A-Za-z0-9_.-]+$ (and not "." or "..")`,
    };
  }
  if (tag !== null && tag.length === 0) {
    return { ok: false, reason: 'the shard tag after "~" is empty' };
  }
  if (tag !== null && /[\\/\0]/.test(tag)) {
    return { ok: false, reason: 'the shard tag contains a path separator or NUL' };
  }
  return { ok: true, sessionId, tag };
}

/** The file name of a session's shard with the given tag (null = legacy file). */
export function shardFileName(sessionId: string, tag: string | null): string {
  if (!isValidSessionId(sessionId)) throw new Error(`invalid session id: ${JSON.stringify(sessionId)}`);
  return tag === null ? `${sessionId}${SHARD_EXTENSION}` : `${sessionId}~${tag}${SHARD_EXTENSION}`;
}

/**
 * Byte-wise comparison of file names: the documented shard order within a session
 * (the legacy `<sid>.jsonl` sorts before every `<sid>~…` shard because '.' < '~').
 */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
