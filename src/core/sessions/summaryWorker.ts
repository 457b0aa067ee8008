/**
 * Cold background summaries on a worker thread (the bundle dist/summaryWorker.js; SummaryPool
 * starts it). The host sends a batch of sessions of one root with what it knows of the root (its
 * repair log's reviews and hermes-webui's records of each session, whether its feedback and
 * run-journal folders exist, the clock, the limits); the worker reads and analyses each session with
 * the same code as the host's background path (a fresh SessionJournal, the fingerprint's stats handed
 * to the reads, fsSafe's rules for every open) and answers with plain summaries. A file read here
 * blocks only this thread. Nothing is kept between batches: the journal cache stays the host's.
 */

import type * as fs from 'fs';
import { isMainThread, parentPort, workerData } from 'worker_threads';
import type { DiscoveredSession } from '../discovery';
import { feedbackFilePath } from '../feedback/record';
import type { HermesFeedback } from '../feedback/hermes';
import type { TurnFeedback } from '../feedback/latest';
import { SessionFeedbackFile } from '../feedback/store';
import type { KnownReviews } from '../repair/log';
import { markReviewedFindings } from '../repair/reviewed';
import { SessionJournal } from '../session';
import { latestHermesByTurn } from './hermesThumbs';
import { EMPTY_FEEDBACK, fingerprintSync, missingFolderHints, runJournalsPart, summaryOf, type SessionSummary } from './summaries';

/** Sessions of one root, and what the host knows of the root for this batch. */
export interface SummaryBatch {
  sessionsDir: string;
  maxLineBytes: number;
  staleAfterSeconds: number;
  /** The clock (epoch seconds) of the whole batch. */
  now: number;
  /** Whether the root has `_turn_feedback/` and `_run_journal/` (when not, no session's file in them is looked for). */
  feedbackDir: boolean;
  runsDir: boolean;
  jobs: SummaryJob[];
}

export interface SummaryJob {
  session: DiscoveredSession;
  /** The cached summary's fingerprint, when it may be kept: the same fingerprint answers `unchanged`. */
  cachedFingerprint?: string;
  /** The fingerprint's parts the host computes: the session's repair-log reviews and hermes-webui records. */
  reviewsPart: string;
  hermesPart: string;
  /** The repair log's reviews of this session (none: the empty set). */
  known?: KnownReviews;
  /** hermes-webui's records of this session. */
  hermes?: HermesFeedback[];
}

export type SummaryResult = { unchanged: true } | { summary: SessionSummary; hermes?: [string, TurnFeedback][] } | { error: string };

export interface SummaryRequest {
  id: number;
  batch: SummaryBatch;
}

export interface SummaryAnswer {
  id: number;
  results: SummaryResult[];
}

/** workerData of a summary worker. */
export const SUMMARY_WORKER_DATA = { bmaSummaryWorker: true } as const;

/** Shard bytes up to which a session is read with plain events (see coldSummary). */
const PLAIN_EVENTS_BYTES = 1024 * 1024;

const NO_REVIEWS: KnownReviews = { lines: new Map(), collisions: new Map() };

/** One session's summary, as SessionIndex's background path computes it (sessionIndex.ts computeSummary). */
export async function coldSummary(b: SummaryBatch, job: SummaryJob): Promise<SummaryResult> {
  const sid = job.session.sessionId;
  const hints = missingFolderHints(b.sessionsDir, sid, b);
  const feedbackFile = feedbackFilePath(b.sessionsDir, sid);
  const files = fingerprintSync(b.sessionsDir, job.session, hints);
  const fp = files + job.reviewsPart + job.hermesPart + runJournalsPart(b.sessionsDir, sid, hints);
  if (fp === job.cachedFingerprint) return { unchanged: true };
  // A small session's events keep their parsed objects (no columns, interning or shared fields: ~15-20 % less CPU per
  // summary, and the journal is dropped right after); a larger one's are compact, for bounded memory. Both analyse
  // exactly alike (test/core/compactEvent.test.ts).
  let bytes = 0;
  for (const f of job.session.shards) bytes += hints.get(f.path)?.size ?? 0;
  const compact = bytes > PLAIN_EVENTS_BYTES;
  const journal = new SessionJournal(b.sessionsDir, sid, { maxLineBytes: b.maxLineBytes, incremental: false, compact });
  journal.setShards(job.session.shards);
  await journal.refresh(hints);
  const analysis = journal.analyze({ now: b.now, staleAfterSeconds: b.staleAfterSeconds });
  markReviewedFindings(analysis, job.known ?? NO_REVIEWS);
  const hermes = latestHermesByTurn(job.hermes, analysis);
  const summary = summaryOf(analysis, fp, b.now, await feedbackOf(b.sessionsDir, sid, hints.get(feedbackFile)), hermes);
  return hermes.size ? { summary, hermes: [...hermes] } : { summary };
}

/**
 * The latest feedback per turn of the session's feedback file. `stat`: the fingerprint's stat of it; null (no such file:
 * most sessions, and every one of a root without `_turn_feedback/`) needs no reader — it would read nothing.
 */
async function feedbackOf(sessionsDir: string, sid: string, stat: fs.Stats | null | undefined): Promise<ReadonlyMap<string, TurnFeedback>> {
  if (stat === null) return EMPTY_FEEDBACK;
  const feedback = SessionFeedbackFile.forSession(sessionsDir, sid);
  await feedback.refresh(stat);
  return feedback.latest();
}

/** In a worker started by SummaryPool: serve batches, one at a time in order, and return true. Else false. */
export function serveSummaryJobs(): boolean {
  const data = workerData as typeof SUMMARY_WORKER_DATA | undefined;
  if (isMainThread || !parentPort || data?.bmaSummaryWorker !== true) return false;
  const port = parentPort;
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (m: SummaryRequest) => {
    chain = chain.then(async () => {
      const results: SummaryResult[] = [];
      for (const job of m.batch.jobs) {
        try {
          results.push(await coldSummary(m.batch, job));
        } catch (err) {
          results.push({ error: err instanceof Error ? err.message : String(err) });
        }
      }
      port.postMessage({ id: m.id, results } satisfies SummaryAnswer);
    });
  });
  return true;
}

serveSummaryJobs();
