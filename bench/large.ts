/**
 * Large sessions (issue #18: "largest session that audits", RSS bounded): one generated
 * session of 100 MB in a plain `npm run bench`; of 1 GB and of 4 GB with `--only large`
 * (`--large-mb 256,1024` to choose; `--quick`: 32 MB), each
 * audited in a fresh process (discover + audit + report, one thread, as `core`) beside the
 * baseline of the same run (read + split + JSON.parse of the same bytes, nothing kept).
 * Printed: time, peak RSS, and the audit's peak RSS per journal byte. An audit that dies
 * (out of memory) is printed as such, with the size: that is the result.
 * Then the timeline of the same session, opened cold in a fresh process (bench/timeline.worker.ts):
 * the host pipeline, the first render in the real webview bundle, the host's peak RSS.
 */
import * as fs from 'fs';
import * as path from 'path';
import { generateLargeSession } from '../test/support/fixtures';
import { runWorker, type WorkerAnswer } from './fork';
import { mb, table, type Bench, type BenchContext } from './harness';
import type { TimelineBenchRow } from './timeline';

interface AuditAnswer extends WorkerAnswer {
  ms: number;
  cpuMs: number;
  bytes: number;
  events: number;
  heapBytes?: number;
}

async function attempt(mode: 'audit' | 'baseline' | 'refresh', dir: string, extra: { heap?: boolean; plain?: boolean } = {}): Promise<AuditAnswer | string> {
  try {
    // The session is read whole, however large (the default per-session read limit would refuse its last shards).
    return await runWorker<AuditAnswer>('core', { mode, dir, maxSessionBytes: Number.MAX_SAFE_INTEGER, ...extra });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    return /heap out of memory|Allocation failed|SIGABRT|SIGKILL|code 134|signal/i.test(msg)
      ? `died (${msg.split('\n')[0].slice(0, 80)})`
      : `failed: ${msg.split('\n')[0].slice(0, 120)}`;
  }
}

/** The timeline row of a large session (bench/timeline.worker.ts), or why there is none. */
async function timelineOf(sessionsDir: string): Promise<(string | number)[]> {
  const bundle = path.resolve('dist/webview/timeline.js');
  const journal = path.join(sessionsDir, '_turn_journal');
  const shard = fs.readdirSync(journal).sort()[0];
  if (!fs.existsSync(bundle)) return ['no dist/webview/timeline.js (node esbuild.js)', '-', '-', '-', '-', '-', '-'];
  try {
    const job = { sessionsDir, openedShard: shard, sessionId: shard.replace(/~.*$|\.jsonl$/g, ''), bundle };
    const { row, maxRssBytes } = await runWorker<WorkerAnswer & { row: TimelineBenchRow }>('timeline', job);
    const cold = row.hostMs.analyze + row.hostMs.model + row.hostMs.serialize;
    const warm = row.hostMs.analyzeWarm + row.hostMs.model + row.hostMs.serialize;
    return [
      Math.round(cold),
      Math.round(row.hostCpuMs.cold),
      `${Math.round(warm)}${row.reused ? '' : ' (read again)'}`,
      Math.round(row.firstMessageBytes / 1024),
      row.firstRenderMs.toFixed(0),
      row.dom.top,
      mb(maxRssBytes),
    ];
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return [
      /heap out of memory|Allocation failed|SIGABRT|code 134|signal/i.test(msg) ? `died (${msg.slice(0, 80)})` : `failed: ${msg.slice(0, 120)}`,
      '-',
      '-',
      '-',
      '-',
      '-',
      '-',
    ];
  }
}

/** Issue #18's memory rows: peak RSS of one session's audit (≤ 300 MB), and whether the largest one audits. */
function reportTargets(ctx: BenchContext, sizeMb: number, bytes: number, audit: AuditAnswer | string, base: AuditAnswer | string): void {
  const baseRss = typeof base === 'string' ? `baseline ${base}` : `baseline read+split+parse ${mb(base.maxRssBytes)} MB`;
  const rss = typeof audit === 'string' ? audit : `${mb(audit.maxRssBytes)} MB = ${(audit.maxRssBytes / bytes).toFixed(2)}× the journal`;
  ctx.target?.({
    row: `peak RSS, one ${sizeMb} MB session (audit)`,
    measured: `${rss} (${baseRss})`,
    target: '≤ 300 MB',
    met: typeof audit !== 'string' && audit.maxRssBytes <= 300 * 1048576,
  });
  if (sizeMb >= 4096)
    ctx.target?.({
      row: 'largest session that audits',
      measured: typeof audit === 'string' ? `${sizeMb} MB: ${audit}` : `${sizeMb} MB audits, peak RSS ${mb(audit.maxRssBytes)} MB`,
      target: '4 GB+, RSS bounded as above',
      met: typeof audit !== 'string' && audit.maxRssBytes <= 300 * 1048576,
    });
}

