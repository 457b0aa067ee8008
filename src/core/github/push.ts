/**
 * Exactly-once append of records to the log file in a GitHub repository.
 *
 * The remote file is the source of truth for which ids are there. One attempt: read the file
 * (with the sha / commit it was read at), compute missing = records − ids in the file, write
 * old bytes (untouched; a `\n` added only when the last line lacks one) + the missing lines
 * in ONE commit that names what was read (Contents API PUT with the blob sha for files up to
 * 1 MB; above that the Git Data API: blob, tree on base_tree, commit on the parent, ref update
 * without force). Someone else committed in between (409, 422 stale sha, 422 not a fast
 * forward), or the answer was lost (5xx, reset, timeout after the plugin's retries): read
 * again and retry after a jittered backoff, a bounded number of times. Records already in the
 * file are never appended again, whoever put them there.
 *
 * Requests without conflicts: files ≤ 1 MB: 2 (GET, PUT); +2 only when the file or the
 * repository does not exist yet (repository and branch checks). Files > 1 MB: 6 (branch,
 * raw read, blob, tree, commit, ref) + 1 for the repository's default branch when no branch is
 * configured, + 1 the first time a file is found to be large within a push.
 */

import { GithubClient, GithubError, HUNDRED_MB, ONE_MB } from './client';
import { Outbox, withPushLock } from './outbox';
import { collectRecords, recordId, type Collected } from './records';
import * as crypto from 'crypto';
import {
  contentsRoute,
  describeTarget,
  listParts,
  partPath,
  readRawAt,
  readViaContents,
  readViaGit,
  repoRoute,
  scanLog,
  targetKey,
  type GithubTarget,
  type LogPart,
  type RemoteFile,
} from './remote';
import { encodePath } from './client';

export type PushPhase = 'collect' | 'read' | 'write' | 'conflict' | 'retry' | 'wait' | 'done';

export interface PushProgress {
  phase: PushPhase;
  message: string;
  /** Records waiting, when known. */
  pending?: number;
  attempt?: number;
}

export interface PushOptions {
  target: GithubTarget;
  client: GithubClient;
  /** Read–write attempts before giving up (records stay in the outbox). Default 10. */
  maxAttempts?: number;
  /** Of those, how many may fail on 5xx / network after the client's own retries. Default 3. */
  maxTransientFailures?: number;
  /** Jittered backoff between attempts: random in [0, min(max, base·2^n)]. Defaults 250 / 8000 ms. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  onProgress?: (p: PushProgress) => void;
  /** Commit message; default "bot-memory-audit: append N records [skip ci]". */
  message?: (n: number) => string;
  /** What earlier pushes learned about the target (updated in place; pushFolder persists it). */
  hint?: TargetHint;
  /** Ids the ledger says are in the log: each one missing from every part is reported, and re-sent when `restorable` has it. */
  expected?: ReadonlySet<string>;
  /** Lines (by id) that can be pushed again when a record vanished from the log. */
  restorable?: ReadonlyMap<string, string>;
  /**
   * Rotate when a push would take the active file past this many bytes: its content moves to
   * the next `<stem>-NNNN<ext>` and the active file starts afresh, in one commit. 0 = never.
   * Default 900 KB (Contents-API readers cannot read a file over 1 MB).
   */
  rotateAtBytes?: number;
}

export const DEFAULT_ROTATE_AT = 900 * 1024;

export interface TargetHint {
  /** The file was over 1 MB: go straight to the Git Data API path. */
  large?: boolean;
  defaultBranch?: string;
  /** Rotated parts seen: path → blob sha and the ids it holds (a part is read again only when its sha changes). Undefined: never looked. */
  parts?: Record<string, { sha: string; ids: string[] }>;
  /**
   * The active file's first line (hashed) when `parts` was listed. A rotation always gives the
   * active file a new first line, so while it is the same no part can have been added.
   */
  partsHead?: string;
}

export interface PushResult {
  /** Records this push appended (restored ones included). */
  appended: number;
  /** Records that were already in the remote file. */
  alreadyPresent: number;
  /** Lines in the remote file that are not records (kept untouched). */
  remoteUnparsed: number;
  commit: string | null;
  attempts: number;
  via: 'contents' | 'git' | 'none';
  /** Ledger ids found in no part of the log (someone rewrote it). */
  vanished: string[];
  /** Of those, the ones pushed again by this push. */
  restored: string[];
  /** Of those, the ones that could not be pushed again (no line for them any more). */
  lost: string[];
  /** The part the active file's content moved to, when this push rotated the log. */
  rotatedTo: string | null;
}

