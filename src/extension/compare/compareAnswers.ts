/**
 * Compare Answers: two answers to one question side by side in VS Code's diff editor, on
 * read-only virtual documents (`bot-memory-answer:`), and the reviewer's preference recorded
 * through the feedback service (👍 the chosen turn, 👎 the rejected one: the preference pair
 * the DPO export builds; a correction already counts as chosen there).
 *
 * Candidates for a turn: its latest correction, and the other completed turns of its session
 * that asked the same question (a regeneration, a retry, a split turn's other part).
 */

import * as vscode from 'vscode';
import type { SessionAnalysis, Turn } from '../../core/analyze';
import type { TurnRef } from '../../core/sessionIndex';
import { Disposable } from '../dispose';
import type { FeedbackService } from '../feedback/service';
import type { Registration, Services } from '../services';
import { labelText, notifyInfo, notifyWarning } from '../untrustedText';

export const ANSWER_SCHEME = 'bot-memory-answer';

/** One side of a comparison: a turn's answer, or the latest correction of a turn. */
export interface AnswerSide {
  kind: 'answer' | 'correction';
  ref: TurnRef;
  /** What the reviewer reads in titles: "turn 2 (model)", "correction of turn 2". */
  label: string;
  text: string;
}

export interface Comparison {
  left: AnswerSide;
  right: AnswerSide;
  leftUri: vscode.Uri;
  rightUri: vscode.Uri;
}

/** What a recorded preference wrote. */
export interface PreferenceResult {
  chosen: AnswerSide;
  rejected: AnswerSide;
  /** The feedback values appended, per turn id. */
  recorded: { turnId: string; value: 1 | -1 }[];
}

/** The answer a turn saved in the sidecar, or null (no reply, an error message). */
export function answerOf(a: SessionAnalysis, t: Turn): string | null {
  const i = t.assistantMessageIndex;
  const m = i !== null ? a.sidecar?.messages[i] : undefined;
  if (m && m.role === 'assistant' && !m.error && m.content) return m.content;
  return t.assistantReply && t.assistantReply !== '' ? t.assistantReply : null;
}

function turnLabel(a: SessionAnalysis, t: Turn): string {
  const n = a.turns.indexOf(t) + 1;
  return `turn ${n}${t.model ? ` (${labelText(t.model, 40)})` : ''}`;
}

/** The other answers `turnId` can be compared with (the correction first). */
export function candidatesFor(
  a: SessionAnalysis,
  rootId: string,
  turnId: string,
  correction: string | undefined,
): { self: AnswerSide; others: AnswerSide[] } | undefined {
  const t = a.turns.find((x) => x.turnId === turnId);
  const text = t ? answerOf(a, t) : null;
  if (!t || text === null) return undefined;
  const ref = (id: string): TurnRef => ({ rootId, sessionId: a.sessionId, turnId: id });
  const self: AnswerSide = { kind: 'answer', ref: ref(t.turnId), label: turnLabel(a, t), text };
  const others: AnswerSide[] = [];
  if (correction) others.push({ kind: 'correction', ref: ref(t.turnId), label: `correction of ${self.label}`, text: correction });
  const question = (t.userMessage ?? '').trim();
  for (const o of a.turns) {
    if (o === t || o.state !== 'completed') continue;
    const same = (question !== '' && (o.userMessage ?? '').trim() === question) || t.aliasTurnIds.includes(o.turnId) || o.aliasTurnIds.includes(t.turnId);
    const answer = same ? answerOf(a, o) : null;
    if (answer !== null) others.push({ kind: 'answer', ref: ref(o.turnId), label: turnLabel(a, o), text: answer });
  }
  return { self, others };
}

/** The read-only documents and the open comparisons (by the right side's URI). */
export class CompareAnswers extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  private readonly open = new Map<string, Comparison>();
  private counter = 0;

  constructor(
    private readonly services: Services,
    private readonly feedback: () => FeedbackService,
  ) {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(ANSWER_SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '(this answer is no longer held; run Compare Answers again)\n';
  }

  private store(side: AnswerSide): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: ANSWER_SCHEME, path: `/${side.kind}-${++this.counter}.txt` });
    this.texts.set(uri.toString(), side.text);
    return uri;
  }

  /** Opens the diff editor: `left` (original side) against `right`. */
  async show(left: AnswerSide, right: AnswerSide): Promise<Comparison> {
    const c: Comparison = { left, right, leftUri: this.store(left), rightUri: this.store(right) };
    this.open.set(c.rightUri.toString(), c);
    while (this.open.size > 20) {
      const [k, old] = this.open.entries().next().value as [string, Comparison];
      this.open.delete(k);
      this.texts.delete(old.leftUri.toString());
      this.texts.delete(old.rightUri.toString());
    }
    const title = labelText(`${left.label} ↔ ${right.label}`, 120);
    await vscode.commands.executeCommand('vscode.diff', c.leftUri, c.rightUri, title, { preview: false });
    return c;
  }

  /** The comparison in the active diff editor (or the last one opened). */
  active(): Comparison | undefined {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    if (input instanceof vscode.TabInputTextDiff) {
      const c = this.open.get(input.modified.toString());
      if (c) return c;
    }
    return [...this.open.values()].pop();
  }

  /** Records that `side` of the active comparison is the better answer. */
  async prefer(side: 'left' | 'right', c = this.active()): Promise<PreferenceResult | undefined> {
    if (!c) {
      void notifyInfo('Open two answers with "Compare Answers…" first.');
      return undefined;
    }
    const chosen = side === 'left' ? c.left : c.right;
    const rejected = side === 'left' ? c.right : c.left;
    const fb = this.feedback();
    const recorded: PreferenceResult['recorded'] = [];
    const give = async (s: AnswerSide, value: 1 | -1, note: string): Promise<void> => {
      const rec = await fb.give(s.ref, value, { note, tags: ['compare'] });
      if (rec) recorded.push({ turnId: s.ref.turnId, value });
    };
    // A correction is already the chosen answer of its turn in the DPO export: only the turn's own answer is rated.
    if (chosen.kind === 'answer') await give(chosen, 1, `preferred over ${rejected.label} (Compare Answers)`);
    if (rejected.kind === 'answer') await give(rejected, -1, `${chosen.label} preferred (Compare Answers)`);
    if (recorded.length === 0) {
      void notifyWarning('No preference was recorded (see the message above).');
      return { chosen, rejected, recorded };
    }
    this.services.output.info(`compare: ${chosen.label} preferred over ${rejected.label} in ${chosen.ref.sessionId}`);
    void notifyInfo(`Recorded: ${chosen.label} is better than ${rejected.label}.`);
    return { chosen, rejected, recorded };
  }
}

/** The Compare Answers feature: the documents and the comparisons (commands are in commands.ts). */
export function registerCompareAnswers(services: Services, feedback: FeedbackService): Registration<CompareAnswers> {
  const api = new CompareAnswers(services, () => feedback);
  return { api, disposables: [api] };
}
