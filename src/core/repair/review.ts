/** A reviewer marks a terminal collision as looked at, with a note (never fixed automatically). */

import { discoverSessions } from '../discovery';
import { DEFAULT_STALE_AFTER_MINUTES } from '../analyze';
import { loadSession } from './io';
import { appendRepairRecord } from './log';
import { RepairInputError } from './apply';

export interface CollisionReview {
  sessionId: string;
  turnId: string;
  note: string;
  reviewer?: string;
}

/** Records the review of the turn's current terminal events; returns them as `shard:line`. */
export async function markCollisionReviewed(dir: string, r: CollisionReview): Promise<string[]> {
  if (r.note.trim() === '') throw new RepairInputError('a review needs a note saying what was decided');
  const discovery = await discoverSessions(dir);
  const s = discovery.sessions.find((x) => x.sessionId === r.sessionId);
  if (!s) throw new RepairInputError(`no session "${r.sessionId}" in ${discovery.journalDir}`);
  const { analysis } = await loadSession(discovery.sessionsDir, s, { now: Date.now() / 1000, staleAfterMinutes: DEFAULT_STALE_AFTER_MINUTES });
  const turn = analysis.turns.find((t) => t.turnId === r.turnId);
  if (!turn) throw new RepairInputError(`no turn "${r.turnId}" in session ${r.sessionId}`);
  if (!turn.collision) throw new RepairInputError(`turn ${r.turnId} has no terminal collision`);
  const events = turn.collision.map((e) => `${e.shard}:${e.line}`);
  appendRepairRecord(discovery.sessionsDir, {
    op: 'review',
    at: new Date().toISOString(),
    session_id: r.sessionId,
    turn_id: r.turnId,
    kind: 'terminal_collision',
    events,
    note: r.note.trim(),
    ...(r.reviewer ? { reviewer: r.reviewer } : {}),
  });
  return events;
}
