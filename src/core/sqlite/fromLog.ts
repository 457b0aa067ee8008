/**
 * Replaying a downloaded GitHub interaction log (`data/interactions.jsonl`) into the index:
 * every line, not just the last 500.
 *
 * Lines: `{"type":"interaction","version":1,"id":"<sid>/<tid>","session_id","turn_id","state",
 * "created_at","completed_at","model","model_provider","user","assistant","reason"?}` become
 * turns (source 'log') and sessions; feedback records (the turn format, or the legacy
 * session-level correction) go to `feedback`. A repeated interaction replaces the earlier
 * one (the log is append-only, the later line is newer) and is reported. Anything else is a
 * malformed row plus a finding; nothing aborts the replay.
 */

import { isUtf8 } from 'buffer';
import { openRead } from '../fsSafe';
import * as path from 'path';
import { isValidSessionId } from '../sessionId';
import { parseFeedbackRecord } from '../feedback/read';
import type { IndexWriter, LogTurnRow } from './writer';

interface SessionAgg {
  model: string | null;
  modelProvider: string | null;
  first: number | null;
  last: number | null;
  findings: { error: number; warning: number; info: number };
  findingOrdinal: number;
}

/** Lines of a file with byte offsets, read in chunks (a `\r` before `\n` is dropped). */
export async function* readLines(
  file: string,
  chunkBytes = 1 << 20,
): AsyncGenerator<{ line: number; offset: number; length: number; text: string; bytes: Buffer }> {
  const { fh } = await openRead(file, { followSymlink: true }); // never a FIFO or device
  try {
    let carry = Buffer.alloc(0);
    let pos = 0;
    let lineStart = 0;
    let line = 0;
    const chunk = Buffer.allocUnsafe(chunkBytes);
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
      pos += bytesRead;
      const data = bytesRead === 0 ? carry : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let i = 0;
      for (;;) {
        const nl = data.indexOf(10, i);
        if (nl === -1) break;
        let bytes = data.subarray(i, nl);
        if (bytes.length && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
        line++;
        yield { line, offset: lineStart, length: nl - i, text: bytes.toString('utf8'), bytes };
        lineStart += nl - i + 1;
        i = nl + 1;
      }
      carry = Buffer.from(data.subarray(i));
      if (bytesRead === 0) {
        if (carry.length > 0) {
          line++;
          yield { line, offset: lineStart, length: carry.length, text: carry.toString('utf8'), bytes: carry };
        }
        return;
      }
    }
  } finally {
    await fh.close();
  }
}

function epoch(v: unknown): number | null | undefined {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t / 1000;
  }
  return undefined;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

type LogLine = { line: number; offset: number; length: number; text: string; bytes: Buffer };

export async function replayLog(
  file: string,
  writer: IndexWriter,
): Promise<{ lines: number; sessions: number; interactions: number; feedback: number; problems: number }> {
  const r = new LogReplay(path.basename(file), writer);
  for await (const l of readLines(file)) r.line(l);
  const sessions = r.writeTurnsAndSessions();
  return { lines: r.lines, sessions, interactions: r.turns.size, feedback: r.feedback, problems: r.problems };
}

/** One replay of a log: each line read in order (`line`), then the turns and sessions written (`writeTurnsAndSessions`). */
class LogReplay {
  readonly turns = new Map<string, LogTurnRow>();
  private readonly sessions = new Map<string, SessionAgg>();
  lines = 0;
  feedback = 0;
  problems = 0;
  private globalOrdinal = 0;

  constructor(
    private readonly name: string,
    private readonly writer: IndexWriter,
  ) {}

  /** One line: a feedback record, an interaction, or a problem (malformed + finding). */
  line(l: LogLine): void {
    this.lines++;
    if (l.text.trim() === '') return;
    const o = this.parseObject(l);
    if (o === null) return;
    if (o.type === 'feedback' || o.type === 'turn_feedback') this.feedbackLine(l, o);
    else if (o.type !== 'interaction') this.bad(l, `unknown record type ${JSON.stringify(o.type)}`, 'not_a_record');
    else this.interactionLine(l, o);
  }

  /** The line as a JSON object, or null (reported) when it is not one. */
  private parseObject(l: LogLine): Record<string, unknown> | null {
    if (!isUtf8(l.bytes)) {
      this.bad(l, 'invalid UTF-8', 'invalid_utf8');
      return null;
    }
    let v: unknown;
    try {
      v = JSON.parse(l.text);
    } catch (e) {
      this.bad(l, `not JSON: ${(e as Error).message}`, 'not_json');
      return null;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.bad(l, 'valid JSON but not an object', 'not_object');
      return null;
    }
    return v as Record<string, unknown>;
  }

  private feedbackLine(l: LogLine, o: Record<string, unknown>): void {
    // Pushes write per-turn feedback as `turn_feedback` (docs/github-log.md); it is the same record.
    const r = parseFeedbackRecord(o.type === 'feedback' ? o : { ...o, type: 'feedback' }, this.name, l.line, l.text);
    if (typeof r === 'string') this.bad(l, r, 'not_a_record', typeof o.session_id === 'string' && isValidSessionId(o.session_id) ? o.session_id : null);
    else {
      this.writer.writeFeedback(r);
      this.feedback++;
    }
  }

