/**
 * Worker for bench/core.ts (one measurement per process, see bench/fork.ts).
 *   {mode: 'audit', dir}     the core audits the folder the way the CLI does: discoverSessions,
 *                            then auditSessions one session at a time, sessionReport of each
 *                            (the reports are kept, as the CLI keeps them for its summary).
 *   {mode: 'parallel', dir}  the same on worker threads (what `bot-memory-audit audit` does by
 *                            default on a multi-core machine: --jobs = the cores, at most 4).
 *   {mode: 'baseline', dir}  the bare minimum: read each shard, split on "\n", JSON.parse each line.
 *   {mode: 'reader', dir}    the core's shard reader alone (ShardReader.refresh of every shard).
 *   {mode: 'refresh', dir}   the core's reading of every session (SessionJournal.refresh: shards +
 *                            sidecar), no analysis: the audit minus analysis and report.
 *                            With `heap`, the journals are kept and the live heap after a full
 *                            GC is returned (`heapBytes`: the JS heap plus array buffers, where compact
 *                            events keep their columns); with `plain`, events keep their parsed
 *                            object (not compact, core/compactEvent.ts), for the same-run ratio.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { auditSessions, sessionReport, type SessionReport } from '../src/core/audit';
import { discoverSessions } from '../src/core/discovery';
import { auditReportsParallel } from '../src/core/parallelAudit';
import { SessionJournal } from '../src/core/session';
import { ShardReader } from '../src/core/shardReader';
import { workerMain } from './fork';

interface CoreJob {
  mode: 'audit' | 'parallel' | 'baseline' | 'reader' | 'refresh';
  dir: string;
  heap?: boolean;
  plain?: boolean;
  /** The per-session read limit (SessionOptions.maxSessionBytes); default the core's. */
  maxSessionBytes?: number;
}

workerMain(async (job: CoreJob) => {
  const t = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const cpuMs = (): number => {
    const u = process.cpuUsage(cpu0);
    return (u.user + u.system) / 1000;
  };
  if (job.mode === 'audit') {
    const discovery = await discoverSessions(job.dir);
    const reports: SessionReport[] = [];
    let bytes = 0;
    let findings = 0;
    for await (const a of auditSessions(discovery, { now: 1763661600, maxSessionBytes: job.maxSessionBytes })) {
      for (const s of a.shards) bytes += s.size;
      const r = sessionReport(a);
      findings += r.findings.length;
      reports.push(r);
    }
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    return { ms, cpuMs: cpuMs(), bytes, sessions: reports.length, events: reports.reduce((n, r) => n + r.event_count, 0), findings };
  }
  if (job.mode === 'parallel') {
    const discovery = await discoverSessions(job.dir);
    const reports: SessionReport[] = [];
    const jobs = Math.max(1, Math.min(4, os.availableParallelism()));
    // The CLI bundle is the worker script (it serves audit jobs when started as a worker).
    const cli = path.resolve(__dirname, '../../dist/cli.js');
    for await (const r of auditReportsParallel(discovery, { now: 1763661600 }, jobs, cli)) reports.push(r);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    // Worker threads' CPU is included in process.cpuUsage().
    return {
      ms,
      cpuMs: cpuMs(),
      bytes: 0,
      sessions: reports.length,
      events: reports.reduce((n, r) => n + r.event_count, 0),
      findings: reports.reduce((n, r) => n + r.findings.length, 0),
    };
  }
  if (job.mode === 'reader' || job.mode === 'refresh') {
    const discovery = await discoverSessions(job.dir);
    let bytes = 0;
    let events = 0; // counted by the reader only: a refreshed journal exposes events through analyze()
    const kept: SessionJournal[] = [];
    for (const s of discovery.sessions) {
      if (job.mode === 'reader') {
        for (const f of s.shards) {
          const r = new ShardReader(f.path, f.name, { maxLineBytes: 16 * 1024 * 1024 });
          await r.refresh();
          bytes += r.contents.size;
          events += r.contents.events.length;
        }
      } else {
        const j = new SessionJournal(discovery.sessionsDir, s.sessionId, { compact: job.plain !== true, maxSessionBytes: job.maxSessionBytes });
        j.setShards(s.shards);
        const { shards } = await j.refresh();
        if (job.heap) kept.push(j);
        for (const r of shards.values()) bytes += r.bytesRead;
      }
    }
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    // Twice: array buffers left by a growth are freed only once the GC after their last use has finished.
    (globalThis as { gc?: () => void }).gc?.();
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    const heapBytes = mem.heapUsed + mem.arrayBuffers;
    return { ms, cpuMs: cpuMs(), bytes, events, heapBytes, sessions: kept.length };
  }
  const journal = path.join(job.dir, '_turn_journal');
  let bytes = 0;
  let events = 0;
  let bad = 0;
  for (const name of fs.readdirSync(journal)) {
    if (!name.endsWith('.jsonl')) continue;
    const buf = fs.readFileSync(path.join(journal, name));
    bytes += buf.length;
    for (const line of buf.toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        JSON.parse(line);
        events++;
      } catch {
        bad++;
      }
    }
  }
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  return { ms, cpuMs: cpuMs(), bytes, events, bad };
});
