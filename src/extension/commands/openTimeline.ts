import type { CommandContext } from './context';

/**
 * "Open Turn Timeline" (target?: {rootId, sessionId, turnId?} | Uri | tree node): opens a
 * session's timeline (its newest shard, or the given one) and reveals `turnId`; with no
 * target, the active shard or a quick pick of sessions.
 */
export function run(c: CommandContext, target?: unknown): Promise<void> {
  return c.timeline.openTimeline(target);
}
