import type { FeedbackRecord } from '../../core/feedback/record';
import { rateTarget, type CommandContext } from './context';

/** Rates the turn of a tree row or timeline card (inline/context menu; hidden from the palette). */
export function run(c: CommandContext, arg?: unknown): Promise<FeedbackRecord | undefined> {
  return rateTarget(c, arg, 0);
}
