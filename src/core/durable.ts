/**
 * Durable writes for files the auditor owns.
 *
 * - appendLineDurable: one `write()` of the whole line to a file opened with
 *   O_APPEND|O_CREAT|O_WRONLY (mode 0600), then fsync of the file and of its folder — the
 *   same protocol upstream uses. On Linux a `write()` to a regular file holds the inode lock
 *   for its whole length, so concurrent appenders never interleave; a short write (disk
 *   full) is reported, never continued with a second write that could interleave.
 * - atomicReplace: temp file in the same folder, fsync, rename over the target, fsync folder.
 *   Readers see the old or the new content, never a mix; a crash leaves at most a temp file.
 */

import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';

export class ShortWriteError extends Error {}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on folders; the file itself is already synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function appendLineDurable(file: string, line: string): void {
  if (line.includes('\n')) throw new Error('a journal line must not contain a newline');
  appendDurable(file, Buffer.from(line + '\n', 'utf8'));
}

/** Several lines in ONE write (so concurrent appenders never interleave them). */
export function appendLinesDurable(file: string, lines: readonly string[]): void {
  for (const l of lines) if (l.includes('\n')) throw new Error('a journal line must not contain a newline');
  if (lines.length === 0) return;
  appendDurable(file, Buffer.from(lines.join('\n') + '\n', 'utf8'));
}

function appendDurable(file: string, data: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fd = fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_APPEND | fs.constants.O_WRONLY, 0o600);
  try {
    const n = fs.writeSync(fd, data, 0, data.length);
    if (n !== data.length) throw new ShortWriteError(`short write to ${file}: ${n} of ${data.length} bytes`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(path.dirname(file));
}

export interface AtomicOptions {
  /** File mode for a new file; an existing file keeps its mode. */
  mode?: number;
}

export function atomicReplace(file: string, data: string | Buffer, options: AtomicOptions = {}): void {
  const dir = path.dirname(file);
  let mode = options.mode ?? 0o600;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {
    // new file
  }
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = fs.openSync(tmp, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(dir);
}
