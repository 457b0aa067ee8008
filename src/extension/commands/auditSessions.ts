import * as vscode from 'vscode';
import type { SessionAnalysis } from '../../core/analyze';
import { auditMarkdown, type SessionPlan } from '../../core/repair';
import { planRoots } from '../repair/repairService';
import { upstreamFolderAudit } from '../../core/audit';
import { upstreamAuditMarkdown } from '../../core/upstreamAuditMarkdown';
import { readSettings } from '../config';
import type { CommandContext } from './context';

/**
 * "Audit Sessions": re-reads every session (the Problems panel follows), then opens a
 * report per session and per finding with what repair would do. Read-only: allowed in
 * untrusted workspaces too.
 */
export async function run(s: CommandContext, opts?: { showReport?: boolean }): Promise<{ uri: string | undefined; markdown: string }> {
  await s.store.whenReady();
  const roots = s.store.roots();
  const markdown = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Bot Memory: auditing sessions…' }, async () => {
    const parts: string[] = [];
    for (const r of roots) {
      await s.store.index.scan(r.id);
      const entries: { analysis: SessionAnalysis; plan: SessionPlan | null }[] = [];
      await planRoots(s, [{ rootId: r.id }], (_root, analysis, plan) => entries.push({ analysis, plan }));
      // Every check ran: refresh the summaries the tree and the Problems panel show.
      await Promise.all(entries.map((e) => s.store.index.summarize(r.id, e.analysis.sessionId)));
      const upstream = upstreamFolderAudit(
        r.sessionsDir,
        entries.map((e) => [e.analysis.sessionId, e.analysis.upstream]),
        readSettings().stateDb || undefined,
      );
      // Its items about the folder's files (sidecars, backups, _index.json) go to the Problems panel too.
      s.sessions.diagnostics.publishFolderItems(r.id, r.sessionsDir, upstream.items);
      parts.push(auditMarkdown(r.sessionsDir, entries) + upstreamAuditMarkdown(upstream));
    }
    return parts.length ? parts.join('\n---\n\n') : '# Bot Memory audit\n\nNo sessions folder found. Add one with *Bot Memory: Add Sessions Folder…*.\n';
  });
  const uri = opts?.showReport === false ? undefined : (await s.repair.plans.show('Audit report', markdown)).toString();
  return { uri, markdown };
}
