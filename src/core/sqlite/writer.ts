/**
 * Rows of the index: from a session's analysis (journal), feedback records and interaction
 * log records to INSERTs with one prepared statement per table.
 */

import type { SessionAnalysis, ShardSummary, Turn } from '../analyze';
import type { FeedbackProblem, FeedbackRecord } from '../feedback/read';
import type { Db, SqlValue, Statement } from './engine';
import { DDL } from './schema';
import type { Finding } from '../types';
import { sidecarMessagesOf, type ElementBytes } from './sidecarState';
import { streamBloom, textBloom } from './streamBloom';

/** A `shards` row: the analysis' shard summary plus what incremental rebuilds compare. */
export interface ShardRow extends Omit<ShardSummary, 'error'> {
  sessionId: string;
  fingerprint: string;
  committedSize: number;
  error: string | null;
}

export interface LogTurnRow {
  sessionId: string;
  turnId: string;
  ordinal: number;
  state: string;
  model: string | null;
  modelProvider: string | null;
  user: string | null;
  assistant: string | null;
  reason: string | null;
  startedAt: number | null;
  completedAt: number | null;
}

export interface FindingRow {
  sessionId: string | null;
  ordinal: number;
  source: 'journal' | 'feedback' | 'log';
  kind: string;
  severity: string;
  turnId?: string | null;
  shard?: string | null;
  line?: number | null;
  offset?: number | null;
  message: string;
}

/** The row of one finding of a session's journal analysis, at its place in the session's findings. */
export function journalFindingRow(sessionId: string, ordinal: number, f: Finding): FindingRow {
  return {
    sessionId,
    ordinal,
    source: 'journal',
    kind: f.kind,
    severity: f.severity,
    turnId: f.turnId,
    shard: f.shard,
    line: f.line,
    offset: f.offset,
    message: f.message,
  };
}

export interface MalformedRow {
  sessionId: string | null;
  shard: string;
  line: number;
  offset: number;
  length: number;
  kind: string;
  torn: boolean;
  gluedEvent: string | null;
  detail: string;
  preview: string;
}

/**
 * `INSERT INTO t (cols) VALUES (...)` from the DDL, with TEXT columns as CAST(? AS TEXT) so a
 * string bound as bytes (one holding U+0000, see engine.ts) is stored as TEXT.
 */
export function insertSql(table: string): string {
  const m = new RegExp(`CREATE TABLE ${table} \\(([\\s\\S]*?)\\n\\)( WITHOUT ROWID)?;`).exec(DDL);
  if (!m) throw new Error(`no table ${table}`);
  const cols: { name: string; text: boolean }[] = [];
  for (const raw of m[1].split('\n')) {
    const c = /^\s+([a-z_]+)\s+(TEXT|INTEGER|REAL|BLOB)\b/.exec(raw);
    if (c && !(table === 'events' && c[1] === 'id')) cols.push({ name: c[1], text: c[2] === 'TEXT' });
  }
  return `INSERT INTO ${table} (${cols.map((c) => c.name).join(', ')}) VALUES (${cols.map((c) => (c.text ? 'CAST(? AS TEXT)' : '?')).join(', ')})`;
}

const b = (v: boolean): number => (v ? 1 : 0);
const num = (v: unknown): number | null => (typeof v === 'number' && !Number.isNaN(v) ? v : null);

/**
 * Whether a later append of new turns can be indexed from the shards' tails alone
 * (tailAppend.ts; `sessions.append_ok`): no open turn (its findings depend on the clock and
 * on the turns after it), and every event's `created_at` a finite number (so "sorts after
 * every event so far" is `> last_activity`).
 */
export function appendOk(a: SessionAnalysis): boolean {
  if (a.counts.open > 0) return false;
  for (const e of a.events) if (typeof e.createdAtRaw !== 'number' || !Number.isFinite(e.createdAtRaw)) return false;
  return true;
}

/** The largest integer `assistant_message_index` of these turns, at least `from` (-1: none). */
export function maxReplyIndex(turns: readonly Pick<Turn, 'assistantMessageIndex'>[], from = -1): number {
  let max = from;
  for (const t of turns) {
    const i = t.assistantMessageIndex;
    if (i !== null && Number.isInteger(i) && i > max) max = i;
  }
  return max;
}

/** The tables rows are written to, in the order of `RowBuilder.emit`'s table number. */
export const ROW_TABLES = ['sessions', 'shards', 'events', 'turns', 'collisions', 'malformed', 'findings', 'feedback', 'session_tail'] as const;
export type RowTable = (typeof ROW_TABLES)[number];
const T: Record<RowTable, number> = Object.fromEntries(ROW_TABLES.map((t, i) => [t, i])) as Record<RowTable, number>;

