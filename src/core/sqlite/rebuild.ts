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
import { discoverSessions, type Discovery } from '../discovery';
import { listFeedbackFiles } from '../feedback/read';
import { assertRegularOrMissing } from '../fsSafe';
import { DEFAULT_MAX_LINE_BYTES } from '../shardReader';
import { defaultEngine, engineName, sqliteVersion, type Db, type EngineKind } from './engine';
import { acquireRebuildLock, checkTarget, otherHolders, recoverInPlace, removeStaleTemps, tempName, type RebuildLock } from './lock';
import { statStampSync, type Stamp } from './readSession';
import { fullPlan, planIncremental, statAll, type Plan } from './rebuildPlan';
import { writeFeedbackFiles, writeSessions } from './rebuildSessions';
import { abandon, earlySync, finishByRename, finishInPlace, openCopy, openFresh, openInPlace, type EarlySync, type OpenTarget } from './rebuildTargets';
import { LATE_INDEXES, SCHEMA_VERSION } from './schema';
import { applyFeedback, IndexWriter } from './writer';
import { replayLog } from './fromLog';

export { CACHE_SIZE } from './rebuildTargets';
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
  /** Store each event's line in `events.raw` (else NULL: read it from the shard by offset and length). */
  inlineRaw?: boolean;
  toolVersion?: string;
  onProgress?: (p: RebuildProgress) => void;
  signal?: AbortSignal;
  /** Test hook: the page cache (PRAGMA cache_size) of an in-place incremental rebuild; tiny values make SQLite write into the file before the commit. */
  cacheSize?: number;
  /** Test hook: called at named points of the build (e.g. to kill the process there). */
  checkpoint?: (name: string) => void;
  /** Each phase's time on stderr (the CLI's --trace). */
  trace?: boolean;
  /**
   * A script that serves as a rebuild worker (calls `runRebuildWorkerIfWorker()` at startup;
   * the CLI passes its own bundle). With it, sessions are read, analysed and turned into rows
   * on worker threads while the main thread writes (when there is enough to read).
   */
  workerScript?: string;
  /** Rebuild workers (default 1); 0 = read on the main thread. */
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
  /** Of `sessionsRedone`, those done from their shards' appended tails alone (tailAppend.ts). */
  sessionsFromTails: number;
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

const TOOL_VERSION = VERSION;

/** What every step of one rebuild shares. */
interface Run {
  options: RebuildOptions;
  target: string;
  temp: string;
  engine: EngineKind;
  lock: RebuildLock;
  progress: RebuildProgress;
  report(): void;
  cp(name: string): void;
  settings: Settings;
  sources: { kind: string; path: string }[];
  /** The target being written, once opened. */
  open: OpenTarget | null;
  /** A fresh build's background syncs of `temp` (see earlySync). */
  early: EarlySync | null;
}

type Outcome = Omit<RebuildResult, 'counts' | 'elapsedMs' | 'bytes' | 'db'> & { counts?: RebuildResult['counts'] };

export async function rebuildIndex(options: RebuildOptions): Promise<RebuildResult> {
  const started = Date.now();
  if ((options.sessionsDir === undefined) === (options.fromLog === undefined)) throw new Error('give either a sessions folder or an interaction log');
  const target = path.resolve(options.db);
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) throw new Error(`the folder of the index does not exist: ${dir}`);
  assertRegularOrMissing(target); // a FIFO or device there is never opened (docs/security.md)
  const lock = acquireRebuildLock(target);
  const run = newRun(options, target, lock);
  try {
    prepareTarget(run);
    const outcome = options.sessionsDir !== undefined ? await rebuildFromJournals(run, options.sessionsDir) : await rebuildFromLog(run, options.fromLog!);
    run.cp('indexed');
    const db = run.open!.db;
    const { counts: counted, ...rest } = outcome;
    const counts = counted ?? countRows(db);
    run.cp('counted');
    db.close();
    const kind = run.open!.kind;
    run.open = null;
    run.cp('closed');
    if (kind === 'inPlace') finishInPlace(target, lock);
    else {
      run.progress.phase = 'sync';
      run.report();
      finishByRename(run.temp, target, options.force, run.cp);
    }
    run.progress.phase = 'done';
    run.progress.temp = undefined;
    run.report();
    return { db: target, ...rest, counts, elapsedMs: Date.now() - started, bytes: fs.statSync(target).size };
  } catch (e) {
    run.early?.closeNow();
    if (run.open) abandon(run.open, target, run.temp, lock);
    else abandon({ kind: 'fresh', db: closedDb }, target, run.temp, lock);
    throw e;
  } finally {
    lock.release();
  }
}

