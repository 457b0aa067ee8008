/**
 * The turn timeline's rows as both sides see them: what the host sends (plain, serialisable
 * data) and the search/filter rules the webview applies. Loaded by the extension host and the
 * webview: no `vscode`, no DOM, no Node built-ins (type-only imports from the core are erased).
 * The builder (SessionAnalysis → rows) is `core/timelineModel.ts`.
 */

import type { TurnStep } from '../core/analyze';
import type { FindingKind, MalformedKind, Severity } from '../core/types';
import type { TimelineRunRef } from './runView';

/**
 * A person's verdict on a turn (thumbs up/down, optional note): the latest record of
 * `_turn_feedback/<sid>.jsonl` (core/feedback). 'neutral' = cleared but with a note.
 */
export interface TimelineFeedback {
  rating: 'up' | 'down' | 'neutral';
  comment?: string;
  /** Where the verdict came from (e.g. "interactions.jsonl"), for the tooltip. */
  source?: string;
  /** Epoch seconds. */
  at?: number | null;
  reviewer?: string;
  tags?: string[];
  /** How many records the turn's history holds (corrections included). */
  revisions?: number;
  /** Curation (core/feedback/latest.ts `timelineFeedbackOf`; shown by webview/timeline/feedbackView.ts). Untrusted text. */
  reason?: string;
  /** The turn's latest correction (a reviewer's better answer); absent when none or withdrawn. */
  correction?: { text: string; reviewer?: string };
  /** hermes-webui's own latest thumb (its feedback.jsonl). */
  hermes?: { rating: 'up' | 'down'; reason?: string; at?: number | null };
  /** Every voice when they disagree (reviewers among themselves, or hermes-webui against a reviewer). */
  disagree?: { reviewer: string; rating: 'up' | 'down' }[];
  /** Changes whenever the curation fields do (part of the row's version). */
  curationStamp?: string;
}

/** A lifecycle step of the turn model, with what the timeline adds to show it. */
export interface TimelineStep extends TurnStep {
  label: string;
  /** The event is a line of the shard this editor was opened on. */
  own: boolean;
}

export interface TimelineTerminalEvent {
  name: string;
  at: number | null;
  shard: string;
  line: number;
  reason: string | null;
  own: boolean;
}

/**
 * - completed / interrupted: terminal;
 * - live: the sidecar says its stream is running;
 * - dangling: not terminal, not live, and quiet for longer than the stale limit;
 * - open: not terminal, but recent;
 * - recovered: only known from glued lines.
 */
export type TurnStatus = 'completed' | 'interrupted' | 'live' | 'open' | 'dangling' | 'recovered' | 'other';

export interface TimelineFindingRef {
  kind: FindingKind;
  severity: Severity;
  message: string;
  shard?: string;
  line?: number;
}

export interface TimelineTurnRow {
  kind: 'turn';
  /** Unique and stable across rebuilds: `t:<turnId>`. */
  key: string;
  /** 1-based position among the session's turns. */
  ordinal: number;
  turnId: string;
  /** Other turn ids of this one logical turn (upstream's writer split it; same stream id). */
  aliasTurnIds?: string[];
  streamId: string | null;
  /** Upstream's derived state: the name of the latest event. */
  state: string;
  status: TurnStatus;
  terminal: boolean;
  userMessage: string | null;
  attachments: number;
  reply: string | null;
  replyIndex: number | null;
  model: string | null;
  modelProvider: string | null;
  reason: string | null;
  startedAt: number | null;
  lastAt: number | null;
  /** Seconds from submitted to the terminal event, when both are known. */
  total: number | null;
  steps: TimelineStep[];
  /** Every terminal event, when there are more than one (a terminal collision). */
  collision: TimelineTerminalEvent[] | null;
  findings: TimelineFindingRef[];
  worst: Severity | null;
  /** At least one of its events is a line of the opened shard. */
  own: boolean;
  feedback: TimelineFeedback | null;
  /** Its run journal (`_run_journal/<sid>/<stream id>.jsonl`), when the session has one for it. */
  run?: TimelineRunRef | null;
  /** Changes whenever anything the card shows changes (cheap live diffing). */
  version: string;
  /** A placeholder for a row of a windowed session the host has not sent yet (see `stubRow`). */
  stub?: true;
  /** A stub's finding count (its `findings` is empty) and estimated height. */
  findingsCount?: number;
  est?: number;
}

export type LineProblem = 'malformed' | 'torn' | 'glued';