/**
 * Builds the rows of every table; where they go is the subclass's: `IndexWriter` binds them
 * to prepared statements, `RowEncoder` (rows.ts, in a rebuild worker) encodes them into
 * transferable batches that the main thread binds (engine.ts `runBatch`).
 */
export abstract class RowBuilder {
  eventsWritten = 0;
  rowsWritten = 0;
  /** Store each event's line in `events.raw` (--inline-raw); else NULL, the line is read from its shard by offset. */
  inlineRaw = false;

  /** One row of table `ROW_TABLES[table]`, its values in the INSERT's column order (insertSql). */
  protected abstract emit(table: number, values: (SqlValue | undefined)[]): void;

  /**
   * Everything a journal session contributes. With `skipBelow`, events and malformed lines
   * of a shard that start before that byte offset are already in the index (incremental).
   */
  writeSession(
    a: SessionAnalysis,
    shards: ShardRow[],
    stamps: { sidecar: string; runs: string; sidecarBytes: ElementBytes | null },
    skipBelow?: ReadonlyMap<string, number>,
  ): void {
    const sid = a.sessionId;
    this.writeSessionRow(a, stamps);
    for (const s of shards) this.writeShard(s);
    const skip = (shard: string, offset: number): boolean => skipBelow !== undefined && offset < (skipBelow.get(shard) ?? 0);
    // A shard's torn final line starts at its committed size (the end of its last complete line).
    this.writeEvents(a, new Map(shards.map((s) => [s.name, s.committedSize])), skip);
    const users = a.turns.map((t, i) => this.writeTurn(sid, t, i));
    const tail = sidecarMessagesOf(a.sidecar, maxReplyIndex(a.turns), stamps.sidecarBytes);
    this.run('session_tail', [sid, tail, streamBloom(a.events), textBloom(users), a.turns.length]);
    this.writeCollisions(a);
    this.writeSessionMalformed(a, skip);
    a.findings.forEach((f, i) => this.writeFinding(journalFindingRow(sid, i, f)));
  }

  private writeSessionRow(a: SessionAnalysis, stamps: { sidecar: string; runs: string }): void {
    const withEvents = a.turns.filter((t) => t.events.length > 0).length;
    this.run('sessions', [
      a.sessionId,
      'journal',
      a.title,
      a.model,
      a.modelProvider,
      a.sidecarStatus,
      a.sidecarError ?? null,
      stamps.sidecar,
      a.shards.length,
      a.counts.events,
      withEvents,
      a.counts.open,
      a.counts.collisions,
      a.counts.malformed,
      a.counts.findings.error,
      a.counts.findings.warning,
      a.counts.findings.info,
      a.worstSeverity,
      a.firstActivity,
      a.lastActivity,
      stamps.runs,
      b(appendOk(a)),
    ]);
  }

  /**
   * What new turns appended to an indexed session add (tailAppend.ts): `a` is the analysis of
   * the appended lines alone; its turns follow the session's `turnBase` turns.
   */
  writeAppended(a: SessionAnalysis, committed: ReadonlyMap<string, number>, turnBase: number): void {
    this.writeEvents(a, committed, () => false);
    for (let i = 0; i < a.turns.length; i++) this.writeTurn(a.sessionId, a.turns[i], turnBase + i);
    this.writeCollisions(a);
  }

  private writeCollisions(a: SessionAnalysis): void {
    for (const t of a.turns) {
      if (!t.collision) continue;
      t.collision.forEach((e, i) => this.run('collisions', [a.sessionId, t.turnId, i, e.name, e.shard, e.line, e.offset, num(e.createdAtRaw)]));
    }
  }

  /** The session's events, except those `skip` says are already in the index. */
  private writeEvents(a: SessionAnalysis, committed: ReadonlyMap<string, number>, skip: (shard: string, offset: number) => boolean): void {
    for (const e of a.events) {
      if (skip(e.shard, e.offset)) continue;
      const torn = e.offset >= (committed.get(e.shard) ?? Infinity);
      this.emit(T.events, [
        a.sessionId,
        e.shard,
        e.line,
        e.offset,
        e.length,
        e.turnId,
        e.streamId,
        e.name,
        num(e.createdAtRaw),
        b(e.terminal),
        b(torn),
        this.inlineRaw ? (e.raw ?? JSON.stringify(e.data)) : null,
      ]);
      this.eventsWritten++;
    }
  }

