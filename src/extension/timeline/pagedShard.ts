/**
 * Paged reading of one shard, for sessions above the timeline's size limit: a page is a
 * byte range cut at line boundaries, parsed on its own. No `vscode` import.
 *
 * Deliberately simpler than the full reader (ShardReader): no glued-event recovery and no
 * cross-shard merge; the editor says so while it shows pages.
 */

import { promises as fsp } from 'fs';
import { isUtf8 } from 'buffer';
import { parseJsonLine, PYTHON_EXTRA_LINE_BREAKS } from '../../core/jsonLine';
import type { ShardContents } from '../../core/shardReader';
import { toEvent } from '../../core/shardReader';
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

const PREVIEW_CHARS = 2048;

export async function readShardPage(filePath: string, name: string, start: PageStart, pageBytes: number, maxLineBytes: number): Promise<ShardPage> {
  const fh = await fsp.open(filePath, 'r');
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
    const contents: ShardContents = {
      name,
      path: filePath,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      dev: st.dev,
      lineCount: 0,
      events: [],
      malformed: [],
      tail: null,
      tailEvent: null,
      tailMalformed: null,
      hasBom: false,
      crlfLines: 0,
    };
    let lineNo = start.line;
    let i = 0;
    while (i < buf.length) {
      const nl = buf.indexOf(0x0a, i);
      const stop = nl === -1 ? buf.length : nl;
      const offset = start.byte + i;
      let raw = buf.subarray(i, stop);
      if (raw.length && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
      if (offset === 0 && raw.length >= 3 && raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) {
        raw = raw.subarray(3);
        contents.hasBom = true;
      }
      const torn = nl === -1 && end >= st.size;
      const item = parseLine(raw, name, lineNo, offset, stop - i, maxLineBytes);
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

function parseLine(raw: Buffer, shard: string, line: number, offset: number, length: number, maxLineBytes: number): JournalEvent | MalformedLine | null {
  const mk = (kind: MalformedLine['kind'], detail: string): MalformedLine => {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(raw.subarray(0, PREVIEW_CHARS * 2));
    return { kind, shard, line, offset, length, preview: text.slice(0, PREVIEW_CHARS), previewTruncated: text.length > PREVIEW_CHARS || raw.length > PREVIEW_CHARS * 2, detail };
  };
  if (raw.length > maxLineBytes) return mk('too_long', `line is ${raw.length} bytes, over the limit of ${maxLineBytes}`);
  if (!isUtf8(raw)) return mk('invalid_utf8', 'invalid UTF-8');
  const text = raw.toString('utf8');
  if (text.trim() === '') return null;
  const r = parseJsonLine(text);
  if (!r.ok) return mk('not_json', `not JSON: ${r.error}`);
  if (typeof r.value !== 'object' || r.value === null || Array.isArray(r.value)) return mk('not_object', 'valid JSON but not an object');
  const ev = toEvent(r.value as Record<string, unknown>, shard, line, offset, length);
  if (r.nonStandard) ev.nonStandardNumbers = true;
  if (PYTHON_EXTRA_LINE_BREAKS.test(text)) ev.pythonLineBreaks = true;
  return ev;
}
