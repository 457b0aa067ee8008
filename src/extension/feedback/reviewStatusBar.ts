/**
 * "$(feedback) 2 of 4 reviewed": the review queue's progress in the status bar, live. It appears
 * once reviewing has started in this window (Next Unreviewed ran, or a turn was rated) and follows
 * every rating as the Sessions view does (the same counts: `SessionIndex.reviewProgress`); a click
 * goes to the next unreviewed turn.
 */

import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import { Coalesced, Disposable } from '../dispose';
import type { SessionStore } from '../store';

export class ReviewStatusBar extends Disposable {
  readonly item = this._register(vscode.window.createStatusBarItem('botMemory.reviewProgress', vscode.StatusBarAlignment.Left, 9));
  private started = false;
  /** Whether the item is shown (the API cannot read it back). */
  visible = false;
  private readonly updates = this._register(new Coalesced(() => this.update(), 100));

  constructor(private readonly store: SessionStore) {
    super();
    this.item.name = 'Bot Memory: review progress';
    this.item.command = Commands.nextUnreviewed;
    this._register(store.onDidChange(() => this.updates.schedule()));
    this._register(store.onDidChangeRoots(() => this.updates.schedule()));
  }

  /** Reviewing started (Next Unreviewed, a rating): show the progress from now on. */
  start(): void {
    this.started = true;
    this.update();
  }

  update(): void {
    const p = this.store.index.reviewProgress();
    if ((!this.started && p.reviewed === 0) || p.reviewable === 0) {
      this.item.hide();
      this.visible = false;
      return;
    }
    this.item.text = `$(feedback) ${p.reviewed} of ${p.reviewable} reviewed`;
    const partial = p.summarised < p.sessions ? ` (${p.summarised} of ${p.sessions} sessions counted so far)` : '';
    this.item.tooltip =
      `${p.reviewed} of ${p.reviewable} completed turns with an answer are rated${partial}. Click for the next unreviewed turn.\n` +
      'In the timeline: + / - rate the focused turn (focus moves on), c writes a correction, n a note.';
    this.item.show();
    this.visible = true;
  }
}
