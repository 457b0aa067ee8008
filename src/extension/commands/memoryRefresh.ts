import type { CommandContext } from './context';

export function run(c: CommandContext): void {
  c.memories.ledgers.reload();
}