export interface TimelineLineRow {
  kind: 'line';
  /** `l:<shard>:<line>` */
  key: string;
  problem: LineProblem;
  malformedKind: MalformedKind;
  shard: string;
  line: number;
  offset: number;
  length: number;
  /** The raw text (a preview for long lines). Untrusted: display as text only. */
  raw: string;
  rawTruncated: boolean;
  detail: string;
  /** A complete event found glued after the torn part. */
  glued: { name: string; turnId: string; at: number | null; atByte: number | null } | null;
  /** Seconds since epoch of the nearest earlier event of the same shard (where it sits). */
  near: number | null;
  own: boolean;
  findings: TimelineFindingRef[];
  worst: Severity;
  version: string;
  stub?: true;
  est?: number;
}

export type TimelineRow = TimelineTurnRow | TimelineLineRow;

export interface TimelineShardInfo {
  name: string;
  size: number;
  lines: number;
  events: number;
  malformed: number;
  tornTail: boolean;
  own: boolean;
  error?: string;
}

export interface TimelineHeader {
  sessionId: string;
  title: string | null;
  model: string | null;
  modelProvider: string | null;
  openedShard: string | null;
  shards: TimelineShardInfo[];
  totalBytes: number;
  counts: {
    events: number;
    turns: number;
    open: number;
    collisions: number;
    malformed: number;
    /** Turns by status (completed, interrupted, open, dangling, live, …). */
    byStatus: Partial<Record<TurnStatus, number>>;
    /** Turns by upstream state (latest event name). */
    byState: Record<string, number>;
  };
  findings: Record<Severity, number>;
  /** Finding kinds with their counts, worst first. */
  findingKinds: { kind: FindingKind; severity: Severity; count: number }[];
  /** Findings that belong to no turn and no line (the sidecar, unreadable shards…). */
  sessionFindings: TimelineFindingRef[];
  firstActivity: number | null;
  lastActivity: number | null;
  sidecar: 'ok' | 'missing' | 'invalid';
  /** When the model was built (epoch seconds). */
  builtAt: number;
  /** Review progress: completed turns with an answer (rateable) and how many have 👍/👎 (as the Sessions view counts). */
  review?: { reviewed: number; reviewable: number };
}

export interface TimelineModel {
  header: TimelineHeader;
  rows: TimelineRow[];
}

/** Text a search looks in for a row (message text, turn id, reason; raw text of broken lines). */
export function searchableText(row: TimelineRow): string {
  if (row.kind === 'turn') {
    return [row.userMessage ?? '', row.reply ?? '', row.turnId, row.reason ?? '', row.feedback?.comment ?? ''].join('\n');
  }
  return [row.raw, row.detail, row.shard, row.glued?.turnId ?? ''].join('\n');
}

/** Does a row pass the state / findings / feedback filters? */
export interface TimelineFilter {
  /** '' = any; a TurnStatus, or 'collision', or 'broken' (broken lines). */
  status: '' | TurnStatus | 'collision' | 'broken';
  findingsOnly: boolean;
  feedbackOnly: boolean;
}

export const NO_FILTER: TimelineFilter = { status: '', findingsOnly: false, feedbackOnly: false };

export function matchesFilter(row: TimelineRow, f: TimelineFilter): boolean {
  if (f.feedbackOnly && (row.kind !== 'turn' || row.feedback === null)) return false;
  if (f.findingsOnly && row.kind === 'turn' && (row.stub ? row.findingsCount === 0 : row.findings.length === 0) && row.collision === null) return false;
  switch (f.status) {
    case '':
      return true;
    case 'broken':
      return row.kind === 'line';
    case 'collision':
      return row.kind === 'turn' && row.collision !== null;
    default:
      return row.kind === 'turn' && row.status === f.status;
  }
}

// ---- windowed sessions ------------------------------------------------------------------
// A session with many rows is sent as an outline (what the scrollbar, filters, anomaly
// navigation and follow-tail need for every row) plus the full rows of a window; the webview
// asks the host for more rows as they come into view (docs/timeline.md "Windowed sessions").

/** Sessions with more rows than this are sent windowed. */
export const WINDOW_MIN_ROWS = 2000;

/** Every row of a windowed session, in order, column by column. */
export interface TimelineOutline {
  keys: string[];
  /** Status or problem index (`OUTLINE_STATUS` / `OUTLINE_PROBLEM`) | flags (`OutlineFlag`). */
  codes: number[];
  /** Estimated height (px) of the collapsed card without feedback buttons (`estimateRowHeight`). */
  est: number[];
  /** `versionHash` of each row's `version`: a loaded row whose hash differs is stale. */
  versions: number[];
}

export const OUTLINE_STATUS: readonly TurnStatus[] = ['completed', 'interrupted', 'live', 'open', 'dangling', 'recovered', 'other'];
export const OUTLINE_PROBLEM: readonly LineProblem[] = ['malformed', 'torn', 'glued'];
export const enum OutlineFlag {
  Findings = 1 << 3,
  Collision = 1 << 4,
  /** Completed with an answer (a reviewer rates it). */
  Rateable = 1 << 5,
  Own = 1 << 6,
  /** Feedback rating: 0 none, 1 up, 2 down, 3 neutral (two bits). */
  RatingShift = 7,
}
const RATINGS = [undefined, 'up', 'down', 'neutral'] as const;

