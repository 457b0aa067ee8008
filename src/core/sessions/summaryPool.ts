/**
 * The host side of the summary workers (summaryWorker.ts): one or two `worker_threads` workers,
 * started lazily on the first batch, terminated after IDLE_MS without work and on dispose. A batch
 * goes to the worker with the fewest batches in flight (a new one is started while every running one
 * has a batch waiting and fewer than `size` run). A worker that cannot start, fails or exits breaks the pool for
 * good: every batch in flight is rejected and `run` rejects at once, so that the caller computes
 * summaries on its own thread (SessionIndex's in-thread path) and says why (`error`).
 */

import * as os from 'os';
import { Worker } from 'worker_threads';
import { SUMMARY_WORKER_DATA, type SummaryAnswer, type SummaryBatch, type SummaryRequest, type SummaryResult } from './summaryWorker';

/**
 * Summary workers the index starts at most when not told (`summaryWorkers`): one core is left to the extension host, so 2
 * where the machine has 3 cores or more, else 1 (docs/performance.md "Session 8: summaries": on 2 shared cores a second
 * worker cost ~30 % more CPU, lengthened the host's stalls and did not shorten the wall time). The second starts only for
 * a backlog (`pick`): a small folder costs one worker's start-up and JIT.
 */
export const DEFAULT_SUMMARY_WORKERS = Math.max(
  1,
  Math.min(2, (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length) - 1),
);

/** A pool without work for this long lets its workers go (a fresh worker costs its module load and JIT again). */
const IDLE_MS = 10_000;

interface Waiter {
  resolve: (r: SummaryResult[]) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, Waiter>;
  /** Set when we terminate it: its exit is not a failure. */
  leaving: boolean;
}

export class SummaryPool {
  private slots: Slot[] = [];
  private nextId = 1;
  private broken: string | null = null;
  private disposed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly script: string,
    private readonly size: number,
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Why the pool no longer serves (a worker could not start, failed or exited), or null. */
  get error(): string | null {
    return this.broken;
  }

  get usable(): boolean {
    return this.broken === null && !this.disposed;
  }

  /** Workers running now (for tests: started lazily, let go when idle). */
  get running(): number {
    return this.slots.length;
  }

  /** Summaries of a batch, in job order. Rejects when the pool is (or becomes) unusable. */
  run(batch: SummaryBatch): Promise<SummaryResult[]> {
    if (!this.usable) return Promise.reject(new Error(this.broken ?? 'the summary workers were disposed'));
    clearTimeout(this.idleTimer);
    let slot: Slot | undefined;
    try {
      slot = this.pick();
    } catch (err) {
      this.fail(err);
      return Promise.reject(new Error(this.broken ?? 'the summary workers failed'));
    }
    const id = this.nextId++;
    const s = slot;
    return new Promise<SummaryResult[]>((resolve, reject) => {
      s.inflight.set(id, { resolve, reject });
      s.worker.ref(); // a batch in flight keeps the process alive; an idle worker does not
      s.worker.postMessage({ id, batch } satisfies SummaryRequest);
    });
  }

  dispose(): void {
    this.disposed = true;
    this.stopAll(new Error('the summary workers were disposed'));
  }

  /**
   * The worker with the fewest batches in flight; a new one only when every running worker already has a batch waiting behind
   * the one it computes (a backlog: a folder of a batch or two is not worth a second worker's start-up and JIT).
   */
  private pick(): Slot {
    let best: Slot | undefined;
    for (const s of this.slots) if (!best || s.inflight.size < best.inflight.size) best = s;
    if (best && (best.inflight.size < 2 || this.slots.length >= this.size)) return best;
    return this.start();
  }

  private start(): Slot {
    const worker = new Worker(this.script, { workerData: SUMMARY_WORKER_DATA });
    const slot: Slot = { worker, inflight: new Map(), leaving: false };
    worker.on('message', (m: SummaryAnswer) => {
      const w = slot.inflight.get(m.id);
      slot.inflight.delete(m.id);
      if (slot.inflight.size === 0) slot.worker.unref();
      w?.resolve(m.results);
      this.maybeIdle();
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!slot.leaving) this.fail(new Error(`a summary worker exited (code ${code})`));
    });
    this.slots.push(slot);
    return slot;
  }

  private fail(err: unknown): void {
    if (this.broken !== null || this.disposed) return;
    this.broken = err instanceof Error ? err.message : String(err);
    this.stopAll(new Error(this.broken));
  }

  private maybeIdle(): void {
    if (this.slots.some((s) => s.inflight.size > 0)) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopAll(), this.idleMs);
    this.idleTimer.unref?.();
  }

  /** Terminates every worker; batches in flight are rejected with `reason` (none when idle). */
  private stopAll(reason?: Error): void {
    clearTimeout(this.idleTimer);
    const slots = this.slots;
    this.slots = [];
    for (const s of slots) {
      s.leaving = true;
      for (const w of s.inflight.values()) w.reject(reason ?? new Error('the summary worker was let go'));
      s.inflight.clear();
      void s.worker.terminate();
    }
  }
}
