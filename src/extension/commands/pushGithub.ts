import * as vscode from 'vscode';
import { GithubClient, GithubError } from '../../core/github/client';
import { LockBusyError } from '../../core/github/outbox';
import { pushFolder, type FolderPushResult } from '../../core/github/push';
import { describeTarget, type GithubTarget } from '../../core/github/remote';
import { Commands } from '../commandIds';
import { githubToken, readGithubSettings } from '../githubAuth';
import type { CommandContext } from './context';
import { notifyError, notifyInfo, notifyWarning } from '../untrustedText';

export interface PushCommandResult {
  sessionsDir: string;
  result?: FolderPushResult;
  error?: string;
}

/** Opens the settings or the token command after a failure that needs the user. */
export async function offerFix(e: unknown, message: string): Promise<void> {
  const fatal = e instanceof GithubError && e.fatal;
  const auth = e instanceof GithubError && (e.kind === 'auth' || e.kind === 'permission');
  const choice = await notifyError(message, ...(auth ? ['Set GitHub Token'] : []), ...(fatal ? ['Open Settings'] : []));
  if (choice === 'Set GitHub Token') await vscode.commands.executeCommand(Commands.setGithubToken);
  if (choice === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'botMemory.github');
}

interface PushPlan {
  settings: ReturnType<typeof readGithubSettings>;
  target: GithubTarget;
  dirs: string[];
  token: string;
}

/** What a push needs before it can start: a trusted workspace, a target, folders and a token (else it says why). */
async function preflight(s: CommandContext, arg?: { sessionsDir?: string }): Promise<PushPlan | undefined> {
  if (!vscode.workspace.isTrusted) {
    void notifyWarning('Pushing to the GitHub log writes an outbox next to the journals: trust this workspace first.');
    return undefined;
  }
  const settings = readGithubSettings();
  if (!settings.target) {
    await offerFix(
      new GithubError('invalid', ''),
      settings.repository
        ? `botMemory.github.repository must be owner/name, not "${settings.repository}".`
        : 'Set botMemory.github.repository (owner/name) to push to a GitHub log.',
    );
    return undefined;
  }
  const dirs = arg?.sessionsDir
    ? [arg.sessionsDir]
    : s.store
        .roots()
        .filter((r) => !r.error)
        .map((r) => r.sessionsDir);
  if (dirs.length === 0) {
    void notifyInfo('No sessions folder to push.');
    return undefined;
  }
  const token = await githubToken(s.context, true);
  if (!token) {
    await offerFix(new GithubError('auth', ''), 'No GitHub token: sign in to GitHub or use "Bot Memory: Set GitHub Token".');
    return undefined;
  }
  return { settings, target: settings.target, dirs, token };
}

/** Pushes one folder; what happened goes to the output channel (a rewritten log also as a notification). */
async function pushOne(
  s: CommandContext,
  dir: string,
  { settings, target, token, dirs }: PushPlan,
  report: (message: string) => void,
): Promise<PushCommandResult & { fatal?: GithubError }> {
  const client = new GithubClient({
    token,
    apiUrl: settings.apiUrl,
    onWait: (_reason, _seconds, detail) => {
      report(detail);
      s.output.warn(`GitHub: ${detail}`);
    },
  });
  try {
    const result = await pushFolder(dir, {
      target,
      client,
      rotateAtBytes: settings.rotateAtBytes,
      onProgress: (p) => report(`${dirs.length > 1 ? `${dir}: ` : ''}${p.message}`),
    });
    // Said loudly: someone rewrote the log (force-push, manual edit, a Contents-API bot).
    for (const f of result.findings) {
      s.output.warn(`${f.kind}: ${f.message}`);
      if (f.severity === 'error') void notifyError(f.message);
      else void notifyWarning(f.message);
    }
    if (result.rotatedTo) s.output.info(`GitHub log rotated: the earlier records are now in ${result.rotatedTo}`);
    s.output.info(
      `Pushed ${dir} → ${describeTarget(target)}: ${result.appended} appended, ${result.alreadyPresent} already there, ` +
        `${client.stats.requests} requests${result.commit ? `, commit ${result.commit}` : ''}`,
    );
    return { sessionsDir: dir, result };
  } catch (e) {
    const message = e instanceof GithubError || e instanceof LockBusyError ? e.message : `Push failed: ${e instanceof Error ? e.message : String(e)}`;
    s.output.error(`Push of ${dir} failed: ${message}`);
    return { sessionsDir: dir, error: message, fatal: e instanceof GithubError && e.fatal ? e : undefined };
  }
}

/** One closing notification for every folder pushed. */
function sayResult(target: GithubTarget, results: PushCommandResult[]): void {
  const ok = results.filter((r) => r.result);
  const appended = ok.reduce((a, r) => a + r.result!.appended, 0);
  const present = ok.reduce((a, r) => a + r.result!.alreadyPresent, 0);
  const failed = results.filter((r) => r.error);
  if (failed.length === 0)
    void notifyInfo(
      `GitHub log ${describeTarget(target)}: ${appended} record${appended === 1 ? '' : 's'} appended${present ? `, ${present} already there` : ''}.`,
    );
  else if (!failed.some((f) => /401|403|not found/i.test(f.error!))) void notifyWarning(`${failed[0].error}`);
}

/**
 * "Push to GitHub Log": every sessions folder (or `{ sessionsDir }`), each through its own
 * outbox. Resolves with one result per folder (for tests and scripting).
 */
export async function run(s: CommandContext, arg?: { sessionsDir?: string }): Promise<PushCommandResult[]> {
  const ready = await preflight(s, arg);
  if (!ready) return [];
  const { target, dirs } = ready;
  const results: PushCommandResult[] = [];
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Push to ${describeTarget(target)}` }, async (progress) => {
    for (const dir of dirs) {
      const { fatal, ...r } = await pushOne(s, dir, ready, (message) => progress.report({ message }));
      results.push(r);
      if (fatal) {
        void offerFix(fatal, r.error!);
        break;
      }
    }
  });
  sayResult(target, results);
  return results;
}
