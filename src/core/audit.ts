/**
 * Auditing a whole sessions folder, one session at a time (memory stays bounded by the
 * largest session), and the `audit --json` report shape.
 */

import * as fs from 'fs';
import type { AnalyzeOptions, SessionAnalysis, Turn } from './analyze';
import { DEFAULT_STALE_AFTER_MINUTES } from './analyze';
import { discoverSessions, type DiscoveredSession, type Discovery, type SkippedFile } from './discovery';
import { SessionJournal, analyzeWithUpstream } from './session';
import { pendingItems, recoveryAudit, type RecoveryAudit, type RecoveryItem } from './recoveryAudit';
import { readStateDb } from './stateDb';
import type { UpstreamView } from './upstreamView';
import { DEFAULT_MAX_LINE_BYTES } from './shardReader';
import type { Finding, Severity } from './types';
import { SEVERITY_RANK } from './types';

export interface AuditOptions {
  /** Only this session. */
  sessionId?: string;
  maxLineBytes?: number;
  /** Bytes of one session's shards read into memory at most (default DEFAULT_MAX_SESSION_BYTES). */
  maxSessionBytes?: number;
  staleAfterMinutes?: number;
  /** Epoch seconds; defaults to the current time. */
  now?: number;
  /** Hermes' `state.db` (upstream's `--state-db`): read only, for the `state_db_*` kinds (core/stateDb.ts). */
  stateDb?: string;
  /** The next session is read while one is analysed only up to this many shard bytes (default READ_AHEAD_MAX_BYTES). */
  readAheadMaxBytes?: number;
}

export function analyzeOptions(o: AuditOptions): AnalyzeOptions {
  return {
    now: o.now ?? Date.now() / 1000,
    staleAfterSeconds: (o.staleAfterMinutes ?? DEFAULT_STALE_AFTER_MINUTES) * 60,
  };
}

/** A session is read ahead (while the one before is analysed) only up to this many shard bytes. */
export const READ_AHEAD_MAX_BYTES = 32 * 1024 * 1024;

/** The bytes of a session's shards (a shard that cannot be stat'ed counts 0: its reader reports it). */
function shardBytes(s: DiscoveredSession): number {
  let n = 0;
  for (const f of s.shards) {
    try {
      n += fs.statSync(f.path).size;
    } catch {
      // gone or unreadable: the audit reports it
    }
  }
  return n;
}

/**
 * Yields each session's analysis in session-id order; the caller decides what to keep.
 * The next session's files are read while the current one is analysed and handed out, so
 * file I/O overlaps the CPU work — unless the next session is large (over READ_AHEAD_MAX_BYTES):
 * then it is read only once the current one is handed out, so two large sessions are never in
 * memory at once (peak memory is the largest session's, not the sum of two).
 */
export async function* auditSessions(discovery: Discovery, options: AuditOptions = {}): AsyncGenerator<SessionAnalysis> {
  const opts = analyzeOptions(options);
  const wanted = discovery.sessions.filter((s) => options.sessionId === undefined || s.sessionId === options.sessionId);
  const load = (s: DiscoveredSession): Promise<SessionJournal> => {
    const journal = new SessionJournal(discovery.sessionsDir, s.sessionId, {
      maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES,
      maxSessionBytes: options.maxSessionBytes,
      readOnce: true,
    });
    journal.setShards(s.shards);
    const p = journal.refresh().then(() => journal);
    p.catch(() => undefined); // handled when awaited; never unhandled if the caller stops early
    return p;
  };
  let next = wanted.length > 0 ? load(wanted[0]) : null;
  for (let i = 0; next !== null; i++) {
    const journal = await next;
    const ahead = i + 1 < wanted.length ? wanted[i + 1] : null;
    const readAhead = ahead !== null && shardBytes(ahead) <= (options.readAheadMaxBytes ?? READ_AHEAD_MAX_BYTES);
    next = readAhead ? load(ahead) : null;
    yield await analyzeWithUpstream(journal, opts);
    if (ahead !== null && !readAhead) next = load(ahead);
  }
}

