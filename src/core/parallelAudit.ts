/**
 * The folder audit on several cores: sessions are independent, so worker threads read and
 * analyse them while the caller receives their reports in discovery order — the same reports,
 * in the same order, as `auditSessions` + `sessionReport` on one thread.
 *
 * The worker is whatever script calls `runAuditWorkerIfWorker()` at startup (the CLI bundle
 * does; so the CLI starts itself as its workers). At most a few sessions per worker are in
 * flight ahead of the one being yielded, so memory stays bounded by the largest sessions.
 */

import { Worker, isMainThread, parentPort, workerData } from 'worker_threads';
import { analyzeOptions, sessionReport, type AuditOptions, type SessionReport } from './audit';
import type { DiscoveredSession, Discovery } from './discovery';
import { loadKnownReviews, markReviewedFindings } from './repair';
import { SessionJournal, analyzeWithUpstream } from './session';
import { DEFAULT_MAX_LINE_BYTES } from './shardReader';

interface WorkerInit {
  bmaAuditWorker: true;
  sessionsDir: string;
  options: AuditOptions & { now: number };
  /** Flag findings the repair log records as reviewed (as the CLI's audit does). */
  markReviewed: boolean;
}
interface Job {
  i: number;
  session: DiscoveredSession;
}
interface Done {
  i: number;
  report?: WireReport;
  error?: string;
}

/**
 * A report on its way from a worker. Its `states` dictionaries (turn id → state) travel as JSON
 * text: every session's turn ids are new property keys, and a structured clone of such an object
 * made a hidden class per key on the receiving side (most of the main thread's time per report);
 * `JSON.parse` builds the same object (own data properties, "__proto__" included, the same key
 * order) at about half the cost of assigning the keys one by one.
 */
interface WireReport {
  report: SessionReport;
  states: string;
  /** upstream.states: `true` when it is the report's `states` object itself (the usual case). */
  upstreamStates: string | true | null;
}

const NO_STATES: Record<string, string> = {};

export function reportToWire(r: SessionReport): WireReport {
  const up = r.upstream;
  // Spreads keep every key where it was (the JSON's key order).
  const report: SessionReport = { ...r, states: NO_STATES };
  if (up !== undefined) report.upstream = { ...up, states: NO_STATES };
  const upstreamStates = up === undefined ? null : up.states === r.states ? true : JSON.stringify(up.states);
  return { report, states: JSON.stringify(r.states), upstreamStates };
}

export function reportFromWire(w: WireReport): SessionReport {
  const r = w.report;
  r.states = JSON.parse(w.states) as Record<string, string>;
  const up = w.upstreamStates;
  if (r.upstream !== undefined && up !== null) r.upstream.states = up === true ? r.states : (JSON.parse(up) as Record<string, string>);
  return r;
}

/** In a worker started by `auditReportsParallel`: serve jobs and return true. Else false. */
export function runAuditWorkerIfWorker(): boolean {
  const init = workerData as WorkerInit | undefined;
  if (isMainThread || !parentPort || !init || init.bmaAuditWorker !== true) return false;
  const port = parentPort;
  const opts = analyzeOptions(init.options);
  const known = init.markReviewed ? loadKnownReviews(init.sessionsDir) : null;
  // One session at a time; the next job waits here (sent ahead: no round trip to the main thread between sessions).
  const queue: Job[] = [];
  let running = false;
  const next = (): void => {
    const job = queue.shift();
    running = job !== undefined;
    if (job === undefined) return;
    const journal = new SessionJournal(init.sessionsDir, job.session.sessionId, {
      maxLineBytes: init.options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      maxSessionBytes: init.options.maxSessionBytes,
    });
    journal.setShards(job.session.shards);
    journal
      .refresh()
      .then(() => analyzeWithUpstream(journal, opts))
      .then(
        (analysis) => {
          if (known) markReviewedFindings(analysis, known);
          port.postMessage({ i: job.i, report: reportToWire(sessionReport(analysis)) } satisfies Done);
        },
        (err: unknown) => port.postMessage({ i: job.i, error: err instanceof Error ? err.message : String(err) } satisfies Done),
      )
      .finally(next);
  };
  port.on('message', (job: Job) => {
    queue.push(job);
    if (!running) next();
  });
  return true;
}

/** Jobs sent to a worker before it answers the first: the next session is there when one is done. */
const JOBS_PER_WORKER = 2;

export async function* auditReportsParallel(
  discovery: Discovery,
  options: AuditOptions,
  jobs: number,
  workerScript: string,
  markReviewed = false,
): AsyncGenerator<SessionReport> {
  const wanted = discovery.sessions.filter((s) => options.sessionId === undefined || s.sessionId === options.sessionId);
  // One clock for every session, as on one thread.
  const init: WorkerInit = {
    bmaAuditWorker: true,
    sessionsDir: discovery.sessionsDir,
    options: { ...options, now: options.now ?? Date.now() / 1000 },
    markReviewed,
  };
  const window = jobs * 3;
  const results = new Map<number, Done>();
  /** Each worker once per job it may still take (JOBS_PER_WORKER at most). */
  const idle: Worker[] = [];
  let nextToSend = 0;
  let nextToYield = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const pump = () => {
    while (idle.length > 0 && nextToSend < wanted.length && nextToSend < nextToYield + window) {
      const i = nextToSend++;
      idle.pop()!.postMessage({ i, session: wanted[i] } satisfies Job);
    }
  };
  const workers: Worker[] = [];
  for (let k = 0; k < Math.max(1, Math.min(jobs, wanted.length)); k++) {
    const w = new Worker(workerScript, { workerData: init });
    w.on('message', (m: Done) => {
      results.set(m.i, m);
      idle.push(w);
      pump();
      notify();
    });
    w.on('error', (err) => {
      failure = err;
      notify();
    });
    w.on('exit', (code) => {
      if (code !== 0 && nextToYield < wanted.length) failure ??= new Error(`an audit worker exited with code ${code}`);
      notify();
    });
    workers.push(w);
  }
  // A worker's first slots first: the first jobs go to every worker before any gets a second.
  for (let slot = 0; slot < JOBS_PER_WORKER; slot++) for (let k = workers.length - 1; k >= 0; k--) idle.push(workers[k]);
  pump();
  try {
    while (nextToYield < wanted.length) {
      while (!results.has(nextToYield) && failure === null) await new Promise<void>((r) => (wake = r));
      if (failure !== null) throw failure;
      const done = results.get(nextToYield)!;
      results.delete(nextToYield);
      nextToYield++;
      pump();
      if (done.error !== undefined) throw new Error(`${wanted[done.i].sessionId}: ${done.error}`);
      yield reportFromWire(done.report!);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
