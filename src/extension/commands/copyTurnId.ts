import { turnIdOf } from '../commandArgs';
import type { CommandContext } from './context';
import { copy } from './copySessionId';

export function run(c: CommandContext, arg?: unknown): Promise<void> {
  return copy(turnIdOf(arg ?? c.sessions.view.selection[0]), 'turn id');
}