// ---- the report -------------------------------------------------------------------------

export interface SessionReport {
  session_id: string;
  title: string | null;
  model: string | null;
  shards: string[];
  event_count: number;
  turn_count: number;
  open_turn_count: number;
  states: Record<string, string>;
  collisions: { turn_id: string; events: string[]; lines: string[] }[];
  malformed: { shard: string; line: number; offset: number; kind: string; torn: boolean; glued: boolean }[];
  findings: ReportFinding[];
  first_activity: number | null;
  last_activity: number | null;
  /** What hermes-webui's own reader and audit say (docs/cli.md "Two views"). */
  upstream?: UpstreamView;
}

export interface ReportFinding {
  kind: string;
  severity: Severity;
  turn_id?: string;
  shard?: string;
  line?: number;
  offset?: number;
  message: string;
  /** The repair log records this finding as looked at (a reviewed line, a collision marked with a note). */
  reviewed?: true;
  review_note?: string;
  /** The kind hermes-webui's own audit gives it, and its category there. */
  upstream_kind?: string;
  category?: string;
}

export interface AuditReport {
  version: 1;
  sessionsDir: string;
  generated_at: string;
  sessions: SessionReport[];
  skipped_files: { name: string; reason: string }[];
  /** hermes-webui's own recovery audit of the folder, item for item (`python -m api.session_recovery --audit`). */
  upstream_audit: RecoveryAudit;
  summary: {
    sessions: number;
    events: number;
    turns: number;
    findings: Record<Severity, number>;
  };
}

export function sessionReport(a: SessionAnalysis): SessionReport {
  const states = reportStates(a);
  return {
    session_id: a.sessionId,
    title: a.title,
    model: a.model,
    shards: a.shards.map((s) => s.name),
    event_count: a.counts.events,
    turn_count: Object.keys(states).length,
    open_turn_count: a.counts.open,
    states,
    collisions: a.turns
      .filter((t) => t.collision)
      .map((t) => ({ turn_id: t.turnId, events: t.collision!.map((e) => e.name), lines: t.collision!.map((e) => `${e.shard}:${e.line}`) })),
    malformed: a.malformed.map((m) => ({ shard: m.shard, line: m.line, offset: m.offset, kind: m.kind, torn: m.torn === true, glued: m.glued !== undefined })),
    findings: a.findings.map(reportFinding),
    first_activity: a.firstActivity,
    last_activity: a.lastActivity,
    ...(a.upstream ? { upstream: a.upstream } : {}),
  };
}

/**
 * Turn id → state of every turn with events. When upstream's view says the same, key for key in
 * the same order (the usual case), it is upstream's object itself: one dictionary of the
 * session's turns in memory, not two (the JSON is the same).
 */
function reportStates(a: SessionAnalysis): Record<string, string> {
  const up = a.upstream?.states;
  if (up !== undefined && sameStates(a.turns, up)) return up;
  // Null prototype: a turn id "__proto__" or "constructor" is an ordinary key (docs/security.md).
  const states: Record<string, string> = Object.create(null);
  for (const t of a.turns) if (t.events.length > 0) states[t.turnId] = t.state;
  return states;
}

/** `up` enumerates exactly the turns with events, in their order, each with the turn's state. */
function sameStates(turns: readonly Turn[], up: Record<string, string>): boolean {
  let k = 0;
  const keys = Object.keys(up);
  for (const t of turns) {
    if (t.events.length === 0) continue;
    if (k >= keys.length || keys[k] !== t.turnId || up[keys[k]] !== t.state) return false;
    k++;
  }
  return k === keys.length;
}

