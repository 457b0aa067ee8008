/**
 * Is the index file in use elsewhere? Best-effort checks before a rebuild replaces it, and
 * the rebuild's own lock. What each check sees and misses is in docs/sqlite.md ("Safety").
 *
 * - `<db>.lock/`: the lock folder of our engine's VFS (node-sqlite3-wasm): a reader or
 *   writer using this engine is inside a transaction (or died inside one).
 * - `<db>-journal`, `<db>-wal`, `<db>-shm`: a native SQLite program has it open in WAL mode,
 *   is writing, or crashed mid-write. Renaming a new file under such a journal would let
 *   SQLite apply the old journal to the new file, so this is never overridden.
 * - Linux `/proc/locks`: a POSIX or flock lock on the file's inode (any SQLite that is in a
 *   transaction, or any WAL-mode connection).
 * - Linux `/proc/<pid>/fd`: another process has the file open (an idle connection of a
 *   viewer). Replacing is safe for it (it keeps reading the old inode until it reopens), so
 *   `force` overrides this one.
 * - `<db>.rebuild-lock`: another rebuild of the same index is running (pid inside; a lock
 *   whose process is gone is taken over).
 */

import * as fs from 'fs';
import {
  atomicReplace,
  createExclusive,
  fsyncDir,
  ftruncateSync,
  openUpdateSync,
  pwriteSync,
  readBytesSync,
  readTextSync,
  removeFile,
  removeTree,
} from '../fsSafe';
import * as path from 'path';
import { pidAlive } from '../pidLock';
import { openDb, type EngineKind } from './engine';

export class TargetBusyError extends Error {
  constructor(
    message: string,
    /** True when `force` would let the rebuild go ahead. */
    readonly forceable: boolean,
  ) {
    super(message);
  }
}

export interface Holder {
  pid: number;
  name: string;
}

export { pidAlive };

/** Throws TargetBusyError when the target looks in use. A missing target is never busy. */
export function checkTarget(target: string, options: { force?: boolean; ignorePids?: readonly number[] } = {}): void {
  for (const suffix of ['-journal', '-wal', '-shm']) {
    if (fs.existsSync(target + suffix)) {
      throw new TargetBusyError(
        `${path.basename(target + suffix)} exists beside the index: a SQLite program has ${path.basename(target)} open in WAL mode, is writing to it, or crashed while writing. ` +
          `Close that program (or open and close the index once with sqlite3 to settle the journal), then rebuild.`,
        false,
      );
    }
  }
  if (isDir(target + '.lock')) {
    throw new TargetBusyError(
      `${path.basename(target)} is locked (${path.basename(target)}.lock/ exists): another program using this SQLite engine is reading or writing it. ` +
        `If no such program runs, it died mid-transaction: remove the ${path.basename(target)}.lock folder.`,
      false,
    );
  }
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(target, { bigint: true });
  } catch {
    return; // no target yet
  }
  const ignore = new Set([process.pid, ...(options.ignorePids ?? [])]);
  const lockers = procLocks(st).filter((p) => !ignore.has(p));
  if (lockers.length > 0) {
    throw new TargetBusyError(
      `${path.basename(target)} is locked by ${describeHolders(lockers.map((pid) => ({ pid, name: processName(pid) })))}: a program is in the middle of using it. Close it and rebuild.`,
      false,
    );
  }
  if (!options.force) {
    const holders = processesHolding(target, st).filter((h) => !ignore.has(h.pid));
    if (holders.length > 0) {
      throw new TargetBusyError(
        `${path.basename(target)} is open in ${describeHolders(holders)}. Replacing it is safe for that program (it keeps the old copy until it reopens the file), ` +
          `but it will not see the new index: close it first, or rebuild with --force (the "Replace Anyway" button) to replace it now.`,
        true,
      );
    }
  }
}

function describeHolders(h: Holder[]): string {
  return h.map((x) => `${x.name || 'a process'} (pid ${x.pid})`).join(', ');
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Linux: pids holding a POSIX/flock/OFD lock on this inode (empty elsewhere). */
export function procLocks(st: fs.BigIntStats): number[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return [];
  }
  const dev = st.dev;
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  const pids: number[] = [];
  for (const line of text.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" (an OFD lock shows pid -1)
    const m = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+(-?\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
    if (!m) continue;
    if (BigInt(m[4]) !== st.ino || parseInt(m[2], 16) !== major || parseInt(m[3], 16) !== minor) continue;
    pids.push(Number(m[1]));
  }
  return [...new Set(pids)];
}

/** Linux: processes with the file open, by scanning /proc/<pid>/fd (those we may read). */
export function processesHolding(target: string, st?: fs.BigIntStats): Holder[] {
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const real = safeRealpath(target);
  const out: Holder[] = [];
  for (const p of pids) {
    const fdDir = `/proc/${p}/fd`;
    let fds: string[];
    try {
      fds = fs.readdirSync(fdDir);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`${fdDir}/${fd}`);
      } catch {
        continue;
      }
      if (link !== real) continue;
      if (st) {
        try {
          const s = fs.statSync(`${fdDir}/${fd}`, { bigint: true });
          if (s.ino !== st.ino || s.dev !== st.dev) continue;
        } catch {
          continue;
        }
      }
      out.push({ pid: Number(p), name: processName(Number(p)) });
      break;
    }
  }
  return out;
}

