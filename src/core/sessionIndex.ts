/**
 * Every session of several sessions folders ("roots"), kept current cheaply:
 * - discovery is a `readdir` per root; the session list is known before anything is parsed;
 * - summaries (counts, worst finding, title) are computed lazily, a few at a time
 *   (sessions/workQueue.ts), and cached by a fingerprint of (size, mtime, inode) of every
 *   shard and the sidecar, so a reopened window reuses them without parsing
 *   (sessions/summaries.ts, `exportCache` / `importCache`);
 * - full journals (all events in memory) are kept only for a small LRU of sessions someone
 *   is looking at; for those a change re-reads only the appended bytes (sessions/journalCache.ts);
 * - feedback files and the repair log's reviews are read as they change (sessions/reviewState.ts).
 * This file is the front: roots, discovery, routing file changes; the jobs are in sessions/.
 * Plain TypeScript: the extension wires file watchers and settings to it.
 */

import * as path from 'path';
import type { AnalyzeOptions, SessionAnalysis } from './analyze';
import { DEFAULT_STALE_AFTER_MINUTES } from './analyze';
import { discoverSessions, resolveSessionsDir, type DiscoveredSession, type SkippedFile } from './discovery';
import { Emitter } from './events';
import { JOURNAL_DIR_NAME, parseShardFileName } from './sessionId';
import type { StatHints } from './session';
import { RUN_JOURNAL_DIR_NAME } from './runJournal';
import * as fs from 'fs';
import { lstatOrNull } from './fsSafe';
import { DEFAULT_MAX_LINE_BYTES } from './shardReader';
import { FEEDBACK_DIR_NAME, feedbackFilePath, sessionIdOfFeedbackFile } from './feedback/record';
import type { TurnFeedback } from './feedback/latest';
import type { SessionFeedbackFile } from './feedback/store';
import { REPAIR_LOG_NAME } from './repair/log';
import { markReviewedFindings } from './repair/reviewed';
import { JournalCache } from './sessions/journalCache';
import { FeedbackFiles, knownOfSession, RepairReviews, reviewsPart, type RootReviews } from './sessions/reviewState';
import { HermesThumbs } from './sessions/hermesThumbs';
import {
  EMPTY_FEEDBACK,
  fingerprint,
  missingFolderHints,
  runJournalsPart,
  summaryOf,
  SummaryCache,
  type PersistedSummaries,
  type SessionSummary,
} from './sessions/summaries';
import { WorkQueue } from './sessions/workQueue';
import { DEFAULT_SUMMARY_WORKERS, SummaryPool } from './sessions/summaryPool';
import type { SummaryBatch, SummaryJob, SummaryResult } from './sessions/summaryWorker';
import { key } from './sessions/keys';

export { fingerprint, isReviewable, MAX_SUMMARY_FINDINGS, summaryOf, SUMMARY_CACHE_VERSION, type SessionSummary } from './sessions/summaries';

/** A session of an open sessions folder (root). */
export interface SessionRef {
  rootId: string;
  sessionId: string;
}

/** A turn of a session of an open sessions folder. */
export interface TurnRef extends SessionRef {
  turnId: string;
}

export interface RootSpec {
  sessionsDir: string;
  /** Where the root came from, for the UI. */
  source: 'workspace' | 'setting' | 'default' | 'other';
}

export interface Root extends RootSpec {
  id: string;
  journalDir: string;
  /** `<sessionsDir>/_turn_feedback`: reviewers' feedback records, one file per session. */
  feedbackDir: string;
  label: string;
  sessions: Map<string, DiscoveredSession>;
  skipped: SkippedFile[];
  scanned: boolean;
  error?: string;
}

export interface IndexChange {
  rootId: string;
  /** Sessions whose summary or content changed; 'all' = the root's list itself changed. */
  sessions: string[] | 'all';
}

export interface IndexOptions {
  maxLineBytes?: number;
  staleAfterMinutes?: number;
  /** Epoch seconds. */
  now?: () => number;
  /** How many full journals to keep in memory. */
  keepJournals?: number;
  /**
   * Total bytes of the journals kept in memory: their shards' and sidecars' size on disk (parsed events
   * take several times it), plus the sidecar buffer each keeps for a rewrite's re-read. The most recently
   * used journal is always kept, whatever its size.
   */
  keepJournalBytes?: number;
  /** How many summaries to compute at once in the background. */
  concurrency?: number;
  /** hermes-webui's feedback.jsonl: '' beside each sessions folder (default), 'off', or a path. */
  hermesFeedback?: string;
  /**
   * A script serving summary batches (the bundle `dist/summaryWorker.js`): background summaries not in the journal
   * cache are computed on worker threads (sessions/summaryPool.ts), off this thread; '' (default): on this thread.
   */
  summaryWorker?: string;
  /** How many summary workers at most (default DEFAULT_SUMMARY_WORKERS). */
  summaryWorkers?: number;
}

