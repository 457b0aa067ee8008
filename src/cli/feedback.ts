/**
 * `bot-memory-audit feedback <sessionsDir> <sessionId> <turnId> --up|--down|--clear [--reason R] [--note] [--tag]… [--reviewer]
 *   [--correct TEXT|--correct-file F]`
 */

import { readFileSync } from 'fs';
import { discoverSessions } from '../core/discovery';
import { SessionJournal } from '../core/session';
import { isValidSessionId } from '../core/sessionId';
import { appendCorrection, appendFeedback, SessionFeedbackFile } from '../core/feedback/store';
import { defaultReviewer } from '../core/feedback/reviewer';
import { DEFAULT_REASONS, formatCorrectionRecord, formatFeedbackRecord, type FeedbackValue } from '../core/feedback/record';
import { UsageError, dim, out, parse, safeText } from './io';

type FeedbackArgs = ReturnType<typeof parseFeedbackArgs>;

/** Parse and check the arguments, find the turn, then list its history or append the records. */
export async function runFeedback(argv: string[]): Promise<number> {
  const args = parseFeedbackArgs(argv);
  const sessionsDir = await findTurn(args.dir, args.sessionId, args.turnId);
  if (args.values.history) await printHistory(sessionsDir, args);
  else await appendRecords(sessionsDir, args);
  return 0;
}