  private writeSessionMalformed(a: SessionAnalysis, skip: (shard: string, offset: number) => boolean): void {
    for (const m of a.malformed) {
      if (skip(m.shard, m.offset)) continue;
      this.writeMalformed({
        sessionId: a.sessionId,
        shard: m.shard,
        line: m.line,
        offset: m.offset,
        length: m.length,
        kind: m.kind,
        torn: m.torn === true,
        gluedEvent: m.glued ? (m.glued.raw ?? JSON.stringify(m.glued.data)) : null,
        detail: m.detail,
        preview: m.preview,
      });
    }
  }

  writeShard(s: ShardRow): void {
    this.run('shards', [
      s.name,
      s.sessionId,
      s.size,
      s.mtimeMs,
      s.fingerprint,
      s.committedSize,
      s.lines,
      s.events,
      s.malformed,
      b(s.tornTail),
      b(s.hasBom),
      s.crlfLines,
      s.error,
    ]);
  }

  /** A turn's row; returns its user message (read once: one kept by reference is read back from its line). */
  private writeTurn(sid: string, t: Turn, ordinal: number): string | null {
    const term = t.events.find((e) => e.terminal);
    const user = t.userMessage;
    this.run('turns', [
      sid,
      t.turnId,
      ordinal,
      'journal',
      t.state,
      b(t.terminal),
      t.streamId,
      t.model,
      t.modelProvider,
      t.workspace,
      user,
      t.assistantReply,
      t.reason,
      t.startedAt,
      t.lastAt,
      term ? num(term.createdAtRaw) : null,
      t.durations.toWorker,
      t.durations.toAssistant,
      t.durations.toTerminal,
      t.durations.total,
      t.events.length,
      t.events.filter((e) => e.terminal).length,
      t.recovered.length,
      b(t.hasSubmitted),
      b(t.live),
      b(t.userMessageSaved),
      t.assistantMessageIndex,
      null,
      null,
      null,
      null,
      null,
    ]);
    return user;
  }

