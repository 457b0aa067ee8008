/**
 * Training data from curated feedback, one JSON object a line (docs/feedback.md):
 *
 * - `sft`: TRL conversational prompt-completion — `{"prompt":[history…, user],"completion":[answer]}`
 *   for every 👍 answer and every correction (TRL trains on the completion only);
 * - `sft-messages`: `{"messages":[history…, user, answer]}` (TRL trains on every assistant message);
 * - `kto`: `{"prompt","completion","label"}` — 👍 and corrections true, 👎 (and the answer a
 *   correction replaced, unless it was 👍) false;
 * - `dpo`: `{"prompt","chosen","rejected"}` — for one prompt, every (👍 or correction) × (👎 or
 *   corrected original) pair;
 * - `openai-sft`: OpenAI chat fine-tuning `{"messages":[…]}` with `weight` 0 on every assistant
 *   message but the target;
 * - `openai-dpo`: OpenAI preference fine-tuning `{"input":{"messages"},"preferred_output","non_preferred_output"}`.
 *
 * Training never learns a rejected answer: a 👎 answer in the history of an example is replaced
 * by its correction, or the example is left out (`rejected_in_history`).
 *
 * The conversation is rebuilt from the session sidecar's `messages` up to the turn's
 * `assistant_message_index` (FORMATS.md §2), tool traffic included (TRL's and OpenAI's
 * tool-calling shapes). Interruption markers (`_error`) and the user message(s) they answered
 * are left out. Ratings come from `_turn_feedback/` and hermes-webui's own `feedback.jsonl`
 * (reviewer `hermes-webui`); several reviewers are resolved by `latest`, `majority` or
 * `unanimous`. Output order is deterministic: session id, turn start time, turn id.
 */

import type { AnalyzeOptions, SessionAnalysis, Turn } from '../analyze';
import { DEFAULT_STALE_AFTER_MINUTES } from '../analyze';
import { discoverSessions, type DiscoveredSession } from '../discovery';
import { SessionJournal } from '../session';
import { compareNames } from '../sessionId';
import type { SidecarMessage } from '../sidecar';
import { defaultHermesFeedbackPath, hermesBySession, matchHermesFeedback, readHermesFeedbackFile, type HermesFeedback } from './hermes';
import { compareFeedback, latestPerReviewer, reviewerOf, type TurnCorrection } from './latest';
import type { FeedbackRecord } from './record';
import { redactDeep, type RedactionCounts } from './redact';
import { listFeedbackSessions, SessionFeedbackFile } from './store';

export type ExportFormat = 'sft' | 'sft-messages' | 'kto' | 'dpo' | 'openai-sft' | 'openai-dpo';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['sft', 'sft-messages', 'kto', 'dpo', 'openai-sft', 'openai-dpo'];
export type ResolveMode = 'latest' | 'majority' | 'unanimous';
export const RESOLVE_MODES: readonly ResolveMode[] = ['latest', 'majority', 'unanimous'];

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';
/** A message as TRL reads it (`tool_calls[].function.arguments` is an object) or OpenAI does (a JSON string, with ids). */
export interface ChatMessage {
  role: ChatRole;
  content: string;
  tool_calls?: unknown[];
  tool_call_id?: string;
  name?: string;
  weight?: 0 | 1;
}
export type Example = Record<string, unknown>;

