/**
 * Session summaries: what the tree, the Problems panel and the status bar show without
 * parsing. Cached by a fingerprint of (size, mtime, inode) of every file of the session, and
 * persisted across windows (`exportCache` / `importCache`).
 */

import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { SessionAnalysis } from '../analyze';
import type { DiscoveredSession } from '../discovery';
import { feedbackFilePath } from '../feedback/record';
import { disagreementOf, isReviewed, type TurnFeedback } from '../feedback/latest';
import { runJournalStamp } from '../runJournal';
import { runJournalDirOf, type StatHints } from '../session';
import { sidecarPath } from '../sidecar';
import type { Finding, Severity } from '../types';
import { deleteRoot, key } from './keys';

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
  /** (size, mtime, inode) of every shard, the sidecar, the feedback file and the run journals when the summary was made. */
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
  /** Turns hermes-webui's own thumbs (feedback.jsonl) rate 👍 / 👎 (latest per turn). */
  hermesUp: number;
  hermesDown: number;
  /** Turns whose votes disagree (reviewers among themselves, or hermes-webui against a reviewer). */
  disagreements: number;
  /** Findings located in a shard (for the Problems panel), at most MAX_SUMMARY_FINDINGS. */
  lineFindings: Finding[];
  /** How many located findings were left out of `lineFindings`. */
  lineFindingsOmitted: number;
  /** Findings the repair log records as reviewed (not counted in `findings` / `worst`). */
  reviewedFindings?: number;
}

/** Cap on located findings kept per summary, so 10,000 sessions stay cheap to cache. */
export const MAX_SUMMARY_FINDINGS = 1000;

export const EMPTY_FEEDBACK: ReadonlyMap<string, TurnFeedback> = new Map();

/**
 * Version of the persisted summary cache. Bump it whenever what a summary counts changes
 * (a cache of an older version is ignored, never trusted by fingerprint):
 * 2 — only completed turns with an answer are reviewable; hermes-webui's thumbs and disagreements counted.
 */
export const SUMMARY_CACHE_VERSION = 2;

export interface PersistedSummaries {
  version: number;
  summaries: Record<string, SessionSummary>;
}

/** The summaries of every session, by key; persistable. */
export class SummaryCache {
  private readonly summaries = new Map<string, SessionSummary>();

  get(rootId: string, sessionId: string): SessionSummary | undefined {
    return this.summaries.get(key(rootId, sessionId));
  }

  /**
   * Stores a summary. Returns it and whether its content changed (listeners hear only of
   * changes: no refresh loops); an unchanged one keeps the old object with the new stamps.
   */
  set(rootId: string, sessionId: string, next: SessionSummary): { summary: SessionSummary; changed: boolean } {
    const k = key(rootId, sessionId);
    const prev = this.summaries.get(k);
    if (prev && sameSummary(prev, next)) {
      prev.computedAt = next.computedAt;
      prev.fingerprint = next.fingerprint;
      return { summary: prev, changed: false };
    }
    this.summaries.set(k, next);
    return { summary: next, changed: true };
  }

  delete(rootId: string, sessionId: string): void {
    this.summaries.delete(key(rootId, sessionId));
  }

  deleteRoot(rootId: string): void {
    deleteRoot(this.summaries, rootId);
  }

  clear(): void {
    this.summaries.clear();
  }

  /** Summaries as plain data with the cache version, to persist across windows. */
  export(): PersistedSummaries {
    return { version: SUMMARY_CACHE_VERSION, summaries: Object.fromEntries(this.summaries) };
  }

  /**
   * Loads persisted summaries (never over a newer one); each is used only while its fingerprint
   * still matches. A cache of another version (or the unversioned form before 2) is ignored:
   * its counts were made by other rules, and the files' fingerprints would not say so.
   */
  import(data: unknown): void {
    if (typeof data !== 'object' || data === null) return;
    const p = data as Partial<PersistedSummaries>;
    if (p.version !== SUMMARY_CACHE_VERSION || typeof p.summaries !== 'object' || p.summaries === null) return;
    for (const [k, v] of Object.entries(p.summaries as Record<string, unknown>)) {
      if (isSummary(v) && !this.summaries.has(k)) this.summaries.set(k, v);
    }
  }
}

