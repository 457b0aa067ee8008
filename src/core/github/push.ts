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
import { contentsRoute, describeTarget, readViaContents, readViaGit, repoRoute, scanLog, targetKey, type GithubTarget, type RemoteFile } from './remote';
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
}

export interface TargetHint {
  /** The file was over 1 MB: go straight to the Git Data API path. */
  large?: boolean;
  defaultBranch?: string;
}

export interface PushResult {
  /** Records this push appended. */
  appended: number;
  /** Records that were already in the remote file. */
  alreadyPresent: number;
  /** Lines in the remote file that are not records (kept untouched). */
  remoteUnparsed: number;
  commit: string | null;
  attempts: number;
  via: 'contents' | 'git' | 'none';
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

/** Pushes `records` (id → line); resolves when every one of them is in the remote file. */
export async function pushRecords(records: ReadonlyMap<string, string>, options: PushOptions): Promise<PushResult> {
  const { client, target: t } = options;
  const progress = options.onProgress ?? (() => undefined);
  const maxAttempts = options.maxAttempts ?? 10;
  const base = options.backoffBaseMs ?? 250;
  const cap = options.backoffMaxMs ?? 8000;
  const message = options.message ?? defaultMessage;
  const hint = options.hint ?? {};
  let large = hint.large === true;
  let branch = t.branch ?? hint.defaultBranch;
  let lastError: GithubError | undefined;
  let transient = 0;
  const maxTransient = options.maxTransientFailures ?? 3;

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      progress({ phase: 'read', message: `Reading ${describeTarget(t)}`, pending: records.size, attempt });
      let remote: RemoteFile | undefined;
      if (!large) {
        const r = await readViaContents(client, t);
        if ('large' in r) large = true;
        else remote = r;
      }
      if (large) {
        if (branch === undefined) branch = hint.defaultBranch = (await client.request<{ default_branch: string }>(`GET ${repoRoute(t)}`)).data.default_branch;
        try {
          remote = await readViaGit(client, t, branch);
        } catch (e) {
          // A remembered default branch that is gone (renamed): ask the repository again.
          if (!(e instanceof GithubError && e.kind === 'not_found' && t.branch === undefined && hint.defaultBranch !== undefined)) throw e;
          hint.defaultBranch = branch = undefined;
          attempt--;
          continue;
        }
      }
      hint.large = large;
      const scan = scanLog(remote!.content, recordId);
      const missing = [...records].filter(([id]) => !scan.ids.has(id));
      const result = { alreadyPresent: records.size - missing.length, remoteUnparsed: scan.unparsed, attempts: attempt };
      if (missing.length === 0) return { ...result, appended: 0, commit: null, via: 'none' };
      const next = appendLines(remote!.content, missing.map(([, l]) => l));
      if (next.length > HUNDRED_MB) throw new GithubError('too_large', `The log would grow past 100 MB (GitHub's file size limit); start a new log file (setting botMemory.github.path / --path).`);
      progress({ phase: 'write', message: `Appending ${missing.length} record${missing.length === 1 ? '' : 's'} to ${describeTarget(t)}`, pending: missing.length, attempt });
      let commit: string;
      if (remote!.via === 'contents' && next.length <= ONE_MB) {
        commit = await putContents(client, t, next, remote!.sha, message(missing.length));
      } else if (remote!.via === 'contents') {
        // Grew past 1 MB: commit through the Git Data API, based on a commit we read at.
        large = hint.large = true;
        attempt--;
        continue;
      } else if (remote!.commit === undefined) {
        // An empty repository has no commit to build on: the Contents API creates the first.
        commit = await putContents(client, t, next, undefined, message(missing.length));
      } else {
        commit = await gitCommit(client, t, remote!, next, message(missing.length));
      }
      return { ...result, appended: missing.length, commit, via: remote!.via };
    } catch (e) {
      const err = e instanceof GithubError ? e : new GithubError('other', e instanceof Error ? e.message : String(e));
      if (!isConflict(err) && !isTransient(err)) throw err;
      lastError = err;
      if (isTransient(err)) transient++;
      if (attempt === maxAttempts || transient >= maxTransient) break;
      const delay = Math.random() * Math.min(cap, base * 2 ** (attempt - 1));
      progress({ phase: isConflict(err) ? 'conflict' : 'retry', message: isConflict(err) ? `The log changed meanwhile; reading it again (attempt ${attempt + 1} of ${maxAttempts})` : `${err.message}; trying again (attempt ${attempt + 1} of ${maxAttempts})`, attempt });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
  throw new GithubError(lastError && isConflict(lastError) ? 'conflict' : lastError?.kind ?? 'other', `Gave up after ${transient >= maxTransient ? transient : maxAttempts} attempts (${lastError?.message ?? 'unknown error'}). Nothing was lost: the records stay in the outbox for the next push.`, lastError?.status);
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

async function gitCommit(client: GithubClient, t: GithubTarget, remote: RemoteFile, content: Buffer, message: string): Promise<string> {
  const repo = repoRoute(t);
  const blob = await client.request<{ sha: string }>(`POST ${repo}/git/blobs`, { content: content.toString('base64'), encoding: 'base64' });
  const tree = await client.request<{ sha: string }>(`POST ${repo}/git/trees`, { base_tree: remote.tree, tree: [{ path: t.path, mode: '100644', type: 'blob', sha: blob.data.sha }] });
  const commit = await client.request<{ sha: string }>(`POST ${repo}/git/commits`, { message, tree: tree.data.sha, parents: [remote.commit] });
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
}

/**
 * Collects the folder's records into its outbox, pushes everything pending, and records the
 * result in the ledger. On failure the outbox keeps every record and the error is thrown.
 */
export async function pushFolder(sessionsDir: string, options: PushOptions & { collect?: boolean }): Promise<FolderPushResult> {
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
    const pending = outbox.pending();
    if (pending.size === 0) {
      outbox.compact();
      progress({ phase: 'done', message: 'Nothing to push', pending: 0 });
      return { collected, queued, pending: 0, left: 0, appended: 0, alreadyPresent: 0, remoteUnparsed: 0, commit: null, attempts: 0, via: 'none' };
    }
    const hint = outbox.readHint();
    const r = await pushRecords(pending, { ...options, hint });
    outbox.writeHint(hint);
    outbox.markPushed([...pending.keys()], r.commit);
    progress({ phase: 'done', message: `Appended ${r.appended}, ${r.alreadyPresent} already there`, pending: 0 });
    return { ...r, collected, queued, pending: pending.size, left: outbox.pending().size };
  });
}