export interface ExportOptions {
  format: ExportFormat;
  since?: number;
  until?: number;
  model?: string;
  tags?: readonly string[];
  includeInterrupted?: boolean;
  includeCollisions?: boolean;
  sessionIds?: readonly string[];
  /** Only ratings and corrections of these reviewers (`hermes-webui` for hermes' own thumbs). */
  reviewers?: readonly string[];
  /** How several reviewers' ratings of a turn become one: default `latest`. */
  resolve?: ResolveMode;
  /** hermes' `feedback.jsonl`: undefined = beside the sessions folder, null = do not read. */
  hermesFeedback?: string | null;
  /** Mask secrets and personal data in the output (default true). */
  redact?: boolean;
  maxLineBytes?: number;
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
  | 'rejected_in_history'
  | 'thumbs_down_in_sft'
  | 'no_majority'
  | 'not_unanimous'
  | 'other_reviewer'
  | 'unpaired'
  | 'identical_pair'
  | 'tool_traffic_in_output';

export const EXCLUDE_REASON_TEXT: Record<ExcludeReason, string> = {
  cleared: 'feedback cleared (latest record is 0) and no correction',
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
  rejected_in_history: 'an earlier 👎 answer without a correction is in the conversation (it would be trained on)',
  thumbs_down_in_sft: '👎 answers are not SFT targets (write a correction to make one)',
  no_majority: 'reviewers are split evenly (--resolve majority)',
  not_unanimous: 'reviewers disagree (--resolve unanimous)',
  other_reviewer: 'rated only by reviewers not in --reviewer',
  unpaired: 'no answer with the opposite rating for the same prompt (dpo needs a 👍 or correction and a 👎)',
  identical_pair: 'the chosen and rejected answers have the same text (pair skipped)',
  tool_traffic_in_output: "the answer includes tool calls: OpenAI's preference format takes one assistant message (pair skipped)",
};

export interface ExportSummary {
  format: ExportFormat;
  resolve: ResolveMode;
  sessionsWithFeedback: number;
  /** Turns with a rating or a correction, before any filter. */
  ratedTurns: number;
  examples: number;
  /** Turns used in at least one example, by their resolved rating (corrections: turns whose correction was used). */
  included: { up: number; down: number; corrected: number };
  /** Examples by label: sft/openai-sft `target`; kto `true`/`false`; dpo `pair`. */
  labels: Record<string, number>;
  excluded: Partial<Record<ExcludeReason, number>>;
  reviewers: string[];
  models: string[];
  /** Turn start times of the examples (epoch seconds). */
  firstTurnAt: number | null;
  lastTurnAt: number | null;
  redacted: boolean;
  redactions: RedactionCounts;
  /** hermes-webui's feedback.jsonl: where, how many records, which matched no turn. */
  hermes: { path: string; records: number; matched: number; unmatched: string[] } | null;
  problems: string[];
}

export interface ExportResult {
  lines: string[];
  summary: ExportSummary;
}

/** One message of the conversation as read, before it is shaped for a format. */
interface Msg {
  role: ChatRole;
  content: string;
  toolCalls: { id: string | null; name: string; arguments: string }[] | null;
  toolCallId: string | null;
  name: string | null;
}

/** A rated or corrected turn that passed every check, with its conversation. */
interface Candidate {
  sessionId: string;
  turnId: string;
  start: number;
  model: string | null;
  /** Resolved rating; 0 = unrated (a correction only). */
  value: 1 | -1 | 0;
  correction: string | null;
  prompt: Msg[];
  /** The turn's output: its tool traffic, then the answer. */
  output: Msg[];
  reviewers: string[];
}

type Resolved = { value: 1 | -1 | 0; reviewers: string[] } | ExcludeReason;

/** One turn's rating from its records (in winning order) under a resolve mode. */
export function resolveRating(history: readonly FeedbackRecord[], mode: ResolveMode): Resolved {
  if (history.length === 0) return { value: 0, reviewers: [] };
  if (mode === 'latest') {
    const l = history[history.length - 1];
    return { value: l.feedback, reviewers: [reviewerOf(l)] };
  }
  const per = [...latestPerReviewer(history).entries()].filter(([, r]) => r.feedback !== 0);
  if (per.length === 0) return { value: 0, reviewers: [] };
  const up = per.filter(([, r]) => r.feedback === 1).length;
  const down = per.length - up;
  const reviewers = per.map(([n]) => n).sort();
  if (mode === 'unanimous') return up > 0 && down > 0 ? 'not_unanimous' : { value: up > 0 ? 1 : -1, reviewers };
  if (up === down) return 'no_majority';
  return { value: up > down ? 1 : -1, reviewers };
}

/**
 * The export, top-down: read hermes-webui's thumbs, then each session's candidates (its
 * records resolved per turn and checked against the journal), then the format's lines, then
 * the summary of what was used.
 */
export async function exportTrainingData(sessionsDir: string, options: ExportOptions): Promise<ExportResult> {
  const summary = newSummary(options);
  const discovery = await discoverSessions(sessionsDir);
  const run: ExportRun = {
    sessionsDir: discovery.sessionsDir,
    journalDir: discovery.journalDir,
    sessions: new Map(discovery.sessions.map((s) => [s.sessionId, s])),
    options,
    summary,
    resolve: options.resolve ?? 'latest',
    reviewerFilter: options.reviewers && options.reviewers.length > 0 ? new Set(options.reviewers) : null,
    analyzeOptions: { now: options.now ?? Date.now() / 1000, staleAfterSeconds: DEFAULT_STALE_AFTER_MINUTES * 60 },
    exclude: (r, n = 1) => (summary.excluded[r] = (summary.excluded[r] ?? 0) + n),
  };
  const hermes = await readHermesForExport(run);
  const ownFiles = new Map((await listFeedbackSessions(run.sessionsDir)).map((f) => [f.sessionId, f]));
  const only = options.sessionIds ? new Set(options.sessionIds) : null;
  const candidates: Candidate[] = [];
  for (const sid of [...new Set([...ownFiles.keys(), ...hermes.keys()])].sort(compareNames)) {
    if (only && !only.has(sid)) continue;
    candidates.push(...(await sessionCandidates(run, sid, ownFiles.has(sid), hermes.get(sid) ?? [])));
  }
  candidates.sort(compareCandidates);
  const out = new ExampleWriter(summary);
  const f = options.format;
  if (f === 'sft' || f === 'sft-messages' || f === 'openai-sft') writeSft(out, candidates, f, run.exclude);
  else if (f === 'kto') writeKto(out, candidates);
  else writePreference(out, candidates, f, run.exclude);
  summarizeUsed(summary, out);
  return { lines: out.lines, summary };
}

/** What one export run reads everywhere. */
interface ExportRun {
  sessionsDir: string;
  journalDir: string;
  sessions: Map<string, DiscoveredSession>;
  options: ExportOptions;
  summary: ExportSummary;
  resolve: ResolveMode;
  reviewerFilter: Set<string> | null;
  analyzeOptions: AnalyzeOptions;
  exclude: (r: ExcludeReason, n?: number) => void;
}

function newSummary(options: ExportOptions): ExportSummary {
  return {
    format: options.format,
    resolve: options.resolve ?? 'latest',
    sessionsWithFeedback: 0,
    ratedTurns: 0,
    examples: 0,
    included: { up: 0, down: 0, corrected: 0 },
    labels: {},
    excluded: {},
    reviewers: [],
    models: [],
    firstTurnAt: null,
    lastTurnAt: null,
    redacted: options.redact !== false,
    redactions: {},
    hermes: null,
    problems: [],
  };
}

/** hermes-webui's own thumbs, by session (none when `hermesFeedback` is null or the default file is missing). */
async function readHermesForExport(run: ExportRun): Promise<Map<string, HermesFeedback[]>> {
  const { options, summary } = run;
  if (options.hermesFeedback === null) return new Map();
  const file = options.hermesFeedback ?? defaultHermesFeedbackPath(run.sessionsDir);
  const read = await readHermesFeedbackFile(file);
  summary.problems.push(...read.problems);
  if (!read.exists && options.hermesFeedback === undefined) return new Map();
  summary.hermes = { path: file, records: read.records.length, matched: 0, unmatched: [] };
  return hermesBySession(read.records);
}

/** One session's candidates: its records and hermes' matched to turns, resolved, each turn checked. */
async function sessionCandidates(run: ExportRun, sid: string, hasOwnFile: boolean, hermesHere: HermesFeedback[]): Promise<Candidate[]> {
  const { summary } = run;
  const { records, corrections } = hasOwnFile ? await readOwnFeedback(run, sid) : { records: [], corrections: new Map<string, TurnCorrection>() };
  const analysis = await analyzeForExport(run, sid);
  if (analysis && hermesHere.length) {
    const m = matchHermesFeedback(hermesHere, analysis);
    records.push(...m.records);
    summary.hermes!.matched += m.records.length;
    for (const u of m.unmatched) summary.hermes!.unmatched.push(`${sid} line ${u.record.line}: ${u.why}`);
  } else if (!analysis) {
    for (const r of hermesHere) summary.hermes!.unmatched.push(`${sid} line ${r.line}: no session "${sid}" in ${run.journalDir}`);
  }
  const byTurn = recordsByTurn(records);
  const turnIds = [...new Set([...byTurn.keys(), ...[...corrections.values()].filter((c) => c.text !== '').map((c) => c.turnId)])];
  if (turnIds.length === 0) return [];
  summary.sessionsWithFeedback++;
  summary.ratedTurns += turnIds.length;
  if (!analysis) {
    summary.problems.push(`_turn_feedback/${sid}.jsonl: no session "${sid}" in ${run.journalDir}`);
    run.exclude('unknown_turn', turnIds.length);
    return [];
  }
  const state = resolveTurns(run, turnIds, byTurn, corrections);
  return checkTurns(run, analysis, turnIds, state);
}

/** The session's own `_turn_feedback` records (rating a turn) and latest corrections; problems noted. */
async function readOwnFeedback(run: ExportRun, sid: string): Promise<{ records: FeedbackRecord[]; corrections: Map<string, TurnCorrection> }> {
  const file = SessionFeedbackFile.forSession(run.sessionsDir, sid);
  await file.refresh();
  for (const p of file.problems) run.summary.problems.push(`${p.file}:${p.line}: ${p.detail}`);
  return { records: file.records.filter((r) => r.turnId !== null), corrections: file.latestCorrections() };
}

async function analyzeForExport(run: ExportRun, sid: string): Promise<SessionAnalysis | null> {
  const found = run.sessions.get(sid);
  if (!found) return null;
  const journal = new SessionJournal(run.sessionsDir, sid, { maxLineBytes: run.options.maxLineBytes });
  journal.setShards(found.shards);
  await journal.refresh();
  return journal.analyze(run.analyzeOptions);
}

/** Records per turn, in winning order. */
function recordsByTurn(records: readonly FeedbackRecord[]): Map<string, FeedbackRecord[]> {
  const byTurn = new Map<string, FeedbackRecord[]>();
  for (const r of records) {
    const g = byTurn.get(r.turnId!);
    if (g) g.push(r);
    else byTurn.set(r.turnId!, [r]);
  }
  for (const g of byTurn.values()) g.sort(compareFeedback);
  return byTurn;
}

interface TurnState {
  resolved: Resolved;
  correction: string | null;
  tags: string[] | null;
}

/** Resolved state of every turn (the history rule needs the earlier turns' too), under `--reviewer` and `--resolve`. */
function resolveTurns(
  run: ExportRun,
  turnIds: readonly string[],
  byTurn: Map<string, FeedbackRecord[]>,
  corrections: Map<string, TurnCorrection>,
): Map<string, TurnState> {
  const filter = run.reviewerFilter;
  const state = new Map<string, TurnState>();
  for (const tid of turnIds) {
    const all = byTurn.get(tid) ?? [];
    const mine = filter ? all.filter((r) => filter.has(reviewerOf(r))) : all;
    const cor = corrections.get(tid);
    const correction = cor && cor.text !== '' && (!filter || filter.has(reviewerOf(cor))) ? cor.text : null;
    const resolved: Resolved = all.length > 0 && mine.length === 0 && correction === null ? 'other_reviewer' : resolveRating(mine, run.resolve);
    state.set(tid, { resolved, correction, tags: mine.length ? mine[mine.length - 1].tags : null });
  }
  return state;
}

/** Each resolved turn checked against the journal and sidecar: a candidate, or a reason to leave it out. */
function checkTurns(run: ExportRun, analysis: SessionAnalysis, turnIds: readonly string[], state: Map<string, TurnState>): Candidate[] {
  const turns = new Map(analysis.turns.map((t) => [t.turnId, t]));
  const overwritten = overwrittenTurns(analysis);
  // Sidecar answer index -> that answer's resolved rating and correction.
  const atIndex = new Map<number, { value: number; correction: string | null }>();
  for (const [tid, s] of state) {
    const t = turns.get(tid);
    if (!t || t.assistantMessageIndex === null || overwritten.has(tid)) continue;
    atIndex.set(t.assistantMessageIndex, { value: typeof s.resolved === 'string' ? 0 : s.resolved.value, correction: s.correction });
  }
  const out: Candidate[] = [];
  for (const tid of turnIds) {
    const s = state.get(tid)!;
    if (typeof s.resolved === 'string') {
      run.exclude(s.resolved);
      continue;
    }
    if (s.resolved.value === 0 && s.correction === null) {
      run.exclude('cleared');
      continue;
    }
    const r = check(tid, s.resolved, s.correction, s.tags, turns.get(tid), analysis, overwritten, atIndex, run.options);
    if (typeof r === 'string') run.exclude(r);
    else out.push(r);
  }
  return out;
}

/** The lines written so far (redacted), the candidates they used, and label counts. */
class ExampleWriter {
  readonly lines: string[] = [];
  readonly used = new Set<Candidate>();
  readonly usedCorrection = new Set<Candidate>();

