/**
 * From the raw contents of a session's shards and its sidecar to the turn model and the
 * findings. Pure: no I/O, the clock is passed in.
 */

import { compareEvents, deriveStates, pyFloatRaises, rankByName, sortEvents } from './derive';
import { canonicalJson } from './jsonLine';
import { fieldsOf, hasLazyContent } from './compactEvent';
import { messageText, scanTurnEvents, submittedOf, TurnRecord } from './turnRecord';
import { compareNames } from './sessionId';
import type { ShardContents } from './shardReader';
import type { Sidecar, SidecarRead } from './sidecar';
import type { Finding, FindingKind, JournalEvent, MalformedLine, Severity } from './types';
import { KNOWN_EVENTS, SEVERITY_RANK } from './types';
import { findSplitTurns, gatherEvidence, UserMessageMatcher, type AnswerEvidence, type SplitGroup } from './evidence';
import { RUN_FAILURE_OUTCOMES, type RunSummary } from './runJournal';
import type { UpstreamView } from './upstreamView';

export interface AnalyzeOptions {
  /** Current time, epoch seconds. */
  now: number;
  /** A non-terminal turn whose last event is older than this is dangling. */
  staleAfterSeconds: number;
}

export const DEFAULT_STALE_AFTER_MINUTES = 60;

export interface TurnStep {
  name: string;
  at: number | null;
  /** Seconds since the turn's first event (null when either time is unknown). */
  sinceStart: number | null;
  /** Seconds since the previous step. */
  sincePrevious: number | null;
  shard: string;
  line: number;
  terminal: boolean;
  /** Recovered from a glued line: counted by us, lost to upstream's reader until repaired. */
  recovered: boolean;
}

export interface Turn {
  turnId: string;
  streamId: string | null;
  /** Every event of the turn in the documented sorted order. */
  events: JournalEvent[];
  /** One step per event, computed when read (core/turnRecord.ts: a turn keeps none). */
  readonly steps: TurnStep[];
  /** Name of the latest event (upstream's derived state). */
  state: string;
  terminal: boolean;
  /** The submitted event's `content`; read back from its line when asked if kept by reference (core/compactEvent.ts). */
  readonly userMessage: string | null;
  attachments: unknown[];
  model: string | null;
  modelProvider: string | null;
  workspace: string | null;
  /** The reason of the latest `interrupted` event, when the turn's state is `interrupted`. */
  reason: string | null;
  startedAt: number | null;
  lastAt: number | null;
  /** Computed from the events when read (core/turnRecord.ts). */
  readonly durations: {
    toWorker: number | null;
    toAssistant: number | null;
    toTerminal: number | null;
    total: number | null;
  };
  assistantMessageIndex: number | null;
  assistantReply: string | null;
  /** The turn's terminal events when there are more than one. */
  collision: JournalEvent[] | null;
  hasSubmitted: boolean;
  /** The stream is the sidecar's active_stream_id: a turn in progress. */
  live: boolean;
  /** The submitted content appears among the sidecar's user messages. */
  userMessageSaved: boolean;
  /** Events recovered from glued lines (counted here; upstream loses them until repaired). */
  recovered: JournalEvent[];
  /** Other turn ids of this logical turn: upstream's writer split it (same stream_id). */
  aliasTurnIds: string[];
  /** Why upstream's writer split it (when `aliasTurnIds` is not empty). */
  splitCause: string | null;
  /** `lastAt`, or when no event has a usable `created_at`, the newest mtime of the files holding its events. */
  ageBound: number | null;
  /** For a turn without a terminal event: whether something shows it was answered. */
  evidence: AnswerEvidence | null;
  /** Its run journal (`_run_journal/<sid>/<stream_id>.jsonl`), when read. */
  run: RunBrief | null;
}

export interface ShardSummary {
  name: string;
  size: number;
  mtimeMs: number;
  lines: number;
  events: number;
  malformed: number;
  tornTail: boolean;
  hasBom: boolean;
  crlfLines: number;
  error?: string;
}

export interface SessionAnalysis {
  sessionId: string;
  title: string | null;
  model: string | null;
  modelProvider: string | null;
  shards: ShardSummary[];
  /** Every valid event, glued ones recovered (flag `recovered`), in the documented order. */
  events: JournalEvent[];
  turns: Turn[];
  /** Every malformed physical line, torn tails included, by shard then line. */
  malformed: MalformedLine[];
  findings: Finding[];
  sidecar: Sidecar | null;
  sidecarStatus: 'ok' | 'missing' | 'invalid';
  sidecarError?: string;
  firstActivity: number | null;
  lastActivity: number | null;
  counts: {
    events: number;
    turns: number;
    open: number;
    byState: Record<string, number>;
    collisions: number;
    malformed: number;
    findings: Record<Severity, number>;
  };
  worstSeverity: Severity | null;
  /** What hermes-webui's own reader and audit say (core/upstreamView.ts), when computed. */
  upstream?: UpstreamView;
}

/** What the analysis needs besides the shards and the sidecar (read beforehand; analysis stays pure). */
export interface AnalyzeContext {
  /** Run-journal summaries of the session by run id (= stream id), when its `_run_journal/<sid>/` was read. */
  runs?: ReadonlyMap<string, RunSummary>;
}

export function analyzeSession(
  sessionId: string,
  shards: readonly ShardContents[],
  sidecarRead: SidecarRead,
  options: AnalyzeOptions,
  context: AnalyzeContext = {},
): SessionAnalysis {
  return analyzeFull(sessionId, shards, sidecarRead, options, context, false).analysis;
}

/**
 * What an incremental re-analysis (core/incrementalAnalysis.ts) continues from: the full
 * analysis' intermediate results. Its maps are the re-analysis' own; the arrays they hold
 * (a turn's events, a collision) are shared with the analysis returned and never changed.
 */
