/**
 * The repair log `<sessionsDir>/_audit_repairs.jsonl`: append-only JSON lines, one record
 * per action, written with one durable append each (docs/repair.md lists every record).
 * A torn last line (the process was killed mid-append) is skipped when reading; the next
 * append starts with a newline so it never glues onto it.
 */

import * as path from 'path';
import { tryPidLock } from '../pidLock';
import { appendLineDurable, describeError, readTextIfExistsSync } from '../fsSafe';

export const REPAIR_LOG_NAME = '_audit_repairs.jsonl';
export const BACKUP_DIR_NAME = '_audit_backups';
export const LOCK_NAME = '_audit_repairs.lock';
/** Backups of this many most recent repairs are kept. */
export const KEEP_BACKUPS = 14;

export interface LineRef {
  shard: string;
  line: number;
  offset: number;
  length: number;
}

export type RepairRecord =
  | { op: 'begin'; repair_id: string; at: string; tool: string; sessions: string[]; reviewer?: string }
  | {
      op: 'sidecar';
      repair_id: string;
      session_id: string;
      /** Sidecar file name in the sessions folder. */
      file: string;
      /** Backup path relative to the sessions folder. */
      backup: string;
      before_sha256: string;
      after_sha256: string;
      added: { kind: string; turn_id: string }[];
    }
  | { op: 'truncate'; repair_id: string; session_id: string; shard: string; size_before: number; size_after: number; sha256_before: string }
  | {
      op: 'append';
      repair_id: string;
      session_id: string;
      shard: string;
      offset: number;
      lines: string[];
      /** Why a turn was closed the way it was (completed: what shows it was answered). */
      evidence?: { turn_id: string; event: string; evidence: string[] }[];
    }
  | { op: 'reviewed'; repair_id: string; session_id: string; lines: (LineRef & { kind: string; note: string })[] }
  | { op: 'skipped'; repair_id: string; session_id: string; turn_id?: string; reason: string }
  | { op: 'done'; repair_id: string; at: string }
  | { op: 'undo_begin'; repair_id: string; at: string }
  | { op: 'undone'; repair_id: string; at: string }
  | {
      op: 'review';
      at: string;
      session_id: string;
      turn_id: string;
      kind: 'terminal_collision';
      /** The terminal events reviewed, as `shard:line`. */
      events: string[];
      note: string;
      reviewer?: string;
    };

export function repairLogPath(sessionsDir: string): string {
  return path.join(sessionsDir, REPAIR_LOG_NAME);
}

/** Every well-formed record in file order; broken lines are skipped. Missing log = []. */
export function readRepairLog(sessionsDir: string): RepairRecord[] {
  // Regular file only (a FIFO or device there is an error, never a hang).
  const text = readTextIfExistsSync(repairLogPath(sessionsDir));
  return text === null ? [] : parseRepairLog(text);
}

/** The well-formed records of a repair log's text, in order; broken lines and a torn last line are skipped. */
export function parseRepairLog(text: string): RepairRecord[] {
  const out: RepairRecord[] = [];
  const lines = text.split('\n');
  // A final piece without "\n" is a torn append: not a record yet.
  lines.pop();
  for (const l of lines) {
    if (l.trim() === '') continue;
    try {
      const v = JSON.parse(l);
      if (v && typeof v === 'object' && typeof v.op === 'string') out.push(v as RepairRecord);
    } catch {
      // torn line from a killed process, already followed by a newline: skip
    }
  }
  return out;
}

export function appendRepairRecord(sessionsDir: string, record: RepairRecord): void {
  // fsSafe closes a torn line left by a killed process with a "\n" first (it is then skipped),
  // refuses a symbolic link, FIFO or device at the log's name.
  appendLineDurable(repairLogPath(sessionsDir), JSON.stringify(record), { root: sessionsDir });
}

// ---- who did what, derived from the log ------------------------------------------------

export interface RepairSummary {
  repairId: string;
  begin: Extract<RepairRecord, { op: 'begin' }>;
  records: RepairRecord[];
  done: boolean;
  undone: boolean;
  undoStarted: boolean;
}

/** Repairs in log order. */
export function summarizeRepairs(records: readonly RepairRecord[]): RepairSummary[] {
  const byId = new Map<string, RepairSummary>();
  for (const r of records) {
    if (r.op === 'review') continue;
    if (r.op === 'begin') {
      byId.set(r.repair_id, { repairId: r.repair_id, begin: r, records: [], done: false, undone: false, undoStarted: false });
      continue;
    }
    const s = byId.get(r.repair_id);
    if (!s) continue;
    if (r.op === 'done') s.done = true;
    else if (r.op === 'undone') s.undone = true;
    else if (r.op === 'undo_begin') s.undoStarted = true;
    else s.records.push(r);
  }
  return [...byId.values()];
}

/** What the log says has been looked at: line reviews from repairs that were not undone, and collision reviews. */
export interface KnownReviews {
  /** key lineKey(sid, shard, offset, length) → note */
  lines: Map<string, { note: string; repairId: string }>;
  /** key `${sid}\0${turnId}` → latest review */
  collisions: Map<string, { events: Set<string>; note: string; reviewer?: string; at: string }>;
}

export function lineKey(sessionId: string, shard: string, offset: number, length: number): string {
  return `${sessionId}\u0000${shard}\u0000${offset}\u0000${length}`;
}

export function knownReviews(records: readonly RepairRecord[]): KnownReviews {
  const undone = new Set<string>();
  for (const r of records) if (r.op === 'undone') undone.add(r.repair_id);
  const lines = new Map<string, { note: string; repairId: string }>();
  const collisions = new Map<string, { events: Set<string>; note: string; reviewer?: string; at: string }>();
  for (const r of records) {
    if (r.op === 'reviewed' && !undone.has(r.repair_id)) {
      for (const l of r.lines) lines.set(lineKey(r.session_id, l.shard, l.offset, l.length), { note: l.note, repairId: r.repair_id });
    } else if (r.op === 'review') {
      collisions.set(`${r.session_id}\u0000${r.turn_id}`, { events: new Set(r.events), note: r.note, reviewer: r.reviewer, at: r.at });
    }
  }
  return { lines, collisions };
}

/** Why the repair log cannot be read (a FIFO, device, link, unreadable), or null when it can (or is missing). */
export function repairLogProblem(sessionsDir: string): string | null {
  try {
    readRepairLog(sessionsDir);
    return null;
  } catch (e) {
    return `${REPAIR_LOG_NAME} cannot be read (${describeError(e)}); reviews recorded in it are not applied`;
  }
}

/** What the log knows; an unreadable log (FIFO, device, mode 000) counts as empty: the caller reports repairLogProblem(). */
export function loadKnownReviews(sessionsDir: string): KnownReviews {
  try {
    return knownReviews(readRepairLog(sessionsDir));
  } catch {
    return { lines: new Map(), collisions: new Map() };
  }
}

// ---- one repair at a time ---------------------------------------------------------------

export class RepairBusyError extends Error {}

/**
 * Takes the sessions folder's repair lock (core/pidLock.ts). A lock left by a process that no
 * longer runs is taken over. Returns the release function.
 */
export function acquireRepairLock(sessionsDir: string): () => void {
  const lock = tryPidLock(path.join(sessionsDir, LOCK_NAME));
  if ('heldBy' in lock) throw new RepairBusyError(`another repair or undo is running on this folder (process ${lock.heldBy}); try again when it ends`);
  return lock.release;
}
