/** `bot-memory-audit audit <sessionsDir>` */

import * as fs from 'fs';
import * as path from 'path';
import * as os from 'os';
import {
  auditSessions,
  buildReport,
  folderItems,
  reachesThreshold,
  recoveryMessage,
  recoverySeverity,
  sessionReport,
  type AuditOptions,
  type AuditReport,
  type FailOn,
  type SessionReport,
} from '../core/audit';
import { discoverSessions, DiscoveryError, type DiscoveredSession, type Discovery } from '../core/discovery';
import { auditReportsParallel } from '../core/parallelAudit';
import { isValidSessionId } from '../core/sessionId';
import { loadKnownReviews, markReviewedFindings } from '../core/repair';
import { REPAIR_LOG_NAME, repairLogProblem } from '../core/repair/log';
import { writeJsonStreamed } from './jsonStream';
import { auditToSarif } from '../core/sarif';
import type { RecoveryItem } from '../core/recoveryAudit';
import { VERSION } from '../core/version';
import { auditSelection } from './auditSelect';
import { UsageError, bold, dim, green, out, parse, numberOption, red, safeText, yellow } from './io';

export async function runAudit(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      session: { type: 'string' },
      json: { type: 'boolean', default: false },
      'fail-on': { type: 'string', default: 'error' },
      'stale-after-minutes': { type: 'string' },
      'max-line-bytes': { type: 'string' },
      'max-session-bytes': { type: 'string' },
      now: { type: 'string' },
      jobs: { type: 'string' },
      format: { type: 'string' },
      since: { type: 'string' },
      'changed-since': { type: 'string' },
      'state-db': { type: 'string' },
    },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  const format = values.json ? 'json' : (values.format ?? 'text');
  if (!['text', 'json', 'sarif'].includes(format)) throw new UsageError(`--format must be text, json or sarif, got "${format}"`);
  const failOn = values['fail-on'] as string;
  if (!['error', 'warning', 'never'].includes(failOn)) throw new UsageError(`--fail-on must be error, warning or never, got "${failOn}"`);
  if (values.session !== undefined && !isValidSessionId(values.session)) {
    throw new UsageError(`--session "${values.session}" is not a valid session id (^[A-Za-z0-9_.-]+$, not "." or "..")`);
  }
  const options = {
    sessionId: values.session,
    staleAfterMinutes: numberOption(values['stale-after-minutes'], 'stale-after-minutes', 0),
    maxLineBytes: numberOption(values['max-line-bytes'], 'max-line-bytes', 1),
    maxSessionBytes: numberOption(values['max-session-bytes'], 'max-session-bytes', 1),
    now: numberOption(values.now, 'now', 0),
  };
  let discovery;
  try {
    discovery = await discoverSessions(positionals[0]);
  } catch (e) {
    if (e instanceof DiscoveryError) throw new Error(e.message, { cause: e });
    throw e;
  }
  if (options.sessionId !== undefined && !discovery.sessions.some((s) => s.sessionId === options.sessionId)) {
    throw new UsageError(`no session "${options.sessionId}" in ${discovery.journalDir}`);
  }
  const sessions: SessionReport[] = [];
  const wanted = options.sessionId === undefined ? discovery.sessions : discovery.sessions.filter((s) => s.sessionId === options.sessionId);
  // --since / --changed-since: read only the sessions that changed (src/cli/auditSelect.ts).
  const selection = auditSelection(discovery, wanted, values.since, values['changed-since']);
  const selected = selection.audit === wanted ? discovery : { ...discovery, sessions: selection.audit };
  const jobs = Math.min(numberOption(values.jobs, 'jobs', 1) ?? defaultJobs(selection.audit), selection.audit.length);
  for await (const r of jobs > 1 ? auditReportsParallel(selected, options, jobs, __filename, true) : reports(selected, options)) {
    sessions.push(r);
    if (format === 'text') out(sessionLine(r));
  }
  if (selection.reused.length) {
    const order = new Map(wanted.map((s, i) => [s.sessionId, i]));
    sessions.push(...selection.reused);
    sessions.sort((a, b) => (order.get(a.session_id) ?? 0) - (order.get(b.session_id) ?? 0));
  }
  // A repair log we cannot read (FIFO, device, link, unreadable) is reported; the audit goes on.
  const logProblem = repairLogProblem(discovery.sessionsDir);
  if (logProblem) discovery.skipped.push({ name: REPAIR_LOG_NAME, path: path.join(discovery.sessionsDir, REPAIR_LOG_NAME), reason: logProblem });
  const report = buildReport(discovery, sessions, values['state-db']);
  selection.save(sessions);
  // Items about sessions without a journal: listed, in the SARIF, and gating the exit code, unless
  // the run asked about one session only.
  const folder = options.sessionId === undefined ? folderItems(report, new Set(discovery.sessions.map((s) => s.sessionId))) : [];
  if (format === 'sarif') {
    out(JSON.stringify(auditToSarif(report, { journalDir: discovery.journalDir, toolVersion: VERSION, folderItems: folder })) + '\n');
  } else if (format === 'json') {
    // Streamed: the same bytes as JSON.stringify, never one string of the whole report.
    writeJsonStreamed(report, out);
    out('\n');
  } else {
    out(footer(report.summary, discovery.journalDir, report.skipped_files));
    out(findingsBlock(sessions));
    out(upstreamAuditBlock(report, folder));
  }
  return reachesThreshold(report, failOn as FailOn, folder) ? 1 : 0;
}