  constructor(private readonly summary: ExportSummary) {}

  emit(ex: Example, ...cs: Candidate[]): void {
    const out = this.summary.redacted ? redactDeep(ex, this.summary.redactions) : ex;
    this.lines.push(jsonLine(out));
    for (const c of cs) this.used.add(c);
  }

  label(l: string): void {
    this.summary.labels[l] = (this.summary.labels[l] ?? 0) + 1;
  }
}

/** sft / sft-messages / openai-sft: each 👍 answer or correction is a target; a 👎 without one is left out. */
function writeSft(out: ExampleWriter, candidates: readonly Candidate[], f: 'sft' | 'sft-messages' | 'openai-sft', exclude: ExportRun['exclude']): void {
  for (const c of candidates) {
    let target: Msg[];
    if (c.correction !== null) {
      target = [answerMsg(c.correction)];
      out.usedCorrection.add(c);
    } else if (c.value === 1) target = c.output;
    else {
      exclude('thumbs_down_in_sft');
      continue;
    }
    out.label('target');
    if (f === 'sft') out.emit({ prompt: shape(c.prompt, 'trl'), completion: shape(target, 'trl') }, c);
    else if (f === 'sft-messages') out.emit({ messages: shape([...c.prompt, ...target], 'trl') }, c);
    else
      out.emit(
        {
          messages: [
            ...shape(c.prompt, 'openai').map((m) => (m.role === 'assistant' ? { ...m, weight: 0 as const } : m)),
            ...shape(target, 'openai').map((m) => (m.role === 'assistant' ? { ...m, weight: 1 as const } : m)),
          ],
        },
        c,
      );
  }
}

/** kto: 👍 and corrections true; 👎 and a corrected original (unless it was 👍) false. */
function writeKto(out: ExampleWriter, candidates: readonly Candidate[]): void {
  for (const c of candidates) {
    const prompt = shape(c.prompt, 'trl');
    if (c.correction !== null) {
      out.emit({ prompt, completion: shape([answerMsg(c.correction)], 'trl'), label: true }, c);
      out.label('true');
      out.usedCorrection.add(c);
      if (c.value !== 1) {
        out.emit({ prompt, completion: shape(c.output, 'trl'), label: false }, c);
        out.label('false');
      }
    } else {
      out.emit({ prompt, completion: shape(c.output, 'trl'), label: c.value === 1 }, c);
      out.label(c.value === 1 ? 'true' : 'false');
    }
  }
}

interface Side {
  c: Candidate;
  msgs: Msg[];
  isCorrection: boolean;
}

/** dpo / openai-dpo: for one prompt, every chosen (👍 output or correction) × rejected (👎 output or corrected original unless 👍). */
function writePreference(out: ExampleWriter, candidates: readonly Candidate[], f: 'dpo' | 'openai-dpo', exclude: ExportRun['exclude']): void {
  const pairs = preferencePairs(candidates, f, exclude);
  for (const [u, d] of pairs) {
    if (f === 'dpo') out.emit({ prompt: shape(u.c.prompt, 'trl'), chosen: shape(u.msgs, 'trl'), rejected: shape(d.msgs, 'trl') }, u.c, d.c);
    else
      out.emit(
        { input: { messages: shape(u.c.prompt, 'openai') }, preferred_output: shape(u.msgs, 'openai'), non_preferred_output: shape(d.msgs, 'openai') },
        u.c,
        d.c,
      );
    if (u.isCorrection) out.usedCorrection.add(u.c);
    out.label('pair');
  }
  for (const c of candidates) if (!out.used.has(c)) exclude('unpaired');
}

/** The pairs in output order: the chosen answer's candidate (a correction first), then the rejected one's. */
function preferencePairs(candidates: readonly Candidate[], f: 'dpo' | 'openai-dpo', exclude: ExportRun['exclude']): [Side, Side][] {
  const groups = new Map<string, { chosen: Side[]; rejected: Side[] }>();
  for (const c of candidates) {
    const k = JSON.stringify(c.prompt);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { chosen: [], rejected: [] }));
    if (c.correction !== null) g.chosen.push({ c, msgs: [answerMsg(c.correction)], isCorrection: true });
    if (c.value === 1) g.chosen.push({ c, msgs: c.output, isCorrection: false });
    else g.rejected.push({ c, msgs: c.output, isCorrection: false });
  }
  const pairs: [Side, Side][] = [];
  for (const g of groups.values())
    for (const u of g.chosen)
      for (const d of g.rejected) {
        if (JSON.stringify(u.msgs) === JSON.stringify(d.msgs)) {
          exclude('identical_pair');
          continue;
        }
        if (f === 'openai-dpo' && (u.msgs.length !== 1 || d.msgs.length !== 1)) {
          exclude('tool_traffic_in_output');
          continue;
        }
        pairs.push([u, d]);
      }
  return pairs.sort((x, y) => compareCandidates(x[0].c, y[0].c) || Number(y[0].isCorrection) - Number(x[0].isCorrection) || compareCandidates(x[1].c, y[1].c));
}

