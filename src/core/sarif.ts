/**
 * An audit report as SARIF 2.1.0 (`audit --format sarif`), for GitHub code scanning and other
 * SARIF viewers: one result per finding, `ruleId` = the finding's kind, `level` from its
 * severity (error / warning / note), the physical location = the shard and line, relative to
 * the audited folder through the uriBaseId `SESSIONS` (its absolute file URI is given in
 * `originalUriBaseIds`). `partialFingerprints` depend only on what the finding is about (kind,
 * session, turn, shard, line, and the occurrence among identical ones), never on the message
 * or the time, so the same finding keeps its alert across runs. Findings the repair log
 * records as reviewed are results with an external suppression carrying the review note.
 * Upstream audit items about sessions without a journal (`folderItems`) are results too, located
 * at the file they are about (the sidecar, its backup, `_index.json`).
 * The output holds no time stamp: the same folder gives the same bytes.
 */

import * as crypto from 'crypto';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { folderItemFile, recoveryMessage, recoverySeverity, type AuditReport, type ReportFinding, type SessionReport } from './audit';
import type { RecoveryItem } from './recoveryAudit';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
export const SESSIONS_BASE_ID = 'SESSIONS';

const LEVEL = { error: 'error', warning: 'warning', info: 'note' } as const;

/** One line per kind for the rule's short description (kinds not listed get a generic one). */
const RULE_TEXT: Record<string, string> = {
  pending_turn: 'A turn is still open (no terminal event yet).',
  dangling_turn: 'A turn has been open longer than the stale limit: its worker probably died.',
  interrupted_turn: 'A turn ended interrupted.',
  terminal_collision: 'A turn has more than one terminal event.',
  malformed_line: 'A journal line is not a valid event.',
  torn_tail: 'A journal shard ends in a partial line (a write was cut short).',
  glued_event: 'Two events were written on one line.',
  event_without_turn_id: 'An event has no turn id.',
  invalid_created_at: 'An event has no usable created_at time.',
  out_of_order: 'Events of a turn are out of order.',
  orphan_turn: 'A turn has events but no submitted event.',
  upstream_incompatible_line: "A line upstream's own reader would reject.",
  shrunken_live: 'A sidecar has fewer messages than its backup and nothing says the shrink was intended.',
  orphan_backup: 'A sidecar backup has no live sidecar.',
  orphan_backup_without_state_row: "A sidecar backup has no live sidecar and hermes' state.db does not know the session.",
  malformed_orphan_backup: 'A sidecar backup without a live sidecar is not a session JSON.',
  index_missing_file: '_index.json names a session whose sidecar is missing.',
  index_missing_entry: 'A sidecar is missing from _index.json.',
  state_db_missing_sidecar: "hermes' state.db has a WebUI session with messages but no sidecar.",
  state_db_orphan_webui_row: "hermes' state.db has a WebUI session with no messages and no sidecar.",
  state_db_deleted_webui_tombstone: 'A session the user deleted must not be brought back.',
};

function ruleText(kind: string): string {
  return RULE_TEXT[kind] ?? `Bot Memory Auditor finding "${kind}" (see docs/cli.md).`;
}

/** `_turn_journal/a~1.jsonl` (relative to the audited folder, `/`-separated, each segment URI-encoded). */
function shardUri(sessionsDir: string, journalDir: string, shard: string): string {
  const rel = path.relative(sessionsDir, path.join(journalDir, shard)).split(path.sep).join('/');
  return rel.split('/').map(encodeURIComponent).join('/');
}

