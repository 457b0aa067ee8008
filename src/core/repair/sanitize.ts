/**
 * "Make Readable for hermes-webui" (`repair --sanitize`): invalid UTF-8 in any shard makes
 * upstream's reader raise for the whole session (its audit crashes, its writer drops every later
 * lifecycle event). Opt-in, previewed first, and only for shards no one is writing (unchanged for
 * the stale threshold, and upstream's `flock` acquirable):
 *   lock (repair lock) → log `begin` → per shard: take upstream's flock(LOCK_EX) on the shard
 *   → check its bytes are the planned ones → backup to `_audit_backups/<id>/<shard>` → move each
 *   undecodable line byte-for-byte to `_audit_quarantine/<shard>` (offsets in
 *   `_audit_quarantine/<shard>.offsets.jsonl`) → log `sanitize` → atomic replace of the shard
 *   with every other line kept byte-for-byte, still under the flock → release → bytes a writer
 *   appended to the old inode meanwhile are carried over (atomic replace again, under the flock).
 * Undo restores the original bytes exactly (undo.ts, record `sanitize`).
 */

import * as fs from 'fs';
import * as path from 'path';
import { isUtf8 } from 'buffer';
import { discoverSessions } from '../discovery';
import { appendDurable, appendLineDurable, atomicReplace, readFileSync as readSafe } from '../fsSafe';
import { holdFlock } from '../flock';
import { sha256 } from './io';
import { BACKUP_DIR_NAME, acquireRepairLock, appendRepairRecord } from './log';
import { newRepairId } from './apply';

export const QUARANTINE_DIR_NAME = '_audit_quarantine';

export interface SanitizeShard {
  sessionId: string;
  shard: string;
  path: string;
  size: number;
  sha256: string;
  /** The undecodable lines: 1-based line, byte offset, length (with its `\n` when it has one). */
  lines: { line: number; offset: number; length: number }[];
  /** Why it is left alone, when it is. */
  skip: string | null;
}

export interface SanitizePlan {
  sessionsDir: string;
  shards: SanitizeShard[];
}

/** Undecodable lines of a shard's bytes (`\n`-separated; a final line without `\n` included). */
export function undecodableLines(buf: Buffer): SanitizeShard['lines'] {
  const out: SanitizeShard['lines'] = [];
  let start = 0;
  let line = 0;
  while (start < buf.length) {
    const nl = buf.indexOf(10, start);
    const end = nl === -1 ? buf.length : nl + 1;
    line++;
    if (!isUtf8(buf.subarray(start, nl === -1 ? buf.length : nl))) out.push({ line, offset: start, length: end - start });
    start = end;
  }
  return out;
}

/** The preview: which shards would be sanitized, which are left alone and why. */
export async function planSanitize(dir: string, o: { sessionId?: string; now?: number; staleAfterMinutes?: number } = {}): Promise<SanitizePlan> {
  const discovery = await discoverSessions(dir);
  const now = o.now ?? Date.now() / 1000;
  const staleBefore = now - (o.staleAfterMinutes ?? 60) * 60;
  const shards: SanitizeShard[] = [];
  for (const s of discovery.sessions) {
    if (o.sessionId !== undefined && s.sessionId !== o.sessionId) continue;
    for (const f of s.shards) {
      let data: Buffer;
      let st: fs.Stats;
      try {
        ({ data, stat: st } = readSafe(f.path));
      } catch {
        continue;
      }
      const lines = undecodableLines(data);
      if (lines.length === 0) continue;
      let skip: string | null = null;
      if (st.mtimeMs / 1000 >= staleBefore) skip = 'written to recently (within the stale threshold): a writer may still be using it';
      else {
        const lock = await holdFlock(f.path, 200);
        if ('error' in lock) skip = `upstream's lock cannot be taken: ${lock.error}`;
        else await lock.release();
      }
      shards.push({ sessionId: s.sessionId, shard: f.name, path: f.path, size: data.length, sha256: sha256(data), lines, skip });
    }
  }
  return { sessionsDir: discovery.sessionsDir, shards };
}

export interface SanitizeResult {
  repairId: string | null;
  shards: { shard: string; status: 'sanitized' | 'skipped'; message: string; carried: number }[];
}

/** Applies a sanitize plan (see the file comment for the order). */
export async function applySanitize(plan: SanitizePlan, o: { onStep?: (s: string) => void; settleMs?: number } = {}): Promise<SanitizeResult> {
  const work = plan.shards.filter((s) => s.skip === null);
  if (work.length === 0) return { repairId: null, shards: [] };
  const dir = plan.sessionsDir;
  const step = o.onStep ?? (() => undefined);
  const release = acquireRepairLock(dir);
  const result: SanitizeResult = { repairId: newRepairId(Date.now()), shards: [] };
  try {
    const id = result.repairId!;
    appendRepairRecord(dir, {
      op: 'begin',
      repair_id: id,
      at: new Date().toISOString(),
      tool: 'bot-memory-auditor sanitize',
      sessions: [...new Set(work.map((w) => w.sessionId))],
    });
    step('begin');
    for (const s of work) result.shards.push(await sanitizeShard(dir, id, s, step, o.settleMs ?? 300));
    appendRepairRecord(dir, { op: 'done', repair_id: id, at: new Date().toISOString() });
    step('done');
    return result;
  } finally {
    release();
  }
}