/** Counts, reviewers, models and the date range of the candidates the lines used. */
function summarizeUsed(summary: ExportSummary, out: ExampleWriter): void {
  const reviewers = new Set<string>();
  const models = new Set<string>();
  for (const c of out.used) {
    if (c.value === 1) summary.included.up++;
    else if (c.value === -1) summary.included.down++;
    for (const r of c.reviewers) reviewers.add(r);
    if (c.model) models.add(c.model);
    summary.firstTurnAt = summary.firstTurnAt === null ? c.start : Math.min(summary.firstTurnAt, c.start);
    summary.lastTurnAt = summary.lastTurnAt === null ? c.start : Math.max(summary.lastTurnAt, c.start);
  }
  summary.included.corrected = out.usedCorrection.size;
  summary.reviewers = [...reviewers].sort();
  summary.models = [...models].sort();
  summary.examples = out.lines.length;
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
    const newest = list.reduce((best, t) =>
      (t.lastAt ?? -Infinity) > (best.lastAt ?? -Infinity) || ((t.lastAt ?? -Infinity) === (best.lastAt ?? -Infinity) && t.turnId > best.turnId) ? t : best,
    );
    for (const t of list) if (t !== newest) out.add(t.turnId);
  }
  return out;
}

function startOf(t: Turn): number {
  return t.startedAt ?? t.events[0]?.sortKey ?? 0;
}

