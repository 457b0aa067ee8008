import { lastUndoableRepair, undoLastRepairLocked, type UndoResult } from '../../core/repair';
import { refreshAfter, trustGate } from '../repair/repairService';
import type { CommandContext } from './context';
import { describeUndo } from '../repair/undoDescription';
import { notifyError, notifyInfo, notifyWarning } from '../untrustedText';

/**
 * "Undo Last Repair": the most recent repair (over every sessions folder) that is not undone.
 * Options: `{yes: true}` skips the confirmation.
 */
export async function run(s: CommandContext, opts?: { yes?: boolean }): Promise<UndoResult | { status: 'untrusted' | 'cancelled'; message: string }> {
  const gate = trustGate();
  if (gate) {
    void notifyError(gate);
    return { status: 'untrusted', message: gate };
  }
  const candidates = s.store
    .roots()
    .map((r) => ({ root: r, repair: lastUndoableRepair(r.sessionsDir) }))
    .filter((x) => x.repair !== null)
    .sort((a, b) => (a.repair!.repairId < b.repair!.repairId ? 1 : -1));
  if (candidates.length === 0) {
    const message = 'Bot Memory: there is no repair to undo.';
    void notifyInfo(message);
    return { status: 'nothing', repairId: null, message, steps: [], problems: [] };
  }
  const { root, repair } = candidates[0];
  if (opts?.yes !== true) {
    // Modal: undo rewrites sidecars and removes lines, and no document is shown beside it to read first.
    const titleOf = (sid: string) => s.store.index.cachedSummary(root.id, sid)?.title;
    const d = describeUndo(repair!, root.label, titleOf, Date.now() / 1000);
    s.output.info(`undo asked for repair ${repair!.repairId}: ${d.question} ${d.detail}`);
    const choice = await notifyWarning(d.question, { modal: true, detail: d.detail }, 'Undo');
    if (choice !== 'Undo') return { status: 'cancelled', message: 'Undo cancelled.' };
  }
  const r = await undoLastRepairLocked(root.sessionsDir);
  s.output.info(`undo: ${r.message}`);
  if (r.status === 'refused') void notifyError(`Bot Memory: ${r.message}`);
  else void notifyInfo(`Bot Memory: ${r.message}`);
  await refreshAfter(s, [{ sessionsDir: root.sessionsDir, sessions: repair!.begin.sessions.map((sessionId) => ({ sessionId })) }]);
  return r;
}
