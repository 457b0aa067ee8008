/**
 * hermes-webui's own recovery audit (`python -m api.session_recovery --audit`, FORMATS.md §2b),
 * reproduced kind for kind from upstream's `api/session_recovery.py` so our report is a
 * superset of it: `shrunken_live` (with upstream's intended-shrink exceptions), `orphan_backup`,
 * `orphan_backup_without_state_row`, `malformed_orphan_backup`, `index_missing_file`,
 * `index_missing_entry`, `state_db_deleted_webui_tombstone` (from the durable tombstone) and
 * `turn_journal_pending_turn` (from the upstream view of each session). Read only.
 *
 * With hermes' `state.db` (`--state-db`, the `botMemory.stateDb` setting; core/stateDb.ts) it
 * also gives upstream's `orphan_backup_without_state_row`, `state_db_missing_sidecar`,
 * `state_db_orphan_webui_row` and the state.db side of `state_db_deleted_webui_tombstone`.
 *
 * Differences, on purpose: files are read without following symbolic links (upstream's glob
 * follows them); a state.db row whose id would name a file outside the folder counts as having
 * no sidecar; a state.db that upstream's Python would fail to decode (invalid UTF-8 text) is
 * still read (upstream then reports none of its rows).
 */

import * as path from 'path';
import { listNames, lstatOrNull, readTextIfExistsSync } from './fsSafe';
import type { StateDbReading } from './stateDb';
import type { RecoveryKind } from './types';

export type { RecoveryKind };

export interface RecoveryItem {
  session_id: string;
  kind: RecoveryKind;
  category: 'repairable' | 'unsafe_to_repair';
  recommendation: string;
  live_messages: number;
  bak_messages: number;
  turn_id?: string;
  event?: string;
}

export interface RecoveryAudit {
  status: 'ok' | 'warn' | 'needs_manual_review';
  /** How hermes' `state.db` was read, when one was given (not in upstream's output). */
  state_db?: { path: string; read: boolean; how?: 'read-only' | 'copy'; message?: string };
  summary: { ok: number; repairable: number; unsafe_to_repair: number };
  items: RecoveryItem[];
  /** Set when upstream's own audit would raise instead (a session its reader cannot read): it reports nothing then. */
  error?: string;
}

function readJson(file: string): unknown {
  try {
    const st = lstatOrNull(file);
    if (!st || !st.isFile()) return undefined;
    const text = readTextIfExistsSync(file);
    return text === null ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Upstream's `_msg_count`: the length of `messages`, or -1. */
function msgCount(v: unknown): number {
  return isObj(v) && Array.isArray(v.messages) ? v.messages.length : -1;
}

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c))
    return c
      .map((p) => (isObj(p) && typeof p.text === 'string' && ['text', 'input_text', 'output_text'].includes(String(p.type ?? 'text')) ? p.text : ''))
      .join('');
  return '';
}

function isCompactionMarker(m: unknown): boolean {
  if (!isObj(m) || !m.role || m.role === 'tool') return false;
  const text = contentText(m.content).toLowerCase().trimStart();
  return text.startsWith('[context compaction') || (Boolean(m._compressed_summary) && text.startsWith('context compaction'));
}

const UUID4_HEX = /^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$/;

/** Upstream's markers that a live sidecar's shrink was intended (clear, compression, session_ops). */
function shrinkIntended(live: Record<string, unknown>, bak: Record<string, unknown>): boolean {
  const gen = live.clear_generation;
  if (typeof gen === 'string' && gen !== '' && bak.clear_generation !== gen) {
    const expected: [string, unknown][] = [
      ['messages', []],
      ['context_messages', []],
      ['truncation_watermark', 0],
      ['truncation_boundary', 0],
      ['active_stream_id', null],
      ['pending_user_message', null],
      ['pending_attachments', []],
      ['pending_started_at', null],
      ['pending_user_source', null],
    ];
    if (expected.every(([k, v]) => k in live && JSON.stringify(live[k]) === JSON.stringify(v))) return true;
    if (Array.isArray(live.messages) && live.messages.length > 0 && live.truncation_watermark === 0 && live.truncation_boundary === 0) return true;
  }
  if (compressShrink(live) && backupPredatesCompression(live, bak)) return true;
  const lg = live.intentional_shrink_generation;
  if (typeof lg === 'string' && UUID4_HEX.test(lg)) {
    if (!('intentional_shrink_generation' in bak) || bak.intentional_shrink_generation === null) return true;
    const bg = bak.intentional_shrink_generation;
    if (typeof bg === 'string' && UUID4_HEX.test(bg)) return bg !== lg;
  }
  return false;
}

