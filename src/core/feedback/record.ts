/**
 * Turn feedback records (docs/feedback.md): `_turn_feedback/<sid>.jsonl` in the sessions
 * folder, one JSON object a line, append-only:
 *
 *   {"type":"feedback","version":1,"id":<uuid>,"session_id":…,"turn_id":…,
 *    "feedback":1|-1|0,"note"?:str,"tags"?:[str],"reviewer":str,"timestamp":<ISO-8601 UTC>}
 *
 * Never written into the turn journal: upstream would read a feedback line as the turn's
 * latest state. The interaction log's legacy correction `{"type":"feedback","session_id",
 * "feedback",-1,"timestamp"}` (FORMATS.md §3: no version, no turn) is accepted by the parser
 * with `turnId` null; it never rates a turn. Pure: no I/O.
 */

import { randomUUID } from 'crypto';
import * as path from 'path';
import { lastCallMemo } from '../pathMemo';
import { isValidSessionId } from '../sessionId';

export const FEEDBACK_DIR_NAME = '_turn_feedback';
export const FEEDBACK_VERSION = 1;

export type FeedbackValue = 1 | -1 | 0;

export interface FeedbackRecord {
  id: string | null;
  sessionId: string;
  /** null for a legacy session-level correction (never applied to a turn). */
  turnId: string | null;
  feedback: FeedbackValue;
  note: string | null;
  tags: string[] | null;
  /** Why a 👎 (upstream's list by default: inaccurate, not_helpful, too_long, harmful); null when none. */
  reason: string | null;
  reviewer: string | null;
  /** As written (ISO-8601 UTC for records we write). */
  timestamp: string | null;
  /** Where it was read: file name (e.g. `_turn_feedback/s1.jsonl`) and 1-based line. */
  file: string;
  line: number;
  raw: string;
}

export interface FeedbackProblem {
  file: string;
  line: number;
  offset: number;
  length: number;
  /** Why the line is not a usable record. */
  detail: string;
  preview: string;
}

/** Limits for what we write (reading accepts anything well-typed). */
export const MAX_NOTE_CHARS = 10_000;
export const MAX_TAGS = 32;
export const MAX_TAG_CHARS = 64;
export const MAX_REVIEWER_CHARS = 200;

export function feedbackDir(sessionsDir: string): string {
  return path.join(sessionsDir, FEEDBACK_DIR_NAME);
}

export const feedbackFilePath: (sessionsDir: string, sessionId: string) => string = lastCallMemo((sessionsDir, sessionId) => {
  if (!isValidSessionId(sessionId)) throw new Error(`invalid session id: ${JSON.stringify(sessionId)}`);
  return path.join(feedbackDir(sessionsDir), `${sessionId}.jsonl`);
});

/** The session id of a `_turn_feedback/` file name, or null when it is not one. */
export function sessionIdOfFeedbackFile(name: string): string | null {
  if (!name.endsWith('.jsonl')) return null;
  const sid = name.slice(0, -'.jsonl'.length);
  return isValidSessionId(sid) ? sid : null;
}

