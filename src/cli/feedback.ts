/** `bot-memory-audit feedback <sessionsDir> <sessionId> <turnId> --up|--down|--clear [--note] [--tag]… [--reviewer]` */

import { discoverSessions } from '../core/discovery';
import { SessionJournal } from '../core/session';
import { isValidSessionId } from '../core/sessionId';
import { appendFeedback, SessionFeedbackFile } from '../core/feedback/store';
import { defaultReviewer } from '../core/feedback/reviewer';
import type { FeedbackValue } from '../core/feedback/record';
import { UsageError, dim, out, parse, safeText } from './io';

export async function runFeedback(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      up: { type: 'boolean', default: false },
      down: { type: 'boolean', default: false },
      clear: { type: 'boolean', default: false },
      note: { type: 'string' },
      tag: { type: 'string', multiple: true },
      reviewer: { type: 'string' },
      history: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    { min: 3, max: 3, names: '<sessionsDir> <sessionId> <turnId>' },
  );
  const [dir, sessionId, turnId] = positionals;
  const chosen = [values.up && 1, values.down && -1, values.clear && 0].filter((v) => v !== false) as FeedbackValue[];
  if (values.history ? chosen.length > 0 : chosen.length !== 1) throw new UsageError(values.history ? '--history does not go with --up, --down or --clear' : 'give exactly one of --up, --down, --clear');
  if (!isValidSessionId(sessionId)) throw new UsageError(`"${sessionId}" is not a valid session id (^[A-Za-z0-9_.-]+$, not "." or "..")`);
  if (turnId.trim() === '') throw new UsageError('the turn id is empty');

  const discovery = await discoverSessions(dir);
  const found = discovery.sessions.find((s) => s.sessionId === sessionId);
  if (!found) throw new UsageError(`no session "${sessionId}" in ${discovery.journalDir}`);
  const journal = new SessionJournal(discovery.sessionsDir, sessionId);
  journal.setShards(found.shards);
  await journal.refresh();
  const turn = journal.analyze({ now: Date.now() / 1000, staleAfterSeconds: 3600 }).turns.find((t) => t.turnId === turnId);
  if (!turn) throw new UsageError(`session "${sessionId}" has no turn "${safeText(turnId, 80)}"`);

  if (values.history) {
    const f = SessionFeedbackFile.forSession(discovery.sessionsDir, sessionId);
    await f.refresh();
    const hist = f.latest().get(turnId)?.history ?? [];
    if (values.json) out(JSON.stringify(hist.map((r) => JSON.parse(r.raw))) + '\n');
    else if (hist.length === 0) out('no feedback yet\n');
    else for (const r of hist) out(`${r.timestamp ?? '?'}  ${label(r.feedback)}  ${safeText(r.reviewer ?? '?', 40)}${r.tags?.length ? dim(` [${r.tags.map((t) => safeText(t, 30)).join(', ')}]`) : ''}${r.note ? `  ${safeText(r.note, 200)}` : ''}\n`);
    return 0;
  }

  const reviewer = await defaultReviewer(values.reviewer ?? process.env.BOT_MEMORY_REVIEWER);
  let rec;
  try {
    rec = appendFeedback(discovery.sessionsDir, { sessionId, turnId, feedback: chosen[0], note: values.note, tags: values.tag, reviewer });
  } catch (e) {
    if (e instanceof Error && /longer than|more than|empty/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
  if (values.json) out(rec.raw + '\n');
  else out(`${label(rec.feedback)} ${sessionId} ${safeText(turnId, 80)} by ${safeText(reviewer, 60)}${rec.note ? ` — ${safeText(rec.note, 120)}` : ''}\n${dim(`appended to _turn_feedback/${sessionId}.jsonl`)}\n`);
  return 0;
}

function label(v: FeedbackValue): string {
  return v === 1 ? '👍 up' : v === -1 ? '👎 down' : '○ cleared';
}
