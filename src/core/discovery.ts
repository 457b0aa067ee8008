/**
 * Finding the sessions of a sessions folder: every `<sid>~*.jsonl` shard plus the legacy
 * `<sid>.jsonl` in `_turn_journal/`. Files whose names break the session-id rule are
 * reported, not read. A symbolic link is followed only when it resolves to a regular file
 * inside the journal folder; anything else (outside, a loop, dangling) is reported.
 */

import { promises as fsp } from 'fs';
import * as path from 'path';
import { JOURNAL_DIR_NAME, compareNames, parseShardFileName } from './sessionId';
import { describeFsError } from './shardReader';

export interface ShardFile {
  name: string;
  path: string;
  /** Text after `~`, or null for the legacy `<sid>.jsonl`. */
  tag: string | null;
}

export interface DiscoveredSession {
  sessionId: string;
  /** Shards in the documented order: by file name, byte-wise (legacy file first). */
  shards: ShardFile[];
}

export interface SkippedFile {
  name: string;
  path: string;
  reason: string;
}

export interface Discovery {
  sessionsDir: string;
  journalDir: string;
  sessions: DiscoveredSession[];
  skipped: SkippedFile[];
}

export class DiscoveryError extends Error {}

/**
 * Accepts the sessions folder (holding `_turn_journal/`) or the `_turn_journal` folder itself.
 */
export function resolveSessionsDir(dir: string): { sessionsDir: string; journalDir: string } {
  const abs = path.resolve(dir);
  if (path.basename(abs) === JOURNAL_DIR_NAME) return { sessionsDir: path.dirname(abs), journalDir: abs };
  return { sessionsDir: abs, journalDir: path.join(abs, JOURNAL_DIR_NAME) };
}

export async function discoverSessions(dir: string): Promise<Discovery> {
  const { sessionsDir, journalDir } = resolveSessionsDir(dir);
  let st;
  try {
    st = await fsp.stat(sessionsDir);
  } catch (err) {
    throw new DiscoveryError(`cannot read sessions folder ${sessionsDir}: ${describeFsError(err)}`);
  }
  if (!st.isDirectory()) throw new DiscoveryError(`${sessionsDir} is not a folder`);
  let entries;
  try {
    entries = await fsp.readdir(journalDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return { sessionsDir, journalDir, sessions: [], skipped: [] };
    }
    throw new DiscoveryError(`cannot read ${journalDir}: ${describeFsError(err)}`);
  }
  const realJournal = await fsp.realpath(journalDir);
  const bySession = new Map<string, ShardFile[]>();
  const skipped: SkippedFile[] = [];
  for (const entry of entries) {
    const name = entry.name;
    const full = path.join(journalDir, name);
    if (!name.endsWith('.jsonl')) continue; // temp files, backups, notes: not journal shards
    if (entry.isDirectory()) {
      skipped.push({ name, path: full, reason: 'a folder, not a shard file' });
      continue;
    }
    const parsed = parseShardFileName(name);
    if (!parsed.ok) {
      skipped.push({ name, path: full, reason: parsed.reason });
      continue;
    }
    if (entry.isSymbolicLink()) {
      const problem = await checkSymlink(full, realJournal);
      if (problem !== null) {
        skipped.push({ name, path: full, reason: problem });
        continue;
      }
    } else if (!entry.isFile()) {
      skipped.push({ name, path: full, reason: 'not a regular file' });
      continue;
    }
    const list = bySession.get(parsed.sessionId) ?? [];
    list.push({ name, path: full, tag: parsed.tag });
    bySession.set(parsed.sessionId, list);
  }
  const sessions = [...bySession.entries()]
    .sort(([a], [b]) => compareNames(a, b))
    .map(([sessionId, shards]) => ({ sessionId, shards: shards.sort((a, b) => compareNames(a.name, b.name)) }));
  skipped.sort((a, b) => compareNames(a.name, b.name));
  return { sessionsDir, journalDir, sessions, skipped };
}

async function checkSymlink(full: string, realJournal: string): Promise<string | null> {
  let target: string;
  try {
    target = await fsp.realpath(full);
  } catch (err) {
    return `symbolic link that cannot be resolved (${describeFsError(err)})`;
  }
  const rel = path.relative(realJournal, target);
  if (rel.startsWith('..') || path.isAbsolute(rel) || rel === '') {
    return 'symbolic link that leads outside the journal folder';
  }
  // A link to another shard of this folder would be read twice (a false collision) and, if it
  // has our own shard's name, written through into another process's shard: never followed.
  if (path.dirname(target) === realJournal && parseShardFileName(path.basename(target)).ok) {
    return `symbolic link to another shard of this folder (${path.basename(target)}); read once, under its own name`;
  }
  try {
    const st = await fsp.stat(target);
    if (!st.isFile()) return 'symbolic link to something that is not a regular file';
  } catch (err) {
    return `symbolic link that cannot be followed (${describeFsError(err)})`;
  }
  return null;
}

/** Folders the workspace walk never enters (as VS Code's own search skips them by default). */
const WALK_SKIPPED: ReadonlySet<string> = new Set(['node_modules', '.git']);

/**
 * Sessions folders (folders holding a real `_turn_journal/` folder) at most `maxDepth` levels
 * below `top` (0 = `top` itself), breadth first, reading at most `maxDirs` folders. Links are
 * never followed; unreadable folders are skipped. What a workspace's file search may miss
 * (it can answer before its index is ready, and skips empty journal folders) is found here.
 */
export async function findSessionsFolders(top: string, maxDepth = 3, maxDirs = 2000): Promise<string[]> {
  const found: string[] = [];
  let level = [path.resolve(top)];
  let read = 0;
  for (let depth = 0; depth <= maxDepth && level.length; depth++) {
    const next: string[] = [];
    for (const dir of level) {
      if (read++ >= maxDirs) return found.sort(compareNames);
      let entries;
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        continue;
      }
      for (const e of entries.sort((x, y) => compareNames(x.name, y.name))) {
        if (!e.isDirectory()) continue; // a link to a folder is a link (withFileTypes does not follow)
        if (e.name === JOURNAL_DIR_NAME) found.push(dir);
        else if (!WALK_SKIPPED.has(e.name)) next.push(path.join(dir, e.name));
      }
    }
    level = next;
  }
  return found.sort(compareNames);
}