export interface AnalysisParts {
  states: Map<string, JournalEvent>;
  collisions: Map<string, JournalEvent[]>;
  byTurn: Map<string, JournalEvent[]>;
  splitOf: Map<string, SplitGroup>;
  ctx: TurnContext;
  matcher: UserMessageMatcher | null;
  /**
   * Per turn (same index as `analysis.turns`): what its claim on the sidecar's user messages got
   * (claimOf says what it claimed: the claim is not kept, it holds the user message).
   */
  claims: (number | null)[];
  /** The findings (pristine: the analysis holds copies) with where they were emitted, in the analysis' order. */
  ranked: RankedFinding[];
  activity: Activity;
}

/** The whole analysis; with `keep`, also the parts an incremental re-analysis continues from. */
export function analyzeFull(
  sessionId: string,
  shards: readonly ShardContents[],
  sidecarRead: SidecarRead,
  options: AnalyzeOptions,
  context: AnalyzeContext,
  keep: boolean,
): { analysis: SessionAnalysis; parts: AnalysisParts | null } {
  const rank = rankByName(shards.map((s) => s.name));
  const malformed = collectMalformed(shards);
  const events = mergeShards(shards, malformed, rank) ?? sortEvents(collectEvents(shards, malformed), rank);
  const { states, collisions } = deriveStates(events);
  const sidecar = sidecarRead.status === 'ok' ? sidecarRead.sidecar : null;

  const byTurn = groupByTurn(events);
  const splitOf = splitIndex(findSplitTurns(byTurn, bomShards(shards)));
  const ctx = turnContext(malformed, sidecar, shards, context.runs);
  const matcher = sidecar ? new UserMessageMatcher(sidecar) : null;
  const claims: (number | null)[] | null = keep ? [] : null;
  const turns = buildTurns({ byTurn, splitOf, states, collisions, ctx, matcher, claims, rank });

  const sink = new FindingSink(sessionId);
  sessionFindings(shards, malformed, sidecarRead, turns, ctx, sink);
  eventFindings(events, 0, sink);
  const env = findingEnv(sessionId, options, malformed, ctx);
  for (let i = 0; i < turns.length; i++) perTurnFindings(i, turns[i], env, sink);

  const ranked = sink.out.sort(compareRanked);
  const activity = activityOf(events, null);
  const findings = ranked.map((r) => (keep ? { ...r.f } : r.f));
  const analysis = summarize(sessionId, shards, events, turns, malformed, findings, sidecar, sidecarRead, collisions.size, activity);
  const parts = keep ? { states, collisions, byTurn, splitOf, ctx, matcher, claims: claims!, ranked, activity } : null;
  return { analysis, parts };
}

type AddFinding = (kind: FindingKind, severity: Severity, message: string, where?: Partial<Finding>) => void;

/** Which pass emitted a finding: with the index of the event or turn it is about, its place in emission order. */
export const Pass = { line: 0, event: 1, turn: 2, lifecycle: 3, sidecarShape: 4, sidecarTurn: 5, runTurn: 6, runWithoutTurn: 7 } as const;
const PASS_SPAN = 2 ** 40;

/** A finding and where it was emitted (pass, index, then order within): the tie-break of the findings' sort. */
export interface RankedFinding {
  f: Finding;
  /** pass * 2^40 + the index of the event or turn (0 for session-wide passes). */
  major: number;
  minor: number;
}

export function passOf(r: RankedFinding): number {
  return Math.floor(r.major / PASS_SPAN);
}

export function indexOf(r: RankedFinding): number {
  return r.major % PASS_SPAN;
}

/** Findings sorted by compareFindings, ties in the order the passes emitted them (what a stable sort gives). */
export function compareRanked(a: RankedFinding, b: RankedFinding): number {
  return compareFindings(a.f, b.f) || a.major - b.major || a.minor - b.minor;
}

/** Collects findings with their emission rank; `at` says which pass and event/turn the next ones are about. */
export class FindingSink {
  readonly out: RankedFinding[] = [];
  private major = 0;
  private minor = 0;
  constructor(readonly sessionId: string) {}

  at(pass: number, index: number): void {
    this.major = pass * PASS_SPAN + index;
    this.minor = 0;
  }

  readonly add: AddFinding = (kind, severity, message, where = {}) => {
    this.out.push({ f: { kind, severity, sessionId: this.sessionId, message, ...where }, major: this.major, minor: this.minor++ });
  };
}

/** Every valid event of the shards (torn-tail events included, glued events of `malformed` recovered). */
function collectEvents(shards: readonly ShardContents[], malformed: readonly MalformedLine[]): JournalEvent[] {
  let n = 0;
  for (const s of shards) n += s.events.length + (s.tailEvent ? 1 : 0);
  // Exact size (a list grown by push keeps up to a third of its slots empty).
  const all: JournalEvent[] = new Array<JournalEvent>(n);
  let k = 0;
  for (const s of shards) {
    for (const e of s.events) all[k++] = e;
    if (s.tailEvent) all[k++] = s.tailEvent;
  }
  // A glued event is lost to upstream's reader; ours must not lose it (FORMATS.md §1), unless
  // an identical copy is already present (e.g. repair appended it to the auditor's shard).
  const glued = malformed.filter((m) => m.glued !== undefined).map((m) => m.glued!);
  if (glued.length > 0) {
    const present = new Set(all.filter((e) => glued.some((g) => g.turnId === e.turnId)).map((e) => canonicalJson(e.data)));
    for (const g of glued) {
      const c = canonicalJson(g.data);
      if (!present.has(c)) {
        all.push(g);
        present.add(c);
      }
    }
  }
  return all;
}

