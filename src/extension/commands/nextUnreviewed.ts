import * as vscode from 'vscode';
import { stringArg } from '../commandArgs';
import { Commands } from '../commandIds';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';

/**
 * "Next Unreviewed Turn": the review queue (settings `botMemory.feedback.queueOrder`, oldest
 * first by default, and `queueFilter`; `{order, filter}` overrides): the next unrated turn of
 * the session, then the next session. Each opens in its session's timeline (the turn revealed).
 * Resolves with the turn (tests) or undefined when the queue is empty.
 */
export async function run(c: CommandContext, arg?: unknown) {
  const order = stringArg(arg, 'order');
  const next = await c.feedback.nextUnreviewed({
    order: order === 'newestFirst' || order === 'oldestFirst' ? order : undefined,
    filter: stringArg(arg, 'filter'),
  });
  c.feedback.statusBar.start();
  if (!next) {
    const { reviewable } = c.feedback.progress();
    const filter = stringArg(arg, 'filter') ?? c.feedback.queueSettings().filter;
    if (filter !== 'unreviewed') void notifyInfo(`The review queue (${filter}) is empty.`);
    else void notifyInfo(reviewable === 0 ? 'No completed turns with an answer to review yet.' : `All ${reviewable} completed turns are reviewed.`);
    return undefined;
  }
  await vscode.commands.executeCommand(Commands.openTimeline, { rootId: next.rootId, sessionId: next.sessionId, turnId: next.turnId });
  // The progress itself is a live status-bar item (feedback/reviewStatusBar.ts); this says how to rate.
  vscode.window.setStatusBarMessage('Rate with + / - in the timeline (focus moves on), c for a correction, n for a note', 8000);
  return next;
}
