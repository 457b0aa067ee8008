/**
 * The records pushed to the GitHub interaction log (docs/github-log.md): one `interaction`
 * record per finished (terminal) turn, and the reviewers' `feedback` records as stored in
 * `<sessionsDir>/_turn_feedback/<sid>.jsonl`, pushed with `type: "turn_feedback"`. Every record has a stable `id`, which is what
 * makes a push exactly-once.
 */

import * as fs from 'fs';
import { describeError, readTextSync } from '../fsSafe';
import * as path from 'path';
import type { Turn } from '../analyze';
import { auditSessions } from '../audit';
import { discoverSessions } from '../discovery';
import { parseJsonLine } from '../jsonLine';
import { redactText, type RedactionCounts } from '../feedback/redact';

export const FEEDBACK_DIR_NAME = '_turn_feedback';

/** The `type` of a pushed per-turn feedback record (stored locally as `feedback`). */
export const TURN_FEEDBACK_TYPE = 'turn_feedback';

export interface InteractionRecord {
  type: 'interaction';
  version: 1;
  /** `<session_id>/<turn_id>` */
  id: string;
  session_id: string;
  turn_id: string;
  /** `completed` or `interrupted` (upstream's derived state). */
  state: string;
  /** Epoch seconds of the turn's first event. */
  created_at: number | null;
  /** Epoch seconds of its (latest) terminal event. */
  completed_at: number | null;
  model: string | null;
  model_provider: string | null;
  /** The user's message (`submitted.content`). */
  user: string | null;
  /** The assistant's reply from the sidecar, when the turn points at one. */
  assistant: string | null;
  /** Only on interrupted turns. */
  reason?: string;
}

/** One record ready to push: its id and its exact line (no newline). */
export interface LogRecord {
  id: string;
  line: string;
}

export function interactionRecord(sessionId: string, turn: Turn): InteractionRecord | null {
  if (!turn.terminal) return null;
  const term = [...turn.events].reverse().find((e) => e.terminal);
  const at = term?.createdAtRaw;
  const rec: InteractionRecord = {
    type: 'interaction',
    version: 1,
    id: `${sessionId}/${turn.turnId}`,
    session_id: sessionId,
    turn_id: turn.turnId,
    state: turn.state,
    created_at: turn.startedAt,
    completed_at: typeof at === 'number' && Number.isFinite(at) ? at : null,
    model: turn.model,
    model_provider: turn.modelProvider,
    user: turn.userMessage,
    assistant: turn.assistantReply,
  };
  if (turn.state === 'interrupted' && turn.reason !== null) rec.reason = turn.reason;
  return rec;
}

/**
 * Compact JSON on one line. U+0085, U+2028 and U+2029 (legal raw inside JSON strings) are
 * escaped, because readers that split with Python's `str.splitlines()` (the bot's own replay
 * does) would otherwise cut the record in two.
 */
