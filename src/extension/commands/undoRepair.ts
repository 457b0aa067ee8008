import { lastUndoableRepair, undoLastRepairLocked, type UndoResult } from '../../core/repair';
import { refreshAfter, trustGate } from '../repair/repairService';
import type { CommandContext } from './context';
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
    const choice = await notifyWarning(
      `Undo repair ${repair!.repairId} in ${root.label}?`,
      {
        modal: true,
        detail:
          `Sessions: ${repair!.begin.sessions.join(', ')}. Sidecars come back from the backup and the auditor's appended journal lines are removed. ` +
          'Nothing is changed if a file was modified since.',
      },
      'Undo',
    );
    if (choice !== 'Undo') return { status: 'cancelled', message: 'Undo cancelled.' };
  }
  const r = await undoLastRepairLocked(root.sessionsDir);
  s.output.info(`undo: ${r.message}`);
  if (r.status === 'refused') void notifyError(`Bot Memory: ${r.message}`);
  else void notifyInfo(`Bot Memory: ${r.message}`);
  await refreshAfter(s, [{ sessionsDir: root.sessionsDir, sessions: repair!.begin.sessions.map((sessionId) => ({ sessionId })) }]);
  return r;
}
