import type { PreferenceResult } from '../compare/compareAnswers';
import type { CommandContext } from './context';

/** "Prefer Left Answer" in a Compare Answers diff editor: 👍 the left turn, 👎 the right one (a DPO pair). */
export function run(c: CommandContext): Promise<PreferenceResult | undefined> {
  return c.compare.prefer('left');
}
