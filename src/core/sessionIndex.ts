/**
 * Every session of several sessions folders ("roots"), kept current cheaply:
 * - discovery is a `readdir` per root; the session list is known before anything is parsed;
 * - summaries (counts, worst finding, title) are computed lazily, a few at a time, and
 *   cached by a fingerprint of (size, mtime, inode) of every shard and the sidecar, so a
 *   reopened window reuses them without parsing (see `exportCache` / `importCache`);
 * - full journals (all events in memory) are kept only for a small LRU of sessions someone
 *   is looking at; for those a change re-reads only the appended bytes.
 * Plain TypeScript: the extension wires file watchers and settings to it.
 */

import { promises as fsp, statSync } from 'fs';
import * as path from 'path';
import type { AnalyzeOptions, SessionAnalysis } from './analyze';
import { DEFAULT_STALE_AFTER_MINUTES } from './analyze';
import { discoverSessions, resolveSessionsDir, type DiscoveredSession, type SkippedFile } from './discovery';
import { Emitter } from './events';
import { SessionJournal } from './session';
import { JOURNAL_DIR_NAME, parseShardFileName } from './sessionId';
import { DEFAULT_MAX_LINE_BYTES } from './shardReader';
import { sidecarPath } from './sidecar';
import { FEEDBACK_DIR_NAME, feedbackFilePath, sessionIdOfFeedbackFile } from './feedback/record';
import { isReviewed, type TurnFeedback } from './feedback/latest';
import { SessionFeedbackFile } from './feedback/store';
import { knownReviews, readRepairLog, repairLogPath, REPAIR_LOG_NAME, type KnownReviews } from './repair/log';
import { markReviewedFindings } from './repair/reviewed';
import type { Finding, Severity } from './types';

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

export interface SessionSummary {
  sessionId: string;
  title: string | null;
  model: string | null;
  shards: string[];
  events: number;
  turns: number;
  open: number;
  collisions: number;
  malformed: number;
  findings: Record<Severity, number>;
  worst: Severity | null;
  firstActivity: number | null;
  lastActivity: number | null;
  /** (size, mtime, inode) of every shard and the sidecar when the summary was made. */
  fingerprint: string;
  /** When the summary was computed (epoch seconds): dangling status depends on the clock. */
  computedAt: number;
  /** Completed turns (the ones a reviewer rates). */
  reviewable: number;
  /** Completed turns whose latest feedback is 👍 or 👎. */
  reviewed: number;
  /** Turns (any state) whose latest feedback is 👍 / 👎. */
  thumbsUp: number;
  thumbsDown: number;
  /** Findings located in a shard (for the Problems panel), at most MAX_SUMMARY_FINDINGS. */
  lineFindings: Finding[];
  /** How many located findings were left out of `lineFindings`. */
  lineFindingsOmitted: number;
  /** Findings the repair log records as reviewed (not counted in `findings` / `worst`). */
  reviewedFindings?: number;
}

/** Cap on located findings kept per summary, so 10,000 sessions stay cheap to cache. */
export const MAX_SUMMARY_FINDINGS = 1000;

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
   * Total shard bytes of the journals kept in memory (parsed events take several times their
   * size on disk). The most recently used journal is always kept, whatever its size.
   */
  keepJournalBytes?: number;
  /** How many summaries to compute at once in the background. */
  concurrency?: number;
}

