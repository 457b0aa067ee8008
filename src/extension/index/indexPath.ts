import * as path from 'path';
import * as vscode from 'vscode';
import { DEFAULT_INDEX_NAME } from '../../core/sqlite/schema';
import { sessionsDirOf } from '../commandArgs';
import { SECTION, expandPath } from '../config';
import { notifyInfo, showPick } from '../untrustedText';

/**
 * The index file of a sessions folder: `botMemory.index.path` when set (absolute, or
 * relative to the sessions folder; `~` and `${env:NAME}` expanded), else
 * `<sessionsDir>/_audit_index.sqlite`.
 */
export function indexPathFor(sessionsDir: string): string {
  const configured = vscode.workspace.getConfiguration(SECTION).get<string>('index.path')?.trim();
  if (!configured) return path.join(sessionsDir, DEFAULT_INDEX_NAME);
  const p = expandPath(configured);
  return path.isAbsolute(p) ? p : path.resolve(sessionsDir, p);
}

/** The sessions folder a command is about: from its argument (a root node or a path), the only root, or a pick. */
export async function pickSessionsDir(roots: { sessionsDir: string; label: string }[], arg: unknown, title: string): Promise<string | undefined> {
  const given = sessionsDirOf(arg);
  if (given !== undefined) return given;
  if (roots.length === 0) {
    void notifyInfo('No sessions folder to index: add one first (Bot Memory: Add Sessions Folder…).');
    return undefined;
  }
  if (roots.length === 1) return roots[0].sessionsDir;
  const picked = await showPick(
    roots.map((r) => ({ label: r.label, description: r.sessionsDir, dir: r.sessionsDir })),
    { title },
  );
  return picked?.dir;
}
