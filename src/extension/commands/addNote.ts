import * as vscode from 'vscode';
import { stringArg } from '../commandArgs';
import { targetTurn, type CommandContext } from './context';

/**
 * "Add Feedback Note…": a note on the turn's current verdict (its rating is kept; an unrated
 * turn gets a note with rating 0). `{…ref, note}` skips the input box (tests, scripts).
 */
export async function run(c: CommandContext, arg?: unknown) {
  const ref = targetTurn(c, arg);
  if (!ref) return undefined;
  await c.store.index.refreshFeedback(ref.rootId, ref.sessionId);
  const cur = c.feedback.current(ref);
  const given = stringArg(arg, 'note');
  const note =
    given !== undefined
      ? given
      : await vscode.window.showInputBox({
          title: `Feedback note for turn ${ref.turnId}`,
          prompt:
            cur && cur.value !== 0
              ? `Current rating: ${cur.value === 1 ? '👍' : '👎'} (kept). Leave empty to remove the note.`
              : 'The turn has no rating; the note is saved without one.',
          value: cur?.note ?? '',
          ignoreFocusOut: true,
          validateInput: (v) => (v.length > 10_000 ? 'At most 10,000 characters' : undefined),
        });
  if (note === undefined) return undefined;
  return c.feedback.give(ref, cur?.value ?? 0, { note: note.trim() === '' ? null : note });
}
