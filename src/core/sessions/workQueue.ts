/**
 * How long jobs may follow one another without the event loop getting a turn. Jobs whose file reads are synchronous
 * finish in microtasks: without a break, a queue of them held the extension host's thread for ~0.5 s at a time
 * (until some await reached real I/O), measured as the longest event-loop delay in bench/sessions.ts.
 */
const SLICE_MS = 16;

/** Background work with bounded concurrency: jobs run in order, a few at a time; failures are dropped. */
export class WorkQueue<T> {
  private readonly queue: T[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];
  private sliceStart = performance.now();
  private yielding = false;

  constructor(
    private readonly run: (job: T) => Promise<unknown>,
    private readonly concurrency: () => number,
  ) {}

  push(jobs: Iterable<T>): void {
    for (const j of jobs) this.queue.push(j);
    this.pump();
  }

  clear(): void {
    this.queue.length = 0;
  }

  /** Resolves when no job is queued or running. */
  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (this.yielding) return;
    if (performance.now() - this.sliceStart > SLICE_MS) {
      // Let timers, I/O callbacks and messages run before the next jobs start.
      this.yielding = true;
      setImmediate(() => {
        this.yielding = false;
        this.sliceStart = performance.now();
        this.pump();
        this.settle(); // cleared meanwhile
      });
      return;
    }
    while (this.running < this.concurrency() && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.run(job)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
          this.settle();
        });
    }
  }

  private settle(): void {
    if (this.running === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }
}
