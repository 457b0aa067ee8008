/** Sessions folders with finished turns and feedback, for the GitHub log tests and bench. */
import * as fs from 'fs';
import * as path from 'path';

export const GT0 = 1767225600;

function evLine(sid: string, name: string, turn: string, at: number, extra: Record<string, unknown> = {}): string {
  const e: Record<string, unknown> = { version: 1, event: name, session_id: sid, turn_id: turn, created_at: at, stream_id: `stream-${turn}`, ...extra };
  if (name === 'completed' || name === 'interrupted') e.terminal = true;
  return JSON.stringify(e) + '\n';
}

export function turnId(i: number): string {
  return `20260101T000000Z-${i.toString(16).padStart(12, '0')}`;
}

/**
 * Writes session `sid` with `turns` turns into `dir/_turn_journal/<sid>~<pid>.jsonl`:
 * every 5th interrupted, the last one still open (not a record), the rest completed.
 * Returns the ids of the finished turns.
 */
export function writeSession(dir: string, sid: string, turns: number, opts: { userText?: (i: number) => string; pid?: number } = {}): string[] {
  const journal = path.join(dir, '_turn_journal');
  fs.mkdirSync(journal, { recursive: true });
  let s = '';
  const ids: string[] = [];
  for (let i = 0; i < turns; i++) {
    const t = turnId(i);
    const at = GT0 + i * 60;
    s += evLine(sid, 'submitted', t, at, {
      role: 'user',
      content: opts.userText?.(i) ?? `question ${i} of ${sid}`,
      attachments: [],
      workspace: '/w',
      model: 'gpt-x',
      model_provider: 'openai',
    });
    s += evLine(sid, 'worker_started', t, at + 0.2);
    if (i === turns - 1 && turns > 1) continue; // open turn
    if (i % 5 === 4) {
      s += evLine(sid, 'interrupted', t, at + 3, { reason: 'cancelled' });
    } else {
      s += evLine(sid, 'assistant_started', t, at + 1, { assistant_message_index: 2 * i + 1 });
      s += evLine(sid, 'completed', t, at + 9.5, { assistant_message_index: 2 * i + 1 });
    }
    ids.push(`${sid}/${t}`);
  }
  fs.writeFileSync(path.join(journal, `${sid}~${opts.pid ?? 4242}.jsonl`), s);
  const messages: unknown[] = [];
  for (let i = 0; i < turns; i++) {
    messages.push({ role: 'user', content: opts.userText?.(i) ?? `question ${i} of ${sid}`, timestamp: GT0 + i * 60 });
    messages.push({ role: 'assistant', content: `answer ${i} of ${sid}`, timestamp: GT0 + i * 60 + 9 });
  }
  fs.writeFileSync(path.join(dir, `${sid}.json`), JSON.stringify({ session_id: sid, title: `Session ${sid}`, model: 'gpt-x', messages }, null, 2));
  return ids;
}

/** Feedback records in `_turn_feedback/<sid>.jsonl`, as the feedback feature stores them. */
export function writeFeedback(dir: string, sid: string, entries: { id: string; turn: string; feedback: 1 | -1 | 0; note?: string }[]): string[] {
  const fdir = path.join(dir, '_turn_feedback');
  fs.mkdirSync(fdir, { recursive: true });
  const lines = entries.map(
    (e) =>
      JSON.stringify({
        type: 'feedback',
        version: 1,
        id: e.id,
        session_id: sid,
        turn_id: e.turn,
        feedback: e.feedback,
        ...(e.note ? { note: e.note } : {}),
        reviewer: 'tester',
        timestamp: '2026-01-02T00:00:00Z',
      }) + '\n',
  );
  fs.appendFileSync(path.join(fdir, `${sid}.jsonl`), lines.join(''));
  return entries.map((e) => e.id);
}

/** Ids of the lines of a log file (throws on a line that is not a record). */
export function idsOf(content: Buffer | string): string[] {
  return content
    .toString()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (JSON.parse(l) as { id: string }).id);
}
