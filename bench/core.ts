/**
 * Core audit throughput and memory.
 *
 * A folder of >= 1,000 sessions / >= 1,000,000 events / >= 200 MB (quick: ~20 MB) is written
 * with the fixture generator. Then, each in a fresh process (bench/core.worker.ts):
 *   - core:     discoverSessions + auditSessions + sessionReport, one session at a time, as the CLI;
 *   - baseline: read each shard, split on "\n", JSON.parse each line, nothing else;
 *   - and, to show where the audit's time goes, the core's shard reader alone and
 *     SessionJournal.refresh (shards + sidecars) without analysis.
 * Printed: MB/s of both, core/baseline throughput (target ≥ 0.9 on 2 workers), peak RSS of each, and the
 * core's peak RSS beside the largest session and the folder total (target: bounded by the
 * largest session, not the total). A second folder with a quarter of the sessions shows
 * whether peak RSS grows with the folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateLargeFolder } from '../test/support/fixtures';
import { spawnSync } from 'child_process';
import { runWorker, type WorkerAnswer } from './fork';
import { mb, table, type Bench } from './harness';

interface AuditAnswer extends WorkerAnswer {
  ms: number;
  cpuMs: number;
  bytes: number;
  events: number;
}

/** Journal bytes of each session (all its shards), from the file names. */
function sessionSizes(dir: string): number[] {
  const journal = path.join(dir, '_turn_journal');
  const by = new Map<string, number>();
  for (const name of fs.readdirSync(journal)) {
    const sid = name.replace(/\.jsonl$/, '').split('~')[0];
    by.set(sid, (by.get(sid) ?? 0) + fs.statSync(path.join(journal, name)).size);
  }
  return [...by.values()];
}

async function bestOf(runs: number, mode: 'audit' | 'parallel' | 'baseline' | 'reader' | 'refresh', dir: string): Promise<AuditAnswer & { rssMax: number }> {
  let best: AuditAnswer | undefined;
  let rssMax = 0;
  for (let i = 0; i < runs; i++) {
    const r = await runWorker<AuditAnswer>('core', { mode, dir });
    rssMax = Math.max(rssMax, r.maxRssBytes);
    if (!best || r.ms < best.ms) best = r;
  }
  return { ...best!, rssMax };
}

