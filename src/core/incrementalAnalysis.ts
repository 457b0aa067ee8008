/**
 * Incremental re-analysis of a live session: after an append, reuse the previous analysis'
 * sorted stream, derived states, turns and findings, and recompute only what the new events
 * touch. Exactly the full analysis' result (test/core/incrementalAnalysis.test.ts compares
 * them over random append sequences); whenever that cannot be guaranteed cheaply, the full
 * analysis runs instead (`lastRun.reason` says why).
 *
 * The incremental path is taken when, since the previous analysis:
 * - the run journals are the same (same objects); the sidecar read is the same, or both reads
 *   are readable sidecars and the new one's messages extend the old ones (sidecarDelta);
 * - every shard still there was only appended to (same event and malformed arrays, longer),
 *   had no torn final line before, and no new line holds a glued event;
 * - every new event sorts after the previous last one (FORMATS.md §1: created_at, then shard
 *   name, then line — a total order, so the new stream is the old one plus the new events);
 * - no new event belongs to a turn with a glued event (a copy may make the glued one a duplicate);
 * - split turns (core/evidence.ts) stay as they were: no turn's stream changes, no new turn
 *   joins a stream that has one, no turn of a shared stream gains or loses `submitted`.
 * Then the turns that received events are rebuilt (and any later turn whose claim on the
 * sidecar's user messages changes), new turns are appended, and the findings of rebuilt, new
 * and open turns (the clock), of new events and of the session as a whole are recomputed.
 */

import {
  analyzeFull,
  activityOf,
  claimOf,
  collectMalformed,
  compareRanked,
  eventFindings,
  findingEnv,
  FindingSink,
  finishTurn,
  indexOf,
  mtimesOf,
  newestMtime,
  Pass,
  passOf,
  perTurnFindings,
  sessionFindings,
  summarize,
  turnOf,
  type AnalysisParts,
  type AnalyzeContext,
  type AnalyzeOptions,
  type RankedFinding,
  type SessionAnalysis,
  type Turn,
} from './analyze';
import { compareEvents, pyFloatKey, rankByName, sortEvents } from './derive';
import type { RunSummary } from './runJournal';
import type { ShardContents } from './shardReader';
import type { UserMessageMatcher } from './evidence';
import type { Sidecar, SidecarRead } from './sidecar';
import { sidecarAppend, sidecarFieldsMayChange } from './sidecarAppend';
import type { JournalEvent, MalformedLine } from './types';

/** What a shard held at the previous analysis. */
interface ShardMark {
  contents: ShardContents;
  events: JournalEvent[];
  nEvents: number;
  malformed: MalformedLine[];
  nMalformed: number;
  tailEvent: JournalEvent | null;
  tailMalformed: MalformedLine | null;
  hasBom: boolean;
}

interface State {
  sessionId: string;
  parts: AnalysisParts;
  /** The sorted stream and the turns of the previous analysis (never changed: a new analysis gets new arrays). */
  events: JournalEvent[];
  turns: Turn[];
  shards: Map<string, ShardMark>;
  sidecarRead: SidecarRead;
  runs: [string, RunSummary][];
  /** Turn id (split turns: every id of the group) → its index in `turns`. */
  turnIndex: Map<string, number>;
  /** Stream id → how many turn ids have it (their first event with a stream id), as findSplitTurns counts. */
  streamTurns: Map<string, number>;
  /** Turn ids of glued events. */
  gluedTurns: Set<string>;
  /** Indices of the turns without a terminal event (their findings age with the clock), ascending. */
  open: number[];
  /** Indices of the turns without a finite created_at (aged by their files' mtime), ascending. */
  untimed: number[];
}

export interface IncrementalRun {
  path: 'full' | 'incremental';
  /** Why the full analysis ran (null on the incremental path, and for the first analysis). */
  reason: string | null;
}

/** How many claims on the sidecar's user messages a re-analysis may replay (each scans the messages). */
const MAX_CLAIM_WORK = 4_000_000;