function check(
  turnId: string,
  resolved: { value: 1 | -1 | 0; reviewers: string[] },
  correction: string | null,
  tags: string[] | null,
  t: Turn | undefined,
  a: SessionAnalysis,
  overwritten: Set<string>,
  atIndex: Map<number, { value: number; correction: string | null }>,
  o: ExportOptions,
): Candidate | ExcludeReason {
  if (!t) return 'unknown_turn';
  const start = startOf(t);
  if (o.since !== undefined && !(start >= o.since)) return 'before_since';
  if (o.until !== undefined && !(start <= o.until)) return 'after_until';
  if (o.model !== undefined && t.model !== o.model) return 'other_model';
  if (o.tags && o.tags.length > 0 && !(tags ?? []).some((x) => o.tags!.includes(x))) return 'tag_mismatch';
  if (t.collision && !o.includeCollisions) return 'collision';
  if (t.state === 'interrupted' && !o.includeInterrupted) return 'interrupted';
  if (t.state !== 'completed' && t.state !== 'interrupted') return 'not_finished';
  const msgs = a.sidecar?.messages;
  const idx = t.assistantMessageIndex;
  if (!msgs || idx === null || !Number.isInteger(idx) || idx < 0 || idx >= msgs.length) return 'no_answer';
  const answer = msgs[idx];
  if (answer.role !== 'assistant' || answer.error) return 'no_answer';
  if (overwritten.has(t.turnId)) return 'answer_overwritten';
  const conv = buildConversation(msgs.slice(0, idx), atIndex);
  if (conv === 'rejected_in_history') return conv;
  const { prompt, pending } = conv;
  const lastUser = prompt[prompt.length - 1];
  if (t.userMessage === null || !lastUser || lastUser.role !== 'user' || lastUser.content.trim() !== t.userMessage.trim()) return 'context_mismatch';
  const reviewers = correction !== null && resolved.reviewers.length === 0 ? [] : resolved.reviewers;
  return { sessionId: a.sessionId, turnId, start, model: t.model, value: resolved.value, correction, prompt, output: [...pending, toMsg(answer)!], reviewers };
}