export const largeBench: Bench = {
  name: 'large',
  async run(ctx) {
    // A plain `npm run bench` audits one 100 MB session (the memory row); `--only large` the 1 GB and 4 GB ones.
    const alone = ctx.args?.includes('--only') === true;
    const sizes = ctx.args?.includes('--large-mb')
      ? ctx.args[ctx.args.indexOf('--large-mb') + 1].split(',').map(Number)
      : ctx.quick
        ? [32]
        : alone
          ? [1024, 4096]
          : [100];
    const timelineRows: (string | number)[][] = [
      ['session', 'host cold ms', 'CPU ms', 'warm ms (a second open)', 'first message KB', 'first render ms', 'DOM elements (top)', 'host peak RSS MB'],
    ];
    const rows: (string | number)[][] = [
      ['session', 'events', 'baseline ms', 'CPU ms', 'baseline peak RSS MB', 'audit ms', 'CPU ms', 'audit peak RSS MB', 'audit RSS / journal bytes'],
    ];
    const readRows: (string | number)[][] = [
      ['session', 'compact: heap+arrays MB', 'peak RSS MB', 'plain: heap+arrays MB', 'peak RSS MB', 'compact / plain', 'bytes per event compact / plain'],
    ];
    for (const size of sizes) {
      const dir = path.join(ctx.tmp, `large-${size}`);
      const g = generateLargeSession(dir, { bytes: size * 1024 * 1024, shards: 4, seed: 13 });
      ctx.log(`session of ${mb(g.bytes)} MB, ${g.events.toLocaleString('en')} events (written in ${(g.elapsedMs / 1000).toFixed(1)} s)`);
      const base = await attempt('baseline', dir);
      const audit = await attempt('audit', dir);
      if (typeof audit !== 'string' && audit.events !== g.events) ctx.log(`the audit counted ${audit.events} events of ${g.events}: not the whole session`);
      // The session read and kept (no analysis), events compact (what SessionJournal keeps) and plain (parsed objects kept).
      const [compact, plain] = [await attempt('refresh', dir, { heap: true }), await attempt('refresh', dir, { heap: true, plain: true })];
      if (typeof compact !== 'string' && typeof plain !== 'string') {
        const perEvent = (r: AuditAnswer): number => Math.round(r.heapBytes! / g.events);
        readRows.push([
          `${mb(g.bytes)} MB`,
          mb(compact.heapBytes!),
          mb(compact.maxRssBytes),
          mb(plain.heapBytes!),
          mb(plain.maxRssBytes),
          (compact.heapBytes! / plain.heapBytes!).toFixed(2),
          `${perEvent(compact)} / ${perEvent(plain)}`,
        ]);
      } else {
        // One of them died: the other's numbers still stand.
        const side = (r: AuditAnswer | string): (string | number)[] => (typeof r === 'string' ? [r, '-'] : [mb(r.heapBytes!), mb(r.maxRssBytes)]);
        readRows.push([`${mb(g.bytes)} MB`, ...side(compact), ...side(plain), '-', '-']);
      }
      const cell = (r: AuditAnswer | string, k: 'ms' | 'cpu' | 'rss'): string | number =>
        typeof r === 'string' ? (k === 'ms' ? r : '-') : k === 'ms' ? Math.round(r.ms) : k === 'cpu' ? Math.round(r.cpuMs) : mb(r.maxRssBytes);
      rows.push([
        `${mb(g.bytes)} MB`,
        g.events,
        cell(base, 'ms'),
        cell(base, 'cpu'),
        cell(base, 'rss'),
        cell(audit, 'ms'),
        cell(audit, 'cpu'),
        cell(audit, 'rss'),
        typeof audit === 'string' ? '-' : (audit.maxRssBytes / g.bytes).toFixed(2),
      ]);
      reportTargets(ctx, size, g.bytes, audit, base);
      timelineRows.push([`${mb(g.bytes)} MB`, ...(await timelineOf(dir))]);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    ctx.log(table(rows));
    ctx.log('reading only (SessionJournal.refresh, journal kept, live heap + array buffers after a full GC):');
    ctx.log(table(readRows));
    ctx.log(
      'the timeline of the same session, opened cold in a fresh process (host: SessionIndex.analyze, TimelineIndex, first message; the real webview bundle in chromium):',
    );
    ctx.log(table(timelineRows));
    ctx.log(
      'target: a 4 GB session audits with peak RSS <= 300 MB (the 100 MB-session target); events are columnar (typed arrays), turns compute their steps, times and durations and read long user messages back (docs/performance.md).',
    );
  },
};
