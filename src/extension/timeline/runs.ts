/**
 * The runs behind one timeline's turns (no `vscode`): which run file belongs to a turn (only
 * run ids the session's analysis found — never a name from the webview), the page cursor of
 * each expanded run, and usage read for the cards on screen (or, when asked, for every run),
 * summed into the session total the header shows.
 */

import { runJournalPath, isSafeRunId } from '../../core/runJournal';
import { addUsage, type RunUsage } from '../../shared/runView';
import { MessageType, type RunPageMessage, type RunUsageMessage, type RunUsageTotal } from '../../shared/timelineProtocol';
import { readRunPage, RunUsageCache } from './runReader';

/** Sessions with at most this many runs get their total counted without being asked. */
export const AUTO_TOTAL_RUNS = 100;

export class TimelineRuns {
  private readonly usage = new RunUsageCache();
  private readonly cursors = new Map<string, { offset: number; line: number; eventsRead: number }>();
  private files = new Map<string, { runId: string; file: string }>();

  /** The session (folder, id) and the runs of its turns (`TimelineIndex.runRefs`); called after every rebuild. */
  update(sessionsDir: string, sessionId: string, runs: readonly { turnId: string; runId: string }[]): void {
    const files = new Map<string, { runId: string; file: string }>();
    for (const r of runs) {
      if (!isSafeRunId(r.runId) || !isSafeRunId(sessionId)) continue;
      files.set(r.turnId, { runId: r.runId, file: runJournalPath(sessionsDir, sessionId, r.runId) });
    }
    this.files = files;
  }

  get runCount(): number {
    return this.files.size;
  }

  /** The first page of a turn's run, or the page after the last one sent (`more`); null when the turn has no run. */
  async page(turnId: string, more: boolean): Promise<RunPageMessage | null> {
    const f = this.files.get(turnId);
    if (!f) return null;
    const from = more ? this.cursors.get(turnId) : undefined;
    if (more && !from) return null;
    const page = await readRunPage(f.file, { turnId, runId: f.runId }, from);
    if (page.next) this.cursors.set(turnId, { ...page.next, eventsRead: page.eventsRead });
    else this.cursors.delete(turnId);
    return { type: MessageType.RunPage, page, append: more };
  }

  /** Usage of the runs of `turnIds` (all of them with `all`), and the session total so far. */
  async usages(turnIds: readonly string[], all = false): Promise<RunUsageMessage> {
    const ids = all ? [...this.files.keys()] : turnIds.filter((id) => this.files.has(id));
    const usages: RunUsageMessage['usages'] = [];
    for (const turnId of ids) {
      const r = await this.usage.get(this.files.get(turnId)!.file);
      usages.push({ turnId, usage: r.usage, ...(r.error ? { error: r.error } : {}) });
    }
    return { type: MessageType.RunUsage, usages, total: this.total() };
  }

  /** The sum over every run whose usage was read (a run's usage: its last metering event). */
  total(): RunUsageTotal {
    let usage: RunUsage | null = null;
    let counted = 0;
    for (const { file } of this.files.values()) {
      if (!this.usage.has(file)) continue;
      counted++;
      const u = this.usage.known(file);
      if (u) usage = addUsage(usage, u);
    }
    return { usage, counted, runs: this.files.size };
  }
}
