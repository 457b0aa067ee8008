/**
 * Undo of the most recent repair that is not undone yet: sidecars come back from the
 * backup, our appended lines leave our own shard (atomic rewrite), its line reviews stop
 * counting. Everything is checked before anything is written: a sidecar or shard that
 * changed since the repair makes the whole undo refuse with the list of files.
 *
 * Order: lock → check all → log `undo_begin` → restore sidecars → rewrite own shards →
 * log `undone`. A killed undo is completed by the next undo: each step recognises a file
 * already in its "before" state and leaves it.
 */

import * as path from 'path';
import { atomicReplace, describeError, readBytesSync, removeFile } from '../fsSafe';
import { JOURNAL_DIR_NAME } from '../sessionId';
import { sha256 } from './io';
import { acquireRepairLock, appendRepairRecord, readRepairLog, summarizeRepairs, type RepairRecord, type RepairSummary } from './log';

export interface UndoStep {
  file: string;
  action: 'restore_sidecar' | 'remove_lines' | 'restore_shard' | 'nothing';
  detail: string;
}

export interface UndoResult {
  status: 'undone' | 'refused' | 'nothing';
  repairId: string | null;
  message: string;
  steps: UndoStep[];
  problems: string[];
}

export function lastUndoableRepair(dir: string): RepairSummary | null {
  const repairs = summarizeRepairs(readRepairLog(dir)).filter(
    (r) => !r.undone && r.records.some((x) => x.op === 'sidecar' || x.op === 'append' || x.op === 'reviewed' || x.op === 'truncate' || x.op === 'sanitize'),
  );
  return repairs.length ? repairs[repairs.length - 1] : null;
}

interface Planned {
  steps: UndoStep[];
  problems: string[];
  writes: (() => void)[];
}

function planUndo(dir: string, repair: RepairSummary): Planned {
  const steps: UndoStep[] = [];
  const problems: string[] = [];
  const writes: (() => void)[] = [];
  // Own shards: the lines must still be the file's last bytes.
  const appends = repair.records.filter((r): r is Extract<RepairRecord, { op: 'append' }> => r.op === 'append');
  for (const a of [...appends].reverse()) {
    const file = path.join(dir, JOURNAL_DIR_NAME, a.shard);
    let buf: Buffer;
    try {
      // Regular file only: a symbolic link at our shard's name is never read or replaced.
      buf = readBytesSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && a.offset === 0) {
        steps.push({ file, action: 'nothing', detail: 'lines never written' });
        continue;
      }
      problems.push(`${a.shard}: cannot be read (${describeError(e)})`);
      continue;
    }
    const block = Buffer.from(a.lines.join('\n') + '\n', 'utf8');
    if (buf.length === a.offset) {
      steps.push({ file, action: 'nothing', detail: 'lines never written or already removed' });
    } else if (buf.length === a.offset + block.length && buf.subarray(a.offset).equals(block)) {
      // The repair created our shard: undo removes it rather than leave an empty file behind.
      steps.push({
        file,
        action: 'remove_lines',
        detail: a.offset === 0 ? `remove ${a.shard} (the repair created it)` : `remove ${a.lines.length} line(s) appended at byte ${a.offset}`,
      });
      writes.push(() => (a.offset === 0 ? void removeFile(file, { root: dir }) : atomicReplace(file, buf.subarray(0, a.offset), { root: dir })));
    } else {
      problems.push(`${a.shard} changed since the repair (expected its ${a.lines.length} appended line(s) to be its last bytes at ${a.offset})`);
    }
  }
  // Sidecars: current bytes must be the repaired ones (or the original ones: never replaced).
  for (const r of repair.records) {
    if (r.op !== 'sidecar') continue;
    const file = path.join(dir, r.file);
    const h = currentHash(file);
    if (h === r.before_sha256) {
      steps.push({ file, action: 'nothing', detail: 'sidecar was not changed' });
      continue;
    }
    if (h !== r.after_sha256) {
      problems.push(`${r.file} changed since the repair (another program saved it); restoring the backup would lose that change`);
      continue;
    }
    let backup: Buffer;
    try {
      backup = readBytesSync(path.join(dir, r.backup));
    } catch {
      problems.push(`the backup ${r.backup} is gone (only the last backups are kept)`);
      continue;
    }
    if (sha256(backup) !== r.before_sha256) {
      problems.push(`the backup ${r.backup} does not match the sidecar as it was before the repair`);
      continue;
    }
    steps.push({ file, action: 'restore_sidecar', detail: `restore from ${r.backup}` });
    writes.unshift(() => atomicReplace(file, backup, { root: dir }));
  }
  planUndoSanitize(dir, repair, steps, problems, writes);
  return { steps, problems, writes };
}