function compressShrink(d: Record<string, unknown>): boolean {
  const shorter = Array.isArray(d.context_messages) && Array.isArray(d.messages) && d.context_messages.length < d.messages.length;
  const summary = String(d.compression_anchor_summary ?? '').trim();
  const mode = String(d.compression_anchor_mode ?? '')
    .trim()
    .toLowerCase();
  if (mode === 'manual') return true;
  if (shorter && summary && d.compression_anchor_message_key !== undefined && d.compression_anchor_message_key !== null) return true;
  return shorter && d.truncation_watermark !== undefined && d.truncation_watermark !== null;
}

function backupPredatesCompression(live: Record<string, unknown>, bak: Record<string, unknown>): boolean {
  const bctx = Array.isArray(bak.context_messages) ? bak.context_messages : [];
  if (bctx.some(isCompactionMarker)) return false;
  const lctx = Array.isArray(live.context_messages) ? live.context_messages.length : 0;
  return bctx.length > lctx;
}

function tombstoned(dir: string, sid: string): boolean {
  if (lstatOrNull(path.join(dir, `${sid}.json`))) return false;
  const t = readJson(path.join(dir, '_deleted_webui_sessions.json'));
  if (!isObj(t) || Number(t.version ?? 0) !== 1 || !Array.isArray(t.ids)) return false;
  return t.ids.some((v) => String(v ?? '').trim() === sid && String(v ?? '').trim() !== '');
}

function item(session_id: string, kind: RecoveryKind, category: RecoveryItem['category'], recommendation: string, live = -1, bak = -1): RecoveryItem {
  return { session_id, kind, category, recommendation, live_messages: live, bak_messages: bak };
}

/**
 * Upstream's audit items for a sessions folder, in upstream's order; `pending` are the
 * `turn_journal_pending_turn` items (from each session's upstream view), appended last.
 * `stateDb`: what was read from hermes' `state.db` (upstream's `--state-db`), if one was given.
 */
export function recoveryAudit(sessionsDir: string, pending: RecoveryItem[] = [], stateDb?: StateDbReading): RecoveryAudit {
  let names: string[];
  try {
    names = listNames(sessionsDir).sort();
  } catch {
    names = [];
  }
  const isFile = (n: string) => lstatOrNull(path.join(sessionsDir, n))?.isFile() === true;
  const live = names.filter((n) => n.endsWith('.json') && !n.startsWith('_') && isFile(n));
  const liveIds = new Set(live.map((n) => n.slice(0, -5)));
  const items: RecoveryItem[] = [...shrunkenItems(sessionsDir, live, isFile)];
  const bakTombstoned = new Set<string>();
  items.push(...orphanBackupItems(sessionsDir, names, isFile, stateDb, bakTombstoned));
  // upstream's state_db_deleted_webui_ids: rows whose sidecar is missing and that the durable tombstone names
  const dbDeleted = new Set((stateDb?.missing ?? []).filter((r) => tombstoned(sessionsDir, r.id.trim())).map((r) => r.id));
  items.push(...indexItems(sessionsDir, liveIds, dbDeleted));
  items.push(...stateDbItems(sessionsDir, stateDb, bakTombstoned));
  items.push(...pending);
  const summary = { ok: live.length, repairable: 0, unsafe_to_repair: 0 };
  for (const i of items) summary[i.category]++;
  const status = summary.unsafe_to_repair ? 'needs_manual_review' : summary.repairable ? 'warn' : 'ok';
  const audit: RecoveryAudit = { status, summary, items };
  if (stateDb) {
    audit.state_db = { path: stateDb.path, read: stateDb.read };
    if (stateDb.how) audit.state_db.how = stateDb.how;
    if (stateDb.message) audit.state_db.message = stateDb.message;
  }
  return audit;
}

function shrunkenItems(sessionsDir: string, live: string[], isFile: (n: string) => boolean): RecoveryItem[] {
  const items: RecoveryItem[] = [];
  for (const n of live) {
    const bakName = `${n}.bak`;
    if (!isFile(bakName)) continue;
    const lv = readJson(path.join(sessionsDir, n));
    const bv = readJson(path.join(sessionsDir, bakName));
    const lc = msgCount(lv);
    const bc = msgCount(bv);
    if (bc > lc && !(isObj(lv) && isObj(bv) && shrinkIntended(lv, bv)))
      items.push(item(n.slice(0, -5), 'shrunken_live', 'repairable', 'restore_from_bak', lc, bc));
  }
  return items;
}

