/**
 * Which feedback record counts for a turn: the latest per (session, turn), ordered by
 * `timestamp` (parsed as ISO-8601; a missing or unparsable timestamp sorts before every
 * valid one), ties by file order (line). `0` clears the rating. Every record stays in the
 * turn's history. Pure.
 */

import type { TimelineFeedback } from '../timelineModel';
import type { CorrectionRecord, FeedbackRecord, FeedbackValue } from './record';
import { timestampMs } from './record';

export interface TurnFeedback {
  sessionId: string;
  turnId: string;
  /** The winning record's value: 1 = 👍, -1 = 👎, 0 = cleared. */
  value: FeedbackValue;
  note: string | null;
  tags: string[] | null;
  reason: string | null;
  reviewer: string | null;
  timestamp: string | null;
  latest: FeedbackRecord;
  /** Every record for the turn, oldest first (the winning order: the last one wins). */
  history: FeedbackRecord[];
}

export function turnKey(sessionId: string, turnId: string): string {
  return `${sessionId}\u0000${turnId}`;
}

/** Orders records so that the winner comes last; `a`/`b` positions break ties (file order). */
export function compareFeedback(a: FeedbackRecord, b: FeedbackRecord): number {
  const ta = timestampMs(a) ?? -Infinity;
  const tb = timestampMs(b) ?? -Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line;
}

/**
 * Latest state per (session, turn) of records given in file order. Legacy records without a
 * turn are ignored here (they rate no turn).
 */