const defaultMessage = (n: number): string => `bot-memory-audit: append ${n} record${n === 1 ? '' : 's'} [skip ci]`;

/** 409, and the 422s that mean someone wrote first (classified by the client: toGithubError). */
function isConflict(e: GithubError): boolean {
  return e.kind === 'conflict';
}

function isTransient(e: GithubError): boolean {
  return e.kind === 'server' || e.kind === 'network' || (e.kind === 'other' && (e.status ?? 0) >= 500);
}

/** Old bytes untouched, then the new lines, each ending in `\n`. */
export function appendLines(old: Buffer, lines: readonly string[]): Buffer {
  const sep = old.length > 0 && old[old.length - 1] !== 0x0a ? '\n' : '';
  return Buffer.concat([old, Buffer.from(sep + lines.map((l) => l + '\n').join(''), 'utf8')]);
}

/** The git blob sha of `content` (what GitHub names a file's bytes by). */
export function gitBlobSha(content: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * Ids in the rotated parts at `ref`: a directory listing (1 request), then a raw read of each
 * part whose blob sha is not the one cached in `hint.parts`.
 */
/** A short hash of the first line of `content` ('' when empty): changes whenever the log rotates. */
export function headOf(content: Buffer): string {
  if (content.length === 0) return '';
  const nl = content.indexOf(0x0a);
  return crypto
    .createHash('sha1')
    .update(content.subarray(0, nl < 0 ? content.length : nl))
    .digest('hex')
    .slice(0, 16);
}

async function partIds(
  client: GithubClient,
  t: GithubTarget,
  ref: string | undefined,
  hint: TargetHint,
  head: string,
): Promise<{ ids: Set<string>; parts: LogPart[] }> {
  const parts = await listParts(client, t, ref);
  const cache: NonNullable<TargetHint['parts']> = {};
  const ids = new Set<string>();
  for (const p of parts) {
    let entry = hint.parts?.[p.path];
    if (!entry || entry.sha !== p.sha) {
      const bytes = await readRawAt(client, t, p.path, ref);
      entry = { sha: p.sha, ids: bytes ? [...scanLog(bytes, recordId).ids] : [] };
    }
    cache[p.path] = entry;
    for (const id of entry.ids) ids.add(id);
  }
  hint.parts = cache;
  hint.partsHead = head;
  return { ids, parts };
}

/** One push's settings and what it learns while it runs (large file, default branch). */
interface PushRun {
  client: GithubClient;
  t: GithubTarget;
  hint: TargetHint;
  options: PushOptions;
  records: ReadonlyMap<string, string>;
  progress: (p: PushProgress) => void;
  large: boolean;
  branch: string | undefined;
}

/** An attempt that learned something (the file is large, the branch was renamed) and is redone without counting. */
const REDO = Symbol('redo');
type Attempt = PushResult | typeof REDO;

/** What the log holds compared with what we push. */
interface LogState {
  scan: ReturnType<typeof scanLog>;
  /** Read at (the Git Data API's commit, or the branch for the Contents API). */
  ref: string | undefined;
  head: string;
  parts: LogPart[] | undefined;
  /** [id, line] to append, restored records included. */
  missing: [string, string][];
  result: Omit<PushResult, 'appended' | 'commit' | 'via' | 'rotatedTo'>;
}

/** Pushes `records` (id → line); resolves when every one of them is in the remote log. */
export async function pushRecords(records: ReadonlyMap<string, string>, options: PushOptions): Promise<PushResult> {
  const hint = options.hint ?? {};
  const run: PushRun = {
    client: options.client,
    t: options.target,
    hint,
    options,
    records,
    progress: options.onProgress ?? (() => undefined),
    large: hint.large === true,
    branch: options.target.branch ?? hint.defaultBranch,
  };
  const maxAttempts = options.maxAttempts ?? 10;
  const maxTransient = options.maxTransientFailures ?? 3;
  let lastError: GithubError | undefined;
  let transient = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const r = await pushOnce(run, attempt);
      if (r !== REDO) return r;
      attempt--;
    } catch (e) {
      const err = e instanceof GithubError ? e : new GithubError('other', e instanceof Error ? e.message : String(e));
      if (!isConflict(err) && !isTransient(err)) throw err;
      lastError = err;
      if (isTransient(err)) transient++;
      if (attempt === maxAttempts || transient >= maxTransient) break;
      await backOff(run, err, attempt, maxAttempts);
    }
  }
  throw new GithubError(
    lastError && isConflict(lastError) ? 'conflict' : (lastError?.kind ?? 'other'),
    `Gave up after ${transient >= maxTransient ? transient : maxAttempts} attempts (${lastError?.message ?? 'unknown error'}). Nothing was lost: the records stay in the outbox for the next push.`,
    lastError?.status,
  );
}