/** (size, mtime, inode) of every shard, the sidecar and the feedback file. `hints`: see fingerprintSync. */
export async function fingerprint(sessionsDir: string, s: DiscoveredSession, sync = false, hints?: Map<string, fs.Stats | null>): Promise<string> {
  if (sync) return fingerprintSync(sessionsDir, s, hints);
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

/**
 * The same text from synchronous stats (background summaries: a few small stats cost less than their
 * round trips through the thread pool; a stat never opens the file, so a FIFO or device cannot block it).
 * `hints` (session.ts StatHints): a path already in it (null: the caller knows it does not exist) is not
 * stat-ed; every stat taken is put in it (null when missing), for the reads that follow to reuse.
 */
export function fingerprintSync(sessionsDir: string, s: DiscoveredSession, hints?: Map<string, fs.Stats | null>): string {
  let text = '';
  for (const f of s.shards) text += `${statPart(f.path, hints)}|`;
  return text + `${statPart(sidecarPath(sessionsDir, s.sessionId), hints)}|${statPart(feedbackFilePath(sessionsDir, s.sessionId), hints)}`;
}

/** One file's part of fingerprintSync's text (the stat from `hints`, or taken and put in it). */
function statPart(p: string, hints: Map<string, fs.Stats | null> | undefined): string {
  let st = hints?.get(p); // a hint is a stat or null, never undefined
  if (st === undefined) {
    try {
      st = fs.statSync(p, { throwIfNoEntry: false }) ?? null;
      hints?.set(p, st);
    } catch {
      st = null; // unreadable: as the async form says (and no hint: the read reports why)
    }
  }
  return st ? `${path.basename(p)}:${st.size}:${st.mtimeMs}:${st.ino}` : `${path.basename(p)}:-`;
}

/**
 * Stat hints (session.ts StatHints) from what is known of the root's folders: when its feedback or
 * run-journal folder is absent, the session's file in it is known missing without a stat of its own.
 */
export function missingFolderHints(sessionsDir: string, sessionId: string, f: { feedbackDir: boolean; runsDir: boolean }): Map<string, fs.Stats | null> {
  const hints = new Map<string, fs.Stats | null>();
  if (!f.feedbackDir) hints.set(feedbackFilePath(sessionsDir, sessionId), null);
  if (!f.runsDir) hints.set(runJournalDirOf(sessionsDir, sessionId), null);
  return hints;
}

/**
 * The session's run journals (`_run_journal/<sid>/*.jsonl`, the files the analysis reads:
 * regular files only, no symbolic link, no FIFO): `|runs:<runJournalStamp's hash of name, inode,
 * size, mtime>`, or '' when there are none (so a fingerprint without run journals reads as before).
 * A folder `hints` knows missing (null: the root has no `_run_journal/`) costs nothing; otherwise
 * an lstat of the session's folder, and a readdir and an lstat per file when it exists (no file is opened).
 */
export function runJournalsPart(sessionsDir: string, sessionId: string, hints?: StatHints): string {
  const knownMissing = hints?.get(runJournalDirOf(sessionsDir, sessionId)) === null;
  const { fingerprint } = runJournalStamp(sessionsDir, sessionId, knownMissing);
  return fingerprint === 'none' ? '' : `|runs:${fingerprint}`;
}

export function summaryOf(
  a: SessionAnalysis,
  fp: string,
  now: number,
  feedback: ReadonlyMap<string, TurnFeedback> = EMPTY_FEEDBACK,
  hermes: ReadonlyMap<string, TurnFeedback> = EMPTY_FEEDBACK,
): SessionSummary {
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
  let hermesUp = 0;
  let hermesDown = 0;
  let disagreements = 0;
  for (const t of a.turns) {
    const f = feedback.get(t.turnId);
    const h = hermes.get(t.turnId);
    if (f?.value === 1) thumbsUp++;
    else if (f?.value === -1) thumbsDown++;
    if (h?.value === 1) hermesUp++;
    else if (h?.value === -1) hermesDown++;
    if ((f || h) && disagreementOf(f, h)) disagreements++;
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
    hermesUp,
    hermesDown,
    disagreements,
    lineFindings: located.slice(0, MAX_SUMMARY_FINDINGS),
    lineFindingsOmitted: Math.max(0, located.length - MAX_SUMMARY_FINDINGS),
  };
}

/** A turn a reviewer rates: completed (the answer exists). */
export function isReviewable(t: { state: string; assistantMessageIndex?: number | null }): boolean {
  // Only a completed turn with an answer can be rated (curation, docs/feedback.md).
  return t.state === 'completed' && t.assistantMessageIndex !== null;
}

function sameSummary(a: SessionSummary, b: SessionSummary): boolean {
  const strip = ({ computedAt: _c, fingerprint: _f, ...rest }: SessionSummary) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function isSummary(v: unknown): v is SessionSummary {
  const s = v as SessionSummary;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.sessionId === 'string' &&
    typeof s.fingerprint === 'string' &&
    typeof s.turns === 'number' &&
    typeof s.reviewable === 'number' &&
    typeof s.findings === 'object' &&
    Array.isArray(s.lineFindings)
  );
}
