/**
 * Reading one session for the index: its shards (with the fingerprints an incremental
 * rebuild compares), its sidecar, and the analysis (the same core as `audit`). Runs on the
 * main thread or in a rebuild worker (parallelRows.ts).
 */

import * as crypto from 'crypto';
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import { analyzeSession, type SessionAnalysis } from '../analyze';
import type { DiscoveredSession } from '../discovery';
import { ShardReader } from '../shardReader';
import { readSidecar, sidecarPath } from '../sidecar';
import type { ShardRow } from './writer';

export interface Stamp {
  ino: bigint;
  dev: bigint;
  size: number;
  mtimeMs: number;
}

/** As `statStamp`, synchronously (a stat is quicker than a thread-pool round trip). */
export function statStampSync(p: string): string {
  try {
    const st = fs.statSync(p, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export async function statStamp(p: string): Promise<string> {
  try {
    const st = await fsp.stat(p, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** `ino:dev:size:mtimeMs:sha1(last ≤4 KiB before the committed offset)`. */
export async function shardFingerprint(file: string, committed: number, fallback: Stamp | undefined): Promise<string> {
  let st: Stamp | undefined = fallback;
  try {
    const s = await fsp.stat(file, { bigint: true });
    st = { ino: s.ino, dev: s.dev, size: Number(s.size), mtimeMs: Number(s.mtimeMs) };
  } catch {
    // unreadable shard
  }
  if (!st) return 'missing';
  return `${st.ino}:${st.dev}:${st.size}:${st.mtimeMs}:${await prefixHash(file, committed)}`;
}

export async function prefixHash(file: string, committed: number): Promise<string> {
  const n = Math.min(4096, committed);
  if (n === 0) return 'empty';
  let fh;
  try {
    fh = await fsp.open(file, 'r');
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, committed - n);
    return crypto.createHash('sha1').update(buf.subarray(0, bytesRead)).digest('hex');
  } catch {
    return 'unreadable';
  } finally {
    await fh?.close();
  }
}

export interface SessionRead {
  analysis: SessionAnalysis;
  shards: ShardRow[];
  sidecarFingerprint: string;
}

export async function readSession(
  sessionsDir: string,
  s: DiscoveredSession,
  maxLineBytes: number,
  opts: { now: number; staleAfterSeconds: number },
): Promise<SessionRead> {
  const readers = s.shards.map((f) => new ShardReader(f.path, f.name, { maxLineBytes, keepRaw: true }));
  for (const r of readers) await r.refresh();
  const sidecarRead = await readSidecar(sessionsDir, s.sessionId);
  const sidecarFingerprint = await statStamp(sidecarPath(sessionsDir, s.sessionId));
  const analysis = analyzeSession(s.sessionId, readers.map((r) => r.contents), sidecarRead, opts);
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
      fingerprint: c.error !== undefined ? 'unreadable' : await shardFingerprint(c.path, committed, undefined),
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
  return { analysis, shards, sidecarFingerprint };
}

