/**
 * The local side of exactly-once: an outbox of records waiting to be pushed and a ledger of
 * records already in the log, both in the sessions folder, both append-only JSONL written
 * with `appendLinesDurable` (one write + fsync), so a crash or a lost network never loses a
 * record and never makes us push one twice.
 *
 * - `_github_outbox.jsonl`: one record line per line (the exact line that will be pushed).
 * - `_github_ledger.jsonl`: `{"id","target","commit","at"}` per record known to be in the log
 *   of `target` (`owner/name@branch:path`; branch empty = the default branch).
 * - `_github_state.json`: per target, what pushes learned (`large`: the file is over 1 MB;
 *   `defaultBranch`), so a push of a large file starts on the Git Data API path. Only a hint.
 * - `_github_push.lock`: held (O_EXCL, with our pid) while a push of this folder runs; a lock
 *   whose process is gone is taken over.
 *
 * After a push the ledger gets the ids first, then the outbox is compacted by atomicReplace to
 * what is still pending. A crash between the two leaves records in the outbox that the ledger
 * already names: they are filtered out on the next read. A crash after the commit but before
 * the ledger write leaves them pending: the next push finds their ids in the remote file and
 * only records them in the ledger. A torn last line (crash mid-append) is ignored; the record
 * is collected again from the journals.
 */

import * as path from 'path';
import { tryPidLock } from '../pidLock';
import { appendLinesDurable, atomicReplace, readBytesSync, readTextIfExistsSync, readTextSync } from '../fsSafe';
import type { LogRecord } from './records';
import { recordId } from './records';
import type { TargetHint } from './push';

export const OUTBOX_FILE = '_github_outbox.jsonl';
export const LEDGER_FILE = '_github_ledger.jsonl';
export const LOCK_FILE = '_github_push.lock';
export const STATE_FILE = '_github_state.json';

function readLines(file: string): string[] {
  // Regular file only: a FIFO, device or symbolic link is an error, never a hang.
  const text = readTextIfExistsSync(file);
  if (text === null) return [];
  const lines = text.split('\n');
  lines.pop(); // the part after the last newline: empty, or a torn append
  return lines;
}

/** The cached ids of rotated parts, when the state file's value has the right shape. */
function validParts(v: unknown): TargetHint['parts'] {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: NonNullable<TargetHint['parts']> = Object.create(null);
  for (const [k, e] of Object.entries(v as Record<string, unknown>)) {
    const p = e as { sha?: unknown; ids?: unknown };
    if (p && typeof p.sha === 'string' && Array.isArray(p.ids) && p.ids.every((i) => typeof i === 'string')) out[k] = { sha: p.sha, ids: p.ids as string[] };
  }
  return out;
}

export class Outbox {
  readonly outboxFile: string;
  readonly ledgerFile: string;

  constructor(
    readonly dir: string,
    /** `owner/name@branch:path` */
    readonly target: string,
  ) {
    this.outboxFile = path.join(dir, OUTBOX_FILE);
    this.ledgerFile = path.join(dir, LEDGER_FILE);
  }

  readHint(): TargetHint {
    try {
      const all = JSON.parse(readTextSync(path.join(this.dir, STATE_FILE))) as Record<string, unknown>;
      const h = all[this.target] as { large?: unknown; defaultBranch?: unknown; parts?: unknown; partsHead?: unknown } | undefined;
      const parts = validParts(h?.parts);
      return {
        large: h?.large === true,
        defaultBranch: typeof h?.defaultBranch === 'string' ? h.defaultBranch : undefined,
        ...(parts && typeof h?.partsHead === 'string' ? { parts, partsHead: h.partsHead } : {}),
      };
    } catch {
      return {};
    }
  }