export class IncrementalAnalyzer {
  private state: State | null = null;
  /** How the last analysis was computed (for tests and the bench). */
  lastRun: IncrementalRun = { path: 'full', reason: null };

  analyze(
    sessionId: string,
    shards: readonly ShardContents[],
    sidecarRead: SidecarRead,
    options: AnalyzeOptions,
    context: AnalyzeContext = {},
  ): SessionAnalysis {
    let reason: string | null = null;
    if (this.state) {
      const r = reanalyze(this.state, sessionId, shards, sidecarRead, options, context);
      if (typeof r !== 'string') {
        this.state = r.state;
        this.lastRun = { path: 'incremental', reason: null };
        return r.analysis;
      }
      reason = r;
    }
    this.state = null; // a failed attempt may have changed the parts' maps
    const { analysis, parts } = analyzeFull(sessionId, shards, sidecarRead, options, context, true);
    this.state = stateOf(sessionId, parts!, analysis, shards, sidecarRead, context.runs);
    this.lastRun = { path: 'full', reason };
    return analysis;
  }
}

function stateOf(
  sessionId: string,
  parts: AnalysisParts,
  a: SessionAnalysis,
  shards: readonly ShardContents[],
  sidecarRead: SidecarRead,
  runs: ReadonlyMap<string, RunSummary> | undefined,
): State {
  const turnIndex = new Map<string, number>();
  a.turns.forEach((t, i) => {
    turnIndex.set(t.turnId, i);
    for (const id of t.aliasTurnIds) turnIndex.set(id, i);
  });
  const streamTurns = new Map<string, number>();
  for (const evs of parts.byTurn.values()) {
    const s = firstStream(evs);
    if (s) streamTurns.set(s, (streamTurns.get(s) ?? 0) + 1);
  }
  return {
    sessionId,
    parts,
    events: a.events,
    turns: a.turns,
    shards: marks(shards),
    sidecarRead,
    runs: runs ? [...runs] : [],
    turnIndex,
    streamTurns,
    gluedTurns: new Set(parts.ctx.recoveredByTurn.keys()),
    open: indicesWhere(a.turns, (t) => !t.terminal),
    untimed: indicesWhere(a.turns, (t) => t.lastAt === null),
  };
}

function indicesWhere(turns: readonly Turn[], keep: (t: Turn) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < turns.length; i++) if (keep(turns[i])) out.push(i);
  return out;
}

/** `before` (ascending indices) with the changed turns re-tested. */
function updateIndices(before: readonly number[], turns: readonly Turn[], changed: ReadonlySet<number>, keep: (t: Turn) => boolean): number[] {
  const out = before.filter((i) => !changed.has(i));
  for (const i of changed) if (keep(turns[i])) out.push(i);
  return out.sort((a, b) => a - b);
}

