import type { CommandContext } from './context';

/** "Open Shard as Text": the active timeline's shard (or the given URI) in the text editor. */
export function run(c: CommandContext, uri?: unknown): Promise<void> {
  return c.timeline.openAsText(uri);
}
