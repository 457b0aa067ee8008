import { removeTree } from '../../core/fsSafe';
import * as path from 'path';
import { spawn } from 'child_process';
import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import type { Services } from '../services';
import { indexPathFor, pickSessionsDir } from '../index/indexPath';
import type { RebuildProgress, RebuildResult } from '../../core/sqlite/rebuild';
import type { CommandContext } from './context';
import { notifyError, notifyInfo, notifyWarning } from '../untrustedText';
import { plural } from '../words';

export interface RebuildOutcome {
  status: 'done' | 'cancelled' | 'busy' | 'failed';
  result?: RebuildResult;
  message?: string;
}

/**
 * "Rebuild SQLite Index": runs `bot-memory-audit rebuild` (dist/cli.js) in a child process
 * with this runtime's Node (`ELECTRON_RUN_AS_NODE=1` makes Electron's binary act as Node),
 * so a long rebuild never blocks the extension host. Progress arrives as JSON lines on
 * stderr; Cancel sends SIGTERM (SIGKILL after 3 s): the old index stays as it was.
 * Accepts a sessions folder path, a Uri, or a tree root node; returns the outcome (tests use it).
 */
export async function run(s: CommandContext, arg?: unknown, options?: { force?: boolean; full?: boolean }): Promise<RebuildOutcome | undefined> {
  if (!vscode.workspace.isTrusted) {
    void notifyWarning('Rebuilding the SQLite index writes a file: trust this workspace first.');
    return undefined;
  }
  const dir = await pickSessionsDir(s.store.roots(), arg, 'Rebuild the SQLite index of which sessions folder?');
  if (!dir) return undefined;
  const db = indexPathFor(dir);
  const outcome = await runRebuild(s, { sessionsDir: dir }, db, options ?? {});
  if (outcome.status === 'done' && outcome.result) {
    const c = outcome.result.counts;
    const how = outcome.result.mode === 'incremental' ? `incremental, ${plural(outcome.result.sessionsRedone, 'session')} redone` : 'full';
    const counts = [plural(c.sessions, 'session'), plural(c.events, 'event'), plural(c.turns, 'turn'), plural(c.findings, 'finding')].join(', ');
    void notifyInfo(`SQLite index rebuilt (${how}): ${counts}.`, 'Open Index').then((pick) => {
      if (pick === 'Open Index') void vscode.commands.executeCommand(Commands.openIndex, dir);
    });
  } else if (outcome.status === 'busy') {
    if (await askToReplace(outcome.message)) return vscode.commands.executeCommand(Commands.rebuildIndex, dir, { ...options, force: true });
  } else if (outcome.status === 'failed') {
    void notifyError(`Rebuilding the SQLite index failed: ${outcome.message}`);
  }
  return outcome;
}

/**
 * Says why the index is in use; when only an open reader holds it (the CLI's message then
 * mentions --force), offers "Replace Anyway". True if the user picked it.
 */
export async function askToReplace(message: string | undefined): Promise<boolean> {
  const forceable = message?.includes('--force') === true;
  const pick = await notifyWarning(message ?? 'The index is in use.', ...(forceable ? ['Replace Anyway'] : []));
  return pick === 'Replace Anyway';
}

type RebuildSource = { sessionsDir: string } | { fromLog: string };

/** What the child process reported on stderr so far. */
interface ChildReport {
  /** The temp file the rebuild writes (ours to remove if it is killed). */
  temp?: string;
  error?: { busy?: boolean; cancelled?: boolean; message: string };
  /** Lines that are not JSON (a crash's message). */
  plain: string;
  lastPct: number;
}

