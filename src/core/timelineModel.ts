/**
 * The turn timeline's view-model: a SessionAnalysis turned into plain, serialisable rows
 * that the timeline webview renders (one card per turn, one card per broken line), in time
 * order, with everything the card shows precomputed. Pure: no `vscode`, no DOM, no I/O;
 * the clock is passed in.
 */

import type { SessionAnalysis, Turn } from './analyze';
import { stepLabel } from '../shared/timelineFormat';
import type { Finding, FindingKind, JournalEvent, MalformedLine, Severity } from './types';
import { fieldsOf, hasLazyContent } from './compactEvent';
import {
  COLLAPSE_LINES,
  estimateLineHeight,
  estimateTurnHeight,
  OUTLINE_PROBLEM,
  OUTLINE_STATUS,
  OutlineFlag,
  searchableText,
  versionHash,
  type LineProblem,
  type TimelineFeedback,
  type TimelineFindingRef,
  type TimelineHeader,
  type TimelineLineRow,
  type TimelineModel,
  type TimelineRow,
  type TimelineStep,
  type TimelineTurnRow,
  type TimelineOutline,
  type TurnStatus,
} from '../shared/timelineModel';

// The row types live in src/shared/ (the webview loads them too); re-exported for core callers.
export * from '../shared/timelineModel';

export interface TimelineBuildOptions {
  /** File name of the shard the editor was opened on (its lines are marked). */
  openedShard?: string | null;
  /** Epoch seconds. */
  now: number;
  /** Feedback per turn id (see core/feedback: `timelineFeedbackOf`). */
  feedback?: (turnId: string) => TimelineFeedback | null | undefined;
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 2, warning: 1, info: 0 };

function worstOf(fs: readonly { severity: Severity }[]): Severity | null {
  let w: Severity | null = null;
  for (const f of fs) if (w === null || SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[w]) w = f.severity;
  return w;
}

function ref(f: Finding): TimelineFindingRef {
  const r: TimelineFindingRef = { kind: f.kind, severity: f.severity, message: f.message };
  if (f.shard !== undefined) r.shard = f.shard;
  if (f.line !== undefined) r.line = f.line;
  return r;
}

