/**
 * Sessions benchmarks (issue 3), each measurement in a fresh process (bench/sessions.worker.ts).
 *
 * Re-read after append: one ~100 MB session (quick: ~10 MB). Full read + analysis, then one
 * appended event: the shard re-read (bytes read, ms) and the re-analysis (derive + turns +
 * findings over all events), separately, as a share of the full read (target < 1%).
 *
 * Sessions view: 10,000 small sessions in one folder (quick: 1,000). The tree's first paint
 * (SessionIndex.setRoots + sessions(root): discovery only), summaries of all sessions cold
 * (empty cache) and warm (importCache of an exported cache, validateCached: stats only), and
 * analyze() of one session — each as a ratio to fs.statSync of the same files in the same run.
 */
import * as path from 'path';
import { generateLargeFolder, generateLargeSession } from '../test/support/fixtures';
import { runWorker, type WorkerAnswer } from './fork';
import { mb, table, type Bench } from './harness';
import { DEFAULT_SUMMARY_WORKERS } from '../src/core/sessions/summaryPool';

interface RereadAnswer extends WorkerAnswer {
  bytes: number;
  events: number;
  fullReadMs: number;
  fullAnalyzeMs: number;
  appendReadMs: number;
  appendAnalyzeMs: number;
  appendBytesRead: number;
  appendMode: string;
  indexColdMs: number;
  indexAfterAppendMs: number;
  /** Appends re-analysed incrementally (of `appends`). */
  incremental: number;
  /** Why an append was not (IncrementalAnalyzer's reason), if one was not. */
  fallback: string | null;
  /** One appended event plus the sidecar rewritten with one more message (worker: liveTurns). */
  liveReadMs: number;
  liveAnalyzeMs: number;
  liveIncremental: number;
  liveFallback: string | null;
  liveMessages: number;
  liveSidecarBytes: number;
  /** Rewrites whose sidecar re-read parsed only the new messages (core/sidecarReuse.ts), of 5. */
  liveSidecarReused: number;
  /** The same sidecar read and parsed whole (what each rewrite cost before), ms. */
  liveWholeSidecarMs: number;
  /** CPU time (user + system) of each phase, ms (medians for the appends). */
  cpuMs: Record<string, number>;
}

interface ViewAnswer extends WorkerAnswer {
  sessions: number;
  files: number;
  statMs: number;
  readMs: number;
  safeReadMs: number;
  discoverMs: number;
  coldMs: number;
  coldCpuMs: number;
  /** The same cold summaries again in the same process (code JIT-compiled), ms and CPU ms. */
  coldAgainMs: number;
  coldAgainCpuMs: number;
  cold: number;
  cacheBytes: number;
  validateMs: number;
  stale: number;
  warmMs: number;
  warmCount: number;
  analyzeOneMs: number;
  analyzeOneTurns: number;
}

interface ColdAnswer extends WorkerAnswer {
  workers: number;
  files: number;
  statMs: number;
  coldMs: number;
  count: number;
  fromWorkers: number;
  /** CPU of the process, every thread. */
  cpuMs: number;
  /** How long the main (extension host's) thread was busy, and the longest it did not answer (event-loop delay). */
  hostActiveMs: number;
  maxDelayMs: number;
  p99DelayMs: number;
  /** CPU of each summary worker's thread, busiest first (Linux; empty elsewhere): on idle cores the wall time cannot be shorter than the first. */
  workerThreadsCpuMs: number[];
}

const pct = (a: number, b: number): string => `${((100 * a) / b).toFixed(2)}%`;
const f1 = (x: number): string => x.toFixed(1);

