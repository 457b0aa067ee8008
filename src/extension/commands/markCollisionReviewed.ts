import * as vscode from 'vscode';
import { markCollisionReviewed } from '../../core/repair';
import { readRepairSettings, refreshAfter, trustGate } from '../repair/repairService';
import { stringArg, turnRefOf } from '../commandArgs';
import type { CommandContext } from './context';
import { labelText, notifyError, notifyInfo } from '../untrustedText';

/**
 * "Mark Collision Reviewed…" on a turn with a terminal collision: records a reviewer's note; the collision itself is never changed.
 * The argument: a turn node or `{rootId, sessionId, turnId, note?}` (a note skips the input box: tests, scripts).
 */
export async function run(s: CommandContext, arg?: unknown): Promise<{ status: string; events?: string[]; message?: string }> {
  const gate = trustGate();
  if (gate) {
    void notifyError(gate);
    return { status: 'untrusted', message: gate };
  }
  const ref = turnRefOf(arg);
  const root = ref ? s.store.index.root(ref.rootId) : undefined;
  if (!root || !ref) {
    void notifyInfo('Bot Memory: use "Mark Collision Reviewed…" on a turn with a terminal collision in the Sessions view.');
    return { status: 'nothing' };
  }
  const { sessionId, turnId } = ref;
  const note =
    stringArg(arg, 'note') ??
    (await vscode.window.showInputBox({
      title: labelText(`Review the terminal collision of turn ${turnId}`),
      prompt: 'What did you decide? (recorded in the repair log; the journal is not changed)',
      placeHolder: 'e.g. provider retried; the completed answer is the right one',
      validateInput: (v) => (v.trim() ? undefined : 'A note is required'),
    }));
  if (note === undefined) return { status: 'cancelled' };
  try {
    const events = await markCollisionReviewed(root.sessionsDir, { sessionId, turnId, note, reviewer: readRepairSettings().reviewer });
    await refreshAfter(s, [{ sessionsDir: root.sessionsDir, sessions: [{ sessionId }] }]);
    void notifyInfo(`Bot Memory: collision of turn ${turnId} marked reviewed.`);
    return { status: 'reviewed', events };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    void notifyError(`Bot Memory: ${message}`);
    return { status: 'error', message };
  }
}
