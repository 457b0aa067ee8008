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
    if (e instanceof GithubError && e.kind === 'not_found')
      throw new GithubError(
        'not_found',
        `Repository ${t.owner}/${t.repo} not found at ${client.apiUrl} (or the token cannot see it: a fine-grained token must be given access to it).`,
        404,
      );
    throw e;
  }
  const branch = t.branch ?? defaultBranch;
  try {
    await client.request(`GET ${repoRoute(t)}/branches/${encodePath(branch)}`);
    return { defaultBranch, empty: false };
  } catch (e) {
    if (!(e instanceof GithubError && e.kind === 'not_found')) throw e;
    if (t.branch === undefined || /empty/i.test(e.message)) return { defaultBranch, empty: true };
    throw new GithubError(
      'not_found',
      `Branch "${t.branch}" not found in ${t.owner}/${t.repo}. Create it, or leave the branch setting empty to use "${defaultBranch}".`,
      404,
    );
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

// ---- rotated parts ----------------------------------------------------------------------

/** A rotated part of the log: `<dir>/<stem>-NNNN<ext>` beside the active file. */
export interface LogPart {
  path: string;
  n: number;
  /** Blob sha (from the directory listing). */
  sha: string;
}

function splitLogPath(p: string): { dir: string; stem: string; ext: string } {
  const slash = p.lastIndexOf('/');
  const dir = slash < 0 ? '' : p.slice(0, slash);
  const name = p.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? { dir, stem: name.slice(0, dot), ext: name.slice(dot) } : { dir, stem: name, ext: '' };
}

/** `data/interactions.jsonl`, 3 → `data/interactions-0003.jsonl`. */
export function partPath(logPath: string, n: number): string {
  const { dir, stem, ext } = splitLogPath(logPath);
  return `${dir ? dir + '/' : ''}${stem}-${String(n).padStart(4, '0')}${ext}`;
}

/** The part number of `name` (a file name in the log's folder), or null. */
export function partNumber(logPath: string, name: string): number | null {
  const { stem, ext } = splitLogPath(logPath);
  if (!name.startsWith(stem + '-') || !name.endsWith(ext)) return null;
  const digits = name.slice(stem.length + 1, name.length - ext.length);
  return /^\d{4,}$/.test(digits) ? Number(digits) : null;
}

/** The rotated parts beside the log at `ref` (branch or commit; undefined = default branch), in order. */
export async function listParts(client: GithubClient, t: GithubTarget, ref: string | undefined): Promise<LogPart[]> {
  const { dir } = splitLogPath(t.path);
  let entries: unknown;
  try {
    entries = (await client.request<unknown>(`GET ${repoRoute(t)}/contents/${encodePath(dir)}`, ref ? { ref } : {})).data;
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') return [];
    throw e;
  }
  if (!Array.isArray(entries)) return [];
  const parts: LogPart[] = [];
  for (const e of entries as { type?: unknown; name?: unknown; path?: unknown; sha?: unknown }[]) {
    if (e.type !== 'file' || typeof e.name !== 'string' || typeof e.sha !== 'string') continue;
    const n = partNumber(t.path, e.name);
    if (n !== null) parts.push({ path: typeof e.path === 'string' ? e.path : partPath(t.path, n), n, sha: e.sha });
  }
  return parts.sort((a, b) => a.n - b.n);
}

/** One file's bytes at `ref` in the raw media type, or null when it is not there. */
export async function readRawAt(client: GithubClient, t: GithubTarget, filePath: string, ref: string | undefined): Promise<Buffer | null> {
  try {
    const r = await client.request<ArrayBuffer>(`GET ${repoRoute(t)}/contents/${encodePath(filePath)}`, {
      ...(ref ? { ref } : {}),
      headers: { accept: 'application/vnd.github.raw+json' },
    });
    return Buffer.from(r.data);
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') return null;
    throw e;
  }
}

/**
 * The whole log, every rotated part in order then the active file, all read at one commit
 * (branch head first), for pull. Null when neither the file nor any part exists.
 */
export async function readAllParts(client: GithubClient, t: GithubTarget): Promise<{ content: Buffer; parts: number } | null> {
  let branch = t.branch;
  if (branch === undefined) {
    try {
      branch = (await client.request<{ default_branch: string }>(`GET ${repoRoute(t)}`)).data.default_branch;
    } catch (e) {
      if (e instanceof GithubError && e.kind === 'not_found') await diagnose404(client, t); // names the repository
      throw e;
    }
  }
  let commit: string;
  try {
    commit = (await client.request<{ commit: { sha: string } }>(`GET ${repoRoute(t)}/branches/${encodePath(branch)}`)).data.commit.sha;
  } catch (e) {
    if (e instanceof GithubError && e.kind === 'not_found') {
      const d = await diagnose404(client, t);
      if (d.empty) return null;
    }
    throw e;
  }
  const parts = await listParts(client, t, commit);
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const b = await readRawAt(client, t, p.path, commit);
    if (b) chunks.push(b);
  }
  const active = await readRawAt(client, t, t.path, commit);
  if (active === null && chunks.length === 0) return null;
  if (active) chunks.push(active);
  // Each part ends on a line break, so no record is glued to the next part's first line.
  const joined = chunks.flatMap((c, i) => (i < chunks.length - 1 && c.length > 0 && c[c.length - 1] !== 0x0a ? [c, Buffer.from('\n')] : [c]));
  return { content: Buffer.concat(joined), parts: parts.length };
}