const ROLES: ReadonlySet<string> = new Set(['system', 'user', 'assistant', 'tool']);

function answerMsg(text: string): Msg {
  return { role: 'assistant', content: text, toolCalls: null, toolCallId: null, name: null };
}

function toMsg(m: SidecarMessage): Msg | null {
  if (!ROLES.has(m.role)) return null;
  const raw = m.raw;
  let toolCalls: Msg['toolCalls'] = null;
  if (m.role === 'assistant' && Array.isArray(raw.tool_calls) && raw.tool_calls.length > 0) {
    toolCalls = [];
    for (const c of raw.tool_calls as unknown[]) {
      if (typeof c !== 'object' || c === null) continue;
      const o = c as Record<string, unknown>;
      const fn = (typeof o.function === 'object' && o.function !== null ? o.function : o) as Record<string, unknown>;
      if (typeof fn.name !== 'string') continue;
      const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
      toolCalls.push({ id: typeof o.id === 'string' ? o.id : null, name: fn.name, arguments: args });
    }
    if (toolCalls.length === 0) toolCalls = null;
  }
  return {
    role: m.role as ChatRole,
    content: m.content,
    toolCalls,
    toolCallId: m.role === 'tool' && typeof raw.tool_call_id === 'string' ? raw.tool_call_id : null,
    name: m.role === 'tool' && typeof raw.name === 'string' ? raw.name : null,
  };
}

