/**
 * The hermes-webui session sidecar `SESSION_DIR/<sid>.json` (FORMATS.md §2): title, model,
 * live-turn markers and the message list that `completed.assistant_message_index` indexes.
 */

import * as fs from 'fs';
import { readBytes, readFileSync } from './fsSafe';
import { lastCallMemo } from './pathMemo';
import * as path from 'path';
import { describeFsError } from './shardReader';
import { isUtf8Sidecar, keptAt, parseSidecarJson, type SidecarReuse } from './sidecarReuse';

export interface SidecarMessage {
  role: string;
  content: string;
  timestamp: number | null;
  recovered: boolean;
  error: boolean;
  raw: Record<string, unknown>;
}

export interface Sidecar {
  path: string;
  title: string | null;
  model: string | null;
  modelProvider: string | null;
  createdAt: number | null;
  updatedAt: number | null;
  activeStreamId: string | null;
  pendingUserMessage: string | null;
  messages: SidecarMessage[];
  /** Problems with the file's shape (missing or wrong-typed fields); the rest is still used. */
  problems: string[];
  size: number;
  mtimeMs: number;
}

export type SidecarRead = { status: 'missing'; path: string } | { status: 'invalid'; path: string; error: string } | { status: 'ok'; sidecar: Sidecar };

export const sidecarPath: (sessionsDir: string, sessionId: string) => string = lastCallMemo((sessionsDir, sessionId) =>
  path.join(sessionsDir, `${sessionId}.json`),
);

/** `reuse`: kept between reads of this sidecar, so that a rewrite parses only its new messages (core/sidecarReuse.ts). */
export async function readSidecar(sessionsDir: string, sessionId: string, reuse?: SidecarReuse): Promise<SidecarRead> {
  return (await readSidecarStamped(sessionsDir, sessionId, undefined, reuse)).read;
}

/**
 * readSidecar, plus the stamp (`ino:size:mtimeMs`, or 'missing' when it cannot be stat-ed) of
 * the stat taken before the read: a caller that re-reads on change needs no stat of its own.
 */
export async function readSidecarStamped(
  sessionsDir: string,
  sessionId: string,
  stat?: fs.Stats | null,
  reuse?: SidecarReuse,
): Promise<{ read: SidecarRead; stamp: string }> {
  const p = sidecarPath(sessionsDir, sessionId);
  let st;
  try {
    // `stat`: the caller's own stat of the file, just taken (null: the file does not exist).
    st = stat === undefined ? fs.statSync(p) : stat;
    if (st === null) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
  } catch (err) {
    const read: SidecarRead =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? { status: 'missing', path: p } : { status: 'invalid', path: p, error: describeFsError(err) };
    if (reuse) reuse.kept = null;
    return { read, stamp: 'missing' };
  }
  return { read: await readStatted(p, st, reuse), stamp: `${st.ino}:${st.size}:${st.mtimeMs}` };
}

/** `st` was just taken by a stat (links followed) of `p`: the open reuses it (fsSafe's `pre`, no `lstat` of its own). */
async function readStatted(p: string, st: fs.Stats, reuse?: SidecarReuse): Promise<SidecarRead> {
  const read = await readStattedOnce(p, st, reuse);
  if (read.status !== 'ok' && reuse) reuse.kept = null; // nothing of an unreadable file is kept
  return read;
}