export const coreBench: Bench = {
  name: 'core',
  async run(ctx) {
    const sessions = ctx.quick ? 200 : 1000;
    const eventsPerSession = ctx.quick ? 400 : 1000;
    const runs = ctx.quick ? 2 : 3;
    const dir = path.join(ctx.tmp, 'folder');
    const g = generateLargeFolder(dir, { sessions, eventsPerSession, shardsPerSession: 3, seed: 7 });
    ctx.log(
      `folder: ${g.sessionIds.length} sessions, ${g.shards} shards, ${g.events.toLocaleString('en')} events, ${mb(g.bytes)} MB (written in ${(g.elapsedMs / 1000).toFixed(1)} s)`,
    );
    const sizes = sessionSizes(dir);
    const largest = Math.max(...sizes);
    const total = sizes.reduce((a, b) => a + b, 0);

    // Alternate, so both see the same page cache and machine load.
    const base = await bestOf(runs, 'baseline', dir);
    const core = await bestOf(runs, 'audit', dir);
    if (core.events !== g.events) throw new Error(`core read ${core.events} events, expected ${g.events}`);
    const parallel = await bestOf(runs, 'parallel', dir);
    if (parallel.events !== g.events) throw new Error(`parallel audit read ${parallel.events} events, expected ${g.events}`);
    // The upstream-semantics Python reader (Python's json + the FORMATS §1 reading steps:
    // splitlines, json.loads, sort by created_at, latest event per turn, collisions), the
    // reference the differential tests use; its JSON report goes to a file.
    const python = pythonReader(dir, runs, ctx.tmp);
    // Where the audit's time goes: the shard reader alone, then shards + sidecars.
    const reader = await bestOf(runs, 'reader', dir);
    const refresh = await bestOf(runs, 'refresh', dir);
    // Throughput in journal bytes per second (sidecars are read too, but not counted).
    const mbps = (r: AuditAnswer): number => g.bytes / 1024 / 1024 / (r.ms / 1000);
    const row = (label: string, r: AuditAnswer & { rssMax: number }) => [
      label,
      Math.round(r.ms),
      Math.round(r.cpuMs),
      mbps(r).toFixed(1),
      (mbps(r) / mbps(base)).toFixed(2),
      mb(r.rssMax),
    ];
    ctx.log(
      table([
        ['measurement (each in a fresh process)', 'best ms', 'cpu ms', 'journal MB/s', 'vs baseline', 'peak RSS MB'],
        row('baseline: read + split + JSON.parse', base),
        row('core: ShardReader of every shard only', reader),
        row('core: SessionJournal.refresh (shards + sidecar)', refresh),
        row('core: discover + audit + report, one thread', core),
        row(`core: the same on ${Math.min(4, os.availableParallelism())} worker threads (the CLI's default)`, parallel),
      ]),
    );
    if (python)
      ctx.log(
        `upstream-semantics Python reader (test/support/upstream_reader.py, python3 json; best of ${runs}): ${Math.round(python.ms)} ms, ${(g.bytes / 1048576 / (python.ms / 1000)).toFixed(1)} MB/s, peak RSS ${python.rssMb.toFixed(0)} MB; audit is ${(python.ms / parallel.ms).toFixed(2)}× faster with the CLI's workers, ${(python.ms / core.ms).toFixed(2)}× on one thread (target ≥ 3×)`,
      );
    else ctx.log('upstream-semantics Python reader: python3 not found, row skipped');
    if (python) {
      const faster = python.ms / parallel.ms;
      ctx.target?.({
        row: 'audit vs the upstream-semantics Python reader',
        measured: `${faster.toFixed(2)}× faster (${Math.round(parallel.ms)} vs ${Math.round(python.ms)} ms; one thread ${(python.ms / core.ms).toFixed(2)}×)`,
        target: '≥ 3×',
        met: faster >= 3,
      });
    }
    const share = mbps(parallel) / mbps(base);
    ctx.target?.({
      row: 'audit vs bare read+split+JSON.parse',
      measured: `${share.toFixed(2)} of its throughput on ${Math.min(4, os.availableParallelism())} workers (one thread ${(mbps(core) / mbps(base)).toFixed(2)})`,
      target: '≥ 0.9 on 2 workers',
      met: share >= 0.9,
    });
    ctx.log(
      `core audit / baseline throughput: ${(mbps(parallel) / mbps(base)).toFixed(2)} with the CLI's worker threads, ${(mbps(core) / mbps(base)).toFixed(2)} on one thread (target ≥ 0.9 on 2 workers); ${parallel.events.toLocaleString('en')} events at ${Math.round(parallel.events / (parallel.ms / 1000)).toLocaleString('en')} events/s`,
    );

    // Memory: a quarter of the sessions, same session size.
    const small = path.join(ctx.tmp, 'quarter');
    generateLargeFolder(small, { sessions: Math.ceil(sessions / 4), eventsPerSession, shardsPerSession: 3, seed: 8 });
    const quarter = await bestOf(1, 'audit', small);
    ctx.log(
      table([
        ['memory', 'MB'],
        ['largest session (journal bytes)', mb(largest)],
        ['folder total (journal bytes)', mb(total)],
        ['core peak RSS, whole folder', mb(core.rssMax)],
        [`core peak RSS, folder of ${Math.ceil(sessions / 4)} sessions`, mb(quarter.rssMax)],
        ['baseline peak RSS, whole folder', mb(base.rssMax)],
      ]),
    );
    ctx.log(
      `core peak RSS / folder total: ${(core.rssMax / total).toFixed(2)}; whole folder / quarter folder: ${(core.rssMax / quarter.rssMax).toFixed(2)} (1.0 = independent of the folder size)`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(small, { recursive: true, force: true });
  },
};

/** Best wall time of `runs` runs of the Python reference reader over `dir` (null without python3). */
function pythonReader(dir: string, runs: number, tmp: string): { ms: number; rssMb: number } | null {
  const script = path.resolve(__dirname, '../../test/support/upstream_reader.py');
  const out = path.join(tmp, 'python-report.json');
  // Runs the reader and prints its peak RSS on stderr (/usr/bin/time is not everywhere).
  const wrap = path.join(tmp, 'rss_wrap.py');
  fs.writeFileSync(
    wrap,
    [
      'import resource, runpy, sys',
      'sys.argv = sys.argv[1:]',
      'try:',
      "    runpy.run_path(sys.argv[0], run_name='__main__')",
      'except SystemExit:',
      '    pass',
      "sys.stderr.write('maxrss %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
    ].join('\n') + '\n',
  );
  let best: { ms: number; rssMb: number } | null = null;
  for (let i = 0; i < runs; i++) {
    const fd = fs.openSync(out, 'w');
    const t = process.hrtime.bigint();
    const r = spawnSync('python3', [wrap, script, dir], { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    fs.closeSync(fd);
    if (r.error) return null;
    if (r.status !== 0) throw new Error(`upstream_reader.py failed: ${r.stderr}`);
    const rss = /maxrss (\d+)/.exec(r.stderr);
    const run = { ms, rssMb: rss ? Number(rss[1]) / 1024 : NaN };
    if (!best || run.ms < best.ms) best = run;
  }
  fs.rmSync(out, { force: true });
  return best;
}