/** Above this many shards, merging compares too many heads per event: sortEvents is used. */
const MERGE_MAX_SHARDS = 8;

/**
 * The shards' events in the documented order (sortEvents' result) without a sort, when each
 * shard's events (its torn tail's last) are already in `created_at` order — the usual case: every
 * process appends in time order — by merging the shards, the lowest `created_at` first, ties to
 * the shard first by name. Null (sort them) when a shard is out of order, a glued event is to be
 * recovered, or there are more than MERGE_MAX_SHARDS shards.
 */
function mergeShards(shards: readonly ShardContents[], malformed: readonly MalformedLine[], rank: (shard: string) => number): JournalEvent[] | null {
  const k = shards.length;
  if (k > MERGE_MAX_SHARDS || malformed.some((m) => m.glued !== undefined)) return null;
  const pos = new Uint32Array(k);
  const len = new Uint32Array(k);
  const key = new Float64Array(k);
  const ranks = new Float64Array(k);
  const lines = new Float64Array(k);
  const at = (r: number, j: number): JournalEvent => (j < shards[r].events.length ? shards[r].events[j] : shards[r].tailEvent!);
  let n = 0;
  for (let r = 0; r < k; r++) {
    len[r] = shards[r].events.length + (shards[r].tailEvent ? 1 : 0);
    ranks[r] = rank(shards[r].name);
    n += len[r];
    if (len[r] > 0) {
      key[r] = at(r, 0).sortKey;
      lines[r] = at(r, 0).line;
    }
  }
  const out = new Array<JournalEvent>(n);
  for (let o = 0; o < n; o++) {
    let b = -1;
    for (let r = 0; r < k; r++) {
      if (pos[r] < len[r] && (b < 0 || key[r] < key[b] || (key[r] === key[b] && ranks[r] < ranks[b]))) b = r;
    }
    out[o] = at(b, pos[b]++);
    if (pos[b] < len[b]) {
      const e = at(b, pos[b]);
      const next = e.sortKey;
      // Out of order (or, never expected, lines not ascending): the sort decides.
      if (next < key[b] || e.line <= lines[b]) return null;
      key[b] = next;
      lines[b] = e.line;
    }
  }
  return out;
}

/** Every malformed physical line, torn tails included, by shard then line. */
export function collectMalformed(shards: readonly ShardContents[]): MalformedLine[] {
  const malformed: MalformedLine[] = [];
  for (const s of shards) {
    for (const m of s.malformed) malformed.push(m);
    if (s.tailMalformed) malformed.push(s.tailMalformed);
  }
  return malformed;
}

function bomShards(shards: readonly ShardContents[]): Set<string> {
  return new Set(shards.filter((s) => s.hasBom).map((s) => s.name));
}

/**
 * Events by turn id, in order of first appearance in the sorted stream (events without an id
 * are left out). Each list has exactly its events' slots (counted first: a list grown by push
 * holds 17 slots for a turn's usual 4 events), so a turn keeps its list as it is.
 */
function groupByTurn(events: readonly JournalEvent[]): Map<string, JournalEvent[]> {
  const count = new Map<string, number>();
  for (const ev of events) if (ev.turnId !== '') count.set(ev.turnId, (count.get(ev.turnId) ?? 0) + 1);
  const byTurn = new Map<string, JournalEvent[]>();
  for (const [id, n] of count) byTurn.set(id, new Array<JournalEvent>(n));
  count.clear();
  for (const ev of events) {
    if (ev.turnId === '') continue;
    const k = count.get(ev.turnId) ?? 0;
    byTurn.get(ev.turnId)![k] = ev;
    count.set(ev.turnId, k + 1);
  }
  return byTurn;
}

function splitIndex(splits: readonly SplitGroup[]): Map<string, SplitGroup> {
  const splitOf = new Map<string, SplitGroup>();
  for (const g of splits) for (const id of g.ids) splitOf.set(id, g);
  return splitOf;
}

/** What every turn is built from besides its own events: the same for all turns of one analysis. */
export interface TurnContext {
  sidecar: Sidecar | null;
  /** The sidecar's user messages. */
  userContents: Set<string>;
  /** Events recovered from glued lines, by turn id. */
  recoveredByTurn: Map<string, JournalEvent[]>;
  /** Shard name → mtime, epoch seconds. */
  mtimeOf: Map<string, number>;
  runs: ReadonlyMap<string, RunSummary> | undefined;
}

export function turnContext(
  malformed: readonly MalformedLine[],
  sidecar: Sidecar | null,
  shards: readonly ShardContents[],
  runs: ReadonlyMap<string, RunSummary> | undefined,
): TurnContext {
  const recoveredByTurn = new Map<string, JournalEvent[]>();
  for (const m of malformed) {
    if (m.glued && m.glued.turnId !== '') {
      const list = recoveredByTurn.get(m.glued.turnId) ?? [];
      list.push(m.glued);
      recoveredByTurn.set(m.glued.turnId, list);
    }
  }
  return { sidecar, userContents: userContentsOf(sidecar), recoveredByTurn, mtimeOf: mtimesOf(shards), runs };
}

/** The contents of the sidecar's user messages (a turn's user message is "saved" when it is one of them). */
export function userContentsOf(sidecar: Sidecar | null): Set<string> {
  const out = new Set<string>();
  if (sidecar) for (const m of sidecar.messages) if (m.role === 'user') out.add(m.content);
  return out;
}

export function mtimesOf(shards: readonly ShardContents[]): Map<string, number> {
  return new Map(shards.map((s) => [s.name, s.mtimeMs / 1000]));
}