function safeRealpath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * The program's name: its argv[0] (`/proc/<pid>/cmdline`), else the main thread's name (`comm`,
 * which programs rename: Node 24 calls it "MainThread").
 */
function processName(pid: number): string {
  const read = (f: string) => {
    try {
      return fs.readFileSync(`/proc/${pid}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  const argv0 = path.basename(read('cmdline').split('\0')[0].trim()).slice(0, 64);
  return argv0 || read('comm').trim();
}

/** What a rebuild lock file holds. */
export interface RebuildLockInfo {
  pid: number;
  started: string;
  /** True while the rebuild may have uncommitted changes in the target itself (incremental, in place). */
  inPlace?: boolean;
}

export interface RebuildLock {
  (): void;
  release(): void;
  /** The lock of a rebuild that died, if this one took it over. */
  previous: RebuildLockInfo | null;
  /** Updates the lock file (atomically: temp file + rename). */
  mark(info: { inPlace: boolean }): void;
}

/**
 * The rebuild's own lock: `<db>.rebuild-lock` created exclusively, holding our pid (and,
 * while an in-place incremental rebuild runs, `inPlace: true`, so that the next rebuild
 * knows a journal left beside the index is that dead rebuild's). Callable: releases it.
 */
export function acquireRebuildLock(target: string): RebuildLock {
  const lock = target + '.rebuild-lock';
  const started = new Date().toISOString();
  let previous: RebuildLockInfo | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_CREAT|O_EXCL|O_NOFOLLOW (fsSafe): a link planted at the lock name is never written through.
      // A dead in-place rebuild's claim is carried over until its journal is rolled back.
      // Synced only when it carries a dead rebuild's in-place claim: a lock lost or left empty by a
      // power loss reads as a dead writer's, which is what it then is.
      const claim = previous?.inPlace === true;
      createExclusive(lock, JSON.stringify({ pid: process.pid, started, ...(claim ? { inPlace: true } : {}) }) + '\n', { sync: claim });
      const release = (): void => void removeFile(lock);
      const mark = (info: { inPlace: boolean }): void => {
        // O_EXCL temp name + rename (fsSafe): no fixed temp name a planted link could redirect.
        // `inPlace: true` must be on disk before the target is written; clearing it need not be (a
        // claim left by a power loss after the commit finds no journal: the next rebuild has nothing to roll back).
        atomicReplace(lock, JSON.stringify({ pid: process.pid, started, inPlace: info.inPlace }) + '\n', { mode: 0o600, sync: info.inPlace });
      };
      return Object.assign(release, { release, previous, mark });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let info: Partial<RebuildLockInfo> = {};
    try {
      info = JSON.parse(readTextSync(lock));
    } catch {
      // unreadable or half-written: a writer died between open and write
    }
    const pid = Number(info.pid);
    if (pidAlive(pid) && pid !== process.pid) {
      throw new TargetBusyError(`another rebuild of ${path.basename(target)} is running (pid ${pid}); wait for it to finish`, false);
    }
    if (info.inPlace === true) previous = { pid, started: String(info.started), inPlace: true };
    else previous ??= Number.isFinite(pid) ? { pid, started: String(info.started) } : null;
    removeFile(lock); // a planted link or FIFO is removed itself, never followed
  }
  throw new TargetBusyError(`cannot take the rebuild lock ${lock}`, false);
}

/**
 * After an in-place incremental rebuild died mid-transaction: its engine lock folder
 * (`<db>.lock/`, which only that dead process held) is removed and its rollback journal
 * played back, so the target returns byte for byte to its last committed state.
 *
 * The engine cannot do this itself: its VFS has one lock (a folder) for every lock level, so
 * when it checks whether a hot journal's writer is still alive it sees its own lock and
 * never rolls back. Native SQLite programs do roll it back when they open the file; this
 * does the same (SQLite's pager_playback, https://www.sqlite.org/fileformat2.html section
 * "The Rollback Journal"): for each journal header, its records (page number, the page's
 * original content, checksum) are written back, stopping at a bad checksum or header;
 * the file is cut back to the size the first header records, synced, then the journal
 * deleted. Interrupted, it can simply be run again.
 */
export function recoverInPlace(target: string, previous: RebuildLockInfo, engine: EngineKind = 'wasm'): void {
  const journalPath = target + '-journal';
  const journal = fs.existsSync(journalPath);
  let lockDir: fs.Stats | null = null;
  try {
    lockDir = fs.statSync(target + '.lock');
  } catch {
    // none
  }
  // With a journal, nothing else can have taken the engine lock since the writer died;
  // without one, the folder is that rebuild's if it was made while it ran.
  if (lockDir && (journal || lockDir.mtimeMs >= Date.parse(previous.started) - 1000)) removeTree(target + '.lock');
  if (!journal) return;
  const st = fs.statSync(target, { bigint: true });
  const lockers = procLocks(st).filter((p) => p !== process.pid);
  if (lockers.length > 0)
    throw new TargetBusyError(
      `${path.basename(target)} has a journal beside it and is locked by pid ${lockers.join(', ')}; close that program and rebuild`,
      false,
    );
  if (engine === 'native') {
    // Native SQLite rolls a hot journal back itself when it opens the file (its locks are
    // POSIX locks, so it knows the writer is gone); reading the schema makes it do so.
    const db = openDb(target, { mustExist: true, engine: 'native' });
    try {
      db.get('PRAGMA schema_version');
    } finally {
      db.close();
    }
  } else {
    playBackJournal(target, readBytesSync(journalPath));
  }
  removeFile(journalPath);
  fsyncDir(path.dirname(target));
}

const JOURNAL_MAGIC = Buffer.from([0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);

/** Writes a rollback journal's original pages back into the database file (and syncs it). Returns the pages restored. */
export function playBackJournal(dbFile: string, j: Buffer): number {
  const pow2 = (n: number, lo: number, hi: number): boolean => n >= lo && n <= hi && (n & (n - 1)) === 0;
  let off = 0;
  let restored = 0;
  let pageSize = 0;
  let sectorSize = 0;
  let origPages = -1;
  const fd = openUpdateSync(dbFile);
  try {
    for (;;) {
      if (off + 28 > j.length || !j.subarray(off, off + 8).equals(JOURNAL_MAGIC)) break; // no (more) synced header
      let nRec = j.readUInt32BE(off + 8);
      const nonce = j.readUInt32BE(off + 12);
      const mxPg = j.readUInt32BE(off + 16);
      if (origPages < 0) {
        sectorSize = j.readUInt32BE(off + 20);
        pageSize = j.readUInt32BE(off + 24);
        if (!pow2(sectorSize, 32, 65536) || !pow2(pageSize, 512, 65536))
          throw new Error(`${path.basename(dbFile)}-journal has an invalid header (sector ${sectorSize}, page ${pageSize})`);
        origPages = mxPg;
        // Cut the file back to its size before the transaction.
        ftruncateSync(fd, origPages * pageSize);
      }
      off += sectorSize;
      const rec = pageSize + 8;
      if (nRec === 0xffffffff) nRec = Math.floor((j.length - off) / rec);
      let done = false;
      for (let u = 0; u < nRec; u++) {
        if (off + rec > j.length) {
          done = true;
          break;
        }
        const pgno = j.readUInt32BE(off);
        const data = j.subarray(off + 4, off + 4 + pageSize);
        let ck = nonce;
        for (let i = pageSize - 200; i > 0; i -= 200) ck = (ck + data[i]) >>> 0;
        if (pgno === 0 || ck !== j.readUInt32BE(off + 4 + pageSize)) {
          done = true;
          break;
        }
        if (pgno <= origPages) {
          pwriteSync(fd, data.subarray(0, pageSize), (pgno - 1) * pageSize);
          restored++;
        }
        off += rec;
      }
      if (done) break;
      off = Math.ceil(off / sectorSize) * sectorSize; // the next header starts on a sector boundary
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return restored;
}

/** Other processes with the target open or locked (Linux; empty elsewhere or when there is no target). */
export function otherHolders(target: string): Holder[] {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(target, { bigint: true });
  } catch {
    return [];
  }
  const seen = new Map<number, Holder>();
  for (const pid of procLocks(st)) if (pid !== process.pid) seen.set(pid, { pid, name: processName(pid) });
  for (const h of processesHolding(target, st)) if (h.pid !== process.pid) seen.set(h.pid, h);
  return [...seen.values()];
}

export const TEMP_RE = /^\.(.+)\.tmp-(\d+)-[0-9a-f]+$/;

/** `.<name>.tmp-<pid>-<hex>` beside the target. */
export function tempName(target: string, hex: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${hex}`);
}

/** Removes temp files (and their engine lock folders) left by rebuilds that died. */
export function removeStaleTemps(target: string): string[] {
  const dir = path.dirname(target);
  const base = path.basename(target);
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const n of names) {
    const stem = n.replace(/(-journal|\.lock)$/, '');
    const m = TEMP_RE.exec(stem);
    if (!m || m[1] !== base) continue;
    const pid = Number(m[2]);
    if (pid !== process.pid && pidAlive(pid)) continue;
    removeTree(path.join(dir, n)); // a link is removed itself, never followed
    removed.push(n);
  }
  return removed;
}
