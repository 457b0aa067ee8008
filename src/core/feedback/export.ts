/**
 * Training data from curated feedback, one JSON object a line, in the conversational
 * formats Hugging Face TRL trainers read (docs/feedback.md):
 *
 * - sft: `{"messages":[…prompt, answer]}` for every 👍 answer (SFTTrainer);
 * - kto: `{"prompt":[…],"completion":[answer],"label":true|false}` for every 👍/👎 (KTOTrainer);
 * - dpo: `{"prompt":[…],"chosen":[answer],"rejected":[answer]}` for every 👍 × 👎 pair of
 *   answers to the same prompt (same user message and same context before it; DPOTrainer).
 *
 * The conversation is rebuilt from the session sidecar's `messages` up to the turn's
 * `assistant_message_index` (FORMATS.md §2). Interruption markers (`_error`) and the user
 * message(s) they answered are left out of prompts: the model never answered them. A turn
 * is left out, with the reason counted in the summary, when it is interrupted or has a
 * terminal collision (unless asked), is not finished, its answer is not in the sidecar,
 * a later turn overwrote its answer (regeneration), or the sidecar's last user message is
 * not the turn's submitted message. Output order is deterministic: session id, turn start
 * time, turn id (dpo: the chosen answer's, then the rejected answer's).
 */

import type { SessionAnalysis, Turn } from '../analyze';
import { DEFAULT_STALE_AFTER_MINUTES } from '../analyze';
import { discoverSessions } from '../discovery';
import { SessionJournal } from '../session';
import { compareNames } from '../sessionId';
import type { SidecarMessage } from '../sidecar';
import { type TurnFeedback } from './latest';
import { listFeedbackSessions, SessionFeedbackFile } from './store';

export type ExportFormat = 'sft' | 'kto' | 'dpo';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['sft', 'kto', 'dpo'];

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface SftExample {
  messages: ChatMessage[];
}
export interface KtoExample {
  prompt: ChatMessage[];
  completion: ChatMessage[];
  label: boolean;
}
export interface DpoExample {
  prompt: ChatMessage[];
  chosen: ChatMessage[];
  rejected: ChatMessage[];
}
export type Example = SftExample | KtoExample | DpoExample;

export interface ExportOptions {
  format: ExportFormat;
  /** Only turns that started at or after / before this time (epoch seconds). */
  since?: number;
  until?: number;
  /** Only turns of this model (the `submitted` event's `model`). */
  model?: string;
  /** Only turns whose latest feedback carries one of these tags. */
  tags?: readonly string[];
  includeInterrupted?: boolean;
  includeCollisions?: boolean;
  /** Only these sessions. */
  sessionIds?: readonly string[];
  maxLineBytes?: number;
  /** For the analysis (open vs dangling does not change what is exported). */
  now?: number;
}

export type ExcludeReason =
  | 'cleared'
  | 'unknown_turn'
  | 'before_since'
  | 'after_until'
  | 'other_model'
  | 'tag_mismatch'
  | 'collision'
  | 'interrupted'
  | 'not_finished'
  | 'no_answer'
  | 'answer_overwritten'
  | 'context_mismatch'
  | 'thumbs_down_in_sft'
  | 'unpaired'
  | 'identical_pair';

export const EXCLUDE_REASON_TEXT: Record<ExcludeReason, string> = {
  cleared: 'feedback cleared (latest record is 0)',
  unknown_turn: 'feedback for a turn the journal does not have',
  before_since: 'started before --since',
  after_until: 'started after --until',
  other_model: 'another model than --model',
  tag_mismatch: 'latest feedback has none of the --tag tags',
  collision: 'terminal collision (use --include-collisions)',
  interrupted: 'interrupted (use --include-interrupted)',
  not_finished: 'not finished (open or dangling)',
  no_answer: "the answer is not in the sidecar (no assistant message at the turn's assistant_message_index)",
  answer_overwritten: 'a later turn wrote another answer at the same message index (regenerated): the sidecar keeps only the newer one',
  context_mismatch: "the sidecar's last user message before the answer is not the turn's submitted message",
  thumbs_down_in_sft: '👎 answers are not SFT examples',
  unpaired: 'no answer with the opposite rating for the same prompt (dpo needs a 👍 and a 👎)',
  identical_pair: 'the 👍 and 👎 answers have the same text (dpo pair skipped)',
};

export interface ExportSummary {
  format: ExportFormat;
  sessionsWithFeedback: number;
  /** Turns whose latest feedback is 👍 or 👎 (or cleared), before any filter. */
  ratedTurns: number;
  /** Examples (lines) written. */
  examples: number;
  /** Rated turns used in at least one example, by rating. */
  included: { up: number; down: number };
  /** Rated turns (dpo: also pairs for identical_pair) left out, by reason. */
  excluded: Partial<Record<ExcludeReason, number>>;
  /** Unusable feedback lines, missing sessions: said, never fatal. */
  problems: string[];
}