export function reportFinding(f: Finding): ReportFinding {
  const r: ReportFinding = { kind: f.kind, severity: f.severity, message: f.message };
  if (f.turnId !== undefined) r.turn_id = f.turnId;
  if (f.shard !== undefined) r.shard = f.shard;
  if (f.line !== undefined) r.line = f.line;
  if (f.offset !== undefined) r.offset = f.offset;
  if (f.upstreamKind !== undefined) r.upstream_kind = f.upstreamKind;
  if (f.category !== undefined) r.category = f.category;
  if (f.reviewed) {
    r.reviewed = true;
    r.review_note = f.reviewed.by ? `${f.reviewed.note} (${f.reviewed.by})` : f.reviewed.note;
  }
  return r;
}

export async function auditFolder(dir: string, options: AuditOptions = {}): Promise<AuditReport> {
  const discovery = await discoverSessions(dir);
  const sessions: SessionReport[] = [];
  for await (const a of auditSessions(discovery, options)) sessions.push(sessionReport(a));
  return buildReport(discovery, sessions, options.stateDb);
}

/** `stateDb`: hermes' `state.db`, read only (upstream's `--state-db`). */
export function buildReport(discovery: Discovery, sessions: SessionReport[], stateDb?: string): AuditReport {
  const upstreamAudit = folderRecoveryAudit(discovery.sessionsDir, sessions, stateDb);
  const findings: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  let events = 0;
  let turns = 0;
  for (const s of sessions) {
    events += s.event_count;
    turns += s.turn_count;
    for (const f of s.findings) findings[f.severity]++;
  }
  return {
    version: 1,
    sessionsDir: discovery.sessionsDir,
    generated_at: new Date().toISOString(),
    sessions,
    skipped_files: discovery.skipped.map((f: SkippedFile) => ({ name: f.name, reason: f.reason })),
    upstream_audit: upstreamAudit,
    summary: { sessions: sessions.length, events, turns, findings },
  };
}

const RECOVERY_SEVERITY: Record<string, Severity> = {
  shrunken_live: 'error',
  orphan_backup: 'warning',
  orphan_backup_without_state_row: 'warning',
  malformed_orphan_backup: 'warning',
  index_missing_file: 'info',
  index_missing_entry: 'info',
  state_db_missing_sidecar: 'warning',
  state_db_orphan_webui_row: 'info',
  state_db_deleted_webui_tombstone: 'info',
};

const RECOVERY_MESSAGE: Record<string, (i: RecoveryItem) => string> = {
  shrunken_live: (i) =>
    `the sidecar has ${i.live_messages} messages but its backup ${i.session_id}.json.bak has ${i.bak_messages}, and nothing says the shrink was intended: messages were lost (upstream restores from the backup)`,
  orphan_backup: (i) => `${i.session_id}.json.bak (${i.bak_messages} messages) has no live sidecar`,
  orphan_backup_without_state_row: (i) => `${i.session_id}.json.bak has no live sidecar and hermes' state.db does not know the session`,
  malformed_orphan_backup: (i) => `${i.session_id}.json.bak has no live sidecar and is not a session JSON`,
  index_missing_file: (i) => `_index.json names ${i.session_id}, whose sidecar is missing`,
  index_missing_entry: (i) => `the sidecar ${i.session_id}.json is missing from _index.json`,
  state_db_deleted_webui_tombstone: (i) =>
    `${i.session_id} was deleted by the user (hermes-webui's delete tombstone names it): its ${i.bak_messages >= 0 ? 'backup' : 'state.db row'} must not bring it back`,
  state_db_missing_sidecar: (i) =>
    `hermes' state.db has the WebUI session ${i.session_id} with its messages, but its sidecar ${i.session_id}.json is missing (upstream re-creates it from state.db)`,
  state_db_orphan_webui_row: (i) => `hermes' state.db has a WebUI session ${i.session_id} with no messages and no sidecar ${i.session_id}.json (manual review)`,
};

/** The message of one upstream audit item (also for the items no session of ours holds). */
export function recoveryMessage(i: RecoveryItem): string {
  return RECOVERY_MESSAGE[i.kind]?.(i) ?? i.kind;
}