/** Upstream's `_state_db_has_session`: fail-open (no state.db, no table, unreadable: known). */
function stateDbKnows(stateDb: StateDbReading | undefined, sid: string): boolean {
  return !stateDb?.sessionIds || stateDb.sessionIds.has(sid);
}

function orphanBackupItems(
  sessionsDir: string,
  names: string[],
  isFile: (n: string) => boolean,
  stateDb: StateDbReading | undefined,
  bakTombstoned: Set<string>,
): RecoveryItem[] {
  const items: RecoveryItem[] = [];
  for (const n of names.filter((x) => x.endsWith('.json.bak') && isFile(x))) {
    const liveName = n.slice(0, -4);
    if (liveName.startsWith('_') || lstatOrNull(path.join(sessionsDir, liveName))) continue;
    const sid = liveName.slice(0, -5);
    const bc = msgCount(readJson(path.join(sessionsDir, n)));
    if (bc < 0) items.push(item(sid, 'malformed_orphan_backup', 'unsafe_to_repair', 'manual_review', -1, bc));
    else if (tombstoned(sessionsDir, sid)) {
      bakTombstoned.add(sid);
      items.push(item(sid, 'state_db_deleted_webui_tombstone', 'unsafe_to_repair', 'deleted_session_skipped', -1, bc));
    } else if (stateDbKnows(stateDb, sid)) items.push(item(sid, 'orphan_backup', 'repairable', 'restore_from_bak', -1, bc));
    else items.push(item(sid, 'orphan_backup_without_state_row', 'unsafe_to_repair', 'manual_review', -1, bc));
  }
  return items;
}

function indexItems(sessionsDir: string, liveIds: Set<string>, dbDeleted: Set<string>): RecoveryItem[] {
  const index = path.join(sessionsDir, '_index.json');
  if (!lstatOrNull(index)) return [];
  const items: RecoveryItem[] = [];
  const v = readJson(index);
  const ids = new Set<string>();
  if (Array.isArray(v)) for (const e of v) if (isObj(e) && typeof e.session_id === 'string') ids.add(e.session_id);
  for (const sid of [...ids].filter((x) => !liveIds.has(x)).sort()) {
    if (!dbDeleted.has(sid) && !tombstoned(sessionsDir, sid)) items.push(item(sid, 'index_missing_file', 'repairable', 'rebuild_index'));
  }
  for (const sid of [...liveIds].filter((x) => !ids.has(x)).sort()) {
    items.push(item(sid, 'index_missing_entry', 'repairable', 'rebuild_index', msgCount(readJson(path.join(sessionsDir, `${sid}.json`)))));
  }
  return items;
}

/** Upstream's loop over the state.db WebUI rows whose sidecar is missing. */
function stateDbItems(sessionsDir: string, stateDb: StateDbReading | undefined, bakTombstoned: Set<string>): RecoveryItem[] {
  const items: RecoveryItem[] = [];
  for (const row of stateDb?.missing ?? []) {
    if (bakTombstoned.has(row.id)) continue;
    if (tombstoned(sessionsDir, row.id.trim())) items.push(item(row.id, 'state_db_deleted_webui_tombstone', 'unsafe_to_repair', 'deleted_session_skipped'));
    else if (row.empty) items.push(item(row.id, 'state_db_orphan_webui_row', 'unsafe_to_repair', 'manual_review'));
    else items.push(item(row.id, 'state_db_missing_sidecar', 'repairable', 'materialize_from_state_db'));
  }
  return items;
}

/** The `turn_journal_pending_turn` items of one session from its upstream view. */
export function pendingItems(sessionsDir: string, sessionId: string, pending: { turn_id: string; event: string }[]): RecoveryItem[] {
  if (pending.length === 0) return []; // the sidecar is read (again, upstream's way) only for a count it would print
  const lc = msgCount(readJson(path.join(sessionsDir, `${sessionId}.json`)));
  return pending.map((p) => ({
    ...item(sessionId, 'turn_journal_pending_turn', 'repairable', 'audit_only_pending_turn_journal', lc),
    turn_id: p.turn_id,
    event: p.event,
  }));
}
