/** A small sessions folder with sidecar conversations, for feedback and export tests. */
import * as fs from 'fs';
import * as path from 'path';
import { appendFeedback } from '../../src/core/feedback/store';
import type { FeedbackValue } from '../../src/core/feedback/record';
import { sessionsDir, T0 } from './helpers';

type End = 'completed' | 'interrupted' | null;

export function turnLines(sid: string, turn: string, at: number, content: string, index: number | null, end: End = 'completed', model = 'gpt-x'): string {
  const base = { version: 1, session_id: sid, turn_id: turn, stream_id: `st-${turn}` };
  const l = (o: Record<string, unknown>) => JSON.stringify({ ...base, ...o }) + '\n';
  let s = l({ event: 'submitted', created_at: at, role: 'user', content, attachments: [], workspace: '/w', model, model_provider: 'openai' });
  s += l({ event: 'worker_started', created_at: at + 0.5 });
  s += l({ event: 'assistant_started', created_at: at + 1, assistant_message_index: index });
  if (end === 'completed') s += l({ event: 'completed', created_at: at + 5, assistant_message_index: index, terminal: true });
  if (end === 'interrupted') s += l({ event: 'interrupted', created_at: at + 3, reason: 'rate_limit', terminal: true });
  return s;
}

export interface Msg {
  role: string;
  content: string;
  _error?: boolean;
  _recovered?: boolean;
}

export function writeSession(dir: string, sid: string, journal: string, messages: Msg[], title = sid): void {
  fs.mkdirSync(path.join(dir, '_turn_journal'), { recursive: true });
  fs.writeFileSync(path.join(dir, '_turn_journal', `${sid}~100.jsonl`), journal);
  fs.writeFileSync(
    path.join(dir, `${sid}.json`),
    JSON.stringify({ session_id: sid, title, messages: messages.map((m, i) => ({ ...m, timestamp: T0 + i })) }, null, 2),
  );
}

export const NOW = new Date('2026-02-01T00:00:00Z');

export function rate(
  dir: string,
  sid: string,
  turn: string,
  v: FeedbackValue,
  minutes: number,
  extra: { note?: string; tags?: string[]; reviewer?: string } = {},
): void {
  appendFeedback(dir, {
    sessionId: sid,
    turnId: turn,
    feedback: v,
    reviewer: extra.reviewer ?? 'ana',
    note: extra.note,
    tags: extra.tags,
    at: new Date(NOW.getTime() + minutes * 60_000),
  });
}

/**
 * s1: t1 "Hi"→"Hello!" 👍, t2 France→Paris 👎, t3 interrupted (marker) 👍, t4 Spain→Madrid 👍 (tag "geo").
 * s2: u1 "Hi"→"Go away." 👎 (a dpo pair with s1/t1), u2 "Hi again" 👍 then cleared.
 * s3: c1 collision 👍, o1 open 👍, r1 + r2 both at index 1 (regenerated) 👍/👍, feedback for "ghost".
 */
export function exportFolder(): string {
  const { dir } = sessionsDir();
  writeSession(
    dir,
    's1',
    turnLines('s1', 't1', T0, 'Hi', 1) +
      turnLines('s1', 't2', T0 + 60, 'Capital of France?', 3) +
      turnLines('s1', 't3', T0 + 120, 'broken question', null, 'interrupted') +
      turnLines('s1', 't4', T0 + 180, 'Capital of Spain?', 7, 'completed', 'gpt-y'),
    [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello!' },
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris' },
      { role: 'user', content: 'broken question', _recovered: true },
      { role: 'assistant', content: '**Response interrupted.** rate limit', _error: true },
      { role: 'user', content: 'Capital of Spain?' },
      { role: 'assistant', content: 'Madrid \u2028 (line separator) — ünïcode' },
    ],
  );
  writeSession(dir, 's2', turnLines('s2', 'u1', T0 + 10, 'Hi', 1) + turnLines('s2', 'u2', T0 + 70, 'Hi again', 3), [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Go away.' },
    { role: 'user', content: 'Hi again' },
    { role: 'assistant', content: 'Hello again' },
  ]);
  const collision =
    turnLines('s3', 'c1', T0 + 20, 'Collide', 1) +
    JSON.stringify({ version: 1, event: 'interrupted', session_id: 's3', turn_id: 'c1', created_at: T0 + 30, reason: 'cancelled', terminal: true }) +
    '\n';
  writeSession(
    dir,
    's3',
    collision + turnLines('s3', 'o1', T0 + 40, 'Open', null, null) + turnLines('s3', 'r1', T0 + 50, 'Regen', 3) + turnLines('s3', 'r2', T0 + 60, 'Regen', 3),
    [
      { role: 'user', content: 'Collide' },
      { role: 'assistant', content: 'collided answer' },
      { role: 'user', content: 'Regen' },
      { role: 'assistant', content: 'second try' },
    ],
  );
  rate(dir, 's1', 't1', 1, 1);
  rate(dir, 's1', 't2', -1, 2, { note: 'should say Paris is the capital' });
  rate(dir, 's1', 't3', 1, 3);
  rate(dir, 's1', 't4', -1, 4);
  rate(dir, 's1', 't4', 1, 5, { tags: ['geo'] }); // correction: 👍 wins
  rate(dir, 's2', 'u1', -1, 6);
  rate(dir, 's2', 'u2', 1, 7);
  rate(dir, 's2', 'u2', 0, 8);
  rate(dir, 's3', 'c1', 1, 9);
  rate(dir, 's3', 'o1', 1, 10);
  rate(dir, 's3', 'r1', 1, 11);
  rate(dir, 's3', 'r2', 1, 12);
  rate(dir, 's3', 'ghost', -1, 13);
  return dir;
}

