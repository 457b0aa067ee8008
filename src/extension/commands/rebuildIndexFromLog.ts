import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { PULLED_LOG_FILE } from '../../core/github/pull';
import { logIndexPath } from '../../core/sqlite/schema';
import { Commands } from '../commandIds';
import type { Services } from '../services';
import { pickSessionsDir } from '../index/indexPath';
import { revealFile } from './openIndex';
import { askToReplace, runRebuild, type RebuildOutcome } from './rebuildIndex';
import type { CommandContext } from './context';
import { notifyError, notifyInfo, notifyWarning } from '../untrustedText';

/**
 * "Rebuild SQLite Index from GitHub Log": replays a downloaded interaction log (every line:
 * interactions and feedback corrections) into `<log>.sqlite` beside it, the same schema as
 * the journal index (`bot-memory-audit rebuild --from-log`, in a child process). The log is
 * the one "Pull from GitHub Log" wrote into a sessions folder (`_github_log.jsonl`), offered
 * to be pulled first when missing, or any `.jsonl` file (an Explorer Uri or a pick).
 * Returns the outcome (tests use it).
 */
export async function run(s: CommandContext, arg?: unknown, options?: { force?: boolean }): Promise<RebuildOutcome | undefined> {
  if (!vscode.workspace.isTrusted) {
    void notifyWarning('Rebuilding the SQLite index writes a file: trust this workspace first.');
    return undefined;
  }
  const log = await pickLog(s, arg);
  if (!log) return undefined;
  const db = logIndexPath(log);
  const outcome = await runRebuild(s, { fromLog: log }, db, options ?? {});
  if (outcome.status === 'done' && outcome.result) {
    const c = outcome.result.counts;
    const n = (k: number, what: string): string => `${k} ${what}${k === 1 ? '' : 's'}`;
    const problems = c.findings > 0 ? `, ${n(c.findings, 'finding')}` : '';
    void vscode.window
      .showInformationMessage(
        `SQLite index rebuilt from ${path.basename(log)}: ${n(c.sessions, 'session')}, ${n(c.turns, 'turn')}, ` +
          `${n(c.feedback, 'feedback record')}${problems} → ${path.basename(db)}.`,
        'Reveal Index',
      )
      .then((pick) => {
        if (pick === 'Reveal Index') void revealFile(db);
      });
  } else if (outcome.status === 'busy') {
    if (await askToReplace(outcome.message)) return vscode.commands.executeCommand(Commands.rebuildIndexFromLog, log, { force: true });
  } else if (outcome.status === 'failed') {
    void notifyError(`Rebuilding the SQLite index from the GitHub log failed: ${outcome.message}`);
  }
  return outcome;
}

/** The log to replay: a `.jsonl` Uri or path given, else the pulled log of a sessions folder. */
async function pickLog(s: Services, arg: unknown): Promise<string | undefined> {
  const given = arg instanceof vscode.Uri ? arg.fsPath : typeof arg === 'string' ? arg : undefined;
  if (given !== undefined && fs.existsSync(given) && fs.statSync(given).isFile()) return given;
  const dir = await pickSessionsDir(s.store.roots(), arg, 'Replay the GitHub log of which sessions folder?');
  if (!dir) return undefined;
  const pulled = path.join(dir, PULLED_LOG_FILE);
  if (fs.existsSync(pulled)) return pulled;
  const pick = await notifyInfo(`No GitHub log has been pulled into ${dir} yet.`, 'Pull from GitHub Log', 'Choose File…');
  if (pick === 'Pull from GitHub Log') {
    const r = await vscode.commands.executeCommand<{ file?: string; exists?: boolean; error?: string } | undefined>(Commands.pullGithub, { sessionsDir: dir });
    if (r?.error !== undefined) void notifyError(r.error);
    return r?.file !== undefined && fs.existsSync(r.file) ? r.file : undefined;
  }
  if (pick === 'Choose File…') {
    const uris = await vscode.window.showOpenDialog({
      canSelectMany: false,
      defaultUri: vscode.Uri.file(dir),
      filters: { 'JSON Lines': ['jsonl'] },
      title: 'The interaction log to replay',
    });
    return uris?.[0]?.fsPath;
  }
  return undefined;
}