/**
 * The conversation before an answer. Returns the prompt (ending with the turn's user message)
 * and the turn's tool traffic before the answer (`pending`). Earlier answers rated 👎 are
 * replaced by their correction (their tool traffic with them); without one the example is
 * `rejected_in_history`. Interruption markers are dropped with the user message(s) they answered.
 */
function buildConversation(
  messages: readonly SidecarMessage[],
  atIndex: Map<number, { value: number; correction: string | null }>,
): { prompt: Msg[]; pending: Msg[] } | 'rejected_in_history' {
  const out: Msg[] = [];
  let turnStart = -1; // first user message since the last answer
  let outputStart = -1; // just after the latest user message
  const toolNames = new Map<string, string>();
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m.error) {
      if (turnStart >= 0) out.length = turnStart;
      turnStart = outputStart = -1;
      continue;
    }
    const msg = toMsg(m);
    if (!msg) continue;
    if (msg.role === 'user') {
      if (turnStart < 0) turnStart = out.length;
      out.push(msg);
      outputStart = out.length;
      continue;
    }
    if (msg.role === 'assistant' && msg.toolCalls) for (const c of msg.toolCalls) if (c.id) toolNames.set(c.id, c.name);
    if (msg.role === 'tool' && msg.name === null && msg.toolCallId) msg.name = toolNames.get(msg.toolCallId) ?? null;
    const isAnswer = msg.role === 'assistant' && (atIndex.has(i) || !msg.toolCalls);
    if (!isAnswer) {
      out.push(msg);
      continue;
    }
    const s = atIndex.get(i);
    if (s && s.correction !== null) {
      if (outputStart >= 0) out.length = outputStart;
      out.push(answerMsg(s.correction));
    } else if (s && s.value === -1) return 'rejected_in_history';
    else out.push(msg);
    turnStart = outputStart = -1;
  }
  if (outputStart < 0) return { prompt: out, pending: [] };
  return { prompt: out.slice(0, outputStart), pending: out.slice(outputStart) };
}