/** A row's outline code. */
export function outlineCode(row: TimelineRow): number {
  if (row.kind === 'line') return OUTLINE_PROBLEM.indexOf(row.problem) | (row.own ? OutlineFlag.Own : 0);
  const findings = row.stub ? (row.findingsCount ?? 0) : row.findings.length;
  return (
    OUTLINE_STATUS.indexOf(row.status) |
    (findings > 0 ? OutlineFlag.Findings : 0) |
    (row.collision !== null ? OutlineFlag.Collision : 0) |
    (row.state === 'completed' && row.replyIndex !== null ? OutlineFlag.Rateable : 0) |
    (row.own ? OutlineFlag.Own : 0) |
    (row.feedback ? RATINGS.indexOf(row.feedback.rating) << OutlineFlag.RatingShift : 0)
  );
}

/**
 * The placeholder of row i of an outline: the fields search-free filters, feedback navigation
 * and the geometry read are right (`matchesFilter(stubRow(..)) === matchesFilter(row)`); the
 * card shows "loading" until the host sends the row.
 */
export function stubRow(o: TimelineOutline, i: number, ordinal: number): TimelineRow {
  const key = o.keys[i];
  const code = o.codes[i];
  const version = `stub:${o.versions[i]}`;
  const own = (code & OutlineFlag.Own) !== 0;
  if (key.startsWith('l:')) {
    const m = /^l:(.*):(\d+)$/.exec(key);
    return {
      kind: 'line',
      key,
      problem: OUTLINE_PROBLEM[code & 7] ?? 'malformed',
      malformedKind: 'not_json',
      shard: m?.[1] ?? '',
      line: Number(m?.[2] ?? 0),
      offset: 0,
      length: 0,
      raw: '',
      rawTruncated: false,
      detail: '',
      glued: null,
      near: null,
      own,
      findings: [],
      worst: 'error',
      version,
      stub: true,
      est: o.est[i],
    };
  }
  const status = OUTLINE_STATUS[code & 7] ?? 'other';
  const rateable = (code & OutlineFlag.Rateable) !== 0;
  const rating = RATINGS[(code >> OutlineFlag.RatingShift) & 3];
  return {
    kind: 'turn',
    key,
    ordinal,
    turnId: key.slice(2),
    streamId: null,
    state: rateable ? 'completed' : status,
    status,
    terminal: status === 'completed' || status === 'interrupted',
    userMessage: null,
    attachments: 0,
    reply: null,
    replyIndex: rateable ? 0 : null,
    model: null,
    modelProvider: null,
    reason: null,
    startedAt: null,
    lastAt: null,
    total: null,
    steps: [],
    collision: code & OutlineFlag.Collision ? [] : null,
    findings: [],
    worst: null,
    own,
    feedback: rating ? { rating } : null,
    version,
    stub: true,
    findingsCount: code & OutlineFlag.Findings ? 1 : 0,
    est: o.est[i],
  };
}

/** 32-bit FNV-1a of a row's version (outline entries carry it; both sides compute it alike). */
export function versionHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Longer texts are clamped until the card is expanded. */
export const COLLAPSE_LINES = 8;

/** Lines a message takes in the estimate (110 characters a line, plus its line breaks). */
function textHeight(s: string | null, full: boolean): number {
  if (!s) return 0;
  let breaks = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) breaks++;
  const lines = Math.max(1, Math.ceil(s.length / 110)) + breaks;
  return 24 + 19 * (full ? lines : Math.min(lines, COLLAPSE_LINES));
}

/** What a row's height estimate reads (a turn row, or the parts of a turn the host has). */
export interface HeightInputs {
  userMessage: string | null;
  reply: string | null;
  collisions: number;
  status: TurnStatus;
  findings: number;
  reason: boolean;
  feedback: boolean;
}

/** Estimated height (px) of a turn card before it is measured. */
export function estimateTurnHeight(t: HeightInputs, full: boolean, feedbackButtons: boolean): number {
  return (
    96 +
    textHeight(t.userMessage, full) +
    textHeight(t.reply, full) +
    (t.collisions ? 30 + 22 * t.collisions : 0) +
    (t.status === 'dangling' || t.status === 'open' ? 26 : 0) +
    Math.min(t.findings, 4) * 20 +
    (t.reason ? 20 : 0) +
    (t.feedback ? 22 : 0) +
    (feedbackButtons ? 30 : 0)
  );
}

/** Estimated height of a broken-line card. */
export function estimateLineHeight(glued: boolean): number {
  return 120 + (glued ? 24 : 0);
}
