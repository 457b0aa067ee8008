/**
 * Why 👎: the reasons of `botMemory.feedback.reasons` (upstream hermes-webui's list by default),
 * one quick pick used by "Give Feedback on Turn…" and the timeline's 👎 (button and key `-`).
 * The first item rates without a reason (Enter at once); Escape cancels: nothing is rated.
 */

import * as vscode from 'vscode';
import { DEFAULT_REASONS } from '../../core/feedback/record';
import { showPick } from '../untrustedText';

/** The configured reasons (a wrong type or an empty list falls back to upstream's). */
export function configuredReasons(): string[] {
  const v = vscode.workspace.getConfiguration('botMemory.feedback').get<unknown>('reasons');
  const list = Array.isArray(v) ? v.filter((r): r is string => typeof r === 'string' && r.trim() !== '').map((r) => r.trim()) : [];
  return list.length ? list : [...DEFAULT_REASONS];
}

const asked = new vscode.EventEmitter<void>();
/** Fires when the reason pick is shown (integration tests wait on it before choosing). */
export const onDidAskReason = asked.event;

/** A reason, null for "no reason", undefined when the reviewer pressed Escape (cancel). */
export async function pickReason(title = 'Thumbs down: why? (Escape cancels)'): Promise<string | null | undefined> {
  const shown = showPick([{ label: '(no reason)', r: null as string | null }, ...configuredReasons().map((r) => ({ label: r, r }))], {
    title,
    placeHolder: 'Pick a reason, or Enter for none',
  });
  asked.fire();
  const picked = await shown;
  return picked ? picked.r : undefined;
}
