/** Background work with bounded concurrency: jobs run in order, a few at a time; failures are dropped. */
export class WorkQueue<T> {
  private readonly queue: T[] = [];
  private running = 0;
  private idleWaiters: (() => void)[] = [];

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
    while (this.running < this.concurrency() && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.run(job)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
          if (this.running === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
        });
    }
  }
}
