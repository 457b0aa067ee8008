/**
 * What the repair commands share: settings, the trust gate, planning per root, the
 * confirm-then-apply flow, and refreshing the index afterwards. The work itself is the
 * core's (src/core/repair); this file only talks to the user.
 */

import { promises as fsp } from 'fs';
import * as vscode from 'vscode';
import type { SessionAnalysis } from '../../core/analyze';
import { applyRepair, hasWork, planMarkdown, planRepair, type ApplyResult, type RepairPlan, type SessionPlan } from '../../core/repair';
import type { Services } from '../services';
import { Commands } from '../commandIds';
import { SECTION } from '../config';
import { formatTimestamp } from '../../shared/timelineFormat';
import { listWords, plural } from '../words';
import type { RepairFeature } from './register';
import { notifyError, notifyInfo, notifyWarning, showPick } from '../untrustedText';

/** What the repair flow needs: the services and the repair feature's plan documents. */
export interface RepairServices extends Services {
  repair: RepairFeature;
}

export interface RepairSettings {
  staleAfterMinutes: number;
  reviewer: string | undefined;
}

export function readRepairSettings(): RepairSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const stale = c.get<unknown>('repair.staleAfterMinutes');
  // The feedback feature's reviewer name is the fallback: one name for one person.
  const own = c.get<unknown>('repair.reviewer');
  const reviewer = typeof own === 'string' && own.trim() !== '' ? own : c.get<unknown>('feedback.reviewer');
  return {
    staleAfterMinutes: typeof stale === 'number' && Number.isFinite(stale) && stale >= 0 ? stale : 60,
    reviewer: typeof reviewer === 'string' && reviewer.trim() !== '' ? reviewer.trim() : undefined,
  };
}

export const UNTRUSTED_MESSAGE = 'Bot Memory: repairs write files, so they are disabled in an untrusted workspace. Trust the workspace to repair sessions.';

/** Null when writing is allowed; otherwise the message to show. */
export function trustGate(isTrusted: boolean = vscode.workspace.isTrusted): string | null {
  return isTrusted ? null : UNTRUSTED_MESSAGE;
}

/** Options a caller (a test, the timeline) may pass to the repair commands. */
export interface RepairCommandOptions {
  /** Skip the confirmation: apply the plan as shown. */
  yes?: boolean;
  /** With `confirm: false` the confirmation is skipped too. */
  confirm?: boolean;
  /** Do not open the plan document (tests). */
  showPlan?: boolean;
}

export interface RepairCommandResult {
  status: 'applied' | 'cancelled' | 'nothing' | 'untrusted' | 'error';
  message: string;
  plans: RepairPlan[];
  results: ApplyResult[];
  planUri?: string;
}

export async function planRoots(
  s: RepairServices,
  scope: { rootId: string; sessionId?: string }[],
  onSession?: (rootId: string, a: SessionAnalysis, p: SessionPlan) => void,
): Promise<RepairPlan[]> {
  const settings = readRepairSettings();
  const plans: RepairPlan[] = [];
  for (const { rootId, sessionId } of scope) {
    const root = s.store.index.root(rootId);
    if (!root) continue;
    if (!(await folderExists(root.sessionsDir))) {
      // A transient root (e.g. a closed demo or test folder) whose folder is gone: nothing to plan there.
      s.output.warn(`Sessions folder ${root.sessionsDir} no longer exists; not planned.`);
      continue;
    }
    plans.push(
      await planRepair(root.sessionsDir, {
        sessionId,
        staleAfterMinutes: settings.staleAfterMinutes,
        maxLineBytes: vscode.workspace.getConfiguration(SECTION).get<number>('maxLineBytes'),
        onSession: onSession && ((a, p) => onSession(rootId, a, p)),
      }),
    );
  }
  return plans;
}

/**
 * Shows the plan beside the current editor, asks in a NON-modal notification (the plan stays
 * scrollable while deciding), applies, refreshes; the plan document then says what happened and
 * the result notification offers Undo.
 */
