import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import { targetTurn, type FeedbackContext } from './feedbackContext';

/**
 * "Add Feedback Note…": a note on the turn's current verdict (its rating is kept; an unrated
 * turn gets a note with rating 0). `{…ref, note}` skips the input box (tests, scripts).
 */
export function register(c: FeedbackContext): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.addNote, async (arg?: unknown) => {
    const ref = targetTurn(c, arg);
    if (!ref) return undefined;
    await c.store.index.refreshFeedback(ref.rootId, ref.sessionId);
    const cur = c.feedback.current(ref);
    const given = (arg as { note?: unknown } | undefined)?.note;
    const note =
      typeof given === 'string'
        ? given
        : await vscode.window.showInputBox({
            title: `Feedback note for turn ${ref.turnId}`,
            prompt: cur && cur.value !== 0 ? `Current rating: ${cur.value === 1 ? '👍' : '👎'} (kept). Leave empty to remove the note.` : 'The turn has no rating; the note is saved without one.',
            value: cur?.note ?? '',
            ignoreFocusOut: true,
            validateInput: (v) => (v.length > 10_000 ? 'At most 10,000 characters' : undefined),
          });
    if (note === undefined) return undefined;
    return c.feedback.give(ref, cur?.value ?? 0, { note: note.trim() === '' ? null : note });
  });
}
