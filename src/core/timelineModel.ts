/**
 * The turn timeline's view-model: a SessionAnalysis turned into plain, serialisable rows
 * that the timeline webview renders (one card per turn, one card per broken line), in time
 * order, with everything the card shows precomputed. Pure: no `vscode`, no DOM, no I/O;
 * the clock is passed in.
 */

import type { SessionAnalysis, Turn } from './analyze';
import { stepLabel } from '../shared/timelineFormat';
import type { Finding, FindingKind, JournalEvent, MalformedLine, Severity } from './types';
import { fieldsOf } from './compactEvent';
import type {
  LineProblem,
  TimelineFeedback,
  TimelineFindingRef,
  TimelineHeader,
  TimelineLineRow,
  TimelineModel,
  TimelineRow,
  TimelineStep,
  TimelineTurnRow,
  TurnStatus,
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
  const opened = options.openedShard ?? null;
  const where = eventPositions(a);
  const findings = groupFindings(a);
  const review = { reviewed: 0, reviewable: 0 };
  const byStatus: Partial<Record<TurnStatus, number>> = {};
  const keyed = [...brokenLineRows(a, where, findings, opened), ...turnRows(a, where, findings, opened, options, review, byStatus)];
  const rows = orderRows(keyed);
  return { header: buildHeader(a, opened, options.now, findings, byStatus, review), rows };
}

/** Where events sit: each one's place in the session's sorted stream, and per shard its events by line. */
interface EventPositions {
  position: Map<JournalEvent, number>;
  byShard: Map<string, { line: number; pos: number; at: number | null }[]>;
  /** Where turns known only from glued lines sit (filled by brokenLineRows). */
  recoveredAt: Map<string, { pos: number; sub: number }>;
}

function eventPositions(a: SessionAnalysis): EventPositions {
  const position = new Map<JournalEvent, number>();
  a.events.forEach((e, i) => position.set(e, i));
  const byShard = new Map<string, { line: number; pos: number; at: number | null }[]>();
  for (const [e, pos] of position) {
    let list = byShard.get(e.shard);
    if (!list) byShard.set(e.shard, (list = []));
    list.push({ line: e.line, pos, at: finite(e.createdAtRaw) });
  }
  for (const list of byShard.values()) list.sort((x, y) => x.line - y.line);
  return { position, byShard, recoveredAt: new Map() };
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
type Keyed = { row: TimelineRow; pos: number; sub: number };

/** Broken lines first (their positions also place turns known only from glued lines). */
function brokenLineRows(a: SessionAnalysis, where: EventPositions, findings: GroupedFindings, opened: string | null): Keyed[] {
  const keyed: Keyed[] = [];
  for (const m of a.malformed) {
    const near = nearest(where.byShard.get(m.shard), m.line);
    const row = lineRow(m, near.at, opened, findings.byLine.get(`${m.shard}:${m.line}`) ?? []);
    keyed.push({ row, pos: near.pos, sub: m.line });
    if (m.glued && m.glued.turnId && !where.recoveredAt.has(m.glued.turnId)) where.recoveredAt.set(m.glued.turnId, { pos: near.pos, sub: m.line + 0.5 });
  }
  return keyed;
}

/** One row per turn; counts turns by status and the review progress on the way. */
function turnRows(
  a: SessionAnalysis,
  where: EventPositions,
  findings: GroupedFindings,
  opened: string | null,
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
    const row = turnRow(t, 0, opened, findings.byTurn.get(t.turnId) ?? [], findings.danglingTurns.has(t.turnId), options);
    byStatus[row.status] = (byStatus[row.status] ?? 0) + 1;
    const first = t.events[0];
    if (first) return { row, pos: where.position.get(first)!, sub: -1 };
    return { row, ...(where.recoveredAt.get(t.turnId) ?? { pos: Number.MAX_SAFE_INTEGER, sub: 0 }) };
  });
}

/** Rows in stream order; turns numbered 1, 2, … in that order. */
function orderRows(keyed: Keyed[]): TimelineRow[] {
  keyed.sort((x, y) => x.pos - y.pos || x.sub - y.sub || cmpRowLocation(x.row, y.row));
  let ordinal = 0;
  return keyed.map((k) => {
    if (k.row.kind === 'turn') {
      k.row.ordinal = ++ordinal;
      k.row.version = `${k.row.ordinal}|${k.row.version}`;
    }
    return k.row;
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

function cmpRowLocation(x: TimelineRow, y: TimelineRow): number {
  const sx = x.kind === 'line' ? x.shard : '';
  const sy = y.kind === 'line' ? y.shard : '';
  if (sx !== sy) return sx < sy ? -1 : 1;
  const lx = x.kind === 'line' ? x.line : 0;
  const ly = y.kind === 'line' ? y.line : 0;
  return lx - ly;
}

/**
 * Where a broken line sits: just after the nearest earlier event of its shard in the
 * session's sorted stream (so it follows that event's turn), or just before the first
 * event of the shard when nothing precedes it.
 */
function nearest(list: { line: number; pos: number; at: number | null }[] | undefined, line: number): { pos: number; at: number | null } {
  if (!list || list.length === 0) return { pos: Number.MAX_SAFE_INTEGER, at: null };
  let lo = 0;
  let hi = list.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].line < line) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best === -1) return { pos: list[0].pos - 0.5, at: list[0].at };
  return { pos: list[best].pos + 0.5, at: list[best].at };
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
    version: `${problem}|${m.length}|${m.kind}|${findings.length}`,
  };
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
  const lastLine = t.events.length ? `${t.events[t.events.length - 1].shard}:${t.events[t.events.length - 1].line}` : '';
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
    version: [
      t.events.length,
      t.recovered.length,
      lastLine,
      t.state,
      status,
      t.assistantReply?.length ?? -1,
      t.userMessage?.length ?? -1,
      findings.length,
      collision?.length ?? 0,
      t.run ? `${t.run.outcome}:${t.run.size}` : '',
      feedback
        ? `${feedback.rating}:${feedback.comment?.length ?? 0}:${feedback.at ?? ''}:${feedback.revisions ?? 0}:${feedback.tags?.join(',') ?? ''}:${feedback.curationStamp ?? ''}`
        : '',
    ].join('|'),
  };
}

/** An interrupted event's reason as text (from the fields a compact event keeps: no read back). */
function reasonText(r: unknown): string | null {
  return typeof r === 'string' ? r : r == null ? null : JSON.stringify(r);
}
