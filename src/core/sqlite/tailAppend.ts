/**
 * Incremental rebuild of one session from its shards' appended tails alone (docs/sqlite.md,
 * "Incremental rebuilds"). The planner (rebuildPlan.ts) offers a session here when its shards
 * grew or its sidecar changed: same run journals, no open turn, `append_ok` (writer.ts
 * `appendOk`), every shard read whole last time. Then only the bytes past each grown shard's
 * committed size are read, and the session is done here when the new lines are new turns
 * that cannot change anything already indexed, and the sidecar is the same or only appended
 * messages (tailSidecar.ts: the indexed turns it changes are updated):
 *
 * - every new line is a valid event (no malformed line, no torn tail), with a finite
 *   `created_at` later than every event so far (`last_activity`: so the new events sort after
 *   the old ones and the old turns keep their order), no Python hazard or extra line break
 *   (upstream's reader would read the whole session differently);
 * - their turn ids and stream ids are new to the session (a stream shared with an old turn
 *   would join it: upstream's split turns), and no stream id is a run journal's name;
 * - every new turn is terminal (an open turn's evidence and findings depend on the others).
 *
 * Those events are analysed by the same `analyzeSession` on their own (with the session's
 * sidecar); their events, turns (ordinals after the old ones), collisions and findings are
 * added, old findings renumbered around the new ones, and the session's and shards' rows
 * updated. Anything else returns `null` having written nothing, and the caller redoes the
 * session whole. A differential test compares the result with a full rebuild
 * (test/core/sqliteIncremental.test.ts).
 */

import { analyzeSession, compareFindings, type SessionAnalysis } from '../analyze';
import type { DiscoveredSession } from '../discovery';
import type { SidecarRead } from '../sidecar';
import { ShardReader } from '../shardReader';
import type { Finding, FindingKind, JournalEvent, Severity } from '../types';
import { attachUpstreamView, upstreamView } from '../upstreamView';
import type { Db } from './engine';
import { shardUnchanged, type PrevShard } from './rebuildPlan';
import { shardFingerprint, type Stamp } from './readSession';
import { bloomHas, streamBloom, textBloom } from './streamBloom';
import {
  changedTurns,
  partialSuffices,
  readTailSidecar,
  sidecarFindingsSame,
  textOf,
  UNSAFE_TEXT,
  updateSessionSidecar,
  writeTurnUpdates,
  type TailSidecar,
  type TurnUpdate,
} from './tailSidecar';
import { journalFindingRow, maxReplyIndex, type IndexWriter } from './writer';

export interface TailOptions {
  sessionsDir: string;
  maxLineBytes: number;
  now: number;
  staleAfterSeconds: number;
}

/**
 * Adds a session's appended tails (and follows a sidecar rewrite that only appended messages,
 * tailSidecar.ts) when it is safe (see above); returns the events written, or null (nothing
 * written: redo the session whole).
 */
export async function tryTail(
  db: Db,
  writer: IndexWriter,
  s: DiscoveredSession,
  prevShards: ReadonlyMap<string, PrevShard>,
  plan: { runIds: ReadonlySet<string>; sidecarStamp: string },
  o: TailOptions,
  stamps: ReadonlyMap<string, Stamp>,
): Promise<number | null> {
  const sid = s.sessionId;
  const prev = db.get(
    `SELECT s.sidecar_fingerprint, s.last_activity, t.sidecar_messages, t.id_bloom, t.user_bloom, t.turn_rows
     FROM sessions s JOIN session_tail t USING (session_id) WHERE s.session_id = ?`,
    [sid],
  );
  if (!prev) return null;
  const readers = await readTails(s, prevShards, o.maxLineBytes, stamps);
  if (!readers) return null;
  const events = readers.flatMap((r) => r.contents.events);
  if (!eventsAreSafe(events, prev.last_activity === null ? null : Number(prev.last_activity))) return null;
  const bloom = prev.id_bloom instanceof Uint8Array ? prev.id_bloom : null;
  if (!idsAreNew(db, sid, events, plan.runIds, bloom)) return null;
  const messages = prev.sidecar_messages === null ? null : String(prev.sidecar_messages);
  const side = await readTailSidecar(o.sessionsDir, sid, { fingerprint: String(prev.sidecar_fingerprint), messages }, plan.sidecarStamp);
  if (!side) return null;
  const mini = await analyzeTails(s, readers, side, o, (a) => !side.change || sidecarFindingsSame(db, sid, a.findings));
  if (!mini || mini.counts.open > 0) return null;
  const findings = newFindings(mini);
  if (!findings) return null;
  const userBloom = prev.user_bloom instanceof Uint8Array ? prev.user_bloom : null;
  const updates = side.change ? changedTurns(db, sid, side, userBloom) : [];
  const old = findings.length > 0 || updates.some((u) => u.dropsFinding) ? oldFindings(db, sid) : [];
  if (!old) return null;
  const dropped = droppedFindings(old, updates);
  const placed = placeFindings(old, findings);

  const turnBase = Number(prev.turn_rows);
  const committed = new Map(readers.map((r) => [r.contents.name, r.committedOffset]));
  writer.writeAppended(mini, committed, turnBase);
  writeTurnUpdates(db, updates);
  writeFindings(db, writer, sid, dropped, placed);
  updateShards(db, readers, prevShards);
  updateSession(db, sid, mini, placed.length > 0 || dropped.length > 0);
  updateSessionSidecar(db, sid, side, maxReplyIndex(mini.turns, side.state?.maxIndex ?? -1));
  updateBlooms(db, sid, { streams: bloom, users: userBloom }, mini);
  return mini.events.length;
}