/** The arguments, every usage rule checked before anything is read or written. */
function parseFeedbackArgs(argv: string[]) {
  const { values, positionals } = parse(
    argv,
    {
      up: { type: 'boolean', default: false },
      down: { type: 'boolean', default: false },
      clear: { type: 'boolean', default: false },
      note: { type: 'string' },
      reason: { type: 'string' },
      correct: { type: 'string' },
      'correct-file': { type: 'string' },
      tag: { type: 'string', multiple: true },
      reviewer: { type: 'string' },
      history: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    { min: 3, max: 3, names: '<sessionsDir> <sessionId> <turnId>' },
  );
  const [dir, sessionId, turnId] = positionals;
  const chosen = [values.up && 1, values.down && -1, values.clear && 0].filter((v) => v !== false) as FeedbackValue[];
  const correction = correctionArg(values.correct, values['correct-file']);
  if (values.history && (chosen.length > 0 || correction !== undefined)) throw new UsageError('--history does not go with --up, --down, --clear or --correct');
  if (!values.history && chosen.length > 1) throw new UsageError('give one of --up, --down, --clear');
  if (!values.history && chosen.length === 0 && correction === undefined) throw new UsageError('give one of --up, --down, --clear (and/or --correct TEXT)');
  checkReason(values.reason, chosen[0]);
  if (!isValidSessionId(sessionId)) throw new UsageError(`"${sessionId}" is not a valid session id (^[A-Za-z0-9_.-]+$, not "." or "..")`);
  if (turnId.trim() === '') throw new UsageError('the turn id is empty');
  return { values, dir, sessionId, turnId, value: chosen[0] as FeedbackValue | undefined, correction };
}

/** `--correct TEXT` or the text of `--correct-file F` (not both). */
function correctionArg(text: string | undefined, file: string | undefined): string | undefined {
  if (text !== undefined && file !== undefined) throw new UsageError('give --correct or --correct-file, not both');
  if (file === undefined) return text;
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --correct-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `--reason` goes with `--down` and must be on the list (`$BOT_MEMORY_FEEDBACK_REASONS`, else upstream's). */
function checkReason(reason: string | undefined, value: FeedbackValue | undefined): void {
  if (reason === undefined) return;
  if (value !== -1) throw new UsageError('--reason goes with --down');
  const reasons = (process.env.BOT_MEMORY_FEEDBACK_REASONS ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  const allowed = reasons.length ? reasons : DEFAULT_REASONS;
  if (!allowed.includes(reason)) throw new UsageError(`--reason must be one of ${allowed.join(', ')} (set BOT_MEMORY_FEEDBACK_REASONS to change the list)`);
}

/** The turn must be in the journal; returns the resolved sessions folder. */
async function findTurn(dir: string, sessionId: string, turnId: string): Promise<string> {
  const discovery = await discoverSessions(dir);
  const found = discovery.sessions.find((s) => s.sessionId === sessionId);
  if (!found) throw new UsageError(`no session "${sessionId}" in ${discovery.journalDir}`);
  const journal = new SessionJournal(discovery.sessionsDir, sessionId);
  journal.setShards(found.shards);
  await journal.refresh();
  const turn = journal.analyze({ now: Date.now() / 1000, staleAfterSeconds: 3600 }).turns.find((t) => t.turnId === turnId);
  if (!turn) throw new UsageError(`session "${sessionId}" has no turn "${safeText(turnId, 80)}"`);
  return discovery.sessionsDir;
}

/** `--history`: the turn's ratings (with reasons) and corrections; `--json`: every record, each with its "type". */
async function printHistory(sessionsDir: string, { values, sessionId, turnId }: FeedbackArgs): Promise<void> {
  const f = SessionFeedbackFile.forSession(sessionsDir, sessionId);
  await f.refresh();
  const hist = f.latest().get(turnId)?.history ?? [];
  const cors = f.latestCorrections().get(turnId)?.history ?? [];
  if (values.json) {
    const corJson = cors.map((c) => ({
      type: 'correction',
      version: 1,
      id: c.id,
      session_id: c.sessionId,
      turn_id: c.turnId,
      text: c.text,
      reviewer: c.reviewer,
      timestamp: c.timestamp,
    }));
    out(JSON.stringify([...hist.map((r) => JSON.parse(r.raw)), ...corJson]) + '\n');
    return;
  }
  if (hist.length === 0 && cors.length === 0) {
    out('no feedback yet\n');
    return;
  }
  for (const r of hist)
    out(
      `${r.timestamp ?? '?'}  ${label(r.feedback)}${r.reason ? ` (${safeText(r.reason, 30)})` : ''}  ${safeText(r.reviewer ?? '?', 40)}${r.tags?.length ? dim(` [${r.tags.map((t) => safeText(t, 30)).join(', ')}]`) : ''}${r.note ? `  ${safeText(r.note, 200)}` : ''}\n`,
    );
  for (const c of cors)
    out(`${c.timestamp ?? '?'}  ✎ correction  ${safeText(c.reviewer ?? '?', 40)}  ${c.text === '' ? dim('(withdrawn)') : safeText(c.text, 200)}\n`);
}

/** Appends the rating and/or the correction (both validated before either is written), then says what was written. */
async function appendRecords(sessionsDir: string, { values, sessionId, turnId, value, correction }: FeedbackArgs): Promise<void> {
  const reviewer = await defaultReviewer(values.reviewer ?? process.env.BOT_MEMORY_REVIEWER);
  const rating = value === undefined ? undefined : { sessionId, turnId, feedback: value, note: values.note, tags: values.tag, reason: values.reason, reviewer };
  let rec;
  let cor;
  try {
    if (rating) formatFeedbackRecord(rating);
    if (correction !== undefined) formatCorrectionRecord({ sessionId, turnId, text: correction, reviewer });
    if (rating) rec = appendFeedback(sessionsDir, rating);
    if (correction !== undefined) cor = appendCorrection(sessionsDir, { sessionId, turnId, text: correction, reviewer });
  } catch (e) {
    if (e instanceof Error && /longer than|more than|empty|goes with/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
  // --json: the appended rating record as written; with a correction, {feedback, correction}.
  if (values.json) {
    out((cor === undefined ? rec!.raw : JSON.stringify({ feedback: rec ? JSON.parse(rec.raw) : null, correction: cor })) + '\n');
    return;
  }
  if (rec)
    out(
      `${label(rec.feedback)}${rec.reason ? ` (${rec.reason})` : ''} ${sessionId} ${safeText(turnId, 80)} by ${safeText(reviewer, 60)}${rec.note ? ` — ${safeText(rec.note, 120)}` : ''}\n`,
    );
  if (cor)
    out(
      cor.text === ''
        ? `✎ correction withdrawn for ${safeText(turnId, 80)}\n`
        : `✎ correction (${cor.text.length} characters) for ${safeText(turnId, 80)} by ${safeText(reviewer, 60)}\n`,
    );
  out(dim(`appended to _turn_feedback/${sessionId}.jsonl`) + '\n');
}

function label(v: FeedbackValue): string {
  return v === 1 ? '👍 up' : v === -1 ? '👎 down' : '○ cleared';
}
