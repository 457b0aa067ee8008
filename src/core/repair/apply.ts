/**
 * Planning a whole folder and applying a plan.
 *
 * Apply order (every prefix of it is a state upstream reads correctly, and that the next run
 * completes; docs/repair.md walks through each crash point):
 *   lock → log `begin` → per session: re-check the journal sizes and the sidecar fingerprint
 *   (skip the session when either changed) → [sidecar: backup copy (atomic) → log `sidecar`
 *   → atomic replace of the sidecar] → [own shard: log `truncate` → atomic rewrite without
 *   its torn tail] → [log `append` → one durable append of every line] → [log `reviewed`]
 *   → after all sessions: log `done` → prune old backups → unlock.
 * The sidecar changes before the journal: a run killed in between leaves the user message
 * saved (so upstream sees no pending turn) and the marker shown; the next run finds the
 * marker (by its `_audit_turn_id`) and the message present and only appends the event.
 */

import * as path from 'path';
import { randomBytes } from 'crypto';
import { DEFAULT_STALE_AFTER_MINUTES, type SessionAnalysis } from '../analyze';
import { markReviewedFindings } from './reviewed';
import { discoverSessions } from '../discovery';
import {
  appendLinesDurable,
  appendOffset,
  atomicReplace,
  atomicReplaceIf,
  ensureDir,
  listRealFolders,
  lstatOrNull,
  readBytesSync,
  removeTree,
} from '../fsSafe';
import { JOURNAL_DIR_NAME } from '../sessionId';
import { journalSizes, loadSession, sameFingerprint, sha256, snapshotSidecar } from './io';
import { BACKUP_DIR_NAME, KEEP_BACKUPS, acquireRepairLock, appendRepairRecord, loadKnownReviews } from './log';
import { hasWork, planSession, type RepairPlan, type SessionPlan } from './plan';
import { appendSidecarMessages } from './sidecarEdit';

export interface PlanFolderOptions {
  sessionId?: string;
  /** Epoch seconds (default: now). */
  now?: number;
  staleAfterMinutes?: number;
  maxLineBytes?: number;
  /** Receives every session's analysis (findings flagged `reviewed`) with its plan, e.g. for a report. */
  onSession?: (analysis: SessionAnalysis, plan: SessionPlan) => void;
}

export class RepairInputError extends Error {}

export async function planRepair(dir: string, options: PlanFolderOptions = {}): Promise<RepairPlan> {
  const discovery = await discoverSessions(dir);
  if (options.sessionId !== undefined && !discovery.sessions.some((s) => s.sessionId === options.sessionId)) {
    throw new RepairInputError(`no session "${options.sessionId}" in ${discovery.journalDir}`);
  }
  const now = options.now ?? Date.now() / 1000;
  const staleAfterMinutes = options.staleAfterMinutes ?? DEFAULT_STALE_AFTER_MINUTES;
  const known = loadKnownReviews(discovery.sessionsDir);
  const sessions: SessionPlan[] = [];
  for (const s of discovery.sessions) {
    if (options.sessionId !== undefined && s.sessionId !== options.sessionId) continue;
    const { analysis, sidecar, journal } = await loadSession(discovery.sessionsDir, s, { now, staleAfterMinutes, maxLineBytes: options.maxLineBytes });
    const p = planSession(analysis, sidecar, journal, { now, staleAfterMinutes, known });
    if (options.onSession) {
      markReviewedFindings(analysis, known);
      options.onSession(analysis, p);
    }
    if (hasWork(p) || p.skipped.length > 0 || p.human.length > 0) sessions.push(p);
  }
  return { version: 1, sessionsDir: discovery.sessionsDir, now, staleAfterMinutes, sessions };
}

export interface ApplyOptions {
  reviewer?: string;
  /** Name and version written in the log's `begin` record. */
  tool?: string;
  /** Called after every durable write with a short step name (tests use it to crash at each step). */
  onStep?: (step: string) => void;
  /** Clock for the repair id (default Date.now). */
  clock?: () => number;
}

export interface SessionOutcome {
  sessionId: string;
  status: 'applied' | 'skipped' | 'nothing';
  message?: string;
  sidecarMessages: number;
  appended: number;
  reviewed: number;
}

export interface ApplyResult {
  repairId: string | null;
  sessions: SessionOutcome[];
  backupDir: string | null;
}