function finite(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Finding kinds that describe a line rather than a turn (shown on the line's card). */
const LINE_KINDS: ReadonlySet<FindingKind> = new Set(['malformed_line', 'torn_tail', 'glued_event']);

export function buildTimelineModel(a: SessionAnalysis, options: TimelineBuildOptions): TimelineModel {
  const index = new TimelineIndex(a, options);
  return { header: index.header, rows: index.allRows() };
}

/** A row not built yet: a turn, or a broken line (with the time of the event it follows). */
type Entry = { kind: 'turn'; t: Turn; ordinal: number; status: TurnStatus } | { kind: 'line'; m: MalformedLine; near: number | null };

/**
 * The timeline of one analysis with rows built on demand: the order of every row, the header
 * and (`outline`) what the webview needs of every row are computed once, cheaply; the full
 * rows only for the ones asked for (`rows`). `buildTimelineModel` is every row of it.
 */
export class TimelineIndex {
  readonly header: TimelineHeader;
  private readonly entries: Entry[];
  private readonly findings: GroupedFindings;
  private keyIndex: Map<string, number> | undefined;

  constructor(
    private readonly a: SessionAnalysis,
    private readonly options: TimelineBuildOptions,
  ) {
    const opened = options.openedShard ?? null;
    this.findings = groupFindings(a);
    const where = eventPositions(a);
    const review = { reviewed: 0, reviewable: 0 };
    const byStatus: Partial<Record<TurnStatus, number>> = {};
    const keyed = [...brokenLineEntries(a, where), ...turnEntries(a, where, this.findings, options, review, byStatus)];
    keyed.sort((x, y) => x.pos - y.pos || x.sub - y.sub || cmpEntryLocation(x.entry, y.entry));
    let ordinal = 0;
    this.entries = keyed.map((k) => {
      if (k.entry.kind === 'turn') k.entry.ordinal = ++ordinal;
      return k.entry;
    });
    this.header = buildHeader(a, opened, options.now, this.findings, byStatus, review);
  }

  get size(): number {
    return this.entries.length;
  }

  key(i: number): string {
    const e = this.entries[i];
    return e.kind === 'turn' ? `t:${e.t.turnId}` : `l:${e.m.shard}:${e.m.line}`;
  }

  /** Position of a row by key, or -1. */
  indexOfKey(key: string): number {
    if (!this.keyIndex) {
      this.keyIndex = new Map();
      for (let i = 0; i < this.entries.length; i++) this.keyIndex.set(this.key(i), i);
    }
    return this.keyIndex.get(key) ?? -1;
  }

  hasTurn(turnId: string): boolean {
    const i = this.indexOfKey(`t:${turnId}`);
    return i >= 0 && this.entries[i].kind === 'turn';
  }

  /** The full row i (built now). */
  row(i: number): TimelineRow {
    const e = this.entries[i];
    const opened = this.options.openedShard ?? null;
    if (e.kind === 'line') return lineRow(e.m, e.near, opened, this.findings.byLine.get(`${e.m.shard}:${e.m.line}`) ?? []);
    const row = turnRow(e.t, e.ordinal, opened, this.turnFindings(e.t), this.findings.danglingTurns.has(e.t.turnId), this.options);
    row.version = `${e.ordinal}|${row.version}`;
    return row;
  }

  allRows(): TimelineRow[] {
    return this.entries.map((_, i) => this.row(i));
  }

  /** The rows [start, end). */
  rows(start: number, end: number): TimelineRow[] {
    const out: TimelineRow[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.entries.length); i++) out.push(this.row(i));
    return out;
  }

  /** Every row's key, filter code, estimated height and version hash (no row is built). */
  outline(): TimelineOutline {
    const n = this.entries.length;
    const o: TimelineOutline = { keys: new Array<string>(n), codes: new Array<number>(n), est: new Array<number>(n), versions: new Array<number>(n) };
    const opened = this.options.openedShard ?? null;
    for (let i = 0; i < n; i++) {
      const e = this.entries[i];
      o.keys[i] = this.key(i);
      if (e.kind === 'line') {
        const findings = this.findings.byLine.get(`${e.m.shard}:${e.m.line}`)?.length ?? 0;
        const problem: LineProblem = e.m.glued ? 'glued' : e.m.torn ? 'torn' : 'malformed';
        o.codes[i] = OUTLINE_PROBLEM.indexOf(problem) | (e.m.shard === opened ? OutlineFlag.Own : 0);
        o.est[i] = estimateLineHeight(e.m.glued !== null && e.m.glued !== undefined);
        o.versions[i] = versionHash(lineVersion(e.m, problem, findings));
        continue;
      }
      const t = e.t;
      const findings = this.turnFindings(t);
      const status = e.status;
      const feedback = this.options.feedback?.(t.turnId) ?? null;
      const own = t.events.some((e) => e.shard === opened);
      o.codes[i] =
        OUTLINE_STATUS.indexOf(status) |
        (findings.length > 0 ? OutlineFlag.Findings : 0) |
        (t.collision ? OutlineFlag.Collision : 0) |
        (t.state === 'completed' && t.assistantMessageIndex !== null ? OutlineFlag.Rateable : 0) |
        (own ? OutlineFlag.Own : 0) |
        (feedback ? RATING_CODE[feedback.rating] << OutlineFlag.RatingShift : 0);
      const lazy = lazyMessage(t);
      const inputs = {
        // A message kept by reference is not read back for an estimate: its line's length stands for it.
        userMessage: lazy ? LONG_TEXT.slice(0, lazy.length) : t.userMessage,
        reply: t.assistantReply,
        collisions: t.collision?.length ?? 0,
        status,
        findings: findings.length,
        reason: !!t.reason,
        feedback: feedback !== null,
      };
      o.est[i] = estimateTurnHeight(inputs, false, false);
      o.versions[i] = versionHash(`${e.ordinal}|${turnVersion(t, status, findings.length, feedback)}`);
    }
    return o;
  }

  /** Keys of the rows whose `searchableText` contains `query` (case-insensitive), in order. */
  search(query: string): string[] {
    const q = query.toLowerCase();
    const out: string[] = [];
    if (!q) return out;
    const has = (s: string | null | undefined): boolean => !!s && s.toLowerCase().includes(q);
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i];
      // Fields one by one: a match never spans two of them unless the query holds a line break.
      const hit = q.includes('\n')
        ? searchableText(this.row(i)).toLowerCase().includes(q)
        : e.kind === 'turn'
          ? has(e.t.userMessage) || has(e.t.assistantReply) || has(e.t.turnId) || has(e.t.reason) || has(this.options.feedback?.(e.t.turnId)?.comment)
          : has(e.m.preview) || has(e.m.detail) || has(e.m.shard) || has(e.m.glued?.turnId);
      if (hit) out.push(this.key(i));
    }
    return out;
  }

  /** The runs behind the turns (turn id, run id). */
  runRefs(): { turnId: string; runId: string }[] {
    const out: { turnId: string; runId: string }[] = [];
    for (const t of this.a.turns) if (t.run) out.push({ turnId: t.turnId, runId: t.run.runId });
    return out;
  }

  private turnFindings(t: Turn): TimelineFindingRef[] {
    return this.findings.byTurn.get(t.turnId) ?? [];
  }
}