function newRun(options: RebuildOptions, target: string, lock: RebuildLock): Run {
  const temp = tempName(target, crypto.randomBytes(4).toString('hex'));
  const progress: RebuildProgress = { phase: 'scan', sessionsDone: 0, sessionsTotal: 0, events: 0, bytesDone: 0, bytesTotal: 0, temp };
  let lastMark = process.hrtime.bigint();
  const run: Run = {
    options,
    target,
    temp,
    engine: options.engine ?? defaultEngine(),
    lock,
    progress,
    report: () => options.onProgress?.({ ...progress }),
    cp: (name) => {
      if (options.trace && name !== 'session') {
        const now = process.hrtime.bigint();
        process.stderr.write(`trace ${name} ${(Number(now - lastMark) / 1e6).toFixed(1)} ms\n`);
        lastMark = now;
      }
      options.checkpoint?.(name);
    },
    settings: {
      now: options.now ?? Date.now() / 1000,
      staleAfterMinutes: options.staleAfterMinutes ?? DEFAULT_STALE_AFTER_MINUTES,
      maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      inlineRaw: options.inlineRaw === true,
    },
    sources:
      options.sessionsDir !== undefined
        ? [{ kind: 'journal', path: path.resolve(options.sessionsDir) }]
        : [{ kind: 'log', path: path.resolve(options.fromLog!) }],
    open: null,
    early: null,
  };
  return run;
}

/** A Db that is already closed (what `abandon` gets when nothing was opened). */
const closedDb: Db = {
  engine: 'wasm',
  exec: () => undefined,
  prepare: () => {
    throw new Error('closed');
  },
  all: () => [],
  get: () => null,
  iterate: () => [],
  close: () => undefined,
};

/** Rolls back a dead in-place rebuild's journal, checks the target is not in use, removes dead rebuilds' temp files. */
function prepareTarget(run: Run): void {
  // A rebuild that was killed while it wrote into the target in place left its hot
  // journal (and, with the wasm engine, its lock folder): roll the target back to its last commit.
  if (run.lock.previous?.inPlace === true) {
    recoverInPlace(run.target, run.lock.previous, run.engine);
    run.lock.mark({ inPlace: false });
  }
  checkTarget(run.target, { force: run.options.force });
  removeStaleTemps(run.target);
  run.cp('locked');
  run.report();
}

interface Scan {
  discovery: Discovery;
  feedbackFiles: { name: string; path: string }[];
  stamps: Map<string, Stamp>;
  feedbackStamps: Record<string, string>;
}

async function scanFolder(run: Run, sessionsDir: string): Promise<Scan> {
  const discovery = await discoverSessions(sessionsDir);
  const feedbackFiles = await listFeedbackFiles(discovery.sessionsDir);
  const stamps = statAll(discovery);
  run.progress.sessionsTotal = discovery.sessions.length;
  run.progress.bytesTotal = [...stamps.values()].reduce((n, s) => n + s.size, 0);
  const feedbackStamps: Record<string, string> = {};
  for (const f of feedbackFiles) feedbackStamps[f.name] = statStampSync(f.path);
  run.cp('scanned');
  return { discovery, feedbackFiles, stamps, feedbackStamps };
}

/**
 * Opens the target the plan needs: in place (nobody else has the index open) or a copy
 * (another process has it open: it keeps the old file) when an incremental rebuild is
 * possible, else a fresh file. Plans inside the opened target's transaction.
 */
function openPlannedTarget(run: Run, scan: Scan): Plan {
  const { options, target } = run;
  if (options.full || !fs.existsSync(target)) return fullPlanFresh(run, scan, options.full ? 'asked for a full rebuild' : 'no index yet');
  const inPlace = otherHolders(target).length === 0;
  run.open = inPlace ? openInPlace(target, run.engine, run.lock, options.cacheSize) : openCopy(target, run.temp, run.engine);
  if (!inPlace) run.cp('copied');
  const plan = planIncremental(run.open.db, scan.discovery, scan.stamps, run.sources, run.settings);
  if (plan.mode === 'incremental') {
    if (inPlace) run.progress.temp = undefined;
    return plan;
  }
  abandon(run.open, target, run.temp, run.lock);
  run.open = null;
  return fullPlanFresh(run, scan, plan.reason!);
}

function fullPlanFresh(run: Run, scan: Scan, reason: string): Plan {
  run.open = openFresh(run.temp, run.engine);
  return fullPlan(scan.discovery, reason);
}