/** Validates one parsed JSON line as a feedback record; a string says why it is not one. */
export function parseFeedbackRecord(v: unknown, file: string, line: number, raw: string): FeedbackRecord | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (o.type !== 'feedback') return `type is ${JSON.stringify(o.type) ?? 'missing'}, not "feedback"`;
  if (typeof o.session_id !== 'string' || !isValidSessionId(o.session_id)) return 'session_id is missing or not a valid session id';
  if (o.feedback !== 1 && o.feedback !== -1 && o.feedback !== 0) return `feedback is ${JSON.stringify(o.feedback) ?? 'missing'}, not 1, -1 or 0`;
  const legacy = o.version === undefined && o.turn_id === undefined;
  if (!legacy) {
    if (o.version !== FEEDBACK_VERSION) return `version ${JSON.stringify(o.version) ?? 'missing'} is not supported`;
    if (typeof o.turn_id !== 'string' || o.turn_id.trim() === '') return 'turn_id is missing';
  }
  if (o.note !== undefined && o.note !== null && typeof o.note !== 'string') return 'note is not a string';
  if (o.tags !== undefined && o.tags !== null && !(Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string'))) return 'tags is not a list of strings';
  if (o.timestamp !== undefined && o.timestamp !== null && typeof o.timestamp !== 'string') return 'timestamp is not a string';
  if (o.reviewer !== undefined && o.reviewer !== null && typeof o.reviewer !== 'string') return 'reviewer is not a string';
  if (o.reason !== undefined && o.reason !== null && typeof o.reason !== 'string') return 'reason is not a string';
  return {
    id: typeof o.id === 'string' ? o.id : null,
    sessionId: o.session_id,
    turnId: legacy ? null : (o.turn_id as string).trim(),
    feedback: o.feedback,
    note: typeof o.note === 'string' ? o.note : null,
    tags: Array.isArray(o.tags) ? (o.tags as string[]) : null,
    reason: typeof o.reason === 'string' && o.reason !== '' ? o.reason : null,
    reviewer: typeof o.reviewer === 'string' ? o.reviewer : null,
    timestamp: typeof o.timestamp === 'string' ? o.timestamp : null,
    file,
    line,
    raw,
  };
}

export interface NewFeedback {
  sessionId: string;
  turnId: string;
  feedback: FeedbackValue;
  note?: string | null;
  tags?: readonly string[] | null;
  /** Only with -1 (a 👎's reason). */
  reason?: string | null;
  reviewer: string;
  /** Defaults to now. */
  at?: Date;
  /** Defaults to a random UUID. */
  id?: string;
}

/** Builds the JSON line of a new record (without `\n`), validating what we write. */
export function formatFeedbackRecord(f: NewFeedback): string {
  if (!isValidSessionId(f.sessionId)) throw new Error(`invalid session id: ${JSON.stringify(f.sessionId)}`);
  const turnId = f.turnId.trim();
  if (turnId === '') throw new Error('the turn id is empty');
  if (f.feedback !== 1 && f.feedback !== -1 && f.feedback !== 0) throw new Error(`feedback must be 1, -1 or 0, not ${JSON.stringify(f.feedback)}`);
  const reviewer = f.reviewer.trim();
  if (reviewer === '') throw new Error('the reviewer name is empty');
  if (reviewer.length > MAX_REVIEWER_CHARS) throw new Error(`the reviewer name is longer than ${MAX_REVIEWER_CHARS} characters`);
  const rec: Record<string, unknown> = {
    type: 'feedback',
    version: FEEDBACK_VERSION,
    id: f.id ?? randomUUID(),
    session_id: f.sessionId,
    turn_id: turnId,
    feedback: f.feedback,
  };
  if (f.note !== undefined && f.note !== null && f.note !== '') {
    if (f.note.length > MAX_NOTE_CHARS) throw new Error(`the note is longer than ${MAX_NOTE_CHARS} characters`);
    rec.note = f.note;
  }
  if (f.tags && f.tags.length > 0) {
    const tags = [...new Set(f.tags.map((t) => t.trim()).filter((t) => t !== ''))];
    if (tags.length > MAX_TAGS) throw new Error(`more than ${MAX_TAGS} tags`);
    for (const t of tags) if (t.length > MAX_TAG_CHARS) throw new Error(`tag "${t.slice(0, 20)}…" is longer than ${MAX_TAG_CHARS} characters`);
    if (tags.length) rec.tags = tags;
  }
  if (f.reason !== undefined && f.reason !== null && f.reason.trim() !== '') {
    if (f.feedback !== -1) throw new Error('a reason goes with 👎 (--down) only');
    const reason = f.reason.trim();
    if (reason.length > MAX_TAG_CHARS) throw new Error(`the reason is longer than ${MAX_TAG_CHARS} characters`);
    rec.reason = reason;
  }
  rec.reviewer = reviewer;
  rec.timestamp = (f.at ?? new Date()).toISOString();
  // JSON.stringify escapes \n and \r inside strings, and U+2028/2029 stay inside the line.
  return JSON.stringify(rec);
}

/** Epoch milliseconds of a record's timestamp, or null when it has none or it does not parse. */
export function timestampMs(r: Pick<FeedbackRecord, 'timestamp'>): number | null {
  if (r.timestamp === null) return null;
  const t = Date.parse(r.timestamp);
  return Number.isFinite(t) ? t : null;
}

/** Upstream's 👎 reasons (hermes-webui `api/feedback.py`): the default list of `botMemory.feedback.reasons`. */
export const DEFAULT_REASONS: readonly string[] = ['inaccurate', 'not_helpful', 'too_long', 'harmful'];

/** Longest correction we write (a better answer can be long; the line stays well under the reader's limit). */
export const MAX_CORRECTION_CHARS = 200_000;

/**
 * A reviewer's better answer for a turn, in the same file as the ratings:
 *
 *   {"type":"correction","version":1,"id":<uuid>,"session_id":…,"turn_id":…,"text":str,
 *    "reviewer":str,"timestamp":<ISO-8601 UTC>}
 *
 * Append-only like ratings: every correction stays in the history, the latest (timestamp, then
 * file order) is the turn's; an empty `text` withdraws it.
 */
export interface CorrectionRecord {
  id: string | null;
  sessionId: string;
  turnId: string;
  text: string;
  reviewer: string | null;
  timestamp: string | null;
  file: string;
  line: number;
}

export function parseCorrectionRecord(v: unknown, file: string, line: number): CorrectionRecord | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (o.type !== 'correction') return `type is ${JSON.stringify(o.type) ?? 'missing'}, not "correction"`;
  if (o.version !== FEEDBACK_VERSION) return `version ${JSON.stringify(o.version) ?? 'missing'} is not supported`;
  if (typeof o.session_id !== 'string' || !isValidSessionId(o.session_id)) return 'session_id is missing or not a valid session id';
  if (typeof o.turn_id !== 'string' || o.turn_id.trim() === '') return 'turn_id is missing';
  if (typeof o.text !== 'string') return 'text is not a string';
  if (o.timestamp !== undefined && o.timestamp !== null && typeof o.timestamp !== 'string') return 'timestamp is not a string';
  if (o.reviewer !== undefined && o.reviewer !== null && typeof o.reviewer !== 'string') return 'reviewer is not a string';
  return {
    id: typeof o.id === 'string' ? o.id : null,
    sessionId: o.session_id,
    turnId: o.turn_id.trim(),
    text: o.text,
    reviewer: typeof o.reviewer === 'string' ? o.reviewer : null,
    timestamp: typeof o.timestamp === 'string' ? o.timestamp : null,
    file,
    line,
  };
}