  writeHint(hint: TargetHint): void {
    const file = path.join(this.dir, STATE_FILE);
    let all: Record<string, unknown> = {};
    try {
      all = JSON.parse(readTextSync(file)) as Record<string, unknown>;
    } catch {
      // first time, or damaged: it is only a hint
    }
    const next = {
      large: hint.large === true,
      ...(hint.defaultBranch ? { defaultBranch: hint.defaultBranch } : {}),
      ...(hint.parts && hint.partsHead !== undefined ? { parts: hint.parts, partsHead: hint.partsHead } : {}),
    };
    if (JSON.stringify(all[this.target]) === JSON.stringify(next)) return;
    all[this.target] = next;
    atomicReplace(file, JSON.stringify(all, null, 2) + '\n', { root: this.dir });
  }

  /** Ids already in the log of this target. */
  pushedIds(): Set<string> {
    const ids = new Set<string>();
    for (const l of readLines(this.ledgerFile)) {
      try {
        const v = JSON.parse(l) as { id?: unknown; target?: unknown };
        if (typeof v.id !== 'string' || v.target !== this.target) continue;
        // A later `lost` line: the record vanished from the log and could not be pushed again.
        if ((v as { lost?: unknown }).lost === true) ids.delete(v.id);
        else ids.add(v.id);
      } catch {
        // a damaged ledger line only means that record is checked against the remote again
      }
    }
    return ids;
  }

  /** Records waiting to be pushed (not in the ledger), first occurrence of each id. */
  pending(pushed = this.pushedIds()): Map<string, string> {
    const out = new Map<string, string>();
    for (const l of readLines(this.outboxFile)) {
      const id = recordId(l);
      if (id !== null && !pushed.has(id) && !out.has(id)) out.set(id, l);
    }
    return out;
  }

  /** Adds the records that are neither pending nor pushed; returns how many were added. */
  add(records: readonly LogRecord[]): number {
    const pushed = this.pushedIds();
    const pending = this.pending(pushed);
    const fresh = records.filter((r) => !pushed.has(r.id) && !pending.has(r.id));
    const unique = new Map(fresh.map((r) => [r.id, r.line]));
    if (unique.size) appendLinesDurable(this.outboxFile, [...unique.values()], { root: this.dir });
    return unique.size;
  }

  /** Records `ids` as in the log, then rewrites the outbox without them. */
  markPushed(ids: readonly string[], commit: string | null): void {
    if (ids.length) {
      const at = new Date().toISOString();
      appendLinesDurable(
        this.ledgerFile,
        ids.map((id) => JSON.stringify({ id, target: this.target, commit, at })),
        { root: this.dir },
      );
    }
    this.compact();
  }

  /**
   * Records `ids` as no longer in the log (it was rewritten, and they could not be pushed
   * again): they count as never pushed, so collecting them again re-queues them.
   */
  markLost(ids: readonly string[]): void {
    if (!ids.length) return;
    const at = new Date().toISOString();
    appendLinesDurable(
      this.ledgerFile,
      ids.map((id) => JSON.stringify({ id, target: this.target, lost: true, at })),
    );
  }

  /** Rewrites the outbox to the records still pending (no-op when nothing would change). */
  compact(): void {
    const next = Buffer.from([...this.pending().values()].map((l) => l + '\n').join(''), 'utf8');
    let current: Buffer | null = null;
    try {
      current = readBytesSync(this.outboxFile);
    } catch {
      // no outbox yet
    }
    if (current ? current.equals(next) : next.length === 0) return;
    atomicReplace(this.outboxFile, next, { root: this.dir });
  }
}

export class LockBusyError extends Error {}

/** Runs `fn` holding `<dir>/_github_push.lock`; waits for another live holder up to `waitMs`. */
export async function withPushLock<T>(dir: string, fn: () => Promise<T>, waitMs = 120_000): Promise<T> {
  const file = path.join(dir, LOCK_FILE);
  const until = Date.now() + waitMs;
  let release: () => void;
  for (;;) {
    const lock = tryPidLock(file);
    if ('release' in lock) {
      release = lock.release;
      break;
    }
    if (Date.now() > until) throw new LockBusyError(`another push of ${dir} is running (pid ${lock.heldBy}); try again when it ends`);
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    return await fn();
  } finally {
    release();
  }
}
