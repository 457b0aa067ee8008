/** How sessions and turns look: icons, colours, descriptions, tooltips. No state. */

import * as vscode from 'vscode';
import type { Turn } from '../../core/analyze';
import type { TurnFeedback } from '../../core/feedback/latest';
import type { SessionSummary } from '../../core/sessionIndex';
import type { MalformedLine, Severity } from '../../core/types';
import { appendUntrustedBlock, escapeMarkdownInline, plainText, untrustedMarkdown } from '../untrustedText';
import { plural } from '../words';
import { sessionVoices } from './feedbackPresentation';

export { plural };

export function severityIcon(worst: Severity | null): vscode.ThemeIcon {
  switch (worst) {
    case 'error':
      return new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
    case 'warning':
      return new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
    case 'info':
      return new vscode.ThemeIcon('info', new vscode.ThemeColor('problemsInfoIcon.foreground'));
    default:
      return new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
  }
}

export function sessionDescription(s: SessionSummary, now = Date.now() / 1000): string {
  const issues = s.findings.error + s.findings.warning;
  const parts = [plural(s.turns, 'turn')];
  if (s.open > 0) parts.push(`${s.open} open`);
  if (s.reviewed > 0) parts.push(`${s.reviewed}/${s.reviewable} reviewed`);
  parts.push(...sessionVoices(s));
  if (issues > 0) parts.push(plural(issues, 'issue'));
  // When it last changed (its latest event), last: the counts stay where the eye expects them.
  if (s.lastActivity !== null) parts.push(relativeTime(s.lastActivity, now));
  return parts.join(' · ');
}

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago", else the date (UTC). */
export function relativeTime(epochSeconds: number, now: number): string {
  const d = now - epochSeconds;
  if (!Number.isFinite(d)) return 'unknown';
  if (d < -60) return formatTime(epochSeconds).slice(0, 10);
  if (d < 60) return 'just now';
  if (d < 3600) return `${Math.floor(d / 60)} min ago`;
  if (d < 86400) return `${Math.floor(d / 3600)} h ago`;
  if (d < 2 * 86400) return 'yesterday';
  if (d < 30 * 86400) return `${Math.floor(d / 86400)} days ago`;
  return formatTime(epochSeconds).slice(0, 10);
}

export function formatTime(epochSeconds: number | null): string {
  if (epochSeconds === null) return 'unknown';
  const d = new Date(epochSeconds * 1000);
  return Number.isNaN(d.getTime())
    ? 'unknown'
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC');
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '';
  if (seconds < 0) return `−${formatDuration(-seconds)}`;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

/** Markdown with every untrusted string escaped (titles and models come from bot files). */
export function sessionTooltip(s: SessionSummary, sessionsDir: string): vscode.MarkdownString {
  const md = untrustedMarkdown();
  md.appendMarkdown(`**${escapeMarkdownInline(s.title ?? s.sessionId, 200)}**\n\n`);
  const rows: [string, string][] = [
    ['Session', s.sessionId],
    ['Model', s.model ?? '—'],
    ['Shards', s.shards.join(', ')],
    ['First activity', formatTime(s.firstActivity)],
    ['Last activity', formatTime(s.lastActivity)],
    ['Turns', `${s.turns} (${s.open} open)`],
    ['Events', String(s.events)],
    ['Collisions', String(s.collisions)],
    ['Broken lines', String(s.malformed)],
    ['Findings', `${plural(s.findings.error, 'error')}, ${plural(s.findings.warning, 'warning')}, ${s.findings.info} info`],
    ['Reviewed', `${s.reviewed ?? 0} of ${s.reviewable ?? 0} completed turns (${s.thumbsUp ?? 0} up, ${s.thumbsDown ?? 0} down)`],
    ['Folder', sessionsDir],
  ];
  if (s.hermesUp || s.hermesDown || s.disagreements)
    rows.splice(-1, 0, ['hermes-webui', `${s.hermesUp ?? 0} up, ${s.hermesDown ?? 0} down · ${s.disagreements ?? 0} turns with a disagreement`]);
  md.appendMarkdown(rows.map(([k, v]) => `${k}: ${escapeMarkdownInline(v, 400)}`).join('  \n'));
  return md;
}

export interface TurnLook {
  icon: vscode.ThemeIcon;
  /** Words for the state, used in the description and for screen readers. */
  words: string;
}

export function turnLook(t: Turn, dangling: boolean): TurnLook {
  if (t.collision)
    return {
      icon: new vscode.ThemeIcon('git-compare', new vscode.ThemeColor('problemsErrorIcon.foreground')),
      words: `collision: ${t.collision.map((e) => e.name).join(' + ')}`,
    };
  if (t.state === 'completed') return { icon: new vscode.ThemeIcon('check', new vscode.ThemeColor('testing.iconPassed')), words: 'completed' };
  if (t.state === 'interrupted')
    return {
      icon: new vscode.ThemeIcon('debug-stop', new vscode.ThemeColor('problemsWarningIcon.foreground')),
      words: `interrupted${t.reason ? ` (${t.reason})` : ''}`,
    };
  if (t.live) return { icon: new vscode.ThemeIcon('sync~spin'), words: `running (${t.state})` };
  if (dangling) return { icon: new vscode.ThemeIcon('watch', new vscode.ThemeColor('problemsWarningIcon.foreground')), words: `dangling at ${t.state}` };
  return { icon: new vscode.ThemeIcon('circle-large-outline'), words: `open at ${t.state}` };
}

/** First line of a message, shortened, with control and bidi characters made visible. */
export function firstLine(text: string | null, max = 80): string {
  if (text === null || text.trim() === '') return '(no user message)';
  const line = text.trim().split(/\r?\n|\r|\u2028|\u2029|\u0085/, 1)[0];
  return plainText(line, max);
}

export function malformedLabel(m: MalformedLine): string {
  const what = m.torn ? 'torn tail' : m.glued ? 'glued event' : m.kind.replace('_', ' ');
  return `${plainText(m.shard, 120)}:${m.line} · ${what}`;
}

export function feedbackIcon(rated: 'up' | 'down'): vscode.ThemeIcon {
  return rated === 'up'
    ? new vscode.ThemeIcon('thumbsup', new vscode.ThemeColor('testing.iconPassed'))
    : new vscode.ThemeIcon('thumbsdown', new vscode.ThemeColor('problemsErrorIcon.foreground'));
}

/** The rating, reviewer, time, tags and note (untrusted text: appended as text, never Markdown). */
export function appendFeedbackTooltip(md: vscode.MarkdownString, f: TurnFeedback): void {
  const what = f.value === 1 ? '👍 thumbs up' : f.value === -1 ? '👎 thumbs down' : 'rating cleared';
  appendUntrustedBlock(
    md,
    `Feedback: ${what} by ${f.reviewer ?? 'unknown'}${f.timestamp ? ` at ${f.timestamp}` : ''}${f.history.length > 1 ? ` (${f.history.length} records)` : ''}`,
  );
  if (f.tags?.length) appendUntrustedBlock(md, `Tags: ${f.tags.join(', ')}`);
  if (f.note) appendUntrustedBlock(md, f.note, 1000);
}
