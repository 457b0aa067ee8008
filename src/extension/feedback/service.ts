/**
 * Giving feedback from the editor: appends the record (core/feedback/store),
 * and tells the index at once, so the tree and open timelines update without waiting for
 * the file watcher (which still reports other processes' appends).
 */

import * as vscode from 'vscode';
import { isReviewed, type TurnFeedback } from '../../core/feedback/latest';
import { feedbackFilePath, type FeedbackRecord, type FeedbackValue } from '../../core/feedback/record';
import { appendFeedback } from '../../core/feedback/store';
import { defaultReviewer } from '../../core/feedback/reviewer';
import { isReviewable, type TurnRef } from '../../core/sessionIndex';
import type { Services } from '../services';
import type { SessionStore } from '../store';

export interface ReviewProgress {
  reviewed: number;
  reviewable: number;
}

export class FeedbackService {
  private cursor: { start: number; sessionId: string; turnId: string; rootId: string } | undefined;

  constructor(private readonly services: Services) {}

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
    void vscode.window.showWarningMessage('Giving feedback writes _turn_feedback files next to the journals: trust this workspace first.');
    return false;
  }

  current(ref: TurnRef): TurnFeedback | undefined {
    return this.store.index.feedback(ref.rootId, ref.sessionId).get(ref.turnId);
  }

  /**
   * Appends a record. `note` undefined keeps the current note with the new value only when
   * the value is unchanged (a new verdict starts without the old note).
   */
  async give(ref: TurnRef, value: FeedbackValue, opts: { note?: string | null; tags?: readonly string[] } = {}): Promise<FeedbackRecord | undefined> {
    if (!this.canWrite()) return undefined;
    const root = this.store.index.root(ref.rootId);
    if (!root) {
      void vscode.window.showWarningMessage(`The sessions folder of ${ref.sessionId} is no longer open.`);
      return undefined;
    }
    await this.store.index.refreshFeedback(ref.rootId, ref.sessionId);
    const cur = this.current(ref);
    const note = opts.note !== undefined ? opts.note : cur && cur.value === value ? cur.note : null;
    const tags = opts.tags ?? (cur && cur.value === value ? cur.tags ?? undefined : undefined);
    let rec: FeedbackRecord;
    try {
      rec = appendFeedback(root.sessionsDir, { sessionId: ref.sessionId, turnId: ref.turnId, feedback: value, note, tags, reviewer: await this.reviewer() });
    } catch (e) {
      void vscode.window.showErrorMessage(`Could not save the feedback: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    this.services.output.info(`feedback ${value} on ${ref.sessionId}/${ref.turnId} by ${rec.reviewer}`);
    await this.store.index.fileChanged(feedbackFilePath(root.sessionsDir, ref.sessionId), 'changed');
    return rec;
  }

  progress(): ReviewProgress {
    const { reviewed, reviewable } = this.store.index.reviewProgress();
    return { reviewed, reviewable };
  }

  /**
   * The next completed turn without 👍/👎, newest first across sessions, after the one
   * last visited (wrapping around once). undefined = every completed turn is reviewed.
   */
  async nextUnreviewed(): Promise<(TurnRef & { start: number }) | undefined> {
    await this.store.whenReady();
    const found = (await this.findAfter(this.cursor)) ?? (this.cursor ? await this.findAfter(undefined) : undefined);
    this.cursor = found;
    return found;
  }

  resetWalk(): void {
    this.cursor = undefined;
  }

  private async findAfter(cursor: { start: number; sessionId: string; turnId: string; rootId: string } | undefined): Promise<(TurnRef & { start: number }) | undefined> {
    const { index } = this.store;
    const sessions: { rootId: string; sessionId: string; last: number }[] = [];
    for (const root of this.store.roots()) {
      for (const sid of root.sessions.keys()) {
        const sum = await index.summarize(root.id, sid);
        if (!sum || sum.reviewed >= sum.reviewable) continue;
        sessions.push({ rootId: root.id, sessionId: sid, last: sum.lastActivity ?? Infinity });
      }
    }
    sessions.sort((a, b) => b.last - a.last || cmp(a.sessionId, b.sessionId) || cmp(a.rootId, b.rootId));
    // Order: newest start first; ties by session id, turn id, root.
    const before = (x: { start: number; sessionId: string; turnId: string; rootId: string }, y: typeof x) => x.start > y.start || (x.start === y.start && (cmp(x.sessionId, y.sessionId) || cmp(x.turnId, y.turnId) || cmp(x.rootId, y.rootId)) < 0);
    let best: (TurnRef & { start: number }) | undefined;
    for (const s of sessions) {
      if (best && s.last < best.start) break; // every turn here started before the best one
      const a = await index.analyze(s.rootId, s.sessionId);
      if (!a) continue;
      const fb = index.feedback(s.rootId, s.sessionId);
      for (const t of a.turns) {
        if (!isReviewable(t) || isReviewed(fb.get(t.turnId))) continue;
        const c = { rootId: s.rootId, sessionId: s.sessionId, turnId: t.turnId, start: t.startedAt ?? t.events[0]?.sortKey ?? 0 };
        if (cursor && !before(cursor, c)) continue;
        if (!best || before(c, best)) best = c;
      }
    }
    return best;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