function stamp(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.(\d{3})Z$/, '$1Z');
}

export function newRepairId(ms: number): string {
  return `${stamp(ms)}-${randomBytes(3).toString('hex')}`;
}

export function applyRepair(plan: RepairPlan, options: ApplyOptions = {}): ApplyResult {
  const dir = plan.sessionsDir;
  const work = plan.sessions.filter(hasWork);
  if (work.length === 0) return { repairId: null, sessions: [], backupDir: null };
  const step = options.onStep ?? (() => undefined);
  const release = acquireRepairLock(dir);
  try {
    const repairId = newRepairId((options.clock ?? Date.now)());
    const backupRel = path.join(BACKUP_DIR_NAME, repairId);
    appendRepairRecord(dir, {
      op: 'begin',
      repair_id: repairId,
      at: new Date().toISOString(),
      tool: options.tool ?? 'bot-memory-auditor',
      sessions: work.map((s) => s.sessionId),
      ...(options.reviewer ? { reviewer: options.reviewer } : {}),
    });
    step('begin');
    const outcomes: SessionOutcome[] = [];
    for (const sp of work) outcomes.push(applySession(dir, repairId, backupRel, sp, step));
    appendRepairRecord(dir, { op: 'done', repair_id: repairId, at: new Date().toISOString() });
    step('done');
    pruneBackups(dir);
    return { repairId, sessions: outcomes, backupDir: path.join(dir, backupRel) };
  } finally {
    release();
  }
}

