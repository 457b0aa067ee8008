import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import { markCollisionReviewed } from '../../core/repair';
import { readRepairSettings, refreshAfter, trustGate, type RepairServices } from '../repair/repairService';
import { notifyError, notifyInfo } from '../untrustedText';

interface Args {
  rootId?: string;
  sessionId?: string;
  turnId?: string;
  turn?: { turnId?: string };
  /** Skips the input box (tests, scripts). */
  note?: string;
}

/** "Mark Collision Reviewed…" on a turn with a terminal collision: records a reviewer's note; the collision itself is never changed. */
export function register(s: RepairServices): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.markCollisionReviewed, async (arg?: Args): Promise<{ status: string; events?: string[]; message?: string }> => {
    const gate = trustGate();
    if (gate) {
      void notifyError(gate);
      return { status: 'untrusted', message: gate };
    }
    const turnId = arg?.turnId ?? arg?.turn?.turnId;
    const root = arg?.rootId ? s.store.index.root(arg.rootId) : undefined;
    if (!root || !arg?.sessionId || !turnId) {
      void notifyInfo('Bot Memory: use "Mark Collision Reviewed…" on a turn with a terminal collision in the Sessions view.');
      return { status: 'nothing' };
    }
    const note =
      arg.note ??
      (await vscode.window.showInputBox({
        title: `Review the terminal collision of turn ${turnId}`,
        prompt: 'What did you decide? (recorded in the repair log; the journal is not changed)',
        placeHolder: 'e.g. provider retried; the completed answer is the right one',
        validateInput: (v) => (v.trim() ? undefined : 'A note is required'),
      }));
    if (note === undefined) return { status: 'cancelled' };
    try {
      const events = await markCollisionReviewed(root.sessionsDir, { sessionId: arg.sessionId, turnId, note, reviewer: readRepairSettings().reviewer });
      await refreshAfter(s, [{ sessionsDir: root.sessionsDir, sessions: [{ sessionId: arg.sessionId }] }]);
      void notifyInfo(`Bot Memory: collision of turn ${turnId} marked reviewed.`);
      return { status: 'reviewed', events };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      void notifyError(`Bot Memory: ${message}`);
      return { status: 'error', message };
    }
  });
}