export const sessionsBench: Bench = {
  name: 'sessions',
  async run(ctx) {
    // ── re-read after append ──
    const big = path.join(ctx.tmp, 'big');
    const g = generateLargeSession(big, { bytes: (ctx.quick ? 10 : 100) * 1024 * 1024, shards: 4, seed: 11 });
    ctx.log(`one session: ${g.shards} shards, ${g.events.toLocaleString('en')} events, ${mb(g.bytes)} MB`);
    const r = await runWorker<RereadAnswer>('sessions', { mode: 'reread', dir: big, appends: 5 });
    const full = r.fullReadMs + r.fullAnalyzeMs;
    const after = r.appendReadMs + r.appendAnalyzeMs;
    const c = r.cpuMs;
    const cpuFull = c.fullRead + c.fullAnalyze;
    const cpuAfter = c.appendRead + c.appendAnalyze;
    ctx.log(
      table([
        ['re-read after append (SessionJournal)', 'ms', 'share of full', 'CPU ms', 'CPU share'],
        ['full: read all shards', f1(r.fullReadMs), '', f1(c.fullRead), ''],
        ['full: analyze (derive + turns + findings)', f1(r.fullAnalyzeMs), '', f1(c.fullAnalyze), ''],
        ['full: total', f1(full), '100%', f1(cpuFull), '100%'],
        [
          `append: shard re-read (${r.appendBytesRead} bytes, mode ${r.appendMode})`,
          f1(r.appendReadMs),
          pct(r.appendReadMs, full),
          f1(c.appendRead),
          pct(c.appendRead, cpuFull),
        ],
        [
          `append: re-analysis (incremental ${r.incremental} of 5)`,
          f1(r.appendAnalyzeMs),
          pct(r.appendAnalyzeMs, full),
          f1(c.appendAnalyze),
          pct(c.appendAnalyze, cpuFull),
        ],
        ['append: total', f1(after), pct(after, full), f1(cpuAfter), pct(cpuAfter, cpuFull)],
        ['SessionIndex.analyze, cold', f1(r.indexColdMs), pct(r.indexColdMs, full), '', ''],
        [
          'SessionIndex.analyze, after an append',
          f1(r.indexAfterAppendMs),
          pct(r.indexAfterAppendMs, full),
          f1(c.indexAfterAppend),
          pct(c.indexAfterAppend, cpuFull),
        ],
      ]),
    );
    ctx.log(
      `re-reading after one appended event / a full read: ${pct(r.appendReadMs, r.fullReadMs)} (target < 1%; ${r.appendBytesRead} of ${r.bytes} bytes read); ` +
        `with the re-analysis: ${pct(after, full)} of a full read + analysis (CPU ${pct(cpuAfter, cpuFull)}); peak RSS ${mb(r.maxRssBytes)} MB`,
    );
    if (r.fallback) ctx.log(`an append was re-analysed in full: ${r.fallback}`);
    const live = r.liveReadMs + r.liveAnalyzeMs;
    ctx.log(
      table([
        [`append + sidecar rewrite (${r.liveMessages} messages, ${mb(r.liveSidecarBytes)} MB)`, 'ms', 'share of full', 'CPU ms', 'CPU share'],
        [
          `refresh: shard + sidecar re-read (new messages only: ${r.liveSidecarReused} of 5)`,
          f1(r.liveReadMs),
          pct(r.liveReadMs, full),
          f1(c.liveRead),
          pct(c.liveRead, cpuFull),
        ],
        [
          `re-analysis (incremental ${r.liveIncremental} of 5)`,
          f1(r.liveAnalyzeMs),
          pct(r.liveAnalyzeMs, full),
          f1(c.liveAnalyze),
          pct(c.liveAnalyze, cpuFull),
        ],
        ['total', f1(live), pct(live, full), f1(c.liveRead + c.liveAnalyze), pct(c.liveRead + c.liveAnalyze, cpuFull)],
        [
          'for comparison: the same sidecar read and parsed whole (each rewrite before)',
          f1(r.liveWholeSidecarMs),
          pct(r.liveWholeSidecarMs, full),
          f1(c.liveWholeSidecar),
          pct(c.liveWholeSidecar, cpuFull),
        ],
      ]),
    );
    if (r.liveFallback) ctx.log(`an append + sidecar rewrite was re-analysed in full: ${r.liveFallback}`);
    ctx.target?.({
      row: 're-analysis after one appended event, 100 MB session',
      measured: `${pct(after, full)} of a full read + analysis (CPU ${pct(cpuAfter, cpuFull)})${ctx.quick ? ', quick: 10 MB' : ''}`,
      target: '< 1 %',
      met: after < full / 100,
    });

    // ── sessions view ──
    const many = path.join(ctx.tmp, 'many');
    const n = ctx.quick ? 1000 : 10000;
    const m = generateLargeFolder(many, { sessions: n, eventsPerSession: 12, shardsPerSession: 2, contentChars: 80, seed: 12 });
    ctx.log(
      `\nfolder: ${n.toLocaleString('en')} sessions, ${m.shards.toLocaleString('en')} shards + ${n.toLocaleString('en')} sidecars, ${m.events.toLocaleString('en')} events, ${mb(m.bytes)} MB of journals`,
    );
    const v = await runWorker<ViewAnswer>('sessions', { mode: 'view', dir: many });
    if (v.cold !== n || v.warmCount !== n || v.stale !== 0)
      throw new Error(`view: ${v.cold} cold / ${v.warmCount} warm summaries, ${v.stale} stale, expected ${n} / ${n} / 0`);
    ctx.log(
      table([
        ['sessions view', 'ms', '× statSync of the files'],
        [`baseline: fs.statSync of ${v.files.toLocaleString('en')} files`, f1(v.statMs), '1.00'],
        ['first paint: setRoots + sessions(root) (discovery)', f1(v.discoverMs), (v.discoverMs / v.statMs).toFixed(2)],
        [`floor: fs.readFileSync of the same files`, f1(v.readMs), (v.readMs / v.statMs).toFixed(2)],
        ['floor under fsSafe: stat, open, fstat, read, close of each file', f1(v.safeReadMs), (v.safeReadMs / v.statMs).toFixed(2)],
        ['summaries of all, cold (summarizeInBackground: read + analyze every session)', f1(v.coldMs), (v.coldMs / v.statMs).toFixed(2)],
        [`the same again in this process (JIT warm; CPU ${f1(v.coldAgainCpuMs)} ms)`, f1(v.coldAgainMs), (v.coldAgainMs / v.statMs).toFixed(2)],
        ['warm: validateCached after importCache (stats only)', f1(v.validateMs), (v.validateMs / v.statMs).toFixed(2)],
        ['warm: summaries of all (cache hits)', f1(v.warmMs), (v.warmMs / v.statMs).toFixed(2)],
        [`analyze() of one session (${v.analyzeOneTurns} turns)`, f1(v.analyzeOneMs), (v.analyzeOneMs / v.statMs).toFixed(2)],
      ]),
    );
    ctx.log(
      `cold summaries: ${(v.coldMs / v.statMs).toFixed(1)}× statSync of the files (target ≤ 5×: ${v.coldMs <= 5 * v.statMs ? 'met' : 'missed'}), ` +
        `${(v.coldMs / v.readMs).toFixed(1)}× reading them whole (the floor: ${(v.readMs / v.statMs).toFixed(1)}× statSync); CPU of the cold summaries ${f1(v.coldCpuMs)} ms; ` +
        `the floor under fsSafe's rules (a stat before each open) ${(v.safeReadMs / v.statMs).toFixed(1)}× statSync`,
    );
    ctx.log(`exported summary cache: ${mb(v.cacheBytes)} MB of JSON; peak RSS ${mb(v.maxRssBytes)} MB`);
    await coldSummaries(ctx, many, n);
  },
};

