/**
 * Planning a whole folder and applying a plan.
 *
 * Apply order (every prefix of it is a state upstream reads correctly, and that the next run
 * completes; docs/repair.md walks through each crash point):
 *   lock → log `begin` → per session: take hermes-webui's `flock` on every other shard the plan
 *   read (it appends under that lock; skip the session when it cannot be had in time) → re-check
 *   the journal sizes and the sidecar fingerprint under it (skip the session when either
 *   changed) → [sidecar: backup copy (atomic) → log `sidecar` → atomic replace of the sidecar]
 *   → [own shard: log `truncate` → atomic rewrite without its torn tail] → [log `append` → one
 *   durable append of every line] → [log `reviewed`] → release the flocks → after all
 *   sessions: log `done` → prune old backups → unlock.
 * The sidecar changes before the journal: a run killed in between leaves the user message
 * saved (so upstream sees no pending turn) and the marker shown; the next run finds the
 * marker (by its `_audit_turn_id`) and the message present and only appends the event.
 */

import * as fs from 'fs';
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
import { holdFlocks, type HeldLock } from '../flock';
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
  /** Bytes of one session's shards read into memory at most (default DEFAULT_MAX_SESSION_BYTES). */
  maxSessionBytes?: number;
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
    const { analysis, sidecar, journal } = await loadSession(discovery.sessionsDir, s, {
      now,
      staleAfterMinutes,
      maxLineBytes: options.maxLineBytes,
      maxSessionBytes: options.maxSessionBytes,
    });
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
  /** How long to wait for hermes-webui's journal lock on a session's shards before skipping it (default 2000 ms). */
  lockTimeoutMs?: number;
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

export async function applyRepair(plan: RepairPlan, options: ApplyOptions = {}): Promise<ApplyResult> {
  const dir = plan.sessionsDir;
  const work = plan.sessions.filter(hasWork);
  if (work.length === 0) return { repairId: null, sessions: [], backupDir: null };
  const step = options.onStep ?? (() => undefined);
  const release = acquireRepairLock(dir);
  try {
    const repairId = newRepairId((options.clock ?? Date.now)());
    const ctx: ApplyContext = { dir, repairId, backupRel: path.join(BACKUP_DIR_NAME, repairId), step, lockTimeoutMs: options.lockTimeoutMs ?? 2000 };
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
    for (const sp of work) outcomes.push(await applySession(ctx, sp));
    appendRepairRecord(dir, { op: 'done', repair_id: repairId, at: new Date().toISOString() });
    step('done');
    pruneBackups(dir);
    return { repairId, sessions: outcomes, backupDir: path.join(dir, ctx.backupRel) };
  } finally {
    release();
  }
}

interface ApplyContext {
  dir: string;
  repairId: string;
  /** `_audit_backups/<repair id>`, relative to `dir`. */
  backupRel: string;
  step: (s: string) => void;
  lockTimeoutMs: number;
}

/** A session is left alone: the reason goes to the log and the outcome. */
class SkipSession extends Error {}

/**
 * One session: refuse a linked own shard; take upstream's lock on the shards the plan read; under
 * it, check nothing changed since the plan, then sidecar → own tail → append → reviews; release.
 */
async function applySession(ctx: ApplyContext, sp: SessionPlan): Promise<SessionOutcome> {
  const outcome: SessionOutcome = { sessionId: sp.sessionId, status: 'applied', sidecarMessages: 0, appended: 0, reviewed: 0 };
  let lock: HeldLock | null = null;
  try {
    refuseForeignOwnShard(ctx, sp);
    lock = await lockTurnShards(ctx, sp);
    const sidecar = checkUnchanged(ctx, sp);
    if (sp.messages.length > 0) outcome.sidecarMessages = replaceSidecar(ctx, sp, sidecar);
    if (sp.dropOwnTail) dropOwnTail(ctx, sp, sp.dropOwnTail.offset);
    if (sp.appends.length > 0) outcome.appended = appendEvents(ctx, sp);
    if (sp.reviews.length > 0) outcome.reviewed = logReviews(ctx, sp);
    return outcome;
  } catch (e) {
    if (!(e instanceof SkipSession)) throw e;
    appendRepairRecord(ctx.dir, { op: 'skipped', repair_id: ctx.repairId, session_id: sp.sessionId, reason: e.message });
    ctx.step(`skipped:${sp.sessionId}`);
    return { ...outcome, status: 'skipped', message: e.message };
  } finally {
    await lock?.release();
  }
}

