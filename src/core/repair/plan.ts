/**
 * Repair planning: a pure function of a session's analysis, its sidecar snapshot, what the
 * repair log already knows, and the options (clock included). No I/O here; apply.ts reads
 * the inputs and carries the plan out.
 *
 * What a plan may contain (docs/repair.md):
 * - `appends`: events appended to OUR shard `<sid>~audit.jsonl`: events recovered from glued
 *   lines, and an `interrupted` (reason `audit_repair`) closing each dangling turn;
 * - `messages`: messages appended at the END of the sidecar's `messages` (a recovered user
 *   message when it is missing, and a visible interruption marker — never an answer);
 * - `reviews`: malformed lines and torn tails of other processes' shards, recorded as seen;
 * - `dropOwnTail`: an incomplete last line of our own shard (a killed append) to drop;
 * - `skipped` (with the reason) and `human` (terminal collisions, never fixed automatically).
 */

import { canonicalJson } from '../jsonLine';
import type { SessionAnalysis } from '../analyze';
import { deriveStates, rankByName, sortEvents } from '../derive';
import type { SidecarRead } from '../sidecar';
import type { JournalEvent } from '../types';
import { lineKey, type KnownReviews } from './log';

export const AUDIT_SHARD_TAG = 'audit';
export const REPAIR_REASON = 'audit_repair';
export const MARKER_TURN_FIELD = '_audit_turn_id';

export function auditShardName(sessionId: string): string {
  return `${sessionId}~${AUDIT_SHARD_TAG}.jsonl`;
}

