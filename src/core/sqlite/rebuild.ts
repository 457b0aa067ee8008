/**
 * Rebuilding the SQLite index from the JSONL logs (the durable truth).
 *
 * Full rebuild: the new database is built in a temp file beside the target
 * (`.<name>.tmp-<pid>-<hex>`), fsynced, then renamed over the target and the folder fsynced.
 * Killing the process at any moment leaves the old database as it was; temp files of dead
 * rebuilds are removed by the next one. With a worker script (the CLI passes itself) and
 * enough to read, sessions are read, parsed and turned into rows on a worker thread while
 * this thread only binds and steps SQLite statements.
 *
 * Incremental: when every shard the last build read still exists with the same inode and
 * has only grown (the bytes before the last complete line it read still hash the same), only
 * the sessions that changed are redone — their new events and malformed lines added, their
 * derived rows (sessions, shards, turns, collisions, findings) replaced — in place, in ONE
 * SQLite transaction with a rollback journal (the lock file is marked first, and the next
 * rebuild plays a crashed writer's journal back itself: see docs/sqlite.md). When another
 * process holds the index open (only with --force), it falls back to copy + rename. Anything
 * else is a full rebuild.
 */

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_STALE_AFTER_MINUTES } from '../analyze';
import { discoverSessions, type DiscoveredSession, type Discovery } from '../discovery';
import { copyFileExclusive, fsyncDir, fsyncFile, openReadSync, removeFile, removeTree, renameSafe } from '../fsSafe';
import { listFeedbackFiles, readFeedbackFile } from '../feedback/read';
import { DEFAULT_MAX_LINE_BYTES } from '../shardReader';
import { sidecarPath } from '../sidecar';
import { defaultEngine, engineName, openDb, runBatch, sqliteVersion, type Db, type EngineKind } from './engine';
import { acquireRebuildLock, checkTarget, otherHolders, recoverInPlace, removeStaleTemps, tempName } from './lock';
import { sessionBatches } from './parallelRows';
import { prefixHash, readSession, statStampSync, type SessionRead, type Stamp } from './readSession';
import { DDL, EVENT_INDEXES, LATE_INDEXES, SCHEMA_VERSION } from './schema';
import { applyFeedback, IndexWriter } from './writer';
import { replayLog } from './fromLog';
import { VERSION } from '../version';

export interface RebuildProgress {
  phase: 'scan' | 'sessions' | 'log' | 'indexes' | 'sync' | 'done';
  sessionsDone: number;
  sessionsTotal: number;
  /** Events written so far (new ones only, for an incremental rebuild). */
  events: number;
  bytesDone: number;
  bytesTotal: number;
  /** The temp file being built (removed if the rebuild is cancelled or fails). */
  temp?: string;
}

export interface RebuildOptions {
  /** The sessions folder (holding `_turn_journal/`). Exclusive with `fromLog`. */
  sessionsDir?: string;
  /** A downloaded GitHub interaction log (JSONL) to replay instead of a sessions folder. */
  fromLog?: string;
  /** The database file to (re)build. */
  db: string;
  /** Always rebuild from scratch. */
  full?: boolean;
  /** Replace the target even when another process holds it open (never when it is locked). */
  force?: boolean;
  now?: number;
  staleAfterMinutes?: number;
  maxLineBytes?: number;
  toolVersion?: string;
  onProgress?: (p: RebuildProgress) => void;
  signal?: AbortSignal;
  /** Test hook: the page cache (PRAGMA cache_size) of an in-place incremental rebuild; tiny values make SQLite write into the file before the commit. */
  cacheSize?: number;
  /** Test hook: called at named points of the build (e.g. to kill the process there). */
  checkpoint?: (name: string) => void;
  /**
   * A script that serves as a rebuild worker (calls `runRebuildWorkerIfWorker()` at startup;
   * the CLI passes its own bundle). With it, sessions are read, analysed and turned into rows
   * on worker threads while the main thread writes (when there is enough to read).
   */
  workerScript?: string;
  /** Rebuild workers (default 1); 0 = read on the main thread. Env BMA_REBUILD_WORKERS overrides. */
  workers?: number;
  /** Test hook: use the workers however little there is to read. */
  alwaysWorkers?: boolean;
  /** The SQLite engine (default: `node:sqlite` where the runtime has it, else the wasm one). */
  engine?: EngineKind;
}

