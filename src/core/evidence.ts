/**
 * Logical turns and the evidence that a turn was answered (FORMATS.md §1 "How upstream's own
 * writer damages its journal", §5). Pure: the run summaries are read beforehand
 * (session.ts / repair io) and passed in.
 *
 * - A *split turn*: upstream fills the `turn_id` of every event after `submitted` with the
 *   latest `turn_id` of the stream that its own reader finds. When that reader cannot read the
 *   `submitted` line (U+2028 & co., a BOM, a glued line), the rest of the stream gets a fresh
 *   id. Ids of one `stream_id` of which at most one holds `submitted` are one logical turn.
 * - *Evidence of an answer* for a turn whose journal has no terminal event: the sidecar holds
 *   its user message followed by a non-error assistant reply; the run journal settled
 *   `completed` (upstream's authoritative terminal, owning the run). A run that settled
 *   `errored`, `interrupted-by-user`, `interrupted-by-crash` or `tool_limit_reached` is the
 *   real cause of an interruption.
 */

import type { RunSummary } from './runJournal';
import { RUN_FAILURE_OUTCOMES } from './runJournal';
import type { Sidecar } from './sidecar';
import type { JournalEvent } from './types';

export type EvidenceKind = 'sidecar_reply' | 'run_completed' | 'run_failed' | 'sidecar_error_marker' | 'run_running';

export interface EvidenceItem {
  kind: EvidenceKind;
  /** In words, for the plan, the repair log and the report. */
  detail: string;
}

export interface AnswerEvidence {
  /** Something shows an answer was given: the turn must never get an interruption marker. */
  answered: boolean;
  /** Something shows the turn ended without an answer (a failed run, an error marker). */
  failed: boolean;
  items: EvidenceItem[];
  /** The sidecar index of the answer (`completed.assistant_message_index`), when the sidecar has it. */
  assistantMessageIndex: number | null;
  /** Index of the turn's user message in the sidecar, when found. */
  userMessageIndex: number | null;
  /** The run's settled outcome when it failed: the marker's real cause. */
  cause: string | null;
}

/** Seconds a saved user message's `timestamp` (an int) may lie before its `submitted` event. */
const USER_TIMESTAMP_SLACK = 5;

/** Hands out the sidecar's user messages to turns (UserMessageMatcher, or a recorded answer). */
export interface MessageClaimer {
  claim(content: string, at: number | null): number | null;
}

/**
 * Assigns the sidecar's user messages to turns (in turn order, each message at most once), so
 * the same question asked twice is never taken as the answer of the later, unanswered turn.
 */
export class UserMessageMatcher implements MessageClaimer {
  /** `claimed`: the user messages already assigned (an incremental re-analysis resumes from them). */
  constructor(
    private sidecar: Sidecar,
    readonly claimed: Set<number> = new Set(),
  ) {}

  /** The user messages' indices by trimmed content, ascending (built at the first claim). */
  private byContent: Map<string, number[]> | null = null;

  /** Index of the first unclaimed user message with this content (trimmed) not older than `at` allows, or null. */
  claim(content: string, at: number | null): number | null {
    const msgs = this.sidecar.messages;
    // Only the messages with this content are looked at: scanning every message for every turn
    // made the analysis quadratic in the turns of a session with a sidecar.
    for (const i of this.candidates().get(content.trim()) ?? []) {
      if (this.claimed.has(i)) continue;
      const m = msgs[i];
      if (at !== null && m.timestamp !== null && m.timestamp < Math.floor(at) - USER_TIMESTAMP_SLACK) continue;
      this.claimed.add(i);
      return i;
    }
    return null;
  }

  /**
   * Follows a sidecar whose messages extend this one's (same values, more at the end: core/
   * incrementalAnalysis.ts checks it): the claims made so far stay, the index grows.
   */
  extend(sidecar: Sidecar): void {
    const from = this.sidecar.messages.length;
    this.sidecar = sidecar;
    if (this.byContent !== null) this.indexFrom(from);
  }

  private candidates(): Map<string, number[]> {
    if (this.byContent === null) {
      this.byContent = new Map();
      this.indexFrom(0);
    }
    return this.byContent;
  }

  private indexFrom(from: number): void {
    const msgs = this.sidecar.messages;
    for (let i = from; i < msgs.length; i++) {
      const m = msgs[i];
      if (m.role !== 'user') continue;
      const key = m.content.trim();
      const list = this.byContent!.get(key);
      if (list) list.push(i);
      else this.byContent!.set(key, [i]);
    }
  }
}

/** What the sidecar says followed the user message at `userIndex`: the answer, or an error marker. */
export function sidecarOutcome(sidecar: Sidecar, userIndex: number): { reply: number | null; marker: number | null } {
  let reply: number | null = null;
  let marker: number | null = null;
  for (let j = userIndex + 1; j < sidecar.messages.length; j++) {
    const m = sidecar.messages[j];
    if (m.role === 'user') break;
    if (m.role !== 'assistant') continue;
    const isMarker = m.error || m.raw.type === 'interrupted' || m.raw._error === true;
    if (isMarker) {
      marker = j;
      continue;
    }
    const hasTools = Array.isArray(m.raw.tool_calls) && m.raw.tool_calls.length > 0;
    if (m.content.trim() !== '' || hasTools) reply = j;
  }
  return { reply, marker };
}