async function readStattedOnce(p: string, st: fs.Stats, reuse?: SidecarReuse): Promise<SidecarRead> {
  let buf: Buffer;
  try {
    if (!st.isFile()) return { status: 'invalid', path: p, error: 'not a regular file' };
    // Small sidecars (nearly all) are cheaper to read synchronously than through the thread pool.
    // Regular files only, opened non-blocking (fsSafe): a FIFO swapped in meanwhile is refused.
    ({ data: buf, stat: st } = st.size <= 1024 * 1024 ? readFileSync(p, { followSymlink: true, pre: st }) : await readBytes(p, { followSymlink: true }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'missing', path: p };
    return { status: 'invalid', path: p, error: describeFsError(err) };
  }
  // isUtf8 + toString is several times faster than a fatal TextDecoder on large sidecars.
  // Where the kept message elements are in this file (one comparison, for both steps), or -1.
  const at = reuse ? keptAt(buf, reuse) : -1;
  if (!isUtf8Sidecar(buf, reuse, at)) return { status: 'invalid', path: p, error: 'invalid UTF-8' };
  let value: unknown;
  try {
    // Like TextDecoder (ignoreBOM: false), a leading UTF-8 BOM is dropped.
    const bom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    value = parseSidecarJson(buf, bom, reuse, at);
  } catch (err) {
    return { status: 'invalid', path: p, error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { status: 'invalid', path: p, error: 'not a JSON object' };
  }
  return { status: 'ok', sidecar: parseSidecarObject(p, value as Record<string, unknown>, st.size, st.mtimeMs, reuse) };
}

/** `reuse`: after a parse that reused the last read's message values, their SidecarMessages are reused too. */
export function parseSidecarObject(p: string, o: Record<string, unknown>, size = 0, mtimeMs = 0, reuse?: SidecarReuse): Sidecar {
  const problems: string[] = [];
  const str = (k: string): string | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string') return v;
    problems.push(`"${k}" should be a string, is ${typeName(v)}`);
    return null;
  };
  const num = (k: string): number | null => {
    const v = o[k];
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    problems.push(`"${k}" should be a number, is ${typeName(v)}`);
    return null;
  };
  let messages: SidecarMessage[] = [];
  if (o.messages !== undefined && !Array.isArray(o.messages)) {
    problems.push(`"messages" should be a list, is ${typeName(o.messages)}`);
  } else if (Array.isArray(o.messages)) {
    messages = messagesOf(o.messages, problems, reuse);
  } else if (reuse) reuse.prior = null;
  return {
    path: p,
    title: str('title'),
    model: str('model'),
    modelProvider: str('model_provider'),
    createdAt: num('created_at'),
    updatedAt: num('updated_at'),
    activeStreamId: str('active_stream_id'),
    pendingUserMessage: str('pending_user_message'),
    messages,
    problems,
    size,
    mtimeMs,
  };
}

/**
 * The SidecarMessage of each message value (problems pushed for those that are not objects). Each is a
 * pure function of its value: the values the last read had at the same places (the same objects,
 * reused by sidecarReuse.ts) keep their SidecarMessages and problems.
 */
function messagesOf(list: unknown[], problems: string[], reuse?: SidecarReuse): SidecarMessage[] {
  const prior = reuse?.last === 'reuse' ? reuse.prior : null;
  let messages: SidecarMessage[] = [];
  let i = 0;
  if (prior && problems.length === 0 && list.length >= prior.raws.length && prior.raws.every((r, k) => list[k] === r)) {
    messages = prior.messages.slice();
    for (const s of prior.problems) problems.push(s);
    i = prior.raws.length;
  }
  for (; i < list.length; i++) {
    const m = list[i];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      problems.push(`messages[${i}] is ${typeName(m)}, not an object`);
      messages.push({ role: '', content: '', timestamp: null, recovered: false, error: false, raw: {} });
      continue;
    }
    const r = m as Record<string, unknown>;
    messages.push({
      role: typeof r.role === 'string' ? r.role : '',
      content: contentText(r.content),
      timestamp: typeof r.timestamp === 'number' ? r.timestamp : null,
      recovered: r._recovered === true,
      error: r._error === true,
      raw: r,
    });
  }
  if (reuse) reuse.prior = reuse.kept ? { raws: list, messages, problems: problems.slice() } : null;
  return messages;
}

/** Message content is usually a string; multi-part content is joined from its text parts. */
export function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (c === null || c === undefined) return '';
  if (Array.isArray(c)) {
    return c
      .map((part) =>
        typeof part === 'string'
          ? part
          : typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string'
            ? (part as { text: string }).text
            : '',
      )
      .filter((s) => s.length > 0)
      .join('\n');
  }
  return JSON.stringify(c);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
