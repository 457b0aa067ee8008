import * as vscode from 'vscode';

export const TIMELINE_SECTION = 'botMemory.timeline';

export interface TimelineSettings {
  /** Sessions larger than this (all shards together) open in pages. */
  maxSessionBytes: number;
}

export function timelineSettings(): TimelineSettings {
  const mb = vscode.workspace.getConfiguration(TIMELINE_SECTION).get<unknown>('maxSessionMB');
  const value = typeof mb === 'number' && Number.isFinite(mb) && mb > 0 ? mb : 200;
  return { maxSessionBytes: Math.floor(value * 1024 * 1024) };
}