/** TRL's message shape (`arguments` an object) or OpenAI's (`arguments` a JSON string, ids kept). */
function shape(msgs: readonly Msg[], to: 'trl' | 'openai'): ChatMessage[] {
  return msgs.map((m) => {
    const o: ChatMessage = { role: m.role, content: m.content };
    if (m.toolCalls) {
      o.tool_calls = m.toolCalls.map((c) =>
        to === 'openai'
          ? { id: c.id ?? '', type: 'function', function: { name: c.name, arguments: c.arguments } }
          : { type: 'function', function: { name: c.name, arguments: parseArgs(c.arguments) } },
      );
    }
    if (m.role === 'tool') {
      if (to === 'openai' && m.toolCallId) o.tool_call_id = m.toolCallId;
      if (to === 'trl' && m.name) o.name = m.name;
    }
    return o;
  });
}

function parseArgs(s: string): unknown {
  try {
    const v = JSON.parse(s);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
  } catch {
    // not JSON: kept as the string it is
  }
  return s;
}

/** The context before an answer in TRL's conversational shape (no history rule; kept for callers). */
export function buildPrompt(messages: readonly SidecarMessage[]): ChatMessage[] {
  const conv = buildConversation(messages, new Map());
  if (conv === 'rejected_in_history') return [];
  return shape([...conv.prompt, ...conv.pending], 'trl');
}

/** Compact JSON with U+2028/U+2029 escaped (line-splitting readers that break on them stay safe). */
export function jsonLine(v: Example): string {
  return JSON.stringify(v).replace(/[\u2028\u2029]/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029')) + '\n';
}

/** Human summary lines (CLI and notification). */
export function describeSummary(s: ExportSummary): string[] {
  const turns = s.included.up + s.included.down;
  const out = [
    `${s.examples} ${s.format} example${s.examples === 1 ? '' : 's'} from ${s.included.up} 👍 and ${s.included.down} 👎 turn${turns === 1 ? '' : 's'}` +
      `${s.included.corrected ? ` and ${s.included.corrected} correction${s.included.corrected === 1 ? '' : 's'}` : ''}` +
      ` (${s.ratedTurns} turn${s.ratedTurns === 1 ? '' : 's'} with feedback in ${s.sessionsWithFeedback} session${s.sessionsWithFeedback === 1 ? '' : 's'}; resolve ${s.resolve})`,
  ];
  const reasons = (Object.keys(s.excluded) as ExcludeReason[]).sort();
  for (const r of reasons) out.push(`left out ${s.excluded[r]}: ${EXCLUDE_REASON_TEXT[r]}`);
  if (s.hermes)
    out.push(`hermes-webui feedback: ${s.hermes.matched} of ${s.hermes.records} record${s.hermes.records === 1 ? '' : 's'} matched a turn (${s.hermes.path})`);
  if (s.hermes) for (const u of s.hermes.unmatched.slice(0, 20)) out.push(`unmatched hermes-webui record: ${u}`);
  const masked = Object.entries(s.redactions).map(([k, n]) => `${n} ${k}`);
  out.push(s.redacted ? `redacted: ${masked.length ? masked.join(', ') : 'nothing found'}` : 'not redacted (--no-redact)');
  return out;
}
