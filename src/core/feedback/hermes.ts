/**
 * hermes-webui's own thumbs (FORMATS.md §6, upstream `api/feedback.py`): `feedback.jsonl` in
 * hermes' state dir — for the default profile the parent of the sessions folder. One compact
 * JSON object a line: `ts` (float epoch), `session_id`, `rating` ("up"/"down"), `profile`,
 * `message_id` and/or `index` (the sidecar message of the rated answer), optional `reason`
 * (downvotes), `model`, `mode`. We read it; we never write it.
 *
 * Each record is mapped to the turn whose answer is that sidecar message and becomes a rating
 * by reviewer `hermes-webui` (with its reason), so the tree, the timeline and exports treat it
 * like any reviewer's. Records that match no turn are listed, never dropped silently.
 *
 * All reading of the file is in `readHermesFeedbackFile`, through fsSafe's reader (regular
 * file only, no symbolic link, opened non-blocking), capped in size.
 */

import * as path from 'path';
import { describeError, openRead } from '../fsSafe';
import type { SessionAnalysis } from '../analyze';
import type { FeedbackRecord } from './record';

export const HERMES_REVIEWER = 'hermes-webui';
export const HERMES_FEEDBACK_FILE = 'feedback.jsonl';
/** Upstream caps the file at 5 MiB; we read at most this much (more is reported, not read). */
export const HERMES_FEEDBACK_MAX_BYTES = 16 * 1024 * 1024;

export interface HermesFeedback {
  line: number;
  ts: number | null;
  sessionId: string;
  rating: 1 | -1;
  index: number | null;
  messageId: string | null;
  reason: string | null;
  model: string | null;
  profile: string | null;
}

export interface HermesFeedbackRead {
  path: string;
  records: HermesFeedback[];
  /** Lines that are not records, and why the file could not be read (missing is not a problem). */
  problems: string[];
  exists: boolean;
}

/** Where hermes keeps the default profile's `feedback.jsonl` for a sessions folder. */
export function defaultHermesFeedbackPath(sessionsDir: string): string {
  return path.join(path.dirname(path.resolve(sessionsDir)), HERMES_FEEDBACK_FILE);
}