/** Sessions per batch sent to a summary worker (their root's stamps looked at once for all). */
const SUMMARY_BATCH = 64;

export class SessionIndex {
  private readonly rootsById = new Map<string, Root>();
  private readonly summaries = new SummaryCache();
  private readonly journals = new JournalCache();
  private readonly feedbackFiles = new FeedbackFiles();
  private readonly reviews = new RepairReviews();
  private readonly hermes = new HermesThumbs();
  /** Per root: whether its feedback and run-journal folders existed when last checked (background summaries). */
  private readonly folders = new Map<string, { checked: number; feedbackDir: boolean; runsDir: boolean }>();
  private readonly pending = new Map<string, Promise<SessionSummary | undefined>>();
  private readonly background = new WorkQueue<SessionRef>(
    (job) => {
      this.queued.delete(key(job.rootId, job.sessionId));
      return this.summarize(job.rootId, job.sessionId, true);
    },
    () => this.options.concurrency,
  );
  /**
   * Background summaries queued and not started yet: queued again, they are not added twice (the tree asks for every
   * session it has no summary of at each refresh, 10 a second while a cold folder loads).
   */
  private readonly queued = new Set<string>();
  /** Background summaries for the workers, in batches of one root; two batches in flight per worker (one computed, one waiting). */
  private readonly batches = new WorkQueue<SessionRef[]>(
    (refs) => this.summarizeBatch(refs),
    () => 2 * Math.max(1, this.options.summaryWorkers),
  );
  private pool: SummaryPool | undefined;
  /** Bumped when every summary is dropped (configure): a batch's answers from before are not stored. */
  private epoch = 0;
  private disposed = false;
  private fromWorkers = 0;
  private jobsSent = 0;
  private readonly changeEmitter = new Emitter<IndexChange>();
  readonly onDidChange = this.changeEmitter.event;
  private options: Required<IndexOptions>;

  constructor(options: IndexOptions = {}) {
    this.options = {
      maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      staleAfterMinutes: options.staleAfterMinutes ?? DEFAULT_STALE_AFTER_MINUTES,
      now: options.now ?? (() => Date.now() / 1000),
      keepJournals: options.keepJournals ?? 16,
      keepJournalBytes: options.keepJournalBytes ?? 128 * 1024 * 1024,
      concurrency: options.concurrency ?? 4,
      hermesFeedback: options.hermesFeedback ?? '',
      summaryWorker: options.summaryWorker ?? '',
      summaryWorkers: options.summaryWorkers ?? DEFAULT_SUMMARY_WORKERS,
    };
    this.hermes.configure(this.options.hermesFeedback);
  }

