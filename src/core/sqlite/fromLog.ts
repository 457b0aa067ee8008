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
export async function* readLines(file: string, chunkBytes = 1 << 20): AsyncGenerator<{ line: number; offset: number; length: number; text: string; bytes: Buffer }> {
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

export async function replayLog(file: string, writer: IndexWriter): Promise<{ lines: number; sessions: number; interactions: number; feedback: number; problems: number }> {
  const name = path.basename(file);
  const turns = new Map<string, LogTurnRow>();
  const sessions = new Map<string, SessionAgg>();
  let lines = 0;
  let feedback = 0;
  let problems = 0;
  let globalOrdinal = 0;
  const session = (sid: string): SessionAgg => {
    let s = sessions.get(sid);
    if (!s) sessions.set(sid, (s = { model: null, modelProvider: null, first: null, last: null, findings: { error: 0, warning: 0, info: 0 }, findingOrdinal: 0 }));
    return s;
  };
  const finding = (sid: string | null, severity: 'error' | 'warning' | 'info', kind: string, message: string, at: { line: number; offset: number }, turnId?: string): void => {
    let ordinal = globalOrdinal++;
    if (sid !== null) {
      const s = session(sid);
      ordinal = s.findingOrdinal++;
      s.findings[severity]++;
    }
    writer.writeFinding({ sessionId: sid, ordinal, source: 'log', kind, severity, turnId, shard: name, line: at.line, offset: at.offset, message });
  };
  const bad = (l: { line: number; offset: number; length: number; text: string }, detail: string, kind: string, sid: string | null = null): void => {
    problems++;
    writer.writeMalformed({ sessionId: sid, shard: name, line: l.line, offset: l.offset, length: l.length, kind, torn: false, gluedEvent: null, detail, preview: l.text.slice(0, 2048) });
    finding(sid, 'warning', 'invalid_log_line', `${name}:${l.line} is not a usable record: ${detail}`, l);
  };

  for await (const l of readLines(file)) {
    lines++;
    if (l.text.trim() === '') continue;
    if (!isUtf8(l.bytes)) {
      bad(l, 'invalid UTF-8', 'invalid_utf8');
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(l.text);
    } catch (e) {
      bad(l, `not JSON: ${(e as Error).message}`, 'not_json');
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      bad(l, 'valid JSON but not an object', 'not_object');
      continue;
    }
    const o = v as Record<string, unknown>;
    if (o.type === 'feedback' || o.type === 'turn_feedback') {
      // Pushes write per-turn feedback as `turn_feedback` (docs/github-log.md); it is the same record.
      const r = parseFeedbackRecord(o.type === 'feedback' ? o : { ...o, type: 'feedback' }, name, l.line, l.text);
      if (typeof r === 'string') bad(l, r, 'not_a_record', typeof o.session_id === 'string' && isValidSessionId(o.session_id) ? o.session_id : null);
      else {
        writer.writeFeedback(r);
        feedback++;
      }
      continue;
    }
    if (o.type !== 'interaction') {
      bad(l, `unknown record type ${JSON.stringify(o.type)}`, 'not_a_record');
      continue;
    }
    const sid = o.session_id;
    const tid = o.turn_id;
    if (typeof sid !== 'string' || !isValidSessionId(sid)) {
      bad(l, 'session_id is missing or not a valid session id', 'not_a_record');
      continue;
    }
    if (typeof tid !== 'string' || tid.trim() === '') {
      bad(l, 'turn_id is missing', 'not_a_record', sid);
      continue;
    }
    if (o.version !== 1) finding(sid, 'info', 'unknown_log_version', `interaction version ${JSON.stringify(o.version)} (expected 1); read as version 1`, l, tid);
    const created = epoch(o.created_at);
    const completed = epoch(o.completed_at);
    if (created === undefined) finding(sid, 'warning', 'invalid_created_at', `created_at ${JSON.stringify(o.created_at)} is not a time`, l, tid);
    if (completed === undefined) finding(sid, 'warning', 'invalid_created_at', `completed_at ${JSON.stringify(o.completed_at)} is not a time`, l, tid);
    const key = `${sid}\u0000${tid}`;
    const prev = turns.get(key);
    if (prev) finding(sid, 'info', 'duplicate_interaction', `interaction ${sid}/${tid} appears again; the later line wins`, l, tid);
    const s = session(sid);
    const row: LogTurnRow = {
      sessionId: sid,
      turnId: tid,
      ordinal: prev ? prev.ordinal : turns.size,
      state: typeof o.state === 'string' && o.state !== '' ? o.state : 'unknown',
      model: str(o.model),
      modelProvider: str(o.model_provider),
      user: str(o.user),
      assistant: str(o.assistant),
      reason: str(o.reason),
      startedAt: created ?? null,
      completedAt: completed ?? null,
    };
    turns.set(key, row);
    if (row.model) s.model = row.model;
    if (row.modelProvider) s.modelProvider = row.modelProvider;
    for (const t of [row.startedAt, row.completedAt]) {
      if (t === null) continue;
      if (s.first === null || t < s.first) s.first = t;
      if (s.last === null || t > s.last) s.last = t;
    }
  }
  // Ordinals per session, in order of first appearance.
  const bySession = new Map<string, LogTurnRow[]>();
  for (const t of [...turns.values()].sort((a, b) => a.ordinal - b.ordinal)) {
    const list = bySession.get(t.sessionId) ?? [];
    writer.writeLogTurn({ ...t, ordinal: list.length });
    list.push(t);
    bySession.set(t.sessionId, list);
  }
  for (const [sid, s] of [...sessions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const ts = bySession.get(sid);
    if (!ts) continue; // only findings (a bad feedback line), no interaction
    writer.writeLogSession({
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
  return { lines, sessions: bySession.size, interactions: turns.size, feedback, problems };
}
