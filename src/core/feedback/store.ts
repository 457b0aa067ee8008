/**
 * Reading and appending `_turn_feedback/<sid>.jsonl`.
 *
 * Reading reuses the journal's ShardReader: incremental by byte offset (a refresh after an
 * append parses only the new bytes), lines end at `\n` only, torn tails and garbage lines
 * are reported as problems and never stop the rest. Appending is one O_APPEND write of the
 * whole line plus fsync (appendLineDurable): safe with several processes appending at once.
 */

import type * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { appendLineDurable, openRead } from '../fsSafe';
import { DEFAULT_MAX_LINE_BYTES, ShardReader } from '../shardReader';
import { latestCorrections, latestPerTurn, type TurnCorrection, type TurnFeedback } from './latest';
import {
  FEEDBACK_DIR_NAME,
  feedbackDir,
  feedbackFilePath,
  formatCorrectionRecord,
  formatFeedbackRecord,
  parseCorrectionRecord,
  parseFeedbackRecord,
  type CorrectionRecord,
  type NewCorrection,
  sessionIdOfFeedbackFile,
  type FeedbackProblem,
  type FeedbackRecord,
  type NewFeedback,
} from './record';

/** Feedback lines are small; anything this long is garbage. */
export const FEEDBACK_MAX_LINE_BYTES = 1024 * 1024;

/** One session's feedback file, read incrementally. */
export class SessionFeedbackFile {
  private readonly reader: ShardReader;
  private converted = 0;
  private recordsList: FeedbackRecord[] = [];
  private invalid: FeedbackProblem[] = [];
  private latestCache: Map<string, TurnFeedback> | null = null;
  private correctionsList: CorrectionRecord[] = [];
  private correctionsCache: Map<string, TurnCorrection> | null = null;

  /**
   * @param filePath the file to read
   * @param name how records and problems name it: `_turn_feedback/<sid>.jsonl`
   */
  constructor(
    filePath: string,
    readonly name: string,
    maxLineBytes = FEEDBACK_MAX_LINE_BYTES,
  ) {
    this.reader = new ShardReader(filePath, name, { maxLineBytes: Math.min(maxLineBytes, DEFAULT_MAX_LINE_BYTES) });
  }

  static forSession(sessionsDir: string, sessionId: string): SessionFeedbackFile {
    return new SessionFeedbackFile(feedbackFilePath(sessionsDir, sessionId), `${FEEDBACK_DIR_NAME}/${sessionId}.jsonl`);
  }

  /** The file's own stat facts after the last refresh (ino 0: missing). */
  get fileInfo(): { size: number; mtimeMs: number; ino: number; error?: string } {
    const c = this.reader.contents;
    return { size: c.size, mtimeMs: c.mtimeMs, ino: c.ino, ...(c.error !== undefined ? { error: c.error } : {}) };
  }

  get path(): string {
    return this.reader.contents.path;
  }

  /** Reads what was appended since the last refresh. Returns whether anything changed. `stat`: see ShardReader.refresh. */
  async refresh(stat?: fs.Stats | null): Promise<boolean> {
    const r = await this.reader.refresh(stat);
    const c = this.reader.contents;
    if (r.mode === 'full') {
      this.converted = 0;
      this.recordsList = [];
      this.correctionsList = [];
      this.invalid = [];
    }
    if (r.mode === 'none') return false;
    const raws = await this.rawLines(this.converted);
    for (; this.converted < c.events.length; this.converted++) {
      const e = c.events[this.converted];
      if (e.data.type === 'correction') {
        const cor = parseCorrectionRecord(e.data, this.name, e.line);
        if (typeof cor === 'string')
          this.invalid.push({ file: this.name, line: e.line, offset: e.offset, length: e.length, detail: cor, preview: previewOf(e.data) });
        else this.correctionsList.push(cor);
        continue;
      }
      const rec = parseFeedbackRecord(e.data, this.name, e.line, raws.get(e.offset) ?? JSON.stringify(e.data));
      if (typeof rec === 'string')
        this.invalid.push({ file: this.name, line: e.line, offset: e.offset, length: e.length, detail: rec, preview: previewOf(e.data) });
      else this.recordsList.push(rec);
    }
    this.latestCache = null;
    this.correctionsCache = null;
    return true;
  }

  /** The raw text of the events from index `from` on (one read of their byte range). */
  private async rawLines(from: number): Promise<Map<number, string>> {
    const evs = this.reader.contents.events;
    const out = new Map<number, string>();
    if (from >= evs.length) return out;
    const start = evs[from].offset;
    const last = evs[evs.length - 1];
    const end = last.offset + last.length;
    try {
      const { fh } = await openRead(this.path);
      try {
        const buf = Buffer.alloc(end - start);
        await fh.read(buf, 0, buf.length, start);
        for (let i = from; i < evs.length; i++)
          out.set(
            evs[i].offset,
            buf
              .subarray(evs[i].offset - start, evs[i].offset - start + evs[i].length)
              .toString('utf8')
              .replace(/^\uFEFF/, ''),
          );
      } finally {
        await fh.close();
      }
    } catch {
      // Replaced meanwhile: the next refresh re-reads it; raw falls back to re-serialised JSON.
    }
    return out;
  }