/**
 * The new lines analysed alone with the session's sidecar, and upstream's view of them; null when
 * the session-wide findings the sidecar feeds are not the indexed ones (`same`). When the sidecar's
 * indexed messages were not read (placeholders) and the analysis would read one, or its shape
 * finding differs (an indexed message may have a problem), the sidecar is read whole and the lines
 * analysed again.
 */
async function analyzeTails(
  s: DiscoveredSession,
  readers: readonly ShardReader[],
  side: TailSidecar,
  o: TailOptions,
  same: (a: SessionAnalysis) => boolean,
): Promise<SessionAnalysis | null> {
  const paths = new Map(s.shards.map((f) => [f.name, f.path]));
  const analyze = async (read: SidecarRead): Promise<SessionAnalysis> => {
    const contents = readers.map((r) => r.contents);
    const a = analyzeSession(s.sessionId, contents, read, { now: o.now, staleAfterSeconds: o.staleAfterSeconds });
    attachUpstreamView(a, await upstreamView(a, (name) => paths.get(name)));
    return a;
  };
  let mini = await analyze(side.read);
  if (side.whole && partialSuffices(mini, side) && same(mini)) return mini;
  if (side.whole) {
    side.read = await side.whole();
    side.whole = null;
    mini = await analyze(side.read);
  }
  return same(mini) ? mini : null;
}

/** Readers of the shards that grew, each having read only its new bytes; null when one holds anything but whole valid lines. */
async function readTails(
  s: DiscoveredSession,
  prevShards: ReadonlyMap<string, PrevShard>,
  maxLineBytes: number,
  stamps: ReadonlyMap<string, Stamp>,
): Promise<ShardReader[] | null> {
  const readers: ShardReader[] = [];
  for (const f of s.shards) {
    const p = prevShards.get(f.name);
    if (!p || p.tornTail) return null;
    if (shardUnchanged(p, stamps.get(f.name))) continue; // nothing new to read (the planner's stat)
    const r = new ShardReader(f.path, f.name, { maxLineBytes, keepRaw: true });
    r.resumeAt(p.committed, p.lines);
    const res = await r.refresh();
    const c = r.contents;
    if (res.mode !== 'append' || c.error !== undefined || c.malformed.length > 0 || c.tail !== null) return null;
    if (r.committedOffset > p.committed) readers.push(r);
  }
  return readers;
}

/** Valid, finite, later than every event so far, nothing upstream's reader would read another way. */
function eventsAreSafe(events: readonly JournalEvent[], lastActivity: number | null): boolean {
  for (const e of events) {
    const at = e.createdAtRaw;
    if (typeof at !== 'number' || !Number.isFinite(at) || (lastActivity !== null && !(at > lastActivity))) return false;
    if (e.pythonHazard || e.pythonLineBreaks || e.nonStandardNumbers || e.recovered) return false;
    if (UNSAFE_TEXT.test(e.turnId) || (e.streamId !== null && UNSAFE_TEXT.test(e.streamId))) return false;
  }
  return true;
}

/**
 * No new event's turn id or stream id is one an indexed event of the session has (a stream
 * id shared with an old turn would make upstream's split-turn rule join them), and no
 * stream id names a run journal. Ids the session's Bloom filter (`session_tail.id_bloom`) may
 * hold are looked up in the session's events (turn ids: a seek in the events' key; stream ids:
 * one scan of the session's events, contiguous in the WITHOUT ROWID table); the others are new.
 */
