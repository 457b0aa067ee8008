/**
 * Reading one session for the index: its shards (with the fingerprints an incremental
 * rebuild compares), its sidecar, and the analysis (the same core as `audit`). Runs on the
 * main thread or in a rebuild worker (parallelRows.ts).
 */

import * as crypto from 'crypto';
import * as fs from 'fs';
import { openReadSync } from '../fsSafe';
import { analyzeSession, type SessionAnalysis } from '../analyze';
import type { DiscoveredSession } from '../discovery';
import { loadRunSummaries, runJournalStamp } from '../runJournal';
import { ReadBudget, ShardReader } from '../shardReader';
import { readSidecar, sidecarPath } from '../sidecar';
import type { SidecarReuse } from '../sidecarReuse';
import { attachUpstreamView, upstreamView } from '../upstreamView';
import { keptBytes, type ElementBytes } from './sidecarState';
import type { ShardRow } from './writer';

export interface Stamp {
  ino: bigint;
  dev: bigint;
  size: number;
  mtimeMs: number;
}

/** `ino:size:mtimeMs` of a file, or 'missing' (a sidecar's or feedback file's stamp). */
export function statStampSync(p: string): string {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/**
 * `ino:dev:size:mtimeMs:sha1(last ≤4 KiB before the committed offset)`. Synchronous, like
 * the other per-shard stats and reads here: a stat or a 4 KiB read from the page cache
 * costs microseconds, a thread-pool round trip more (measured: ~0.25 s per 3,000 shards).
 */
export function shardFingerprint(file: string, committed: number, sizeRead?: number, known?: KnownBytes): string {
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(file, { bigint: true });
  } catch {
    return 'missing';
  }
  // A shard that grew between its read (`sizeRead` bytes, to its end then) and this stat keeps the
  // size read: the next rebuild then sees it grown and reads the rest. With the stat's size it
  // would take the shard for unchanged and never read the lines appended meanwhile.
  const size = sizeRead !== undefined && BigInt(sizeRead) !== st.size ? sizeRead : st.size;
  return `${st.ino}:${st.dev}:${size}:${st.mtimeMs}:${prefixHash(file, committed, known)}`;
}

/** Bytes of a shard read by the planner (`start`: their offset in the shard), so that a prefix hash inside them needs no read. */
export interface KnownBytes {
  start: number;
  bytes: Buffer;
}