export interface RebuildResult {
  db: string;
  mode: 'full' | 'incremental';
  /** Why a full rebuild was needed (incremental not possible), if it was. */
  reason: string | null;
  sessionsRedone: number;
  eventsAdded: number;
  counts: { sessions: number; events: number; turns: number; collisions: number; malformed: number; findings: number; feedback: number };
  elapsedMs: number;
  bytes: number;
}

export class RebuildCancelled extends Error {
  constructor() {
    super('rebuild cancelled');
  }
}

interface PrevShard {
  sessionId: string;
  fingerprint: string;
  committed: number;
}

interface Plan {
  mode: 'full' | 'incremental';
  reason: string | null;
  /** Sessions to (re)do; for full: all. */
  redo: Set<string>;
  prevShards: Map<string, PrevShard>;
  prevFeedback: Record<string, string>;
}

const TOOL_VERSION = VERSION;
/** Page size of a new index (measured: docs/sqlite.md, "Speed"). */
const PAGE_SIZE = 8192;
/**
 * Page cache: 16 MB (negative = KiB). Rows arrive in order, so a build touches few pages at a
 * time: 4, 8, 16, 64 and 256 MB measured the same time for 1M events; 64 MB held ~60 MB more
 * RSS (docs/sqlite.md, "Speed").
 */
export const CACHE_SIZE = -16384;