const RATING_CODE: Record<TimelineFeedback['rating'], number> = { up: 1, down: 2, neutral: 3 };

/** Where events sit: the place in the session's sorted stream of each turn's first event and of the events around broken lines. */
interface EventPositions {
  /** Place in the sorted stream of a turn's first event. */
  firstPos(e: JournalEvent): number;
  /** Per shard with broken lines: the place of the nearest event before each line, and of the shard's first event. */
  byShard: Map<string, ShardLines>;
  /** Where turns known only from glued lines sit (filled by brokenLineEntries). */
  recoveredAt: Map<string, { pos: number; sub: number }>;
}

interface ShardLines {
  /** before[l]: place of the event with the greatest line < l (-1 when none). */
  before: Int32Array;
  /** Place of the shard's event with the smallest line (-1 when the shard has none). */
  first: number;
}

/** Per shard: the place of the event at each line (-1: none); no object per event (this runs on every refresh of a big session). */
interface ShardPlaces {
  at: Int32Array;
  /** Two events on one line (not written by upstream's writer): places are then looked up by event. */
  shared: boolean;
  minLine: number;
  first: number;
}

function eventPositions(a: SessionAnalysis): EventPositions {
  const shards = new Map<string, ShardPlaces>();
  let lastName: string | undefined;
  let last: ShardPlaces | undefined;
  const events = a.events;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.shard !== lastName) {
      lastName = e.shard;
      last = shards.get(e.shard);
      if (!last) shards.set(e.shard, (last = { at: new Int32Array(1024).fill(-1), shared: false, minLine: Infinity, first: -1 }));
    }
    const p = last!;
    const line = e.line;
    if (line >= p.at.length) {
      const grown = new Int32Array(Math.max(line + 1, p.at.length * 2)).fill(-1);
      grown.set(p.at);
      p.at = grown;
    }
    if (p.at[line] !== -1) p.shared = true;
    p.at[line] = i; // stream order: the last one on a line wins
    if (line < p.minLine) {
      p.minLine = line;
      p.first = i;
    }
  }
  let byEvent: Map<JournalEvent, number> | undefined;
  const firstPos = (e: JournalEvent): number => {
    const p = shards.get(e.shard);
    if (p && !p.shared) return p.at[e.line];
    byEvent ??= new Map(events.map((x, i) => [x, i]));
    return byEvent.get(e)!;
  };
  const byShard = new Map<string, ShardLines>();
  for (const m of a.malformed) {
    if (byShard.has(m.shard)) continue;
    const p = shards.get(m.shard);
    byShard.set(m.shard, p ? shardLines(p, a.malformed) : { before: new Int32Array(0), first: -1 });
  }
  return { firstPos, byShard, recoveredAt: new Map() };
}

