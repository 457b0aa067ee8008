/**
 * Repair planning: a pure function of a session's analysis, its sidecar snapshot, what the
 * repair log already knows, and the options (clock included). No I/O here; apply.ts reads
 * the inputs and carries the plan out.
 *
 * What a plan may contain (docs/repair.md):
 * - `appends`: events appended to OUR shard `<sid>~audit.jsonl`: events recovered from glued
 *   lines, a `completed` closing each dangling turn that evidence shows was answered (sidecar
 *   reply, run journal settled `completed`), and an `interrupted` (reason `audit_repair`)
 *   closing each other dangling turn (every id of a split turn);
 * - `messages`: messages appended at the END of the sidecar's `messages` (a recovered user
 *   message when it is missing, and a visible interruption marker — never an answer, and
 *   never for a turn that evidence shows was answered; its cause is the run's outcome when
 *   the run journal settled one);
 * - `reviews`: malformed lines and torn tails of other processes' shards, recorded as seen;
 * - `dropOwnTail`: an incomplete last line of our own shard (a killed append) to drop;
 * - `skipped` (with the reason) and `human` (terminal collisions, never fixed automatically).
 */

import { canonicalJson } from '../jsonLine';
import type { SessionAnalysis, Turn } from '../analyze';
import type { AnswerEvidence } from '../evidence';
import type { Sidecar } from '../sidecar';
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
  kind: 'recovered_event' | 'interrupted_event' | 'completed_event';
  turnId: string;
  event: string;
  /** The exact line appended (without `\n`). */
  line: string;
  /** Where a recovered event was found. */
  from?: { shard: string; line: number; offset: number };
  /** What shows the turn was answered (completed) or why it ended (interrupted), in words. */
  evidence?: string[];
}

export interface PlannedMessage {
  kind: 'recovered_user_message' | 'interruption_marker';
  turnId: string;
  message: Record<string, unknown>;
  evidence?: string[];
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
  const journalView = new JournalView(analysis, plan, journal);
  recoverGluedEvents(analysis, plan, journalView);
  closeOpenTurns(analysis, sidecar, plan, journalView, options);
  recordReviews(analysis, plan, options);
  collisionsForHumans(analysis, plan, options);
  return plan;
}

/**
 * The journal as upstream will read it after the planned appends: the analysis's events minus
 * what upstream loses (glued events) and minus our own torn tail, plus what the plan adds.
 */
class JournalView {
  readonly events: JournalEvent[];
  readonly present: Set<string>;
  readonly added: JournalEvent[] = [];
  private readonly rank: (shard: string) => number;
  private nextLine = Number.MAX_SAFE_INTEGER / 2;

  constructor(analysis: SessionAnalysis, plan: SessionPlan, journal: Record<string, number>) {
    const dropped = (e: { shard: string; offset: number }): boolean =>
      plan.dropOwnTail !== null && e.shard === plan.ownShard && e.offset >= plan.dropOwnTail.offset;
    this.events = analysis.events.filter((e) => !dropped(e) && e.recovered !== true);
    this.present = new Set(this.events.map((e) => canonicalJson(e.data)));
    this.rank = rankByName([...new Set([...Object.keys(journal), plan.ownShard])]);
  }

  /** Upstream's derivation over the journal plus `extra`; ids in `alias` count as the id they map to. */
  simulate(extra: JournalEvent[] = [], alias?: ReadonlyMap<string, string>): ReturnType<typeof deriveStates> {
    let all = [...this.events, ...this.added, ...extra];
    if (alias && alias.size) all = all.map((e) => (alias.has(e.turnId) ? { ...e, turnId: alias.get(e.turnId)! } : e));
    return deriveStates(sortEvents(all, this.rank));
  }

  /** An event as it will sit in our own shard (for simulations). */
  ownCopy(e: JournalEvent, shard: string): JournalEvent {
    return { ...e, shard, line: this.nextLine++, recovered: false };
  }
}

