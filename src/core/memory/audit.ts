/**
 * `auditMemoryLedger(file)`: load (SQLite or JSONL), replay, compare with the live table,
 * check retention; the JSON report of `bot-memory-audit memory --json` and the exported
 * projection.
 */

import * as path from 'path';
import type { Severity } from '../types';
import { SEVERITY_RANK } from '../types';
import { limits as resolveLimits, type MemoryLedgerSettings, type ResolvedLimits } from './config';
import { compareWithTable } from './compare';
import { loadLedger, type LedgerInput, type LiveMemory } from './load';
import { replay, type MemoryFinding, type ProjectedMemory, type Replay } from './replay';
import { checkRetention, eventTime, type RetentionReport } from './retention';

export interface MemoryAuditOptions {
  settings?: MemoryLedgerSettings;
  /** Epoch seconds; defaults to the current time (backup freshness). */
  now?: number;
}

export interface BotSummary {
  botId: string;
  memories: number;
  pinned: number;
  autoPinned: number;
  manualPinned: number;
  findings: Record<Severity, number>;
}

export interface MemoryAudit {
  input: LedgerInput;
  replay: Replay;
  findings: MemoryFinding[];
  bots: BotSummary[];
  retention: RetentionReport;
  limits: ResolvedLimits;
  /** Live rows by memory key (null for JSONL). */
  live: Map<string, LiveMemory> | null;
}

export function auditMemoryLedger(file: string, options: MemoryAuditOptions = {}): MemoryAudit {
  const settings = options.settings ?? {};
  const input = loadLedger(file, settings);
  return auditLoaded(input, options);
}

export function auditLoaded(input: LedgerInput, options: MemoryAuditOptions = {}): MemoryAudit {
  const settings = options.settings ?? {};
  const lim = resolveLimits(settings);
  const live = input.live ? new Map(input.live.map((m) => [m.key, m])) : null;
  const shard = input.format === 'jsonl' ? input.label : undefined;
  const r = replay(input.events, { label: input.label, shard, live, limits: lim, settings });
  const findings: MemoryFinding[] = [];
  for (const m of input.malformed)
    findings.push({
      kind: 'malformed_line',
      severity: 'error',
      sessionId: input.label,
      shard: input.label,
      line: m.line,
      message: `line ${m.line} is not an event: ${m.detail}`,
    });
  findings.push(...r.findings);
  if (live) findings.push(...compareWithTable(r.memories, live));
  else
    findings.push({
      kind: 'memories_table_unavailable',
      severity: 'info',
      sessionId: input.label,
      message: `${input.label} is a JSONL export: it has no memories table, so the projection was not compared with live rows`,
    });
  for (const n of input.notes) findings.push({ kind: 'database_changed_while_reading', severity: 'warning', sessionId: input.label, message: n });

  let last: number | null = null;
  for (const e of input.events) {
    const t = eventTime(e.createdAt);
    if (t !== null && (last === null || t > last)) last = t;
  }
  const dir = path.dirname(path.resolve(input.path));
  const ret = checkRetention({
    snapshotsDir: settings.snapshotsDir?.trim() ? path.resolve(dir, settings.snapshotsDir) : path.join(dir, 'snapshots'),
    backupsDir: settings.backupsDir?.trim() ? path.resolve(dir, settings.backupsDir) : path.join(dir, 'backups'),
    label: input.label,
    limits: lim,
    lastEventTime: last,
    now: options.now ?? Date.now() / 1000,
  });
  findings.push(...ret.findings);
  return { input, replay: r, findings, bots: summarizeBots(r.memories, live, findings), retention: ret.report, limits: lim, live };
}

function summarizeBots(memories: Map<string, ProjectedMemory>, live: Map<string, LiveMemory> | null, findings: MemoryFinding[]): BotSummary[] {
  const bots = new Map<string, BotSummary>();
  const bot = (id: string) => {
    let b = bots.get(id);
    if (!b) bots.set(id, (b = { botId: id, memories: 0, pinned: 0, autoPinned: 0, manualPinned: 0, findings: { error: 0, warning: 0, info: 0 } }));
    return b;
  };
  for (const m of memories.values()) {
    const b = bot(m.owner);
    b.memories++;
    if (m.pinned) {
      b.pinned++;
      if (m.autoPinned) b.autoPinned++;
      else b.manualPinned++;
    }
  }
  if (live) for (const row of live.values()) if (!memories.has(row.key)) bot(row.owner ?? '(unknown bot)');
  for (const f of findings) if (bots.has(f.sessionId)) bots.get(f.sessionId)!.findings[f.severity]++;
  return [...bots.values()].sort((a, b) => (a.botId < b.botId ? -1 : a.botId > b.botId ? 1 : 0));
}