/** A sanitized shard comes back byte for byte from its backup, if nothing wrote to it since. */
function planUndoSanitize(dir: string, repair: RepairSummary, steps: UndoStep[], problems: string[], writes: (() => void)[]): void {
  for (const r of repair.records) {
    if (r.op !== 'sanitize') continue;
    const file = path.join(dir, JOURNAL_DIR_NAME, r.shard);
    const carry = repair.records.filter((x): x is Extract<RepairRecord, { op: 'sanitize_carry' }> => x.op === 'sanitize_carry' && x.shard === r.shard);
    const expected = carry.length ? carry[carry.length - 1].after_sha256 : r.after_sha256;
    const h = currentHash(file);
    if (h === r.before_sha256) {
      steps.push({ file, action: 'nothing', detail: 'shard already as before the sanitize' });
      continue;
    }
    if (carry.length) {
      problems.push(`${r.shard}: hermes-webui appended to it during the sanitize; restoring the original bytes would lose those lines`);
      continue;
    }
    if (h !== expected) {
      problems.push(`${r.shard} changed since the sanitize (hermes-webui wrote to it); restoring the original bytes would lose that`);
      continue;
    }
    let backup: Buffer;
    try {
      backup = readBytesSync(path.join(dir, r.backup));
    } catch {
      problems.push(`the backup ${r.backup} is gone`);
      continue;
    }
    if (sha256(backup) !== r.before_sha256) {
      problems.push(`the backup ${r.backup} does not match the shard as it was`);
      continue;
    }
    steps.push({ file, action: 'restore_shard', detail: `restore the original bytes from ${r.backup}` });
    writes.push(() => atomicReplace(file, backup, { root: dir }));
  }
}

export function undoLastRepair(dir: string, options: { onStep?: (s: string) => void; dryRun?: boolean } = {}): UndoResult {
  const release = acquireRepairLock(dir);
  try {
    const repair = lastUndoableRepair(dir);
    if (!repair) return { status: 'nothing', repairId: null, message: 'there is no repair to undo', steps: [], problems: [] };
    const p = planUndo(dir, repair);
    if (p.problems.length > 0) {
      return {
        status: 'refused',
        repairId: repair.repairId,
        message: `cannot undo repair ${repair.repairId}: ${p.problems.join('; ')}`,
        steps: p.steps,
        problems: p.problems,
      };
    }
    if (options.dryRun) return { status: 'nothing', repairId: repair.repairId, message: `would undo repair ${repair.repairId}`, steps: p.steps, problems: [] };
    const step = options.onStep ?? (() => undefined);
    appendRepairRecord(dir, { op: 'undo_begin', repair_id: repair.repairId, at: new Date().toISOString() });
    step('undo_begin');
    for (const w of p.writes) {
      w();
      step('undo_write');
    }
    appendRepairRecord(dir, { op: 'undone', repair_id: repair.repairId, at: new Date().toISOString() });
    step('undone');
    const changed = p.steps.filter((s) => s.action !== 'nothing').length;
    return {
      status: 'undone',
      repairId: repair.repairId,
      message: `undid repair ${repair.repairId} (${changed} file${changed === 1 ? '' : 's'} restored)`,
      steps: p.steps,
      problems: [],
    };
  } finally {
    release();
  }
}

/** The sha256 of a file's current bytes, or null when it cannot be read (gone, not a regular file). */
function currentHash(file: string): string | null {
  try {
    return sha256(readBytesSync(file));
  } catch {
    return null;
  }
}