/** `a` then `b`, in a new array allocated once (concat and slice + push copy more on large arrays). */
function joined<T>(a: readonly T[], b: readonly T[]): T[] {
  const out = new Array<T>(a.length + b.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  for (let j = 0; j < b.length; j++) out[a.length + j] = b[j];
  return out;
}

function marks(shards: readonly ShardContents[]): Map<string, ShardMark> {
  const m = new Map<string, ShardMark>();
  for (const s of shards) {
    m.set(s.name, {
      contents: s,
      events: s.events,
      nEvents: s.events.length,
      malformed: s.malformed,
      nMalformed: s.malformed.length,
      tailEvent: s.tailEvent,
      tailMalformed: s.tailMalformed,
      hasBom: s.hasBom,
    });
  }
  return m;
}

/** The stream id split turns are grouped by: the first event of the turn id that has one. */
function firstStream(evs: readonly JournalEvent[]): string | null {
  return evs.find((e) => e.streamId)?.streamId ?? null;
}

function sameRuns(prev: readonly [string, RunSummary][], runs: ReadonlyMap<string, RunSummary> | undefined): boolean {
  if ((runs?.size ?? 0) !== prev.length) return false;
  if (!runs) return true;
  let i = 0;
  for (const [k, v] of runs) {
    if (prev[i][0] !== k || prev[i][1] !== v) return false;
    i++;
  }
  return true;
}

function sameSidecar(a: SidecarRead, b: SidecarRead): boolean {
  return a === b || (a.status === 'missing' && b.status === 'missing' && a.path === b.path);
}

/** What a sidecar whose messages extend the previous one's changes (the previous turns' view of it). */
interface SidecarDelta {
  sidecar: Sidecar;
  userContents: Set<string>;
  /** The previous matcher, extended to the new sidecar (its claims kept). */
  matcher: UserMessageMatcher;
  /** Indices of previous turns whose sidecar-derived fields may change (buildTurn, finishTurn). */
  turns: number[];
  /** The first turn whose claim may change (a new user message it may take), or Infinity. */
  claimFrom: number;
}

/**
 * The new sidecar when both reads are readable sidecars of the same file and the new messages
 * extend the old ones (the common live case: hermes-webui rewrites `<sid>.json` when a turn starts
 * and ends, appending its user message, then its reply), with the previous turns it can change;
 * or why it cannot be followed incrementally (then the full analysis runs).
 *
 * Which turns' sidecar fields can change is core/sidecarAppend.ts' rule (shared with the SQLite
 * index's tail path). Besides those, through the claims: a turn that claimed the last old user
 * message (only that one's outcome scan can reach the new messages: every other one stops at the
 * next old user message), and a turn whose claim can now get a new message. Claims are handed out
 * in turn order, each to the first unclaimed candidate in message order, and new messages come
 * after all old ones: a turn that got a message still gets the same one while every earlier claim
 * is unchanged, and a turn that got none can change only if a new user message has its (trimmed)
 * content — so claims are replayed from the first such turn.
 */
function sidecarDelta(st: State, read: SidecarRead): SidecarDelta | string {
  const prev = st.sidecarRead;
  if (prev.status !== 'ok' || read.status !== 'ok') return 'the sidecar changed';
  const o = prev.sidecar;
  const n = read.sidecar;
  const matcher = st.parts.matcher;
  if (o.path !== n.path || !matcher) return 'the sidecar changed';
  const oldContents = st.parts.ctx.userContents;
  const d = sidecarAppend(o, n, oldContents);
  if (typeof d === 'string') return d;
  const { claims, ctx } = st.parts;
  const turns: number[] = [];
  let claimFrom = Infinity;
  st.turns.forEach((t, i) => {
    if (sidecarFieldsMayChange(d, t) || (claims[i] !== null && claims[i] === d.lastUser)) turns.push(i);
    if (claimFrom === Infinity && claims[i] === null && t.userMessage !== null && d.newTrimmed.has(t.userMessage.trim()) && claimOf(t, ctx) !== null)
      claimFrom = i;
  });
  // The previous parts are changed in place (as appendToTurns does): if this re-analysis fails, they are dropped.
  for (const c of d.newContents) oldContents.add(c);
  matcher.extend(n);
  return { sidecar: n, userContents: oldContents, matcher, turns, claimFrom };
}

/** The events added since the previous analysis (unsorted), or why the shards changed in another way. */
function newEvents(st: State, shards: readonly ShardContents[]): { fresh: JournalEvent[] } | string {
  const fresh: JournalEvent[] = [];
  const seen = new Set<string>();
  for (const s of shards) {
    seen.add(s.name);
    if (s.error !== undefined) return 'a shard cannot be read';
    const m = st.shards.get(s.name);
    const from = m ? m.nEvents : 0;
    if (m) {
      if (m.contents !== s || s.events !== m.events || s.malformed !== m.malformed || s.events.length < from || s.malformed.length < m.nMalformed)
        return 'a shard was read again from its start';
      if (s.hasBom !== m.hasBom) return 'a shard gained a byte-order mark';
      const same = s.tailEvent === m.tailEvent && s.tailMalformed === m.tailMalformed;
      if ((m.tailEvent || m.tailMalformed) && !same) return 'a torn final line was completed or grew';
    }
    for (let k = m ? m.nMalformed : 0; k < s.malformed.length; k++) if (s.malformed[k].glued) return 'a new line holds a glued event';
    if (s.tailMalformed?.glued && s.tailMalformed !== m?.tailMalformed) return 'a new line holds a glued event';
    for (let k = from; k < s.events.length; k++) fresh.push(s.events[k]);
    if (s.tailEvent && s.tailEvent !== m?.tailEvent) fresh.push(s.tailEvent);
  }
  if (seen.size !== shards.length) return 'a shard is listed twice';
  for (const name of st.shards.keys()) if (!seen.has(name)) return 'a shard was removed';
  return { fresh };
}

/** The incremental analysis, or why it cannot be used (then nothing returned is kept). */
function reanalyze(
  st: State,
  sessionId: string,
  shards: readonly ShardContents[],
  sidecarRead: SidecarRead,
  options: AnalyzeOptions,
  context: AnalyzeContext,
): { analysis: SessionAnalysis; state: State } | string {
  if (sessionId !== st.sessionId) return 'another session';
  const side = sameSidecar(sidecarRead, st.sidecarRead) ? null : sidecarDelta(st, sidecarRead);
  if (typeof side === 'string') return side;
  if (!sameRuns(st.runs, context.runs)) return 'the run journals changed';
  const delta = newEvents(st, shards);
  if (typeof delta === 'string') return delta;
  const rank = rankByName(shards.map((s) => s.name));
  const fresh = sortEvents(delta.fresh, rank);
  const last = st.events[st.events.length - 1];
  if (fresh.length > 0 && last !== undefined && compareEvents(rank)(last, fresh[0]) >= 0) return 'a new event sorts before the last one';
  for (const e of fresh) if (e.turnId !== '' && st.gluedTurns.has(e.turnId)) return 'a new event belongs to a turn with a glued event';

  const grown = appendToTurns(st, fresh);
  if (typeof grown === 'string') return grown;
  const ctx = { ...st.parts.ctx, mtimeOf: mtimesOf(shards), ...(side ? { sidecar: side.sidecar, userContents: side.userContents } : {}) };
  const parts: AnalysisParts = { ...st.parts, ctx, ...(side ? { matcher: side.matcher } : {}) };
  const turns = rebuildTurns(st, parts, grown, rank, side);
  if (typeof turns === 'string') return turns;

  const malformed = collectMalformed(shards);
  const ranked = refindings(st, parts, turns, { fresh, malformed, shards, sidecarRead, options, sessionId });
  const activity = activityOf(fresh, st.parts.activity);
  const events = joined(st.events, fresh);
  const sidecar = ctx.sidecar;
  const findings = ranked.map((r) => ({ ...r.f }));
  const analysis = summarize(sessionId, shards, events, turns.turns, malformed, findings, sidecar, sidecarRead, parts.collisions.size, activity);
  const state: State = {
    ...st,
    parts: { ...parts, ranked, activity },
    events,
    turns: turns.turns,
    shards: marks(shards),
    sidecarRead,
    open: updateIndices(st.open, turns.turns, turns.changed, (t) => !t.terminal),
    untimed: updateIndices(st.untimed, turns.turns, turns.changed, (t) => t.lastAt === null),
  };
  return { analysis, state };
}

/** Turn ids whose events changed, and turn ids seen for the first time (in order of first appearance). */
interface Grown {
  touched: Set<string>;
  created: string[];
}

/**
 * Continues the derivation (latest event per turn, collisions) and the grouping by turn over
 * the new events; a turn's event list and collision are copied before they grow (the previous
 * analysis holds them).
 */
function appendToTurns(st: State, fresh: readonly JournalEvent[]): Grown | string {
  const { states, byTurn, collisions } = st.parts;
  const touched = new Set<string>();
  const created: string[] = [];
  const before = new Map<string, { stream: string | null; submitted: boolean }>();
  for (const e of fresh) {
    const id = e.turnId;
    if (id === '') continue;
    const prev = states.get(id);
    if (prev === undefined || pyFloatKey(e.createdAtRaw) >= pyFloatKey(prev.createdAtRaw)) states.set(id, e);
    let list = byTurn.get(id);
    if (!list) {
      list = [];
      created.push(id);
    } else if (!touched.has(id)) {
      before.set(id, { stream: firstStream(list), submitted: list.some((x) => x.name === 'submitted') });
      list = list.slice();
    }
    touched.add(id);
    list.push(e);
    byTurn.set(id, list);
  }
  for (const id of touched) {
    const terminals = byTurn.get(id)!.filter((x) => x.terminal);
    if (terminals.length > 1) collisions.set(id, terminals);
    else collisions.delete(id);
  }
  const why = splitsChanged(st, before, created);
  return why ?? { touched, created };
}

/** Why the split turns may have changed (then the full analysis regroups them), or null. */
function splitsChanged(st: State, before: ReadonlyMap<string, { stream: string | null; submitted: boolean }>, created: readonly string[]): string | null {
  const { byTurn } = st.parts;
  for (const [id, was] of before) {
    const list = byTurn.get(id)!;
    if (firstStream(list) !== was.stream) return "a turn's stream id changed";
    const submitted = list.some((x) => x.name === 'submitted');
    if (submitted !== was.submitted && was.stream !== null && (st.streamTurns.get(was.stream) ?? 0) > 1) return 'a turn of a shared stream gained "submitted"';
  }
  for (const id of created) {
    const s = firstStream(byTurn.get(id)!);
    if (s === null) continue;
    const n = st.streamTurns.get(s) ?? 0;
    if (n > 0) return 'a new turn id shares a stream with another turn';
    st.streamTurns.set(s, n + 1);
  }
  return null;
}

interface Rebuilt {
  turns: Turn[];
  /** Indices of turns that are new objects (rebuilt, re-claimed, new, or a new age bound). */
  changed: Set<number>;
}

/** The new turn list: touched turns rebuilt, claims replayed where they changed, new turns appended. */
function rebuildTurns(st: State, parts: AnalysisParts, grown: Grown, rank: (shard: string) => number, side: SidecarDelta | null): Rebuilt | string {
  const inp = { ...parts, rank };
  const changed = new Set<number>();
  const indices = [...grown.touched].filter((id) => st.turnIndex.has(id)).map((id) => st.turnIndex.get(id)!);
  if (side) indices.push(...side.turns);
  const rebuilt = new Map<number, Turn>();
  for (const i of indices) if (!rebuilt.has(i)) rebuilt.set(i, turnOf(st.turns[i].turnId, inp));
  const replayed = replayClaims(st, parts, rebuilt, inp, side?.claimFrom ?? Infinity);
  if (typeof replayed === 'string') return replayed;
  const created = grown.created.map((id) => turnOf(id, inp));
  const turns = joined(st.turns, created);
  for (const [i, t] of rebuilt) {
    finishTurn(t, parts.ctx, replayed.get(i) ?? null);
    turns[i] = t;
    changed.add(i);
  }
  created.forEach((t, k) => {
    const op = claimOf(t, parts.ctx);
    const result = op && parts.matcher ? parts.matcher.claim(op.content, op.at) : null;
    parts.claims.push(result);
    finishTurn(t, parts.ctx, result);
    const i = st.turns.length + k;
    st.turnIndex.set(grown.created[k], i);
    changed.add(i);
  });
  // A turn without a finite created_at is aged by the mtime of its files, which an append changes.
  for (const i of st.untimed) {
    const t = turns[i];
    if (changed.has(i)) continue;
    if (newestMtime(t.events, parts.ctx.mtimeOf) === t.ageBound) continue;
    // Rebuilt, not copied (a turn may be a class with computed fields); its claim is unchanged.
    const again = turnOf(t.turnId, inp);
    finishTurn(again, parts.ctx, parts.claims[i]);
    turns[i] = again;
    changed.add(i);
  }
  return { turns, changed };
}

/**
 * The sidecar's user messages are claimed turn by turn, in order. A rebuilt turn whose claim is
 * unchanged gets what it got before; from the first one whose claim changed, every later claim
 * is replayed, and a turn whose result changes is rebuilt too. Returns each rebuilt turn's result.
 */
function replayClaims(
  st: State,
  parts: AnalysisParts,
  rebuilt: Map<number, Turn>,
  inp: Parameters<typeof turnOf>[1],
  claimFrom: number,
): Map<number, number | null> | string {
  const { claims, matcher, ctx } = parts;
  const ops = new Map<number, ReturnType<typeof claimOf>>();
  let from = claimFrom;
  for (const [i, t] of rebuilt) {
    const op = claimOf(t, ctx);
    ops.set(i, op);
    const was = claimOf(st.turns[i], ctx); // what the turn claimed before (from the previous turn)
    if (op === null ? was !== null : was === null || was.content !== op.content || !Object.is(was.at, op.at)) from = Math.min(from, i);
  }
  const results = new Map<number, number | null>();
  for (const i of rebuilt.keys()) results.set(i, claims[i]);
  if (from === Infinity || !matcher) return results;
  const n = st.turns.length;
  if ((n - from) * (ctx.sidecar!.messages.length + 1) > MAX_CLAIM_WORK) return 'a changed claim on the sidecar would replay too many turns';
  for (let j = from; j < n; j++) if (claims[j] !== null) matcher.claimed.delete(claims[j]!);
  for (let j = from; j < n; j++) {
    const op = rebuilt.has(j) ? ops.get(j)! : claimOf(st.turns[j], ctx);
    const result = op ? matcher.claim(op.content, op.at) : null;
    if (!rebuilt.has(j) && result !== claims[j]) rebuilt.set(j, turnOf(st.turns[j].turnId, inp));
    claims[j] = result;
    if (rebuilt.has(j)) results.set(j, result);
  }
  return results;
}

interface FindingInputs {
  fresh: readonly JournalEvent[];
  malformed: readonly MalformedLine[];
  shards: readonly ShardContents[];
  sidecarRead: SidecarRead;
  options: AnalyzeOptions;
  sessionId: string;
}

/**
 * The previous findings without those recomputed (session-wide ones, and those of changed and
 * open turns: the clock ages open turns), merged with the recomputed ones and those of the new
 * events — in the full analysis' order (compareRanked).
 */
function refindings(st: State, parts: AnalysisParts, rebuilt: Rebuilt, inp: FindingInputs): RankedFinding[] {
  const redo = new Set(rebuilt.changed);
  for (const i of st.open) redo.add(i);
  for (const i of rebuilt.changed) if (!rebuilt.turns[i].terminal) redo.add(i);
  const kept = parts.ranked.filter((r) => {
    const pass = passOf(r);
    if (pass === Pass.event) return true;
    if (pass === Pass.line || pass === Pass.sidecarShape || pass === Pass.runWithoutTurn) return false;
    return !redo.has(indexOf(r));
  });
  const sink = new FindingSink(inp.sessionId);
  sessionFindings(inp.shards, inp.malformed, inp.sidecarRead, rebuilt.turns, parts.ctx, sink);
  eventFindings(inp.fresh, st.events.length, sink);
  const env = findingEnv(inp.sessionId, inp.options, inp.malformed, parts.ctx);
  for (const i of [...redo].sort((a, b) => a - b)) perTurnFindings(i, rebuilt.turns[i], env, sink);
  return mergeRanked(kept, sink.out.sort(compareRanked));
}

function mergeRanked(a: readonly RankedFinding[], b: readonly RankedFinding[]): RankedFinding[] {
  const out: RankedFinding[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = compareRanked(a[i], b[j]) <= 0 ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}