  /** An interaction: checked, its times read, kept as its turn (a repeated one replaces the earlier). */
  private interactionLine(l: LogLine, o: Record<string, unknown>): void {
    const sid = o.session_id;
    const tid = o.turn_id;
    if (typeof sid !== 'string' || !isValidSessionId(sid)) return this.bad(l, 'session_id is missing or not a valid session id', 'not_a_record');
    if (typeof tid !== 'string' || tid.trim() === '') return this.bad(l, 'turn_id is missing', 'not_a_record', sid);
    if (o.version !== 1)
      this.finding(sid, 'info', 'unknown_log_version', `interaction version ${JSON.stringify(o.version)} (expected 1); read as version 1`, l, tid);
    const created = epoch(o.created_at);
    const completed = epoch(o.completed_at);
    if (created === undefined) this.finding(sid, 'warning', 'invalid_created_at', `created_at ${JSON.stringify(o.created_at)} is not a time`, l, tid);
    if (completed === undefined) this.finding(sid, 'warning', 'invalid_created_at', `completed_at ${JSON.stringify(o.completed_at)} is not a time`, l, tid);
    const key = `${sid}\u0000${tid}`;
    const prev = this.turns.get(key);
    if (prev) this.finding(sid, 'info', 'duplicate_interaction', `interaction ${sid}/${tid} appears again; the later line wins`, l, tid);
    const row: LogTurnRow = {
      sessionId: sid,
      turnId: tid,
      ordinal: prev ? prev.ordinal : this.turns.size,
      state: typeof o.state === 'string' && o.state !== '' ? o.state : 'unknown',
      model: str(o.model),
      modelProvider: str(o.model_provider),
      user: str(o.user),
      assistant: str(o.assistant),
      reason: str(o.reason),
      startedAt: created ?? null,
      completedAt: completed ?? null,
    };
    this.turns.set(key, row);
    this.addToSession(row);
  }

  private addToSession(row: LogTurnRow): void {
    const s = this.session(row.sessionId);
    if (row.model) s.model = row.model;
    if (row.modelProvider) s.modelProvider = row.modelProvider;
    for (const t of [row.startedAt, row.completedAt]) {
      if (t === null) continue;
      if (s.first === null || t < s.first) s.first = t;
      if (s.last === null || t > s.last) s.last = t;
    }
  }

  private session(sid: string): SessionAgg {
    let s = this.sessions.get(sid);
    if (!s)
      this.sessions.set(
        sid,
        (s = { model: null, modelProvider: null, first: null, last: null, findings: { error: 0, warning: 0, info: 0 }, findingOrdinal: 0 }),
      );
    return s;
  }

  private finding(
    sid: string | null,
    severity: 'error' | 'warning' | 'info',
    kind: string,
    message: string,
    at: { line: number; offset: number },
    turnId?: string,
  ): void {
    let ordinal = this.globalOrdinal++;
    if (sid !== null) {
      const s = this.session(sid);
      ordinal = s.findingOrdinal++;
      s.findings[severity]++;
    }
    this.writer.writeFinding({ sessionId: sid, ordinal, source: 'log', kind, severity, turnId, shard: this.name, line: at.line, offset: at.offset, message });
  }

  private bad(l: LogLine, detail: string, kind: string, sid: string | null = null): void {
    this.problems++;
    this.writer.writeMalformed({
      sessionId: sid,
      shard: this.name,
      line: l.line,
      offset: l.offset,
      length: l.length,
      kind,
      torn: false,
      gluedEvent: null,
      detail,
      preview: l.text.slice(0, 2048),
    });
    this.finding(sid, 'warning', 'invalid_log_line', `${this.name}:${l.line} is not a usable record: ${detail}`, l);
  }

  /** Turns get ordinals per session in order of first appearance; sessions are written in id order. Returns the sessions written. */
  writeTurnsAndSessions(): number {
    const bySession = new Map<string, LogTurnRow[]>();
    for (const t of [...this.turns.values()].sort((a, b) => a.ordinal - b.ordinal)) {
      const list = bySession.get(t.sessionId) ?? [];
      this.writer.writeLogTurn({ ...t, ordinal: list.length });
      list.push(t);
      bySession.set(t.sessionId, list);
    }
    for (const [sid, s] of [...this.sessions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const ts = bySession.get(sid);
      if (!ts) continue; // only findings (a bad feedback line), no interaction
      this.writer.writeLogSession({
        sessionId: sid,
        model: s.model,
        modelProvider: s.modelProvider,
        turns: ts.length,
        open: ts.filter((t) => t.state !== 'completed' && t.state !== 'interrupted').length,
        first: s.first,
        last: s.last,
        errors: s.findings.error,
        warnings: s.findings.warning,
        infos: s.findings.info,
      });
    }
    return bySession.size;
  }
}
