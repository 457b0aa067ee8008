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
  if (f.findingsOnly && row.kind === 'turn' && row.findings.length === 0 && row.collision === null) return false;
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