  /** Valid records in file order (a torn final line is not one until its `\n` arrives). */
  get records(): readonly FeedbackRecord[] {
    return this.recordsList;
  }

  /** Valid correction records in file order. */
  get corrections(): readonly CorrectionRecord[] {
    return this.correctionsList;
  }

  /** Latest correction per turn (key: turn id); a withdrawn one has text ''. */
  latestCorrections(): Map<string, TurnCorrection> {
    if (!this.correctionsCache) this.correctionsCache = latestCorrections(this.correctionsList);
    return this.correctionsCache;
  }

  /** Lines that are not usable records: malformed, torn, or valid JSON of the wrong shape. */
  get problems(): FeedbackProblem[] {
    const c = this.reader.contents;
    const out: FeedbackProblem[] = [];
    if (c.error !== undefined && c.error !== 'no such file or folder')
      out.push({ file: this.name, line: 0, offset: 0, length: 0, detail: `cannot read: ${c.error}`, preview: '' });
    for (const m of c.malformed) out.push({ file: this.name, line: m.line, offset: m.offset, length: m.length, detail: m.detail, preview: m.preview });
    if (c.tail) {
      const m = c.tailMalformed;
      out.push({
        file: this.name,
        line: c.tail.line,
        offset: c.tail.offset,
        length: c.tail.length,
        detail: 'torn final line (no newline): not read until it is complete',
        preview: m?.preview ?? '',
      });
    }
    return [...out, ...this.invalid].sort((a, b) => a.line - b.line);
  }

  /** Latest state per turn of this session (key: turn id). */
  latest(): Map<string, TurnFeedback> {
    if (!this.latestCache) {
      const m = new Map<string, TurnFeedback>();
      for (const f of latestPerTurn(this.recordsList).values()) m.set(f.turnId, f);
      this.latestCache = m;
    }
    return this.latestCache;
  }

  /** (size, mtime, inode) for summary fingerprints; '-' when the file does not exist. */
  stamp(): string {
    const c = this.reader.contents;
    return c.ino === 0 ? '-' : `${c.size}:${c.mtimeMs}:${c.ino}`;
  }
}

function previewOf(data: Record<string, unknown>): string {
  const s = JSON.stringify(data);
  return s.length > 2048 ? s.slice(0, 2048) : s;
}

/** Appends a record durably and returns it as a reader will see it (line unknown: 0). */
export function appendFeedback(sessionsDir: string, f: NewFeedback): FeedbackRecord {
  const line = formatFeedbackRecord(f);
  const file = feedbackFilePath(sessionsDir, f.sessionId);
  // Confined to the sessions folder: a symbolic link at _turn_feedback/ or at the file is refused;
  // a torn last line is closed with "\n" first so this record is never glued onto it.
  appendLineDurable(file, line, { root: sessionsDir });
  const rec = parseFeedbackRecord(JSON.parse(line), `${FEEDBACK_DIR_NAME}/${f.sessionId}.jsonl`, 0, line);
  if (typeof rec === 'string') throw new Error(`internal: wrote an invalid feedback record (${rec})`);
  return rec;
}

/** Appends a correction record durably (same file and rules as ratings). */
export function appendCorrection(sessionsDir: string, c: NewCorrection): CorrectionRecord {
  const line = formatCorrectionRecord(c);
  appendLineDurable(feedbackFilePath(sessionsDir, c.sessionId), line);
  const rec = parseCorrectionRecord(JSON.parse(line), `${FEEDBACK_DIR_NAME}/${c.sessionId}.jsonl`, 0);
  if (typeof rec === 'string') throw new Error(`internal: wrote an invalid correction record (${rec})`);
  return rec;
}

/** `_turn_feedback/*.jsonl` files of a sessions folder whose names are session ids, by name. */
export async function listFeedbackSessions(sessionsDir: string): Promise<{ sessionId: string; name: string; path: string }[]> {
  let names: string[];
  try {
    names = await fsp.readdir(feedbackDir(sessionsDir));
  } catch {
    return [];
  }
  const out: { sessionId: string; name: string; path: string }[] = [];
  for (const n of names.sort()) {
    const sid = sessionIdOfFeedbackFile(n);
    if (sid !== null) out.push({ sessionId: sid, name: `${FEEDBACK_DIR_NAME}/${n}`, path: path.join(feedbackDir(sessionsDir), n) });
  }
  return out;
}

/** Every session's feedback of a folder, read once: latest per turn, records and problems. */
export async function readFolderFeedback(sessionsDir: string): Promise<Map<string, SessionFeedbackFile>> {
  const out = new Map<string, SessionFeedbackFile>();
  for (const f of await listFeedbackSessions(sessionsDir)) {
    const file = SessionFeedbackFile.forSession(sessionsDir, f.sessionId);
    await file.refresh();
    out.set(f.sessionId, file);
  }
  return out;
}
