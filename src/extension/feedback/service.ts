/**
 * Giving feedback from the editor: appends the record (core/feedback/store),
 * and tells the index at once, so the tree and open timelines update without waiting for
 * the file watcher (which still reports other processes' appends).
 */

import * as vscode from 'vscode';
import { isReviewed, type TurnFeedback } from '../../core/feedback/latest';
import { feedbackFilePath, type FeedbackRecord, type FeedbackValue } from '../../core/feedback/record';
import { appendCorrection, appendFeedback } from '../../core/feedback/store';
import type { CorrectionRecord } from '../../core/feedback/record';
import { defaultReviewer } from '../../core/feedback/reviewer';
import { isReviewable, type TurnRef } from '../../core/sessionIndex';
import type { Services } from '../services';
import { onDidAskReason } from './reasons';
import { ReviewStatusBar } from './reviewStatusBar';
import type { SessionStore } from '../store';
import { notifyError, notifyInfo, notifyWarning } from '../untrustedText';

export interface ReviewProgress {
  reviewed: number;
  reviewable: number;
}

export class FeedbackService {
  private cursor: QueueEntry | undefined;

  /** The 👎 reason pick is shown (feedback/reasons.ts; tests choose an item after it). */
  readonly onDidAskReason = onDidAskReason;

  /** Correction editors open now: file → turn (each save appends a correction record). */
  readonly correctionFiles = new Map<string, TurnRef>();

  /** The review queue's progress in the status bar (shown once reviewing starts in this window). */
  readonly statusBar: ReviewStatusBar;

  constructor(private readonly services: Services) {
    this.statusBar = new ReviewStatusBar(services.store);
  }

  /** Records saves of correction editors ("Write Correction…"). */
  watchCorrections(): vscode.Disposable {
    return vscode.workspace.onDidSaveTextDocument(async (doc) => {
      const ref = this.correctionFiles.get(doc.uri.fsPath);
      if (!ref) return;
      const rec = await this.correct(ref, doc.getText());
      if (rec)
        void notifyInfo(
          rec.text === ''
            ? `Correction withdrawn for turn ${ref.turnId}.`
            : `Correction saved for turn ${ref.turnId} (${rec.text.length} characters): an SFT target and a DPO pair.`,
        );
    });
  }