async function sanitizeShard(
  dir: string,
  id: string,
  s: SanitizeShard,
  step: (x: string) => void,
  settleMs: number,
): Promise<SanitizeResult['shards'][number]> {
  const skipped = (message: string) => ({ shard: s.shard, status: 'skipped' as const, message, carried: 0 });
  const lock = await holdFlock(s.path, 1000);
  if ('error' in lock) return skipped(`upstream's lock cannot be taken: ${lock.error}`);
  // Kept open on the old inode: bytes a writer appends to it after the swap are carried over.
  const oldFd = fs.openSync(s.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  try {
    const before = Buffer.alloc(fs.fstatSync(oldFd).size);
    fs.readSync(oldFd, before, 0, before.length, 0);
    if (before.length !== s.size || sha256(before) !== s.sha256) {
      await lock.release();
      return skipped('the shard changed since the preview; preview again');
    }
    const backup = path.join(BACKUP_DIR_NAME, id, s.shard);
    atomicReplace(path.join(dir, backup), before, { root: dir, mode: 0o600 });
    step(`backup:${s.shard}`);
    const quarantine = path.join(QUARANTINE_DIR_NAME, s.shard);
    const moved = s.lines.map((l) => before.subarray(l.offset, l.offset + l.length));
    const last = moved[moved.length - 1];
    const qbytes = Buffer.concat(last[last.length - 1] === 10 ? moved : [...moved, Buffer.from('\n')]);
    appendDurable(path.join(dir, quarantine), qbytes, { root: dir });
    appendLineDurable(path.join(dir, `${quarantine}.offsets.jsonl`), JSON.stringify({ repair_id: id, shard: s.shard, lines: s.lines }), { root: dir });
    step(`quarantine:${s.shard}`);
    const keep: Buffer[] = [];
    let at = 0;
    for (const l of s.lines) {
      keep.push(before.subarray(at, l.offset));
      at = l.offset + l.length;
    }
    keep.push(before.subarray(at));
    const after = Buffer.concat(keep);
    appendRepairRecord(dir, {
      op: 'sanitize',
      repair_id: id,
      session_id: s.sessionId,
      shard: s.shard,
      backup,
      quarantine,
      lines: s.lines,
      size_before: before.length,
      before_sha256: s.sha256,
      after_sha256: sha256(after),
    });
    step(`log-sanitize:${s.shard}`);
    atomicReplace(s.path, after, { root: dir });
    step(`replace:${s.shard}`);
    await lock.release();
    const carried = await carryOver(dir, id, s, oldFd, before.length, settleMs);
    return { shard: s.shard, status: 'sanitized', message: `moved ${s.lines.length} undecodable line(s) to ${quarantine}`, carried };
  } finally {
    fs.closeSync(oldFd);
  }
}

/**
 * A writer that opened the shard before the swap appends to the old inode once our lock is
 * released: watch it for a moment and copy what arrives to the end of the new file (under the lock).
 */
async function carryOver(dir: string, id: string, s: SanitizeShard, oldFd: number, oldSize: number, settleMs: number): Promise<number> {
  return carryAppended(dir, s.path, oldFd, oldSize, settleMs, (bytes, after) =>
    appendRepairRecord(dir, { op: 'sanitize_carry', repair_id: id, session_id: s.sessionId, shard: s.shard, bytes, after_sha256: sha256(after) }),
  );
}

/**
 * Bytes appended to a replaced inode (`oldFd`, `oldSize` bytes when replaced) within
 * `settleMs` go to the end of the file now at `file`, each time under upstream's flock;
 * `record` is told each carry (its byte count and the file's new bytes). Returns the bytes carried.
 * Used after a sanitize swap and after its undo.
 */
export async function carryAppended(
  dir: string,
  file: string,
  oldFd: number,
  oldSize: number,
  settleMs: number,
  record?: (bytes: number, after: Buffer) => void,
): Promise<number> {
  let carried = 0;
  const deadline = Date.now() + settleMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    const size = fs.fstatSync(oldFd).size;
    if (size <= oldSize + carried) continue;
    const extra = Buffer.alloc(size - oldSize - carried);
    fs.readSync(oldFd, extra, 0, extra.length, oldSize + carried);
    const lock = await holdFlock(file, 1000);
    if ('error' in lock) break;
    try {
      const after = Buffer.concat([readSafe(file).data, extra]);
      atomicReplace(file, after, { root: dir });
      record?.(extra.length, after);
    } finally {
      await lock.release();
    }
    carried += extra.length;
  }
  return carried;
}