export async function confirmAndApply(s: RepairServices, plans: RepairPlan[], title: string, options: RepairCommandOptions = {}): Promise<RepairCommandResult> {
  const gate = trustGate();
  if (gate) {
    void notifyError(gate);
    return { status: 'untrusted', message: gate, plans: [], results: [] };
  }
  const work = plans.flatMap((p) => p.sessions.filter(hasWork));
  const markdown = plans.map((p, i) => planMarkdown(p, plans.length > 1 ? `${title} (${i + 1} of ${plans.length})` : title)).join('\n---\n\n');
  const shown = options.showPlan === false ? undefined : await s.repair.plans.show(title, markdown, { beside: true });
  const planUri = shown?.toString();
  const note = (text: string): void => void (shown && s.repair.plans.annotate(shown, `> ${text}`));
  if (work.length === 0) {
    const skipped = plans.reduce((n, p) => n + p.sessions.reduce((m, x) => m + x.skipped.length, 0), 0);
    const message = `Bot Memory: nothing to repair${skipped ? ` (${plural(skipped, 'repair')} skipped — see the plan)` : ''}.`;
    if (options.showPlan !== false) void notifyInfo(message);
    return { status: 'nothing', message, plans, results: [], planUri };
  }
  if (options.yes !== true && options.confirm !== false) {
    const q = confirmQuestion(s, plans, work);
    // A quick pick that stays open (ignoreFocusOut), not a modal: the plan beside it can be read and scrolled while deciding.
    // (A notification would do too, but one with buttons slides into the notification center after a few seconds.)
    const choice = await showPick(
      [
        {
          label: '$(check) Repair',
          description: 'write what the plan shows',
          detail: 'Sidecars are backed up first; other processes\' shards are never written; "Bot Memory: Undo Last Repair" reverts it.',
          id: 'repair',
        },
        { label: '$(close) Cancel', description: 'nothing is written', id: 'cancel' },
      ],
      { title: q.title, placeHolder: q.detail, ignoreFocusOut: true },
    );
    if (choice?.id !== 'repair') {
      note(`**Cancelled** at ${clock()}: nothing was written.`);
      return { status: 'cancelled', message: 'Repair cancelled; nothing was written.', plans, results: [], planUri };
    }
  }
  const results: ApplyResult[] = [];
  try {
    for (const p of plans) {
      if (!p.sessions.some(hasWork)) continue;
      results.push(await applyRepair(p, { reviewer: readRepairSettings().reviewer, tool: 'bot-memory-auditor (VS Code)' }));
    }
  } catch (e) {
    const message = `Bot Memory: repair failed: ${e instanceof Error ? e.message : String(e)}`;
    s.output.error(message);
    void notifyError(message);
    note(`**Failed** at ${clock()}: see the output channel "Bot Memory Auditor"; the log and the backups say what was written.`);
    await refreshAfter(s, plans);
    return { status: 'error', message, plans, results, planUri };
  }
  await refreshAfter(s, plans);
  const message = reportApplied(s, results);
  note(`**Applied** at ${clock()}: ${message.replace(/^Bot Memory: /, '')} Undo with *Bot Memory: Undo Last Repair*.`);
  return { status: 'applied', message, plans, results, planUri };
}

/** The confirmation's question (the session by title, or how many) and what will be written, how to undo. */
function confirmQuestion(s: RepairServices, plans: RepairPlan[], work: SessionPlan[]): { title: string; detail: string } {
  let what = plural(work.length, 'session');
  if (work.length === 1) {
    const dir = plans.find((p) => p.sessions.includes(work[0]))?.sessionsDir;
    const root = s.store.index.roots().find((r) => r.sessionsDir === dir);
    const t = root ? s.store.index.cachedSummary(root.id, work[0].sessionId)?.title : undefined;
    what = t ? `"${t}"` : `session ${work[0].sessionId}`;
  }
  const messages = work.reduce((n, w) => n + w.messages.length, 0);
  const appends = work.reduce((n, w) => n + w.appends.length, 0);
  const reviews = work.reduce((n, w) => n + w.reviews.length, 0);
  const parts = [
    messages ? `${plural(messages, 'sidecar message')} added` : '',
    appends ? `${plural(appends, 'journal event')} appended` : '',
    reviews ? `${plural(reviews, 'broken line')} recorded as reviewed` : '',
  ].filter(Boolean);
  return {
    title: `Repair ${what} as shown in the plan?`,
    detail: `${listWords(parts)}.`,
  };
}

/** Logs each repair, notifies the result (with Undo), returns the message. */
function reportApplied(s: RepairServices, results: ApplyResult[]): string {
  const applied = results.flatMap((r) => r.sessions.filter((x) => x.status === 'applied'));
  const skipped = results.flatMap((r) => r.sessions.filter((x) => x.status === 'skipped'));
  for (const r of results)
    s.output.info(`repair ${r.repairId}: ${r.sessions.map((x) => `${x.sessionId} ${x.status}${x.message ? ` (${x.message})` : ''}`).join(', ')}`);
  const skippedText = skipped.length ? `; skipped ${skipped.map((x) => `${x.sessionId} (${x.message})`).join(', ')}` : '';
  const message = `Bot Memory: repaired ${plural(applied.length, 'session')}${skippedText}.`;
  const shown = skipped.length ? notifyWarning(message, 'Undo') : notifyInfo(message, 'Undo');
  void shown.then((c) => (c === 'Undo' ? vscode.commands.executeCommand(Commands.undoRepair) : undefined));
  return message;
}

function clock(): string {
  return formatTimestamp(Date.now() / 1000).slice(11, 16);
}

/** Re-reads what a repair or undo changed, so the tree and Problems panel follow at once. */
export async function refreshAfter(s: Services, plans: { sessionsDir: string; sessions?: { sessionId: string }[] }[]): Promise<void> {
  for (const p of plans) {
    const root = s.store.index.roots().find((r) => r.sessionsDir === p.sessionsDir);
    if (!root) continue;
    await s.store.index.scan(root.id);
    const ids = p.sessions ? p.sessions.map((x) => x.sessionId) : [...root.sessions.keys()];
    await Promise.all(ids.map((sid) => s.store.index.summarize(root.id, sid)));
  }
}

async function folderExists(dir: string): Promise<boolean> {
  try {
    return (await fsp.lstat(dir)).isDirectory();
  } catch {
    return false;
  }
}
