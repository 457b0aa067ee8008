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
    const how = outcome.result.mode === 'incremental' ? `incremental, ${outcome.result.sessionsRedone} session(s) redone` : 'full';
    void notifyInfo(`SQLite index rebuilt (${how}): ${c.sessions} sessions, ${c.events} events, ${c.turns} turns, ${c.findings} findings.`, 'Open Index').then((pick) => {
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

/** Runs `bot-memory-audit rebuild` for a sessions folder or a downloaded GitHub log (`fromLog`). */
export function runRebuild(
  s: Services,
  source: { sessionsDir: string } | { fromLog: string },
  db: string,
  options: { force?: boolean; full?: boolean },
): Promise<RebuildOutcome> {
  const cli = path.join(s.context.extensionPath, 'dist', 'cli.js');
  const from = 'fromLog' in source ? source.fromLog : source.sessionsDir;
  const args = [cli, 'rebuild', ...('fromLog' in source ? ['--from-log', source.fromLog] : [source.sessionsDir]), '--db', db, '--progress-json', '--json'];
  if (options.force) args.push('--force');
  if (options.full) args.push('--full');
  s.output.info(`Rebuilding ${db} from ${from}`);
  const title = 'fromLog' in source ? 'Rebuilding SQLite index from the GitHub log' : 'Rebuilding SQLite index';
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, (progress, token) =>
      new Promise<RebuildOutcome>((resolve) => {
        const child = spawn(process.execPath, args, { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let partial = '';
        let temp: string | undefined;
        let error: { busy?: boolean; cancelled?: boolean; message: string } | undefined;
        let plain = '';
        let lastPct = 0;
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => {
          const lines = (partial + d.toString()).split('\n');
          partial = lines.pop() ?? '';
          for (const l of lines) {
            let msg: ({ type: string } & Partial<RebuildProgress> & { message?: string; busy?: boolean; cancelled?: boolean }) | undefined;
            try {
              msg = l.startsWith('{') ? JSON.parse(l) : undefined;
            } catch {
              msg = undefined;
            }
            if (!msg) {
              plain += l + '\n';
              continue;
            }
            if (msg.type === 'progress') {
              if (msg.temp) temp = msg.temp;
              const pct = msg.bytesTotal ? Math.floor((100 * (msg.bytesDone ?? 0)) / msg.bytesTotal) : 0;
              progress.report({ message: progressMessage(msg), increment: Math.max(0, pct - lastPct) });
              lastPct = Math.max(lastPct, pct);
            } else if (msg.type === 'error') {
              error = { busy: msg.busy, cancelled: msg.cancelled, message: msg.message ?? 'unknown error' };
            }
          }
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
          if (temp && code !== 0) for (const f of [temp, temp + '.lock', temp + '-journal']) removeTree(f); // never follows a link
          if (code === 0) {
            try {
              const result = JSON.parse(stdout) as RebuildResult;
              s.output.info(`Rebuilt ${result.db} (${result.mode}) in ${result.elapsedMs} ms`);
              resolve({ status: 'done', result });
            } catch {
              resolve({ status: 'failed', message: `unexpected output: ${stdout.slice(0, 200)}` });
            }
          } else if (token.isCancellationRequested || error?.cancelled) {
            s.output.info('Rebuild cancelled; the previous index is unchanged');
            resolve({ status: 'cancelled', message: 'cancelled; the previous index is unchanged' });
          } else if (error?.busy) {
            resolve({ status: 'busy', message: error.message });
          } else {
            const message = error?.message ?? (plain.trim() || `exit code ${code}`);
            s.output.error(`Rebuild failed: ${message}`);
            resolve({ status: 'failed', message });
          }
        });
      }),
    ),
  );
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