function fingerprint(parts: (string | number | undefined)[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

export interface SarifOptions {
  /** Folder holding the shards (the report's shard names are relative to it). Default `<sessionsDir>/_turn_journal`. */
  journalDir?: string;
  toolVersion?: string;
  /** Upstream audit items no session report holds (`folderItems` in core/audit.ts). */
  folderItems?: readonly RecoveryItem[];
}

/** The SARIF log object for `report` (serialise with JSON.stringify). */
export function auditToSarif(report: AuditReport, options: SarifOptions = {}): Record<string, unknown> {
  const sessionsDir = report.sessionsDir;
  const journalDir = options.journalDir ?? path.join(sessionsDir, '_turn_journal');
  const folder = options.folderItems ?? [];
  const kinds = [...new Set([...report.sessions.flatMap((s) => s.findings.map((f) => f.kind)), ...folder.map((i) => i.kind)])].sort();
  const ruleIndex = new Map(kinds.map((k, i) => [k, i]));
  const worst = new Map<string, 'error' | 'warning' | 'info'>();
  const rank = { info: 0, warning: 1, error: 2 };
  const note = (kind: string, sev: 'error' | 'warning' | 'info') => {
    if (!worst.has(kind) || rank[sev] > rank[worst.get(kind)!]) worst.set(kind, sev);
  };
  for (const s of report.sessions) for (const f of s.findings) note(f.kind, f.severity);
  for (const i of folder) note(i.kind, recoverySeverity(i));
  const rules = kinds.map((k) => ({
    id: k,
    name: k.replace(/(^|_)([a-z])/g, (_m, _s, c: string) => c.toUpperCase()),
    shortDescription: { text: ruleText(k) },
    defaultConfiguration: { level: LEVEL[worst.get(k) ?? 'warning'] },
  }));
  const results: Record<string, unknown>[] = [];
  for (const s of report.sessions) {
    const seen = new Map<string, number>();
    for (const f of s.findings) results.push(result(s, f, sessionsDir, journalDir, ruleIndex.get(f.kind)!, seen));
  }
  for (const i of folder) results.push(folderResult(i, ruleIndex.get(i.kind)!));
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'bot-memory-audit', ...(options.toolVersion ? { version: options.toolVersion } : {}), rules } },
        originalUriBaseIds: { [SESSIONS_BASE_ID]: { uri: pathToFileURL(sessionsDir + path.sep).href, description: { text: 'The audited sessions folder.' } } },
        columnKind: 'utf16CodeUnits',
        results,
        properties: { summary: report.summary, skipped_files: report.skipped_files },
      },
    ],
  };
}

function result(
  s: SessionReport,
  f: ReportFinding,
  sessionsDir: string,
  journalDir: string,
  index: number,
  seen: Map<string, number>,
): Record<string, unknown> {
  const shard = f.shard ?? s.shards[0];
  const key = JSON.stringify([f.kind, s.session_id, f.turn_id, f.shard, f.line]);
  const n = seen.get(key) ?? 0;
  seen.set(key, n + 1);
  const r: Record<string, unknown> = {
    ruleId: f.kind,
    ruleIndex: index,
    level: LEVEL[f.severity],
    message: { text: f.message },
    partialFingerprints: { 'botMemoryFinding/v1': fingerprint([f.kind, s.session_id, f.turn_id, f.shard, f.line, n]) },
    properties: {
      session_id: s.session_id,
      ...(f.turn_id !== undefined ? { turn_id: f.turn_id } : {}),
      ...(f.offset !== undefined ? { offset: f.offset } : {}),
    },
  };
  if (shard !== undefined) {
    const physicalLocation: Record<string, unknown> = { artifactLocation: { uri: shardUri(sessionsDir, journalDir, shard), uriBaseId: SESSIONS_BASE_ID } };
    if (f.shard !== undefined && f.line !== undefined && f.line >= 1) physicalLocation.region = { startLine: f.line };
    r.locations = [{ physicalLocation }];
  }
  if (f.reviewed) r.suppressions = [{ kind: 'external', status: 'accepted', justification: f.review_note ?? 'reviewed' }];
  return r;
}

function folderResult(i: RecoveryItem, index: number): Record<string, unknown> {
  return {
    ruleId: i.kind,
    ruleIndex: index,
    level: LEVEL[recoverySeverity(i)],
    message: { text: recoveryMessage(i) },
    partialFingerprints: { 'botMemoryFinding/v1': fingerprint([i.kind, i.session_id, 'folder']) },
    properties: { session_id: i.session_id, upstream_category: i.category, upstream_recommendation: i.recommendation },
    locations: [{ physicalLocation: { artifactLocation: { uri: encodeURIComponent(folderItemFile(i)), uriBaseId: SESSIONS_BASE_ID } } }],
  };
}