/** Jittered exponential backoff before the next attempt, said through progress. */
async function backOff(run: PushRun, err: GithubError, attempt: number, maxAttempts: number): Promise<void> {
  const base = run.options.backoffBaseMs ?? 250;
  const cap = run.options.backoffMaxMs ?? 8000;
  const delay = Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
  run.progress({
    phase: isConflict(err) ? 'conflict' : 'retry',
    message: isConflict(err)
      ? `The log changed meanwhile; reading it again (attempt ${attempt + 1} of ${maxAttempts})`
      : `${err.message}; trying again (attempt ${attempt + 1} of ${maxAttempts})`,
    attempt,
  });
  await new Promise((r) => setTimeout(r, delay));
}

/** One read–compare–write attempt. */
async function pushOnce(run: PushRun, attempt: number): Promise<Attempt> {
  run.progress({ phase: 'read', message: `Reading ${describeTarget(run.t)}`, pending: run.records.size, attempt });
  const rf = await readRemote(run);
  if (rf === REDO) return REDO;
  run.hint.large = run.large;
  const log = await compareWithLog(run, rf);
  if (log.missing.length === 0) return { ...log.result, attempts: attempt, appended: 0, commit: null, via: 'none', rotatedTo: null };
  return writeMissing(run, rf, log, attempt);
}

/** The active log file, through the Contents API while it is small, else the Git Data API. */
async function readRemote(run: PushRun): Promise<RemoteFile | typeof REDO> {
  const { client, t, hint } = run;
  if (!run.large) {
    const r = await readViaContents(client, t);
    if (!('large' in r)) return r;
    run.large = true;
  }
  if (run.branch === undefined) run.branch = hint.defaultBranch = (await client.request<{ default_branch: string }>(`GET ${repoRoute(t)}`)).data.default_branch;
  try {
    return await readViaGit(client, t, run.branch);
  } catch (e) {
    // A remembered default branch that is gone (renamed): ask the repository again.
    if (!(e instanceof GithubError && e.kind === 'not_found' && t.branch === undefined && hint.defaultBranch !== undefined)) throw e;
    hint.defaultBranch = run.branch = undefined;
    return REDO;
  }
}

/**
 * What the log holds: the active file, plus the rotated parts when it matters: a record the
 * ledger names is not in the active file (rotated away, or the log was rewritten: the parts are
 * listed and checked), or a record would be appended (the parts' cached ids serve while the
 * active file's first line is the one they were listed with).
 */
async function compareWithLog(run: PushRun, rf: RemoteFile): Promise<LogState> {
  const { client, t, hint, records, options } = run;
  const scan = scanLog(rf.content, recordId);
  const inLog = new Set(scan.ids);
  const absentExpected = options.expected ? [...options.expected].filter((id) => !scan.ids.has(id)) : [];
  const wouldAppend = [...records.keys()].some((id) => !scan.ids.has(id));
  const ref = rf.via === 'git' ? rf.commit : t.branch;
  const head = headOf(rf.content);
  let parts: LogPart[] | undefined;
  if (absentExpected.length > 0 || (wouldAppend && (hint.parts === undefined || hint.partsHead !== head))) {
    const p = await partIds(client, t, ref, hint, head);
    parts = p.parts;
    for (const id of p.ids) inLog.add(id);
  } else if (wouldAppend) {
    for (const e of Object.values(hint.parts ?? {})) for (const id of e.ids) inLog.add(id);
  }
  const vanished = absentExpected.filter((id) => !inLog.has(id));
  const restored = vanished.filter((id) => options.restorable?.has(id) && !records.has(id));
  const lost = vanished.filter((id) => !options.restorable?.has(id) && !records.has(id));
  const missing = [...records].filter(([id]) => !inLog.has(id));
  for (const id of restored) missing.push([id, options.restorable!.get(id)!]);
  const alreadyPresent = records.size - [...records.keys()].filter((id) => !inLog.has(id)).length;
  return { scan, ref, head, parts, missing, result: { alreadyPresent, remoteUnparsed: scan.unparsed, attempts: 0, vanished, restored, lost } };
}