export class SessionIndex {
  private readonly rootsById = new Map<string, Root>();
  private readonly summaries = new Map<string, SessionSummary>();
  private readonly journals = new Map<string, SessionJournal>(); // LRU: insertion order
  private readonly analyses = new Map<string, SessionAnalysis>();
  private readonly feedbackFiles = new Map<string, SessionFeedbackFile>();
  private readonly pending = new Map<string, Promise<SessionSummary | undefined>>();
  private readonly queue: { rootId: string; sessionId: string }[] = [];
  private running = 0;
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
    };
  }

  /** Changing limits invalidates every summary and journal. */
  configure(options: IndexOptions): void {
    const before = JSON.stringify([this.options.maxLineBytes, this.options.staleAfterMinutes]);
    this.options = { ...this.options, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    if (before !== JSON.stringify([this.options.maxLineBytes, this.options.staleAfterMinutes])) {
      this.summaries.clear();
      this.journals.clear();
      this.analyses.clear();
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
      if (!wanted.has(id)) {
        this.rootsById.delete(id);
        for (const key of [...this.summaries.keys()]) if (key.startsWith(id + '\0')) this.summaries.delete(key);
        for (const key of [...this.journals.keys()]) if (key.startsWith(id + '\0')) this.journals.delete(key);
        for (const key of [...this.analyses.keys()]) if (key.startsWith(id + '\0')) this.analyses.delete(key);
        for (const key of [...this.feedbackFiles.keys()]) if (key.startsWith(id + '\0')) this.feedbackFiles.delete(key);
      }
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
      for (const id of changed) this.forget(rootId, id, !next.has(id));
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
    return this.summaries.get(key(rootId, sessionId));
  }

  /** Computes (or validates by fingerprint) a session's summary. */
  summarize(rootId: string, sessionId: string): Promise<SessionSummary | undefined> {
    const k = key(rootId, sessionId);
    const inflight = this.pending.get(k);
    if (inflight) return inflight;
    const p = this.computeSummary(rootId, sessionId).finally(() => this.pending.delete(k));
    this.pending.set(k, p);
    return p;
  }

  /** Queues background summaries (bounded concurrency); change events fire as each arrives. */
  summarizeInBackground(rootId: string, sessionIds?: readonly string[]): void {
    const ids = sessionIds ?? this.sessions(rootId).map((s) => s.sessionId);
    for (const sessionId of ids) this.queue.push({ rootId, sessionId });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.summarize(job.rootId, job.sessionId)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  private async computeSummary(rootId: string, sessionId: string): Promise<SessionSummary | undefined> {
    const root = this.rootsById.get(rootId);
    const found = root?.sessions.get(sessionId);
    if (!root || !found) return undefined;
    const k = key(rootId, sessionId);
    const fp = await this.fingerprintOf(root, found);
    const cached = this.summaries.get(k);
    if (cached && cached.fingerprint === fp && !this.isClockSensitive(cached)) return cached;
    const keep = this.journals.has(k);
    const analysis = await this.analyzeInternal(root, found, keep);
    markReviewedFindings(analysis, this.reviewsOf(root).known);
    const feedback = await this.refreshFeedback(rootId, sessionId);
    return this.setSummary(rootId, sessionId, summaryOf(analysis, fp, this.options.now(), feedback));
  }

  /** Stores a summary; listeners hear of it only when its content changed (no refresh loops). */
  private setSummary(rootId: string, sessionId: string, next: SessionSummary): SessionSummary {
    const k = key(rootId, sessionId);
    const prev = this.summaries.get(k);
    if (prev && sameSummary(prev, next)) {
      prev.computedAt = next.computedAt;
      prev.fingerprint = next.fingerprint;
      return prev;
    }
    this.summaries.set(k, next);
    this.changeEmitter.fire({ rootId, sessions: [sessionId] });
    return next;
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
    const analysis = await this.analyzeInternal(root, found, true);
    markReviewedFindings(analysis, this.reviewsOf(root).known);
    const feedback = await this.refreshFeedback(rootId, sessionId);
    const fp = await this.fingerprintOf(root, found);
    this.setSummary(rootId, sessionId, summaryOf(analysis, fp, this.options.now(), feedback));
    return analysis;
  }

  /** Re-reads what was appended to a session's feedback file; returns the latest per turn id. */
  async refreshFeedback(rootId: string, sessionId: string): Promise<ReadonlyMap<string, TurnFeedback>> {
    const root = this.rootsById.get(rootId);
    if (!root) return new Map();
    const k = key(rootId, sessionId);
    let f = this.feedbackFiles.get(k);
    if (!f) {
      f = SessionFeedbackFile.forSession(root.sessionsDir, sessionId);
      this.feedbackFiles.set(k, f);
    }
    await f.refresh();
    return f.latest();
  }

  /** The latest feedback per turn id as last read (no disk access; empty before any read). */
  feedback(rootId: string, sessionId: string): ReadonlyMap<string, TurnFeedback> {
    return this.feedbackFiles.get(key(rootId, sessionId))?.latest() ?? EMPTY_FEEDBACK;
  }

  /** The session's feedback file reader (records, history, problems), if it was read. */
  feedbackFile(rootId: string, sessionId: string): SessionFeedbackFile | undefined {
    return this.feedbackFiles.get(key(rootId, sessionId));
  }

  /** The last analysis computed by `analyze`, without touching the disk. */
  lastAnalysis(rootId: string, sessionId: string): SessionAnalysis | undefined {
    return this.analyses.get(key(rootId, sessionId));
  }

  private async analyzeInternal(root: Root, found: DiscoveredSession, keep: boolean): Promise<SessionAnalysis> {
    const k = key(root.id, found.sessionId);
    let journal = this.journals.get(k);
    if (journal) {
      this.journals.delete(k); // re-insert: most recently used last
    } else {
      journal = new SessionJournal(root.sessionsDir, found.sessionId, { maxLineBytes: this.options.maxLineBytes });
    }
    journal.setShards(found.shards);
    const { changed } = await journal.refresh();
    let analysis = this.analyses.get(k);
    if (!analysis || changed || this.options.now() - (analysisTimes.get(analysis) ?? 0) > 30) {
      analysis = journal.analyze(this.analyzeOptions());
      analysisTimes.set(analysis, this.options.now());
    }
    if (keep) {
      this.journals.set(k, journal);
      this.analyses.set(k, analysis);
      let bytes = 0;
      for (const a of this.analyses.values()) bytes += a.shards.reduce((n, sh) => n + sh.size, 0);
      while (this.journals.size > 1 && (this.journals.size > this.options.keepJournals || bytes > this.options.keepJournalBytes)) {
        const oldest = this.journals.keys().next().value as string;
        bytes -= this.analyses.get(oldest)?.shards.reduce((n, sh) => n + sh.size, 0) ?? 0;
        this.journals.delete(oldest);
        this.analyses.delete(oldest);
      }
    }
    return analysis;
  }

  /**
   * Routes a file-system change to what it affects. Returns true when the path belongs to
   * a root. Shard creation/deletion rescans the root; content changes refresh the session.
   */
  async fileChanged(filePath: string, kind: 'created' | 'changed' | 'deleted'): Promise<boolean> {
    const abs = path.resolve(filePath);
    for (const root of this.rootsById.values()) {
      const dir = path.dirname(abs);
      const name = path.basename(abs);
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
        // Reviews changed: sessions whose review set changed get a new fingerprint.
        this.summarizeInBackground(root.id);
        return true;
      }
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
        // The folder appeared or went: every session's feedback may have changed.
        for (const sid of root.sessions.keys()) if (this.feedbackFiles.has(key(root.id, sid))) await this.touch(root.id, sid);
        return true;
      }
      if (abs === root.journalDir || abs === root.sessionsDir) {
        await this.scan(root.id);
        return true;
      }
    }
    return false;
  }

  /** Something of this session changed: refresh what is kept and notify. */
  private async touch(rootId: string, sessionId: string): Promise<void> {
    const k = key(rootId, sessionId);
    if (this.journals.has(k)) await this.analyze(rootId, sessionId);
    else await this.summarize(rootId, sessionId);
    this.changeEmitter.fire({ rootId, sessions: [sessionId] });
  }

  private forget(rootId: string, sessionId: string, removed: boolean): void {
    const k = key(rootId, sessionId);
    if (removed) {
      this.journals.delete(k);
      this.analyses.delete(k);
      this.summaries.delete(k);
      this.feedbackFiles.delete(k);
    }
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
        const sum = this.summaries.get(key(root.id, sid));
        if (!sum) continue;
        summarised++;
        reviewed += sum.reviewed;
        reviewable += sum.reviewable;
      }
    }
    return { reviewed, reviewable, sessions, summarised };
  }

  /** Summaries as plain data, to persist across windows. */
  exportCache(): Record<string, SessionSummary> {
    return Object.fromEntries(this.summaries);
  }

  /** Loads persisted summaries; each is used only while its fingerprint still matches. */
  importCache(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
      if (isSummary(v) && !this.summaries.has(k)) this.summaries.set(k, v);
    }
  }

  private readonly reviewCache = new Map<string, { stamp: string; known: KnownReviews; bySession: Map<string, string> }>();

  /** What the root's repair log (core/repair) says was reviewed; re-read only when the log changed. */
  private reviewsOf(root: Root): { known: KnownReviews; bySession: Map<string, string> } {
    let stamp = '-';
    try {
      const st = statSync(repairLogPath(root.sessionsDir));
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch {
      // no log
    }
    const cached = this.reviewCache.get(root.id);
    if (cached && cached.stamp === stamp) return cached;
    let known: KnownReviews = { lines: new Map(), collisions: new Map() };
    const bySession = new Map<string, string>();
    if (stamp !== '-') {
      try {
        known = knownReviews(readRepairLog(root.sessionsDir));
      } catch {
        // unreadable log: nothing known
      }
      const add = (sid: string, part: string) => bySession.set(sid, (bySession.get(sid) ?? '') + part);
      for (const [k, v] of [...known.lines].sort()) add(k.split('\0')[0], `${k}=${v.repairId};`);
      for (const [k, v] of [...known.collisions].sort()) add(k.split('\0')[0], `${k}=${[...v.events].join(',')}:${v.at};`);
    }
    const entry = { stamp, known, bySession };
    this.reviewCache.set(root.id, entry);
    return entry;
  }

  /** File stats plus the session's reviews: a new review makes the summary stale. */
  private async fingerprintOf(root: Root, s: DiscoveredSession): Promise<string> {
    const reviews = this.reviewsOf(root).bySession.get(s.sessionId);
    return (await fingerprint(root.sessionsDir, s)) + (reviews ? `|reviews:${reviews.length}:${hashText(reviews)}` : '');
  }

  /** Cached summaries whose fingerprint still matches the files (cheap: stats only). */
  async validateCached(rootId: string): Promise<string[]> {
    const root = this.rootsById.get(rootId);
    if (!root) return [];
    const stale: string[] = [];
    const sessions = [...root.sessions.values()];
    // A few sessions at a time: tens of thousands of stats in flight at once are slower than
    // a steady few (measured in bench/sessions.ts), and hog the thread pool.
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < sessions.length) {
        const s = sessions[next++];
        const k = key(rootId, s.sessionId);
        const c = this.summaries.get(k);
        if (!c) continue;
        if (c.fingerprint !== (await this.fingerprintOf(root, s))) {
          this.summaries.delete(k);
          stale.push(s.sessionId);
        }
      }
    };
    await Promise.all(Array.from({ length: VALIDATE_LANES }, lane));
    return stale;
  }

  dispose(): void {
    this.changeEmitter.dispose();
    this.queue.length = 0;
  }
}

