import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import { sessionRefOf } from './context';
import { confirmAndApply, planRoots, trustGate, type RepairCommandOptions, type RepairCommandResult, type RepairServices } from '../repair/repairService';
import type { SessionSummary } from '../../core/sessionIndex';
import { notifyError, notifyInfo, showPick } from '../untrustedText';

/** "Repair Session…": from the palette (session picker), the Sessions tree, the timeline ({rootId, sessionId}) or its title bar (the shard URI). */
export function register(s: RepairServices): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.repairSession, async (arg?: unknown, opts?: RepairCommandOptions): Promise<RepairCommandResult | undefined> => {
    const gate = trustGate();
    if (gate) {
      void notifyError(gate);
      return { status: 'untrusted', message: gate, plans: [], results: [] };
    }
    const options = { ...(opts ?? {}), ...optionsOf(arg) };
    // A shard or sidecar URI (the timeline editor's title bar) names its session too.
    const fromUri = arg instanceof vscode.Uri && arg.scheme === 'file' ? s.store.index.locate(arg.fsPath) : undefined;
    const ref = sessionRefOf(arg) ?? fromUri ?? (await pickSession(s));
    if (!ref) return undefined;
    const plans = await planRoots(s, [ref]);
    return confirmAndApply(s, plans, `Repair plan — ${ref.sessionId}`, options);
  });
}

function optionsOf(arg: unknown): RepairCommandOptions {
  const a = arg as RepairCommandOptions | undefined;
  const o: RepairCommandOptions = {};
  if (!a || typeof a !== 'object' || a instanceof vscode.Uri) return o;
  if (a.yes === true) o.yes = true;
  if (a.confirm === false) o.confirm = false;
  if (a.showPlan === false) o.showPlan = false;
  return o;
}

function health(x: SessionSummary | undefined): string {
  if (!x) return 'not read yet';
  const parts = [x.findings.error && `${x.findings.error} error${x.findings.error === 1 ? '' : 's'}`, x.findings.warning && `${x.findings.warning} warning${x.findings.warning === 1 ? '' : 's'}`].filter(Boolean);
  return `${parts.length ? parts.join(', ') : 'healthy'} · ${x.turns} turn${x.turns === 1 ? '' : 's'}, ${x.open} open`;
}

/** QuickPick over every session with its health; sessions needing attention first. */
export async function pickSession(s: RepairServices): Promise<{ rootId: string; sessionId: string } | undefined> {
  type Item = vscode.QuickPickItem & { rootId: string; sessionId: string; rank: number };
  const items: Item[] = [];
  const roots = s.store.roots();
  for (const r of roots) {
    for (const d of s.store.index.sessions(r.id)) {
      const sum = s.store.index.cachedSummary(r.id, d.sessionId);
      const rank = !sum ? 1 : sum.worst === 'error' ? 3 : sum.worst === 'warning' ? 2 : 0;
      items.push({
        label: `${rank === 3 ? '$(error)' : rank === 2 ? '$(warning)' : rank === 1 ? '$(loading~spin)' : '$(pass)'} ${sum?.title?.trim() || d.sessionId}`,
        description: d.sessionId + (roots.length > 1 ? ` · ${r.label}` : ''),
        detail: health(sum),
        rootId: r.id,
        sessionId: d.sessionId,
        rank,
      });
    }
  }
  if (items.length === 0) {
    void notifyInfo('Bot Memory: no sessions found. Add a sessions folder first.');
    return undefined;
  }
  items.sort((a, b) => b.rank - a.rank || a.sessionId.localeCompare(b.sessionId));
  const picked = await showPick(items, { title: 'Repair Session', placeHolder: 'Pick a session to plan its repair (nothing is written before you confirm)', matchOnDescription: true, matchOnDetail: true });
  return picked ? { rootId: picked.rootId, sessionId: picked.sessionId } : undefined;
}