export interface NewCorrection {
  sessionId: string;
  turnId: string;
  /** The better answer; '' withdraws the turn's correction. */
  text: string;
  reviewer: string;
  at?: Date;
  id?: string;
}

export function formatCorrectionRecord(c: NewCorrection): string {
  if (!isValidSessionId(c.sessionId)) throw new Error(`invalid session id: ${JSON.stringify(c.sessionId)}`);
  const turnId = c.turnId.trim();
  if (turnId === '') throw new Error('the turn id is empty');
  const reviewer = c.reviewer.trim();
  if (reviewer === '') throw new Error('the reviewer name is empty');
  if (reviewer.length > MAX_REVIEWER_CHARS) throw new Error(`the reviewer name is longer than ${MAX_REVIEWER_CHARS} characters`);
  if (c.text.length > MAX_CORRECTION_CHARS) throw new Error(`the correction is longer than ${MAX_CORRECTION_CHARS} characters`);
  const text = c.text.trim() === '' ? '' : c.text;
  return JSON.stringify({
    type: 'correction',
    version: FEEDBACK_VERSION,
    id: c.id ?? randomUUID(),
    session_id: c.sessionId,
    turn_id: turnId,
    text,
    reviewer,
    timestamp: (c.at ?? new Date()).toISOString(),
  });
}
