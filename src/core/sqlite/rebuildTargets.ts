/**
 * The three places a rebuild writes to (docs/sqlite.md, "Safety"):
 * - fresh: a new temp file beside the target (journal off, no syncs until the end), renamed
 *   over the target: every full rebuild and every log replay;
 * - copy: the target copied to a temp file, updated, renamed over it: an incremental rebuild
 *   while another process holds the target open (only with --force), so it keeps the old file;
 * - in place: the target itself, in ONE transaction with a rollback journal: every other
 *   incremental rebuild.
 * Each opens its database ready for the rows (a transaction begun), and finishes its way.
 */

import * as fs from 'fs';
import * as path from 'path';
import { copyFileExclusive, fsyncDir, fsyncFile, openReadSync, removeFile, removeTree, renameSafe } from '../fsSafe';
import { openDb, type Db, type EngineKind } from './engine';
import { checkTarget, type RebuildLock } from './lock';
import { DDL, EVENT_INDEXES } from './schema';

/** Page size of a new index (measured: docs/sqlite.md, "Speed"). */
export const PAGE_SIZE = 8192;
/**
 * Page cache: 16 MB (negative = KiB). Rows arrive in order, so a build touches few pages at a
 * time: 4, 8, 16, 64 and 256 MB measured the same time for 1M events; 64 MB held ~60 MB more
 * RSS (docs/sqlite.md, "Speed").
 */
export const CACHE_SIZE = -16384;

export type TargetKind = 'fresh' | 'copy' | 'inPlace';

export interface OpenTarget {
  kind: TargetKind;
  db: Db;
}

const PRIVATE_PRAGMAS = `PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = ${CACHE_SIZE}; PRAGMA temp_store = MEMORY;`;

/** A new file nobody else sees until the rename: no journal, no syncs until the end; the schema and the events index created. */
export function openFresh(temp: string, engine: EngineKind): OpenTarget {
  const db = openDb(temp, { engine });
  db.exec(`PRAGMA page_size = ${PAGE_SIZE}; ${PRIVATE_PRAGMAS}`);
  db.exec(DDL);
  db.exec(EVENT_INDEXES);
  db.exec('BEGIN');
  return { kind: 'fresh', db };
}

/** A private copy of the target (another process keeps reading the old file until it reopens). */
export function openCopy(target: string, temp: string, engine: EngineKind): OpenTarget {
  copyFileExclusive(target, temp);
  const db = openDb(temp, { mustExist: true, engine });
  db.exec(PRIVATE_PRAGMAS);
  db.exec('BEGIN');
  return { kind: 'copy', db };
}

/**
 * The target itself, one transaction with a rollback journal (synced before any page of the
 * file changes). The lock file is marked first: the wasm engine cannot roll back a dead
 * writer's journal, so the next rebuild does it for it (lock.ts recoverInPlace).
 */
export function openInPlace(target: string, engine: EngineKind, lock: RebuildLock, cacheSize = CACHE_SIZE): OpenTarget {
  lock.mark({ inPlace: true });
  const db = openDb(target, { mustExist: true, engine });
  db.exec(`PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA cache_size = ${Math.trunc(cacheSize)}; PRAGMA temp_store = MEMORY;`);
  db.exec('BEGIN IMMEDIATE');
  return { kind: 'inPlace', db };
}

/** Drops an opened target without writing (a plan that turned out full, or a failure). */
export function abandon(t: OpenTarget, target: string, temp: string, lock: RebuildLock): void {
  try {
    if (t.kind === 'inPlace') t.db.exec('ROLLBACK');
  } catch {
    // no transaction open: nothing written
  }
  try {
    t.db.close();
  } catch {
    // already failing
  }
  // A journal left behind (the rollback failed) keeps the mark: the next rebuild rolls it back.
  if (t.kind === 'inPlace' && !fs.existsSync(target + '-journal')) lock.mark({ inPlace: false });
  removeTemp(temp);
}

export function removeTemp(temp: string): void {
  removeFile(temp);
  removeTree(temp + '.lock');
  removeFile(temp + '-journal');
}

/** In place, after COMMIT and close: SQLite synced the file (synchronous = FULL) and deleted its journal. */
export function finishInPlace(target: string, lock: RebuildLock): void {
  fsyncDir(path.dirname(target));
  lock.mark({ inPlace: false });
}

/** Fresh or copy, after close: sync the temp file, check the target again, rename over it, sync the folder. */
export function finishByRename(temp: string, target: string, force: boolean | undefined, cp: (name: string) => void): void {
  fsyncFile(temp);
  cp('synced');
  // The target may have been opened while we built: check again right before replacing it.
  checkTarget(target, { force });
  renameSafe(temp, target); // never over a symbolic link planted at the target
  cp('renamed');
  fsyncDir(path.dirname(target));
}

export { fsyncFile };

export interface EarlySync {
  /** Starts an fdatasync if none is in flight and the last ended `everyMs` ago. */
  poke(): void;
  /** Waits for the one in flight, then closes the file. */
  close(): Promise<void>;
  /** Closes the file at once (a failed build; any sync in flight just fails). */
  closeNow(): void;
}

/**
 * Background fdatasync of a file being written (libuv's thread pool, at most one in flight,
 * one per `everyMs`): the kernel writes the pages out while the build goes on, so the final
 * fsync has little left to do. Best effort: errors are ignored (the final fsync is the one
 * that counts).
 */
export function earlySync(file: string, everyMs = 250): EarlySync {
  let fd: number | null = null;
  try {
    fd = openReadSync(file).fd;
  } catch {
    // not created yet: nothing to sync early
  }
  let busy: Promise<void> | null = null;
  let last = Date.now();
  return {
    poke(): void {
      if (fd === null || busy !== null || Date.now() - last < everyMs) return;
      const f = fd;
      busy = new Promise<void>((resolve) => fs.fdatasync(f, () => resolve())).then(() => {
        busy = null;
        last = Date.now();
      });
    },
    async close(): Promise<void> {
      await busy;
      this.closeNow();
    },
    closeNow(): void {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    },
  };
}