export interface ExportResult {
  /** One JSON object per line, each ending with `\n`. */
  lines: string[];
  summary: ExportSummary;
}

/** A rated turn that passed every check, with its conversation. */
interface Candidate {
  sessionId: string;
  turnId: string;
  start: number;
  value: 1 | -1;
  prompt: ChatMessage[];
  answer: ChatMessage;
}

export async function exportTrainingData(sessionsDir: string, options: ExportOptions): Promise<ExportResult> {
  const summary: ExportSummary = { format: options.format, sessionsWithFeedback: 0, ratedTurns: 0, examples: 0, included: { up: 0, down: 0 }, excluded: {}, problems: [] };
  const exclude = (r: ExcludeReason, n = 1) => (summary.excluded[r] = (summary.excluded[r] ?? 0) + n);
  const discovery = await discoverSessions(sessionsDir);
  const sessions = new Map(discovery.sessions.map((s) => [s.sessionId, s]));
  const only = options.sessionIds ? new Set(options.sessionIds) : null;
  const analyzeOptions = { now: options.now ?? Date.now() / 1000, staleAfterSeconds: DEFAULT_STALE_AFTER_MINUTES * 60 };

  const candidates: Candidate[] = [];
  for (const f of await listFeedbackSessions(discovery.sessionsDir)) {
    if (only && !only.has(f.sessionId)) continue;
    const file = SessionFeedbackFile.forSession(discovery.sessionsDir, f.sessionId);
    await file.refresh();
    for (const p of file.problems) summary.problems.push(`${p.file}:${p.line}: ${p.detail}`);
    const latest = [...file.latest().values()];
    if (latest.length === 0) continue;
    summary.sessionsWithFeedback++;
    summary.ratedTurns += latest.length;
    const found = sessions.get(f.sessionId);
    if (!found) {
      summary.problems.push(`${f.name}: no session "${f.sessionId}" in ${discovery.journalDir}`);
      for (const fb of latest) exclude(fb.value === 0 ? 'cleared' : 'unknown_turn');
      continue;
    }
    const journal = new SessionJournal(discovery.sessionsDir, f.sessionId, { maxLineBytes: options.maxLineBytes });
    journal.setShards(found.shards);
    await journal.refresh();
    const analysis = journal.analyze(analyzeOptions);
    const turns = new Map(analysis.turns.map((t) => [t.turnId, t]));
    const overwritten = overwrittenTurns(analysis);
    for (const fb of latest) {
      const r = check(fb, turns.get(fb.turnId), analysis, overwritten, options);
      if (typeof r === 'string') exclude(r);
      else candidates.push(r);
    }
  }
  candidates.sort(compareCandidates);

  const lines: string[] = [];
  const used = new Set<Candidate>();
  if (options.format === 'sft') {
    for (const c of candidates) {
      if (c.value !== 1) {
        exclude('thumbs_down_in_sft');
        continue;
      }
      lines.push(jsonLine({ messages: [...c.prompt, c.answer] } satisfies SftExample));
      used.add(c);
    }
  } else if (options.format === 'kto') {
    for (const c of candidates) {
      lines.push(jsonLine({ prompt: c.prompt, completion: [c.answer], label: c.value === 1 } satisfies KtoExample));
      used.add(c);
    }
  } else {
    // Group by prompt (same user message, same context before it), in first-seen order.
    const groups = new Map<string, Candidate[]>();
    for (const c of candidates) {
      const k = JSON.stringify(c.prompt);
      const g = groups.get(k);
      if (g) g.push(c);
      else groups.set(k, [c]);
    }
    const pairs: [Candidate, Candidate][] = [];
    for (const g of groups.values()) {
      const ups = g.filter((c) => c.value === 1);
      const downs = g.filter((c) => c.value === -1);
      for (const u of ups) for (const d of downs) {
        if (u.answer.content === d.answer.content) {
          exclude('identical_pair');
          continue;
        }
        pairs.push([u, d]);
      }
    }
    pairs.sort((x, y) => compareCandidates(x[0], y[0]) || compareCandidates(x[1], y[1]));
    for (const [u, d] of pairs) {
      lines.push(jsonLine({ prompt: u.prompt, chosen: [u.answer], rejected: [d.answer] } satisfies DpoExample));
      used.add(u);
      used.add(d);
    }
    for (const c of candidates) if (!used.has(c)) exclude('unpaired');
  }
  for (const c of used) summary.included[c.value === 1 ? 'up' : 'down']++;
  summary.examples = lines.length;
  return { lines, summary };
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return compareNames(a.sessionId, b.sessionId) || a.start - b.start || compareNames(a.turnId, b.turnId);
}

