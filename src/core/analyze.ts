/**
 * From the raw contents of a session's shards and its sidecar to the turn model and the
 * findings. Pure: no I/O, the clock is passed in.
 */

import { deriveStates, pyFloatRaises, rankByName, sortEvents } from './derive';
import { canonicalJson } from './jsonLine';
import { fieldsOf, hasLazyContent } from './compactEvent';
import { messageText, TurnRecord } from './turnRecord';
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
  durations: {
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
  const rank = rankByName(shards.map((s) => s.name));
  const { all, malformed } = collectEvents(shards);
  const events = sortEvents(all, rank);
  const { states, collisions } = deriveStates(events);
  const sidecar = sidecarRead.status === 'ok' ? sidecarRead.sidecar : null;

  const findings: Finding[] = [];
  const add = (kind: FindingKind, severity: Severity, message: string, where: Partial<Finding> = {}): void => {
    findings.push({ kind, severity, sessionId, message, ...where });
  };

  const byTurn = groupByTurn(events);
  const splits = findSplitTurns(byTurn, new Set(shards.filter((s) => s.hasBom).map((s) => s.name)));
  const turns = buildTurns({ events, byTurn, splits, states, collisions, malformed, sidecar, shards, runs: context.runs });

  lineFindings(shards, malformed, add);
  eventFindings(events, add);
  turnFindings(turns, options, add);
  lifecycleFindings(turns, malformed, add);
  sidecarFindings(sessionId, sidecarRead, sidecar, turns, add);
  runFindings(sessionId, turns, context.runs, add);

  findings.sort(compareFindings);
  return summarize(sessionId, shards, events, turns, malformed, findings, sidecar, sidecarRead, collisions.size);
}

type AddFinding = (kind: FindingKind, severity: Severity, message: string, where?: Partial<Finding>) => void;

