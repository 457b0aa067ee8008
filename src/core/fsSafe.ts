/**
 * The ONE module that touches the file system for writing, and for reading files a hostile
 * sessions folder may hold (docs/security.md). Every rule lives here:
 *
 * - Reads open regular files only: `lstat`, then `open(O_RDONLY|O_NOFOLLOW|O_NONBLOCK)`, then
 *   `fstat` (must be a regular file, the same inode the lstat saw). A FIFO, device, socket or
 *   (unless the caller allows it) a symbolic link is a typed `UnsafeFileError`, never a hang.
 * - No write or delete follows a symbolic link: files are opened with O_NOFOLLOW, temp names
 *   and lock files with O_CREAT|O_EXCL|O_NOFOLLOW, a symbolic link at a target is refused,
 *   and every folder between the caller's root and the file is checked with `lstat` to be a
 *   real folder (no symbolic link anywhere below the root) — so nothing is written or deleted
 *   outside the root.
 * - Appends: O_APPEND|O_NOFOLLOW, one `write()`, a `\n` first when the file does not end in one
 *   (a torn line left by a killed writer never swallows our record), fsync file + folder, 0600.
 * - Atomic replace: O_EXCL temp name in the same folder, fsync, rename, fsync folder.
 * - Folders are created 0700, one level at a time, never through a symbolic link.
 *
 * A unit test (test/core/fsSafe.test.ts) checks that no other module calls the fs write,
 * rename or delete APIs directly.
 */

import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomBytes } from 'crypto';

const C = fs.constants;
const O_NOFOLLOW = C.O_NOFOLLOW ?? 0;
const O_NONBLOCK = C.O_NONBLOCK ?? 0;

export type UnsafeReason = 'symlink' | 'not_regular' | 'outside_root' | 'not_directory';

