/**
 * Tiny benchmark harness: every measurement is printed beside a baseline measured in the
 * same run, as a ratio, so results compare across machines. No pass/fail here: benchmarks
 * report; tests assert.
 */
import { peakRssBytes } from '../src/core/peakRss';

export interface BenchContext {
  /** A scratch folder for this run (removed afterwards). */
  tmp: string;
  /** Smaller sizes for a quick look (`npm run bench -- --quick`). */
  quick: boolean;
  /** The command line after `npm run bench --` (bench-specific options such as `--large-mb 256,1024`). */
  args?: string[];
  log(line: string): void;
  /**
   * One row of issue #18's table: what was measured (with its baseline from this run) against
   * its target. `npm run bench` prints every row reported in one table at the end.
   */
  target?(row: TargetRow): void;
}

export interface TargetRow {
  /** The row's name, as in issue #18's table. */
  row: string;
  /** The measurement as a ratio or share, with its baseline named (e.g. "0.62 × read+split+parse"). */
  measured: string;
  /** The target, as written in the issue (e.g. "≥ 0.9"). */
  target: string;
  met: boolean;
}

export interface Bench {
  name: string;
  run(ctx: BenchContext): Promise<void>;
}

export async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

/** Best of n runs (minimum wall time), the usual way to damp noise on a shared machine. */
export async function best<T>(n: number, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  let out: { ms: number; value: T } | undefined;
  for (let i = 0; i < n; i++) {
    const r = await time(fn);
    if (!out || r.ms < out.ms) out = r;
  }
  return out!;
}

/** Peak resident set size of this process so far, in MB: its own (Linux VmHWM; see src/core/peakRss.ts). */
export function peakRssMb(): number {
  return peakRssBytes() / 1048576;
}

export function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export function ratio(a: number, b: number): string {
  return b === 0 ? 'n/a' : (a / b).toFixed(2);
}

export function table(rows: (string | number)[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]) : String(c).padEnd(widths[i]))).join('  ')).join('\n');
}