/** Our own shard must be ours: a symbolic link there (e.g. to another process's shard) or a FIFO/device is never written, read or replaced. */
function refuseForeignOwnShard(ctx: ApplyContext, sp: SessionPlan): void {
  const ownSt = lstatOrNull(path.join(ctx.dir, JOURNAL_DIR_NAME, sp.ownShard));
  if (ownSt && !ownSt.isFile()) throw new SkipSession(`our shard ${sp.ownShard} is a symbolic link or not a regular file; nothing is written through it`);
}

/**
 * hermes-webui appends to its shard under `flock(LOCK_EX)`: holding that lock on every other shard
 * the plan read, no event can land in them between our check and our append (a live writer that
 * completes a dangling turn waits, then writes after us; one that wrote before makes us skip).
 * Only when the session's turns change (sidecar messages or appended events). Windows: upstream
 * takes no lock there (no fcntl), so neither do we.
 */
async function lockTurnShards(ctx: ApplyContext, sp: SessionPlan): Promise<HeldLock | null> {
  if ((sp.messages.length === 0 && sp.appends.length === 0) || process.platform === 'win32') return null;
  const names = Object.keys(sp.journal)
    .filter((n) => n !== sp.ownShard)
    .sort();
  const files = names.map((n) => lockablePath(path.join(ctx.dir, JOURNAL_DIR_NAME, n)));
  const lock = await holdFlocks(files, ctx.lockTimeoutMs);
  if (!('error' in lock)) return lock;
  const which = lock.file === undefined ? '' : ` on ${names[files.indexOf(lock.file)] ?? path.basename(lock.file)}`;
  throw new SkipSession(`hermes-webui's journal lock${which} cannot be taken: ${lock.error}; nothing was written, retry later`);
}

/** A shard that discovery vetted as a link (to a regular file in the journal folder) is locked at its target: flock is per inode. */
function lockablePath(p: string): string {
  const st = lstatOrNull(p);
  if (!st?.isSymbolicLink()) return p;
  try {
    return fs.realpathSync(p);
  } catch {
    return p; // vanished or dangling: the helper reports it, the session is skipped
  }
}

/** Nothing is written unless the files are still exactly what the plan was made from (checked under the lock). */
function checkUnchanged(ctx: ApplyContext, sp: SessionPlan): ReturnType<typeof snapshotSidecar> {
  const changed = changedShards(ctx.dir, sp, null);
  if (changed.length > 0) throw new SkipSession(`the journal changed since the plan (${changed.join(', ')}); plan again`);
  const sidecar = snapshotSidecar(ctx.dir, sp.sessionId);
  if (sp.messages.length === 0) return sidecar;
  if (!sameFingerprint(sidecar.fingerprint, sp.sidecarFingerprint))
    throw new SkipSession(`the sidecar ${sp.sessionId}.json changed since the plan; plan again`);
  if (sidecar.read.status === 'ok') {
    const live = sidecar.read.sidecar;
    if (live.activeStreamId !== null || live.pendingUserMessage !== null) throw new SkipSession('the sidecar now shows a turn in progress; retry when it ends');
  }
  return sidecar;
}

/** Shards whose size differs from the plan's (a new or vanished shard too), except `except`. */
function changedShards(dir: string, sp: SessionPlan, except: string | null): string[] {
  const now = journalSizes(dir, sp.sessionId);
  return [...new Set([...Object.keys(now), ...Object.keys(sp.journal)])].filter((n) => n !== except && now[n] !== sp.journal[n]);
}

