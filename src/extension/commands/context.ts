import type { FeedbackValue } from '../../core/feedback/record';
import type { FeedbackRecord } from '../../core/feedback/record';
import { stringArg, turnRefOf, type TurnRef } from '../commandArgs';
import type { FeedbackService } from '../feedback/service';
import type { QueryIndexFeature } from '../index/register';
import type { MemoriesFeature } from '../memory/memoriesView';
import type { RepairFeature } from '../repair/register';
import type { Services } from '../services';
import type { SessionsFeature } from '../sessionsView';
import type { TimelineEditorProvider } from '../timeline/timelineEditor';
import { notifyInfo } from '../untrustedText';

/** What every command receives: the services and every feature's api (built in activate()). */
export interface CommandContext extends Services {
  sessions: SessionsFeature;
  memories: MemoriesFeature;
  feedback: FeedbackService;
  repair: RepairFeature;
  timeline: TimelineEditorProvider;
  query: QueryIndexFeature;
}

/** The turn a command is about: its argument (tree node, timeline card, ref) or the tree selection. */
export function targetTurn(c: CommandContext, arg: unknown): TurnRef | undefined {
  const ref = turnRefOf(arg) ?? turnRefOf(c.sessions.view.selection[0]);
  if (!ref) void notifyInfo('Select a turn in the Sessions view or the turn timeline first (or use "Give Feedback on Turn…").');
  return ref;
}

/** Rates the target turn with a fixed value (thumbs up / down / clear). */
export async function rateTarget(c: CommandContext, arg: unknown, value: FeedbackValue): Promise<FeedbackRecord | undefined> {
  const ref = targetTurn(c, arg);
  if (!ref) return undefined;
  // A 👎 may carry its reason (`{…ref, reason}`: the timeline asks for it first).
  const reason = value === -1 ? stringArg(arg, 'reason') : undefined;
  return c.feedback.give(ref, value, reason ? { reason } : {});
}