interface TurnInputs {
  byTurn: Map<string, JournalEvent[]>;
  splitOf: Map<string, SplitGroup>;
  states: Map<string, JournalEvent>;
  collisions: Map<string, JournalEvent[]>;
  ctx: TurnContext;
  matcher: UserMessageMatcher | null;
  /** When given, receives what each turn's claim got (in turn order). */
  claims: (number | null)[] | null;
  rank: (shard: string) => number;
}

/**
 * One Turn per logical turn: the ids of a split turn become one (its first id, the others in
 * `aliasTurnIds`); a turn without a terminal event gets the evidence of whether it was answered.
 */
function buildTurns(inp: TurnInputs): Turn[] {
  const turns: Turn[] = [];
  for (const turnId of inp.byTurn.keys()) {
    const group = inp.splitOf.get(turnId);
    if (group && group.ids[0] !== turnId) continue; // merged into the group's first id
    const t = turnOf(turnId, inp);
    const op = claimOf(t, inp.ctx);
    const result = op && inp.matcher ? inp.matcher.claim(op.content, op.at) : null;
    inp.claims?.push(result);
    finishTurn(t, inp.ctx, result);
    turns.push(t);
  }
  return turns;
}

/** The turn of `turnId` (of its split group when it is a group's first id), before finishTurn. */
export function turnOf(turnId: string, inp: Pick<TurnInputs, 'byTurn' | 'splitOf' | 'states' | 'collisions' | 'ctx' | 'rank'>): Turn {
  const { ctx } = inp;
  const group = inp.splitOf.get(turnId);
  if (!group) {
    const rec = ctx.recoveredByTurn.get(turnId) ?? [];
    return buildTurn(turnId, inp.byTurn.get(turnId)!, inp.states.get(turnId)!, inp.collisions.get(turnId) ?? null, ctx.sidecar, ctx.userContents, rec);
  }
  // The group's events in the sorted order (the order is total: created_at, shard, line).
  const merged = sortEvents(
    group.ids.flatMap((id) => inp.byTurn.get(id)!),
    inp.rank,
  );
  const cmp = compareEvents(inp.rank);
  let latest: JournalEvent = inp.states.get(group.ids[0])!;
  for (const id of group.ids.slice(1)) {
    const l = inp.states.get(id)!;
    if (l.sortKey > latest.sortKey || (l.sortKey === latest.sortKey && cmp(l, latest) > 0)) latest = l;
  }
  const coll = group.ids.flatMap((id) => inp.collisions.get(id) ?? []);
  const rec = group.ids.flatMap((id) => ctx.recoveredByTurn.get(id) ?? []);
  const t = buildTurn(turnId, merged, latest, coll.length ? coll : null, ctx.sidecar, ctx.userContents, rec);
  t.aliasTurnIds = group.ids.slice(1);
  t.splitCause = group.cause;
  return t;
}

/**
 * The claim a turn makes on the sidecar's user messages, in turn order (null: none): an open
 * turn looks for its user message (its evidence), a terminal one takes it, so a later
 * unanswered turn asking the same never borrows it.
 */
export function claimOf(t: Turn, ctx: TurnContext): { content: string; at: number | null } | null {
  if (!ctx.sidecar || t.userMessage === null) return null;
  if (t.terminal) return { content: t.userMessage, at: t.startedAt };
  if (t.userMessage.trim() === '') return null;
  const sub = t.events.find((e) => e.name === 'submitted');
  return { content: t.userMessage, at: sub ? finiteOrNull(sub.createdAtRaw) : t.startedAt };
}

/** Age bound, run and (open turns) evidence; `claimed` is what the turn's claim got (claimOf). */
export function finishTurn(t: Turn, ctx: TurnContext, claimed: number | null): void {
  t.ageBound = t.lastAt ?? newestMtime(t.events, ctx.mtimeOf);
  const run = t.streamId !== null ? ctx.runs?.get(t.streamId) : undefined;
  if (run) t.run = runBrief(run);
  if (!t.terminal) {
    const sub = t.events.find((e) => e.name === 'submitted');
    t.evidence = gatherEvidence({
      streamId: t.streamId,
      userMessage: t.userMessage,
      submittedAt: sub ? finiteOrNull(sub.createdAtRaw) : t.startedAt,
      sidecar: ctx.sidecar,
      matcher: ctx.sidecar ? { claim: () => claimed } : null,
      run,
    });
  }
}

/** Newest mtime (epoch seconds) of the files holding these events: an upper bound of their time. */
export function newestMtime(evs: readonly JournalEvent[], mtimeOf: ReadonlyMap<string, number>): number | null {
  let best: number | null = null;
  for (const e of evs) {
    const m = mtimeOf.get(e.shard);
    if (m !== undefined && m > 0 && (best === null || m > best)) best = m;
  }
  return best;
}

export interface RunBrief {
  runId: string;
  outcome: string;
  /** What upstream's own summary says (null: its read raises). */
  upstreamOutcome: string | null;
  /** The authoritative terminal event: name and seq. */
  terminalEvent: string | null;
  terminalSeq: number | null;
  ownsRun: boolean;
  lastSeq: number | null;
  size: number;
}

function runBrief(r: RunSummary): RunBrief {
  return {
    runId: r.runId,
    outcome: r.outcome,
    upstreamOutcome: r.upstreamOutcome,
    terminalEvent: r.terminal?.event ?? null,
    terminalSeq: r.terminal?.seq ?? null,
    ownsRun: r.terminalOwnsRun,
    lastSeq: r.lastSeq,
    size: r.size,
  };
}