/** Step 1. Glued events: recovered into our shard unless already present or unsafe. */
function recoverGluedEvents(analysis: SessionAnalysis, plan: SessionPlan, view: JournalView): void {
  const own = plan.ownShard;
  for (const m of analysis.malformed) {
    if (!m.glued || m.shard === own) continue;
    const g = m.glued;
    const key = canonicalJson(g.data);
    if (view.present.has(key)) continue;
    const what = `recover the "${g.name}" event glued in ${m.shard}:${m.line}`;
    if (g.nonStandardNumbers || hasNonFinite(g.data)) {
      plan.skipped.push({ turnId: g.turnId || undefined, what, reason: 'it holds NaN or Infinity, which cannot be written back unchanged', retry: false });
      continue;
    }
    const before = view.simulate();
    const candidate = view.ownCopy(g, own);
    const after = view.simulate([candidate]);
    if (g.turnId !== '') {
      const wasTerminal = before.states.get(g.turnId)?.terminal === true;
      if ((after.collisions.get(g.turnId)?.length ?? 0) > (before.collisions.get(g.turnId)?.length ?? 0)) {
        plan.skipped.push({
          turnId: g.turnId,
          what,
          reason: 'the turn already has a terminal event: recovering it would make a terminal collision',
          retry: false,
        });
        continue;
      }
      if (wasTerminal && after.states.get(g.turnId)?.terminal !== true) {
        plan.skipped.push({ turnId: g.turnId, what, reason: 'it is timed after the turn finished: recovering it would reopen the turn', retry: false });
        continue;
      }
    }
    view.added.push(candidate);
    view.present.add(key);
    plan.appends.push({
      kind: 'recovered_event',
      turnId: g.turnId,
      event: g.name,
      line: g.raw !== undefined ? ownLineFromRaw(g.raw) : serializeOwnEvent(g.data),
      from: { shard: m.shard, line: m.line, offset: m.offset },
    });
  }
}

/**
 * Step 2. Logical turns still open after step 1 and older than the stale threshold. An
 * answered turn is closed with `completed` (never a marker); the others get the recovered user
 * message, a marker with the real cause when the run journal knows it, and `interrupted`.
 */
function closeOpenTurns(analysis: SessionAnalysis, sidecar: SidecarSnapshot, plan: SessionPlan, view: JournalView, options: PlanOptions): void {
  const alias = new Map<string, string>();
  for (const t of analysis.turns) for (const a of t.aliasTurnIds) alias.set(a, t.turnId);
  const { states } = view.simulate([], alias);
  const byTurn = new Map<string, JournalEvent[]>();
  for (const e of [...view.events, ...view.added]) {
    const id = alias.get(e.turnId) ?? e.turnId;
    if (id === '') continue;
    const l = byTurn.get(id) ?? [];
    l.push(e);
    byTurn.set(id, l);
  }
  const ctx = new CloseContext(sidecar, plan, options);
  for (const t of analysis.turns) {
    const evs = byTurn.get(t.turnId);
    const latest = states.get(t.turnId);
    if (!evs || !latest || latest.terminal) continue;
    closeTurn(t, evs, latest, ctx);
  }
}

/** What closing a turn needs from the session: the sidecar's state and the plan being built. */
class CloseContext {
  readonly sc: Sidecar | null;
  readonly userContents = new Set<string>();
  readonly markedTurns = new Set<string>();
  readonly staleBefore: number;
  constructor(
    readonly sidecar: SidecarSnapshot,
    readonly plan: SessionPlan,
    readonly options: PlanOptions,
  ) {
    this.sc = sidecar.read.status === 'ok' ? sidecar.read.sidecar : null;
    if (this.sc) {
      for (const m of this.sc.messages) {
        if (m.role === 'user') this.userContents.add(m.content);
        const t = m.raw[MARKER_TURN_FIELD];
        if (typeof t === 'string') this.markedTurns.add(t);
      }
    }
    this.staleBefore = options.now - options.staleAfterMinutes * 60;
  }
}

type Skip = { reason: string; retry: boolean };