/** Reads and parses hermes' feedback file. Never throws; never opens anything but a regular file. */
export async function readHermesFeedbackFile(file: string): Promise<HermesFeedbackRead> {
  const out: HermesFeedbackRead = { path: file, records: [], problems: [], exists: false };
  let text: string;
  try {
    const { fh, stat } = await openRead(file);
    try {
      out.exists = true;
      const size = Math.min(stat.size, HERMES_FEEDBACK_MAX_BYTES);
      if (stat.size > HERMES_FEEDBACK_MAX_BYTES)
        out.problems.push(`${file}: larger than ${HERMES_FEEDBACK_MAX_BYTES} bytes; only the first ${HERMES_FEEDBACK_MAX_BYTES} were read`);
      const buf = Buffer.alloc(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await fh.read(buf, got, size - got, got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      text = buf.subarray(0, got).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') out.problems.push(`${file}: not read (${describeError(e)})`);
    return out;
  }
  const lines = text.split('\n');
  const torn = !text.endsWith('\n') && text !== '' ? lines.length : -1;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    if (i + 1 === torn) {
      out.problems.push(`${HERMES_FEEDBACK_FILE}:${i + 1}: torn final line (no newline): not read`);
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(raw);
    } catch {
      out.problems.push(`${HERMES_FEEDBACK_FILE}:${i + 1}: not JSON`);
      continue;
    }
    const r = parseHermesFeedback(v, i + 1);
    if (typeof r === 'string') out.problems.push(`${HERMES_FEEDBACK_FILE}:${i + 1}: ${r}`);
    else out.records.push(r);
  }
  return out;
}

export function parseHermesFeedback(v: unknown, line: number): HermesFeedback | string {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  if (typeof o.session_id !== 'string' || o.session_id.trim() === '') return 'session_id is missing';
  if (o.rating !== 'up' && o.rating !== 'down') return `rating is ${JSON.stringify(o.rating) ?? 'missing'}, not "up" or "down"`;
  const index = typeof o.index === 'number' && Number.isInteger(o.index) && o.index >= 0 ? o.index : null;
  const messageId = typeof o.message_id === 'string' && o.message_id !== '' ? o.message_id : null;
  if (index === null && messageId === null) return 'neither index nor message_id';
  const str = (x: unknown) => (typeof x === 'string' && x !== '' ? x : null);
  return {
    line,
    ts: typeof o.ts === 'number' && Number.isFinite(o.ts) ? o.ts : null,
    sessionId: o.session_id.trim(),
    rating: o.rating === 'up' ? 1 : -1,
    index,
    messageId,
    reason: o.rating === 'down' ? str(o.reason) : null,
    model: str(o.model),
    profile: str(o.profile),
  };
}

export interface HermesMatch {
  /** Ratings as records of reviewer `hermes-webui`, by turn id. */
  records: FeedbackRecord[];
  /** Why each unmatched record matched no turn. */
  unmatched: { record: HermesFeedback; why: string }[];
}

/**
 * Maps one session's hermes records to its turns: the turn whose `assistant_message_index` is
 * the record's `index`, or the index of the sidecar message whose `id`/`message_id` is the
 * record's `message_id`. When a regeneration reused the index, the newest completed turn there
 * holds the answer the sidecar shows (and hermes rated).
 */
export function matchHermesFeedback(records: readonly HermesFeedback[], analysis: SessionAnalysis): HermesMatch {
  const out: HermesMatch = { records: [], unmatched: [] };
  const msgs = analysis.sidecar?.messages ?? [];
  const byIndex = new Map<number, (typeof analysis.turns)[number]>();
  for (const t of analysis.turns) {
    const i = t.assistantMessageIndex;
    if (i === null || !Number.isInteger(i)) continue;
    const prev = byIndex.get(i);
    if (!prev || (t.lastAt ?? -Infinity) >= (prev.lastAt ?? -Infinity)) byIndex.set(i, t);
  }
  for (const r of records) {
    let index = r.index;
    if (r.messageId !== null) {
      const at = msgs.findIndex((m) => {
        const id = m.raw.id ?? m.raw.message_id;
        return id !== undefined && id !== null && String(id) === r.messageId;
      });
      if (at >= 0) {
        if (index !== null && index !== at) {
          out.unmatched.push({ record: r, why: `message_id is message ${at} but index is ${index}` });
          continue;
        }
        index = at;
      } else if (index === null) {
        out.unmatched.push({ record: r, why: 'no sidecar message has this message_id' });
        continue;
      }
    }
    if (index === null) continue;
    if (!analysis.sidecar) {
      out.unmatched.push({ record: r, why: 'the session has no sidecar' });
      continue;
    }
    if (index >= msgs.length || msgs[index].role !== 'assistant') {
      out.unmatched.push({ record: r, why: `sidecar message ${index} is not an assistant answer` });
      continue;
    }
    const turn = byIndex.get(index);
    if (!turn) {
      out.unmatched.push({ record: r, why: `no journal turn answered at message ${index}` });
      continue;
    }
    const timestamp = r.ts === null ? null : new Date(r.ts * 1000).toISOString();
    out.records.push({
      id: null,
      sessionId: analysis.sessionId,
      turnId: turn.turnId,
      feedback: r.rating,
      note: null,
      tags: null,
      reason: r.reason,
      reviewer: HERMES_REVIEWER,
      timestamp,
      file: HERMES_FEEDBACK_FILE,
      line: r.line,
      raw: '',
    });
  }
  return out;
}

/** Records grouped by session id. */
export function hermesBySession(records: readonly HermesFeedback[]): Map<string, HermesFeedback[]> {
  const m = new Map<string, HermesFeedback[]>();
  for (const r of records) {
    const g = m.get(r.sessionId);
    if (g) g.push(r);
    else m.set(r.sessionId, [r]);
  }
  return m;
}
