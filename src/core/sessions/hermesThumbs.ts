/**
 * hermes-webui's own thumbs (`feedback.jsonl`, FORMATS.md §6) as the index keeps them: the file
 * of each root (the setting, else beside the sessions folder; `off` reads none), re-read only when
 * its (size, mtime, inode) changed, grouped by session; each session's records matched to its
 * turns (core/feedback/hermes.ts) whenever the session is analysed. Read-only: never written.
 */

import { promises as fsp } from 'fs';
import * as path from 'path';
import type { SessionAnalysis } from '../analyze';
import { defaultHermesFeedbackPath, hermesBySession, matchHermesFeedback, readHermesFeedbackFile, type HermesFeedback } from '../feedback/hermes';
import { latestPerTurn, type TurnFeedback } from '../feedback/latest';
import { deleteRoot, key } from './keys';
import { hashText } from './reviewState';

interface FileEntry {
  stamp: string;
  /** When the stamp was last checked (performance.now()). */
  checked?: number;
  bySession: Map<string, HermesFeedback[]>;
  /** Per session: a short stable text of its records (it goes into the session's fingerprint). */
  hashBySession: Map<string, string>;
}

const EMPTY: ReadonlyMap<string, TurnFeedback> = new Map();

export class HermesThumbs {
  /** '' = beside each sessions folder, 'off' = none, else one file for every root. */
  private setting = '';
  private readonly files = new Map<string, FileEntry>();
  private readonly reading = new Map<string, Promise<FileEntry>>();
  /** Latest hermes-webui rating per turn id, per (root, session), as last matched. */
  private readonly matched = new Map<string, ReadonlyMap<string, TurnFeedback>>();
  /** fileFor's answer per sessions folder (asked twice per summary; path.resolve is not free). */
  private readonly fileBySessionsDir = new Map<string, string | null>();

  /** Returns true when the file to read changed. */
  configure(setting: string | undefined): boolean {
    const next = (setting ?? '').trim();
    if (next === this.setting) return false;
    this.setting = next;
    this.fileBySessionsDir.clear();
    this.files.clear();
    this.matched.clear();
    return true;
  }

  /** The feedback.jsonl read for a sessions folder, or null when reading is off. */
  fileFor(sessionsDir: string): string | null {
    let file = this.fileBySessionsDir.get(sessionsDir);
    if (file === undefined) {
      file = this.setting === 'off' ? null : this.setting ? path.resolve(this.setting) : defaultHermesFeedbackPath(sessionsDir);
      this.fileBySessionsDir.set(sessionsDir, file);
    }
    return file;
  }

  /** The part of a session's fingerprint that changes when its hermes records do. */
  async fingerprintPart(sessionsDir: string, sessionId: string, reuseWithinMs = 0): Promise<string> {
    return (await this.sessionsOf(sessionsDir, reuseWithinMs))(sessionId).part;
  }

  /** Matches the session's records to the analysis' turns; keeps and returns the latest per turn id. */
  async match(rootId: string, sessionsDir: string, analysis: SessionAnalysis, reuseWithinMs = 0): Promise<ReadonlyMap<string, TurnFeedback>> {
    const byTurn = latestHermesByTurn((await this.sessionsOf(sessionsDir, reuseWithinMs))(analysis.sessionId).records, analysis);
    this.setMatched(rootId, analysis.sessionId, byTurn);
    return byTurn;
  }

  /**
   * For a batch of summaries matched elsewhere (a summary worker): each session's records (undefined: none) and
   * fingerprint part (`fingerprintPart`'s text), from one look at the file.
   */
  async sessionsOf(sessionsDir: string, reuseWithinMs = 0): Promise<(sessionId: string) => { records?: HermesFeedback[]; part: string }> {
    const entry = await this.entry(sessionsDir, reuseWithinMs);
    return (sid) => {
      const h = entry?.hashBySession.get(sid);
      return { records: entry?.bySession.get(sid), part: h ? `|hermes:${h}` : '' };
    };
  }

  /** Keeps a match made elsewhere (latestHermesByTurn's answer), as `match` keeps its own. */
  setMatched(rootId: string, sessionId: string, byTurn: ReadonlyMap<string, TurnFeedback>): void {
    if (byTurn.size === 0) this.matched.delete(key(rootId, sessionId));
    else this.matched.set(key(rootId, sessionId), byTurn);
  }

  /** The latest hermes-webui rating per turn id as last matched (no disk access). */
  get(rootId: string, sessionId: string): ReadonlyMap<string, TurnFeedback> {
    return this.matched.get(key(rootId, sessionId)) ?? EMPTY;
  }

  delete(rootId: string, sessionId: string): void {
    this.matched.delete(key(rootId, sessionId));
  }

  deleteRoot(rootId: string): void {
    deleteRoot(this.matched, rootId);
  }

  /** The next look at this file checks its stamp again (it changed). */
  forget(file: string): void {
    const c = this.files.get(file);
    if (c) c.checked = -Infinity;
  }

  /**
   * The file's records, re-read when its stamp changed (an async lstat; the read is fsSafe's, regular files only).
   * `reuseWithinMs`: a stamp checked this recently is not checked again (background summaries in a batch).
   */
  private async entry(sessionsDir: string, reuseWithinMs = 0): Promise<FileEntry | undefined> {
    const file = this.fileFor(sessionsDir);
    if (!file) return undefined;
    const recent = this.files.get(file);
    if (recent && reuseWithinMs > 0 && performance.now() - (recent.checked ?? -Infinity) < reuseWithinMs) return recent;
    const st = await fsp.lstat(file).catch(() => null);
    const stamp = st ? `${st.size}:${st.mtimeMs}:${st.ino}` : '-';
    const cached = this.files.get(file);
    if (cached?.stamp === stamp) {
      cached.checked = performance.now();
      return cached;
    }
    if (stamp === '-') {
      const empty = { stamp, checked: performance.now(), bySession: new Map(), hashBySession: new Map() };
      this.files.set(file, empty);
      return empty;
    }
    const inflight = this.reading.get(file);
    if (inflight) return inflight;
    const p = readEntry(file, stamp).finally(() => this.reading.delete(file));
    this.reading.set(file, p);
    const entry = await p;
    entry.checked = performance.now();
    this.files.set(file, entry);
    return entry;
  }
}

/** hermes-webui's latest rating per turn id of the analysis, from the session's records (`match`'s answer). */
export function latestHermesByTurn(records: readonly HermesFeedback[] | undefined, analysis: SessionAnalysis): ReadonlyMap<string, TurnFeedback> {
  if (!records?.length) return EMPTY;
  const byTurn = new Map<string, TurnFeedback>();
  for (const f of latestPerTurn(matchHermesFeedback(records, analysis).records).values()) byTurn.set(f.turnId, f);
  return byTurn;
}

async function readEntry(file: string, stamp: string): Promise<FileEntry> {
  const read = await readHermesFeedbackFile(file);
  const bySession = hermesBySession(read.records);
  const hashBySession = new Map<string, string>();
  for (const [sid, recs] of bySession) {
    const text = recs.map((r) => `${r.line}:${r.ts}:${r.rating}:${r.index}:${r.messageId}:${r.reason}`).join(';');
    hashBySession.set(sid, `${recs.length}:${hashText(text)}`);
  }
  return { stamp, bySession, hashBySession };
}
