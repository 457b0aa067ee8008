/**
 * Downloading the log (all of it, or its last N lines) for `rebuild --from-log`: every rotated
 * part in order, then the active file, all read at one commit in the raw media type (files up
 * to GitHub's 100 MB), concatenated and written with an atomic replace.
 */

import { atomicReplace } from '../durable';
import type { GithubClient } from './client';
import { recordId } from './records';
import { readAllParts, scanLog, type GithubTarget } from './remote';

export const PULLED_LOG_FILE = '_github_log.jsonl';

export interface PullResult {
  exists: boolean;
  /** Rotated parts read before the active file. */
  parts: number;
  /** Bytes written. */
  bytes: number;
  lines: number;
  records: number;
  unparsed: number;
}

/** The last `n` non-blank lines of `content` (bytes kept exactly), each ending in `\n`. */
export function lastLines(content: Buffer, n: number): Buffer {
  if (n <= 0) return Buffer.alloc(0);
  let end = content.length;
  while (end > 0 && content[end - 1] === 0x0a) end--;
  let start = end;
  let count = 0;
  while (start > 0) {
    const nl = content.lastIndexOf(0x0a, start - 1);
    const lineStart = nl + 1;
    if (content.toString('utf8', lineStart, start).trim() !== '') count++;
    start = nl < 0 ? 0 : nl;
    if (count === n) {
      start = lineStart;
      break;
    }
  }
  return Buffer.concat([content.subarray(start, end), Buffer.from('\n')]);
}

export async function pullLog(client: GithubClient, target: GithubTarget, outFile: string, options: { last?: number } = {}): Promise<PullResult> {
  const all = await readAllParts(client, target);
  if (all === null) return { exists: false, parts: 0, bytes: 0, lines: 0, records: 0, unparsed: 0 };
  const raw = all.content;
  let content = options.last !== undefined ? lastLines(raw, options.last) : raw;
  if (content.length === 1 && content[0] === 0x0a) content = Buffer.alloc(0);
  atomicReplace(outFile, content, { mode: 0o600, forceMode: true });
  const scan = scanLog(content, recordId);
  return { exists: true, parts: all.parts, bytes: content.length, lines: scan.lines, records: scan.ids.size, unparsed: scan.unparsed };
}
