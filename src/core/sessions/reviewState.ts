/**
 * What reviewers said about a session, as the index keeps it: the feedback file of each
 * session (read incrementally) and, per root, the reviews recorded in the repair log.
 */

import type * as fs from 'fs';
import { promises as fsp } from 'fs';
import type { TurnFeedback } from '../feedback/latest';
import { SessionFeedbackFile } from '../feedback/store';
import { readText } from '../fsSafe';
import { knownReviews, parseRepairLog, repairLogPath, type KnownReviews } from '../repair/log';
import { deleteRoot, key } from './keys';

/** Each session's `_turn_feedback/<sid>.jsonl` reader, kept to re-read only appended records. */
export class FeedbackFiles {
  private readonly files = new Map<string, SessionFeedbackFile>();

  /** Re-reads what was appended to a session's feedback file; returns the latest per turn id. `stat`: see ShardReader.refresh. */
  async refresh(rootId: string, sessionsDir: string, sessionId: string, stat?: fs.Stats | null): Promise<ReadonlyMap<string, TurnFeedback>> {
    const k = key(rootId, sessionId);
    let f = this.files.get(k);
    if (!f) {
      f = SessionFeedbackFile.forSession(sessionsDir, sessionId);
      this.files.set(k, f);
    }
    await f.refresh(stat);
    return f.latest();
  }

  /** The reader, if the file was read. */
  get(rootId: string, sessionId: string): SessionFeedbackFile | undefined {
    return this.files.get(key(rootId, sessionId));
  }

  has(rootId: string, sessionId: string): boolean {
    return this.files.has(key(rootId, sessionId));
  }

  delete(rootId: string, sessionId: string): void {
    this.files.delete(key(rootId, sessionId));
  }

  deleteRoot(rootId: string): void {
    deleteRoot(this.files, rootId);
  }
}

export interface RootReviews {
  known: KnownReviews;
  /** Per session: a stable text of its reviews (it goes into the session's fingerprint). */
  bySession: Map<string, string>;
}

/** The reviews of each root's repair log, re-read only when the log changed. */
export class RepairReviews {
  private readonly cache = new Map<string, RootReviews & { stamp: string; checked: number }>();

  /** `reuseWithinMs`: a log checked (lstat) this recently is not checked again (background summaries in a batch). */
  async of(rootId: string, sessionsDir: string, reuseWithinMs = 0): Promise<RootReviews> {
    const recent = this.cache.get(rootId);
    if (recent && reuseWithinMs > 0 && performance.now() - recent.checked < reuseWithinMs) return recent;
    const { stamp, read } = await repairLogReader(sessionsDir);
    const cached = this.cache.get(rootId);
    if (cached && cached.stamp === stamp) {
      cached.checked = performance.now();
      return cached;
    }
    const known = (await read()) ?? { lines: new Map(), collisions: new Map() };
    const bySession = new Map<string, string>();
    const add = (sid: string, part: string) => bySession.set(sid, (bySession.get(sid) ?? '') + part);
    for (const [k, v] of [...known.lines].sort()) add(k.split('\0')[0], `${k}=${v.repairId};`);
    for (const [k, v] of [...known.collisions].sort()) add(k.split('\0')[0], `${k}=${[...v.events].join(',')}:${v.at};`);
    const entry = { stamp, known, bySession, checked: performance.now() };
    this.cache.set(rootId, entry);
    return entry;
  }

  deleteRoot(rootId: string): void {
    this.cache.delete(rootId);
  }

  /** The next call checks the log again (it changed). */
  forget(rootId: string): void {
    const c = this.cache.get(rootId);
    if (c) c.checked = -Infinity;
  }
}

/**
 * The one place the index reads the repair log. Never blocks the extension host: the stamp is
 * an async lstat, and the content is read only from a regular file, opened non-blocking
 * (fsSafe.readText: a FIFO, device or symbolic link there is refused, not waited on).
 * `read()` resolves to undefined when there is no log or it cannot be read.
 */
export async function repairLogReader(sessionsDir: string): Promise<{ stamp: string; read: () => Promise<KnownReviews | undefined> }> {
  const file = repairLogPath(sessionsDir);
  const st = await fsp.lstat(file).catch(() => null);
  if (!st) return { stamp: '-', read: async () => undefined };
  const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
  return {
    stamp,
    read: () =>
      readText(file).then(
        (text) => knownReviews(parseRepairLog(text)),
        () => undefined,
      ),
  };
}

/** FNV-1a of a text, as hex (short and stable, for fingerprints). */
export function hashText(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

/** The reviews part of a session's fingerprint, from its text in RootReviews.bySession. */
export function reviewsPart(text: string | undefined): string {
  return text ? `|reviews:${text.length}:${hashText(text)}` : '';
}

const knownBySession = new WeakMap<KnownReviews, Map<string, KnownReviews>>();

/**
 * The repair log's reviews of one session (undefined: none): the entries whose key starts with its id, all that
 * markReviewedFindings reads for it (a summary worker gets these, not the whole log). Split once per log read.
 */
export function knownOfSession(known: KnownReviews, sessionId: string): KnownReviews | undefined {
  let split = knownBySession.get(known);
  if (!split) {
    const m = new Map<string, KnownReviews>();
    const of = (k: string) => {
      const sid = k.slice(0, k.indexOf('\0'));
      let r = m.get(sid);
      if (!r) m.set(sid, (r = { lines: new Map(), collisions: new Map() }));
      return r;
    };
    for (const [k, v] of known.lines) of(k).lines.set(k, v);
    for (const [k, v] of known.collisions) of(k).collisions.set(k, v);
    knownBySession.set(known, (split = m));
  }
  return split.get(sessionId);
}
