/**
 * Auditing only what changed, for CI over a large fleet folder (`audit --since`,
 * `audit --changed-since <state file>`).
 *
 * - `--since TIME`: only the sessions with a shard or sidecar modified at or after TIME (the
 *   report covers those sessions only).
 * - `--changed-since FILE`: FILE holds, per session, a stamp of its files (name, size, mtime
 *   of every shard and of the sidecar) and the session's last report. Sessions whose stamp is
 *   unchanged are not read again: their last report is reused, so the report (and the SARIF
 *   upload) still covers the whole folder and code scanning does not close the alerts of
 *   sessions that simply did not change. After the audit FILE is replaced atomically, 0600 (it
 *   holds finding messages, which can quote transcript text).
 */

import * as fs from 'fs';
import * as path from 'path';
import { atomicReplace, describeError, readTextIfExistsSync } from './fsSafe';
import type { SessionReport } from './audit';
import type { DiscoveredSession } from './discovery';

export const AUDIT_STATE_VERSION = 1;

export interface AuditState {
  version: 1;
  sessionsDir: string;
  written_at: string;
  sessions: Record<string, { stamp: string; report: SessionReport }>;
}

function fileStamp(p: string): string {
  try {
    const st = fs.lstatSync(p);
    return `${path.basename(p)}:${st.size}:${Math.round(st.mtimeMs)}`;
  } catch {
    return `${path.basename(p)}:-`;
  }
}

/** What the session's files look like now: any append, rewrite, new or removed shard changes it. */
export function sessionStamp(sessionsDir: string, s: DiscoveredSession): string {
  return [...s.shards.map((f) => fileStamp(f.path)), fileStamp(path.join(sessionsDir, `${s.sessionId}.json`))].join('|');
}

/** The newest modification time (ms) of the session's shards and sidecar. */
export function sessionMtime(sessionsDir: string, s: DiscoveredSession): number {
  let newest = 0;
  for (const p of [...s.shards.map((f) => f.path), path.join(sessionsDir, `${s.sessionId}.json`)]) {
    try {
      newest = Math.max(newest, fs.lstatSync(p).mtimeMs);
    } catch {
      // gone: the audit reports it
    }
  }
  return newest;
}

/** ISO-8601 or epoch seconds → epoch ms, or null. */
export function parseSince(s: string): number | null {
  const t = s.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return null;
  const ms = Date.parse(t);
  return Number.isFinite(ms) ? ms : null;
}

/**
 * The state file, or an empty state when it does not exist yet. Throws with a clear message
 * when it exists but is not ours (not JSON, another version, another folder).
 */
export function readAuditState(file: string, sessionsDir: string): AuditState {
  let text: string | null;
  try {
    text = readTextIfExistsSync(file); // a link, FIFO or device there is refused, never opened
  } catch (e) {
    throw new Error(`cannot read the audit state ${file}: ${describeError(e)}`, { cause: e });
  }
  if (text === null) return { version: 1, sessionsDir, written_at: '', sessions: {} };
  let v: Partial<AuditState>;
  try {
    v = JSON.parse(text) as Partial<AuditState>;
  } catch {
    throw new Error(`${file} is not an audit state file (not JSON); delete it to audit everything again`);
  }
  if (v.version !== AUDIT_STATE_VERSION || !v.sessions || typeof v.sessions !== 'object')
    throw new Error(`${file} is not an audit state file of version ${AUDIT_STATE_VERSION}; delete it to audit everything again`);
  // Another folder's state would mark every session unchanged by accident only if stamps matched: start afresh.
  if (v.sessionsDir !== sessionsDir) return { version: 1, sessionsDir, written_at: '', sessions: {} };
  const sessions: AuditState['sessions'] = Object.create(null);
  for (const [k, e] of Object.entries(v.sessions)) if (e && typeof e.stamp === 'string' && e.report && Array.isArray(e.report.findings)) sessions[k] = e;
  return { version: 1, sessionsDir, written_at: String(v.written_at ?? ''), sessions };
}

export function writeAuditState(file: string, state: AuditState): void {
  // 0600 even over an older file with another mode: the state holds finding messages.
  atomicReplace(file, JSON.stringify({ ...state, written_at: new Date().toISOString() }) + '\n', { mode: 0o600, forceMode: true });
}