export function latestPerTurn(records: Iterable<FeedbackRecord>): Map<string, TurnFeedback> {
  const groups = new Map<string, FeedbackRecord[]>();
  for (const r of records) {
    if (r.turnId === null) continue;
    const k = turnKey(r.sessionId, r.turnId);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  const out = new Map<string, TurnFeedback>();
  for (const [k, g] of groups) {
    // Stable sort: equal keys keep their file order.
    const history = g.slice().sort(compareFeedback);
    const latest = history[history.length - 1];
    out.set(k, {
      sessionId: latest.sessionId,
      turnId: latest.turnId!,
      value: latest.feedback,
      note: latest.note,
      tags: latest.tags,
      reason: latest.reason,
      reviewer: latest.reviewer,
      timestamp: latest.timestamp,
      latest,
      history,
    });
  }
  return out;
}

/** A turn counts as reviewed when its latest record rates it (👍 or 👎); `0` un-reviews it. */
export function isReviewed(f: TurnFeedback | undefined): boolean {
  return f !== undefined && f.value !== 0;
}

/**
 * What the timeline card shows: our latest rating (reviewer, tags, note, 👎 reason), the turn's
 * correction, hermes-webui's own thumb and who disagrees. null when there is nothing to show
 * (no record, or cleared without a note, and neither a correction nor hermes' thumb).
 */
export function timelineFeedbackOf(f: TurnFeedback | undefined, more: { hermes?: TurnFeedback; correction?: TurnCorrection } = {}): TimelineFeedback | null {
  const hermes = more.hermes && more.hermes.value !== 0 ? more.hermes : undefined;
  const correction = more.correction && more.correction.text !== '' ? more.correction : undefined;
  const ours = f && (f.value !== 0 || f.note) ? f : undefined;
  if (!ours && !hermes && !correction) return null;
  const ms = ours ? timestampMs(ours.latest) : null;
  const out: TimelineFeedback = {
    rating: ours?.value === 1 ? 'up' : ours?.value === -1 ? 'down' : 'neutral',
    ...(ours ? { source: ours.latest.file, at: ms === null ? null : ms / 1000, revisions: ours.history.length } : {}),
  };
  if (ours?.note) out.comment = ours.note;
  if (ours?.reviewer) out.reviewer = ours.reviewer;
  if (ours?.tags && ours.tags.length) out.tags = [...ours.tags];
  if (ours?.value === -1 && ours.reason) out.reason = ours.reason;
  if (correction) out.correction = { text: correction.text, ...(correction.reviewer ? { reviewer: correction.reviewer } : {}) };
  if (hermes) {
    const hms = timestampMs(hermes.latest);
    out.hermes = { rating: hermes.value === 1 ? 'up' : 'down', ...(hermes.reason ? { reason: hermes.reason } : {}), at: hms === null ? null : hms / 1000 };
  }
  const disagree = disagreementOf(f, hermes);
  if (disagree) out.disagree = disagree.map((v) => ({ reviewer: v.reviewer, rating: v.value === 1 ? 'up' : 'down' }));
  const stamp = [out.reason, out.correction?.text, out.correction?.reviewer, out.hermes?.rating, out.hermes?.reason, out.hermes?.at];
  stamp.push(JSON.stringify(out.disagree));
  out.curationStamp = hashStamp(stamp.map((x) => x ?? '').join('\u0000'));
  return out;
}

/** FNV-1a of a text, as hex: a short stamp for the card's version. */
function hashStamp(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

/** The reviewer name a record counts for (records without one count as "?"). */
export function reviewerOf(r: { reviewer: string | null }): string {
  return r.reviewer ?? '?';
}

/** Each reviewer's latest record of a turn's history (history in winning order). */
export function latestPerReviewer(history: readonly FeedbackRecord[]): Map<string, FeedbackRecord> {
  const m = new Map<string, FeedbackRecord>();
  for (const r of history) m.set(reviewerOf(r), r);
  return m;
}

/** Reviewers whose latest record rates the turn (1/-1) disagree. */
export function hasDisagreement(f: TurnFeedback | undefined): boolean {
  if (!f) return false;
  const values = new Set([...latestPerReviewer(f.history).values()].map((r) => r.feedback).filter((v) => v !== 0));
  return values.size > 1;
}

/** One voice on a turn: a reviewer's latest 👍/👎 (hermes-webui's own thumbs count as reviewer `hermes-webui`). */
export interface Vote {
  reviewer: string;
  value: 1 | -1;
}

/** Every reviewer's latest rating of the turn (cleared ones left out), then hermes-webui's. */
export function votesOf(ours: TurnFeedback | undefined, hermes: TurnFeedback | undefined): Vote[] {
  const out: Vote[] = [];
  for (const f of [ours, hermes]) {
    if (!f) continue;
    for (const [reviewer, r] of latestPerReviewer(f.history)) if (r.feedback !== 0) out.push({ reviewer, value: r.feedback });
  }
  return out;
}

/** The votes when they disagree (some 👍, some 👎: reviewers among themselves, or hermes-webui against a reviewer), or null. */
export function disagreementOf(ours: TurnFeedback | undefined, hermes: TurnFeedback | undefined): Vote[] | null {
  const v = votesOf(ours, hermes);
  return v.some((x) => x.value === 1) && v.some((x) => x.value === -1) ? v : null;
}

export interface TurnCorrection {
  sessionId: string;
  turnId: string;
  /** The latest correction's text; '' when it was withdrawn. */
  text: string;
  reviewer: string | null;
  timestamp: string | null;
  latest: CorrectionRecord;
  history: CorrectionRecord[];
}

/** Latest correction per turn (key: turn id), by timestamp then file order, like ratings. */
export function latestCorrections(records: Iterable<CorrectionRecord>): Map<string, TurnCorrection> {
  const groups = new Map<string, CorrectionRecord[]>();
  for (const r of records) {
    const g = groups.get(r.turnId);
    if (g) g.push(r);
    else groups.set(r.turnId, [r]);
  }
  const out = new Map<string, TurnCorrection>();
  for (const [turnId, g] of groups) {
    const history = g.slice().sort((a, b) => compareFeedback(a as never, b as never));
    const latest = history[history.length - 1];
    out.set(turnId, { sessionId: latest.sessionId, turnId, text: latest.text, reviewer: latest.reviewer, timestamp: latest.timestamp, latest, history });
  }
  return out;
}