/**
 * As a binary search over the shard's events sorted by line (stable) would find them: before a
 * line, the last in stream order of the events on the greatest smaller line; first, the first in
 * stream order on the smallest line.
 */
function shardLines(p: ShardPlaces, malformed: readonly MalformedLine[]): ShardLines {
  let max = p.at.length;
  for (const m of malformed) if (m.line + 1 > max) max = m.line + 1;
  const before = new Int32Array(max + 1).fill(-1);
  for (let l = 1; l < before.length; l++) before[l] = l - 1 < p.at.length && p.at[l - 1] !== -1 ? p.at[l - 1] : before[l - 1];
  return { before, first: p.first };
}

/** The session's findings by turn, by line and for the session itself, plus counts by kind. */
interface GroupedFindings {
  byTurn: Map<string, TimelineFindingRef[]>;
  byLine: Map<string, TimelineFindingRef[]>;
  session: TimelineFindingRef[];
  kinds: Map<FindingKind, { kind: FindingKind; severity: Severity; count: number }>;
  danglingTurns: Set<string>;
}

function groupFindings(a: SessionAnalysis): GroupedFindings {
  const g: GroupedFindings = { byTurn: new Map(), byLine: new Map(), session: [], kinds: new Map(), danglingTurns: new Set() };
  const aliasOf = new Map<string, string>();
  for (const t of a.turns) for (const id of t.aliasTurnIds) aliasOf.set(id, t.turnId);
  for (const f of a.findings) {
    const k = g.kinds.get(f.kind);
    if (k) {
      k.count++;
      if (SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[k.severity]) k.severity = f.severity;
    } else g.kinds.set(f.kind, { kind: f.kind, severity: f.severity, count: 1 });
    if (LINE_KINDS.has(f.kind) && f.shard !== undefined && f.line !== undefined && !(f.kind === 'torn_tail' && f.severity === 'warning')) {
      push(g.byLine, `${f.shard}:${f.line}`, ref(f));
    } else if (f.turnId) {
      // A finding about the second id of a split turn belongs to the one card of that turn.
      push(g.byTurn, aliasOf.get(f.turnId) ?? f.turnId, ref(f));
    } else {
      g.session.push(ref(f));
    }
    if (f.kind === 'dangling_turn' && f.turnId) g.danglingTurns.add(f.turnId);
  }
  return g;
}

/**
 * pos: place in the sorted event stream; sub: order among rows at the same place
 * (a turn first, then broken lines by line, a turn recovered from a glued line right after it).
 */
type Keyed = { entry: Entry; pos: number; sub: number };

/** Broken lines first (their positions also place turns known only from glued lines). */
function brokenLineEntries(a: SessionAnalysis, where: EventPositions): Keyed[] {
  const keyed: Keyed[] = [];
  for (const m of a.malformed) {
    const near = nearest(a, where.byShard.get(m.shard), m.line);
    keyed.push({ entry: { kind: 'line', m, near: near.at }, pos: near.pos, sub: m.line });
    if (m.glued && m.glued.turnId && !where.recoveredAt.has(m.glued.turnId)) where.recoveredAt.set(m.glued.turnId, { pos: near.pos, sub: m.line + 0.5 });
  }
  return keyed;
}

/** One entry per turn; counts turns by status and the review progress on the way. */
function turnEntries(
  a: SessionAnalysis,
  where: EventPositions,
  findings: GroupedFindings,
  options: TimelineBuildOptions,
  review: { reviewed: number; reviewable: number },
  byStatus: Partial<Record<TurnStatus, number>>,
): Keyed[] {
  return a.turns.map((t) => {
    // Same rule as core/sessionIndex isReviewable: completed with an answer.
    if (t.state === 'completed' && t.assistantMessageIndex !== null) {
      review.reviewable++;
      const r = options.feedback?.(t.turnId)?.rating;
      if (r === 'up' || r === 'down') review.reviewed++;
    }
    const status = statusOf(t, findings.danglingTurns.has(t.turnId));
    byStatus[status] = (byStatus[status] ?? 0) + 1;
    const entry: Entry = { kind: 'turn', t, ordinal: 0, status };
    const first = t.events[0];
    if (first) return { entry, pos: where.firstPos(first), sub: -1 };
    return { entry, ...(where.recoveredAt.get(t.turnId) ?? { pos: Number.MAX_SAFE_INTEGER, sub: 0 }) };
  });
}