export function prefixHash(file: string, committed: number, known?: KnownBytes): string {
  const n = Math.min(4096, committed);
  if (n === 0) return 'empty';
  if (known && committed - n >= known.start && committed <= known.start + known.bytes.length) {
    return crypto
      .createHash('sha1')
      .update(known.bytes.subarray(committed - n - known.start, committed - known.start))
      .digest('hex');
  }
  let fd: number | null = null;
  try {
    fd = openReadSync(file, { followSymlink: true }).fd; // never a FIFO or device
    const buf = Buffer.alloc(n);
    const bytesRead = fs.readSync(fd, buf, 0, n, committed - n);
    return crypto.createHash('sha1').update(buf.subarray(0, bytesRead)).digest('hex');
  } catch {
    return 'unreadable';
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/**
 * The planner's check of a grown shard: `prefixHash(file, committed)`, read together with up to
 * `extra` bytes after `committed` (not past `size`, the planner's stat), kept so that the tail
 * path's new fingerprint (the 4 KiB before the new committed offset) is hashed without reading
 * the shard again. `known` is null when nothing was read.
 */
export function prefixRead(file: string, committed: number, size: number, extra: number): { hash: string; known: KnownBytes | null } {
  const n = Math.min(4096, committed);
  const end = Math.max(committed, Math.min(size, committed + extra));
  if (end === 0) return { hash: 'empty', known: null };
  let fd: number | null = null;
  try {
    fd = openReadSync(file, { followSymlink: true }).fd; // never a FIFO or device
    const buf = Buffer.alloc(end - (committed - n));
    const bytesRead = fs.readSync(fd, buf, 0, buf.length, committed - n);
    const hash =
      n === 0
        ? 'empty'
        : crypto
            .createHash('sha1')
            .update(buf.subarray(0, Math.min(n, bytesRead)))
            .digest('hex');
    return { hash, known: { start: committed - n, bytes: buf.subarray(0, bytesRead) } };
  } catch {
    return { hash: n === 0 ? 'empty' : 'unreadable', known: null };
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

export interface SessionRead {
  analysis: SessionAnalysis;
  shards: ShardRow[];
  /** The sidecar's and the run journals' stamps, taken before they were read (a change while reading shows next time). */
  stamps: SessionStamps;
}

export interface SessionStamps {
  sidecar: string;
  runs: string;
  /** The sidecar's message array's element bytes as read (sidecarState.ts; null: another layout, or none). */
  sidecarBytes: ElementBytes | null;
}

/**
 * Where a session's read goes (ms of `traceClock`, summed over sessions): the rebuild's
 * `--trace` split. Only the analysis is timed: reading waits for the thread pool, and upstream's
 * view may wait for a line re-read, while other sessions are read and parsed — their share is the
 * thread's CPU time less the timed parts.
 */
export interface ReadTiming {
  analysis: number;
}

/** This thread's CPU time (ms) where the runtime tells it (`process.threadCpuUsage`, Node ≥ 23.9), else undefined. */
export function threadCpuMs(): number | undefined {
  const f = (process as unknown as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof f !== 'function') return undefined;
  const u = f.call(process);
  return (u.user + u.system) / 1000;
}

/** The `--trace` clock: this thread's CPU time where the runtime has it (firm on a loaded machine), else wall time. */
export function traceClock(): number {
  return threadCpuMs() ?? performance.now();
}

export async function readSession(
  sessionsDir: string,
  s: DiscoveredSession,
  maxLineBytes: number,
  opts: { now: number; staleAfterSeconds: number },
  timing?: ReadTiming,
): Promise<SessionRead> {
  const budget = new ReadBudget(); // one session's shards together (DEFAULT_MAX_SESSION_BYTES)
  const readers = s.shards.map((f) => new ShardReader(f.path, f.name, { maxLineBytes, keepRaw: true, budget }));
  for (const r of readers) await r.refresh();
  const sidecarStamp = statStampSync(sidecarPath(sessionsDir, s.sessionId));
  const runStamp = runJournalStamp(sessionsDir, s.sessionId).fingerprint;
  // Read split (any size): the digest of its messages' bytes is what the tail path checks a rewrite against.
  const reuse: SidecarReuse = { kept: null, last: null, minBytes: 0 };
  const sidecarRead = await readSidecar(sessionsDir, s.sessionId, reuse);
  const stamps: SessionStamps = { sidecar: sidecarStamp, runs: runStamp, sidecarBytes: sidecarRead.status === 'ok' ? keptBytes(reuse) : null };
  // Run journals too (`_run_journal/<sid>/`), as `audit` reads them: their findings belong in the index.
  const runs = await loadRunSummaries(sessionsDir, s.sessionId);
  const t1 = timing ? traceClock() : 0;
  const analysis = analyzeSession(
    s.sessionId,
    readers.map((r) => r.contents),
    sidecarRead,
    opts,
    { runs },
  );
  // The audit's findings include what hermes-webui's own reader reports (upstream_pending_turn): the index holds the same.
  const t2 = timing ? traceClock() : 0;
  const paths = new Map(s.shards.map((f) => [f.name, f.path]));
  attachUpstreamView(analysis, await upstreamView(analysis, (name) => paths.get(name)));
  if (timing) timing.analysis += t2 - t1;
  const shards: ShardRow[] = [];
  for (let i = 0; i < readers.length; i++) {
    const r = readers[i];
    const c = r.contents;
    const sum = analysis.shards.find((x) => x.name === c.name)!;
    const committed = r.committedOffset;
    shards.push({
      name: c.name,
      sessionId: s.sessionId,
      size: c.size,
      mtimeMs: c.mtimeMs,
      fingerprint: c.error !== undefined ? 'unreadable' : shardFingerprint(c.path, committed, c.size),
      committedSize: committed,
      lines: sum.lines,
      events: sum.events,
      malformed: sum.malformed,
      tornTail: sum.tornTail,
      hasBom: sum.hasBom,
      crlfLines: sum.crlfLines,
      error: c.error ?? null,
    });
  }
  return { analysis, shards, stamps };
}
