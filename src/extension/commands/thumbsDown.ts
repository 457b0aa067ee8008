import type { FeedbackRecord } from '../../core/feedback/record';
import { fieldArg, stringArg } from '../commandArgs';
import { pickReason } from '../feedback/reasons';
import { rateTarget, type CommandContext } from './context';

/**
 * Rates the turn of a tree row or timeline card (inline/context menu; hidden from the palette).
 * From a tree row it first asks why (feedback/reasons.ts; Escape cancels), like the timeline;
 * `{…ref, reason?}` (the timeline, tests) is rated as given.
 */
export async function run(c: CommandContext, arg?: unknown): Promise<FeedbackRecord | undefined> {
  if (fieldArg(arg, 'kind') === 'turn' && stringArg(arg, 'reason') === undefined && c.feedback.canWrite()) {
    const reason = await pickReason();
    if (reason === undefined) return undefined;
    if (reason !== null) return rateTarget(c, { ...(arg as object), reason }, -1);
  }
  return rateTarget(c, arg, -1);
}