function idsAreNew(db: Db, sid: string, events: readonly JournalEvent[], runIds: ReadonlySet<string>, bloom: Uint8Array | null): boolean {
  const turns = new Set<string>();
  const streams = new Set<string>();
  for (const e of events) {
    if (e.turnId !== '') turns.add(e.turnId);
    if (e.streamId) streams.add(e.streamId);
  }
  for (const st of streams) if (runIds.has(st)) return false;
  const exists = (sql: string, ids: Iterable<string>): boolean =>
    Number(
      db.get(`SELECT EXISTS (SELECT 1 FROM events WHERE session_id = ?1 AND ${sql} IN (SELECT value FROM json_each(?2))) AS n`, [
        sid,
        JSON.stringify([...ids]),
      ])!.n,
    ) !== 0;
  const maybe = (ids: Set<string>): string[] => (bloom ? [...ids].filter((id) => bloomHas(bloom, id)) : [...ids]);
  const maybeTurns = maybe(turns);
  if (maybeTurns.length > 0 && exists('turn_id', maybeTurns)) return false;
  const maybeStreams = maybe(streams);
  return maybeStreams.length === 0 || !exists('stream_id', maybeStreams);
}

/** The session's Bloom filters with the new events' stream and turn ids and the new turns' user messages; its turn rows. */
function updateBlooms(db: Db, sid: string, blooms: { streams: Uint8Array | null; users: Uint8Array | null }, mini: SessionAnalysis): void {
  if (mini.events.length === 0) return;
  const streams = blooms.streams && streamBloom(mini.events, Uint8Array.from(blooms.streams));
  const users =
    blooms.users &&
    textBloom(
      mini.turns.map((t) => t.userMessage),
      Uint8Array.from(blooms.users),
    );
  db.all('UPDATE session_tail SET id_bloom = coalesce(?, id_bloom), user_bloom = coalesce(?, user_bloom), turn_rows = turn_rows + ? WHERE session_id = ?', [
    streams,
    users,
    mini.turns.length,
    sid,
  ]);
}

/**
 * The findings the new events and turns add, in the analysis' order; null when the analysis
 * of the tails has one that is about the session as a whole (it would be the old one again,
 * or something this path does not redo).
 */
function newFindings(mini: SessionAnalysis): Finding[] | null {
  const lines = new Set(mini.events.map((e) => `${e.shard}\n${e.line}`));
  const turns = new Set(mini.turns.flatMap((t) => [t.turnId, ...t.aliasTurnIds]));
  const out: Finding[] = [];
  for (const f of mini.findings) {
    // The sidecar's own shape problems: already indexed with the session (same sidecar).
    if (f.kind === 'invalid_sidecar' && f.turnId === undefined && f.shard === undefined) continue;
    const atNewLine = f.shard !== undefined && f.line !== undefined && lines.has(`${f.shard}\n${f.line}`);
    if (!atNewLine && !(f.turnId !== undefined && turns.has(f.turnId))) return null;
    out.push(f);
  }
  return out;
}

interface Placed {
  finding: Finding;
  /** Old findings that sort before it. */
  before: number;
}

/**
 * The session's journal findings as indexed, in order, with what compareFindings reads; null
 * when one's keys cannot be compared exactly.
 */
function oldFindings(db: Db, sid: string): Finding[] | null {
  const old: Finding[] = [];
  const rows = db.all(
    `SELECT ordinal, severity, CAST(shard AS BLOB) AS shard, line, CAST(kind AS BLOB) AS kind, CAST(turn_id AS BLOB) AS turn_id
     FROM findings WHERE session_id = ? AND source = 'journal' ORDER BY ordinal`,
    [sid],
  );
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const f: Finding = {
      kind: textOf(r.kind) as FindingKind,
      severity: String(r.severity) as Severity,
      sessionId: sid,
      message: '',
      shard: textOf(r.shard),
      line: r.line === null ? undefined : Number(r.line),
      turnId: textOf(r.turn_id),
    };
    if (Number(r.ordinal) !== i || [f.kind, f.shard ?? '', f.turnId ?? ''].some((x) => UNSAFE_TEXT.test(x))) return null;
    old.push(f);
  }
  return old;
}