const analysisTimes = new WeakMap<SessionAnalysis, number>();
const EMPTY_FEEDBACK: ReadonlyMap<string, TurnFeedback> = new Map();
const VALIDATE_LANES = 8;

function hashText(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

function key(rootId: string, sessionId: string): string {
  return `${rootId}\0${sessionId}`;
}

function labelFor(dir: string): string {
  const base = path.basename(dir);
  const parent = path.basename(path.dirname(dir));
  return parent ? `${parent}/${base}` : base;
}

export async function fingerprint(sessionsDir: string, s: DiscoveredSession): Promise<string> {
  const parts = await Promise.all(
    [...s.shards.map((f) => f.path), sidecarPath(sessionsDir, s.sessionId), feedbackFilePath(sessionsDir, s.sessionId)].map(async (p) => {
      try {
        const st = await fsp.stat(p);
        return `${path.basename(p)}:${st.size}:${st.mtimeMs}:${st.ino}`;
      } catch {
        return `${path.basename(p)}:-`;
      }
    }),
  );
  return parts.join('|');
}

export function summaryOf(a: SessionAnalysis, fp: string, now: number, feedback: ReadonlyMap<string, TurnFeedback> = EMPTY_FEEDBACK): SessionSummary {
  const located = a.findings.filter((f) => f.shard !== undefined);
  // Findings the repair log knows (reviewed) are shown, but no longer make a session need attention.
  const counts = { ...a.counts.findings };
  let reviewedFindings = 0;
  for (const f of a.findings) {
    if (f.reviewed) {
      counts[f.severity]--;
      reviewedFindings++;
    }
  }
  const worst: Severity | null = counts.error ? 'error' : counts.warning ? 'warning' : counts.info ? 'info' : null;
  let reviewable = 0;
  let reviewed = 0;
  let thumbsUp = 0;
  let thumbsDown = 0;
  for (const t of a.turns) {
    const f = feedback.get(t.turnId);
    if (f?.value === 1) thumbsUp++;
    else if (f?.value === -1) thumbsDown++;
    if (!isReviewable(t)) continue;
    reviewable++;
    if (isReviewed(f)) reviewed++;
  }
  return {
    sessionId: a.sessionId,
    title: a.title,
    model: a.model,
    shards: a.shards.map((s) => s.name),
    events: a.counts.events,
    turns: a.counts.turns,
    open: a.counts.open,
    collisions: a.counts.collisions,
    malformed: a.counts.malformed,
    findings: counts,
    worst: reviewedFindings ? worst : a.worstSeverity,
    ...(reviewedFindings ? { reviewedFindings } : {}),
    firstActivity: a.firstActivity,
    lastActivity: a.lastActivity,
    fingerprint: fp,
    computedAt: now,
    reviewable,
    reviewed,
    thumbsUp,
    thumbsDown,
    lineFindings: located.slice(0, MAX_SUMMARY_FINDINGS),
    lineFindingsOmitted: Math.max(0, located.length - MAX_SUMMARY_FINDINGS),
  };
}

/** A turn a reviewer rates: completed (the answer exists). */
export function isReviewable(t: { state: string }): boolean {
  return t.state === 'completed';
}

function sameSummary(a: SessionSummary, b: SessionSummary): boolean {
  const strip = ({ computedAt: _c, fingerprint: _f, ...rest }: SessionSummary) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function isSummary(v: unknown): v is SessionSummary {
  const s = v as SessionSummary;
  return typeof s === 'object' && s !== null && typeof s.sessionId === 'string' && typeof s.fingerprint === 'string' && typeof s.turns === 'number' && typeof s.reviewable === 'number' && typeof s.findings === 'object' && Array.isArray(s.lineFindings);
}