/** The session-wide findings: lines and shards, the sidecar's shape, runs without a turn. */
export function sessionFindings(
  shards: readonly ShardContents[],
  malformed: readonly MalformedLine[],
  sidecarRead: SidecarRead,
  turns: readonly Turn[],
  ctx: TurnContext,
  sink: FindingSink,
): void {
  sink.at(Pass.line, 0);
  lineFindings(shards, malformed, sink.add);
  sink.at(Pass.sidecarShape, 0);
  sidecarFindings(sink.sessionId, sidecarRead, ctx.sidecar, sink.add);
  sink.at(Pass.runWithoutTurn, 0);
  runWithoutTurnFindings(sink.sessionId, turns, ctx.runs, sink.add);
}

/** What the per-turn findings depend on besides the turn. */
export interface FindingEnv {
  sessionId: string;
  staleBefore: number;
  now: number;
  /** The first line upstream cannot decode (its writer then drops lifecycle events). */
  bad: MalformedLine | undefined;
  sidecar: Sidecar | null;
  runs: ReadonlyMap<string, RunSummary> | undefined;
}

export function findingEnv(sessionId: string, options: AnalyzeOptions, malformed: readonly MalformedLine[], ctx: TurnContext): FindingEnv {
  return {
    sessionId,
    staleBefore: options.now - options.staleAfterSeconds,
    now: options.now,
    bad: malformed.find((m) => m.kind === 'invalid_utf8'),
    sidecar: ctx.sidecar,
    runs: ctx.runs && ctx.runs.size > 0 ? ctx.runs : undefined,
  };
}

/** Every finding about turn `i` (its place in `turns`), pass by pass. */
export function perTurnFindings(i: number, t: Turn, env: FindingEnv, sink: FindingSink): void {
  sink.at(Pass.turn, i);
  turnFindings(t, env.staleBefore, env.now, sink.add);
  if (env.bad && !t.terminal) {
    sink.at(Pass.lifecycle, i);
    lifecycleFindings(t, env.bad, sink.add);
  }
  if (env.sidecar) {
    sink.at(Pass.sidecarTurn, i);
    sidecarTurnFindings(t, sink.add);
  }
  if (env.runs) {
    sink.at(Pass.runTurn, i);
    runFindings(env.sessionId, t, env.runs, sink.add);
  }
}

/** Findings about lines: unreadable shards, malformed lines, torn tails, glued events, BOMs. */
function lineFindings(shards: readonly ShardContents[], malformed: readonly MalformedLine[], add: AddFinding): void {
  for (const s of shards) {
    if (s.error !== undefined) add('unreadable_shard', 'error', `${s.name} cannot be read: ${s.error}`, { shard: s.name });
  }
  const invalidUtf8Shards = new Set<string>();
  for (const m of malformed) {
    const where = { shard: m.shard, line: m.line, offset: m.offset };
    if (m.torn) {
      add(
        'torn_tail',
        'error',
        `torn final line (no newline, ${m.length} bytes): an append was cut off; the next append by the same process will be glued onto it`,
        where,
      );
    } else {
      add('malformed_line', 'error', `malformed line: ${m.detail}`, where);
    }
    if (m.glued) {
      const g = m.glued;
      add('glued_event', 'error', `a complete "${g.name}" event is glued after a torn write (at byte ${m.gluedAt} of the line); upstream loses it`, {
        ...where,
        turnId: g.turnId || undefined,
      });
    }
    if (m.kind === 'invalid_utf8') invalidUtf8Shards.add(m.shard);
  }
  for (const shard of invalidUtf8Shards) {
    add('upstream_incompatible_line', 'info', `invalid UTF-8 in this shard: upstream's reader raises and cannot read this session at all`, { shard });
  }
  if (invalidUtf8Shards.size > 0) {
    const first = malformed.find((m) => m.kind === 'invalid_utf8')!;
    add(
      'upstream_unreadable',
      'error',
      `hermes-webui cannot read this session: invalid UTF-8 in ${[...invalidUtf8Shards].join(', ')} makes its reader raise, so its audit crashes and its writer drops every later lifecycle event of the session ("Make Readable for hermes-webui" / repair --sanitize moves the undecodable lines aside)`,
      { shard: first.shard, line: first.line, offset: first.offset },
    );
  }
  for (const s of shards) {
    if (s.hasBom) {
      add(
        'upstream_incompatible_line',
        'info',
        "the shard starts with a UTF-8 byte-order mark: upstream's reader (utf-8, not utf-8-sig) reads line 1 as malformed",
        { shard: s.name, line: 1, offset: 0 },
      );
    }
    if (s.tailEvent) {
      add('torn_tail', 'warning', `valid event without its final newline: the next append by the same process will be glued onto it`, {
        shard: s.name,
        line: s.tailEvent.line,
        offset: s.tailEvent.offset,
        turnId: s.tailEvent.turnId || undefined,
      });
    }
  }
}

