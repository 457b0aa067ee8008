/**
 * What "Undo Last Repair" will undo, in words a reviewer recognises: the sessions by title,
 * how many changes of each kind, and when the repair ran — never only a raw repair id.
 */

import type { RepairSummary } from '../../core/repair';
import { relativeTime } from '../tree/presentation';
import { formatTimestamp } from '../../shared/timelineFormat';
import { labelText } from '../untrustedText';
import { listWords, plural } from '../words';

export interface UndoDescription {
  /** The dialog's question: "Undo the repair of "Title" (5 min ago)?" */
  question: string;
  /** What comes back and how (the dialog's detail). */
  detail: string;
  /** The counted changes, e.g. ["2 interruption markers in sidecars", "3 journal events"]. */
  changes: string[];
}

/** Counts what a repair wrote, by kind, from its log records. */
export function countChanges(repair: RepairSummary): string[] {
  let sidecar = 0;
  let appended = 0;
  let reviewed = 0;
  let sanitized = 0;
  let truncated = 0;
  for (const r of repair.records) {
    if (r.op === 'sidecar') sidecar += r.added.length;
    else if (r.op === 'append') appended += r.lines.length;
    else if (r.op === 'reviewed') reviewed += r.lines.length;
    else if (r.op === 'sanitize') sanitized++;
    else if (r.op === 'truncate') truncated++;
  }
  const out: string[] = [];
  if (sidecar) out.push(`${plural(sidecar, 'sidecar message')} added`);
  if (appended) out.push(`${plural(appended, 'journal event')} appended`);
  if (reviewed) out.push(`${plural(reviewed, 'broken line')} marked reviewed`);
  if (sanitized) out.push(`${plural(sanitized, 'shard')} made readable`);
  if (truncated) out.push(`${plural(truncated, 'torn tail')} cut from our own shard`);
  return out;
}

/**
 * `titleOf` gives a session's title (untrusted; escaped here) or undefined; `now` in epoch seconds.
 */
export function describeUndo(repair: RepairSummary, folder: string, titleOf: (sessionId: string) => string | null | undefined, now: number): UndoDescription {
  const sessions = repair.begin.sessions;
  const named = (sid: string): string => {
    const t = titleOf(sid);
    return t ? `"${labelText(t, 80)}" (${labelText(sid, 60)})` : labelText(sid, 60);
  };
  const at = Date.parse(repair.begin.at) / 1000;
  const when = Number.isFinite(at) ? `${relativeTime(at, now)}, ${formatTimestamp(at)}` : 'at an unknown time';
  const what = sessions.length === 1 ? `the repair of ${named(sessions[0])}` : `the repair of ${plural(sessions.length, 'session')}`;
  const changes = countChanges(repair);
  const detail = [
    `Made ${when} in ${labelText(folder, 200)}${repair.begin.reviewer ? ` by ${labelText(repair.begin.reviewer, 60)}` : ''}.`,
    sessions.length > 1 ? `Sessions: ${listWords(sessions.slice(0, 8).map(named))}${sessions.length > 8 ? ` and ${sessions.length - 8} more` : ''}.` : '',
    changes.length ? `Undone: ${listWords(changes)}.` : '',
    "Sidecars come back from the backup and the auditor's appended journal lines are removed. Nothing is changed if a file was modified since.",
  ].filter(Boolean);
  return { question: `Undo ${what} (${Number.isFinite(at) ? relativeTime(at, now) : 'unknown time'})?`, detail: detail.join(' '), changes };
}