export interface EvidenceInput {
  streamId: string | null;
  userMessage: string | null;
  submittedAt: number | null;
  sidecar: Sidecar | null;
  matcher: MessageClaimer | null;
  run: RunSummary | undefined;
}

/** Gathers what the sidecar and the run journal say about a turn whose journal is not terminal. */
export function gatherEvidence(input: EvidenceInput): AnswerEvidence {
  const ev: AnswerEvidence = { answered: false, failed: false, items: [], assistantMessageIndex: null, userMessageIndex: null, cause: null };
  const { sidecar, matcher, run } = input;
  if (sidecar && matcher && input.userMessage !== null && input.userMessage.trim() !== '') {
    const ui = matcher.claim(input.userMessage, input.submittedAt);
    if (ui !== null) {
      ev.userMessageIndex = ui;
      const o = sidecarOutcome(sidecar, ui);
      if (o.reply !== null) {
        ev.answered = true;
        ev.assistantMessageIndex = o.reply;
        ev.items.push({
          kind: 'sidecar_reply',
          detail: `the sidecar holds its user message (messages[${ui}]) followed by an assistant reply (messages[${o.reply}])`,
        });
      } else if (o.marker !== null) {
        ev.failed = true;
        ev.items.push({
          kind: 'sidecar_error_marker',
          detail: `the sidecar already shows an error or interruption message after its user message (messages[${o.marker}])`,
        });
      }
    }
  }
  if (run && !run.error) {
    const t = run.terminal;
    const where = t ? `${t.event} at seq ${t.seq ?? '?'} of _run_journal/${run.sessionId}/${run.runId}.jsonl` : '';
    if (run.outcome === 'completed' && run.terminalOwnsRun) {
      ev.answered = true;
      ev.items.push({ kind: 'run_completed', detail: `its run journal settled "completed" (${where})` });
    } else if (RUN_FAILURE_OUTCOMES.has(run.outcome) && run.terminalOwnsRun) {
      ev.failed = true;
      ev.cause = run.outcome;
      ev.items.push({ kind: 'run_failed', detail: `its run journal settled "${run.outcome}" (${where})` });
    } else if (run.outcome === 'running') {
      ev.items.push({ kind: 'run_running', detail: `its run journal never settled (last event "${run.lastEvent ?? '?'}", seq ${run.lastSeq ?? '?'})` });
    }
  }
  return ev;
}

export interface SplitGroup {
  /** The id holding `submitted` (or the first id), then the others in order of appearance. */
  ids: string[];
  streamId: string;
  cause: string;
}

/**
 * Turn ids of one stream that are one logical turn: at most one of them holds `submitted`.
 * `byTurn` is in order of first appearance; `shardBom` names shards that start with a BOM.
 */
export function findSplitTurns(byTurn: ReadonlyMap<string, JournalEvent[]>, shardBom: ReadonlySet<string>): SplitGroup[] {
  const byStream = new Map<string, string[]>();
  for (const [tid, evs] of byTurn) {
    const s = evs.find((e) => e.streamId)?.streamId;
    if (!s) continue;
    const l = byStream.get(s) ?? [];
    l.push(tid);
    byStream.set(s, l);
  }
  const groups: SplitGroup[] = [];
  for (const [streamId, ids] of byStream) {
    if (ids.length < 2) continue;
    const withSubmitted = ids.filter((id) => byTurn.get(id)!.some((e) => e.name === 'submitted'));
    if (withSubmitted.length > 1) continue;
    const primary = withSubmitted[0] ?? ids[0];
    const submitted = byTurn.get(primary)!.find((e) => e.name === 'submitted');
    groups.push({ ids: [primary, ...ids.filter((i) => i !== primary)], streamId, cause: splitCause(submitted, shardBom) });
  }
  return groups;
}

function splitCause(submitted: JournalEvent | undefined, shardBom: ReadonlySet<string>): string {
  if (!submitted) return 'no "submitted" event of the stream is left in the journal, so upstream\'s writer found no turn id for it';
  const at = `its "submitted" line (${submitted.shard}:${submitted.line})`;
  const tail = ": upstream's writer looked up the stream's turn id with upstream's reader, did not find it, and gave the later events a fresh turn_id";
  if (submitted.pythonLineBreaks)
    return `${at} holds U+2028, U+2029, U+0085 or another character Python's splitlines() breaks on, so upstream reads it as malformed lines${tail}`;
  if (submitted.line === 1 && shardBom.has(submitted.shard)) return `${at} follows a UTF-8 byte-order mark, which upstream reads as part of the line${tail}`;
  if (submitted.recovered) return `${at} is glued after a torn append, so upstream's reader loses it${tail}`;
  if (submitted.pythonHazard) return `${at} is one Python's JSON cannot parse (${submitted.pythonHazard})${tail}`;
  return `upstream's reader did not return ${at} when the later events were written (it was not in the journal yet, or could not be read then)${tail}`;
}
