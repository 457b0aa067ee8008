import * as vscode from 'vscode';
import { confirmAndApply, planRoots, trustGate, type RepairCommandOptions, type RepairCommandResult } from '../repair/repairService';
import type { CommandContext } from './context';
import { notifyError } from '../untrustedText';

/** "Repair All Sessions…": one plan for every sessions folder (or `rootIds`), applied on confirmation. */
export async function run(s: CommandContext, opts?: RepairCommandOptions & { rootIds?: string[] }): Promise<RepairCommandResult> {
  const gate = trustGate();
  if (gate) {
    void notifyError(gate);
    return { status: 'untrusted', message: gate, plans: [], results: [] };
  }
  await s.store.whenReady();
  const plans = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Bot Memory: planning repairs…' }, () =>
    planRoots(
      s,
      s.store
        .roots()
        .filter((r) => !opts?.rootIds || opts.rootIds.includes(r.id))
        .map((r) => ({ rootId: r.id })),
    ),
  );
  return confirmAndApply(s, plans, 'Repair plan — all sessions', opts ?? {});
}
