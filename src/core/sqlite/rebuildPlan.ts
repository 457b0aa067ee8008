/**
 * Planning a rebuild: stat every shard, and decide from the existing index whether an
 * incremental rebuild is possible (every shard it read still there, same inode, only grown,
 * the bytes it read unchanged) and which sessions it must redo. docs/sqlite.md, "Incremental rebuilds".
 */

import * as fs from 'fs';
import * as path from 'path';
import type { DiscoveredSession, Discovery } from '../discovery';
import { sidecarPath } from '../sidecar';
import type { Db } from './engine';
import { RUN_JOURNAL_DIR_NAME, runJournalStamp } from '../runJournal';
import { prefixRead, statStampSync, type KnownBytes, type Stamp } from './readSession';
import { SCHEMA_VERSION } from './schema';

export interface PrevShard {
  sessionId: string;
  fingerprint: string;
  committed: number;
  /** Lines read (a torn final line included). */
  lines: number;
  tornTail: boolean;
  /** A grown shard's bytes around the committed offset, read by the planner's check (for the tail path's new fingerprint). */
  known?: KnownBytes;
}

/** Bytes read after a grown shard's committed offset by the planner's check and kept (at most, per shard and in all). */
const KEEP_AFTER = 16 << 10;
const KEEP_TOTAL = 32 << 20;

export interface Plan {
  mode: 'full' | 'incremental';
  reason: string | null;
  /** Sessions to (re)do; for full: all. */
  redo: Set<string>;
  prevShards: Map<string, PrevShard>;
  prevFeedback: Record<string, string>;
  /**
   * Incremental: the sessions of `redo` that may be done from their shards' appended tails
   * alone (tailAppend.ts), with their run ids (`_run_journal/<sid>/<run id>.jsonl`) and the stamp
   * of their sidecar (this stat is the tail path's: taken before it reads the file).
   */
  tail: Map<string, TailCandidate>;
}

export interface TailCandidate {
  runIds: Set<string>;
  sidecarStamp: string;
}

/** Every shard's (inode, device, size, mtime), synchronously (a stat is quicker than a thread-pool round trip). */
export function statAll(d: Discovery): Map<string, Stamp> {
  const m = new Map<string, Stamp>();
  for (const s of d.sessions) {
    for (const f of s.shards) {
      try {
        const st = fs.statSync(f.path, { bigint: true });
        m.set(f.name, { ino: st.ino, dev: st.dev, size: Number(st.size), mtimeMs: Number(st.mtimeMs) });
      } catch {
        // vanished since discovery: the reader reports it
      }
    }
  }
  return m;
}

export function fullPlan(discovery: Discovery, reason: string): Plan {
  return { mode: 'full', reason, redo: new Set(discovery.sessions.map((s) => s.sessionId)), prevShards: new Map(), prevFeedback: {}, tail: new Map() };
}

export function planIncremental(
  db: Db,
  discovery: Discovery,
  stamps: Map<string, Stamp>,
  sources: { kind: string; path: string }[],
  settings: { staleAfterMinutes: number; maxLineBytes: number; inlineRaw: boolean },
): Plan {
  const full = (reason: string): Plan => ({ mode: 'full', reason, redo: new Set(), prevShards: new Map(), prevFeedback: {}, tail: new Map() });
  let meta: Map<string, string>;
  try {
    const version = Number(db.get('PRAGMA user_version')!.user_version);
    if (version !== SCHEMA_VERSION) return full(`the index has schema version ${version}, this tool writes ${SCHEMA_VERSION}`);
    meta = new Map(db.all('SELECT key, value FROM meta').map((r) => [String(r.key), String(r.value)]));
  } catch (e) {
    return full(`the existing index cannot be read (${(e as Error).message})`);
  }
  if (meta.get('sources') !== JSON.stringify(sources)) return full('the index was built from other sources');
  if (
    meta.get('stale_after_minutes') !== String(settings.staleAfterMinutes) ||
    meta.get('max_line_bytes') !== String(settings.maxLineBytes) ||
    meta.get('inline_raw') !== (settings.inlineRaw ? '1' : '0')
  ) {
    return full('the index was built with other settings');
  }
  const prevShards = readPrevShards(db);
  const shardCheck = changedShards(prevShards, discovery, stamps);
  if (typeof shardCheck === 'string') return full(shardCheck);
  const redo = shardCheck;
  const tail = addSessionsToRedo(db, discovery, redo, prevShards);
  let prevFeedback: Record<string, string>;
  try {
    prevFeedback = JSON.parse(meta.get('feedback_files') ?? '{}');
  } catch {
    return full('the index has no readable list of feedback files');
  }
  return { mode: 'incremental', reason: null, redo, prevShards, prevFeedback, tail };
}

function readPrevShards(db: Db): Map<string, PrevShard> {
  const prevShards = new Map<string, PrevShard>();
  // One JSON text instead of a row per shard: the wasm engine reads rows column by column
  // through the WASM boundary (~10 µs per row).
  const shardRows = JSON.parse(
    String(db.get('SELECT json_group_array(json_array(name, session_id, fingerprint, committed_size, lines, torn_tail)) AS j FROM shards')!.j),
  ) as [string, string, string, number, number, number][];
  for (const [name, sessionId, fingerprint, committed, lines, torn] of shardRows) {
    prevShards.set(name, { sessionId, fingerprint, committed, lines, tornTail: torn !== 0 });
  }
  return prevShards;
}