  /** Changing limits invalidates every summary and journal. */
  configure(options: IndexOptions): void {
    const before = JSON.stringify([this.options.maxLineBytes, this.options.staleAfterMinutes]);
    const workers = `${this.options.summaryWorker}\0${this.options.summaryWorkers}`;
    this.options = { ...this.options, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    if (workers !== `${this.options.summaryWorker}\0${this.options.summaryWorkers}`) {
      this.pool?.dispose(); // its batches in flight are computed on this thread; a new pool starts with the next batch
      this.pool = undefined;
    }
    const hermesChanged = this.hermes.configure(this.options.hermesFeedback);
    if (hermesChanged || before !== JSON.stringify([this.options.maxLineBytes, this.options.staleAfterMinutes])) {
      this.epoch++;
      this.summaries.clear();
      this.journals.clear();
      for (const r of this.rootsById.values()) this.changeEmitter.fire({ rootId: r.id, sessions: 'all' });
    }
  }

  analyzeOptions(): AnalyzeOptions {
    return { now: this.options.now(), staleAfterSeconds: this.options.staleAfterMinutes * 60 };
  }

  roots(): Root[] {
    return [...this.rootsById.values()];
  }

  root(id: string): Root | undefined {
    return this.rootsById.get(id);
  }

  /** Replaces the set of roots (deduplicated by sessions folder); new ones are scanned. */
  async setRoots(specs: readonly RootSpec[]): Promise<void> {
    const wanted = new Map<string, RootSpec>();
    for (const s of specs) {
      const { sessionsDir } = resolveSessionsDir(s.sessionsDir);
      if (!wanted.has(sessionsDir)) wanted.set(sessionsDir, { ...s, sessionsDir });
    }
    for (const id of [...this.rootsById.keys()]) {
      if (wanted.has(id)) continue;
      this.rootsById.delete(id);
      this.summaries.deleteRoot(id);
      this.journals.deleteRoot(id);
      this.feedbackFiles.deleteRoot(id);
      this.hermes.deleteRoot(id);
    }
    const added: Root[] = [];
    for (const [dir, spec] of wanted) {
      if (this.rootsById.has(dir)) continue;
      const root: Root = {
        ...spec,
        id: dir,
        journalDir: path.join(dir, JOURNAL_DIR_NAME),
        feedbackDir: path.join(dir, FEEDBACK_DIR_NAME),
        label: labelFor(dir),
        sessions: new Map(),
        skipped: [],
        scanned: false,
      };
      this.rootsById.set(dir, root);
      added.push(root);
    }
    await Promise.all(added.map((r) => this.scan(r.id)));
  }

  /** Re-lists a root's shard files. Sessions whose shard set changed are refreshed. */
  async scan(rootId: string): Promise<void> {
    const root = this.rootsById.get(rootId);
    if (!root) return;
    try {
      const d = await discoverSessions(root.sessionsDir);
      const next = new Map(d.sessions.map((s) => [s.sessionId, s]));
      const prev = root.sessions;
      const changed: string[] = [];
      let listChanged = !root.scanned;
      for (const [id, s] of next) {
        const old = prev.get(id);
        if (!old) listChanged = true;
        if (!old || old.shards.map((f) => f.name).join('\n') !== s.shards.map((f) => f.name).join('\n')) changed.push(id);
      }
      for (const id of prev.keys()) {
        if (!next.has(id)) {
          changed.push(id);
          listChanged = true;
        }
      }
      root.sessions = next;
      root.skipped = d.skipped;
      root.error = undefined;
      for (const id of changed) if (!next.has(id)) this.forget(rootId, id);
      root.scanned = true;
      this.changeEmitter.fire({ rootId, sessions: listChanged || changed.length > 50 ? 'all' : changed });
    } catch (err) {
      root.error = err instanceof Error ? err.message : String(err);
      root.sessions = new Map();
      root.scanned = true;
      this.changeEmitter.fire({ rootId, sessions: 'all' });
    }
  }

  /** Sessions of a root in discovery order (by id). */
  sessions(rootId: string): DiscoveredSession[] {
    return [...(this.rootsById.get(rootId)?.sessions.values() ?? [])];
  }

  /** The cached summary, if any (may be stale until `summarize` runs). */
  cachedSummary(rootId: string, sessionId: string): SessionSummary | undefined {
    return this.summaries.get(rootId, sessionId);
  }

  /**
   * Computes (or validates by fingerprint) a session's summary. `background` (the queue of
   * `summarizeInBackground`): the root's repair log and hermes feedback file are checked at most
   * every BATCH_STAMP_MS for the whole batch (not twice per session; a change the index is told of
   * is seen at once), and the session's files are stat-ed synchronously.
   */
  summarize(rootId: string, sessionId: string, background = false): Promise<SessionSummary | undefined> {
    const k = `${rootId}\0${sessionId}`;
    const inflight = this.pending.get(k);
    if (inflight) return inflight;
    const p = this.computeSummary(rootId, sessionId, background).finally(() => this.pending.delete(k));
    this.pending.set(k, p);
    return p;
  }

  /**
   * Queues background summaries (bounded concurrency); change events fire as each arrives. With summary workers
   * (`summaryWorker`), in batches computed off this thread; else, or once the workers cannot serve, on this thread.
   */
  summarizeInBackground(rootId: string, sessionIds?: readonly string[]): void {
    const ids = sessionIds ?? this.sessions(rootId).map((s) => s.sessionId);
    const refs: SessionRef[] = [];
    for (const sessionId of ids) {
      const k = key(rootId, sessionId);
      if (this.queued.has(k)) continue;
      this.queued.add(k);
      refs.push({ rootId, sessionId });
    }
    if (!this.workerPool()) return this.background.push(refs);
    for (let i = 0; i < refs.length; i += SUMMARY_BATCH) this.batches.push([refs.slice(i, i + SUMMARY_BATCH)]);
  }

  /** Resolves once the background summaries queued so far are done. */
  async whenBackgroundIdle(): Promise<void> {
    await Promise.all([this.batches.idle(), this.background.idle()]);
  }

  /** Why the summary workers stopped serving (summaries are then computed on this thread), or null. */
  get summaryWorkerError(): string | null {
    return this.pool?.error ?? null;
  }

  /** Summaries computed by the workers and stored (tests, the bench). */
  get summariesFromWorkers(): number {
    return this.fromWorkers;
  }

  /** Sessions sent to the workers so far, whether recomputed or found unchanged (tests). */
  get summaryJobsSent(): number {
    return this.jobsSent;
  }

  /** Summary workers running now (started with the first batch, let go when idle). */
  get summaryWorkersRunning(): number {
    return this.pool?.running ?? 0;
  }

  /** The summary workers, when configured and still serving. */
  private workerPool(): SummaryPool | undefined {
    if (this.disposed || !this.options.summaryWorker) return undefined;
    this.pool ??= new SummaryPool(this.options.summaryWorker, Math.max(1, this.options.summaryWorkers));
    return this.pool.usable ? this.pool : undefined;
  }

  /**
   * One batch of background summaries (one root) on a worker: the root's repair log, hermes-webui file and folders
   * looked at once for the batch (as `background` does on this thread). Sessions whose journal is kept (the journal
   * cache's: they re-read only appends) or being summarized already stay on this thread; so does everything when
   * the workers cannot serve. A batch's answers are dropped when its root went, the session went, every summary was
   * dropped (configure) or another summary of the session was stored meanwhile.
   */
  private async summarizeBatch(refs: readonly SessionRef[]): Promise<void> {
    for (const r of refs) this.queued.delete(key(r.rootId, r.sessionId));
    const root = this.rootsById.get(refs[0]?.rootId ?? '');
    const pool = this.workerPool();
    if (!root || !pool) return this.summarizeHere(refs);
    const reviews = await this.reviews.of(root.id, root.sessionsDir, BATCH_STAMP_MS);
    const hermes = await this.hermes.sessionsOf(root.sessionsDir, BATCH_STAMP_MS);
    const local: SessionRef[] = [];
    const sent = this.batchOf(root, refs, reviews, hermes, local);
    const answer = sent.batch.jobs.length ? pool.run(sent.batch) : Promise.resolve([]);
    answer.catch(() => undefined); // handled below, after the local ones
    await this.summarizeHere(local);
    let results: SummaryResult[] | undefined;
    try {
      results = await answer;
    } catch {
      results = undefined; // the workers failed (or were replaced): this batch is computed here
    }
    try {
      for (let i = 0; i < sent.waits.length; i++) {
        const w = sent.waits[i];
        if (!results) w.resolve(this.disposed ? undefined : await this.computeSummary(root.id, w.sessionId, true).catch(() => undefined));
        else w.resolve(this.storeWorkerSummary(root, w, results[i]));
      }
    } finally {
      for (const w of sent.waits) w.resolve(undefined); // none is left held, whatever happened (resolved ones stay as they are)
    }
  }

  /** Summaries on this thread, a few at a time (the background path without workers). */
  private async summarizeHere(refs: readonly SessionRef[]): Promise<void> {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < refs.length && !this.disposed) {
        const r = refs[next++];
        await this.summarize(r.rootId, r.sessionId, true).catch(() => undefined);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.options.concurrency) }, lane));
  }

  /** The batch sent to a worker; each of its sessions is held in `pending` until its answer is stored. */
  private batchOf(
    root: Root,
    refs: readonly SessionRef[],
    reviews: RootReviews,
    hermes: (sid: string) => { records?: SummaryJob['hermes']; part: string },
    local: SessionRef[],
  ): { batch: SummaryBatch; waits: BatchWait[] } {
    const f = this.rootFolders(root);
    const o = this.options;
    const now = o.now();
    const limits = { maxLineBytes: o.maxLineBytes, staleAfterSeconds: o.staleAfterMinutes * 60 };
    const batch: SummaryBatch = { sessionsDir: root.sessionsDir, ...limits, now, ...f, jobs: [] };
    const waits: BatchWait[] = [];
    for (const ref of refs) {
      const session = root.sessions.get(ref.sessionId);
      const k = key(root.id, ref.sessionId);
      if (!session) continue;
      if (this.journals.has(root.id, ref.sessionId) || this.pending.has(k)) {
        local.push(ref);
        continue;
      }
      const cached = this.summaries.get(root.id, ref.sessionId);
      const h = hermes(ref.sessionId);
      batch.jobs.push({
        session,
        ...(cached && !this.isClockSensitive(cached) ? { cachedFingerprint: cached.fingerprint } : {}),
        reviewsPart: reviewsPart(reviews.bySession.get(ref.sessionId)),
        hermesPart: h.part,
        ...withDefined('known', knownOfSession(reviews.known, ref.sessionId)),
        ...withDefined('hermes', h.records),
      });
      waits.push(this.hold(k, ref.sessionId, cached));
      this.jobsSent++;
    }
    return { batch, waits };
  }

  /** Holds a session in `pending` (a `summarize` meanwhile waits for the worker's answer) until `resolve`. */
  private hold(k: string, sessionId: string, before: SessionSummary | undefined): BatchWait {
    let resolve!: (s: SessionSummary | undefined) => void;
    const p = new Promise<SessionSummary | undefined>((r) => (resolve = r));
    this.pending.set(k, p);
    const epoch = this.epoch;
    return {
      sessionId,
      before,
      epoch,
      resolve: (s) => {
        if (this.pending.get(k) === p) this.pending.delete(k);
        resolve(s);
      },
    };
  }

  /** A worker's answer for one session, stored as `computeSummary` stores its own (see summarizeBatch for when it is dropped). */
  private storeWorkerSummary(root: Root, w: BatchWait, r: SummaryResult | undefined): SessionSummary | undefined {
    const current = this.summaries.get(root.id, w.sessionId);
    const live = !this.disposed && this.rootsById.get(root.id) === root && root.sessions.has(w.sessionId) && this.epoch === w.epoch;
    if (!live || !r || 'error' in r) return live ? current : undefined;
    if ('unchanged' in r || current !== w.before) return current;
    this.hermes.setMatched(root.id, w.sessionId, new Map(r.hermes ?? []));
    this.fromWorkers++;
    return this.setSummary(root.id, w.sessionId, r.summary);
  }

  private async computeSummary(rootId: string, sessionId: string, background: boolean): Promise<SessionSummary | undefined> {
    const root = this.rootsById.get(rootId);
    const found = root?.sessions.get(sessionId);
    if (!root || !found) return undefined;
    // Background: the fingerprint's stats are reused by the reads that follow (no second stat per file).
    const hints = background ? this.folderHints(root, sessionId) : undefined;
    const fp = await this.fingerprintOf(root, found, background, hints);
    const cached = this.summaries.get(rootId, sessionId);
    if (cached && cached.fingerprint === fp && !this.isClockSensitive(cached)) return cached;
    const analysis = await this.analyzeSession(root, found, this.journals.has(rootId, sessionId), background, hints);
    const feedback = await this.refreshFeedback(rootId, sessionId, hints);
    const hermes = await this.hermes.match(rootId, root.sessionsDir, analysis, batchStampMs(background));
    return this.setSummary(rootId, sessionId, summaryOf(analysis, fp, this.options.now(), feedback, hermes));
  }

  /** Stores a summary; listeners hear of it only when its content changed (no refresh loops). */
  private setSummary(rootId: string, sessionId: string, next: SessionSummary): SessionSummary {
    const { summary, changed } = this.summaries.set(rootId, sessionId, next);
    if (changed) this.changeEmitter.fire({ rootId, sessions: [sessionId] });
    return summary;
  }

  /** A summary with open turns may turn "dangling" as time passes: recompute after a while. */
  private isClockSensitive(s: SessionSummary): boolean {
    return s.open > 0 && this.options.now() - s.computedAt > 60;
  }

  /**
   * The full analysis of one session, kept in memory (LRU) so that later calls after an
   * append parse only the new bytes.
   */
  async analyze(rootId: string, sessionId: string): Promise<SessionAnalysis | undefined> {
    const root = this.rootsById.get(rootId);
    const found = root?.sessions.get(sessionId);
    if (!root || !found) return undefined;
    const analysis = await this.analyzeSession(root, found, true);
    const feedback = await this.refreshFeedback(rootId, sessionId);
    const hermes = await this.hermes.match(rootId, root.sessionsDir, analysis);
    const fp = await this.fingerprintOf(root, found);
    this.setSummary(rootId, sessionId, summaryOf(analysis, fp, this.options.now(), feedback, hermes));
    return analysis;
  }

  /**
   * Stat hints (session.ts StatHints) for a background summary: the root's feedback and run-journal
   * folders are checked at most every BATCH_STAMP_MS (like the repair log); when one is absent, the
   * session's file in it is known missing without a stat of its own.
   */
  private folderHints(root: Root, sessionId: string): Map<string, fs.Stats | null> {
    return missingFolderHints(root.sessionsDir, sessionId, this.rootFolders(root));
  }

  /** Whether the root has its feedback and run-journal folders, looked at most every BATCH_STAMP_MS. */
  private rootFolders(root: Root): { feedbackDir: boolean; runsDir: boolean } {
    const now = performance.now();
    let f = this.folders.get(root.id);
    if (!f || now - f.checked >= BATCH_STAMP_MS) {
      const isDir = (p: string): boolean => fs.lstatSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
      f = { checked: now, feedbackDir: isDir(root.feedbackDir), runsDir: isDir(path.join(root.sessionsDir, RUN_JOURNAL_DIR_NAME)) };
      this.folders.set(root.id, f);
    }
    return f;
  }

  /** A session's analysis (through the journal cache) with the repair log's reviews marked. `background`: see `summarize`. */
  private async analyzeSession(root: Root, found: DiscoveredSession, keep: boolean, background = false, hints?: StatHints): Promise<SessionAnalysis> {
    const o = this.options;
    const analysis = await this.journals.analyze(root.id, root.sessionsDir, found, keep, o, o.now(), this.analyzeOptions(), hints);
    markReviewedFindings(analysis, (await this.reviews.of(root.id, root.sessionsDir, batchStampMs(background))).known);
    return analysis;
  }

  /** Re-reads what was appended to a session's feedback file; returns the latest per turn id. */
  async refreshFeedback(rootId: string, sessionId: string, hints?: StatHints): Promise<ReadonlyMap<string, TurnFeedback>> {
    const root = this.rootsById.get(rootId);
    if (!root) return new Map();
    return this.feedbackFiles.refresh(rootId, root.sessionsDir, sessionId, hints?.get(feedbackFilePath(root.sessionsDir, sessionId)));
  }

  /** The latest feedback per turn id as last read (no disk access; empty before any read). */
  feedback(rootId: string, sessionId: string): ReadonlyMap<string, TurnFeedback> {
    return this.feedbackFiles.get(rootId, sessionId)?.latest() ?? EMPTY_FEEDBACK;
  }

  /** hermes-webui's own latest rating per turn id (reviewer `hermes-webui`), as last matched; empty before any analysis. */
  hermesFeedback(rootId: string, sessionId: string): ReadonlyMap<string, TurnFeedback> {
    return this.hermes.get(rootId, sessionId);
  }

  /** The hermes-webui feedback.jsonl read for a root, or null when reading is off. */
  hermesFeedbackPath(rootId: string): string | null {
    const root = this.rootsById.get(rootId);
    return root ? this.hermes.fileFor(root.sessionsDir) : null;
  }

  /** The session's feedback file reader (records, history, problems), if it was read. */
  feedbackFile(rootId: string, sessionId: string): SessionFeedbackFile | undefined {
    return this.feedbackFiles.get(rootId, sessionId);
  }

  /** The last analysis computed by `analyze`, without touching the disk. */
  lastAnalysis(rootId: string, sessionId: string): SessionAnalysis | undefined {
    return this.journals.lastAnalysis(rootId, sessionId);
  }

  /**
   * Routes a file-system change to what it affects. Returns true when the path belongs to
   * a root. Shard creation/deletion rescans the root; content changes refresh the session.
   */
  async fileChanged(filePath: string, kind: 'created' | 'changed' | 'deleted'): Promise<boolean> {
    const abs = path.resolve(filePath);
    const dir = path.dirname(abs);
    const name = path.basename(abs);
    this.folders.clear(); // a change the index is told of is seen at once (a feedback folder created, say)
    if (await this.hermesFileChanged(abs)) return true;
    for (const root of this.rootsById.values()) {
      if (dir === root.journalDir) {
        const parsed = parseShardFileName(name);
        if (!parsed.ok) {
          if (name.endsWith('.jsonl')) await this.scan(root.id);
          return true;
        }
        if (kind !== 'changed' || !root.sessions.get(parsed.sessionId)?.shards.some((s) => s.name === name)) {
          await this.scan(root.id);
        }
        await this.touch(root.id, parsed.sessionId);
        return true;
      }
      if (dir === root.sessionsDir && name === REPAIR_LOG_NAME) {
        this.reviews.forget(root.id);
        // Reviews changed: sessions whose review set changed get a new fingerprint.
        this.summarizeInBackground(root.id);
        return true;
      }
      if (await this.runJournalChanged(root, abs)) return true;
      if (dir === root.sessionsDir && name.endsWith('.json')) {
        const sid = name.slice(0, -'.json'.length);
        if (root.sessions.has(sid)) await this.touch(root.id, sid);
        return true;
      }
      if (dir === root.feedbackDir) {
        const sid = sessionIdOfFeedbackFile(name);
        if (sid !== null && root.sessions.has(sid)) await this.touch(root.id, sid);
        return true;
      }
      if (abs === root.feedbackDir) {
        // The folder appeared or went: every session's feedback may have changed (a summary made by a worker kept no reader here).
        for (const sid of root.sessions.keys()) {
          if (this.feedbackFiles.has(root.id, sid) || this.summaries.get(root.id, sid)) await this.touch(root.id, sid);
        }
        return true;
      }
      if (abs === root.journalDir || abs === root.sessionsDir) {
        await this.scan(root.id);
        return true;
      }
    }
    return false;
  }

  /**
   * hermes-webui's thumbs changed: sessions whose records changed get a new fingerprint (summaries
   * recomputed in the background); sessions being viewed are refreshed now.
   */
  private async hermesFileChanged(abs: string): Promise<boolean> {
    const roots = [...this.rootsById.values()].filter((r) => this.hermes.fileFor(r.sessionsDir) === abs);
    if (roots.length) this.hermes.forget(abs);
    for (const root of roots) {
      for (const sid of root.sessions.keys()) if (this.journals.has(root.id, sid)) await this.touch(root.id, sid);
      this.summarizeInBackground(root.id);
    }
    return roots.length > 0;
  }

  /**
   * A run journal (`_run_journal/<sid>/<run>.jsonl`) or a session's run folder changed: that session is
   * refreshed (its fingerprint holds its run journals); the whole `_run_journal/` appeared or went: every
   * summary is checked again in the background. False when the path is not under the root's `_run_journal/`.
   */
  private async runJournalChanged(root: Root, abs: string): Promise<boolean> {
    const runsDir = path.join(root.sessionsDir, RUN_JOURNAL_DIR_NAME);
    const dir = path.dirname(abs);
    if (abs === runsDir) this.summarizeInBackground(root.id);
    else if (dir === runsDir || path.dirname(dir) === runsDir) {
      const sid = path.basename(dir === runsDir ? abs : dir);
      if (root.sessions.has(sid)) await this.touch(root.id, sid);
    } else return false;
    return true;
  }

  /** Something of this session changed: refresh what is kept and notify. */
  private async touch(rootId: string, sessionId: string): Promise<void> {
    if (this.journals.has(rootId, sessionId)) await this.analyze(rootId, sessionId);
    else await this.summarize(rootId, sessionId);
    this.changeEmitter.fire({ rootId, sessions: [sessionId] });
  }

  /** A session that no longer exists: drop everything kept of it. */
  private forget(rootId: string, sessionId: string): void {
    this.journals.delete(rootId, sessionId);
    this.summaries.delete(rootId, sessionId);
    this.feedbackFiles.delete(rootId, sessionId);
    this.hermes.delete(rootId, sessionId);
  }

  /** Finds the root and session of a shard or sidecar path. */
  locate(filePath: string): SessionRef | undefined {
    const abs = path.resolve(filePath);
    const dir = path.dirname(abs);
    const name = path.basename(abs);
    for (const root of this.rootsById.values()) {
      if (dir === root.journalDir) {
        const parsed = parseShardFileName(name);
        if (parsed.ok) return { rootId: root.id, sessionId: parsed.sessionId };
      }
      if (dir === root.sessionsDir && name.endsWith('.json')) return { rootId: root.id, sessionId: name.slice(0, -5) };
    }
    return undefined;
  }

  /** Reviewed of reviewable (completed) turns over every summarised session of every root. */
  reviewProgress(): { reviewed: number; reviewable: number; sessions: number; summarised: number } {
    let reviewed = 0;
    let reviewable = 0;
    let sessions = 0;
    let summarised = 0;
    for (const root of this.rootsById.values()) {
      for (const sid of root.sessions.keys()) {
        sessions++;
        const sum = this.summaries.get(root.id, sid);
        if (!sum) continue;
        summarised++;
        reviewed += sum.reviewed;
        reviewable += sum.reviewable;
      }
    }
    return { reviewed, reviewable, sessions, summarised };
  }

  /** Summaries as plain data (with the cache version), to persist across windows. */
  exportCache(): PersistedSummaries {
    return this.summaries.export();
  }

  /** Loads persisted summaries; each is used only while its fingerprint still matches. */
  importCache(data: unknown): void {
    this.summaries.import(data);
  }

  /**
   * File stats plus the session's reviews: a new review makes the summary stale. `background`: see `summarize`
   * (the root's stamps shared by the batch, the files stat-ed synchronously).
   */
  private async fingerprintOf(root: Root, s: DiscoveredSession, background = false, hints?: Map<string, fs.Stats | null>): Promise<string> {
    const reviews = (await this.reviews.of(root.id, root.sessionsDir, batchStampMs(background))).bySession.get(s.sessionId);
    const hermes = await this.hermes.fingerprintPart(root.sessionsDir, s.sessionId, batchStampMs(background));
    const files = await fingerprint(root.sessionsDir, s, background, hints);
    // The run journals: findings compare them with the turn journal (a run that appears, grows or goes changes them).
    const runs = runJournalsPart(root.sessionsDir, s.sessionId, hints);
    return files + reviewsPart(reviews) + hermes + runs;
  }

  /** Cached summaries whose fingerprint still matches the files (cheap: stats only). */
  async validateCached(rootId: string): Promise<string[]> {
    const root = this.rootsById.get(rootId);
    if (!root) return [];
    const stale: string[] = [];
    const sessions = [...root.sessions.values()];
    // No `_run_journal/` in the root (checked once): no session's run-journal folder is looked for.
    const noRuns = lstatOrNull(path.join(root.sessionsDir, RUN_JOURNAL_DIR_NAME))?.isDirectory() !== true;
    const hintsOf = (sid: string) => (noRuns ? missingFolderHints(root.sessionsDir, sid, { feedbackDir: true, runsDir: false }) : undefined);
    // A few sessions at a time: tens of thousands of stats in flight at once are slower than
    // a steady few (measured in bench/sessions.ts), and hog the thread pool.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < sessions.length) {
        const s = sessions[next++];
        const c = this.summaries.get(rootId, s.sessionId);
        if (!c) continue;
        if (c.fingerprint !== (await this.fingerprintOf(root, s, false, hintsOf(s.sessionId)))) {
          this.summaries.delete(rootId, s.sessionId);
          stale.push(s.sessionId);
        }
      }
    };
    await Promise.all(Array.from({ length: VALIDATE_LANES }, lane));
    return stale;
  }

  dispose(): void {
    this.disposed = true;
    this.changeEmitter.dispose();
    this.background.clear();
    this.batches.clear();
    this.queued.clear();
    this.pool?.dispose();
  }
}

/** A session of a batch sent to a worker, held in `pending` until its answer is stored. */
interface BatchWait {
  sessionId: string;
  /** The cached summary when the batch was sent: another one stored meanwhile wins. */
  before: SessionSummary | undefined;
  epoch: number;
  resolve(s: SessionSummary | undefined): void;
}

/** `{ [k]: v }` when v is defined, else `{}` (a worker's job carries no undefined fields). */
function withDefined<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

const VALIDATE_LANES = 8;
/** Background summaries of one batch share the root's repair-log and hermes-file stamps for this long. */
const BATCH_STAMP_MS = 500;

/** How old a root's stamp (repair log, hermes file) may be and still be reused: BATCH_STAMP_MS in a background batch, else 0 (fresh). */
function batchStampMs(background: boolean): number {
  return background ? BATCH_STAMP_MS : 0;
}

function labelFor(dir: string): string {
  const base = path.basename(dir);
  const parent = path.basename(path.dirname(dir));
  return parent ? `${parent}/${base}` : base;
}
