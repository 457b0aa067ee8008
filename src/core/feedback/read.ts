/**
 * The feedback reader's file-level API (used by the SQLite index): reading one
 * `_turn_feedback/*.jsonl` file whole, listing them, and the winning record per
 * (session, turn). One reader: this is a thin face over `store.ts` (ShardReader-based,
 * torn and garbage lines reported as problems) and `latest.ts` (timestamp, then file order).
 */

import { promises as fsp } from 'fs';
import * as path from 'path';
import { compareFeedback } from './latest';
import { FEEDBACK_DIR_NAME, feedbackDir, type FeedbackProblem, type FeedbackRecord } from './record';
import { SessionFeedbackFile } from './store';

export { FEEDBACK_DIR_NAME, parseFeedbackRecord, type FeedbackProblem, type FeedbackRecord } from './record';

export interface FeedbackFile {
  file: string;
  path: string;
  records: FeedbackRecord[];
  problems: FeedbackProblem[];
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Splits a buffer into `\n` lines with their byte offsets (a `\r` before `\n` is dropped). */
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

/**
 * Reads one feedback file whole. A file that cannot be read (a FIFO, device, mode 000, gone)
 * is not an error of the whole run: it comes back without records, with a `cannot read`
 * problem (a finding), so the rest of the work goes on.
 */
export async function readFeedbackFile(file: string, name = path.basename(file)): Promise<FeedbackFile> {
  const f = new SessionFeedbackFile(file, name);
  await f.refresh();
  const info = f.fileInfo;
  return { file: name, path: file, records: [...f.records], problems: f.problems, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino };
}

/** Every `_turn_feedback/*.jsonl` of a sessions folder, by file name (none: empty list). */
export async function listFeedbackFiles(sessionsDir: string): Promise<{ name: string; path: string }[]> {
  const dir = feedbackDir(sessionsDir);
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

/** The winning record per (session, turn) — legacy turnless records per session — by timestamp, then file order. */
export function latestFeedback(records: readonly FeedbackRecord[]): Map<string, FeedbackRecord> {
  const m = new Map<string, FeedbackRecord>();
  for (const r of records) {
    const k = feedbackKey(r.sessionId, r.turnId);
    const prev = m.get(k);
    if (!prev || compareFeedback(prev, r) <= 0) m.set(k, r);
  }
  return m;
}

export function feedbackKey(sessionId: string, turnId: string | null): string {
  return `${sessionId}\u0000${turnId ?? ''}`;
}