  /** Appends a correction record ('' withdraws the turn's correction) and tells the index. */
  async correct(ref: TurnRef, text: string): Promise<CorrectionRecord | undefined> {
    if (!this.canWrite()) return undefined;
    const root = this.store.index.root(ref.rootId);
    if (!root) {
      void notifyWarning(`The sessions folder of ${ref.sessionId} is no longer open.`);
      return undefined;
    }
    try {
      const rec = appendCorrection(root.sessionsDir, { sessionId: ref.sessionId, turnId: ref.turnId, text, reviewer: await this.reviewer() });
      this.services.output.info(`correction on ${ref.sessionId}/${ref.turnId} by ${rec.reviewer} (${rec.text.length} characters)`);
      await this.store.index.fileChanged(feedbackFilePath(root.sessionsDir, ref.sessionId), 'changed');
      return rec;
    } catch (e) {
      void notifyError(`Could not save the correction: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  }

  get store(): SessionStore {
    return this.services.store;
  }

  /** The setting `botMemory.feedback.reviewer`, else git's user.name, else the OS user. */
  async reviewer(): Promise<string> {
    const configured = vscode.workspace.getConfiguration('botMemory.feedback').get<string>('reviewer');
    const cwd = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
    return defaultReviewer(configured, cwd);
  }

  /** Refuses (with a message) in an untrusted workspace: feedback writes files. */
  canWrite(): boolean {
    if (vscode.workspace.isTrusted) return true;
    void notifyWarning('Giving feedback writes _turn_feedback files next to the journals: trust this workspace first.');
    return false;
  }

  current(ref: TurnRef): TurnFeedback | undefined {
    return this.store.index.feedback(ref.rootId, ref.sessionId).get(ref.turnId);
  }

  /**
   * Appends a record. `note` undefined keeps the current note with the new value only when
   * the value is unchanged (a new verdict starts without the old note).
   */
  async give(
    ref: TurnRef,
    value: FeedbackValue,
    opts: { note?: string | null; tags?: readonly string[]; reason?: string | null } = {},
  ): Promise<FeedbackRecord | undefined> {
    if (!this.canWrite()) return undefined;
    const root = this.store.index.root(ref.rootId);
    if (!root) {
      void notifyWarning(`The sessions folder of ${ref.sessionId} is no longer open.`);
      return undefined;
    }
    if (value !== 0) {
      const a = await this.store.index.analyze(ref.rootId, ref.sessionId);
      const t = a?.turns.find((x) => x.turnId === ref.turnId);
      if (t && !isReviewable(t)) {
        void notifyWarning(
          `Turn ${ref.turnId} is ${t.state === 'completed' ? 'completed without an answer' : t.state}: only completed turns with an answer can be rated.`,
        );
        return undefined;
      }
    }
    await this.store.index.refreshFeedback(ref.rootId, ref.sessionId);
    const cur = this.current(ref);
    const note = opts.note !== undefined ? opts.note : cur && cur.value === value ? cur.note : null;
    const tags = opts.tags ?? (cur && cur.value === value ? (cur.tags ?? undefined) : undefined);
    let rec: FeedbackRecord;
    try {
      rec = appendFeedback(root.sessionsDir, {
        sessionId: ref.sessionId,
        turnId: ref.turnId,
        feedback: value,
        note,
        tags,
        reason: value === -1 ? opts.reason : null,
        reviewer: await this.reviewer(),
      });
    } catch (e) {
      void notifyError(`Could not save the feedback: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    this.services.output.info(`feedback ${value} on ${ref.sessionId}/${ref.turnId} by ${rec.reviewer}`);
    await this.store.index.fileChanged(feedbackFilePath(root.sessionsDir, ref.sessionId), 'changed');
    this.statusBar.start();
    return rec;
  }

  progress(): ReviewProgress {
    const { reviewed, reviewable } = this.store.index.reviewProgress();
    return { reviewed, reviewable };
  }

  /** The review queue from the settings `botMemory.feedback.queueOrder` / `queueFilter`. */
  queueSettings(): { order: QueueOrder; filter: string } {
    const cfg = vscode.workspace.getConfiguration('botMemory.feedback');
    const order = cfg.get<string>('queueOrder') === 'newestFirst' ? 'newestFirst' : 'oldestFirst';
    return { order, filter: (cfg.get<string>('queueFilter') ?? 'unreviewed').trim() || 'unreviewed' };
  }

  /**
   * The next turn of the review queue after the one last visited (wrapping around once):
   * sessions in queue order (oldest first: by first activity; newest first: by last activity,
   * newest first), within a session its turns in order. The filter picks the turns:
   * `unreviewed` (completed with an answer, no 👍/👎), `thumbsDown` (👎 without a correction),
   * `model:<name>` (unreviewed of that model), `tag:<tag>` (latest feedback tagged so).
   * undefined = the queue is empty.
   */
  async nextUnreviewed(q: { order?: QueueOrder; filter?: string } = {}): Promise<(TurnRef & { start: number }) | undefined> {
    await this.store.whenReady();
    const order = q.order ?? this.queueSettings().order;
    const filter = q.filter ?? this.queueSettings().filter;
    const queue = await this.queue(order, filter);
    const after = this.cursor ? queue.find((e) => compareQueue(e, this.cursor!) > 0) : undefined;
    const found = after ?? queue.find((e) => !this.cursor || compareQueue(e, this.cursor) !== 0) ?? queue[0];
    this.cursor = found;
    return found ? { rootId: found.rootId, sessionId: found.sessionId, turnId: found.turnId, start: found.start } : undefined;
  }

  resetWalk(): void {
    this.cursor = undefined;
  }

  /** Whether a session still has turns in the default queue (unrated completed turns with an answer). */
  async sessionHasUnreviewed(rootId: string, sessionId: string): Promise<boolean> {
    const a = await this.store.index.analyze(rootId, sessionId);
    if (!a) return false;
    await this.store.index.refreshFeedback(rootId, sessionId);
    const fb = this.store.index.feedback(rootId, sessionId);
    return a.turns.some((t) => isReviewable(t) && !isReviewed(fb.get(t.turnId)));
  }

  private async queue(order: QueueOrder, filter: string): Promise<QueueEntry[]> {
    const { index } = this.store;
    const out: QueueEntry[] = [];
    for (const root of this.store.roots()) {
      for (const sid of root.sessions.keys()) {
        const sum = await index.summarize(root.id, sid);
        if (!sum) continue;
        if (filter === 'unreviewed' && sum.reviewed >= sum.reviewable) continue;
        const rank = order === 'oldestFirst' ? (sum.firstActivity ?? Infinity) : -(sum.lastActivity ?? -Infinity);
        const a = await index.analyze(root.id, sid);
        if (!a) continue;
        const fb = index.feedback(root.id, sid);
        const cors = index.feedbackFile(root.id, sid)?.latestCorrections();
        for (const t of a.turns) {
          const f = fb.get(t.turnId);
          let take: boolean;
          if (filter === 'thumbsDown') take = f?.value === -1 && !(cors?.get(t.turnId)?.text ?? '');
          else if (filter.startsWith('tag:')) take = (f?.tags ?? []).includes(filter.slice(4));
          else if (filter.startsWith('model:')) take = isReviewable(t) && !isReviewed(f) && t.model === filter.slice(6);
          else take = isReviewable(t) && !isReviewed(f);
          if (take) out.push({ rootId: root.id, sessionId: sid, turnId: t.turnId, rank, start: t.startedAt ?? t.events[0]?.sortKey ?? 0 });
        }
      }
    }
    return out.sort(compareQueue);
  }
}

export type QueueOrder = 'oldestFirst' | 'newestFirst';

interface QueueEntry extends TurnRef {
  /** The session's place in the queue (smaller first). */
  rank: number;
  start: number;
}

function compareQueue(a: QueueEntry, b: QueueEntry): number {
  return a.rank - b.rank || cmp(a.sessionId, b.sessionId) || cmp(a.rootId, b.rootId) || a.start - b.start || cmp(a.turnId, b.turnId);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