/** Turns whose assistant_message_index a later completed turn of the session reused. */
function overwrittenTurns(a: SessionAnalysis): Set<string> {
  const byIndex = new Map<number, Turn[]>();
  for (const t of a.turns) {
    if (t.assistantMessageIndex === null || !Number.isInteger(t.assistantMessageIndex)) continue;
    const list = byIndex.get(t.assistantMessageIndex) ?? [];
    list.push(t);
    byIndex.set(t.assistantMessageIndex, list);
  }
  const out = new Set<string>();
  for (const list of byIndex.values()) {
    if (list.length < 2) continue;
    const newest = list.reduce((best, t) => ((t.lastAt ?? -Infinity) > (best.lastAt ?? -Infinity) || ((t.lastAt ?? -Infinity) === (best.lastAt ?? -Infinity) && t.turnId > best.turnId) ? t : best));
    for (const t of list) if (t !== newest) out.add(t.turnId);
  }
  return out;
}

function startOf(t: Turn): number {
  return t.startedAt ?? t.events[0]?.sortKey ?? 0;
}

function check(fb: TurnFeedback, t: Turn | undefined, a: SessionAnalysis, overwritten: Set<string>, o: ExportOptions): Candidate | ExcludeReason {
  if (fb.value === 0) return 'cleared';
  if (!t) return 'unknown_turn';
  const start = startOf(t);
  if (o.since !== undefined && !(start >= o.since)) return 'before_since';
  if (o.until !== undefined && !(start <= o.until)) return 'after_until';
  if (o.model !== undefined && t.model !== o.model) return 'other_model';
  if (o.tags && o.tags.length > 0 && !(fb.tags ?? []).some((x) => o.tags!.includes(x))) return 'tag_mismatch';
  if (t.collision && !o.includeCollisions) return 'collision';
  if (t.state === 'interrupted' && !o.includeInterrupted) return 'interrupted';
  if (t.state !== 'completed' && t.state !== 'interrupted') return 'not_finished';
  const msgs = a.sidecar?.messages;
  const idx = t.assistantMessageIndex;
  if (!msgs || idx === null || !Number.isInteger(idx) || idx < 0 || idx >= msgs.length) return 'no_answer';
  const answer = msgs[idx];
  if (answer.role !== 'assistant' || answer.error) return 'no_answer';
  if (overwritten.has(t.turnId)) return 'answer_overwritten';
  const prompt = buildPrompt(msgs.slice(0, idx));
  const lastUser = [...prompt].reverse().find((m) => m.role === 'user');
  if (t.userMessage === null || !lastUser || prompt[prompt.length - 1] !== lastUser || lastUser.content.trim() !== t.userMessage.trim()) return 'context_mismatch';
  return { sessionId: a.sessionId, turnId: t.turnId, start, value: fb.value as 1 | -1, prompt, answer: { role: 'assistant', content: answer.content } };
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'tool']);

/**
 * The context before an answer, in TRL's conversational shape. Roles other than system,
 * user, assistant and tool are dropped; an interruption marker (`_error`) is dropped with
 * the user message(s) since the last real answer, which the model never answered.
 */
export function buildPrompt(messages: readonly SidecarMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  let unanswered = 0; // user messages at the end of `out` since the last assistant answer
  for (const m of messages) {
    if (m.error) {
      out.splice(out.length - unanswered, unanswered);
      unanswered = 0;
      continue;
    }
    if (!ROLES.has(m.role)) continue;
    out.push({ role: m.role as ChatRole, content: m.content });
    if (m.role === 'user') unanswered++;
    else if (m.role === 'assistant') unanswered = 0;
  }
  return out;
}

/** Compact JSON with U+2028/U+2029 escaped (line-splitting readers that break on them stay safe). */
export function jsonLine(v: Example): string {
  return JSON.stringify(v).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029')) + '\n';
}

/** Human summary lines (CLI and notification). */
export function describeSummary(s: ExportSummary): string[] {
  const out = [`${s.examples} ${s.format} example${s.examples === 1 ? '' : 's'} from ${s.included.up} 👍 and ${s.included.down} 👎 turn${s.included.up + s.included.down === 1 ? '' : 's'} (${s.ratedTurns} turn${s.ratedTurns === 1 ? '' : 's'} with feedback in ${s.sessionsWithFeedback} session${s.sessionsWithFeedback === 1 ? '' : 's'})`];
  const reasons = (Object.keys(s.excluded) as ExcludeReason[]).sort();
  for (const r of reasons) out.push(`left out ${s.excluded[r]}: ${EXCLUDE_REASON_TEXT[r]}`);
  return out;
}