export async function rebuildIndex(options: RebuildOptions): Promise<RebuildResult> {
  const started = Date.now();
  if ((options.sessionsDir === undefined) === (options.fromLog === undefined)) throw new Error('give either a sessions folder or an interaction log');
  const target = path.resolve(options.db);
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) throw new Error(`the folder of the index does not exist: ${dir}`);
  const engine = options.engine ?? defaultEngine();
  const lock = acquireRebuildLock(target);
  const release = lock.release;
  const temp = tempName(target, crypto.randomBytes(4).toString('hex'));
  const progress: RebuildProgress = { phase: 'scan', sessionsDone: 0, sessionsTotal: 0, events: 0, bytesDone: 0, bytesTotal: 0, temp };
  const report = (): void => options.onProgress?.({ ...progress });
  const tracing = process.env.BMA_TRACE === '1';
  let lastMark = process.hrtime.bigint();
  const userCp = options.checkpoint;
  const cp = (name: string): void => {
    if (tracing && name !== 'session') {
      const now = process.hrtime.bigint();
      process.stderr.write(`trace ${name} ${(Number(now - lastMark) / 1e6).toFixed(1)} ms\n`);
      lastMark = now;
    }
    userCp?.(name);
  };
  let db: Db | null = null;
  /** A full build's background syncs of `temp` (see earlySync). */
  let early: EarlySync | null = null;
  /** Incremental, writing into the target itself (one transaction); else into `temp`. */
  let inPlace = false;
  try {
    // A rebuild that was killed while it wrote into the target in place left its hot
    // journal (and its engine lock folder): roll the target back to its last commit.
    if (lock.previous?.inPlace === true) {
      recoverInPlace(target, lock.previous, engine);
      lock.mark({ inPlace: false });
    }
    checkTarget(target, { force: options.force });
    removeStaleTemps(target);
    cp('locked');
    report();
    const settings = {
      now: options.now ?? Date.now() / 1000,
      staleAfterMinutes: options.staleAfterMinutes ?? DEFAULT_STALE_AFTER_MINUTES,
      maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
    };
    const sources = options.sessionsDir !== undefined
      ? [{ kind: 'journal', path: path.resolve(options.sessionsDir) }]
      : [{ kind: 'log', path: path.resolve(options.fromLog!) }];

    let result: Omit<RebuildResult, 'counts' | 'elapsedMs' | 'bytes' | 'db'>;
    if (options.sessionsDir !== undefined) {
      let discovery: Discovery;
      discovery = await discoverSessions(options.sessionsDir);
      const feedbackFiles = await listFeedbackFiles(discovery.sessionsDir);
      const stamps = await statAll(discovery);
      progress.sessionsTotal = discovery.sessions.length;
      progress.bytesTotal = [...stamps.values()].reduce((n, s) => n + s.size, 0);
      const feedbackStamps: Record<string, string> = {};
      for (const f of feedbackFiles) feedbackStamps[f.name] = statStampSync(f.path);
      cp('scanned');

      let plan: Plan = { mode: 'full', reason: options.full ? 'asked for a full rebuild' : 'no index yet', redo: new Set(discovery.sessions.map((s) => s.sessionId)), prevShards: new Map(), prevFeedback: {} };
      if (!options.full && fs.existsSync(target)) {
        // In place when no other process has the target open: SQLite's rollback journal
        // makes the one transaction atomic. When one has it open (only with --force, see
        // checkTarget) it must keep seeing the old file: copy, update the copy, rename.
        inPlace = otherHolders(target).length === 0;
        if (inPlace) {
          lock.mark({ inPlace: true });
          db = openDb(target, { mustExist: true, engine });
          db.exec(`PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA cache_size = ${Math.trunc(options.cacheSize ?? CACHE_SIZE)}; PRAGMA temp_store = MEMORY;`);
          db.exec('BEGIN IMMEDIATE');
        } else {
          copyFileExclusive(target, temp);
          cp('copied');
          db = openDb(temp, { mustExist: true, engine });
        }
        const p = await planIncremental(db, discovery, stamps, sources, settings);
        if (p.mode === 'incremental') plan = p;
        else {
          plan.reason = p.reason;
          if (inPlace) db.exec('ROLLBACK');
          db.close();
          db = null;
          if (inPlace) lock.mark({ inPlace: false });
          else removeFile(temp);
          inPlace = false;
        }
      }
      cp('planned');
      if (db === null) {
        // A new file nobody else sees until the rename: no journal, no syncs until the end.
        db = openDb(temp, { engine });
        db.exec(`PRAGMA page_size = ${PAGE_SIZE}; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = ${CACHE_SIZE}; PRAGMA temp_store = MEMORY;`);
        db.exec(DDL);
        db.exec(EVENT_INDEXES);
        db.exec('BEGIN');
      } else if (!inPlace) {
        db.exec(`PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = ${CACHE_SIZE}; PRAGMA temp_store = MEMORY;`);
        db.exec('BEGIN');
      }
      if (inPlace) progress.temp = undefined;
      const writer = new IndexWriter(db);
      progress.phase = 'sessions';
      if (plan.mode === 'incremental') progress.sessionsTotal = plan.redo.size;
      report();
      let lastReport = Date.now();
      const opts = { now: settings.now, staleAfterSeconds: settings.staleAfterMinutes * 60 };
      const todo = discovery.sessions.filter((s) => plan.redo.has(s.sessionId));
      // Incremental: per shard, the offset below which its events and malformed lines are
      // already in the index; the session's other rows are deleted and written anew.
      const skipOf = (s: DiscoveredSession): Map<string, number> | undefined => {
        if (plan.mode !== 'incremental') return undefined;
        const skip = new Map<string, number>();
        for (const sh of s.shards) {
          const prev = plan.prevShards.get(sh.name);
          if (prev) skip.set(sh.name, prev.committed);
        }
        return skip;
      };
      const beginSession = (s: DiscoveredSession, skip: Map<string, number> | undefined): void => {
        if (!skip) return;
        deleteSessionRows(db!, s.sessionId);
        for (const [shard, committed] of skip) {
          // The only event at or past the committed size is the torn final line (events_torn).
          db!.all('DELETE FROM events WHERE shard = ? AND torn = 1', [shard]);
          db!.all('DELETE FROM malformed WHERE shard = ? AND offset >= ?', [shard, committed]);
        }
      };
      let eventsWritten = 0;
      // A new file: start writing its pages to disk while the build goes on (fdatasync on
      // libuv's thread pool, one at a time), so that the final fsync has little left to do.
      early = plan.mode === 'full' ? earlySync(temp) : null;
      const endSession = async (bytes: number): Promise<void> => {
        early?.poke();
        progress.sessionsDone++;
        progress.events = eventsWritten;
        progress.bytesDone += bytes;
        if (Date.now() - lastReport >= 100) {
          report();
          lastReport = Date.now();
          // Let signals, cancellation and progress output through.
          await new Promise((r) => setImmediate(r));
        }
        cp('session');
      };
      const workers = workerCount(options, todo, stamps);
      if (workers > 0) {
        // Worker threads read, analyse and build the rows; this thread binds and steps.
        const skips = todo.map(skipOf);
        const batches = sessionBatches(todo, { sessionsDir: discovery.sessionsDir, maxLineBytes: settings.maxLineBytes, ...opts }, options.workerScript!, workers, (i) => skips[i]);
        let started = -1;
        for await (const m of batches) {
          if (options.signal?.aborted) throw new RebuildCancelled();
          if (m.i !== started) {
            started = m.i;
            beginSession(todo[m.i], skips[m.i]);
          }
          if (m.batch) runBatch(writer.statements, m.batch);
          early?.poke();
          if (m.last) {
            eventsWritten += m.events!;
            await endSession(m.bytes!);
          }
        }
      } else {
        // Reading (file I/O on libuv's threads, then parsing) runs ahead of writing: while
        // one session's rows go into SQLite, the next sessions' files are being read.
        const ahead: Promise<SessionRead>[] = [];
        const readAt = (i: number): void => {
          if (i >= todo.length) return;
          const pr = readSession(discovery.sessionsDir, todo[i], settings.maxLineBytes, opts);
          pr.catch(() => undefined); // awaited below; never an unhandled rejection if we stop first
          ahead.push(pr);
        };
        for (let i = 0; i < READ_AHEAD; i++) readAt(i);
        for (let i = 0; i < todo.length; i++) {
          const s = todo[i];
          if (options.signal?.aborted) throw new RebuildCancelled();
          const read = await ahead.shift()!;
          readAt(i + READ_AHEAD);
          const skip = skipOf(s);
          beginSession(s, skip);
          const before = writer.eventsWritten;
          writer.writeSession(read.analysis, read.shards, read.sidecarFingerprint, skip);
          eventsWritten += writer.eventsWritten - before;
          await endSession(read.shards.reduce((n, x) => n + x.size, 0));
        }
      }
      await early?.close();
      early = null;
      cp('written');
      // Feedback: files that changed are replaced whole (they are small).
      const changedFeedback = feedbackFiles.filter((f) => plan.mode === 'full' || plan.prevFeedback[f.name] !== feedbackStamps[f.name]);
      // Incremental: the sessions whose feedback must be applied again (null: all of them).
      let feedbackScope: Set<string> | null = plan.mode === 'incremental' ? new Set(plan.redo) : null;
      if (plan.mode === 'incremental') {
        for (const name of Object.keys(plan.prevFeedback)) {
          if (feedbackStamps[name] === plan.prevFeedback[name]) continue;
          for (const r of db.all('SELECT DISTINCT session_id FROM feedback WHERE file = ?', [name])) {
            if (r.session_id === null) feedbackScope = null;
            else feedbackScope?.add(String(r.session_id));
          }
          db.all('DELETE FROM feedback WHERE file = ?', [name]);
          db.all('DELETE FROM malformed WHERE shard = ?', [name]);
          db.all("DELETE FROM findings WHERE source = 'feedback' AND shard = ?", [name]);
        }
      }
      for (const f of changedFeedback) {
        const ff = await readFeedbackFile(f.path, f.name);
        for (const r of ff.records) {
          writer.writeFeedback(r);
          feedbackScope?.add(r.sessionId);
        }
        const sid = path.basename(f.name, '.jsonl');
        ff.problems.forEach((p, i) => writer.writeFeedbackProblem(p, sid, i, 'feedback'));
      }
      applyFeedback(db, feedbackScope ?? undefined, plan.mode === 'full');
      writer.finalize();
      writeMeta(db, {
        sources: JSON.stringify(sources),
        skipped_files: JSON.stringify(discovery.skipped.map((f) => ({ name: f.name, reason: f.reason }))),
        feedback_files: JSON.stringify(feedbackStamps),
        mode: plan.mode,
        full_reason: plan.reason ?? '',
        ...settingsMeta(settings),
        ...versionMeta(engine, options.toolVersion),
      });
      cp('feedback');
      progress.events = eventsWritten;
      result = { mode: plan.mode, reason: plan.reason, sessionsRedone: plan.redo.size, eventsAdded: eventsWritten };
      db.exec('COMMIT');
      cp('committed');
      if (plan.mode === 'full') {
        progress.phase = 'indexes';
        report();
        db.exec(LATE_INDEXES);
        db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      }
    } else {
      db = openDb(temp, { engine });
      db.exec(`PRAGMA page_size = ${PAGE_SIZE}; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = ${CACHE_SIZE}; PRAGMA temp_store = MEMORY;`);
      db.exec(DDL);
      db.exec(EVENT_INDEXES);
      db.exec('BEGIN');
      progress.phase = 'log';
      report();
      const writer = new IndexWriter(db);
      const log = await replayLog(options.fromLog!, writer);
      applyFeedback(db, undefined, true);
      writer.finalize();
      writeMeta(db, {
        sources: JSON.stringify(sources),
        skipped_files: '[]',
        feedback_files: '{}',
        mode: 'full',
        full_reason: 'a log replay is always full',
        log_lines: String(log.lines),
        ...settingsMeta(settings),
        ...versionMeta(engine, options.toolVersion),
      });
      db.exec('COMMIT');
      db.exec(LATE_INDEXES);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      result = { mode: 'full', reason: 'a log replay is always full', sessionsRedone: log.sessions, eventsAdded: 0 };
    }
    cp('indexed');
    const counts = countRows(db);
    cp('counted');
    db.close();
    db = null;
    cp('closed');
    if (inPlace) {
      // Committed: SQLite synced the file (synchronous = FULL) and deleted its journal.
      fsyncDir(dir);
      lock.mark({ inPlace: false });
      progress.phase = 'done';
      report();
      return { db: target, ...result, counts, elapsedMs: Date.now() - started, bytes: fs.statSync(target).size };
    }
    progress.phase = 'sync';
    report();
    fsyncFile(temp);
    cp('synced');
    // The target may have been opened while we built: check again right before replacing it.
    checkTarget(target, { force: options.force });
    renameSafe(temp, target); // never over a symbolic link planted at the target
    cp('renamed');
    fsyncDir(dir);
    progress.phase = 'done';
    progress.temp = undefined;
    report();
    return { db: target, ...result, counts, elapsedMs: Date.now() - started, bytes: fs.statSync(target).size };
  } catch (e) {
    early?.closeNow();
    try {
      if (inPlace && db !== null) db.exec('ROLLBACK');
    } catch {
      // no transaction open: nothing written
    }
    try {
      db?.close();
    } catch {
      // already failing
    }
    if (inPlace && !fs.existsSync(target + '-journal')) lock.mark({ inPlace: false });
    removeFile(temp);
    removeTree(temp + '.lock');
    removeFile(temp + '-journal');
    throw e;
  } finally {
    release();
  }
}

