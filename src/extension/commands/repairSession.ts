import { isFalse, isTrue, sessionRefOf, uriOf } from '../commandArgs';
import { pickSession } from '../sessionPicker';
import type { CommandContext } from './context';
import { confirmAndApply, planRoots, trustGate, type RepairCommandOptions, type RepairCommandResult } from '../repair/repairService';
import { notifyError } from '../untrustedText';

/** "Repair Session…": from the palette (session picker), the Sessions tree, the timeline ({rootId, sessionId}) or its title bar (the shard URI). */
export async function run(s: CommandContext, arg?: unknown, opts?: RepairCommandOptions): Promise<RepairCommandResult | undefined> {
  const gate = trustGate();
  if (gate) {
    void notifyError(gate);
    return { status: 'untrusted', message: gate, plans: [], results: [] };
  }
  const options = { ...(opts ?? {}), ...optionsOf(arg) };
  // A shard or sidecar URI (the timeline editor's title bar) names its session too.
  const uri = uriOf(arg);
  const fromUri = uri?.scheme === 'file' ? s.store.index.locate(uri.fsPath) : undefined;
  const ref =
    sessionRefOf(arg) ??
    fromUri ??
    (await pickSession(s.store, {
      title: 'Repair Session',
      placeHolder: 'Pick a session to plan its repair (nothing is written before you confirm)',
      empty: 'Bot Memory: no sessions found. Add a sessions folder first.',
      order: 'attention',
    }));
  if (!ref) return undefined;
  const plans = await planRoots(s, [ref]);
  return confirmAndApply(s, plans, `Repair plan — ${ref.sessionId}`, options);
}

function optionsOf(arg: unknown): RepairCommandOptions {
  const o: RepairCommandOptions = {};
  if (uriOf(arg)) return o;
  if (isTrue(arg, 'yes')) o.yes = true;
  if (isFalse(arg, 'confirm')) o.confirm = false;
  if (isFalse(arg, 'showPlan')) o.showPlan = false;
  return o;
}