function applySession(dir: string, repairId: string, backupRel: string, sp: SessionPlan, step: (s: string) => void): SessionOutcome {
  const sid = sp.sessionId;
  const outcome: SessionOutcome = { sessionId: sid, status: 'applied', sidecarMessages: 0, appended: 0, reviewed: 0 };
  const skip = (message: string): SessionOutcome => {
    appendRepairRecord(dir, { op: 'skipped', repair_id: repairId, session_id: sid, reason: message });
    step(`skipped:${sid}`);
    return { ...outcome, status: 'skipped', message };
  };
  // Our own shard must be ours: a symbolic link there (e.g. to another process's shard) or a
  // FIFO/device is never written, read or replaced.
  const ownSt = lstatOrNull(path.join(dir, JOURNAL_DIR_NAME, sp.ownShard));
  if (ownSt && !ownSt.isFile()) return skip(`our shard ${sp.ownShard} is a symbolic link or not a regular file; nothing is written through it`);
  // Nothing is written unless the files are still exactly what the plan was made from.
  const nowSizes = journalSizes(dir, sid);
  const changed = [...new Set([...Object.keys(nowSizes), ...Object.keys(sp.journal)])].filter((n) => nowSizes[n] !== sp.journal[n]);
  if (changed.length > 0) return skip(`the journal changed since the plan (${changed.join(', ')}); plan again`);
  const sidecar = snapshotSidecar(dir, sid);
  if (sp.messages.length > 0 && !sameFingerprint(sidecar.fingerprint, sp.sidecarFingerprint)) {
    return skip(`the sidecar ${sid}.json changed since the plan; plan again`);
  }
  if (sp.messages.length > 0 && sidecar.read.status === 'ok') {
    const live = sidecar.read.sidecar;
    if (live.activeStreamId !== null || live.pendingUserMessage !== null) return skip('the sidecar now shows a turn in progress; retry when it ends');
  }

  // 1. The sidecar: backup, log, atomic replace.
  if (sp.messages.length > 0) {
    if (sidecar.text === null || sidecar.bytes === null) return skip(`the sidecar ${sid}.json cannot be read`);
    let edited;
    try {
      edited = appendSidecarMessages(
        sidecar.text,
        sp.messages.map((m) => m.message),
      );
    } catch (e) {
      return skip(`the sidecar cannot be edited safely: ${(e as Error).message}`);
    }
    const backup = path.join(backupRel, `${sid}.json`);
    // Never through a symbolic link, never outside the sessions folder (fsSafe).
    ensureDir(path.join(dir, backupRel), { root: dir });
    atomicReplace(path.join(dir, backup), sidecar.bytes, { mode: 0o600, root: dir });
    step(`backup:${sid}`);
    appendRepairRecord(dir, {
      op: 'sidecar',
      repair_id: repairId,
      session_id: sid,
      file: `${sid}.json`,
      backup,
      before_sha256: sidecar.fingerprint!.sha256,
      after_sha256: sha256(Buffer.from(edited.text, 'utf8')),
      added: sp.messages.map((m) => ({ kind: m.kind, turn_id: m.turnId })),
    });
    step(`log-sidecar:${sid}`);
    // Last look AFTER our temp file is written and fsynced, right before the rename (fsSafe's
    // atomicReplaceIf): a bot that rewrote the sidecar (temp + rename) at any point until then
    // makes us skip instead of replacing its write. What is left is the few microseconds
    // between the final stat and our rename (docs/security.md).
    const stillPlanned = (): boolean => {
      const now = lstatOrNull(sidecar.path);
      const fp = sp.sidecarFingerprint!;
      return (
        now !== null && now.ino === fp.ino && now.size === fp.size && now.mtimeMs === fp.mtimeMs && sameFingerprint(snapshotSidecar(dir, sid).fingerprint, fp)
      );
    };
    if (!atomicReplaceIf(sidecar.path, edited.text, stillPlanned, { root: dir })) {
      return skip(`the sidecar ${sid}.json changed while repairing; plan again`);
    }
    step(`sidecar:${sid}`);
    outcome.sidecarMessages = sp.messages.length;
  }

  // 2. Our own shard: drop a torn tail left by a killed append, then append.
  const ownPath = path.join(dir, JOURNAL_DIR_NAME, sp.ownShard);
  if (sp.dropOwnTail) {
    const buf = readBytesSync(ownPath);
    appendRepairRecord(dir, {
      op: 'truncate',
      repair_id: repairId,
      session_id: sid,
      shard: sp.ownShard,
      size_before: buf.length,
      size_after: sp.dropOwnTail.offset,
      sha256_before: sha256(buf),
    });
    step(`log-truncate:${sid}`);
    atomicReplace(ownPath, buf.subarray(0, sp.dropOwnTail.offset), { root: dir });
    step(`truncate:${sid}`);
  }
  if (sp.appends.length > 0) {
    // Where our lines will start (after the "\n" fsSafe adds when the shard ends in a torn line).
    const offset = appendOffset(ownPath);
    const lines = sp.appends.map((a) => a.line);
    // Look again right before our append: a live writer that completed a dangling turn since the
    // first check must not get an `interrupted` from us on top (a terminal collision).
    const sizesNow = journalSizes(dir, sid);
    const grown = Object.keys({ ...sizesNow, ...sp.journal }).filter((n) => sizesNow[n] !== sp.journal[n] && n !== sp.ownShard);
    if (grown.length > 0) return skip(`the journal changed while repairing (${grown.join(', ')}); plan again`);
    const evidence = sp.appends.filter((a) => a.evidence?.length).map((a) => ({ turn_id: a.turnId, event: a.event, evidence: a.evidence! }));
    appendRepairRecord(dir, {
      op: 'append',
      repair_id: repairId,
      session_id: sid,
      shard: sp.ownShard,
      offset,
      lines,
      ...(evidence.length ? { evidence } : {}),
    });
    step(`log-append:${sid}`);
    appendLinesDurable(ownPath, lines, { root: dir });
    step(`append:${sid}`);
    outcome.appended = lines.length;
  }

  // 3. What was looked at and left alone.
  if (sp.reviews.length > 0) {
    appendRepairRecord(dir, {
      op: 'reviewed',
      repair_id: repairId,
      session_id: sid,
      lines: sp.reviews.map((r) => ({ kind: r.kind, shard: r.shard, line: r.line, offset: r.offset, length: r.length, note: r.note })),
    });
    step(`reviewed:${sid}`);
    outcome.reviewed = sp.reviews.length;
  }
  return outcome;
}

/** Keeps the backup folders of the KEEP_BACKUPS most recent repairs (ids sort by time). */
export function pruneBackups(dir: string, keep = KEEP_BACKUPS): string[] {
  const root = path.join(dir, BACKUP_DIR_NAME);
  let names: string[];
  try {
    // A symbolic link at _audit_backups (or at a backup inside it) is never followed.
    names = listRealFolders(root).sort();
  } catch {
    return [];
  }
  const drop = names.slice(0, Math.max(0, names.length - keep));
  for (const n of drop) removeTree(path.join(root, n), { root: dir });
  return drop;
}
