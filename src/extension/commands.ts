/**
 * The one command registry (error-lens' `src/commands.ts` is the model): every command the
 * extension registers is listed here, one file per command in `commands/`, each exporting
 * `run(c: CommandContext, ...args)`. Ids are in `commandIds.ts`; `scripts/check-commands.mjs`
 * checks that every id in package.json has an entry here and every entry is declared.
 */

import * as vscode from 'vscode';
import { Commands, InternalCommands } from './commandIds';
import type { CommandContext } from './commands/context';
import * as addNote from './commands/addNote';
import * as addSessionsFolder from './commands/addSessionsFolder';
import * as auditSessions from './commands/auditSessions';
import * as clearFeedback from './commands/clearFeedback';
import * as compareAnswers from './commands/compareAnswers';
import * as copySessionId from './commands/copySessionId';
import * as copyTurnId from './commands/copyTurnId';
import * as exportTrainingData from './commands/exportTrainingData';
import * as filter from './commands/filter';
import * as focusAttention from './commands/focusAttention';
import * as giveFeedback from './commands/giveFeedback';
import * as markCollisionReviewed from './commands/markCollisionReviewed';
import * as memoryAddDatabase from './commands/memoryAddDatabase';
import * as memoryExportProjection from './commands/memoryExportProjection';
import * as memoryRefresh from './commands/memoryRefresh';
import * as nextUnreviewed from './commands/nextUnreviewed';
import * as openDemo from './commands/openDemo';
import * as openIndex from './commands/openIndex';
import * as openQueryRow from './commands/openQueryRow';
import * as openRawShard from './commands/openRawShard';
import * as openTimeline from './commands/openTimeline';
import * as openTimelineAsText from './commands/openTimelineAsText';
import * as pullGithub from './commands/pullGithub';
import * as preferLeftAnswer from './commands/preferLeftAnswer';
import * as preferRightAnswer from './commands/preferRightAnswer';
import * as pushGithub from './commands/pushGithub';
import * as queryIndex from './commands/queryIndex';
import * as rebuildIndex from './commands/rebuildIndex';
import * as rebuildIndexFromLog from './commands/rebuildIndexFromLog';
import * as refresh from './commands/refresh';
import * as repairAll from './commands/repairAll';
import * as repairSession from './commands/repairSession';
import * as revealInExplorer from './commands/revealInExplorer';
import * as setGithubToken from './commands/setGithubToken';
import * as sort from './commands/sort';
import * as thumbsDown from './commands/thumbsDown';
import * as thumbsUp from './commands/thumbsUp';
import * as timelineQuery from './commands/timelineQuery';
import * as undoRepair from './commands/undoRepair';
import * as makeReadable from './commands/makeReadable';
import * as writeCorrection from './commands/writeCorrection';

/**
 * A command's implementation: the context first, then whatever VS Code or the caller passes.
 * Each `run` declares its own argument types and checks them with `commandArgs.ts`.
 */
type Run = (c: CommandContext, ...args: never[]) => unknown;

/** Every command: id → implementation. */
const COMMANDS: Record<(typeof Commands)[keyof typeof Commands] | (typeof InternalCommands)[keyof typeof InternalCommands], Run> = {
  // Sessions view
  [Commands.refresh]: refresh.run,
  [Commands.filter]: filter.run,
  [Commands.sort]: sort.run,
  [Commands.openRawShard]: openRawShard.run,
  [Commands.revealInExplorer]: revealInExplorer.run,
  [Commands.copySessionId]: copySessionId.run,
  [Commands.copyTurnId]: copyTurnId.run,
  [Commands.addSessionsFolder]: addSessionsFolder.run,
  [Commands.openDemo]: openDemo.run,
  [Commands.focusAttention]: focusAttention.run,
  // Turn timeline
  [Commands.openTimeline]: openTimeline.run,
  [Commands.openTimelineAsText]: openTimelineAsText.run,
  [InternalCommands.timelineQuery]: timelineQuery.run,
  // Memories view
  [Commands.memoryAddDatabase]: memoryAddDatabase.run,
  [Commands.memoryExportProjection]: memoryExportProjection.run,
  [Commands.memoryRefresh]: memoryRefresh.run,
  // SQLite index
  [Commands.rebuildIndex]: rebuildIndex.run,
  [Commands.rebuildIndexFromLog]: rebuildIndexFromLog.run,
  [Commands.openIndex]: openIndex.run,
  [Commands.queryIndex]: queryIndex.run,
  [Commands.openQueryRow]: openQueryRow.run,
  // GitHub log
  [Commands.pushGithub]: pushGithub.run,
  [Commands.pullGithub]: pullGithub.run,
  [Commands.setGithubToken]: setGithubToken.run,
  // Feedback
  [Commands.giveFeedback]: giveFeedback.run,
  [Commands.thumbsUp]: thumbsUp.run,
  [Commands.thumbsDown]: thumbsDown.run,
  [Commands.clearFeedback]: clearFeedback.run,
  [Commands.addNote]: addNote.run,
  [Commands.writeCorrection]: writeCorrection.run,
  [Commands.compareAnswers]: compareAnswers.run,
  [Commands.preferLeftAnswer]: preferLeftAnswer.run,
  [Commands.preferRightAnswer]: preferRightAnswer.run,
  [Commands.nextUnreviewed]: nextUnreviewed.run,
  [Commands.exportTrainingData]: exportTrainingData.run,
  // Repair
  [Commands.auditSessions]: auditSessions.run,
  [Commands.repairSession]: repairSession.run,
  [Commands.repairAll]: repairAll.run,
  [Commands.undoRepair]: undoRepair.run,
  [Commands.makeReadable]: makeReadable.run,
  [Commands.markCollisionReviewed]: markCollisionReviewed.run,
};

/** Registers every command; the returned disposables unregister them. */
export function registerCommands(c: CommandContext): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, run]) =>
    vscode.commands.registerCommand(id, (...args: unknown[]) => (run as (c: CommandContext, ...a: unknown[]) => unknown)(c, ...args)),
  );
}
