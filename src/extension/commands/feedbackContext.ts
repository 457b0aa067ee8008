import * as vscode from 'vscode';
import type { FeedbackValue } from '../../core/feedback/record';
import { turnRefOf, type FeedbackService, type TurnRef } from '../feedback/service';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';

/** What the feedback commands need. */
export interface FeedbackContext extends CommandContext {
  feedback: FeedbackService;
}

/** The turn a command is about: its argument (tree node, timeline card, ref) or the tree selection. */
export function targetTurn(c: FeedbackContext, arg: unknown): TurnRef | undefined {
  const ref = turnRefOf(arg) ?? turnRefOf(c.view.selection[0]);
  if (!ref) void notifyInfo('Select a turn in the Sessions view or the turn timeline first (or use "Give Feedback on Turn…").');
  return ref;
}

/** A command that rates the target turn with a fixed value (thumbs up / down / clear). */
export function rateCommand(c: FeedbackContext, id: string, value: FeedbackValue): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (arg?: unknown) => {
    const ref = targetTurn(c, arg);
    if (!ref) return undefined;
    return c.feedback.give(ref, value);
  });
}
