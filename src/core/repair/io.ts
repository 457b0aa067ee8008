/** Reading what a plan is built from, and the fingerprints apply and undo compare. */

import { createHash } from 'crypto';
import type * as fs from 'fs';
import * as path from 'path';
import { describeError, listNames, readFileSync, statOrNull } from '../fsSafe';
import { analyzeSession, type SessionAnalysis } from '../analyze';
import { analyzeOptions } from '../audit';
import { discoverSessions, type DiscoveredSession } from '../discovery';
import { JOURNAL_DIR_NAME, parseShardFileName } from '../sessionId';
import { DEFAULT_MAX_LINE_BYTES, ReadBudget, ShardReader } from '../shardReader';
import { loadRunSummaries } from '../runJournal';
import { parseSidecarObject, sidecarPath, type SidecarRead } from '../sidecar';
import type { Fingerprint, SidecarSnapshot } from './plan';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function snapshotSidecar(sessionsDir: string, sessionId: string): SidecarSnapshot & { bytes: Buffer | null } {
  const p = sidecarPath(sessionsDir, sessionId);
  let bytes: Buffer;
  let st: fs.Stats;
  try {
    // Open once (regular file only, never a FIFO or device, no symlink followed): stat and
    // read the same file even if it is replaced meanwhile.
    ({ data: bytes, stat: st } = readFileSync(p));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { path: p, text: null, bytes: null, fingerprint: null, read: { status: 'missing', path: p } };
    return { path: p, text: null, bytes: null, fingerprint: null, read: { status: 'invalid', path: p, error: describeError(e) } };
  }
  const fingerprint: Fingerprint = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256: sha256(bytes) };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { path: p, text: null, bytes, fingerprint, read: { status: 'invalid', path: p, error: 'invalid UTF-8' } };
  }
  let read: SidecarRead;
  try {
    const v = JSON.parse(text);
    read =
      typeof v === 'object' && v !== null && !Array.isArray(v)
        ? { status: 'ok', sidecar: parseSidecarObject(p, v, st.size, st.mtimeMs) }
        : { status: 'invalid', path: p, error: 'not a JSON object' };
  } catch (e) {
    read = { status: 'invalid', path: p, error: `not JSON: ${(e as Error).message}` };
  }
  return { path: p, text, bytes, fingerprint, read };
}

export function sameFingerprint(a: Fingerprint | null, b: Fingerprint | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.sha256 === b.sha256;
}

/** Shard name → size for every journal file of one session, as on disk now. */
export function journalSizes(sessionsDir: string, sessionId: string): Record<string, number> {
  const dir = path.join(sessionsDir, JOURNAL_DIR_NAME);
  const out: Record<string, number> = Object.create(null);
  let names: string[];
  try {
    names = listNames(dir);
  } catch {
    return out;
  }
  for (const name of names.sort()) {
    const p = parseShardFileName(name);
    if (!p.ok || p.sessionId !== sessionId) continue;
    const st = statOrNull(path.join(dir, name));
    if (st) out[name] = st.size; // else vanished
  }
  return out;
}

export interface LoadedSession {
  analysis: SessionAnalysis;
  sidecar: SidecarSnapshot & { bytes: Buffer | null };
  journal: Record<string, number>;
}

export interface LoadOptions {
  now: number;
  staleAfterMinutes: number;
  maxLineBytes?: number;
  /** Bytes of the session's shards read into memory at most (default DEFAULT_MAX_SESSION_BYTES). */
  maxSessionBytes?: number;
}

/** Reads one session: the sidecar first (its snapshot is what the analysis sees), then the shards. */
export async function loadSession(sessionsDir: string, s: DiscoveredSession, o: LoadOptions): Promise<LoadedSession> {
  const sidecar = snapshotSidecar(sessionsDir, s.sessionId);
  const contents = [];
  const budget = new ReadBudget(o.maxSessionBytes);
  for (const f of s.shards) {
    // keepRaw: a glued event is re-appended as its bytes were written (repair/plan.ts ownLineFromRaw).
    const r = new ShardReader(f.path, f.name, { maxLineBytes: o.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, keepRaw: true, budget });
    await r.refresh();
    contents.push(r.contents);
  }
  const runs = await loadRunSummaries(sessionsDir, s.sessionId);
  const analysis = analyzeSession(s.sessionId, contents, sidecar.read, analyzeOptions({ now: o.now, staleAfterMinutes: o.staleAfterMinutes }), { runs });
  const journal: Record<string, number> = Object.create(null);
  for (const c of contents) journal[c.name] = c.size;
  return { analysis, sidecar, journal };
}

export { discoverSessions };