function closeTurn(t: Turn, evs: JournalEvent[], latest: JournalEvent, ctx: CloseContext): void {
  const { plan } = ctx;
  const turnId = t.turnId;
  const lastAt = newestCreatedAt(evs);
  // Without a usable created_at, the newest mtime of the files holding its events bounds its age.
  const ageBound = lastAt ?? t.ageBound;
  const ids = [turnId, ...t.aliasTurnIds];
  const what = `close dangling turn ${ids.join(' / ')} (stopped at "${latest.name}")`;
  const skip = (s: Skip): void => void plan.skipped.push({ turnId, what, reason: s.reason, retry: s.retry });
  if (ageBound === null)
    return skip({
      reason: 'none of its events has a usable created_at and its files have no usable mtime, so its age is unknown; close it by hand if its server is gone',
      retry: false,
    });
  if (ageBound >= ctx.staleBefore) return; // not dangling (yet)
  const ev = t.evidence;
  const evidence = ev ? ev.items.map((i) => i.detail) : [];
  const conflict = journalBlocker(t, evs, ctx, evidence);
  if (conflict) return skip(conflict);
  if (ev?.answered) return closeAnswered(t, ids, ev, evidence, ctx);
  const submitted = evs.find((e) => e.name === 'submitted');
  const content = submitted && typeof submitted.data.content === 'string' ? submitted.data.content : null;
  const blocked = sidecarBlocker(content, ctx);
  if (blocked) return skip(blocked);
  if (content !== null && !ctx.userContents.has(content)) planRecoveredUserMessage(turnId, submitted!, content, ctx);
  const alreadyMarked = ev?.items.some((i) => i.kind === 'sidecar_error_marker') === true;
  if (!ctx.markedTurns.has(turnId) && !alreadyMarked) planInterruptionMarker(turnId, latest, lastAt, ageBound, ev?.cause ?? null, evidence, ctx);
  planInterruptedEvents(ids, t.streamId, ev?.cause ?? null, evidence, ctx);
}

function newestCreatedAt(evs: JournalEvent[]): number | null {
  let lastAt: number | null = null;
  for (const e of evs)
    if (typeof e.createdAtRaw === 'number' && Number.isFinite(e.createdAtRaw) && (lastAt === null || e.createdAtRaw > lastAt)) lastAt = e.createdAtRaw;
  return lastAt;
}

/** Why the journal, the sidecar's live stream or the evidence forbid closing the turn at all. */
function journalBlocker(t: Turn, evs: JournalEvent[], ctx: CloseContext, evidence: string[]): Skip | null {
  if (evs.some((e) => e.terminal))
    return { reason: 'it has a terminal event that is not its latest (timestamps out of order): closing it would make a terminal collision', retry: false };
  if (t.streamId !== null && ctx.sc && ctx.sc.activeStreamId === t.streamId)
    return { reason: `the sidecar says this turn is live (active_stream_id = ${t.streamId})`, retry: true };
  if (t.evidence?.answered && t.evidence.failed)
    return { reason: `the evidence disagrees (${evidence.join('; ')}): it is neither closed as completed nor marked interrupted`, retry: false };
  return null;
}

/** Why the sidecar cannot take an interruption marker now. */
function sidecarBlocker(content: string | null, ctx: CloseContext): Skip | null {
  const { sc, sidecar, plan } = ctx;
  if (sidecar.read.status === 'missing')
    return { reason: `the session has no sidecar (${plan.sessionId}.json), so no interruption marker can be shown`, retry: false };
  if (!sc) return { reason: `the sidecar cannot be used${sidecar.read.status === 'invalid' ? `: ${sidecar.read.error}` : ''}`, retry: false };
  if (sc.pendingUserMessage !== null && content !== null && sc.pendingUserMessage === content) {
    return { reason: "the sidecar says this turn is live (its pending_user_message is this turn's message)", retry: true };
  }
  if (sc.activeStreamId !== null || sc.pendingUserMessage !== null) {
    return {
      reason:
        'another turn of this session is in progress (active_stream_id / pending_user_message set): its server rewrites the sidecar when that turn ends and would drop the repair',
      retry: true,
    };
  }
  return null;
}

/** The turn's user message, missing from the sidecar, comes back from its `submitted` event. */
function planRecoveredUserMessage(turnId: string, submitted: JournalEvent, content: string, ctx: CloseContext): void {
  const msg: Record<string, unknown> = {
    role: 'user',
    content,
    timestamp: Math.floor(typeof submitted.createdAtRaw === 'number' && Number.isFinite(submitted.createdAtRaw) ? submitted.createdAtRaw : ctx.options.now),
  };
  const att = submitted.data.attachments;
  if (Array.isArray(att) && att.length > 0) msg.attachments = att;
  msg._recovered = true;
  ctx.plan.messages.push({ kind: 'recovered_user_message', turnId, message: msg });
  ctx.userContents.add(content);
}