/** Findings about single events: no turn id, bad created_at, NaN, Python hazards, unknown names. */
export function eventFindings(events: readonly JournalEvent[], base: number, sink: FindingSink): void {
  const add = sink.add;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    const ca = ev.createdAtRaw;
    // The common case, an event with nothing to report, allocates nothing.
    if (
      ev.turnId !== '' &&
      typeof ca === 'number' &&
      Number.isFinite(ca) &&
      !ev.nonStandardNumbers &&
      !ev.pythonHazard &&
      !ev.pythonLineBreaks &&
      KNOWN_EVENTS.has(ev.name)
    )
      continue;
    sink.at(Pass.event, base + i);
    const where = { shard: ev.shard, line: ev.line, offset: ev.offset, turnId: ev.turnId || undefined };
    if (ev.turnId === '') add('event_without_turn_id', 'warning', `"${ev.name}" event has no turn_id; upstream ignores it`, where);
    if (typeof ca !== 'number' || !Number.isFinite(ca)) {
      const raises = pyFloatRaises(ca);
      const what = ca === undefined ? 'missing' : typeof ca === 'number' ? String(ca) : JSON.stringify(ca);
      add(
        'invalid_created_at',
        raises ? 'error' : 'warning',
        `created_at is ${what}${raises ? ": upstream's state derivation raises as soon as it compares this event with another of its turn" : '; it sorts as 0'}`,
        where,
      );
      if (raises) add('upstream_incompatible_line', 'info', `non-numeric created_at that makes upstream's reader raise for the whole session`, where);
    }
    if (ev.nonStandardNumbers)
      add('nonstandard_number', 'info', `NaN or Infinity in the line, which only Python's JSON accepts (strict JSON readers reject the line)`, where);
    if (ev.pythonHazard) add('upstream_incompatible_line', 'warning', `${ev.pythonHazard}: upstream's reader fails for the whole session`, where);
    if (ev.pythonLineBreaks)
      add(
        'upstream_incompatible_line',
        'info',
        `U+2028, U+2029, U+0085 or another character that Python's splitlines() breaks on: upstream reads this event as malformed lines`,
        where,
      );
    if (ev.name === '') add('unknown_event', 'warning', `event has no event name`, where);
    else if (!KNOWN_EVENTS.has(ev.name)) add('unknown_event', 'info', `unknown event "${ev.name}" (shown, not rejected)`, where);
  }
}

/** Findings about one turn: collisions, orphans, split turns, disorder, interruptions, open turns. */
function turnFindings(t: Turn, staleBefore: number, now: number, add: AddFinding): void {
  if (t.events.length === 0) return; // only recovered events
  const first = t.events[0];
  const where = { turnId: t.turnId, shard: first.shard, line: first.line, offset: first.offset };
  if (t.collision) {
    const names = t.collision.map((e) => `${e.name} (${e.shard}:${e.line})`).join(' and ');
    for (const e of t.collision) {
      add('terminal_collision', 'warning', `turn ${t.turnId} has ${t.collision.length} terminal events: ${names}`, {
        turnId: t.turnId,
        shard: e.shard,
        line: e.line,
        offset: e.offset,
      });
    }
  }
  if (t.aliasTurnIds.length > 0) {
    add(
      'split_turn',
      'warning',
      `turns ${[t.turnId, ...t.aliasTurnIds].join(' and ')} are one turn (stream ${t.streamId}) split in two by upstream's writer: ${t.splitCause}`,
      where,
    );
  } else if (!t.hasSubmitted) {
    add('orphan_turn', 'warning', `turn ${t.turnId} has no "submitted" event`, where);
  }
  const disorder = outOfOrder(t.events);
  if (disorder)
    add('out_of_order', 'warning', `turn ${t.turnId}: ${disorder.message}`, {
      turnId: t.turnId,
      shard: disorder.event.shard,
      line: disorder.event.line,
      offset: disorder.event.offset,
    });
  if (t.state === 'interrupted') {
    add('interrupted_turn', 'info', `turn ${t.turnId} was interrupted${t.reason ? ` (${t.reason})` : ''}`, locate(t, 'interrupted') ?? where);
  }
  if (!t.terminal) openTurnFindings(t, staleBefore, now, add);
}

function openTurnFindings(t: Turn, staleBefore: number, now: number, add: AddFinding): void {
  const submitted = t.events.find((e) => e.name === 'submitted') ?? t.events[0];
  const at = { turnId: t.turnId, shard: submitted.shard, line: submitted.line, offset: submitted.offset };
  if (t.userMessage !== null && !t.userMessageSaved) {
    add('pending_turn', 'warning', `turn ${t.turnId} is not finished and its user message is missing from the sidecar's messages`, at);
  }
  const ev = t.evidence;
  const said = ev && ev.items.length ? ` Evidence: ${ev.items.map((i) => i.detail).join('; ')}.` : '';
  const verdict = ev?.answered
    ? ' It WAS answered: repair closes it as completed, never with an interruption marker.'
    : ev?.failed && ev.cause
      ? ` Its run ended "${ev.cause}".`
      : '';
  if (t.lastAt !== null && t.lastAt < staleBefore) {
    // A crash leaves the sidecar naming the dead stream as active, so an old "live" turn
    // is reported too; repair leaves it alone while the sidecar marks it active.
    const note = t.live ? ' (the sidecar still names its stream as active: a crashed worker, or a very long turn)' : '';
    add(
      'dangling_turn',
      'warning',
      `turn ${t.turnId} stopped at "${t.state}" ${formatAge(now - t.lastAt)} ago and never finished${note}.${verdict}${said}`,
      at,
    );
  } else if (t.lastAt === null && !t.live) {
    // No event of the turn has a finite created_at (NaN, Infinity, a string…): the newest
    // mtime of the files holding its events bounds its age.
    const bound = t.ageBound !== null ? `; its files were last written ${formatAge(now - t.ageBound)} ago` : '';
    add(
      'dangling_turn',
      'warning',
      `turn ${t.turnId} stopped at "${t.state}" at an unknown time (no event has a finite created_at${bound}) and never finished.${verdict}${said}`,
      at,
    );
  }
}

/**
 * A session upstream cannot read (invalid UTF-8): its writer raises before every lifecycle
 * event, so each turn since stops at "submitted". The sidecar shows what really happened.
 */