/** One thread: the analysis of each session, reviewed findings marked, as a report. */
async function* reports(discovery: Discovery, options: AuditOptions): AsyncGenerator<SessionReport> {
  const known = loadKnownReviews(discovery.sessionsDir);
  for await (const a of auditSessions(discovery, options)) {
    markReviewedFindings(a, known);
    yield sessionReport(a);
  }
}

/** Below this many journal bytes, starting workers costs more than it saves. */
const PARALLEL_MIN_BYTES = 16 * 1024 * 1024;

/**
 * Sessions are independent: for a large folder use the cores there are (at most 4; a worker
 * costs memory too); a small one is audited on this thread.
 */
function defaultJobs(sessions: readonly DiscoveredSession[]): number {
  let bytes = 0;
  for (const s of sessions) {
    for (const f of s.shards) {
      try {
        bytes += fs.statSync(f.path).size;
      } catch {
        // gone or unreadable: the audit reports it
      }
      if (bytes >= PARALLEL_MIN_BYTES)
        return Math.max(1, Math.min(4, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
    }
  }
  return 1;
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

function sessionLine(r: SessionReport): string {
  const sev = { error: 0, warning: 0, info: 0 };
  for (const f of r.findings) sev[f.severity]++;
  const mark = sev.error ? red('✖') : sev.warning ? yellow('▲') : green('✔');
  const parts = [plural(r.turn_count, 'turn'), `${r.open_turn_count} open`];
  if (r.collisions.length) parts.push(plural(r.collisions.length, 'collision'));
  if (r.malformed.length) parts.push(plural(r.malformed.length, 'malformed line'));
  const counts = [sev.error && red(plural(sev.error, 'error')), sev.warning && yellow(plural(sev.warning, 'warning')), sev.info && dim(`${sev.info} info`)]
    .filter(Boolean)
    .join(', ');
  const title = r.title ? ` ${dim(`"${safeText(r.title, 60)}"`)}` : '';
  return `${mark} ${bold(r.session_id)}${title}  ${parts.join(' · ')}${counts ? `  (${counts})` : ''}  ${dim(plural(r.shards.length, 'shard'))}\n`;
}

function footer(
  summary: { sessions: number; events: number; turns: number; findings: Record<string, number> },
  journalDir: string,
  skipped: { name: string; reason: string }[],
): string {
  let s = `\n${plural(summary.sessions, 'session')}, ${plural(summary.turns, 'turn')}, ${plural(summary.events, 'event')} in ${journalDir}\n`;
  s += `${summary.findings.error} errors, ${summary.findings.warning} warnings, ${summary.findings.info} info\n`;
  for (const f of skipped) s += `${yellow('skipped')} ${safeText(f.name, 120)}: ${f.reason}\n`;
  return s;
}

function findingsBlock(sessions: SessionReport[]): string {
  let s = '';
  for (const r of sessions) {
    if (r.findings.length === 0) continue;
    s += `\n${bold(r.session_id)}\n`;
    for (const f of r.findings) {
      const sev = f.severity === 'error' ? red('error  ') : f.severity === 'warning' ? yellow('warning') : dim('info   ');
      const where = f.shard ? dim(`${f.shard}${f.line ? `:${f.line}` : ''}`) + ' ' : '';
      const known = f.reviewed ? dim(` [reviewed: ${safeText(f.review_note ?? '', 160)}]`) : '';
      s += `  ${sev} ${f.kind.padEnd(26)} ${where}${safeText(f.message, 300)}${known}\n`;
    }
  }
  return s;
}

/**
 * hermes-webui's own audit items no session of ours holds (an orphan backup, a state.db row
 * without a sidecar), and how hermes' state.db was read when `--state-db` was given.
 */
function upstreamAuditBlock(report: AuditReport, rest: readonly RecoveryItem[]): string {
  const db = report.upstream_audit.state_db;
  if (!rest.length && !db) return '';
  let s = `\n${bold("hermes-webui's own audit")} ${dim('(items about sessions without a journal)')}\n`;
  if (db) {
    const how = db.read ? `read ${db.how === 'copy' ? 'from a private copy' : 'read-only'}` : yellow('not read');
    s += `  state.db ${safeText(db.path, 200)}: ${how}${db.message ? ` (${safeText(db.message, 300)})` : ''}\n`;
  }
  for (const i of rest) {
    const sev = recoverySeverity(i);
    const tag = sev === 'error' ? red('error  ') : sev === 'warning' ? yellow('warning') : dim('info   ');
    s += `  ${tag} ${i.kind.padEnd(32)} ${bold(safeText(i.session_id, 120))} ${safeText(recoveryMessage(i), 300)}\n`;
  }
  return s;
}