function planInterruptionMarker(
  turnId: string,
  latest: JournalEvent,
  lastAt: number | null,
  ageBound: number,
  cause: string | null,
  evidence: string[],
  ctx: CloseContext,
): void {
  const runSays = cause ? ` Its run journal says the run ended "${cause}".` : '';
  ctx.plan.messages.push({
    kind: 'interruption_marker',
    turnId,
    message: {
      role: 'assistant',
      content: `**Response interrupted.** This turn stopped at "${latest.name}" (last activity ${lastAt !== null ? utcText(lastAt) : `before ${utcText(ageBound)}`}) and never finished.${runSays} Bot Memory Auditor closed it on ${utcText(ctx.options.now)}; no answer was generated.`,
      timestamp: Math.floor(ctx.options.now),
      _error: true,
      type: 'interrupted',
      interruption_cause: cause ?? REPAIR_REASON,
      [MARKER_TURN_FIELD]: turnId,
    },
    ...(evidence.length ? { evidence } : {}),
  });
  ctx.markedTurns.add(turnId);
}

/** `interrupted` for each id of the logical turn, for our own shard. */
function planInterruptedEvents(ids: string[], streamId: string | null, cause: string | null, evidence: string[], ctx: CloseContext): void {
  for (const id of ids) {
    const interrupted: Record<string, unknown> = {
      event: 'interrupted',
      stream_id: streamId,
      reason: REPAIR_REASON,
      version: 1,
      session_id: ctx.plan.sessionId,
      turn_id: id,
      created_at: ctx.options.now,
      terminal: true,
    };
    if (cause) interrupted.run_outcome = cause;
    ctx.plan.appends.push({
      kind: 'interrupted_event',
      turnId: id,
      event: 'interrupted',
      line: serializeOwnEvent(interrupted),
      ...(evidence.length ? { evidence } : {}),
    });
  }
}

/**
 * An answered turn whose journal ends early: `completed` in upstream's field shape, appended to
 * our own shard (the sidecar is not touched, so a turn in progress elsewhere does not matter).
 */
function closeAnswered(t: Turn, ids: string[], ev: AnswerEvidence, evidence: string[], ctx: CloseContext): void {
  for (const id of ids) {
    const completed: Record<string, unknown> = {
      event: 'completed',
      stream_id: t.streamId,
      assistant_message_index: ev.assistantMessageIndex,
      version: 1,
      session_id: ctx.plan.sessionId,
      turn_id: id,
      created_at: ctx.options.now,
      terminal: true,
    };
    ctx.plan.appends.push({ kind: 'completed_event', turnId: id, event: 'completed', line: serializeOwnEvent(completed), evidence });
  }
}

/** Step 3. Malformed lines and torn tails of other shards: never edited, recorded as reviewed. */
function recordReviews(analysis: SessionAnalysis, plan: SessionPlan, options: PlanOptions): void {
  const sid = plan.sessionId;
  const own = plan.ownShard;
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
    plan.reviews.push({
      kind: 'torn_tail',
      shard: e.shard,
      line: e.line,
      offset: e.offset,
      length: e.length,
      note: 'left as is: a valid event without its final newline; upstream reads it',
    });
  }
}

/** Step 4. Terminal collisions: for a human. */
function collisionsForHumans(analysis: SessionAnalysis, plan: SessionPlan, options: PlanOptions): void {
  const sid = plan.sessionId;
  for (const t of analysis.turns) {
    if (!t.collision) continue;
    const refs = t.collision.map((e) => `${e.shard}:${e.line}`);
    const r = options.known.collisions.get(`${sid}\u0000${t.turnId}`);
    const reviewed = r && refs.every((x) => r.events.has(x)) ? { note: r.note, reviewer: r.reviewer, at: r.at } : null;
    plan.human.push({ kind: 'terminal_collision', turnId: t.turnId, events: t.collision.map((e) => `${e.name} (${e.shard}:${e.line})`), refs, reviewed });
  }
}