function lifecycleFindings(t: Turn, bad: MalformedLine, add: AddFinding): void {
  if (t.terminal || t.state !== 'submitted') return;
  const ev = t.evidence;
  const what = ev?.answered
    ? `the sidecar shows it was answered (${ev.items.map((i) => i.detail).join('; ')})`
    : ev?.failed
      ? `it ended without an answer (${ev.items.map((i) => i.detail).join('; ')})`
      : ev?.userMessageIndex !== null && ev?.userMessageIndex !== undefined
        ? `the sidecar holds its user message (messages[${ev.userMessageIndex}]) but no reply`
        : 'the sidecar does not show it either';
  const sub = t.events.find((e) => e.name === 'submitted') ?? t.events[0];
  add(
    'lifecycle_dropped',
    'warning',
    `turn ${t.turnId} stops at "submitted" because hermes-webui's writer gave up on this session (invalid UTF-8 at ${bad.shard}:${bad.line} makes its reader raise, so no later lifecycle event was written); ${what}`,
    { turnId: t.turnId, shard: sub.shard, line: sub.line, offset: sub.offset },
  );
}

/** Findings about the sidecar's shape. */
function sidecarFindings(sessionId: string, sidecarRead: SidecarRead, sidecar: Sidecar | null, add: AddFinding): void {
  if (sidecarRead.status === 'invalid') {
    add('invalid_sidecar', 'error', `sidecar ${sessionId}.json cannot be used: ${sidecarRead.error}`);
  } else if (sidecar && sidecar.problems.length > 0) {
    add(
      'invalid_sidecar',
      'warning',
      `sidecar ${sessionId}.json: ${sidecar.problems.slice(0, 5).join('; ')}${sidecar.problems.length > 5 ? ` (+${sidecar.problems.length - 5} more)` : ''}`,
    );
  }
}

/** A turn pointing at an answer the sidecar does not have (when there is a sidecar). */
function sidecarTurnFindings(t: Turn, add: AddFinding): void {
  if (t.assistantMessageIndex !== null && t.assistantReply === null && t.state === 'completed') {
    add(
      'invalid_sidecar',
      'warning',
      `turn ${t.turnId} points at assistant message ${t.assistantMessageIndex}, which the sidecar does not have as an assistant message`,
      { turnId: t.turnId },
    );
  }
}

/** Where the turn journal and the run journal disagree: reported, never guessed between. */
function runFindings(sessionId: string, t: Turn, runs: ReadonlyMap<string, RunSummary>, add: AddFinding): void {
  if (t.streamId === null) return;
  const r = runs.get(t.streamId);
  if (!r || r.error) return;
  const where = { turnId: t.turnId };
  const file = `_run_journal/${sessionId}/${r.runId}.jsonl`;
  if (t.state === 'completed' && RUN_FAILURE_OUTCOMES.has(r.outcome)) {
    add('run_disagreement', 'warning', `turn ${t.turnId}: the turn journal says "completed" but its run settled "${r.outcome}" (${file})`, where);
  } else if (t.state === 'interrupted' && r.outcome === 'completed') {
    add('run_disagreement', 'warning', `turn ${t.turnId}: the turn journal says "interrupted" but its run settled "completed" (${file})`, where);
  } else if (t.terminal && r.outcome === 'running') {
    add(
      'run_unsettled',
      'info',
      `turn ${t.turnId} is "${t.state}" but its run never settled (${file} ends at "${r.lastEvent ?? '?'}", seq ${r.lastSeq ?? '?'})`,
      where,
    );
  }
}

/** Runs whose stream no turn has. */
function runWithoutTurnFindings(sessionId: string, turns: readonly Turn[], runs: ReadonlyMap<string, RunSummary> | undefined, add: AddFinding): void {
  if (!runs || runs.size === 0) return;
  const streams = new Set<string>();
  for (const t of turns) if (t.streamId !== null) streams.add(t.streamId);
  for (const [runId, r] of runs) {
    if (streams.has(runId)) continue;
    add('run_without_turn', 'info', `run ${runId} (_run_journal/${sessionId}/${runId}.jsonl, settled "${r.outcome}") has no turn in the turn journal`);
  }
}

export interface Activity {
  firstActivity: number | null;
  lastActivity: number | null;
}

/** The earliest and latest finite created_at of `events`, continuing from `from`. */
export function activityOf(events: readonly JournalEvent[], from: Activity | null): Activity {
  let firstActivity = from?.firstActivity ?? null;
  let lastActivity = from?.lastActivity ?? null;
  for (const e of events) {
    const v = e.createdAtRaw;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (firstActivity === null || v < firstActivity) firstActivity = v;
    if (lastActivity === null || v > lastActivity) lastActivity = v;
  }
  return { firstActivity, lastActivity };
}

export function summarize(
  sessionId: string,
  shards: readonly ShardContents[],
  events: JournalEvent[],
  turns: Turn[],
  malformed: MalformedLine[],
  findings: Finding[],
  sidecar: Sidecar | null,
  sidecarRead: SidecarRead,
  collisionCount: number,
  activity: Activity,
): SessionAnalysis {
  const byState: Record<string, number> = Object.create(null);
  let open = 0;
  for (const t of turns) {
    byState[t.state] = (byState[t.state] ?? 0) + 1;
    if (!t.terminal) open++;
  }
  const sev: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const f of findings) sev[f.severity]++;
  const worst: Severity | null = sev.error ? 'error' : sev.warning ? 'warning' : sev.info ? 'info' : null;
  const { firstActivity, lastActivity } = activity;
  return {
    sessionId,
    title: sidecar?.title ?? null,
    model: sidecar?.model ?? turns.find((t) => t.model)?.model ?? null,
    modelProvider: sidecar?.modelProvider ?? turns.find((t) => t.modelProvider)?.modelProvider ?? null,
    shards: shards.map((s) => ({
      name: s.name,
      size: s.size,
      mtimeMs: s.mtimeMs,
      lines: s.lineCount + (s.tail ? 1 : 0),
      events: s.events.length + (s.tailEvent ? 1 : 0),
      malformed: s.malformed.length + (s.tailMalformed ? 1 : 0),
      tornTail: s.tail !== null,
      hasBom: s.hasBom,
      crlfLines: s.crlfLines,
      ...(s.error !== undefined ? { error: s.error } : {}),
    })),
    events,
    turns,
    malformed,
    findings,
    sidecar,
    sidecarStatus: sidecarRead.status,
    ...(sidecarRead.status === 'invalid' ? { sidecarError: sidecarRead.error } : {}),
    firstActivity,
    lastActivity,
    counts: {
      events: events.length,
      turns: turns.length,
      open,
      byState,
      collisions: collisionCount,
      malformed: malformed.length,
      findings: sev,
    },
    worstSeverity: worst,
  };
}

