/**
 * Undo with upstream's lock: a sanitize rewrote hermes-webui's own shards, so undoing it
 * rewrites them again, and that must hold the lock hermes-webui's writer takes around each
 * append (`flock(LOCK_EX)`, api/turn_journal.py), as the sanitize did (sanitize.ts).
 *
 * Order: take the flock of every shard the repair sanitized (none free: refuse, nothing
 * written) → undo.ts (repair lock, checks, restore) while holding them → release → bytes a
 * writer appended meanwhile to the inode we replaced (it opened it before, waited for the
 * lock) are carried to the end of the restored shard, under the lock again. Repairs without a
 * sanitize go straight to undo.ts.
 */

import * as fs from 'fs';
import * as path from 'path';
import { holdFlock, type HeldLock } from '../flock';
import { lstatOrNull } from '../fsSafe';
import { JOURNAL_DIR_NAME } from '../sessionId';
import { carryAppended } from './sanitize';
import { lastUndoableRepair, undoLastRepair, type UndoResult } from './undo';

interface Held {
  file: string;
  lock: HeldLock | null;
  fd: number;
  size: number;
}

export async function undoLastRepairLocked(
  dir: string,
  options: { onStep?: (s: string) => void; dryRun?: boolean; settleMs?: number } = {},
): Promise<UndoResult> {
  const repair = lastUndoableRepair(dir);
  const shards = [...new Set((repair?.records ?? []).flatMap((r) => (r.op === 'sanitize' ? [r.shard] : [])))];
  if (!repair || shards.length === 0 || options.dryRun) return undoLastRepair(dir, options);
  const held: Held[] = [];
  try {
    for (const shard of shards) {
      const file = path.join(dir, JOURNAL_DIR_NAME, shard);
      // A shard that is gone or not a regular file is never locked or opened: undo.ts refuses it.
      if (!lstatOrNull(file)?.isFile()) continue;
      const lock = await holdFlock(file, 1000);
      if ('error' in lock) {
        const problem = `${shard}: upstream's lock cannot be taken: ${lock.error}`;
        return { status: 'refused', repairId: repair.repairId, message: `cannot undo repair ${repair.repairId}: ${problem}`, steps: [], problems: [problem] };
      }
      const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
      held.push({ file, lock, fd, size: fs.fstatSync(fd).size });
    }
    const r = undoLastRepair(dir, options);
    for (const h of held) {
      await h.lock!.release();
      h.lock = null;
    }
    if (r.status !== 'undone') return r;
    let carried = 0;
    for (const h of held) carried += await carryAppended(dir, h.file, h.fd, h.size, options.settleMs ?? 300);
    if (carried) r.message += `; ${carried} byte(s) hermes-webui appended during the undo were kept at the end of the shard`;
    return r;
  } finally {
    for (const h of held) {
      if (h.lock) await h.lock.release();
      fs.closeSync(h.fd);
    }
  }
}