export function serializeRecord(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The `id` of a log line, or null when the line is not a JSON object with a string id. */
export function recordId(line: string): string | null {
  const t = line.trim();
  if (t === '' || t[0] !== '{') return null;
  const p = parseJsonLine(t);
  if (!p.ok || !p.value || typeof p.value !== 'object' || Array.isArray(p.value)) return null;
  const id = (p.value as { id?: unknown }).id;
  return typeof id === 'string' && id !== '' ? id : null;
}

export interface SkippedRecord {
  file: string;
  line: number;
  reason: string;
}

export interface Collected {
  records: LogRecord[];
  interactions: number;
  feedback: number;
  skipped: SkippedRecord[];
  /** What was masked in the records' text (secrets, personal data), by kind. */
  redacted?: RedactionCounts;
}

/** The fields of a pushed record that hold free text: masked before they leave the machine. */
const TEXT_FIELDS = ['user', 'assistant', 'reason', 'note'] as const;

/**
 * `rec` with its free text masked by the curation redaction (`[REDACTED:<kind>]`): secrets and
 * personal data never reach the log. Ids, times, states and tags are left as they are (the id
 * is the key of exactly-once). Only the pushed copy is masked: journals and feedback files are
 * not changed.
 */
export function redactRecord<T extends object>(rec: T, counts: RedactionCounts): T {
  let out: T | undefined;
  for (const k of TEXT_FIELDS) {
    const v = (rec as Record<string, unknown>)[k];
    if (typeof v !== 'string') continue;
    const r = redactText(v);
    if (r.findings.length === 0) continue;
    for (const f of r.findings) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    out ??= { ...rec };
    (out as Record<string, unknown>)[k] = r.text;
  }
  return out ?? rec;
}

/** Every record a sessions folder holds now: finished turns, then feedback. */
export async function collectRecords(sessionsDir: string, options: { maxLineBytes?: number } = {}): Promise<Collected> {
  const discovery = await discoverSessions(sessionsDir);
  const records: LogRecord[] = [];
  const redacted: RedactionCounts = {};
  const seen = new Set<string>();
  let interactions = 0;
  for await (const a of auditSessions(discovery, { maxLineBytes: options.maxLineBytes })) {
    for (const t of a.turns) {
      const rec = interactionRecord(a.sessionId, t);
      if (!rec || seen.has(rec.id)) continue;
      seen.add(rec.id);
      records.push({ id: rec.id, line: serializeRecord(redactRecord(rec, redacted)) });
      interactions++;
    }
  }
  const fb = readFeedbackRecords(discovery.sessionsDir, redacted);
  for (const r of fb.records) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    records.push(r);
  }
  return { records, interactions, feedback: fb.records.length, skipped: fb.skipped, redacted };
}

/** Feedback records from `_turn_feedback/*.jsonl` (written by the feedback feature), if any. */
export function readFeedbackRecords(sessionsDir: string, redacted: RedactionCounts = {}): { records: LogRecord[]; skipped: SkippedRecord[] } {
  const dir = path.join(sessionsDir, FEEDBACK_DIR_NAME);
  const records: LogRecord[] = [];
  const skipped: SkippedRecord[] = [];
  let names: string[];
  try {
    names = fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.jsonl'))
      .sort();
  } catch {
    return { records, skipped };
  }
  for (const name of names) {
    const file = path.join(dir, name);
    let text: string;
    try {
      text = readTextSync(file); // regular files only: a FIFO or device is skipped, never a hang
    } catch (e) {
      skipped.push({ file, line: 0, reason: `cannot read: ${describeError(e)}` });
      continue;
    }
    const lines = text.split('\n');
    // A final line without its newline is an append still under way (or torn): not yet a record.
    if (!text.endsWith('\n')) lines.pop();
    lines.forEach((raw, i) => {
      if (raw.trim() === '') return;
      const p = parseJsonLine(raw);
      const v = p.ok ? (p.value as Record<string, unknown> | null) : null;
      if (!v || typeof v !== 'object' || Array.isArray(v)) return void skipped.push({ file, line: i + 1, reason: 'not a JSON object' });
      if (v.type !== 'feedback') return void skipped.push({ file, line: i + 1, reason: `type is ${JSON.stringify(v.type)}, not "feedback"` });
      if (typeof v.id !== 'string' || v.id === '') return void skipped.push({ file, line: i + 1, reason: 'no string "id"' });
      // Pushed as `turn_feedback`: a consumer that follows the seed bot's rule applies any
      // `type: "feedback"` record to the session's LAST interaction; ours rate one turn
      // (docs/github-log.md, "Corrections and the seed's rule"). Same id, same key order.
      records.push({ id: v.id, line: serializeRecord(redactRecord(typeof v.turn_id === 'string' ? { ...v, type: TURN_FEEDBACK_TYPE } : v, redacted)) });
    });
  }
  return { records, skipped };
}
