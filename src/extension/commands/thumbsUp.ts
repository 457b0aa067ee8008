import type * as vscode from 'vscode';
import { Commands } from '../commandIds';
import { rateCommand, type FeedbackContext } from './feedbackContext';

/** Rates the turn of a tree row or timeline card (inline/context menu; hidden from the palette). */
export function register(c: FeedbackContext): vscode.Disposable {
  return rateCommand(c, Commands.thumbsUp, 1);
}