/** Ordinals of the old findings that go: the `invalid_sidecar` finding of each turn that now finds its reply. */
function droppedFindings(old: readonly Finding[], updates: readonly TurnUpdate[]): number[] {
  const turns = new Set(updates.filter((u) => u.dropsFinding).map((u) => u.turnId));
  const out: number[] = [];
  if (turns.size === 0) return out;
  old.forEach((f, i) => {
    if (f.kind === 'invalid_sidecar' && f.shard === undefined && f.turnId !== undefined && turns.has(f.turnId)) out.push(i);
  });
  return out;
}

interface Placed {
  finding: Finding;
  /** Old findings that sort before it. */
  before: number;
}

/**
 * Where each new finding goes among the session's old ones (`compareFindings`, the order the
 * analysis sorts them in; a new finding never compares equal to an old one: it has a new
 * line or a new turn id).
 */
function placeFindings(old: readonly Finding[], findings: readonly Finding[]): Placed[] {
  return findings.map((finding) => {
    let before = 0;
    while (before < old.length && compareFindings(old[before], finding) < 0) before++;
    return { finding, before };
  });
}

/** The dropped old findings go, the others move by the new ones placed before them; the new ones go in between. */
function writeFindings(db: Db, writer: IndexWriter, sid: string, dropped: readonly number[], placed: readonly Placed[]): void {
  for (let j = dropped.length - 1; j >= 0; j--) {
    db.all("DELETE FROM findings WHERE session_id = ? AND source = 'journal' AND ordinal = ?", [sid, dropped[j]]);
    db.all("UPDATE findings SET ordinal = ordinal - 1 WHERE session_id = ? AND source = 'journal' AND ordinal > ?", [sid, dropped[j]]);
  }
  const after = placed.map((p) => ({ ...p, before: p.before - dropped.filter((d) => d < p.before).length }));
  for (let j = after.length - 1; j >= 0; j--) {
    db.all("UPDATE findings SET ordinal = ordinal + 1 WHERE session_id = ? AND source = 'journal' AND ordinal >= ?", [sid, after[j].before]);
  }
  after.forEach(({ finding: f, before }, j) => writer.writeFinding(journalFindingRow(sid, before + j, f)));
}

/** The grown shards' rows (the new fingerprint's prefix hashed from the bytes the planner read, when they hold it). */
function updateShards(db: Db, readers: readonly ShardReader[], prevShards: ReadonlyMap<string, PrevShard>): void {
  for (const r of readers) {
    const c = r.contents;
    db.all(
      `UPDATE shards SET size = ?, mtime_ms = ?, fingerprint = ?, committed_size = ?, lines = ?, events = events + ?, crlf_lines = crlf_lines + ?
       WHERE name = ?`,
      [
        c.size,
        c.mtimeMs,
        shardFingerprint(c.path, r.committedOffset, c.size, prevShards.get(c.name)?.known),
        r.committedOffset,
        c.lineCount,
        c.events.length,
        c.crlfLines,
        c.name,
      ],
    );
  }
}

/** The session's counts, activity and model with the new turns (sidecar the same: its title, model and status stay). */
function updateSession(db: Db, sid: string, mini: SessionAnalysis, findingsChanged: boolean): void {
  const withEvents = mini.turns.filter((t) => t.events.length > 0).length;
  // The sidecar's model, else the first turn's that has one: an old turn's when the row has one.
  const model = mini.turns.find((t) => t.model)?.model ?? null;
  const provider = mini.turns.find((t) => t.modelProvider)?.modelProvider ?? null;
  db.all(
    `UPDATE sessions SET event_count = event_count + ?, turn_count = turn_count + ?, collision_count = collision_count + ?,
       first_activity = coalesce(first_activity, ?), last_activity = coalesce(?, last_activity),
       model = coalesce(model, CAST(? AS TEXT)), model_provider = coalesce(model_provider, CAST(? AS TEXT))
     WHERE session_id = ?`,
    [mini.counts.events, withEvents, mini.counts.collisions, mini.firstActivity, mini.lastActivity, model, provider, sid],
  );
  if (!findingsChanged) return;
  db.all(
    `UPDATE sessions SET errors = f.errors, warnings = f.warnings, infos = f.infos,
       worst_severity = CASE WHEN f.errors THEN 'error' WHEN f.warnings THEN 'warning' WHEN f.infos THEN 'info' END
     FROM (SELECT coalesce(sum(severity = 'error'), 0) AS errors, coalesce(sum(severity = 'warning'), 0) AS warnings,
             coalesce(sum(severity = 'info'), 0) AS infos
           FROM findings WHERE session_id = ?1 AND source = 'journal') AS f
     WHERE session_id = ?1`,
    [sid],
  );
}