  writeLogTurn(t: LogTurnRow): void {
    const terminal = t.state === 'completed' || t.state === 'interrupted';
    const total = t.startedAt !== null && t.completedAt !== null ? t.completedAt - t.startedAt : null;
    this.run('turns', [
      t.sessionId,
      t.turnId,
      t.ordinal,
      'log',
      t.state,
      b(terminal),
      null,
      t.model,
      t.modelProvider,
      null,
      t.user,
      t.assistant,
      t.reason,
      t.startedAt,
      t.completedAt ?? t.startedAt,
      t.completedAt,
      null,
      null,
      null,
      total,
      0,
      terminal ? 1 : 0,
      0,
      b(t.user !== null),
      0,
      0,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
  }

  writeLogSession(row: {
    sessionId: string;
    model: string | null;
    modelProvider: string | null;
    turns: number;
    open: number;
    first: number | null;
    last: number | null;
    errors: number;
    warnings: number;
    infos: number;
  }): void {
    const worst = row.errors ? 'error' : row.warnings ? 'warning' : row.infos ? 'info' : null;
    this.run('sessions', [
      row.sessionId,
      'log',
      null,
      row.model,
      row.modelProvider,
      null,
      null,
      null,
      0,
      0,
      row.turns,
      row.open,
      0,
      0,
      row.errors,
      row.warnings,
      row.infos,
      worst,
      row.first,
      row.last,
      null,
      0,
    ]);
  }

  writeMalformed(m: MalformedRow): void {
    this.run('malformed', [m.sessionId, m.shard, m.line, m.offset, m.length, m.kind, b(m.torn), b(m.gluedEvent !== null), m.gluedEvent, m.detail, m.preview]);
  }

  writeFinding(f: FindingRow): void {
    this.run('findings', [
      f.sessionId,
      f.ordinal,
      f.source,
      f.kind,
      f.severity,
      f.turnId ?? null,
      f.shard ?? null,
      f.line ?? null,
      f.offset ?? null,
      f.message,
    ]);
  }

  writeFeedback(r: FeedbackRecord): void {
    this.run('feedback', [
      r.file,
      r.line,
      r.id,
      r.sessionId,
      r.turnId,
      r.feedback,
      r.note,
      r.tags ? JSON.stringify(r.tags) : null,
      r.reviewer,
      r.timestamp,
      0,
      r.raw,
    ]);
  }

  /** A feedback line that is not a usable record: a malformed row and a finding. */
  writeFeedbackProblem(p: FeedbackProblem, sessionId: string | null, ordinal: number, source: 'feedback' | 'log'): void {
    this.writeMalformed({
      sessionId,
      shard: p.file,
      line: p.line,
      offset: p.offset,
      length: p.length,
      kind: p.detail.startsWith('not JSON') ? 'not_json' : 'not_a_record',
      torn: false,
      gluedEvent: null,
      detail: p.detail,
      preview: p.preview,
    });
    this.writeFinding({
      sessionId,
      ordinal,
      source,
      kind: source === 'log' ? 'invalid_log_line' : 'invalid_feedback',
      severity: 'warning',
      shard: p.file,
      line: p.line,
      offset: p.offset,
      message: `${p.file}:${p.line} is not a usable record: ${p.detail}`,
    });
  }

  private run(table: RowTable, values: (SqlValue | undefined)[]): void {
    this.emit(T[table], values);
    this.rowsWritten++;
  }
}

/** Rows bound to one prepared INSERT per table, as they are built. */
export class IndexWriter extends RowBuilder {
  /** In `ROW_TABLES` order. */
  readonly statements: Statement[];

  constructor(db: Db) {
    super();
    this.statements = ROW_TABLES.map((t) => db.prepare(insertSql(t)));
  }

  protected emit(table: number, values: (SqlValue | undefined)[]): void {
    this.statements[table].run(values);
  }

  finalize(): void {
    for (const s of this.statements) s.finalize();
  }
}

/**
 * Marks the winning feedback record per (session, turn) (latest timestamp, then file and line
 * order, as core/feedback/latest.ts) and copies it onto its turn. Run at the end of every
 * build, full or incremental. With `sessions` (an incremental rebuild: the sessions redone
 * and those whose feedback records changed), only their records and turns are redone: the
 * others' are as the last build left them, which is what they would be anew. `fresh`: every
 * row was written in this build (no `latest` marks or turn copies yet). `copyOnly`: sessions
 * whose feedback records did not change and whose turns only grew (done from their shards' tails):
 * their `latest` marks and old turns' copies stand, the winning records are copied onto their turns.
 */
export function applyFeedback(db: Db, sessions?: Iterable<string>, fresh = false, copyOnly?: Iterable<string>): void {
  const scope = sessions === undefined ? '' : `AND session_id IN (SELECT session_id FROM ${scopeTable(db, 'bma_feedback_scope', sessions)})`;
  // A new index (fresh) has no marks or copies to clear: clearing would read every turn.
  const clear = fresh
    ? ''
    : `UPDATE feedback SET latest = 0 WHERE latest = 1 ${scope};
       UPDATE turns SET feedback = NULL, feedback_note = NULL, feedback_tags = NULL, feedback_reviewer = NULL, feedback_at = NULL
         WHERE feedback IS NOT NULL ${scope};`;
  db.exec(`
    ${clear}
    UPDATE feedback SET latest = 1 FROM (
      SELECT file AS wf, line AS wl FROM (
        SELECT file, line, row_number() OVER (PARTITION BY session_id, turn_id ORDER BY julianday(timestamp) DESC NULLS LAST, file DESC, line DESC) AS rn FROM feedback WHERE 1 ${scope}
      ) WHERE rn = 1
    ) AS w WHERE feedback.file = w.wf AND feedback.line = w.wl;
    ${copyFeedback(scope)}
  `);
  if (copyOnly !== undefined) db.exec(copyFeedback(`AND session_id IN (SELECT session_id FROM ${scopeTable(db, 'bma_feedback_copy', copyOnly)})`));
  db.exec('DROP TABLE IF EXISTS temp.bma_feedback_scope; DROP TABLE IF EXISTS temp.bma_feedback_copy;');
}

/** The latest feedback record of each turn (of the sessions `scope` selects) copied onto it. */
function copyFeedback(scope: string): string {
  return `UPDATE turns SET feedback = f.feedback, feedback_note = f.note, feedback_tags = f.tags, feedback_reviewer = f.reviewer, feedback_at = f.timestamp
      FROM (SELECT session_id, turn_id, feedback, note, tags, reviewer, timestamp FROM feedback WHERE latest = 1 AND turn_id IS NOT NULL ${scope}) AS f
      WHERE turns.session_id = f.session_id AND turns.turn_id = f.turn_id;`;
}

/** A temp table `name` of these session ids. */
function scopeTable(db: Db, name: string, sessions: Iterable<string>): string {
  db.exec(`CREATE TEMP TABLE IF NOT EXISTS ${name} (session_id TEXT PRIMARY KEY); DELETE FROM temp.${name};`);
  const st = db.prepare(`INSERT OR IGNORE INTO temp.${name} (session_id) VALUES (?)`);
  for (const sid of sessions) st.run([sid]);
  st.finalize();
  return `temp.${name}`;
}