/** Runs `bot-memory-audit rebuild` for a sessions folder or a downloaded GitHub log (`fromLog`). */
export function runRebuild(s: Services, source: RebuildSource, db: string, options: { force?: boolean; full?: boolean }): Promise<RebuildOutcome> {
  const args = rebuildArgs(path.join(s.context.extensionPath, 'dist', 'cli.js'), source, db, options);
  s.output.info(`Rebuilding ${db} from ${'fromLog' in source ? source.fromLog : source.sessionsDir}`);
  const title = 'fromLog' in source ? 'Rebuilding SQLite index from the GitHub log' : 'Rebuilding SQLite index';
  return Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (progress, token) =>
        new Promise<RebuildOutcome>((resolve) => {
          const child = spawn(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
          const report: ChildReport = { plain: '', lastPct: 0 };
          let stdout = '';
          let partial = '';
          child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
          child.stderr.on('data', (d: Buffer) => {
            const lines = (partial + d.toString()).split('\n');
            partial = lines.pop() ?? '';
            for (const l of lines) readStderrLine(l, report, progress);
          });
          const cancel = token.onCancellationRequested(() => {
            child.kill('SIGTERM');
            setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), 3000).unref();
          });
          child.on('error', (e) => {
            cancel.dispose();
            resolve({ status: 'failed', message: e.message });
          });
          child.on('close', (code) => {
            cancel.dispose();
            // A killed rebuild cannot clean up after itself: its temp file is ours to remove.
            // removeTree never follows a link.
            if (report.temp && code !== 0) for (const f of [report.temp, report.temp + '.lock', report.temp + '-journal']) removeTree(f);
            resolve(outcomeOf(s, code, stdout, report, token.isCancellationRequested));
          });
        }),
    ),
  );
}

/** The CLI's arguments for a rebuild. */
function rebuildArgs(cli: string, source: RebuildSource, db: string, options: { force?: boolean; full?: boolean }): string[] {
  const args = [cli, 'rebuild', ...('fromLog' in source ? ['--from-log', source.fromLog] : [source.sessionsDir]), '--db', db, '--progress-json', '--json'];
  if (options.force) args.push('--force');
  if (options.full) args.push('--full');
  return args;
}

/** One stderr line of the child: a JSON progress or error message, or plain text kept for the error. */
function readStderrLine(l: string, report: ChildReport, progress: vscode.Progress<{ message?: string; increment?: number }>): void {
  let msg: ({ type: string } & Partial<RebuildProgress> & { message?: string; busy?: boolean; cancelled?: boolean }) | undefined;
  try {
    msg = l.startsWith('{') ? JSON.parse(l) : undefined;
  } catch {
    msg = undefined;
  }
  if (!msg) {
    report.plain += l + '\n';
  } else if (msg.type === 'progress') {
    if (msg.temp) report.temp = msg.temp;
    const pct = msg.bytesTotal ? Math.floor((100 * (msg.bytesDone ?? 0)) / msg.bytesTotal) : 0;
    progress.report({ message: progressMessage(msg), increment: Math.max(0, pct - report.lastPct) });
    report.lastPct = Math.max(report.lastPct, pct);
  } else if (msg.type === 'error') {
    report.error = { busy: msg.busy, cancelled: msg.cancelled, message: msg.message ?? 'unknown error' };
  }
}

/** What a finished child's exit code, stdout (the JSON result) and stderr report mean. */
function outcomeOf(s: Services, code: number | null, stdout: string, report: ChildReport, cancelled: boolean): RebuildOutcome {
  if (code === 0) {
    try {
      const result = JSON.parse(stdout) as RebuildResult;
      s.output.info(`Rebuilt ${result.db} (${result.mode}) in ${result.elapsedMs} ms`);
      return { status: 'done', result };
    } catch {
      return { status: 'failed', message: `unexpected output: ${stdout.slice(0, 200)}` };
    }
  }
  if (cancelled || report.error?.cancelled) {
    s.output.info('Rebuild cancelled; the previous index is unchanged');
    return { status: 'cancelled', message: 'cancelled; the previous index is unchanged' };
  }
  if (report.error?.busy) return { status: 'busy', message: report.error.message };
  const message = report.error?.message ?? (report.plain.trim() || `exit code ${code}`);
  s.output.error(`Rebuild failed: ${message}`);
  return { status: 'failed', message };
}

function progressMessage(p: Partial<RebuildProgress>): string {
  switch (p.phase) {
    case 'log':
      return 'replaying every line of the log…';
    case 'sessions':
      return `${p.sessionsDone}/${p.sessionsTotal} sessions, ${(p.events ?? 0).toLocaleString()} events`;
    case 'indexes':
      return 'creating indexes…';
    case 'sync':
      return 'writing to disk…';
    default:
      return `${p.phase ?? ''}…`;
  }
}
