/**
 * Paged reading of one shard, for sessions above the timeline's size limit: a page is a
 * byte range cut at line boundaries, parsed on its own. No `vscode` import.
 *
 * Lines are parsed by the same `parseShardLine` as the full reader (glued events included);
 * what paging leaves out is the cross-shard merge, which the editor says while it shows pages.
 */

import { openRead } from '../../core/fsSafe';
import type { ShardContents } from '../../core/shardReader';
import { emptyContents, malformedLine, parseShardLine } from '../../core/shardReader';
import type { JournalEvent, MalformedLine } from '../../core/types';

export interface PageStart {
  byte: number;
  /** 1-based number of the page's first line. */
  line: number;
}

export interface ShardPage {
  contents: ShardContents;
  start: PageStart;
  /** Where the next page starts (null: this page reaches the end of the file). */
  next: PageStart | null;
  /** Last line number in this page. */
  lastLine: number;
  endByte: number;
  fileSize: number;
}

export async function readShardPage(filePath: string, name: string, start: PageStart, pageBytes: number, maxLineBytes: number): Promise<ShardPage> {
  const { fh } = await openRead(filePath, { followSymlink: true }); // never a FIFO or device
  try {
    const st = await fh.stat();
    const want = Math.max(1, Math.min(pageBytes, st.size - start.byte));
    let buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, start.byte);
    buf = buf.subarray(0, bytesRead);
    let end = start.byte + bytesRead;
    // Extend to the end of the last line started in the page (bounded by maxLineBytes).
    if (end < st.size && buf.length > 0 && buf[buf.length - 1] !== 0x0a) {
      const extra: Buffer[] = [buf];
      let pos = end;
      let added = 0;
      while (pos < st.size && added <= maxLineBytes) {
        const chunk = Buffer.alloc(Math.min(64 * 1024, st.size - pos));
        const r = await fh.read(chunk, 0, chunk.length, pos);
        if (r.bytesRead === 0) break;
        const nl = chunk.subarray(0, r.bytesRead).indexOf(0x0a);
        if (nl !== -1) {
          extra.push(chunk.subarray(0, nl + 1));
          pos += nl + 1;
          break;
        }
        extra.push(chunk.subarray(0, r.bytesRead));
        pos += r.bytesRead;
        added += r.bytesRead;
      }
      buf = Buffer.concat(extra);
      end = pos;
    }
    const contents: ShardContents = { ...emptyContents(filePath, name), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
    let lineNo = start.line;
    let i = 0;
    while (i < buf.length) {
      const nl = buf.indexOf(0x0a, i);
      const stop = nl === -1 ? buf.length : nl;
      const offset = start.byte + i;
      const raw = buf.subarray(i, stop);
      const torn = nl === -1 && end >= st.size;
      let item: JournalEvent | MalformedLine | null;
      if (raw.length > maxLineBytes) {
        item = malformedLine('too_long', name, lineNo, offset, raw.length, raw, `line is ${raw.length} bytes, over the limit of ${maxLineBytes}`);
      } else {
        const parsed = parseShardLine(raw, name, offset, lineNo, torn);
        if (parsed.bom) contents.hasBom = true;
        if (parsed.crlf && !torn) contents.crlfLines++;
        item = parsed.item;
      }
      if (item) {
        if ('kind' in item) {
          if (torn) item.torn = true;
          contents.malformed.push(item);
        } else contents.events.push(item);
      }
      contents.lineCount = lineNo - start.line + 1;
      lineNo++;
      i = stop + 1;
    }
    const next = end < st.size ? { byte: end, line: lineNo } : null;
    return { contents, start, next, lastLine: lineNo - 1, endByte: end, fileSize: st.size };
  } finally {
    await fh.close();
  }
}
