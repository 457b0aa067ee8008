/**
 * Reading the log file from GitHub, and naming what is missing when a read answers 404.
 *
 * Small files (≤ 1 MB): one Contents API GET gives the bytes (base64) and the blob `sha` the
 * next PUT must name. Larger files: the Contents API gives no content, so the log is read at
 * a fixed commit: the branch (commit + tree sha) then the file in the raw media type at that
 * commit, which is what a Git Data API commit is then based on.
 */

import { encodePath, GithubClient, GithubError, ONE_MB } from './client';

export interface GithubTarget {
  owner: string;
  repo: string;
  /** Undefined = the repository's default branch. */
  branch?: string;
  path: string;
}

export const DEFAULT_LOG_PATH = 'data/interactions.jsonl';

export function parseRepository(s: string): { owner: string; repo: string } | null {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)\/([A-Za-z0-9._-]+)$/.exec(s.trim());
  return m && m[2] !== '.' && m[2] !== '..' ? { owner: m[1], repo: m[2] } : null;
}

export function targetKey(t: GithubTarget): string {
  return `${t.owner}/${t.repo}@${t.branch ?? ''}:${t.path}`;
}

export function describeTarget(t: GithubTarget): string {
  return `${t.owner}/${t.repo}${t.branch ? `@${t.branch}` : ''}:${t.path}`;
}

export interface RemoteFile {
  exists: boolean;
  content: Buffer;
  /** Blob sha (Contents API path). */
  sha?: string;
  /** Commit and tree the content was read at (Git Data path). */
  commit?: string;
  tree?: string;
  branch?: string;
  via: 'contents' | 'git';
}

const repoRoute = (t: GithubTarget): string => `/repos/${encodeURIComponent(t.owner)}/${encodeURIComponent(t.repo)}`;
export const contentsRoute = (t: GithubTarget): string => `${repoRoute(t)}/contents/${encodePath(t.path)}`;
export { repoRoute };

/** After a 404: is it the repository, the branch, or just the file? Throws for the first two. */
export async function diagnose404(client: GithubClient, t: GithubTarget): Promise<{ defaultBranch: string; empty: boolean }> {
  let defaultBranch: string;
  try {
    const r = await client.request<{ default_branch: string }>(`GET ${repoRoute(t)}`);
    defaultBranch = r.data.default_branch;
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') throw new GithubError('not_found', `Repository ${t.owner}/${t.repo} not found at ${client.apiUrl} (or the token cannot see it: a fine-grained token must be given access to it).`, 404);
    throw e;
  }
  const branch = t.branch ?? defaultBranch;
  try {
    await client.request(`GET ${repoRoute(t)}/branches/${encodePath(branch)}`);
    return { defaultBranch, empty: false };
  } catch (e) {
    if (!(e instanceof GithubError && e.kind === 'not_found')) throw e;
    if (t.branch === undefined || /empty/i.test(e.message)) return { defaultBranch, empty: true };
    throw new GithubError('not_found', `Branch "${t.branch}" not found in ${t.owner}/${t.repo}. Create it, or leave the branch setting empty to use "${defaultBranch}".`, 404);
  }
}

interface ContentsJson {
  type?: string;
  encoding?: string;
  content?: string;
  sha: string;
  size: number;
}

/** One Contents API GET. `large` when the file is over 1 MB (no content in the answer). */
export async function readViaContents(client: GithubClient, t: GithubTarget): Promise<RemoteFile | { large: true }> {
  let r;
  try {
    r = await client.request<ContentsJson | unknown[]>(`GET ${contentsRoute(t)}`, t.branch ? { ref: t.branch } : {});
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') {
      await diagnose404(client, t);
      return { exists: false, content: Buffer.alloc(0), via: 'contents' };
    }
    throw e;
  }
  const d = r.data;
  if (Array.isArray(d) || (d as ContentsJson).type !== 'file') throw new GithubError('invalid', `${t.path} in ${t.owner}/${t.repo} is not a file.`);
  const f = d as ContentsJson;
  if (f.encoding === 'none' || f.size > ONE_MB || (f.content === '' && f.size > 0)) return { large: true };
  return { exists: true, content: Buffer.from(f.content ?? '', 'base64'), sha: f.sha, via: 'contents' };
}

/** Branch head (commit + tree), then the file's bytes at that commit (raw media type). */
export async function readViaGit(client: GithubClient, t: GithubTarget, branch: string): Promise<RemoteFile> {
  let head: { commit: { sha: string; commit: { tree: { sha: string } } } };
  try {
    head = (await client.request<typeof head>(`GET ${repoRoute(t)}/branches/${encodePath(branch)}`)).data;
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') {
      const d = await diagnose404(client, t);
      if (d.empty) return { exists: false, content: Buffer.alloc(0), via: 'git', branch };
    }
    throw e;
  }
  const commit = head.commit.sha;
  const tree = head.commit.commit.tree.sha;
  try {
    const r = await client.request<ArrayBuffer>(`GET ${contentsRoute(t)}`, { ref: commit, headers: { accept: 'application/vnd.github.raw+json' } });
    return { exists: true, content: Buffer.from(r.data), commit, tree, branch, via: 'git' };
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') return { exists: false, content: Buffer.alloc(0), commit, tree, branch, via: 'git' };
    throw e;
  }
}

/** The whole file in one request (raw media type, up to 100 MB), for pull. */
export async function readRaw(client: GithubClient, t: GithubTarget): Promise<Buffer | null> {
  try {
    const r = await client.request<ArrayBuffer>(`GET ${contentsRoute(t)}`, { ...(t.branch ? { ref: t.branch } : {}), headers: { accept: 'application/vnd.github.raw+json' } });
    return Buffer.from(r.data);
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') {
      await diagnose404(client, t);
      return null;
    }
    throw e;
  }
}

/** Every line's id (lines that are not records are counted, and kept as they are). */
export function scanLog(content: Buffer, recordId: (line: string) => string | null): { ids: Set<string>; lines: number; unparsed: number } {
  const ids = new Set<string>();
  let lines = 0;
  let unparsed = 0;
  let start = 0;
  while (start < content.length) {
    let end = content.indexOf(0x0a, start);
    if (end === -1) end = content.length;
    const line = content.toString('utf8', start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    lines++;
    const id = recordId(line);
    if (id === null) unparsed++;
    else ids.add(id);
  }
  return { ids, lines, unparsed };
}
