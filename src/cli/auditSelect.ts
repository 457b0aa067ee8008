/**
 * `audit --since TIME` and `audit --changed-since STATE_FILE` (core/auditSince.ts): which
 * sessions to read, which last reports to reuse, and saving the state after the audit.
 */

import type { SessionReport } from '../core/audit';
import { parseSince, readAuditState, sessionMtime, sessionStamp, writeAuditState } from '../core/auditSince';
import type { DiscoveredSession, Discovery } from '../core/discovery';
import { UsageError } from './io';

export interface AuditSelection {
  /** Sessions to read now. */
  audit: DiscoveredSession[];
  /** Last reports of the sessions that did not change (--changed-since). */
  reused: SessionReport[];
  /** Writes the state file (no-op without --changed-since). */
  save(reports: readonly SessionReport[]): void;
}

export function auditSelection(discovery: Discovery, wanted: DiscoveredSession[], since: string | undefined, changedSince: string | undefined): AuditSelection {
  let audit = wanted;
  if (since !== undefined) {
    const ms = parseSince(since);
    if (ms === null) throw new UsageError(`--since must be an ISO-8601 time or epoch seconds, got "${since}"`);
    audit = audit.filter((s) => sessionMtime(discovery.sessionsDir, s) >= ms);
  }
  if (changedSince === undefined) return { audit, reused: [], save: () => undefined };
  if (changedSince === '') throw new UsageError('--changed-since needs a state file path');
  let state;
  try {
    state = readAuditState(changedSince, discovery.sessionsDir);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const stamps = new Map(wanted.map((s) => [s.sessionId, sessionStamp(discovery.sessionsDir, s)]));
  const reused: SessionReport[] = [];
  const fresh: DiscoveredSession[] = [];
  for (const s of audit) {
    const last = state.sessions[s.sessionId];
    if (last && last.stamp === stamps.get(s.sessionId)) reused.push(last.report);
    else fresh.push(s);
  }
  return {
    audit: fresh,
    reused,
    save(reports) {
      // Sessions no longer in the folder are dropped; the others keep their latest report.
      const sessions: typeof state.sessions = Object.create(null);
      for (const r of reports) {
        const stamp = stamps.get(r.session_id);
        if (stamp !== undefined) sessions[r.session_id] = { stamp, report: r };
      }
      const present = new Set(discovery.sessions.map((s) => s.sessionId));
      // Sessions not asked for this time (--session) keep their last report.
      for (const [sid, e] of Object.entries(state.sessions)) if (!(sid in sessions) && present.has(sid) && !stamps.has(sid)) sessions[sid] = e;
      writeAuditState(changedSince, { ...state, sessions });
    },
  };
}