async function rebuildFromJournals(run: Run, sessionsDir: string): Promise<Outcome> {
  const { options, progress } = run;
  const scan = await scanFolder(run, sessionsDir);
  const plan = openPlannedTarget(run, scan);
  run.cp('planned');
  const db = run.open!.db;
  const writer = new IndexWriter(db);
  writer.inlineRaw = run.settings.inlineRaw;
  progress.phase = 'sessions';
  if (plan.mode === 'incremental') progress.sessionsTotal = plan.redo.size;
  run.report();
  // A new file: start writing its pages to disk while the build goes on (fdatasync on
  // libuv's thread pool, one at a time), so that the final fsync has little left to do.
  run.early = run.open!.kind === 'fresh' ? earlySync(run.temp) : null;
  let lastReport = Date.now();
  const { events: eventsWritten, fromTails } = await writeSessions(
    db,
    writer,
    scan.discovery,
    plan,
    scan.stamps,
    {
      sessionsDir: scan.discovery.sessionsDir,
      maxLineBytes: run.settings.maxLineBytes,
      inlineRaw: run.settings.inlineRaw,
      now: run.settings.now,
      staleAfterSeconds: run.settings.staleAfterMinutes * 60,
      workerScript: options.workerScript,
      workers: options.workers ?? 1,
      alwaysWorkers: options.alwaysWorkers,
      signal: options.signal,
      trace: options.trace ? (line) => process.stderr.write(`trace ${line}\n`) : undefined,
    },
    {
      batchDone: () => run.early?.poke(),
      cancelled: () => new RebuildCancelled(),
      sessionDone: async (bytes, events) => {
        run.early?.poke();
        progress.sessionsDone++;
        progress.events = events;
        progress.bytesDone += bytes;
        if (Date.now() - lastReport >= 100) {
          run.report();
          lastReport = Date.now();
          // Let signals, cancellation and progress output through.
          await new Promise((r) => setImmediate(r));
        }
        run.cp('session');
      },
    },
  );
  await run.early?.close();
  run.early = null;
  run.cp('written');
  await writeFeedbackFiles(db, writer, scan.feedbackFiles, scan.feedbackStamps, plan, fromTails);
  writer.finalize();
  writeMeta(db, {
    sources: JSON.stringify(run.sources),
    skipped_files: JSON.stringify(scan.discovery.skipped.map((f) => ({ name: f.name, reason: f.reason }))),
    feedback_files: JSON.stringify(scan.feedbackStamps),
    mode: plan.mode,
    full_reason: plan.reason ?? '',
    ...settingsMeta(run.settings),
    ...versionMeta(run.engine, options.toolVersion),
  });
  run.cp('feedback');
  progress.events = eventsWritten;
  // In place: counted inside the transaction (its pages are cached; after the commit the wasm engine reads them again).
  const counts = plan.mode === 'incremental' ? countRows(db) : undefined;
  db.exec('COMMIT');
  run.cp('committed');
  if (plan.mode === 'full') {
    progress.phase = 'indexes';
    run.report();
    db.exec(LATE_INDEXES);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  }
  return { mode: plan.mode, reason: plan.reason, sessionsRedone: plan.redo.size, sessionsFromTails: fromTails.size, eventsAdded: eventsWritten, counts };
}

async function rebuildFromLog(run: Run, fromLog: string): Promise<Outcome> {
  run.open = openFresh(run.temp, run.engine);
  const db = run.open.db;
  run.progress.phase = 'log';
  run.report();
  const writer = new IndexWriter(db);
  const log = await replayLog(fromLog, writer);
  applyFeedback(db, undefined, true);
  writer.finalize();
  const reason = 'a log replay is always full';
  writeMeta(db, {
    sources: JSON.stringify(run.sources),
    skipped_files: '[]',
    feedback_files: '{}',
    mode: 'full',
    full_reason: reason,
    log_lines: String(log.lines),
    ...settingsMeta(run.settings),
    ...versionMeta(run.engine, run.options.toolVersion),
  });
  db.exec('COMMIT');
  db.exec(LATE_INDEXES);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  return { mode: 'full', reason, sessionsRedone: log.sessions, sessionsFromTails: 0, eventsAdded: 0 };
}

interface Settings {
  now: number;
  staleAfterMinutes: number;
  maxLineBytes: number;
  inlineRaw: boolean;
}

function settingsMeta(s: Settings): Record<string, string> {
  return { now: String(s.now), stale_after_minutes: String(s.staleAfterMinutes), max_line_bytes: String(s.maxLineBytes), inline_raw: s.inlineRaw ? '1' : '0' };
}

function versionMeta(engine: EngineKind, tool?: string): Record<string, string> {
  return {
    schema_version: String(SCHEMA_VERSION),
    tool_version: tool ?? TOOL_VERSION,
    engine: engineName(engine),
    sqlite_version: sqliteVersion(engine),
    built_at: new Date().toISOString(),
  };
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