export function recoverySeverity(i: RecoveryItem): Severity {
  return RECOVERY_SEVERITY[i.kind] ?? 'warning';
}

/**
 * Upstream's recovery audit of a folder (core/recoveryAudit.ts), its open turns from each
 * session's upstream view; `stateDb`: hermes' state.db, read only. The CLI's report and VS Code's
 * Audit Sessions both start from it.
 */
export function upstreamFolderAudit(sessionsDir: string, views: Iterable<[string, UpstreamView | undefined]>, stateDb?: string): RecoveryAudit {
  const pending: RecoveryItem[] = [];
  for (const [sessionId, view] of views) if (view) pending.push(...pendingItems(sessionsDir, sessionId, view.pending));
  return recoveryAudit(sessionsDir, pending, stateDb === undefined ? undefined : readStateDb(stateDb, sessionsDir));
}

/**
 * Upstream's own audit of the folder; its items about sessions with a journal become findings
 * of those sessions too (with `upstream_kind` and `category`). Pending turns come from each
 * session's upstream view.
 */
function folderRecoveryAudit(sessionsDir: string, sessions: SessionReport[], stateDb?: string): RecoveryAudit {
  const audit = upstreamFolderAudit(
    sessionsDir,
    sessions.map((s) => [s.session_id, s.upstream]),
    stateDb,
  );
  const crashes = sessions.filter((s) => s.upstream && !s.upstream.readable);
  if (crashes.length) {
    audit.error = `hermes-webui's own audit raises ${crashes[0].upstream!.error} reading session ${crashes[0].session_id} and reports nothing for the folder (${crashes.map((s) => s.session_id).join(', ')} cannot be read)`;
  }
  const by = new Map(sessions.map((s) => [s.session_id, s]));
  for (const i of audit.items) {
    const s = by.get(i.session_id);
    if (!s || i.kind === 'turn_journal_pending_turn') continue;
    s.findings.push({ kind: i.kind, severity: recoverySeverity(i), message: recoveryMessage(i), upstream_kind: i.kind, category: i.category });
  }
  return audit;
}

export type FailOn = Severity | 'never';

/**
 * Upstream's audit items about sessions that have no turn journal (no session report can hold
 * them): a sidecar shrunk against its backup, an orphan backup, an `_index.json` entry without a
 * file, a state.db row without a sidecar. `journalSessions`: every session with a journal in the
 * folder (not only the ones a `--session` run reports). Open turns are always a session's.
 */
export function folderItems(report: AuditReport, journalSessions: ReadonlySet<string>): RecoveryItem[] {
  return report.upstream_audit.items.filter((i) => i.kind !== 'turn_journal_pending_turn' && !journalSessions.has(i.session_id));
}

/** The file an upstream audit item is about, relative to the sessions folder (it may be missing: that is the item). */
export function folderItemFile(i: RecoveryItem): string {
  if (i.kind.startsWith('index_')) return '_index.json';
  if (i.kind.includes('backup') || (i.kind === 'state_db_deleted_webui_tombstone' && i.bak_messages >= 0)) return `${i.session_id}.json.bak`;
  return `${i.session_id}.json`;
}

/**
 * Whether any finding not yet reviewed reaches the threshold (exit code 1 of the CLI), or any of
 * `folder` (see `folderItems`: they have no review of their own; fixing the folder clears them).
 */
export function reachesThreshold(report: AuditReport, failOn: FailOn, folder: readonly RecoveryItem[] = []): boolean {
  if (failOn === 'never') return false;
  const min = SEVERITY_RANK[failOn];
  if (folder.some((i) => SEVERITY_RANK[recoverySeverity(i)] >= min)) return true;
  // Reviewed findings are known (see docs/repair.md): they are shown, they no longer fail a run.
  return report.sessions.some((s) => s.findings.some((f) => !f.reviewed && SEVERITY_RANK[f.severity] >= min));
}