function settingsMeta(s: { now: number; staleAfterMinutes: number; maxLineBytes: number }): Record<string, string> {
  return { now: String(s.now), stale_after_minutes: String(s.staleAfterMinutes), max_line_bytes: String(s.maxLineBytes) };
}

function versionMeta(engine: EngineKind, tool?: string): Record<string, string> {
  return { schema_version: String(SCHEMA_VERSION), tool_version: tool ?? TOOL_VERSION, engine: engineName(engine), sqlite_version: sqliteVersion(engine), built_at: new Date().toISOString() };
}

function writeMeta(db: Db, meta: Record<string, string>): void {
  const st = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  for (const [k, v] of Object.entries(meta)) st.run([k, v]);
  st.finalize();
}

export function countRows(db: Db): RebuildResult['counts'] {
  const n = (sql: string): number => Number(db.get(sql)!.n);
  return {
    sessions: n('SELECT count(*) AS n FROM sessions'),
    // From the per-session counts: counting the events table would read all of it.
    events: n("SELECT coalesce(sum(event_count), 0) AS n FROM sessions WHERE source = 'journal'"),
    turns: n('SELECT count(*) AS n FROM turns'),
    collisions: n('SELECT count(DISTINCT session_id || char(0) || turn_id) AS n FROM collisions'),
    malformed: n('SELECT count(*) AS n FROM malformed'),
    findings: n('SELECT count(*) AS n FROM findings'),
    feedback: n('SELECT count(*) AS n FROM feedback'),
  };
}