/** 1. The sidecar: backup, log, atomic replace. Returns the number of messages added. */
function replaceSidecar(ctx: ApplyContext, sp: SessionPlan, sidecar: ReturnType<typeof snapshotSidecar>): number {
  const { dir, step } = ctx;
  const sid = sp.sessionId;
  if (sidecar.text === null || sidecar.bytes === null) throw new SkipSession(`the sidecar ${sid}.json cannot be read`);
  let edited;
  try {
    edited = appendSidecarMessages(
      sidecar.text,
      sp.messages.map((m) => m.message),
    );
  } catch (e) {
    throw new SkipSession(`the sidecar cannot be edited safely: ${(e as Error).message}`);
  }
  const backup = path.join(ctx.backupRel, `${sid}.json`);
  // Never through a symbolic link, never outside the sessions folder (fsSafe).
  ensureDir(path.join(dir, ctx.backupRel), { root: dir });
  atomicReplace(path.join(dir, backup), sidecar.bytes, { mode: 0o600, root: dir });
  step(`backup:${sid}`);
  appendRepairRecord(dir, {
    op: 'sidecar',
    repair_id: ctx.repairId,
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
    throw new SkipSession(`the sidecar ${sid}.json changed while repairing; plan again`);
  }
  step(`sidecar:${sid}`);
  return sp.messages.length;
}

/** 2a. Our own shard: drop a torn tail left by a killed append (logged first, then an atomic rewrite). */
function dropOwnTail(ctx: ApplyContext, sp: SessionPlan, offset: number): void {
  const ownPath = path.join(ctx.dir, JOURNAL_DIR_NAME, sp.ownShard);
  const buf = readBytesSync(ownPath);
  appendRepairRecord(ctx.dir, {
    op: 'truncate',
    repair_id: ctx.repairId,
    session_id: sp.sessionId,
    shard: sp.ownShard,
    size_before: buf.length,
    size_after: offset,
    sha256_before: sha256(buf),
  });
  ctx.step(`log-truncate:${sp.sessionId}`);
  atomicReplace(ownPath, buf.subarray(0, offset), { root: ctx.dir });
  ctx.step(`truncate:${sp.sessionId}`);
}

/** 2b. One durable append of every planned line to our own shard (logged first). Returns the number of lines. */
function appendEvents(ctx: ApplyContext, sp: SessionPlan): number {
  const sid = sp.sessionId;
  const ownPath = path.join(ctx.dir, JOURNAL_DIR_NAME, sp.ownShard);
  // Where our lines will start (after the "\n" fsSafe adds when the shard ends in a torn line).
  const offset = appendOffset(ownPath);
  const lines = sp.appends.map((a) => a.line);
  // Look again right before our append: the locked shards cannot have grown, but a shard a new
  // writer process created since the lock was taken is not locked (docs/security.md).
  const grown = changedShards(ctx.dir, sp, sp.ownShard);
  if (grown.length > 0) throw new SkipSession(`the journal changed while repairing (${grown.join(', ')}); plan again`);
  const evidence = sp.appends.filter((a) => a.evidence?.length).map((a) => ({ turn_id: a.turnId, event: a.event, evidence: a.evidence! }));
  appendRepairRecord(ctx.dir, {
    op: 'append',
    repair_id: ctx.repairId,
    session_id: sid,
    shard: sp.ownShard,
    offset,
    lines,
    ...(evidence.length ? { evidence } : {}),
  });
  ctx.step(`log-append:${sid}`);
  appendLinesDurable(ownPath, lines, { root: ctx.dir });
  ctx.step(`append:${sid}`);
  return lines.length;
}

/** 3. What was looked at and left alone. Returns the number of lines. */
function logReviews(ctx: ApplyContext, sp: SessionPlan): number {
  appendRepairRecord(ctx.dir, {
    op: 'reviewed',
    repair_id: ctx.repairId,
    session_id: sp.sessionId,
    lines: sp.reviews.map((r) => ({ kind: r.kind, shard: r.shard, line: r.line, offset: r.offset, length: r.length, note: r.note })),
  });
  ctx.step(`reviewed:${sp.sessionId}`);
  return sp.reviews.length;
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