/** Appends the missing records in one commit (rotating the log first when it would grow past the limit). */
async function writeMissing(run: PushRun, rf: RemoteFile, log: LogState, attempt: number): Promise<Attempt> {
  const { client, t, hint, options } = run;
  const message = options.message ?? defaultMessage;
  const rotateAt = options.rotateAtBytes ?? DEFAULT_ROTATE_AT;
  const n = log.missing.length;
  const lines = log.missing.map(([, l]) => l);
  const next = appendLines(rf.content, lines);
  const rotate = rotateAt > 0 && rf.content.length > 0 && next.length > rotateAt;
  if (!rotate && next.length > HUNDRED_MB)
    throw new GithubError(
      'too_large',
      `The log would grow past 100 MB (GitHub's file size limit); start a new log file (setting botMemory.github.path / --path), or turn rotation on.`,
    );
  // Rotation (one commit of two files) and a file past 1 MB go through the Git Data API, based on a commit we read at.
  if (rf.via === 'contents' && (rotate || next.length > ONE_MB)) {
    run.large = hint.large = true;
    return REDO;
  }
  run.progress({ phase: 'write', message: `Appending ${n} record${n === 1 ? '' : 's'} to ${describeTarget(t)}`, pending: n, attempt });
  const result = { ...log.result, attempts: attempt, via: rf.via };
  if (rotate) return { ...result, ...(await rotateAndAppend(run, rf, log, lines)) };
  let commit: string;
  if (rf.via === 'contents') commit = await putContents(client, t, next, rf.sha, message(n));
  // An empty repository has no commit to build on: the Contents API creates the first.
  else if (rf.commit === undefined) commit = await putContents(client, t, next, undefined, message(n));
  else commit = await gitCommit(client, t, rf, [{ path: t.path, content: next }], message(n));
  // Our commit was based on what we read: the parts are still the ones cached (a file we created now has a first line).
  if (hint.parts !== undefined && hint.partsHead === log.head) hint.partsHead = headOf(next);
  return { ...result, appended: n, commit, rotatedTo: null };
}

/** Moves the active file's content to the next part and starts it afresh with `lines`, in one commit. */
async function rotateAndAppend(run: PushRun, rf: RemoteFile, log: LogState, lines: string[]): Promise<{ appended: number; commit: string; rotatedTo: string }> {
  const { client, t, hint } = run;
  const parts = log.parts ?? (await partIds(client, t, log.ref, hint, log.head)).parts;
  const rotatedTo = partPath(t.path, Math.max(0, ...parts.map((p) => p.n)) + 1);
  const fresh = appendLines(Buffer.alloc(0), lines);
  const n = lines.length;
  const msg = `bot-memory-audit: move ${log.scan.lines} lines to ${rotatedTo.split('/').pop()}, append ${n} record${n === 1 ? '' : 's'} [skip ci]`;
  const files = [
    { path: rotatedTo, sha: gitBlobSha(rf.content) },
    { path: t.path, content: fresh },
  ];
  const commit = await gitCommit(client, t, rf, files, msg);
  hint.parts = { ...(hint.parts ?? {}), [rotatedTo]: { sha: gitBlobSha(rf.content), ids: [...log.scan.ids] } };
  hint.partsHead = headOf(fresh);
  run.large = hint.large = fresh.length > ONE_MB;
  return { appended: n, commit, rotatedTo };
}

async function putContents(client: GithubClient, t: GithubTarget, content: Buffer, sha: string | undefined, message: string): Promise<string> {
  const r = await client.request<{ commit: { sha: string } }>(`PUT ${contentsRoute(t)}`, {
    message,
    content: content.toString('base64'),
    ...(sha ? { sha } : {}),
    ...(t.branch ? { branch: t.branch } : {}),
  });
  return r.data.commit.sha;
}

