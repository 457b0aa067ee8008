/**
 * Findings the repair log already knows about: line findings (malformed line, torn tail,
 * glued event) at a line a repair recorded as reviewed, and terminal collisions a reviewer
 * marked with a note. They stay findings (the files still hold them); they are flagged
 * `reviewed` so the report and the editor can show them as known.
 */

import type { SessionAnalysis } from '../analyze';
import type { Finding } from '../types';
import { lineKey, type KnownReviews } from './log';

const LINE_KINDS = new Set(['malformed_line', 'torn_tail', 'glued_event']);

/** Sets `reviewed` on the analysis' findings that the log knows about (and clears it on the others); returns how many. */
export function markReviewedFindings(analysis: SessionAnalysis, known: KnownReviews): number {
  if (known.lines.size === 0 && known.collisions.size === 0) {
    for (const f of analysis.findings) delete f.reviewed;
    return 0;
  }
  const lengthAt = new Map<string, number>();
  for (const m of analysis.malformed) lengthAt.set(`${m.shard}\u0000${m.offset}`, m.length);
  let n = 0;
  for (const f of analysis.findings) {
    const r = reviewFor(analysis.sessionId, f, known, lengthAt, analysis);
    if (r) {
      f.reviewed = r;
      n++;
    } else {
      delete f.reviewed;
    }
  }
  return n;
}

function reviewFor(sid: string, f: Finding, known: KnownReviews, lengthAt: Map<string, number>, analysis: SessionAnalysis): Finding['reviewed'] | null {
  if (LINE_KINDS.has(f.kind) && f.shard !== undefined && f.offset !== undefined) {
    let length = lengthAt.get(`${f.shard}\u0000${f.offset}`);
    if (length === undefined) length = analysis.events.find((e) => e.shard === f.shard && e.offset === f.offset)?.length;
    if (length === undefined) return null;
    const r = known.lines.get(lineKey(sid, f.shard, f.offset, length));
    return r ? { note: r.note } : null;
  }
  if (f.kind === 'terminal_collision' && f.turnId !== undefined) {
    const r = known.collisions.get(`${sid}\u0000${f.turnId}`);
    const turn = analysis.turns.find((t) => t.turnId === f.turnId);
    if (!r || !turn?.collision) return null;
    if (!turn.collision.every((e) => r.events.has(`${e.shard}:${e.line}`))) return null;
    return { note: r.note, ...(r.reviewer ? { by: r.reviewer } : {}), at: r.at };
  }
  return null;
}
