/**
 * Runs one measurement in a fresh Node process (a `bench/*.worker.ts` bundle next to this
 * one in out/bench/), so that its peak RSS (`peakRssMb`: Linux's VmHWM) is its own and
 * no JIT or heap state carries over between measurements.
 *
 * The worker gets its job as JSON in argv[2] and answers with one IPC message.
 * `BMA_BENCH_CPU_PROF=<dir>` runs every worker under `node --cpu-prof` (profiles land in <dir>).
 */
import { fork } from 'child_process';
import * as path from 'path';
import { peakRssMb } from './harness';

export interface WorkerAnswer {
  ok: boolean;
  error?: string;
  /** Peak RSS of the worker process, in bytes. */
  maxRssBytes: number;
  [key: string]: unknown;
}

export function runWorker<T extends WorkerAnswer>(worker: string, job: unknown): Promise<T> {
  const file = path.join(__dirname, `${worker}.worker.js`);
  const prof = process.env.BMA_BENCH_CPU_PROF;
  const execArgv = ['--expose-gc', ...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [])];
  return new Promise((resolve, reject) => {
    const child = fork(file, [JSON.stringify(job)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let answer: T | undefined;
    child.on('message', (m) => (answer = m as T));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (answer && answer.ok) resolve(answer);
      else reject(new Error(`${worker} worker failed (exit ${code}): ${answer?.error ?? 'no answer'}`));
    });
  });
}

/** Worker side: run `fn`, send its result with the peak RSS, exit. */
export function workerMain<Job>(fn: (job: Job) => Promise<Record<string, unknown>>): void {
  const job = JSON.parse(process.argv[2] ?? '{}') as Job;
  fn(job)
    .then((result) => {
      process.send!({ ok: true, ...result, maxRssBytes: peakRssMb() * 1048576 }, () => process.exit(0));
    })
    .catch((err: unknown) => {
      process.send!({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err), maxRssBytes: 0 }, () => process.exit(1));
    });
}
