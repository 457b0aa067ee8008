/**
 * Reads the run behind a turn for the timeline, lazily and by byte offset (run journals grow
 * to gigabytes and are never read whole here):
 * - {@link readRunUsage}: the usage of the run's last `metering` event, found by reading the
 *   file's tail (a window that doubles from 64 KB until a metering line is in it, at most
 *   {@link MAX_TAIL} bytes); cached per file by (size, mtime, inode);
 * - {@link readRunPage}: one page of events from a byte offset, as view items.
 * Both go through `core/runJournal.ts` (regular files only, no symbolic link, no FIFO; torn,
 * glued and over-long lines handled as for shards). No `vscode` import.
 */

import { promises as fsp } from 'fs';
import { readRunEvents } from '../../core/runJournal';
import { openRead, describeError } from '../../core/fsSafe';
import { appendRunItems, budgetItems, usageOf, type RunItem, type RunPage, type RunUsage } from '../../shared/runView';

/** The largest tail read to find a run's usage. */
export const MAX_TAIL = 16 * 1024 * 1024;
const FIRST_TAIL = 64 * 1024;
/** Events per page of the expanded run view. */
export const RUN_PAGE_EVENTS = 4000;
/** Lines longer than this (a `done` event carries the whole session) keep only their header. */
const MAX_LINE = 4 * 1024 * 1024;

export interface RunUsageResult {
  usage: RunUsage | null;
  /** Bytes of the tail that were read. */
  tailBytes: number;
  error?: string;
}

/** The offset of the first line that starts at or after `from` (`from` itself when a line starts there). */
async function lineStartAtOrAfter(file: string, from: number, size: number): Promise<number | null> {
  if (from <= 0) return 0;
  const { fh } = await openRead(file);
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (let pos = from - 1; pos < size; pos += buf.length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) return null;
      const nl = buf.subarray(0, bytesRead).indexOf(10);
      if (nl !== -1) return pos + nl + 1;
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** The usage of the last `metering` event (else of the `done` event) in the file's tail. */
export async function readRunUsage(file: string): Promise<RunUsageResult> {
  let size: number;
  try {
    size = (await fsp.lstat(file)).size;
  } catch (err) {
    return { usage: null, tailBytes: 0, error: describeError(err) };
  }
  let done: RunUsage | null = null;
  for (let window = FIRST_TAIL; ; window *= 2) {
    const w = Math.min(window, size, MAX_TAIL);
    const start = await lineStartAtOrAfter(file, size - w, size).catch(() => null);
    if (start !== null) {
      const page = await readRunEvents(file, { fromOffset: start, limit: Number.MAX_SAFE_INTEGER, maxLineBytes: MAX_LINE });
      if (page.error) return { usage: null, tailBytes: w, error: page.error };
      for (let i = page.events.length - 1; i >= 0; i--) {
        const u = usageOf(page.events[i]);
        if (u?.source === 'metering') return { usage: u, tailBytes: w };
        if (u && !done) done = u;
      }
    }
    if (w >= size || w >= MAX_TAIL) return { usage: done, tailBytes: w };
  }
}

/** Usage per run file, re-read only when the file changed. */
export class RunUsageCache {
  private readonly byFile = new Map<string, { stamp: string; result: RunUsageResult }>();

  async get(file: string): Promise<RunUsageResult> {
    let stamp: string;
    try {
      const st = await fsp.lstat(file);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      return { usage: null, tailBytes: 0, error: describeError(err) };
    }
    const hit = this.byFile.get(file);
    if (hit && hit.stamp === stamp) return hit.result;
    const result = await readRunUsage(file);
    this.byFile.set(file, { stamp, result });
    return result;
  }

  /** The file's usage was read (at some size). */
  has(file: string): boolean {
    return this.byFile.has(file);
  }

  /** The usage already known for a file (any stamp), without reading. */
  known(file: string): RunUsage | null {
    return this.byFile.get(file)?.result.usage ?? null;
  }
}

/**
 * One page of a run's events from `from` (a `next` of the previous page, or the start), as view
 * items (the webview appends them to the items of earlier pages).
 */
export async function readRunPage(
  file: string,
  ids: { turnId: string; runId: string },
  from: { offset: number; line: number; eventsRead: number } = { offset: 0, line: 1, eventsRead: 0 },
  limit = RUN_PAGE_EVENTS,
): Promise<RunPage> {
  const page = await readRunEvents(file, { fromOffset: from.offset, fromLine: from.line, limit, maxLineBytes: MAX_LINE });
  const items: RunItem[] = budgetItems(appendRunItems([], page.events));
  for (const m of page.malformed) items.push({ kind: 'malformed', line: m.line, detail: `${m.detail}: ${m.preview.slice(0, 120)}` });
  const result: RunPage = {
    ...ids,
    items,
    next: page.eof ? null : { offset: page.nextOffset, line: page.nextLine },
    eventsRead: from.eventsRead + page.events.length,
    size: page.size,
  };
  if (page.error) result.error = page.error;
  return result;
}