/** Every valid event of the shards (torn-tail events included) and every malformed line. */
function collectEvents(shards: readonly ShardContents[]): { all: JournalEvent[]; malformed: MalformedLine[] } {
  const all: JournalEvent[] = [];
  const malformed: MalformedLine[] = [];
  for (const s of shards) {
    for (const e of s.events) all.push(e);
    if (s.tailEvent) all.push(s.tailEvent);
    for (const m of s.malformed) malformed.push(m);
    if (s.tailMalformed) malformed.push(s.tailMalformed);
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
  return { all, malformed };
}

/** Events by turn id, in order of first appearance in the sorted stream (events without an id are left out). */
function groupByTurn(events: readonly JournalEvent[]): Map<string, JournalEvent[]> {
  const byTurn = new Map<string, JournalEvent[]>();
  for (const ev of events) {
    if (ev.turnId === '') continue;
    const list = byTurn.get(ev.turnId);
    if (list) list.push(ev);
    else byTurn.set(ev.turnId, [ev]);
  }
  return byTurn;
}

interface TurnInputs {
  events: JournalEvent[];
  byTurn: Map<string, JournalEvent[]>;
  splits: SplitGroup[];
  states: Map<string, JournalEvent>;
  collisions: Map<string, JournalEvent[]>;
  malformed: MalformedLine[];
  sidecar: Sidecar | null;
  shards: readonly ShardContents[];
  runs: ReadonlyMap<string, RunSummary> | undefined;
}

/**
 * One Turn per logical turn: the ids of a split turn become one (its first id, the others in
 * `aliasTurnIds`); a turn without a terminal event gets the evidence of whether it was answered.
 */
function buildTurns(inp: TurnInputs): Turn[] {
  const recoveredByTurn = new Map<string, JournalEvent[]>();
  for (const m of inp.malformed) {
    if (m.glued && m.glued.turnId !== '') {
      const list = recoveredByTurn.get(m.glued.turnId) ?? [];
      list.push(m.glued);
      recoveredByTurn.set(m.glued.turnId, list);
    }
  }
  const userContents = new Set<string>();
  if (inp.sidecar) for (const m of inp.sidecar.messages) if (m.role === 'user') userContents.add(m.content);
  const splitOf = new Map<string, SplitGroup>();
  for (const g of inp.splits) for (const id of g.ids) splitOf.set(id, g);
  const position = inp.splits.length ? new Map(inp.events.map((e, i) => [e, i])) : null;
  const mtimeOf = new Map(inp.shards.map((s) => [s.name, s.mtimeMs / 1000]));
  const matcher = inp.sidecar ? new UserMessageMatcher(inp.sidecar) : null;

  const turns: Turn[] = [];
  for (const [turnId, evs] of inp.byTurn) {
    const group = splitOf.get(turnId);
    let t: Turn;
    if (!group) {
      t = buildTurn(turnId, evs, inp.states.get(turnId)!, inp.collisions.get(turnId) ?? null, inp.sidecar, userContents, recoveredByTurn.get(turnId) ?? []);
    } else {
      if (group.ids[0] !== turnId) continue; // merged into the group's first id
      const ids = new Set(group.ids);
      const merged = inp.events.filter((e) => ids.has(e.turnId));
      let latest: JournalEvent = inp.states.get(group.ids[0])!;
      for (const id of group.ids.slice(1)) {
        const l = inp.states.get(id)!;
        if (l.sortKey > latest.sortKey || (l.sortKey === latest.sortKey && position!.get(l)! > position!.get(latest)!)) latest = l;
      }
      const coll = group.ids.flatMap((id) => inp.collisions.get(id) ?? []);
      const rec = group.ids.flatMap((id) => recoveredByTurn.get(id) ?? []);
      t = buildTurn(turnId, merged, latest, coll.length ? coll : null, inp.sidecar, userContents, rec);
      t.aliasTurnIds = group.ids.slice(1);
      t.splitCause = group.cause;
    }
    t.ageBound = t.lastAt ?? newestMtime(t.events, mtimeOf);
    const run = t.streamId !== null ? inp.runs?.get(t.streamId) : undefined;
    if (run) t.run = runBrief(run);
    if (!t.terminal) {
      const sub = t.events.find((e) => e.name === 'submitted');
      t.evidence = gatherEvidence({
        streamId: t.streamId,
        userMessage: t.userMessage,
        submittedAt: sub ? finiteOrNull(sub.createdAtRaw) : t.startedAt,
        sidecar: inp.sidecar,
        matcher,
        run,
      });
    } else if (matcher && t.userMessage !== null) {
      // Terminal turns claim their user message too, so a later unanswered turn asking the same never borrows it.
      matcher.claim(t.userMessage, t.startedAt);
    }
    turns.push(t);
  }
  return turns;
}

/** Newest mtime (epoch seconds) of the files holding these events: an upper bound of their time. */
function newestMtime(evs: readonly JournalEvent[], mtimeOf: ReadonlyMap<string, number>): number | null {
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
function eventFindings(events: readonly JournalEvent[], add: AddFinding): void {
  for (const ev of events) {
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

/** Findings about turns: collisions, orphans, split turns, disorder, interruptions, open turns. */
function turnFindings(turns: readonly Turn[], options: AnalyzeOptions, add: AddFinding): void {
  const staleBefore = options.now - options.staleAfterSeconds;
  for (const t of turns) {
    if (t.events.length === 0) continue; // only recovered events
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
    if (!t.terminal) openTurnFindings(t, staleBefore, options.now, add);
  }
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
function lifecycleFindings(turns: readonly Turn[], malformed: readonly MalformedLine[], add: AddFinding): void {
  const bad = malformed.find((m) => m.kind === 'invalid_utf8');
  if (!bad) return;
  for (const t of turns) {
    if (t.terminal || t.state !== 'submitted') continue;
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
}

/** Findings about the sidecar's shape and the answers the journal points at. */
function sidecarFindings(sessionId: string, sidecarRead: SidecarRead, sidecar: Sidecar | null, turns: readonly Turn[], add: AddFinding): void {
  if (sidecarRead.status === 'invalid') {
    add('invalid_sidecar', 'error', `sidecar ${sessionId}.json cannot be used: ${sidecarRead.error}`);
  } else if (sidecar && sidecar.problems.length > 0) {
    add(
      'invalid_sidecar',
      'warning',
      `sidecar ${sessionId}.json: ${sidecar.problems.slice(0, 5).join('; ')}${sidecar.problems.length > 5 ? ` (+${sidecar.problems.length - 5} more)` : ''}`,
    );
  }
  if (sidecar) {
    for (const t of turns) {
      if (t.assistantMessageIndex !== null && t.assistantReply === null && t.state === 'completed') {
        add(
          'invalid_sidecar',
          'warning',
          `turn ${t.turnId} points at assistant message ${t.assistantMessageIndex}, which the sidecar does not have as an assistant message`,
          { turnId: t.turnId },
        );
      }
    }
  }
}

/** Where the turn journal and the run journal disagree: reported, never guessed between. */
function runFindings(sessionId: string, turns: readonly Turn[], runs: ReadonlyMap<string, RunSummary> | undefined, add: AddFinding): void {
  if (!runs || runs.size === 0) return;
  const streams = new Set<string>();
  for (const t of turns) {
    if (t.streamId === null) continue;
    streams.add(t.streamId);
    const r = runs.get(t.streamId);
    if (!r || r.error) continue;
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
  for (const [runId, r] of runs) {
    if (streams.has(runId)) continue;
    add('run_without_turn', 'info', `run ${runId} (_run_journal/${sessionId}/${runId}.jsonl, settled "${r.outcome}") has no turn in the turn journal`);
  }
}

function summarize(
  sessionId: string,
  shards: readonly ShardContents[],
  events: JournalEvent[],
  turns: Turn[],
  malformed: MalformedLine[],
  findings: Finding[],
  sidecar: Sidecar | null,
  sidecarRead: SidecarRead,
  collisionCount: number,
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
  let firstActivity: number | null = null;
  let lastActivity: number | null = null;
  for (const e of events) {
    const v = e.createdAtRaw;
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (firstActivity === null || v < firstActivity) firstActivity = v;
    if (lastActivity === null || v > lastActivity) lastActivity = v;
  }
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
  const submitted = evs.find((e) => e.name === 'submitted') ?? recovered.find((e) => e.name === 'submitted');
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
      // An exact-size copy: the list grown by push holds up to 17 slots for a turn's usual 4 events.
      events: evs.slice(),
      state: latest.name,
      terminal: latest.terminal,
      attachments: Array.isArray(sd.attachments) ? sd.attachments : [],
      model: typeof sd.model === 'string' ? sd.model : null,
      modelProvider: typeof sd.model_provider === 'string' ? sd.model_provider : null,
      workspace: typeof sd.workspace === 'string' ? sd.workspace : null,
      reason: interruptReason(latest, scan.lastInterrupted),
      startedAt: scan.startedAt,
      lastAt: scan.lastAt,
      durations: turnDurations(scan, latest),
      assistantMessageIndex,
      assistantReply: assistantReplyAt(sidecar, assistantMessageIndex),
      collision,
      hasSubmitted: scan.seenSubmitted,
      live: streamId !== null && sidecar !== null && sidecar.activeStreamId === streamId,
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
  if (userContents.size > 0) {
    const m = turn.userMessage;
    turn.userMessageSaved = m !== null && userContents.has(m);
  }
  return turn;
}

/** What one pass over a turn's events finds: times, and the events looked up by name (no copies). */
interface TurnScan {
  startedAt: number | null;
  lastAt: number | null;
  tSub: number | null;
  tWorker: number | null;
  tAssistant: number | null;
  seenSubmitted: boolean;
  term: JournalEvent | undefined;
  lastInterrupted: JournalEvent | undefined;
  indexEv: JournalEvent | undefined;
}

function scanTurnEvents(evs: JournalEvent[]): TurnScan {
  const scan: TurnScan = {
    startedAt: null,
    lastAt: null,
    tSub: null,
    tWorker: null,
    tAssistant: null,
    seenSubmitted: false,
    term: undefined,
    lastInterrupted: undefined,
    indexEv: undefined,
  };
  let seenWorker = false;
  let seenAssistant = false;
  for (let i = 0; i < evs.length; i++) {
    const e = evs[i];
    const at = finiteOrNull(e.createdAtRaw);
    if (at !== null) {
      if (scan.startedAt === null) scan.startedAt = at;
      scan.lastAt = at;
    }
    // The first event of each name counts for the durations, as Array.find would pick it.
    if (e.name === 'submitted') {
      if (!scan.seenSubmitted) scan.tSub = at;
      scan.seenSubmitted = true;
    } else if (e.name === 'worker_started') {
      if (!seenWorker) scan.tWorker = at;
      seenWorker = true;
    } else if (e.name === 'assistant_started') {
      if (!seenAssistant) scan.tAssistant = at;
      seenAssistant = true;
    }
    if (e.terminal && scan.term === undefined) scan.term = e;
    if (e.name === 'interrupted') scan.lastInterrupted = e;
    if (typeof fieldsOf(e).assistant_message_index === 'number') scan.indexEv = e;
  }
  return scan;
}

function turnDurations(scan: TurnScan, latest: JournalEvent): Turn['durations'] {
  const { tSub, tWorker, tAssistant, startedAt, lastAt } = scan;
  const tTerm = scan.term ? finiteOrNull(scan.term.createdAtRaw) : null;
  const diff = (a: number | null, b: number | null): number | null => (a !== null && b !== null ? b - a : null);
  return {
    toWorker: diff(tSub, tWorker),
    toAssistant: diff(tWorker ?? tSub, tAssistant),
    toTerminal: diff(tAssistant ?? tWorker ?? tSub, tTerm),
    total: diff(tSub ?? startedAt, tTerm ?? (latest.terminal ? lastAt : null)),
  };
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
function assistantReplyAt(sidecar: Sidecar | null, index: number | null): string | null {
  if (!sidecar || index === null || !Number.isInteger(index)) return null;
  const m = sidecar.messages[index];
  return m && m.role === 'assistant' ? m.content : null;
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
