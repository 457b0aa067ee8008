import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import type { CommandContext } from './context';

/**
 * "Next Unreviewed Turn": completed turns without 👍/👎, newest first across sessions; each
 * opens in its session's timeline (the whole session, the turn revealed). Resolves with the
 * turn (tests) or undefined when every completed turn is reviewed.
 */
export async function run(c: CommandContext) {
  const next = await c.feedback.nextUnreviewed();
  const { reviewed, reviewable } = c.feedback.progress();
  if (!next) {
    void vscode.window.showInformationMessage(reviewable === 0 ? 'No completed turns to review yet.' : `All ${reviewable} completed turns are reviewed.`);
    return undefined;
  }
  await vscode.commands.executeCommand(Commands.openTimeline, { rootId: next.rootId, sessionId: next.sessionId, turnId: next.turnId });
  vscode.window.setStatusBarMessage(`$(feedback) ${reviewed} of ${reviewable} reviewed — rate with + / - in the timeline, n for a note`, 8000);
  return next;
}