function buildHeader(
  a: SessionAnalysis,
  opened: string | null,
  now: number,
  findings: GroupedFindings,
  byStatus: Partial<Record<TurnStatus, number>>,
  review: { reviewed: number; reviewable: number },
): TimelineHeader {
  return {
    sessionId: a.sessionId,
    title: a.title,
    model: a.model,
    modelProvider: a.modelProvider,
    openedShard: opened,
    shards: a.shards.map((s) => ({
      name: s.name,
      size: s.size,
      lines: s.lines,
      events: s.events,
      malformed: s.malformed,
      tornTail: s.tornTail,
      own: s.name === opened,
      ...(s.error !== undefined ? { error: s.error } : {}),
    })),
    totalBytes: a.shards.reduce((n, s) => n + s.size, 0),
    counts: {
      events: a.counts.events,
      turns: a.counts.turns,
      open: a.counts.open,
      collisions: a.counts.collisions,
      malformed: a.counts.malformed,
      byStatus,
      byState: { ...a.counts.byState },
    },
    findings: { ...a.counts.findings },
    findingKinds: [...findings.kinds.values()].sort(
      (x, y) => SEVERITY_ORDER[y.severity] - SEVERITY_ORDER[x.severity] || y.count - x.count || (x.kind < y.kind ? -1 : 1),
    ),
    sessionFindings: findings.session,
    firstActivity: a.firstActivity,
    lastActivity: a.lastActivity,
    sidecar: a.sidecarStatus,
    builtAt: now,
    review,
  };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function cmpEntryLocation(x: Entry, y: Entry): number {
  const sx = x.kind === 'line' ? x.m.shard : '';
  const sy = y.kind === 'line' ? y.m.shard : '';
  if (sx !== sy) return sx < sy ? -1 : 1;
  const lx = x.kind === 'line' ? x.m.line : 0;
  const ly = y.kind === 'line' ? y.m.line : 0;
  return lx - ly;
}

/**
 * Where a broken line sits: just after the nearest earlier event of its shard in the
 * session's sorted stream (so it follows that event's turn), or just before the first
 * event of the shard when nothing precedes it.
 */
function nearest(a: SessionAnalysis, shard: ShardLines | undefined, line: number): { pos: number; at: number | null } {
  if (!shard || shard.first === -1) return { pos: Number.MAX_SAFE_INTEGER, at: null };
  const best = line >= 0 && line < shard.before.length ? shard.before[line] : -1;
  if (best === -1) return { pos: shard.first - 0.5, at: finite(a.events[shard.first].createdAtRaw) };
  return { pos: best + 0.5, at: finite(a.events[best].createdAtRaw) };
}

function lineRow(m: MalformedLine, near: number | null, opened: string | null, findings: TimelineFindingRef[]): TimelineLineRow {
  const problem: LineProblem = m.glued ? 'glued' : m.torn ? 'torn' : 'malformed';
  const glued = m.glued ? { name: m.glued.name, turnId: m.glued.turnId, at: finite(m.glued.createdAtRaw), atByte: m.gluedAt ?? null } : null;
  return {
    kind: 'line',
    key: `l:${m.shard}:${m.line}`,
    problem,
    malformedKind: m.kind,
    shard: m.shard,
    line: m.line,
    offset: m.offset,
    length: m.length,
    raw: m.preview,
    rawTruncated: m.previewTruncated,
    detail: m.detail,
    glued,
    near,
    own: m.shard === opened,
    findings,
    worst: worstOf(findings) ?? 'error',
    version: lineVersion(m, problem, findings.length),
  };
}

function lineVersion(m: MalformedLine, problem: LineProblem, findings: number): string {
  return `${problem}|${m.length}|${m.kind}|${findings}`;
}

function statusOf(t: Turn, dangling: boolean): TurnStatus {
  if (t.events.every((e) => e.recovered === true)) return 'recovered';
  if (t.terminal) return t.state === 'completed' ? 'completed' : t.state === 'interrupted' ? 'interrupted' : 'other';
  if (t.live) return 'live';
  return dangling ? 'dangling' : 'open';
}

function turnRow(
  t: Turn,
  ordinal: number,
  opened: string | null,
  findings: TimelineFindingRef[],
  dangling: boolean,
  options: TimelineBuildOptions,
): TimelineTurnRow {
  const steps: TimelineStep[] = t.steps.map((s) => ({ ...s, label: stepLabel(s.name), own: s.shard === opened }));
  const collision = t.collision
    ? t.collision.map((e) => ({
        name: e.name,
        at: finite(e.createdAtRaw),
        shard: e.shard,
        line: e.line,
        reason: e.name === 'interrupted' ? reasonText(fieldsOf(e).reason) : null,
        own: e.shard === opened,
      }))
    : null;
  const status = statusOf(t, dangling);
  const feedback = options.feedback?.(t.turnId) ?? null;
  return {
    kind: 'turn',
    key: `t:${t.turnId}`,
    ordinal,
    turnId: t.turnId,
    aliasTurnIds: [...t.aliasTurnIds],
    streamId: t.streamId,
    state: t.state,
    status,
    terminal: t.terminal,
    userMessage: t.userMessage,
    attachments: t.attachments.length,
    reply: t.assistantReply,
    replyIndex: t.assistantMessageIndex,
    model: t.model,
    modelProvider: t.modelProvider,
    reason: t.reason,
    startedAt: t.startedAt,
    lastAt: t.lastAt,
    total: t.durations.total,
    steps,
    collision,
    findings,
    worst: worstOf(findings),
    own: steps.some((s) => s.own),
    feedback,
    run: t.run ? { runId: t.run.runId, outcome: t.run.outcome, upstreamOutcome: t.run.upstreamOutcome, size: t.run.size, lastSeq: t.run.lastSeq } : null,
    version: turnVersion(t, status, findings.length, feedback),
  };
}

/** Stands for a message of that many characters in a collapsed card's estimate (which stops at COLLAPSE_LINES lines). */
const LONG_TEXT = 'x'.repeat(110 * (COLLAPSE_LINES + 1));

/** The submitted event whose user message is kept by reference (read back when asked), if any. */
function lazyMessage(t: Turn): JournalEvent | undefined {
  for (const e of t.events) if (hasLazyContent(e)) return e;
  return undefined;
}

/** The user message's length, or for one kept by reference where its line is (no read back: the outline stamps every turn). */
function userMessageStamp(t: Turn): string | number {
  const lazy = lazyMessage(t);
  return lazy ? `@${lazy.shard}:${lazy.offset}:${lazy.length}` : (t.userMessage?.length ?? -1);
}

/** What the turn's card shows, as one string (the row's `version` without its ordinal). */
function turnVersion(t: Turn, status: TurnStatus, findings: number, feedback: TimelineFeedback | null): string {
  const last = t.events.length ? t.events[t.events.length - 1] : undefined;
  const fb = feedback
    ? `${feedback.rating}:${feedback.comment?.length ?? 0}:${feedback.at ?? ''}:${feedback.revisions ?? 0}:${feedback.tags?.join(',') ?? ''}:${feedback.curationStamp ?? ''}`
    : '';
  return (
    `${t.events.length}|${t.recovered.length}|${last ? `${last.shard}:${last.line}` : ''}|${t.state}|${status}|${t.assistantReply?.length ?? -1}|` +
    `${userMessageStamp(t)}|${findings}|${t.collision?.length ?? 0}|${t.run ? `${t.run.outcome}:${t.run.size}` : ''}|${fb}`
  );
}

/** An interrupted event's reason as text (from the fields a compact event keeps: no read back). */
function reasonText(r: unknown): string | null {
  return typeof r === 'string' ? r : r == null ? null : JSON.stringify(r);
}