export interface Fingerprint {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

export interface SidecarSnapshot {
  /** Absolute path of `<sid>.json`. */
  path: string;
  /** The bytes as text (null when missing). */
  text: string | null;
  fingerprint: Fingerprint | null;
  read: SidecarRead;
}

export interface PlanOptions {
  /** Epoch seconds. */
  now: number;
  staleAfterMinutes: number;
  known: KnownReviews;
}

export interface PlannedAppend {
  kind: 'recovered_event' | 'interrupted_event';
  turnId: string;
  event: string;
  /** The exact line appended (without `\n`). */
  line: string;
  /** Where a recovered event was found. */
  from?: { shard: string; line: number; offset: number };
}

export interface PlannedMessage {
  kind: 'recovered_user_message' | 'interruption_marker';
  turnId: string;
  message: Record<string, unknown>;
}

export interface PlannedReview {
  kind: 'malformed_line' | 'torn_tail';
  shard: string;
  line: number;
  offset: number;
  length: number;
  note: string;
}

export interface PlanSkip {
  turnId?: string;
  what: string;
  reason: string;
  /** True when a later run may do it (a live turn, a changed file); false when it needs a human. */
  retry: boolean;
}

export interface HumanItem {
  kind: 'terminal_collision';
  turnId: string;
  /** The terminal events, `name (shard:line)`. */
  events: string[];
  /** `shard:line` of each terminal event (what a review records). */
  refs: string[];
  reviewed: { note: string; reviewer?: string; at: string } | null;
}

export interface SessionPlan {
  sessionId: string;
  title: string | null;
  sidecarPath: string;
  sidecarFingerprint: Fingerprint | null;
  /** Shard name → size when planned; apply refuses the session if any changed. */
  journal: Record<string, number>;
  ownShard: string;
  dropOwnTail: { offset: number; size: number } | null;
  messages: PlannedMessage[];
  appends: PlannedAppend[];
  reviews: PlannedReview[];
  skipped: PlanSkip[];
  human: HumanItem[];
}

export interface RepairPlan {
  version: 1;
  sessionsDir: string;
  now: number;
  staleAfterMinutes: number;
  sessions: SessionPlan[];
}

/** True when the session plan writes something. */
export function hasWork(p: SessionPlan): boolean {
  return p.messages.length > 0 || p.appends.length > 0 || p.reviews.length > 0 || p.dropOwnTail !== null;
}

export function planIsEmpty(plan: RepairPlan): boolean {
  return !plan.sessions.some(hasWork);
}

export { canonicalJson };

/**
 * A line for our own shard: compact like upstream, non-ASCII raw, except U+0085, U+2028 and
 * U+2029, which are written as `\u` escapes (same JSON value) so that upstream's
 * `splitlines()` reader cannot break our line in two.
 */
export function serializeOwnEvent(event: Record<string, unknown>): string {
  return JSON.stringify(event).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A recovered (glued) event appended as its bytes were written — no JSON re-serialisation, so
 * `12345678901234567891`, `-0.0` and `709.0` stay as they are — with only U+0085/U+2028/U+2029
 * (which can only occur inside JSON strings) written as `\u` escapes, as in serializeOwnEvent.
 */
export function ownLineFromRaw(raw: string): string {
  return raw.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (Array.isArray(v)) return v.some(hasNonFinite);
  if (v !== null && typeof v === 'object') return Object.values(v as object).some(hasNonFinite);
  return false;
}

function utcText(epoch: number): string {
  return Number.isFinite(epoch) ? new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ') + ' UTC' : 'an unknown time';
}

export function planSession(analysis: SessionAnalysis, sidecar: SidecarSnapshot, journal: Record<string, number>, options: PlanOptions): SessionPlan {
  const sid = analysis.sessionId;
  const own = auditShardName(sid);
  const plan: SessionPlan = {
    sessionId: sid,
    title: analysis.title,
    sidecarPath: sidecar.path,
    sidecarFingerprint: sidecar.fingerprint,
    journal,
    ownShard: own,
    dropOwnTail: null,
    messages: [],
    appends: [],
    reviews: [],
    skipped: [],
    human: [],
  };

  // Our own shard's incomplete last line (a killed append) is dropped and redone.
  const ownTail = analysis.findings.find((f) => f.kind === 'torn_tail' && f.shard === own);
  if (ownTail && ownTail.offset !== undefined) plan.dropOwnTail = { offset: ownTail.offset, size: journal[own] ?? 0 };
  const dropped = (e: { shard: string; offset: number }): boolean => plan.dropOwnTail !== null && e.shard === own && e.offset >= plan.dropOwnTail.offset;

  // Upstream's view: the analysis also lists glued events it recovered (flag `recovered`);
  // those are exactly what upstream loses, so they are not "present".
  const events: JournalEvent[] = analysis.events.filter((e) => !dropped(e) && e.recovered !== true);
  const present = new Set(events.map((e) => canonicalJson(e.data)));
  const shardNames = [...new Set([...Object.keys(journal), own])];
  const rank = rankByName(shardNames);
  let nextLine = Number.MAX_SAFE_INTEGER / 2;
  const simulate = (extra: JournalEvent[]) => deriveStates(sortEvents([...events, ...extra], rank));
  const added: JournalEvent[] = [];

  // 1. Glued events: recover into our shard unless already present or unsafe.
  for (const m of analysis.malformed) {
    if (!m.glued || m.shard === own) continue;
    const g = m.glued;
    const key = canonicalJson(g.data);
    if (present.has(key)) continue;
    const what = `recover the "${g.name}" event glued in ${m.shard}:${m.line}`;
    if (g.nonStandardNumbers || hasNonFinite(g.data)) {
      plan.skipped.push({ turnId: g.turnId || undefined, what, reason: 'it holds NaN or Infinity, which cannot be written back unchanged', retry: false });
      continue;
    }
    const before = simulate(added);
    const candidate: JournalEvent = { ...g, shard: own, line: nextLine++, recovered: false };
    const after = simulate([...added, candidate]);
    if (g.turnId !== '') {
      const wasTerminal = before.states.get(g.turnId)?.terminal === true;
      if ((after.collisions.get(g.turnId)?.length ?? 0) > (before.collisions.get(g.turnId)?.length ?? 0)) {
        plan.skipped.push({ turnId: g.turnId, what, reason: 'the turn already has a terminal event: recovering it would make a terminal collision', retry: false });
        continue;
      }
      if (wasTerminal && after.states.get(g.turnId)?.terminal !== true) {
        plan.skipped.push({ turnId: g.turnId, what, reason: 'it is timed after the turn finished: recovering it would reopen the turn', retry: false });
        continue;
      }
    }
    added.push(candidate);
    present.add(key);
    plan.appends.push({ kind: 'recovered_event', turnId: g.turnId, event: g.name, line: g.raw !== undefined ? ownLineFromRaw(g.raw) : serializeOwnEvent(g.data), from: { shard: m.shard, line: m.line, offset: m.offset } });
  }

  // 2. Dangling turns, judged on the journal as it will be after step 1.
  const { states } = simulate(added);
  const byTurn = new Map<string, JournalEvent[]>();
  for (const e of sortEvents([...events, ...added], rank)) {
    if (e.turnId === '') continue;
    const l = byTurn.get(e.turnId) ?? [];
    l.push(e);
    byTurn.set(e.turnId, l);
  }
  const sc = sidecar.read.status === 'ok' ? sidecar.read.sidecar : null;
  const userContents = new Set<string>();
  const markedTurns = new Set<string>();
  if (sc) {
    for (const m of sc.messages) {
      if (m.role === 'user') userContents.add(m.content);
      const t = m.raw[MARKER_TURN_FIELD];
      if (typeof t === 'string') markedTurns.add(t);
    }
  }
  const staleBefore = options.now - options.staleAfterMinutes * 60;
  for (const [turnId, evs] of byTurn) {
    const latest = states.get(turnId);
    if (!latest || latest.terminal) continue;
    let lastAt: number | null = null;
    for (const e of evs) if (typeof e.createdAtRaw === 'number' && Number.isFinite(e.createdAtRaw) && (lastAt === null || e.createdAtRaw > lastAt)) lastAt = e.createdAtRaw;
    const submitted = evs.find((e) => e.name === 'submitted');
    const streamId = submitted?.streamId ?? evs.find((e) => e.streamId)?.streamId ?? null;
    const what = `close dangling turn ${turnId} (stopped at "${latest.name}")`;
    const skip = (reason: string, retry: boolean): void => void plan.skipped.push({ turnId, what, reason, retry });
    if (lastAt === null) {
      skip('none of its events has a usable created_at, so its age is unknown; close it by hand if its server is gone', false);
      continue;
    }
    if (lastAt >= staleBefore) continue; // not dangling (yet)
    if (evs.some((e) => e.terminal)) {
      skip('it has a terminal event that is not its latest (timestamps out of order): closing it would make a terminal collision', false);
      continue;
    }
    if (sidecar.read.status === 'missing') {
      skip(`the session has no sidecar (${sid}.json), so no interruption marker can be shown`, false);
      continue;
    }
    if (!sc) {
      skip(`the sidecar cannot be used${sidecar.read.status === 'invalid' ? `: ${sidecar.read.error}` : ''}`, false);
      continue;
    }
    const content = submitted && typeof submitted.data.content === 'string' ? submitted.data.content : null;
    if (streamId !== null && sc.activeStreamId === streamId) {
      skip(`the sidecar says this turn is live (active_stream_id = ${streamId})`, true);
      continue;
    }
    if (sc.pendingUserMessage !== null && content !== null && sc.pendingUserMessage === content) {
      skip('the sidecar says this turn is live (its pending_user_message is this turn\'s message)', true);
      continue;
    }
    if (sc.activeStreamId !== null || sc.pendingUserMessage !== null) {
      skip('another turn of this session is in progress (active_stream_id / pending_user_message set): its server rewrites the sidecar when that turn ends and would drop the repair', true);
      continue;
    }
    if (content !== null && !userContents.has(content)) {
      const msg: Record<string, unknown> = { role: 'user', content, timestamp: Math.floor(typeof submitted!.createdAtRaw === 'number' && Number.isFinite(submitted!.createdAtRaw) ? submitted!.createdAtRaw : options.now) };
      const att = submitted!.data.attachments;
      if (Array.isArray(att) && att.length > 0) msg.attachments = att;
      msg._recovered = true;
      plan.messages.push({ kind: 'recovered_user_message', turnId, message: msg });
      userContents.add(content);
    }
    if (!markedTurns.has(turnId)) {
      plan.messages.push({
        kind: 'interruption_marker',
        turnId,
        message: {
          role: 'assistant',
          content: `**Response interrupted.** This turn stopped at "${latest.name}" (last activity ${utcText(lastAt)}) and never finished. Bot Memory Auditor closed it on ${utcText(options.now)}; no answer was generated.`,
          timestamp: Math.floor(options.now),
          _error: true,
          type: 'interrupted',
          interruption_cause: REPAIR_REASON,
          [MARKER_TURN_FIELD]: turnId,
        },
      });
      markedTurns.add(turnId);
    }
    const interrupted: Record<string, unknown> = {
      event: 'interrupted',
      stream_id: streamId,
      reason: REPAIR_REASON,
      version: 1,
      session_id: sid,
      turn_id: turnId,
      created_at: options.now,
      terminal: true,
    };
    plan.appends.push({ kind: 'interrupted_event', turnId, event: 'interrupted', line: serializeOwnEvent(interrupted) });
  }

  // 3. Malformed lines and torn tails of other shards: never edited, recorded as reviewed.
  const recoveredFrom = new Set(plan.appends.filter((a) => a.from).map((a) => `${a.from!.shard}\u0000${a.from!.offset}`));
  for (const m of analysis.malformed) {
    if (m.shard === own) continue;
    if (options.known.lines.has(lineKey(sid, m.shard, m.offset, m.length))) continue;
    let note: string;
    if (m.glued) {
      const skipped = plan.skipped.find((s) => s.what.includes(`glued in ${m.shard}:${m.line}`));
      note = skipped
        ? `left as is; the glued "${m.glued.name}" event was not recovered: ${skipped.reason}`
        : recoveredFrom.has(`${m.shard}\u0000${m.offset}`)
          ? `left as is; the glued "${m.glued.name}" event is recovered into ${own}`
          : `left as is; the glued "${m.glued.name}" event is already present in the journal`;
    } else if (m.torn) {
      note = `left as is: torn final line (${m.length} bytes) of another process's shard; its lost event cannot be rebuilt`;
    } else {
      note = `left as is: ${m.detail}`;
    }
    plan.reviews.push({ kind: m.torn ? 'torn_tail' : 'malformed_line', shard: m.shard, line: m.line, offset: m.offset, length: m.length, note });
  }
  for (const f of analysis.findings) {
    if (f.kind !== 'torn_tail' || f.severity !== 'warning' || f.shard === undefined || f.shard === own || f.offset === undefined) continue;
    const e = analysis.events.find((x) => x.shard === f.shard && x.offset === f.offset && x.recovered !== true);
    if (!e || options.known.lines.has(lineKey(sid, e.shard, e.offset, e.length))) continue;
    plan.reviews.push({ kind: 'torn_tail', shard: e.shard, line: e.line, offset: e.offset, length: e.length, note: 'left as is: a valid event without its final newline; upstream reads it' });
  }

  // 4. Terminal collisions: for a human.
  for (const t of analysis.turns) {
    if (!t.collision) continue;
    const refs = t.collision.map((e) => `${e.shard}:${e.line}`);
    const r = options.known.collisions.get(`${sid}\u0000${t.turnId}`);
    const reviewed = r && refs.every((x) => r.events.has(x)) ? { note: r.note, reviewer: r.reviewer, at: r.at } : null;
    plan.human.push({ kind: 'terminal_collision', turnId: t.turnId, events: t.collision.map((e) => `${e.name} (${e.shard}:${e.line})`), refs, reviewed });
  }
  return plan;
}
