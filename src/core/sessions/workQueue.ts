/** Background work with bounded concurrency: jobs run in order, a few at a time; failures are dropped. */
export class WorkQueue<T> {
  private readonly queue: T[] = [];
  private running = 0;

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

  private pump(): void {
    while (this.running < this.concurrency() && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.running++;
      void this.run(job)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}
