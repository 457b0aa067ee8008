/**
 * Worker for bench/sessions.ts (one measurement per process, see bench/fork.ts).
 *   {mode: 'reread', dir}  one big session: full read + analysis, then one appended event:
 *                          shard re-read (bytes, ms) and re-analysis (ms), through
 *                          SessionJournal and through SessionIndex.analyze.
 *   {mode: 'view', dir}    many small sessions: what the Sessions tree needs, each beside
 *                          fs.statSync of the same files in the same process.
 *   {mode: 'cold', dir, workers}  the cold summaries of the same folder alone, on this thread (workers 0) or on
 *                          1-2 summary workers (dist/summaryWorker.js, as the extension), beside statSync of the
 *                          same files: wall, CPU of the process (every thread), how busy this thread was (event-loop
 *                          utilization) and the longest it did not answer (event-loop delay).
 */
import * as fs from 'fs';
import * as path from 'path';
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import { discoverSessions } from '../src/core/discovery';
import type { SessionAnalysis } from '../src/core/analyze';
import { SessionJournal } from '../src/core/session';
import { readSidecar, sidecarPath } from '../src/core/sidecar';
import { SessionIndex } from '../src/core/sessionIndex';
import { appendEventLine, buildJournalEvent, makeTurnId, Rng } from '../test/support/fixtures';
import { workerMain } from './fork';

const NOW = 1763661600;
const analyzeOptions = { now: NOW, staleAfterSeconds: 3600 };