/** One commit of `files` (by blob sha, or content uploaded as a blob) on the commit `remote` was read at; the ref moves only by fast-forward. */
async function gitCommit(
  client: GithubClient,
  t: GithubTarget,
  remote: RemoteFile,
  files: ({ path: string; sha: string } | { path: string; content: Buffer })[],
  message: string,
): Promise<string> {
  const repo = repoRoute(t);
  const tree: { path: string; mode: '100644'; type: 'blob'; sha: string }[] = [];
  for (const f of files) {
    const sha =
      'sha' in f
        ? f.sha
        : (await client.request<{ sha: string }>(`POST ${repo}/git/blobs`, { content: f.content.toString('base64'), encoding: 'base64' })).data.sha;
    tree.push({ path: f.path, mode: '100644', type: 'blob', sha });
  }
  const treeSha = await client.request<{ sha: string }>(`POST ${repo}/git/trees`, { base_tree: remote.tree, tree });
  const commit = await client.request<{ sha: string }>(`POST ${repo}/git/commits`, { message, tree: treeSha.data.sha, parents: [remote.commit] });
  await client.request(`PATCH ${repo}/git/refs/heads/${encodePath(remote.branch!)}`, { sha: commit.data.sha, force: false });
  return commit.data.sha;
}

// ---- a sessions folder's outbox --------------------------------------------------------

export interface FolderPushResult extends PushResult {
  collected: Collected;
  /** Records newly added to the outbox by this run's collection. */
  queued: number;
  /** Records that were pending at the start of the push. */
  pending: number;
  /** Records still in the outbox afterwards (0 on success). */
  left: number;
  /** `log_rewritten` when records the ledger named had vanished from the log. */
  findings: LogFinding[];
}

export interface LogFinding {
  kind: 'log_rewritten';
  /** `error` when some records could not be restored, else `warning`. */
  severity: 'error' | 'warning';
  message: string;
  target: string;
  restored: string[];
  lost: string[];
}

export interface FolderPushOptions extends PushOptions {
  collect?: boolean;
}

/**
 * Collects the folder's records into its outbox, pushes everything pending, and records the
 * result in the ledger. Every push (also one with nothing pending) checks that the records the
 * ledger names are still in the log, and pushes the vanished ones again. On failure the
 * outbox keeps every record and the error is thrown.
 */
export async function pushFolder(sessionsDir: string, options: FolderPushOptions): Promise<FolderPushResult> {
  const progress = options.onProgress ?? (() => undefined);
  return withPushLock(sessionsDir, async () => {
    const outbox = new Outbox(sessionsDir, targetKey(options.target));
    let collected: Collected = { records: [], interactions: 0, feedback: 0, skipped: [] };
    let queued = 0;
    if (options.collect !== false) {
      progress({ phase: 'collect', message: 'Collecting finished turns and feedback' });
      collected = await collectRecords(sessionsDir);
      queued = outbox.add(collected.records);
    }
    const pushed = outbox.pushedIds();
    const pending = outbox.pending(pushed);
    if (pending.size === 0 && pushed.size === 0) {
      outbox.compact();
      progress({ phase: 'done', message: 'Nothing to push', pending: 0 });
      return {
        collected,
        queued,
        pending: 0,
        left: 0,
        appended: 0,
        alreadyPresent: 0,
        remoteUnparsed: 0,
        commit: null,
        attempts: 0,
        via: 'none',
        vanished: [],
        restored: [],
        lost: [],
        rotatedTo: null,
        findings: [],
      };
    }
    const hint = outbox.readHint();
    const restorable = new Map(collected.records.filter((r) => pushed.has(r.id)).map((r) => [r.id, r.line]));
    const r = await pushRecords(pending, { ...options, hint, expected: pushed, restorable });
    outbox.writeHint(hint);
    outbox.markPushed([...pending.keys(), ...r.restored], r.commit);
    if (r.lost.length) outbox.markLost(r.lost);
    const findings: LogFinding[] = [];
    if (r.vanished.length) {
      const where = describeTarget(options.target);
      const message =
        `The log ${where} was rewritten: ${r.vanished.length} record${r.vanished.length === 1 ? '' : 's'} pushed earlier ${r.vanished.length === 1 ? 'was' : 'were'} gone. ` +
        `${r.restored.length} pushed again${r.lost.length ? `; ${r.lost.length} could not be (their journals or feedback are gone here): ${r.lost.slice(0, 5).join(', ')}${r.lost.length > 5 ? ', …' : ''}` : ''}.`;
      findings.push({
        kind: 'log_rewritten',
        severity: r.lost.length ? 'error' : 'warning',
        message,
        target: targetKey(options.target),
        restored: r.restored,
        lost: r.lost,
      });
    }
    progress({ phase: 'done', message: `Appended ${r.appended}, ${r.alreadyPresent} already there`, pending: 0 });
    return { ...r, collected, queued, pending: pending.size, left: outbox.pending().size, findings };
  });
}
