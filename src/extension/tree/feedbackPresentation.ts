/**
 * The Sessions tree's feedback beyond our own rating: hermes-webui's own thumbs (feedback.jsonl)
 * and disagreement (reviewers among themselves, or hermes-webui against a reviewer). Every
 * untrusted part (reasons, reviewer names) goes through the untrusted-text helpers.
 */

import * as vscode from 'vscode';
import { disagreementOf, type TurnFeedback, type Vote } from '../../core/feedback/latest';
import type { SessionSummary } from '../../core/sessionIndex';
import { labelText } from '../../core/untrustedText';
import { appendUntrustedBlock } from '../untrustedText';

export interface TurnVoices {
  /** hermes-webui's latest rating of the turn, if any. */
  hermes: TurnFeedback | undefined;
  /** The votes when they disagree, else null. */
  disagree: Vote[] | null;
}

export function turnVoices(ours: TurnFeedback | undefined, hermes: TurnFeedback | undefined): TurnVoices {
  return { hermes: hermes && hermes.value !== 0 ? hermes : undefined, disagree: disagreementOf(ours, hermes) };
}

/** Description parts: "hermes thumbs down (too_long)", "disagree". */
export function voicesDescription(v: TurnVoices): string[] {
  const parts: string[] = [];
  if (v.hermes) parts.push(`hermes thumbs ${v.hermes.value === 1 ? 'up' : 'down'}${v.hermes.reason ? ` (${labelText(v.hermes.reason, 40)})` : ''}`);
  if (v.disagree) parts.push('disagree');
  return parts;
}

/**
 * The icon when the voices say more than our own rating: a disagreement (two voices, warning
 * colour), else hermes' thumb (muted) on a turn we have not rated. undefined = keep the usual icon.
 */
export function voicesIcon(v: TurnVoices, ratedByUs: boolean): vscode.ThemeIcon | undefined {
  if (v.disagree) return new vscode.ThemeIcon('comment-discussion', new vscode.ThemeColor('problemsWarningIcon.foreground'));
  if (v.hermes && !ratedByUs) return new vscode.ThemeIcon(v.hermes.value === 1 ? 'thumbsup' : 'thumbsdown', new vscode.ThemeColor('descriptionForeground'));
  return undefined;
}

export function voicesContext(v: TurnVoices): string[] {
  return [v.hermes ? (v.hermes.value === 1 ? 'hermesUp' : 'hermesDown') : '', v.disagree ? 'disagree' : ''].filter(Boolean);
}

/** Tooltip lines (as text, never Markdown): hermes' rating and who disagrees. */
export function appendVoicesTooltip(md: vscode.MarkdownString, v: TurnVoices): void {
  if (v.hermes) {
    const h = v.hermes;
    appendUntrustedBlock(
      md,
      `hermes-webui (feedback.jsonl): ${h.value === 1 ? '👍 thumbs up' : '👎 thumbs down'}` +
        `${h.reason ? `, reason ${h.reason}` : ''}${h.timestamp ? ` at ${h.timestamp}` : ''}`,
    );
  }
  if (v.disagree) appendUntrustedBlock(md, `Disagreement: ${v.disagree.map((x) => `${x.reviewer} ${x.value === 1 ? '👍' : '👎'}`).join(', ')}`);
}

export function voicesAccessibility(v: TurnVoices): string {
  return `${v.hermes ? ` hermes-webui rated thumbs ${v.hermes.value === 1 ? 'up' : 'down'}.` : ''}${v.disagree ? ' Reviewers disagree.' : ''}`;
}

/** Session description parts: "hermes 2 up 1 down", "1 disagreement". */
export function sessionVoices(s: SessionSummary): string[] {
  const parts: string[] = [];
  const up = s.hermesUp ?? 0;
  const down = s.hermesDown ?? 0;
  if (up + down > 0) parts.push(`hermes ${[up ? `${up} up` : '', down ? `${down} down` : ''].filter(Boolean).join(' ')}`);
  if (s.disagreements) parts.push(`${s.disagreements} disagreement${s.disagreements === 1 ? '' : 's'}`);
  return parts;
}