function ms(t: bigint): number {
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** CPU time (user + system, ms) of this process, summed over every timed() call, by label. */
const cpu = new Map<string, number[]>();

async function timed<T>(fn: () => Promise<T> | T, label?: string): Promise<[number, T]> {
  const t = process.hrtime.bigint();
  const c = process.cpuUsage();
  const v = await fn();
  const d = process.cpuUsage(c);
  if (label) cpu.set(label, [...(cpu.get(label) ?? []), (d.user + d.system) / 1000]);
  return [ms(t), v];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Appends one upstream-shaped event (a new turn's `submitted`) to the shard, like another process
 * would: `after` seconds after `last` (the session's newest created_at), as a live bot writes.
 */
function appendOne(shard: string, sessionId: string, k: number, last: number): void {
  const rng = new Rng(1000 + k);
  const at = Math.max(NOW - 60, last) + 1 + k;
  const e = buildJournalEvent(
    sessionId,
    {
      event: 'submitted',
      stream_id: rng.hex(32),
      role: 'user',
      content: `appended question ${k}`,
      attachments: [],
      workspace: '/srv/bench',
      model: 'gpt-4.1-mini',
      model_provider: 'openai',
    },
    { turnId: makeTurnId(at, rng), createdAt: at },
  );
  appendEventLine(shard, e);
}

async function reread(dir: string, appends: number): Promise<Record<string, unknown>> {
  const d = await discoverSessions(dir);
  const s = d.sessions[0];
  const bytes = s.shards.reduce((n, f) => n + fs.statSync(f.path).size, 0);
  // As the extension keeps a journal it shows: re-analysed incrementally after appends.
  const j = new SessionJournal(d.sessionsDir, s.sessionId, { incremental: true });
  j.setShards(s.shards);
  const [fullReadMs] = await timed(() => j.refresh(), 'fullRead');
  const [fullAnalyzeMs, a0] = await timed(() => j.analyze(analyzeOptions), 'fullAnalyze');
  const events = a0.counts.events;
  const read: number[] = [];
  const analyze: number[] = [];
  let bytesRead = 0;
  let mode = '';
  let incremental = 0;
  let fallback: string | null = null;
  for (let k = 0; k < appends; k++) {
    appendOne(s.shards[k % s.shards.length].path, s.sessionId, k, a0.lastActivity ?? NOW);
    const [r, res] = await timed(() => j.refresh(), 'appendRead');
    const [an, a] = await timed(() => j.analyze(analyzeOptions), 'appendAnalyze');
    if (j.lastRun?.path === 'incremental') incremental++;
    else fallback = j.lastRun?.reason ?? 'not incremental';
    if (a.counts.events !== events + k + 1) throw new Error(`expected ${events + k + 1} events after the append, got ${a.counts.events}`);
    read.push(r);
    analyze.push(an);
    bytesRead = [...res.shards.values()].reduce((n, x) => n + x.bytesRead, 0);
    mode = [...res.shards.values()]
      .map((x) => x.mode)
      .filter((m) => m !== 'none')
      .join(',');
  }
  // The same through SessionIndex (what the extension calls): a cold analyze, then after an append.
  // Before the live turns below: they give the session a large sidecar and events later than these appends.
  const index = new SessionIndex({ now: () => NOW });
  await index.setRoots([{ sessionsDir: dir, source: 'other' }]);
  const rootId = index.roots()[0].id;
  const [indexColdMs] = await timed(() => index.analyze(rootId, s.sessionId));
  const indexAfter: number[] = [];
  for (let k = 0; k < appends; k++) {
    appendOne(s.shards[0].path, s.sessionId, 100 + k, a0.lastActivity ?? NOW);
    const [t] = await timed(() => index.analyze(rootId, s.sessionId), 'indexAfterAppend');
    indexAfter.push(t);
  }
  const live = await liveTurns(j, s.shards, s.sessionId, appends, a0);
  return {
    bytes,
    events,
    fullReadMs,
    fullAnalyzeMs,
    appendReadMs: median(read),
    appendAnalyzeMs: median(analyze),
    appendBytesRead: bytesRead,
    appendMode: mode,
    indexColdMs,
    indexAfterAppendMs: median(indexAfter),
    incremental,
    fallback,
    ...live,
    cpuMs: Object.fromEntries([...cpu].map(([k, v]) => [k, median(v)])),
  };
}

/**
 * A live turn as hermes-webui writes it: one appended event and the sidecar rewritten (temp +
 * rename) with one more message. The sidecar first gets a user message and a reply per turn
 * (then one full analysis: it changed from missing), then each step appends one event and the
 * event's user message: refresh (shards + the whole sidecar re-read) and re-analysis, medians.
 */
async function liveTurns(
  j: SessionJournal,
  shards: { path: string }[],
  sessionId: string,
  appends: number,
  a0: SessionAnalysis,
): Promise<Record<string, unknown>> {
  const messages: Record<string, unknown>[] = [];
  for (const t of a0.turns) {
    if (t.userMessage === null) continue;
    messages.push({ role: 'user', content: t.userMessage, timestamp: Math.floor(t.startedAt ?? NOW) });
    messages.push({ role: 'assistant', content: `an answer to ${t.turnId}`, timestamp: Math.floor(t.lastAt ?? NOW) });
  }
  const p = sidecarPath(path.dirname(path.dirname(shards[0].path)), sessionId);
  let saves = 0;
  // As hermes-webui's Session.save writes it: indent=2, metadata (updated_at, message_count: new at each save) before the messages.
  const save = (): number => {
    const meta = { session_id: sessionId, title: 'bench', model: 'gpt-4.1-mini', updated_at: NOW + saves++ / 4, active_stream_id: null };
    const text = JSON.stringify({ ...meta, message_count: messages.length, messages, tool_calls: [], anchor_activity_scenes: {} }, null, 2);
    fs.writeFileSync(p + '.tmp', text);
    fs.renameSync(p + '.tmp', p);
    return text.length;
  };
  save();
  await j.refresh();
  j.analyze(analyzeOptions);
  const read: number[] = [];
  const analyze: number[] = [];
  let incremental = 0;
  let fallback: string | null = null;
  let sidecarBytes = 0;
  let sidecarReused = 0;
  for (let k = 0; k < appends; k++) {
    appendOne(shards[k % shards.length].path, sessionId, 200 + k, (j.analyze(analyzeOptions).lastActivity ?? NOW) + 1);
    messages.push({ role: 'user', content: `appended question ${200 + k}`, timestamp: NOW });
    sidecarBytes = save();
    const [r] = await timed(() => j.refresh(), 'liveRead');
    if (j.lastSidecarParse === 'reuse') sidecarReused++;
    const [an] = await timed(() => j.analyze(analyzeOptions), 'liveAnalyze');
    if (j.lastRun?.path === 'incremental') incremental++;
    else fallback = j.lastRun?.reason ?? 'not incremental';
    read.push(r);
    analyze.push(an);
  }
  // For comparison, what each rewrite cost before core/sidecarReuse.ts: the same sidecar read and parsed whole.
  const whole: number[] = [];
  for (let k = 0; k < appends; k++) whole.push((await timed(() => readSidecar(path.dirname(p), sessionId), 'liveWholeSidecar'))[0]);
  return {
    liveWholeSidecarMs: median(whole),
    liveReadMs: median(read),
    liveAnalyzeMs: median(analyze),
    liveIncremental: incremental,
    liveFallback: fallback,
    liveMessages: messages.length,
    liveSidecarBytes: sidecarBytes,
    liveSidecarReused: sidecarReused,
  };
}

async function view(dir: string): Promise<Record<string, unknown>> {
  // The files the index looks at: every shard and every sidecar.
  const journal = path.join(dir, '_turn_journal');
  const files = [
    ...fs.readdirSync(journal).map((n) => path.join(journal, n)),
    ...fs
      .readdirSync(dir)
      .filter((n) => n.endsWith('.json') && n !== '_index.json')
      .map((n) => path.join(dir, n)),
  ];
  const statAll = (): number => {
    const t = process.hrtime.bigint();
    let size = 0;
    for (const f of files) size += fs.statSync(f).size;
    if (size === 0) throw new Error('no bytes');
    return ms(t);
  };
  const stat1 = statAll();
  // The floor of a cold summary: reading the same files whole (readFileSync), nothing parsed.
  const readAll = (): number => {
    const t = process.hrtime.bigint();
    let size = 0;
    for (const f of files) size += fs.readFileSync(f).length;
    if (size === 0) throw new Error('no bytes');
    return ms(t);
  };
  const read1 = readAll();
  // The floor under the safety rules (fsSafe): a stat before the open, then open + fstat + read + close of each file.
  const safeAll = (): number => {
    const t = process.hrtime.bigint();
    const buf = Buffer.allocUnsafe(1 << 16);
    let size = 0;
    for (const f of files) {
      if (!fs.statSync(f).isFile()) continue;
      const fd = fs.openSync(f, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        if (fs.fstatSync(fd).isFile()) size += fs.readSync(fd, buf, 0, buf.length, null);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (size === 0) throw new Error('no bytes');
    return ms(t);
  };
  const safe1 = safeAll();

  const index = new SessionIndex({ now: () => NOW });
  const [discoverMs, count] = await timed(async () => {
    await index.setRoots([{ sessionsDir: dir, source: 'other' }]);
    return index.sessions(index.roots()[0].id).length;
  });
  const rootId = index.roots()[0].id;
  const ids = index.sessions(rootId).map((s) => s.sessionId);
  const summarizeAll = async (ix: SessionIndex): Promise<number> => {
    // Bounded concurrency, as summarizeInBackground does (4 at a time).
    let next = 0;
    let done = 0;
    const lane = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++];
        if (await ix.summarize(rootId, id)) done++;
      }
    };
    await Promise.all([lane(), lane(), lane(), lane()]);
    return done;
  };
  // Cold: what the Sessions view does, the background queue (summarizeInBackground), every session.
  const cpu0 = process.cpuUsage();
  const [coldMs, cold] = await timed(async () => {
    index.summarizeInBackground(rootId);
    await index.whenBackgroundIdle();
    return ids.filter((id) => index.cachedSummary(rootId, id)).length;
  });
  const cpu1 = process.cpuUsage(cpu0);
  const coldCpuMs = (cpu1.user + cpu1.system) / 1000;
  // The same cold summaries again in this process (a new index, nothing cached; the code already JIT-compiled).
  const again = new SessionIndex({ now: () => NOW });
  await again.setRoots([{ sessionsDir: dir, source: 'other' }]);
  const cpu2 = process.cpuUsage();
  const [coldAgainMs] = await timed(async () => {
    again.summarizeInBackground(rootId);
    await again.whenBackgroundIdle();
  });
  const cpu3 = process.cpuUsage(cpu2);
  const coldAgainCpuMs = (cpu3.user + cpu3.system) / 1000;
  const cache = JSON.parse(JSON.stringify(index.exportCache())) as unknown;
  const cacheBytes = JSON.stringify(cache).length;

  const warm = new SessionIndex({ now: () => NOW });
  await warm.setRoots([{ sessionsDir: dir, source: 'other' }]);
  warm.importCache(cache);
  const [validateMs, stale] = await timed(() => warm.validateCached(rootId));
  const [warmMs, warmCount] = await timed(() => summarizeAll(warm));
  const one = ids[Math.floor(ids.length / 2)];
  const [analyzeOneMs, a] = await timed(() => warm.analyze(rootId, one));
  const stat2 = statAll();
  const read2 = readAll();
  const safe2 = safeAll();
  return {
    safeReadMs: Math.min(safe1, safe2),
    sessions: count,
    files: files.length,
    statMs: Math.min(stat1, stat2),
    readMs: Math.min(read1, read2),
    discoverMs,
    coldMs,
    coldCpuMs,
    coldAgainMs,
    coldAgainCpuMs,
    cold,
    cacheBytes,
    validateMs,
    stale: stale.length,
    warmMs,
    warmCount,
    analyzeOneMs,
    analyzeOneTurns: a?.turns.length ?? 0,
  };
}

/** The summary worker's bundle (esbuild builds it with the extension): out/bench → dist/. */
const SUMMARY_WORKER = path.join(__dirname, '..', '..', 'dist', 'summaryWorker.js');

/** The folder's shards and sidecars (what the index stats and reads). */
function viewFiles(dir: string): string[] {
  const journal = path.join(dir, '_turn_journal');
  const sidecars = fs.readdirSync(dir).filter((n) => n.endsWith('.json') && n !== '_index.json');
  return [...fs.readdirSync(journal).map((n) => path.join(journal, n)), ...sidecars.map((n) => path.join(dir, n))];
}

/**
 * CPU time (ms, user + system) of each thread of this process by thread id, from Linux's /proc (10 ms ticks; empty where
 * there is no /proc). The summary workers' threads are the ones a cold run starts.
 */
function threadCpuMs(): Map<string, number> {
  const out = new Map<string, number>();
  if (process.platform !== 'linux') return out;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // from field 3 (state): utime is field 14, stime 15
      out.set(tid, ((Number(f[11]) + Number(f[12])) * 1000) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

async function cold(dir: string, workers: number): Promise<Record<string, unknown>> {
  const files = viewFiles(dir);
  const statAll = (): number => {
    const t = process.hrtime.bigint();
    for (const f of files) fs.statSync(f);
    return ms(t);
  };
  const stat1 = statAll();
  const index = new SessionIndex({ now: () => NOW, ...(workers > 0 ? { summaryWorker: SUMMARY_WORKER, summaryWorkers: workers } : {}) });
  await index.setRoots([{ sessionsDir: dir, source: 'other' }]);
  const rootId = index.roots()[0].id;
  const threads0 = threadCpuMs();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  delay.enable();
  const [coldMs, count] = await timed(async () => {
    index.summarizeInBackground(rootId);
    await index.whenBackgroundIdle();
    return index.sessions(rootId).filter((s) => index.cachedSummary(rootId, s.sessionId)).length;
  });
  delay.disable();
  const cpu = process.cpuUsage(cpu0);
  const elu = performance.eventLoopUtilization(elu0);
  // Before dispose: the workers are idle but still running (let go after 10 s), their threads still listed.
  const workerThreadsCpuMs = [...threadCpuMs()]
    .filter(([tid]) => !threads0.has(tid))
    .map(([, ms]) => ms)
    .filter((ms) => ms > 0)
    .sort((a, b) => b - a)
    .slice(0, workers);
  const stat2 = statAll();
  const fromWorkers = index.summariesFromWorkers;
  const error = index.summaryWorkerError;
  index.dispose();
  if (error !== null) throw new Error(`the summary workers failed: ${error}`);
  return {
    workers,
    files: files.length,
    statMs: Math.min(stat1, stat2),
    coldMs,
    count,
    fromWorkers,
    cpuMs: (cpu.user + cpu.system) / 1000,
    hostActiveMs: elu.active,
    workerThreadsCpuMs,
    maxDelayMs: delay.max / 1e6,
    p99DelayMs: delay.percentile(99) / 1e6,
  };
}

workerMain(async (job: { mode: 'reread' | 'view' | 'cold'; dir: string; appends?: number; workers?: number }) => {
  if (job.mode === 'reread') return reread(job.dir, job.appends ?? 5);
  if (job.mode === 'cold') return cold(job.dir, job.workers ?? 0);
  return view(job.dir);
});
