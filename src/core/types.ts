/** Data model of the journal core. Plain data: no `vscode`, no classes, JSON-serialisable. */

export type Severity = 'error' | 'warning' | 'info';

export const TERMINAL_EVENTS: ReadonlySet<string> = new Set(['completed', 'interrupted']);
export const KNOWN_EVENTS: ReadonlySet<string> = new Set(['submitted', 'worker_started', 'assistant_started', 'completed', 'interrupted']);

/** One valid journal event as read from a shard, reduced to what the auditor uses. */
export interface JournalEvent {
  /** `str(event.get("event") or "")` as upstream computes it. */
  name: string;
  /** `str(event.get("turn_id") or "").strip()`; empty = no turn id. */
  turnId: string;
  streamId: string | null;
  /** `created_at` exactly as written (number, string, null, …). */
  createdAtRaw: unknown;
  /** The numeric sort key: the number when finite, else 0 (Infinity stays Infinity). */
  sortKey: number;
  terminal: boolean;
  /** Shard file name and the line's position in it. */
  shard: string;
  /** 1-based physical line number (lines end at `\n` only). */
  line: number;
  /** Byte offset of the line's first byte in the shard. */
  offset: number;
  /** Byte length of the line without its `\n` (and `\r`). */
  length: number;
  /**
   * The whole parsed object (transcript text is untrusted: display it as text only). A compact
   * event (core/compactEvent.ts) reads it back from the shard when asked: prefer `fields`.
   */
  data: Record<string, unknown>;
  /** A compact event's in-memory subset of `data` (compactEvent.ANALYSIS_FIELDS); absent on plain events. */
  fields?: Record<string, unknown>;
  /** The line used NaN / Infinity / -Infinity, which only Python's JSON accepts. */
  nonStandardNumbers?: boolean;
  /** The line holds characters that Python's splitlines() breaks on (U+2028, U+2029, U+0085, …). */
  pythonLineBreaks?: boolean;
  /** Why Python's json.loads raises on this line (deep nesting, a huge integer). */
  pythonHazard?: string;
  /** Set on an event recovered from the tail of a glued line: counted by us, lost to upstream's reader. */
  recovered?: boolean;
  /** The line's text (BOM and `\r` removed), only when read with `keepRaw`. */
  raw?: string;
}

export type MalformedKind = 'invalid_utf8' | 'not_json' | 'not_object' | 'too_long';

export interface MalformedLine {
  kind: MalformedKind;
  shard: string;
  line: number;
  offset: number;
  /** Byte length of the whole line. */
  length: number;
  /** A printable preview of the raw line (lossy for invalid UTF-8; cut for long lines). */
  preview: string;
  previewTruncated: boolean;
  /** Why it failed, in words. */
  detail: string;
  /** The line is the shard's final line and has no `\n`: a torn append. */
  torn?: boolean;
  /** A complete event glued onto the end of this line by a later append. */
  glued?: JournalEvent;
  /** Byte offset within the line where the glued event starts. */
  gluedAt?: number;
}

/** A torn tail whose text parses as a valid event is still an event (upstream reads it). */
export interface TornTail {
  shard: string;
  line: number;
  offset: number;
  length: number;
  /** The tail parsed as a JSON object event. */
  parsed: boolean;
}

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  sessionId: string;
  message: string;
  turnId?: string;
  shard?: string;
  line?: number;
  offset?: number;
  /** Set when the repair log records this finding as looked at (see core/repair/reviewed.ts). */
  reviewed?: { note: string; by?: string; at?: string };
  /** The kind hermes-webui's own audit gives the same problem (`python -m api.session_recovery --audit`). */
  upstreamKind?: string;
  /** Upstream's category for it: `repairable` or `unsafe_to_repair`. */
  category?: 'repairable' | 'unsafe_to_repair';
}

/** The item kinds of hermes-webui's own recovery audit (`python -m api.session_recovery --audit`). */
export type RecoveryKind =
  | 'shrunken_live'
  | 'orphan_backup'
  | 'orphan_backup_without_state_row'
  | 'malformed_orphan_backup'
  | 'index_missing_file'
  | 'index_missing_entry'
  | 'state_db_missing_sidecar'
  | 'state_db_orphan_webui_row'
  | 'state_db_deleted_webui_tombstone'
  | 'turn_journal_pending_turn';

export type FindingKind =
  | 'pending_turn'
  | 'dangling_turn'
  | 'interrupted_turn'
  | 'terminal_collision'
  | 'malformed_line'
  | 'torn_tail'
  | 'glued_event'
  | 'event_without_turn_id'
  | 'invalid_created_at'
  | 'out_of_order'
  | 'orphan_turn'
  | 'upstream_incompatible_line'
  | 'invalid_sidecar'
  | 'unknown_event'
  | 'nonstandard_number'
  | 'unreadable_shard'
  // Upstream's writer and the run journal (FORMATS.md §1, §5; docs/journal-reading.md)
  | 'split_turn'
  | 'lifecycle_dropped'
  | 'upstream_unreadable'
  | 'run_disagreement'
  | 'run_unsettled'
  | 'run_without_turn'
  // hermes-webui's own recovery audit (core/recoveryAudit.ts), same kinds and meaning; its
  // turn_journal_pending_turn is our upstream_pending_turn
  | 'upstream_pending_turn'
  | Exclude<RecoveryKind, 'turn_journal_pending_turn'>
  // Memory ledger audit (src/core/memory, docs/memory-ledger.md): sessionId holds the bot id,
  // or the database / export file name for file-level findings.
  | 'memory_missing'
  | 'memory_extra'
  | 'memory_drift'
  | 'unknown_memory_event'
  | 'duplicate_memory_written'
  | 'unknown_event_kind'
  | 'invalid_event_payload'
  | 'memory_owner_missing'
  | 'pin_cap_exceeded'
  | 'manual_pin_evicted'
  | 'wrong_pin_evicted'
  | 'score_not_auto_pinned'
  | 'auto_pin_below_threshold'
  | 'memories_table_unavailable'
  | 'database_changed_while_reading'
  | 'retention_exceeded'
  | 'snapshot_stale'
  | 'backup_stale'
  | 'backup_too_frequent'
  | 'backup_unreadable';

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
