import * as path from 'path';
import type { Node } from '../tree/sessionsTree';
import { fileLineOf } from '../commandArgs';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';
import { openShardAtLine } from '../openShard';

/** Which shard file and line a node points at. */
export function shardTarget(c: CommandContext, arg: unknown): { path: string; line: number } | undefined {
  const node = arg as Node | undefined;
  if (node?.kind === 'turn' && node.shardPath) return { path: node.shardPath, line: node.turn.events[0]?.line ?? 1 };
  if (node?.kind === 'line') return { path: node.path, line: node.line.line };
  if (node?.kind === 'session') {
    const root = c.store.index.root(node.rootId);
    const s = root?.sessions.get(node.sessionId);
    const shard = s?.shards[s.shards.length - 1];
    if (root && shard) return { path: path.join(root.journalDir, shard.name), line: 1 };
  }
  // A plain {path, line} (from the timeline or a link).
  return fileLineOf(arg);
}

export async function run(c: CommandContext, arg?: unknown) {
  const target = shardTarget(c, arg ?? c.sessions.view.selection[0]);
  if (!target) {
    void notifyInfo('Select a session, turn or broken line in the Sessions view first.');
    return;
  }
  await openShardAtLine(target.path, target.line);
}
