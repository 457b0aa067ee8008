import type { PreferenceResult } from '../compare/compareAnswers';
import type { CommandContext } from './context';

/** "Prefer Right Answer" in a Compare Answers diff editor: 👍 the right turn, 👎 the left one (a DPO pair). */
export function run(c: CommandContext): Promise<PreferenceResult | undefined> {
  return c.compare.prefer('right');
}