// Shared by every turn without recovered events or alias ids (frozen: a turn replaces them, never pushes).
const NO_EVENTS: readonly JournalEvent[] = Object.freeze([]);
const NO_IDS: readonly string[] = Object.freeze([]);

function buildTurn(
  turnId: string,
  evs: JournalEvent[],
  latest: JournalEvent,
  collision: JournalEvent[] | null,
  sidecar: Sidecar | null,
  userContents: Set<string>,
  recovered: JournalEvent[],
): Turn {
  const submitted = submittedOf(evs, recovered);
  const sd = submitted ? fieldsOf(submitted) : {};
  const streamId = submitted?.streamId ?? evs.find((e) => e.streamId)?.streamId ?? recovered.find((e) => e.streamId)?.streamId ?? null;
  const scan = scanTurnEvents(evs);
  const assistantMessageIndex = scan.indexEv ? (fieldsOf(scan.indexEv).assistant_message_index as number) : null;
  // A user message kept by reference (compactEvent.ts) is read back when asked, never held by the turn.
  const source = submitted !== undefined && hasLazyContent(submitted) ? submitted : null;
  const turn = new TurnRecord(
    {
      turnId,
      streamId,
      // The list as it is: groupByTurn makes it exact-size, and a re-analysis copies a list before it grows it.
      events: evs,
      state: latest.name,
      terminal: latest.terminal,
      reason: interruptReason(latest, scan.lastInterrupted),
      assistantReply: assistantReplyAt(sidecar, assistantMessageIndex),
      collision,
      live: isLive(streamId, sidecar),
      userMessageSaved: false,
      recovered: recovered.length > 0 ? recovered : (NO_EVENTS as JournalEvent[]),
      aliasTurnIds: NO_IDS as string[],
      splitCause: null,
      ageBound: scan.lastAt,
      evidence: null,
      run: null,
    },
    source === null ? messageText(sd.content) : null,
    source,
  );
  if (userContents.size > 0) turn.userMessageSaved = userMessageSavedIn(turn.userMessage, userContents);
  return turn;
}

/**
 * Only an interrupted turn has a reason; a collision won by `completed` keeps its
 * interrupted event (and reason) in `collision`.
 */
function interruptReason(latest: JournalEvent, lastInterrupted: JournalEvent | undefined): string | null {
  if (latest.name !== 'interrupted' || !lastInterrupted) return null;
  const reason = fieldsOf(lastInterrupted).reason;
  return typeof reason === 'string' ? reason : pyRepr(reason);
}

/** The sidecar's assistant message at the turn's `assistant_message_index`, if it is one. */
export function assistantReplyAt(sidecar: Sidecar | null, index: number | null): string | null {
  if (!sidecar || index === null || !Number.isInteger(index)) return null;
  const m = sidecar.messages[index];
  return m && m.role === 'assistant' ? m.content : null;
}

/** The turn's stream is the sidecar's `active_stream_id`: a turn in progress. */
export function isLive(streamId: string | null, sidecar: Sidecar | null): boolean {
  return streamId !== null && sidecar !== null && sidecar.activeStreamId === streamId;
}

/** The turn's user message is among the sidecar's user contents (false when it has none: buildTurn then leaves it false). */
export function userMessageSavedIn(userMessage: string | null, userContents: ReadonlySet<string>): boolean {
  return userContents.size > 0 && userMessage !== null && userContents.has(userMessage);
}

const STEP_RANK: Record<string, number> = { submitted: 0, worker_started: 1, assistant_started: 2, completed: 3, interrupted: 3 };

/** The first event whose time contradicts the state machine, if any. */
function outOfOrder(evs: JournalEvent[]): { event: JournalEvent; message: string } | null {
  let maxRank = -1;
  let maxEvent: JournalEvent | null = null;
  for (const e of evs) {
    const r = STEP_RANK[e.name];
    if (r === undefined) continue;
    if (maxEvent && r < maxRank) {
      return {
        event: e,
        message: `"${e.name}" (${e.shard}:${e.line}) is timed after "${maxEvent.name}" (${maxEvent.shard}:${maxEvent.line}), against the lifecycle submitted → worker_started → assistant_started → completed | interrupted`,
      };
    }
    if (r >= maxRank) {
      maxRank = r;
      maxEvent = e;
    }
  }
  return null;
}

function locate(t: Turn, name: string): Partial<Finding> | null {
  const e = [...t.events].reverse().find((x) => x.name === name);
  return e ? { turnId: t.turnId, shard: e.shard, line: e.line, offset: e.offset } : null;
}

function finiteOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function pyRepr(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

export function formatAge(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'an unknown time';
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min`;
  const h = Math.round(s / 3600);
  if (h < 48) return `${h} h`;
  return `${Math.round(s / 86400)} days`;
}

export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    compareNames(a.shard ?? '', b.shard ?? '') ||
    (a.line ?? 0) - (b.line ?? 0) ||
    compareNames(a.kind, b.kind) ||
    compareNames(a.turnId ?? '', b.turnId ?? '')
  );
}
