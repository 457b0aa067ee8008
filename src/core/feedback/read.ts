/**
 * Reading turn feedback records (a minimal reader; the writer is a separate feature).
 *
 * Format: `_turn_feedback/<sid>.jsonl` in the sessions folder, one record per line:
 * `{"type":"feedback","version":1,"id":uuid,"session_id","turn_id","feedback":1|-1|0,
 *   "note"?:str,"tags"?:[str],"reviewer":str,"timestamp":ISO-8601 UTC}`.
 * The latest record per (session, turn) wins: the one later in the file.
 *
 * The interaction log's legacy correction `{"type":"feedback","session_id","feedback":-1,
 * "timestamp"}` (no version, no turn) is accepted by `parseFeedbackRecord` with `turnId`
 * null. Anything else is a problem reported with its line, never an exception.
 */

import { promises as fsp } from 'fs';
import * as path from 'path';
import { isValidSessionId } from '../sessionId';

export const FEEDBACK_DIR_NAME = '_turn_feedback';

export interface FeedbackRecord {
  id: string | null;
  sessionId: string;
  /** null for a legacy session-level correction. */
  turnId: string | null;
  feedback: 1 | -1 | 0;
  note: string | null;
  tags: string[] | null;
  reviewer: string | null;
  timestamp: string | null;
  /** Where it was read: file name and 1-based line. */
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

export interface FeedbackFile {
  file: string;
  path: string;
  records: FeedbackRecord[];
  problems: FeedbackProblem[];
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Validates one parsed JSON line as a feedback record; a string says why it is not one. */
export function parseFeedbackRecord(v: unknown, file: string, line: number, raw: string): FeedbackRecord | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (o.type !== 'feedback') return `type is ${JSON.stringify(o.type)}, not "feedback"`;
  if (typeof o.session_id !== 'string' || !isValidSessionId(o.session_id)) return 'session_id is missing or not a valid session id';
  if (o.feedback !== 1 && o.feedback !== -1 && o.feedback !== 0) return `feedback is ${JSON.stringify(o.feedback)}, not 1, -1 or 0`;
  const legacy = o.version === undefined && o.turn_id === undefined;
  if (!legacy) {
    if (o.version !== 1) return `version ${JSON.stringify(o.version)} is not supported`;
    if (typeof o.turn_id !== 'string' || o.turn_id.trim() === '') return 'turn_id is missing';
  }
  if (o.note !== undefined && o.note !== null && typeof o.note !== 'string') return 'note is not a string';
  if (o.tags !== undefined && o.tags !== null && !(Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string'))) return 'tags is not a list of strings';
  if (o.timestamp !== undefined && typeof o.timestamp !== 'string') return 'timestamp is not a string';
  return {
    id: typeof o.id === 'string' ? o.id : null,
    sessionId: o.session_id,
    turnId: legacy ? null : (o.turn_id as string),
    feedback: o.feedback,
    note: typeof o.note === 'string' ? o.note : null,
    tags: Array.isArray(o.tags) ? (o.tags as string[]) : null,
    reviewer: typeof o.reviewer === 'string' ? o.reviewer : null,
    timestamp: typeof o.timestamp === 'string' ? o.timestamp : null,
    file,
    line,
    raw,
  };
}

/** Splits text into `\n` lines with their byte offsets (a `\r` before `\n` is dropped). */
export function* jsonlLines(buf: Buffer): Generator<{ line: number; offset: number; length: number; text: string }> {
  let start = 0;
  let line = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl;
    line++;
    let bytes = buf.subarray(start, end);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    yield { line, offset: start, length: end - start, text: bytes.toString('utf8') };
    start = end + 1;
  }
}

export async function readFeedbackFile(file: string, name = path.basename(file)): Promise<FeedbackFile> {
  const st = await fsp.stat(file);
  const buf = await fsp.readFile(file);
  const out: FeedbackFile = { file: name, path: file, records: [], problems: [], size: buf.length, mtimeMs: st.mtimeMs, ino: st.ino };
  for (const l of jsonlLines(buf)) {
    if (l.text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(l.text);
    } catch (e) {
      out.problems.push({ file: name, line: l.line, offset: l.offset, length: l.length, detail: `not JSON: ${(e as Error).message}`, preview: l.text.slice(0, 2048) });
      continue;
    }
    const r = parseFeedbackRecord(parsed, name, l.line, l.text);
    if (typeof r === 'string') out.problems.push({ file: name, line: l.line, offset: l.offset, length: l.length, detail: r, preview: l.text.slice(0, 2048) });
    else out.records.push(r);
  }
  return out;
}

/** Every `_turn_feedback/*.jsonl` of a sessions folder, by file name (none: empty list). */
export async function listFeedbackFiles(sessionsDir: string): Promise<{ name: string; path: string }[]> {
  const dir = path.join(sessionsDir, FEEDBACK_DIR_NAME);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.jsonl'))
    .sort()
    .map((n) => ({ name: `${FEEDBACK_DIR_NAME}/${n}`, path: path.join(dir, n) }));
}

/** The winning record per (session, turn): the later one in reading order. */
export function latestFeedback(records: readonly FeedbackRecord[]): Map<string, FeedbackRecord> {
  const m = new Map<string, FeedbackRecord>();
  for (const r of records) m.set(feedbackKey(r.sessionId, r.turnId), r);
  return m;
}

export function feedbackKey(sessionId: string, turnId: string | null): string {
  return `${sessionId}\u0000${turnId ?? ''}`;
}