function deleteSessionRows(db: Db, sid: string): void {
  for (const t of ['sessions', 'shards', 'turns', 'collisions']) db.all(`DELETE FROM ${t} WHERE session_id = ?`, [sid]);
  db.all("DELETE FROM findings WHERE session_id = ? AND source = 'journal'", [sid]);
}

export { fsyncFile };

interface EarlySync {
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
function earlySync(file: string, everyMs = 250): EarlySync {
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

// ---- reading a session ----------------------------------------------------------------

async function statAll(d: Discovery): Promise<Map<string, Stamp>> {
  const m = new Map<string, Stamp>();
  for (const s of d.sessions) {
    for (const f of s.shards) {
      try {
        // Synchronous: a stat is quicker than a thread-pool round trip.
        const st = fs.statSync(f.path, { bigint: true });
        m.set(f.name, { ino: st.ino, dev: st.dev, size: Number(st.size), mtimeMs: Number(st.mtimeMs) });
      } catch {
        // vanished since discovery: the reader reports it
      }
    }
  }
  return m;
}

/** Sessions being read ahead of the one being written (on the main thread). */
const READ_AHEAD = 2;
/** Less to read than this and the rebuild reads on the main thread (a worker takes ~100 ms to start). */
const WORKER_MIN_BYTES = 16 << 20;

function workerCount(options: RebuildOptions, todo: DiscoveredSession[], stamps: Map<string, Stamp>): number {
  if (options.workerScript === undefined) return 0;
  const env = process.env.BMA_REBUILD_WORKERS;
  const n = env !== undefined && env !== '' ? Number(env) : (options.workers ?? 1);
  if (!Number.isInteger(n) || n <= 0 || todo.length === 0) return 0;
  if (options.alwaysWorkers) return n;
  let bytes = 0;
  for (const s of todo) for (const f of s.shards) bytes += stamps.get(f.name)?.size ?? 0;
  return bytes >= WORKER_MIN_BYTES ? n : 0;
}

// ---- planning an incremental rebuild ----------------------------------------------------

async function planIncremental(
  db: Db,
  discovery: Discovery,
  stamps: Map<string, Stamp>,
  sources: { kind: string; path: string }[],
  settings: { staleAfterMinutes: number; maxLineBytes: number },
): Promise<Plan> {
  const full = (reason: string): Plan => ({ mode: 'full', reason, redo: new Set(), prevShards: new Map(), prevFeedback: {} });
  let meta: Map<string, string>;
  try {
    const version = Number(db.get('PRAGMA user_version')!.user_version);
    if (version !== SCHEMA_VERSION) return full(`the index has schema version ${version}, this tool writes ${SCHEMA_VERSION}`);
    meta = new Map(db.all('SELECT key, value FROM meta').map((r) => [String(r.key), String(r.value)]));
  } catch (e) {
    return full(`the existing index cannot be read (${(e as Error).message})`);
  }
  if (meta.get('sources') !== JSON.stringify(sources)) return full('the index was built from other sources');
  if (meta.get('stale_after_minutes') !== String(settings.staleAfterMinutes) || meta.get('max_line_bytes') !== String(settings.maxLineBytes)) {
    return full('the index was built with other settings');
  }
  const prevShards = new Map<string, PrevShard>();
  // One JSON text instead of a row per shard: the engine reads rows column by column
  // through the WASM boundary (~10 µs per row).
  const shardRows = JSON.parse(String(db.get("SELECT json_group_array(json_array(name, session_id, fingerprint, committed_size)) AS j FROM shards")!.j)) as [string, string, string, number][];
  for (const [name, sessionId, fingerprint, committed] of shardRows) prevShards.set(name, { sessionId, fingerprint, committed });
  const current = new Map<string, { sessionId: string; path: string }>();
  for (const s of discovery.sessions) for (const f of s.shards) current.set(f.name, { sessionId: s.sessionId, path: f.path });
  const redo = new Set<string>();
  for (const [name, prev] of prevShards) {
    const cur = current.get(name);
    if (!cur) return full(`${name} is gone`);
    const st = stamps.get(name);
    const [ino, dev, size, mtime] = prev.fingerprint.split(':');
    if (!st || prev.fingerprint === 'unreadable' || prev.fingerprint === 'missing') return full(`${name} could not be read last time or now`);
    if (String(st.ino) !== ino || String(st.dev) !== dev) return full(`${name} was replaced (new inode)`);
    if (st.size < prev.committed) return full(`${name} shrank`);
    if (String(st.size) === size && String(st.mtimeMs) === mtime) continue; // unchanged
    if (st.size === Number(size)) return full(`${name} changed without growing`);
    const hash = prev.fingerprint.split(':')[4];
    if (prefixHash(cur.path, prev.committed) !== hash) return full(`${name} was rewritten, not appended to`);
    redo.add(prev.sessionId);
  }
  for (const [name, cur] of current) if (!prevShards.has(name)) redo.add(cur.sessionId);
  // Sidecars that changed, sessions that are new, and sessions with an open turn (their
  // dangling findings depend on the clock) are redone too.
  // (open_turn_count counts the session's turns rows with terminal = 0: reading it instead
  // of those rows keeps planning off the large turns table.)
  const prevSessions = JSON.parse(String(db.get("SELECT json_group_array(json_array(session_id, sidecar_fingerprint, open_turn_count)) AS j FROM sessions WHERE source = 'journal'")!.j)) as [string, string | null, number][];
  const prevSidecars = new Map(prevSessions.map(([sid, fp]) => [sid, String(fp)]));
  for (const s of discovery.sessions) {
    const prev = prevSidecars.get(s.sessionId);
    if (prev === undefined || prev !== statStampSync(sidecarPath(discovery.sessionsDir, s.sessionId))) redo.add(s.sessionId);
  }
  for (const [sid, , open] of prevSessions) if (open > 0) redo.add(sid);
  let prevFeedback: Record<string, string> = {};
  try {
    prevFeedback = JSON.parse(meta.get('feedback_files') ?? '{}');
  } catch {
    return full('the index has no readable list of feedback files');
  }
  return { mode: 'incremental', reason: null, redo, prevShards, prevFeedback };
}