/** Structural validators for TRL's conversational dataset formats. */
function isMessages(v: unknown, what: string): string | null {
  if (!Array.isArray(v) || v.length === 0) return `${what} is not a non-empty list`;
  for (const [i, m] of v.entries()) {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) return `${what}[${i}] is not an object`;
    const keys = Object.keys(m).sort().join(',');
    if (keys !== 'content,role') return `${what}[${i}] has keys ${keys}, not content,role`;
    if (!['system', 'user', 'assistant', 'tool'].includes((m as { role: string }).role)) return `${what}[${i}].role is ${(m as { role: string }).role}`;
    if (typeof (m as { content: unknown }).content !== 'string') return `${what}[${i}].content is not a string`;
  }
  return null;
}
function keysAre(o: Record<string, unknown>, keys: string[]): string | null {
  const k = Object.keys(o).sort().join(',');
  return k === [...keys].sort().join(',') ? null : `keys are ${k}, not ${keys.join(',')}`;
}
function assistantOnly(v: unknown, what: string): string | null {
  const e = isMessages(v, what);
  if (e) return e;
  const arr = v as { role: string }[];
  return arr.length === 1 && arr[0].role === 'assistant' ? null : `${what} is not one assistant message`;
}
function promptEndsWithUser(v: unknown): string | null {
  const e = isMessages(v, 'prompt');
  if (e) return e;
  const arr = v as { role: string }[];
  return arr[arr.length - 1].role === 'user' ? null : 'prompt does not end with a user message';
}

export function validateLine(format: 'sft' | 'sft-messages' | 'kto' | 'dpo', line: string): string | null {
  if (!line.endsWith('\n') || line.slice(0, -1).includes('\n')) return 'not one line';
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line);
  } catch (e) {
    return `not JSON: ${(e as Error).message}`;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return 'not an object';
  if (format === 'sft') return keysAre(o, ['prompt', 'completion']) ?? promptEndsWithUser(o.prompt) ?? assistantOnly(o.completion, 'completion');
  if (format === 'sft-messages') {
    const e = keysAre(o, ['messages']) ?? isMessages(o.messages, 'messages');
    if (e) return e;
    const m = o.messages as { role: string }[];
    return m[m.length - 1].role === 'assistant' && m[m.length - 2]?.role === 'user' ? null : 'messages do not end with user, assistant';
  }
  if (format === 'kto')
    return (
      keysAre(o, ['prompt', 'completion', 'label']) ??
      promptEndsWithUser(o.prompt) ??
      assistantOnly(o.completion, 'completion') ??
      (typeof o.label === 'boolean' ? null : 'label is not a boolean')
    );
  return (
    keysAre(o, ['prompt', 'chosen', 'rejected']) ??
    promptEndsWithUser(o.prompt) ??
    assistantOnly(o.chosen, 'chosen') ??
    assistantOnly(o.rejected, 'rejected') ??
    (JSON.stringify(o.chosen) !== JSON.stringify(o.rejected) ? null : 'chosen equals rejected')
  );
}