// ---- JSON shapes ----------------------------------------------------------------------

export interface MemoryReportFinding {
  kind: string;
  severity: Severity;
  bot_id: string;
  memory_id?: string;
  event_id?: number | string;
  event_seq?: number;
  file?: string;
  line?: number;
  message: string;
}

export interface MemoryAuditReport {
  version: 1;
  input: { path: string; format: 'sqlite' | 'jsonl'; wal: boolean };
  generated_at: string;
  schema: LedgerInput['schema'];
  payload_keys: Replay['payloadKeys'];
  limits: ResolvedLimits;
  event_kinds: Record<string, number>;
  bots: { bot_id: string; memories: number; pinned: number; auto_pinned: number; manual_pinned: number; findings: Record<Severity, number> }[];
  retention: { snapshots: { dir: string; count: number; newest: string | null } | null; backups: { dir: string; count: number; newest: string | null } | null };
  findings: MemoryReportFinding[];
  summary: { events: number; memories: number; live_memories: number | null; bots: number; findings: Record<Severity, number> };
}

export function reportFinding(f: MemoryFinding): MemoryReportFinding {
  const r: MemoryReportFinding = { kind: f.kind, severity: f.severity, bot_id: f.sessionId, message: f.message };
  if (f.memoryId !== undefined) r.memory_id = f.memoryId;
  if (f.eventId !== undefined) r.event_id = f.eventId;
  if (f.eventSeq !== undefined) r.event_seq = f.eventSeq;
  if (f.shard !== undefined) r.file = f.shard;
  if (f.line !== undefined) r.line = f.line;
  return r;
}

export function countFindings(findings: readonly MemoryFinding[]): Record<Severity, number> {
  const c: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) c[f.severity]++;
  return c;
}

export function memoryReport(a: MemoryAudit): MemoryAuditReport {
  const folder = (x: { dir: string; files: { name: string }[] } | null) =>
    x ? { dir: x.dir, count: x.files.length, newest: x.files.at(-1)?.name ?? null } : null;
  return {
    version: 1,
    input: { path: a.input.path, format: a.input.format, wal: a.input.wal },
    generated_at: new Date().toISOString(),
    schema: a.input.schema,
    payload_keys: a.replay.payloadKeys,
    limits: a.limits,
    event_kinds: a.replay.kinds,
    bots: a.bots.map((b) => ({
      bot_id: b.botId,
      memories: b.memories,
      pinned: b.pinned,
      auto_pinned: b.autoPinned,
      manual_pinned: b.manualPinned,
      findings: b.findings,
    })),
    retention: { snapshots: folder(a.retention.snapshots), backups: folder(a.retention.backups) },
    findings: a.findings.map(reportFinding),
    summary: {
      events: a.input.events.length,
      memories: a.replay.memories.size,
      live_memories: a.live ? a.live.size : null,
      bots: a.bots.length,
      findings: countFindings(a.findings),
    },
  };
}

export interface ProjectionJson {
  version: 1;
  source: string;
  generated_at: string;
  memories: {
    id: number | string;
    owner: string;
    text: string | null;
    significance: number | null;
    pinned: 0 | 1;
    auto_pinned: 0 | 1;
    created_at: unknown;
    events: number;
  }[];
}

/** The replayed projection as the memories table would hold it, ordered by owner then id. */
export function projectionJson(a: MemoryAudit): ProjectionJson {
  const ms = [...a.replay.memories.values()].sort((x, y) => (x.owner < y.owner ? -1 : x.owner > y.owner ? 1 : 0) || cmpId(x.id, y.id));
  return {
    version: 1,
    source: a.input.path,
    generated_at: new Date().toISOString(),
    memories: ms.map((m) => ({
      id: m.id,
      owner: m.owner,
      text: m.text,
      significance: m.significance,
      pinned: m.pinned ? 1 : 0,
      auto_pinned: m.autoPinned ? 1 : 0,
      created_at: m.createdAt ?? null,
      events: m.history.length,
    })),
  };
}

function cmpId(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

export type FailOn = Severity | 'never';

export function memoryReachesThreshold(findings: readonly MemoryFinding[], failOn: FailOn): boolean {
  if (failOn === 'never') return false;
  const min = SEVERITY_RANK[failOn];
  return findings.some((f) => SEVERITY_RANK[f.severity] >= min);
}
