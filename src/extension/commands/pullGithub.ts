import * as path from 'path';
import * as vscode from 'vscode';
import { GithubClient, GithubError } from '../../core/github/client';
import { pullLog, PULLED_LOG_FILE, type PullResult } from '../../core/github/pull';
import { describeTarget } from '../../core/github/remote';
import { Commands } from '../commandIds';
import { githubToken, readGithubSettings } from '../githubAuth';
import { offerFix } from './pushGithub';
import type { CommandContext } from './context';
import { notifyInfo, notifyWarning, showPick } from '../untrustedText';
import { plural } from '../words';

/** "Pull from GitHub Log": downloads the log to `<sessionsDir>/_github_log.jsonl` (for `rebuild --from-log`). */
export async function run(
  s: CommandContext,
  arg?: { sessionsDir?: string; last?: number },
): Promise<(PullResult & { file: string }) | { error: string } | undefined> {
  if (!vscode.workspace.isTrusted) {
    void notifyWarning('Pulling the GitHub log writes a file: trust this workspace first.');
    return undefined;
  }
  const settings = readGithubSettings();
  if (!settings.target) {
    await offerFix(new GithubError('invalid', ''), 'Set botMemory.github.repository (owner/name) to pull a GitHub log.');
    return undefined;
  }
  let dir = arg?.sessionsDir;
  if (!dir) {
    const roots = s.store.roots().filter((r) => !r.error);
    if (roots.length === 0) return undefined;
    dir =
      roots.length === 1
        ? roots[0].sessionsDir
        : (
            await showPick(
              roots.map((r) => ({ label: r.label, description: r.sessionsDir, dir: r.sessionsDir })),
              { title: 'Pull the log into which sessions folder?' },
            )
          )?.dir;
    if (!dir) return undefined;
  }
  const token = await githubToken(s.context, true);
  if (!token) {
    await offerFix(new GithubError('auth', ''), 'No GitHub token: sign in to GitHub or use "Bot Memory: Set GitHub Token".');
    return undefined;
  }
  const target = settings.target;
  const file = path.join(dir, PULLED_LOG_FILE);
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Pull ${describeTarget(target)}` }, (progress) =>
      pullLog(new GithubClient({ token, apiUrl: settings.apiUrl, onWait: (_r, _s, detail) => progress.report({ message: detail }) }), target, file, {
        last: arg?.last,
      }),
    );
    s.output.info(`Pulled ${describeTarget(target)} → ${file}: ${plural(r.lines, 'line')}, ${plural(r.records, 'record')}`);
    if (arg === undefined) {
      if (!r.exists) void notifyInfo(`${describeTarget(target)} does not exist yet.`);
      else
        void notifyInfo(`Pulled ${plural(r.records, 'record')} (${plural(r.lines, 'line')}) into ${file}.`, 'Open', 'Rebuild Index from Log').then((c) => {
          if (c === 'Open') void vscode.window.showTextDocument(vscode.Uri.file(file));
          if (c === 'Rebuild Index from Log') void vscode.commands.executeCommand(Commands.rebuildIndexFromLog, file);
        });
    }
    return { ...r, file };
  } catch (e) {
    const message = e instanceof GithubError ? e.message : `Pull failed: ${e instanceof Error ? e.message : String(e)}`;
    s.output.error(message);
    if (arg === undefined) void offerFix(e, message);
    return { error: message };
  }
}