/**
 * The cold summaries alone, each in a fresh process: on this thread, and on 1 and 2 summary workers (what the
 * extension does: SessionIndex's `summaryWorker`, DEFAULT_SUMMARY_WORKERS of them), each beside statSync of the same
 * files in its own process. The row is the extension's configuration, with this thread's number beside it.
 */
async function coldSummaries(ctx: Parameters<Bench['run']>[0], dir: string, n: number): Promise<void> {
  const runs: ColdAnswer[] = [];
  for (const workers of [0, 1, 2]) {
    const r = await runWorker<ColdAnswer>('sessions', { mode: 'cold', dir, workers });
    if (r.count !== n || r.fromWorkers !== (workers ? n : 0)) throw new Error(`cold (${workers} workers): ${r.count} summaries, ${r.fromWorkers} from workers`);
    runs.push(r);
  }
  const x = (r: ColdAnswer) => r.coldMs / r.statMs;
  const where = (r: ColdAnswer) => (r.workers === 0 ? 'on the host thread (in-thread path)' : `on ${r.workers} summary worker${r.workers > 1 ? 's' : ''}`);
  ctx.log(
    table([
      [
        'cold summaries, a fresh process each',
        'ms',
        '× statSync',
        'CPU ms (all threads)',
        'worker threads CPU ms',
        'host thread busy ms',
        'longest host stall ms (p99)',
        'peak RSS MB',
      ],
      ...runs.map((r) => [
        where(r),
        f1(r.coldMs),
        x(r).toFixed(2),
        f1(r.cpuMs),
        r.workerThreadsCpuMs.map(f1).join(' + ') || '-',
        f1(r.hostActiveMs),
        `${f1(r.maxDelayMs)} (${f1(r.p99DelayMs)})`,
        mb(r.maxRssBytes),
      ]),
    ]),
  );
  const ext = runs.find((r) => r.workers === DEFAULT_SUMMARY_WORKERS)!;
  const here = runs[0];
  ctx.target?.({
    row: `Sessions view, cold summaries of ${n.toLocaleString('en')} sessions`,
    measured:
      `${x(ext).toFixed(1)}× statSync ${where(ext)} (host thread busy ${f1(ext.hostActiveMs)} ms, CPU ${f1(ext.cpuMs)} ms); ` +
      `in-thread ${x(here).toFixed(1)}× (host busy ${f1(here.hostActiveMs)} ms, CPU ${f1(here.cpuMs)} ms)`,
    target: '≤ 5× statSync',
    met: ext.coldMs <= 5 * ext.statMs,
  });
}