/** The shard is as the index read it (same size and mtime as its fingerprint says). */
export function shardUnchanged(prev: PrevShard, st: Stamp | undefined): boolean {
  if (!st) return false;
  const [, , size, mtime] = prev.fingerprint.split(':');
  return String(st.size) === size && String(st.mtimeMs) === mtime;
}

/** The sessions whose shards grew or are new; a string: why only a full rebuild will do. */
function changedShards(prevShards: Map<string, PrevShard>, discovery: Discovery, stamps: Map<string, Stamp>): Set<string> | string {
  const current = new Map<string, { sessionId: string; path: string }>();
  for (const s of discovery.sessions) for (const f of s.shards) current.set(f.name, { sessionId: s.sessionId, path: f.path });
  const redo = new Set<string>();
  let kept = 0;
  for (const [name, prev] of prevShards) {
    const cur = current.get(name);
    if (!cur) return `${name} is gone`;
    const st = stamps.get(name);
    const [ino, dev, size] = prev.fingerprint.split(':');
    if (!st || prev.fingerprint === 'unreadable' || prev.fingerprint === 'missing') return `${name} could not be read last time or now`;
    if (String(st.ino) !== ino || String(st.dev) !== dev) return `${name} was replaced (new inode)`;
    if (st.size < prev.committed) return `${name} shrank`;
    if (shardUnchanged(prev, st)) continue;
    if (st.size === Number(size)) return `${name} changed without growing`;
    const hash = prev.fingerprint.split(':')[4];
    const check = prefixRead(cur.path, prev.committed, st.size, kept < KEEP_TOTAL ? KEEP_AFTER : 0);
    if (check.hash !== hash) return `${name} was rewritten, not appended to`;
    if (check.known) {
      prev.known = check.known;
      kept += check.known.bytes.length;
    }
    redo.add(prev.sessionId);
  }
  for (const [name, cur] of current) if (!prevShards.has(name)) redo.add(cur.sessionId);
  return redo;
}

/**
 * Sidecars or run journals (`_run_journal/<sid>/`) that changed, sessions that are new, and
 * sessions with an open turn (their dangling findings depend on the clock) are redone too.
 * (open_turn_count counts the session's turns rows with terminal = 0: reading it keeps
 * planning off the turns table.) Returns the sessions that may be done from their shards'
 * tails (see `tailEligible`), with their run ids: those whose shards grew or whose sidecar
 * changed (same run journals, no open turn).
 */
function addSessionsToRedo(db: Db, discovery: Discovery, redo: Set<string>, prevShards: Map<string, PrevShard>): Map<string, TailCandidate> {
  const prevSessions = JSON.parse(
    String(
      db.get(
        "SELECT json_group_array(json_array(session_id, sidecar_fingerprint, open_turn_count, run_fingerprint, append_ok)) AS j FROM sessions WHERE source = 'journal'",
      )!.j,
    ),
  ) as [string, string | null, number, string | null, number][];
  const prev = new Map(prevSessions.map((r) => [r[0], r]));
  const grown = new Set(redo);
  const tail = new Map<string, TailCandidate>();
  const noRuns = runFolderMissing(discovery.sessionsDir);
  for (const s of discovery.sessions) {
    const p = prev.get(s.sessionId);
    const runs = runJournalStamp(discovery.sessionsDir, s.sessionId, noRuns);
    if (p === undefined || String(p[3]) !== runs.fingerprint || p[2] > 0) {
      redo.add(s.sessionId);
      continue;
    }
    // A rewritten sidecar may be one that only appended messages: tailAppend.ts tells.
    const sidecarStamp = statStampSync(sidecarPath(discovery.sessionsDir, s.sessionId));
    if (String(p[1]) === sidecarStamp && !grown.has(s.sessionId)) continue;
    redo.add(s.sessionId);
    if (p[4] === 1 && tailEligible(s, prevShards)) tail.set(s.sessionId, { runIds: runs.runIds, sidecarStamp });
  }
  for (const [sid, , open] of prevSessions) if (open > 0) redo.add(sid);
  return tail;
}

/** Every shard of the session was read last time, whole (no torn final line): its new lines start at its committed size. */
/** No `_run_journal/` folder (nor anything it leads to): no session has run journals, one look instead of one a session. */
function runFolderMissing(sessionsDir: string): boolean {
  try {
    return fs.statSync(path.join(sessionsDir, RUN_JOURNAL_DIR_NAME), { throwIfNoEntry: false })?.isDirectory() !== true;
  } catch {
    return false; // cannot tell: each session's folder is looked at
  }
}

function tailEligible(s: DiscoveredSession, prevShards: Map<string, PrevShard>): boolean {
  for (const f of s.shards) {
    const p = prevShards.get(f.name);
    if (!p || p.tornTail) return false;
  }
  return true;
}