/** A path we refuse to touch: a symbolic link, a FIFO/device/socket, or outside the root. */
export class UnsafeFileError extends Error {
  readonly code = 'EUNSAFE';
  constructor(
    readonly reason: UnsafeReason,
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export class ShortWriteError extends Error {}

/** Where a write may land: every folder from `root` down to the file must be a real folder. */
export interface Confined {
  /** The folder nothing may leave (the sessions folder). Default: the file's own folder. */
  root?: string;
}

function kindOf(st: fs.Stats): string {
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

function notRegular(file: string, st: fs.Stats): UnsafeFileError {
  const reason: UnsafeReason = st.isSymbolicLink() ? 'symlink' : 'not_regular';
  return new UnsafeFileError(reason, file, `${file} is ${kindOf(st)}, not a regular file: not opened`);
}

/** A short human reason for any error this module (or fs) throws. */
export function describeError(e: unknown): string {
  if (e instanceof UnsafeFileError) return e.message;
  const err = e as NodeJS.ErrnoException;
  switch (err?.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'a symbolic link (not followed)';
    case 'EISDIR':
      return 'a folder, not a file';
    case 'ENXIO':
      return 'not a regular file (FIFO without reader or device)';
    default:
      return err?.message ?? String(e);
  }
}

export function isUnsafe(e: unknown): e is UnsafeFileError {
  return e instanceof UnsafeFileError;
}

// ---- reading ----------------------------------------------------------------------------

export interface ReadOpenOptions {
  /** Follow a symbolic link at the last component (only for links the caller already vetted, e.g. discovery's). */
  followSymlink?: boolean;
  /**
   * With `followSymlink`: a `stat` (links followed) of `file` the caller has just taken, used instead
   * of a fresh `lstat` (one system call fewer per file; background summaries stat every file for their
   * fingerprint). It must show a regular file, and the opened file must be that inode; a file replaced
   * since is looked at afresh, as without it. Ignored without `followSymlink`.
   */
  pre?: fs.Stats;
}

function readFlags(o: ReadOpenOptions): number {
  return C.O_RDONLY | O_NONBLOCK | (o.followSymlink ? 0 : O_NOFOLLOW);
}

function checkOpened(file: string, pre: fs.Stats, st: fs.Stats): void {
  if (!st.isFile()) throw notRegular(file, st);
  if (!pre.isSymbolicLink() && (pre.ino !== st.ino || pre.dev !== st.dev)) {
    throw new UnsafeFileError('not_regular', file, `${file} was replaced while being opened: not read`);
  }
}

function preStat(file: string, o: ReadOpenOptions): fs.Stats {
  const pre = fs.lstatSync(file);
  if (pre.isSymbolicLink()) {
    if (!o.followSymlink) throw notRegular(file, pre);
    const target = fs.statSync(file);
    if (!target.isFile()) throw notRegular(file, target);
    return pre;
  }
  if (!pre.isFile()) throw notRegular(file, pre);
  return pre;
}

/** Opens a regular file for reading (never a FIFO, device, socket or unvetted symlink). Caller closes `fd`. */
export function openReadSync(file: string, o: ReadOpenOptions = {}): { fd: number; stat: fs.Stats } {
  if (o.pre && o.followSymlink) {
    const opened = openStattedSync(file, o.pre);
    if (opened) return opened;
  }
  const pre = preStat(file, o);
  const fd = fs.openSync(file, readFlags(o));
  try {
    const st = fs.fstatSync(fd);
    checkOpened(file, pre, st);
    return { fd, stat: st };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** openReadSync from the caller's stat (links followed): null when the file opened is not that inode (look again). */
function openStattedSync(file: string, pre: fs.Stats): { fd: number; stat: fs.Stats } | null {
  if (!pre.isFile()) throw notRegular(file, pre);
  const fd = fs.openSync(file, readFlags({ followSymlink: true }));
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  if (st.isFile() && st.ino === pre.ino && st.dev === pre.dev) return { fd, stat: st };
  fs.closeSync(fd);
  return null;
}

/** Async twin of openReadSync (the extension host never blocks on it). Caller closes `fh`. */
export async function openRead(file: string, o: ReadOpenOptions = {}): Promise<{ fh: fsp.FileHandle; stat: fs.Stats }> {
  const pre = await fsp.lstat(file);
  if (pre.isSymbolicLink()) {
    if (!o.followSymlink) throw notRegular(file, pre);
    const target = await fsp.stat(file);
    if (!target.isFile()) throw notRegular(file, target);
  } else if (!pre.isFile()) throw notRegular(file, pre);
  const fh = await fsp.open(file, readFlags(o));
  try {
    const st = await fh.stat();
    checkOpened(file, pre, st);
    return { fh, stat: st };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function readAllSync(fd: number, size: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  // The first buffer is one byte more than fstat's size (a small file costs a small buffer, not
  // 64 KiB): reading it all is a short read, the end of a regular file, and needs no second read.
  let want = Math.min(size + 1, 16 * 1024 * 1024);
  for (;;) {
    const buf = Buffer.allocUnsafe(want);
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    total += n;
    if (n < buf.length) break;
    want = Math.max(64 * 1024, Math.min(size - total, 16 * 1024 * 1024));
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/** The whole content of a regular file (plus its stat, from the same open). */
export function readFileSync(file: string, o: ReadOpenOptions = {}): { data: Buffer; stat: fs.Stats } {
  const { fd, stat } = openReadSync(file, o);
  try {
    return { data: readAllSync(fd, stat.size), stat };
  } finally {
    fs.closeSync(fd);
  }
}

export function readBytesSync(file: string, o: ReadOpenOptions = {}): Buffer {
  return readFileSync(file, o).data;
}

export function readTextSync(file: string, o: ReadOpenOptions = {}): string {
  return readFileSync(file, o).data.toString('utf8');
}

/** null when the file does not exist; other problems throw. */
export function readTextIfExistsSync(file: string, o: ReadOpenOptions = {}): string | null {
  try {
    return readTextSync(file, o);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export async function readBytes(file: string, o: ReadOpenOptions = {}): Promise<{ data: Buffer; stat: fs.Stats }> {
  const { fh, stat } = await openRead(file, o);
  try {
    return { data: await fh.readFile(), stat };
  } finally {
    await fh.close();
  }
}

export async function readText(file: string, o: ReadOpenOptions = {}): Promise<string> {
  return (await readBytes(file, o)).data.toString('utf8');
}

/** lstat that never throws: null when missing or unreadable. */
/**
 * For a file the caller will open or replace whole (e.g. the SQLite index): throws a clear
 * `UnsafeFileError` when `file` (or what a link there points to) is a FIFO, device or socket.
 */
export function assertRegularOrMissing(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return; // missing (or a dangling link): nothing to open
  }
  if (!st.isFile()) throw notRegular(file, st);
}

export function lstatOrNull(file: string): fs.Stats | null {
  try {
    return fs.lstatSync(file);
  } catch {
    return null;
  }
}

/** Size of a regular file (no symlink followed), null when missing or not a regular file. */
export function regularSize(file: string): number | null {
  const st = lstatOrNull(file);
  return st && st.isFile() ? st.size : null;
}

// ---- confinement ------------------------------------------------------------------------

/**
 * Checks every folder from `root` (exclusive) down to `dir` (inclusive) is a real folder, not a
 * symbolic link, and that `dir` is `root` or below it. With `create`, missing folders are made
 * (0700), one at a time. The root itself may be a symbolic link (the user chose it).
 */
function walkFolders(dir: string, root: string, create: boolean): void {
  const absRoot = path.resolve(root);
  const absDir = path.resolve(dir);
  const rel = path.relative(absRoot, absDir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new UnsafeFileError('outside_root', absDir, `${absDir} is outside ${absRoot}: not written`);
  }
  if (create && !fs.existsSync(absRoot)) fs.mkdirSync(absRoot, { recursive: true, mode: 0o700 });
  let cur = absRoot;
  for (const part of rel === '' ? [] : rel.split(path.sep)) {
    cur = path.join(cur, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(cur);
    } catch (e) {
      if (!create || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      try {
        fs.mkdirSync(cur, { mode: 0o700 });
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
      }
      st = fs.lstatSync(cur);
    }
    if (st.isSymbolicLink()) throw new UnsafeFileError('symlink', cur, `${cur} is a symbolic link: nothing is written or deleted through it`);
    if (!st.isDirectory()) throw new UnsafeFileError('not_directory', cur, `${cur} is ${kindOf(st)}, not a folder`);
  }
}

function rootOf(file: string, c: Confined): string {
  return c.root ?? path.dirname(path.resolve(file));
}

/** Throws unless every folder between the root and `file` is a real folder inside the root. */
export function assertConfined(file: string, c: Confined = {}): void {
  walkFolders(path.dirname(path.resolve(file)), rootOf(file, c), false);
}

/** Creates `dir` (0700) and its missing parents below `root`, never through a symbolic link. */
export function ensureDir(dir: string, c: Confined = {}): void {
  walkFolders(dir, c.root ?? path.dirname(path.resolve(dir)), true);
  if (c.root === undefined) {
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (!st) fs.mkdirSync(dir, { mode: 0o700 });
    else if (st.isSymbolicLink()) throw new UnsafeFileError('symlink', dir, `${dir} is a symbolic link: nothing is written through it`);
    else if (!st.isDirectory()) throw new UnsafeFileError('not_directory', dir, `${dir} is ${kindOf(st)}, not a folder`);
  }
}

/** Real folders only from root to the parent of `file`, created when missing. */
function prepareParent(file: string, c: Confined): void {
  const dir = path.dirname(path.resolve(file));
  walkFolders(dir, rootOf(file, c), true);
}

export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, C.O_RDONLY | C.O_DIRECTORY | O_NOFOLLOW);
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on folders; the file itself is already synced.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

// ---- appending --------------------------------------------------------------------------

export interface AppendResult {
  /** Byte offset where our data starts (after a `\n` we added to close a torn line). */
  offset: number;
  /** True when a `\n` was written first because the file did not end in one. */
  closedTornLine: boolean;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function lastByteIsNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1);
  return fs.readSync(fd, b, 0, 1, size - 1) === 1 && b[0] === 0x0a;
}

const NOTHING = Buffer.alloc(0);

/**
 * Returns once no `write()` to this file is in progress. Linux file systems (ext4, xfs, btrfs,
 * tmpfs, overlayfs) run every `write()` to a regular file under the inode's lock, even one of
 * 0 bytes, so a 0-byte write waits for a concurrent append to finish. Elsewhere it returns at
 * once and the stable-size wait below is what is left.
 */
function writeBarrier(fd: number): number {
  fs.writeSync(fd, NOTHING, 0, 0);
  return fs.fstatSync(fd).size;
}

/**
 * True when the file ends in a torn line (a killed writer's partial append). Another live
 * process's append grows the file page by page, so a size seen mid-write can end mid-line; a
 * writer preempted mid-write (a loaded machine) keeps that size for many milliseconds. So a
 * torn-looking end counts only when it is still the end after a write barrier (no append in
 * progress), and the size then stays the same for a moment (systems without the barrier).
 * Mistaking a live append for a torn line would put a blank line after it; seeing a live
 * append's partial end as a fresh line is harmless (ours is queued behind it by O_APPEND).
 */
function endsTorn(fd: number, size: number): boolean {
  if (lastByteIsNewline(fd, size)) return false;
  let seen = writeBarrier(fd);
  for (let stable = 0; stable < 3;) {
    if (seen === 0 || lastByteIsNewline(fd, seen)) return false;
    Atomics.wait(sleeper, 0, 0, 5);
    const now = writeBarrier(fd);
    if (now === seen) stable++;
    else {
      seen = now;
      stable = 0;
    }
  }
  return true;
}

/**
 * One durable append of `data` (which must end in `\n`): O_APPEND|O_NOFOLLOW|O_NONBLOCK,
 * regular file only, a `\n` first when the file does not end in one, ONE write, fsync file
 * and folder, 0600 for a new file.
 */
export function appendDurable(file: string, data: Buffer, c: Confined = {}): AppendResult {
  prepareParent(file, c);
  const fd = fs.openSync(file, C.O_CREAT | C.O_APPEND | C.O_RDWR | O_NOFOLLOW | O_NONBLOCK, 0o600);
  let result: AppendResult;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, st);
    const closedTornLine = st.size > 0 && endsTorn(fd, st.size);
    const out = closedTornLine ? Buffer.concat([Buffer.from('\n'), data]) : data;
    const n = fs.writeSync(fd, out, 0, out.length);
    if (n !== out.length) throw new ShortWriteError(`short write to ${file}: ${n} of ${out.length} bytes`);
    fs.fsyncSync(fd);
    const after = fs.fstatSync(fd).size;
    result = { offset: after - data.length, closedTornLine };
  } finally {
    fs.closeSync(fd);
  }
  fsyncDir(path.dirname(file));
  return result;
}

export function appendLineDurable(file: string, line: string, c: Confined = {}): AppendResult {
  if (line.includes('\n')) throw new Error('a journal line must not contain a newline');
  return appendDurable(file, Buffer.from(line + '\n', 'utf8'), c);
}

/** Several lines in ONE write (so concurrent appenders never interleave them). */
export function appendLinesDurable(file: string, lines: readonly string[], c: Confined = {}): AppendResult | null {
  for (const l of lines) if (l.includes('\n')) throw new Error('a journal line must not contain a newline');
  if (lines.length === 0) return null;
  return appendDurable(file, Buffer.from(lines.join('\n') + '\n', 'utf8'), c);
}

/** Raw lines (bytes, each without its `\n`) in ONE write: recovered bytes are appended as written. */
export function appendRawLinesDurable(file: string, lines: readonly Buffer[], c: Confined = {}): AppendResult | null {
  for (const l of lines) if (l.includes(0x0a)) throw new Error('a journal line must not contain a newline');
  if (lines.length === 0) return null;
  const parts: Buffer[] = [];
  for (const l of lines) parts.push(l, Buffer.from('\n'));
  return appendDurable(file, Buffer.concat(parts), c);
}

/** Where an append to `file` would start now (after the `\n` that would close a torn line). */
export function appendOffset(file: string): number {
  let r;
  try {
    r = openReadSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  try {
    if (r.stat.size === 0) return 0;
    const b = Buffer.alloc(1);
    fs.readSync(r.fd, b, 0, 1, r.stat.size - 1);
    return r.stat.size + (b[0] === 0x0a ? 0 : 1);
  } finally {
    fs.closeSync(r.fd);
  }
}

// ---- creating and replacing -------------------------------------------------------------

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

function toBuffer(data: string | Buffer): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

/**
 * Creates `file` with `data` only if nothing (not even a dangling symbolic link) is there:
 * O_CREAT|O_EXCL|O_NOFOLLOW, 0600, fsync (`sync: false`: none, for a lock whose content a crash
 * may lose). Throws EEXIST otherwise. For lock files.
 */
export function createExclusive(file: string, data: string | Buffer, c: Confined & { mode?: number; sync?: boolean } = {}): void {
  prepareParent(file, c);
  const fd = fs.openSync(file, C.O_CREAT | C.O_EXCL | C.O_WRONLY | O_NOFOLLOW, c.mode ?? 0o600);
  try {
    writeAll(fd, toBuffer(data));
    if (c.sync !== false) fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
    throw e;
  }
  fs.closeSync(fd);
}

export interface AtomicOptions extends Confined {
  /** File mode for a new file (default 0600); an existing file keeps its mode. */
  mode?: number;
  /** Force this mode even when the file exists (exports of transcript text: 0600). */
  forceMode?: boolean;
  /** `false`: no fsync of the file or the folder (still atomic for readers, not durable across a power loss). */
  sync?: boolean;
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes `data` to an O_EXCL temp file next to `file` and fsyncs it; returns the temp path. */
function writeTemp(file: string, data: Buffer, mode: number, sync = true): string {
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, C.O_CREAT | C.O_EXCL | C.O_WRONLY | O_NOFOLLOW, mode);
  try {
    writeAll(fd, data);
    fs.fchmodSync(fd, mode);
    if (sync) fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  return tmp;
}

/** The mode an atomic replace gives `file`; refuses a symbolic link or non-regular file there. */
function targetMode(file: string, o: AtomicOptions): number {
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw notRegular(file, st);
  if (st && !o.forceMode) return st.mode & 0o777;
  return o.mode ?? 0o600;
}

/**
 * Temp file (O_EXCL|O_NOFOLLOW) in the same folder, fsync, rename over the target, fsync the
 * folder. Readers see the old or the new content, never a mix. A symbolic link, FIFO or
 * device at the target is refused (never replaced, never followed).
 */
export function atomicReplace(file: string, data: string | Buffer, o: AtomicOptions = {}): void {
  prepareParent(file, o);
  const mode = targetMode(file, o);
  const tmp = writeTemp(file, toBuffer(data), mode, o.sync !== false);
  try {
    targetMode(file, o); // a link planted meanwhile is still refused
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  if (o.sync !== false) fsyncDir(path.dirname(file));
}

/**
 * Atomic replace with a last look: `data` is written and fsynced to a temp file first, then,
 * just before the rename, `stillSame()` must return true (e.g. the sidecar's fingerprint is
 * still the planned one); otherwise the temp file is dropped and false is returned. The
 * window between the check and the rename is a few microseconds (no I/O but a stat); the
 * caller verifies after the rename (see repair/apply.ts) to catch even that one.
 */
export function atomicReplaceIf(file: string, data: string | Buffer, stillSame: () => boolean, o: AtomicOptions = {}): boolean {
  prepareParent(file, o);
  const mode = targetMode(file, o);
  const tmp = writeTemp(file, toBuffer(data), mode);
  try {
    if (!stillSame()) {
      fs.rmSync(tmp, { force: true });
      return false;
    }
    targetMode(file, o);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDir(path.dirname(file));
  return true;
}

/** Copies a regular file (never a link, FIFO or device) to `dest` atomically, 0600. */
export function copyFileSafe(src: string, dest: string, o: AtomicOptions = {}): void {
  const data = readBytesSync(src);
  atomicReplace(dest, data, { mode: 0o600, ...o });
}

/** Hard link `existing` at `file` (fails with EEXIST when anything is there; never follows). */
export function linkExclusive(existing: string, file: string, c: Confined = {}): void {
  assertConfined(file, c);
  fs.linkSync(existing, file);
}

/** Renames inside the root; neither end may be a symbolic link. */
export function renameSafe(from: string, to: string, c: Confined = {}): void {
  assertConfined(from, c);
  assertConfined(to, c);
  const src = fs.lstatSync(from);
  if (src.isSymbolicLink()) throw notRegular(from, src);
  const dst = fs.lstatSync(to, { throwIfNoEntry: false });
  if (dst && dst.isSymbolicLink()) throw notRegular(to, dst);
  fs.renameSync(from, to);
  fsyncDir(path.dirname(to));
}

// ---- deleting ---------------------------------------------------------------------------

/**
 * Removes `file` (a symbolic link there is removed itself, never followed). Only inside the
 * root. Missing = nothing to do. A folder is refused (use removeTree).
 */
export function removeFile(file: string, c: Confined = {}): boolean {
  assertConfined(file, c);
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (!st) return false;
  if (st.isDirectory()) throw new UnsafeFileError('not_regular', file, `${file} is a folder: not removed as a file`);
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    return false;
  }
  return true;
}

/**
 * Removes a folder and what it holds, never following a symbolic link (links inside are
 * removed as links; a link AT `dir` is removed itself, its target untouched). Only inside the
 * root: the parent's real path must be the root's real path or below it.
 */
export function removeTree(dir: string, c: Confined = {}): void {
  assertConfined(dir, c);
  if (c.root !== undefined) {
    const realRoot = fs.realpathSync(c.root);
    const realParent = fs.realpathSync(path.dirname(path.resolve(dir)));
    const rel = path.relative(realRoot, realParent);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UnsafeFileError('outside_root', dir, `${dir} is outside ${c.root}: not removed`);
  }
  removeTreeNoFollow(dir);
}

function removeTreeNoFollow(p: string): void {
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isDirectory()) {
    // unlink, not rmSync: Node 24's rmSync refuses a link to a folder ("Path is a directory").
    try {
      fs.unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    return;
  }
  for (const name of fs.readdirSync(p)) removeTreeNoFollow(path.join(p, name));
  fs.rmdirSync(p);
}

/** Folders (real folders, not links) directly in `dir`, by name. [] when `dir` is missing or a link. */
export function listRealFolders(dir: string): string[] {
  const st = lstatOrNull(dir);
  if (!st || !st.isDirectory()) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.isSymbolicLink())
    .map((d) => d.name);
}

/** A private scratch folder (0700) under the system temp folder; removeTree it when done. */
export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Names in `dir` (throws when it is missing or unreadable). */
export function listNames(dir: string): string[] {
  return fs.readdirSync(dir);
}

/** stat (following a link) that never throws: null when missing or unreadable. Never opens the file. */
export function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

/**
 * Opens an existing regular file we own (e.g. the SQLite index) for in-place update:
 * O_RDWR|O_NOFOLLOW|O_NONBLOCK, regular file only. Write with pwriteSync; caller closes.
 */
export function openUpdateSync(file: string): number {
  const pre = fs.lstatSync(file);
  if (!pre.isFile()) throw notRegular(file, pre);
  const fd = fs.openSync(file, C.O_RDWR | O_NOFOLLOW | O_NONBLOCK);
  try {
    checkOpened(file, pre, fs.fstatSync(fd));
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Writes all of `data` at `position` of an fd from openUpdateSync. */
export function pwriteSync(fd: number, data: Buffer, position: number): void {
  let off = 0;
  while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off, position + off);
}

export function ftruncateSync(fd: number, length: number): void {
  fs.ftruncateSync(fd, length);
}

/** Copies a regular file (never a link, FIFO or device) to a new `dest` (O_EXCL: nothing may be there, not even a link). */
export function copyFileExclusive(src: string, dest: string, c: Confined = {}): void {
  const st = fs.lstatSync(src);
  if (!st.isFile()) throw notRegular(src, st);
  assertConfined(dest, c);
  fs.copyFileSync(src, dest, C.COPYFILE_EXCL);
}

/**
 * Streams a regular file (a link to one is followed when `followSymlink`: reading a user's
 * database through a link is fine; a FIFO or device is never opened) into a new `dest`
 * (O_EXCL|O_NOFOLLOW, 0600), 1 MiB at a time: for files too large to hold in memory.
 */
export function copyRegularStreamSync(src: string, dest: string, o: { followSymlink?: boolean } & Confined = {}): void {
  assertConfined(dest, o);
  const { fd } = openReadSync(src, { followSymlink: o.followSymlink });
  try {
    const out = fs.openSync(dest, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) fs.writeSync(out, buf, 0, n);
    } finally {
      fs.closeSync(out);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync of a regular file (no link followed). */
export function fsyncFile(file: string): void {
  const fd = openUpdateSync(file);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Copies a folder tree to a new `dest`; symbolic links are copied as links, never followed. */
export function copyTreeSync(src: string, dest: string, c: Confined = {}): void {
  prepareParent(dest, c);
  fs.cpSync(src, dest, { recursive: true, dereference: false, verbatimSymlinks: true, errorOnExist: true, force: false });
}
