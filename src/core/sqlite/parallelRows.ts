/**
 * A rebuild on two cores: `worker_threads` workers read, parse and analyse sessions and
 * build every table's rows (the same code as on one thread: readSession.ts + writer.ts
 * `RowBuilder`), encoded into transferable batches (rows.ts); the main thread only binds
 * and steps them (engine.ts `runBatch`), in discovery order, as on one thread.
 *
 * The worker is whatever script calls `runRebuildWorkerIfWorker()` at startup (the CLI
 * bundle does, as it does for the audit workers). A few sessions per worker are in flight
 * ahead of the one being written, so memory stays bounded by the largest sessions.
 */

import { Worker, isMainThread, parentPort, workerData } from 'worker_threads';
import type { DiscoveredSession } from '../discovery';
import type { RowBatch } from './engine';
import { readSession, threadCpuMs, traceClock, type ReadTiming } from './readSession';
import { batchTransfer, RowEncoder } from './rows';

interface WorkerInit {
  bmaRebuildWorker: true;
  sessionsDir: string;
  maxLineBytes: number;
  now: number;
  staleAfterSeconds: number;
  inlineRaw: boolean;
  /** Send each session's ReadTiming and encoding time (the rebuild's --trace). */
  trace?: boolean;
}
interface Job {
  i: number;
  session: DiscoveredSession;
  /** Incremental: per shard, the byte offset below which its events are already indexed. */
  skip?: [string, number][];
}
/** One batch of session `i`'s rows; `last` on its final one (which may hold no rows). */
export interface SessionBatch {
  i: number;
  batch: RowBatch | null;
  last: boolean;
  /** With `last`: events written and shard bytes read for the session. */
  events?: number;
  bytes?: number;
  error?: string;
  /** With `last` and `trace`: where the worker's time went for this session (ms). */
  timing?: WorkerTiming;
}

/**
 * A worker's time on a session (ms of readSession.ts `traceClock`): analysis, building and
 * encoding the rows (posting batches included); and its thread's CPU time so far, where the runtime tells it
 * (`process.threadCpuUsage`, Node ≥ 23.9).
 */
export interface WorkerTiming extends ReadTiming {
  rows: number;
  cpu?: number;
}

/** In a worker started by `sessionBatches`: serve jobs and return true. Else false. */
export function runRebuildWorkerIfWorker(): boolean {
  const init = workerData as WorkerInit | undefined;
  if (isMainThread || !parentPort || !init || init.bmaRebuildWorker !== true) return false;
  const port = parentPort;
  const opts = { now: init.now, staleAfterSeconds: init.staleAfterSeconds };
  let chain: Promise<void> = Promise.resolve();
  // Batches the main thread has run come back (`recycle`): their buffers serve the next ones.
  port.on('message', (msg: Job | { recycle: RowBatch }) => {
    if ('recycle' in msg) {
      RowEncoder.recycle(msg.recycle);
      return;
    }
    const job = msg;
    // Reading starts at once (file I/O on libuv's threads); rows are built in job order.
    const timing: WorkerTiming | undefined = init.trace ? { analysis: 0, rows: 0 } : undefined;
    const read = readSession(init.sessionsDir, job.session, init.maxLineBytes, opts, timing);
    read.catch(() => undefined);
    chain = chain.then(async () => {
      try {
        const r = await read;
        const t0 = timing ? traceClock() : 0;
        const enc = new RowEncoder((batch) => port.postMessage({ i: job.i, batch, last: false } satisfies SessionBatch, batchTransfer(batch)));
        enc.inlineRaw = init.inlineRaw;
        enc.writeSession(r.analysis, r.shards, r.stamps, job.skip ? new Map(job.skip) : undefined);
        // The rest goes out with the session's end.
        const last = enc.take();
        enc.release();
        if (timing) {
          timing.rows = traceClock() - t0;
          timing.cpu = threadCpuMs();
        }
        const bytes = r.shards.reduce((n, x) => n + x.size, 0);
        const msg: SessionBatch = { i: job.i, batch: last, last: true, events: enc.eventsWritten, bytes, ...(timing ? { timing } : {}) };
        port.postMessage(msg, last ? batchTransfer(last) : []);
      } catch (e) {
        port.postMessage({ i: job.i, batch: null, last: true, error: e instanceof Error ? e.message : String(e) } satisfies SessionBatch);
      }
    });
  });
  return true;
}

/**
 * Every session's batches, session by session in `sessions` order, from `workers` workers
 * running `workerScript`. `skip(i)`: for an incremental rebuild, what session i already has.
 */
export async function* sessionBatches(
  sessions: readonly DiscoveredSession[],
  settings: { sessionsDir: string; maxLineBytes: number; now: number; staleAfterSeconds: number; inlineRaw: boolean; trace?: boolean },
  workerScript: string,
  workers: number,
  skip?: (i: number) => ReadonlyMap<string, number> | undefined,
): AsyncGenerator<SessionBatch> {
  const init: WorkerInit = { bmaRebuildWorker: true, ...settings };
  const perWorker = 3;
  const queues = new Map<number, SessionBatch[]>();
  let nextToSend = 0;
  let nextToYield = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const pool: Worker[] = [];
  const pump = (): void => {
    while (nextToSend < sessions.length && nextToSend < nextToYield + perWorker * pool.length) {
      const i = nextToSend++;
      const s = skip?.(i);
      pool[i % pool.length].postMessage({ i, session: sessions[i], skip: s ? [...s] : undefined } satisfies Job);
    }
  };
  for (let k = 0; k < Math.max(1, Math.min(workers, sessions.length)); k++) {
    const w = new Worker(workerScript, { workerData: init });
    w.on('message', (m: SessionBatch) => {
      let q = queues.get(m.i);
      if (!q) queues.set(m.i, (q = []));
      q.push(m);
      if (m.i === nextToYield) notify();
    });
    w.on('error', (err) => {
      failure ??= err;
      notify();
    });
    w.on('exit', (code) => {
      if (nextToYield < sessions.length) failure ??= new Error(`a rebuild worker exited with code ${code}`);
      notify();
    });
    pool.push(w);
  }
  pump();
  try {
    while (nextToYield < sessions.length) {
      const q = queues.get(nextToYield);
      if (!q || q.length === 0) {
        if (failure !== null) throw failure;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const m = q.shift()!;
      if (m.error !== undefined) throw new Error(`${sessions[m.i].sessionId}: ${m.error}`);
      if (m.last) {
        queues.delete(nextToYield);
        nextToYield++;
        pump();
      }
      yield m;
      // The caller has run it: its buffers go back to the worker that filled them.
      if (m.batch !== null) pool[m.i % pool.length].postMessage({ recycle: m.batch }, batchTransfer(m.batch));
    }
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
