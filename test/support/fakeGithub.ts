/**
 * A stand-in for the GitHub REST API on 127.0.0.1: a real `http` server, no dependencies,
 * implementing the subset the GitHub log client uses with GitHub's documented semantics.
 *
 * - Contents API: GET (JSON: base64 `content` wrapped at 60 columns, blob `sha`, `size`; over
 *   1 MB `encoding: "none"` and empty `content`; `Accept: application/vnd.github.raw+json`
 *   returns the bytes, up to 100 MB), PUT (create without `sha`; update needs the current blob
 *   `sha`: a stale one answers 409, a missing one 422 "sha wasn't supplied", a malformed one 422).
 * - Git Data API: blobs (base64 / utf-8), trees (`base_tree`, entries by `sha` or `content`),
 *   commits (`parents`), refs (GET; PATCH without `force` must be a fast-forward, else 422).
 * - Contents API GET of a directory: its direct children (files and dirs) as an array.
 * - Git Data API reads: commits and trees (flat, as with `?recursive=1`) by sha.
 * - Repository (`default_branch`) and branch reads (`GET /branches/{branch}`: commit, tree, parents).
 * - PUT races: a stale `sha` answers 409 "is at X but expected Y"; two creates of the same
 *   file: the loser (no `sha`, the file now exists) gets 422 "\"sha\" wasn't supplied.".
 * - Auth: `Authorization: token|Bearer X`; unknown token 401 "Bad credentials"; a read-only
 *   token writing gets 403 "Resource not accessible by personal access token" with
 *   `x-accepted-github-permissions: contents=write`.
 * - Rate limits: `x-ratelimit-*` headers on every answer; `rateLimit()` makes the next answers
 *   primary (403/429, remaining 0, reset) or secondary (429/403 with retry-after) limits.
 * - Fault injection: `inject()` queues faults for the next requests; `randomFaults` adds them
 *   at random (500, 502, 409 on writes, connection reset before or after the write took
 *   effect, a hang until the client gives up).
 *
 * Git objects here: blob shas are real git blob shas; tree and commit shas are sha1 of a
 * canonical serialisation (unique, not git's bytes). Trees are flat path → blob maps.
 */

import * as crypto from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';

export const ONE_MB = 1024 * 1024;
export const HUNDRED_MB = 100 * ONE_MB;

export type Fault = 'status500' | 'status502' | 'conflict409' | 'reset' | 'resetAfterWrite' | 'hang';
export type RateLimitKind = 'primary403' | 'primary429' | 'secondary429' | 'secondary403';

interface Commit {
  tree: string;
  parents: string[];
  message: string;
}

interface Repo {
  defaultBranch: string;
  branches: Map<string, string>;
  commits: Map<string, Commit>;
  trees: Map<string, Map<string, string>>;
  blobs: Map<string, Buffer>;
  private: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  fault?: Fault;
}

export interface FakeGithubOptions {
  /** token → permission */
  tokens?: Record<string, 'write' | 'read'>;
  /** Random faults: probability per request and the kinds to draw from. */
  randomFaults?: { rate: number; kinds: Fault[]; seed?: number };
  /** How long a hung request is held before the server drops it (ms). */
  hangMs?: number;
}

export function gitBlobSha(content: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

function sha1(s: string): string {
  return crypto.createHash('sha1').update(s).digest('hex');
}

/** GitHub's base64: wrapped at 60 columns with `\n`. */
export function base64At60(buf: Buffer): string {
  const b = buf.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 60) lines.push(b.slice(i, i + 60));
  return lines.length ? lines.join('\n') + '\n' : '';
}

const SHA_RE = /^[0-9a-f]{40}$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class FakeGithub {
  readonly repos = new Map<string, Repo>();
  readonly log: LoggedRequest[] = [];
  tokens: Record<string, 'write' | 'read'>;
  randomFaults: FakeGithubOptions['randomFaults'];
  hangMs: number;
  private server: http.Server;
  private queued: Fault[] = [];
  private limited: RateLimitKind[] = [];
  private barriers: { method: string; count: number; waiting: (() => void)[] }[] = [];
  private rng: number;
  private sockets = new Set<import('net').Socket>();
  port = 0;

  constructor(options: FakeGithubOptions = {}) {
    this.tokens = options.tokens ?? { 'test-token': 'write' };
    this.randomFaults = options.randomFaults;
    this.hangMs = options.hangMs ?? 5_000;
    this.rng = options.randomFaults?.seed ?? 12345;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Creates a repository with one commit holding `files` on `branch`. */
  createRepo(fullName: string, files: Record<string, string | Buffer> = {}, options: { branch?: string; private?: boolean; empty?: boolean } = {}): void {
    const branch = options.branch ?? 'main';
    const repo: Repo = {
      defaultBranch: branch,
      branches: new Map(),
      commits: new Map(),
      trees: new Map(),
      blobs: new Map(),
      private: options.private ?? false,
    };
    this.repos.set(fullName, repo);
    if (options.empty) return;
    const entries = new Map<string, string>();
    for (const [p, c] of Object.entries(files)) entries.set(p, this.putBlob(repo, Buffer.isBuffer(c) ? c : Buffer.from(c, 'utf8')));
    const tree = this.putTree(repo, entries);
    repo.branches.set(branch, this.putCommit(repo, { tree, parents: [], message: 'initial' }));
  }

  /** The file's bytes at the head of `branch` (default branch when omitted), or undefined. */
  file(fullName: string, path: string, branch?: string): Buffer | undefined {
    const repo = this.repos.get(fullName)!;
    const head = repo.branches.get(branch ?? repo.defaultBranch);
    if (!head) return undefined;
    const blob = repo.trees.get(repo.commits.get(head)!.tree)!.get(path);
    return blob ? repo.blobs.get(blob) : undefined;
  }

  /** Writes a file directly (as another client would), making a new commit. */
  writeFile(fullName: string, path: string, content: string | Buffer, branch?: string): void {
    const repo = this.repos.get(fullName)!;
    const b = branch ?? repo.defaultBranch;
    const head = repo.branches.get(b);
    const entries = new Map(head ? repo.trees.get(repo.commits.get(head)!.tree)! : []);
    entries.set(path, this.putBlob(repo, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8')));
    repo.branches.set(b, this.putCommit(repo, { tree: this.putTree(repo, entries), parents: head ? [head] : [], message: 'external write' }));
  }

  commitCount(fullName: string, branch?: string): number {
    const repo = this.repos.get(fullName)!;
    let n = 0;
    let c = repo.branches.get(branch ?? repo.defaultBranch);
    while (c) {
      n++;
      c = repo.commits.get(c)!.parents[0];
    }
    return n;
  }

  /**
   * Holds the next `count` requests with this method until all of them have arrived, then
   * serves them in arrival order: makes a race (two writers that read the same state) certain.
   */
  barrier(method: string, count: number): void {
    this.barriers.push({ method, count, waiting: [] });
  }

  inject(...faults: Fault[]): void {
    this.queued.push(...faults);
  }

  rateLimit(...kinds: RateLimitKind[]): void {
    this.limited.push(...kinds);
  }

  resetLog(): void {
    this.log.length = 0;
  }

  // ---- object store --------------------------------------------------------------------

  private putBlob(repo: Repo, content: Buffer): string {
    const sha = gitBlobSha(content);
    repo.blobs.set(sha, content);
    return sha;
  }

  private putTree(repo: Repo, entries: Map<string, string>): string {
    const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const sha = sha1('tree\0' + JSON.stringify(sorted));
    repo.trees.set(sha, new Map(sorted));
    return sha;
  }

  private putCommit(repo: Repo, c: Commit): string {
    const sha = sha1('commit\0' + JSON.stringify([c.tree, c.parents, c.message, crypto.randomBytes(8).toString('hex')]));
    repo.commits.set(sha, c);
    return sha;
  }

  private isAncestor(repo: Repo, ancestor: string, of: string): boolean {
    const seen = new Set<string>();
    const stack = [of];
    while (stack.length) {
      const c = stack.pop()!;
      if (c === ancestor) return true;
      if (seen.has(c)) continue;
      seen.add(c);
      stack.push(...(repo.commits.get(c)?.parents ?? []));
    }
    return false;
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private nextRandom(): number {
    // mulberry32: deterministic per seed
    let t = (this.rng += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private pickFault(method: string): Fault | undefined {
    let f = this.queued.shift();
    if (!f && this.randomFaults && this.nextRandom() < this.randomFaults.rate) {
      const kinds = this.randomFaults.kinds;
      f = kinds[Math.floor(this.nextRandom() * kinds.length)];
    }
    // A 409 only makes sense for a write; reads get a 502 instead.
    if (f === 'conflict409' && method === 'GET') f = 'status502';
    return f;
  }

  private rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-used': '1',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: LoggedRequest = { method, path: url.pathname + url.search, status: 0, bytesIn: body.length + headerBytes(req), bytesOut: 0 };
    this.log.push(entry);

    const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
      const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload), 'utf8');
      entry.status = status;
      entry.bytesOut = buf.length;
      res.writeHead(status, {
        'content-type': Buffer.isBuffer(payload) ? 'application/vnd.github.raw' : 'application/json; charset=utf-8',
        'content-length': String(buf.length),
        ...this.rateHeaders(),
        ...headers,
      });
      res.end(buf);
    };

    // Auth comes before everything (GitHub answers 401 before rate limits or faults).
    const auth = /^(?:token|bearer)\s+(.+)$/i.exec(req.headers.authorization ?? '');
    const permission = auth ? this.tokens[auth[1]] : undefined;
    if (!permission) {
      send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' });
      return;
    }

    const limit = this.limited.shift();
    if (limit) {
      const now = Math.floor(Date.now() / 1000);
      if (limit === 'primary403' || limit === 'primary429') {
        send(
          limit === 'primary403' ? 403 : 429,
          {
            message: 'API rate limit exceeded for user ID 1.',
            documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting',
          },
          { 'x-ratelimit-remaining': '0', 'x-ratelimit-used': '5000', 'x-ratelimit-reset': String(now + 1) },
        );
      } else {
        send(
          limit === 'secondary429' ? 429 : 403,
          { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
          { 'retry-after': '1' },
        );
      }
      return;
    }

    const fault = this.pickFault(method);
    if (fault) entry.fault = fault;
    if (fault === 'reset') {
      entry.status = -1;
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      entry.status = -2;
      setTimeout(() => req.socket.destroy(), this.hangMs).unref();
      return;
    }
    if (fault === 'status500' || fault === 'status502') {
      send(fault === 'status500' ? 500 : 502, { message: fault === 'status500' ? 'Server Error' : 'Bad Gateway' });
      return;
    }
    if (fault === 'conflict409') {
      send(409, { message: 'Conflict', status: '409' });
      return;
    }

    const barrier = this.barriers.find((b) => b.method === method && b.waiting.length < b.count);
    if (barrier) {
      // Arrival order is kept: each held request is served after the one before it.
      const turn = new Promise<void>((resolve) => barrier.waiting.push(resolve));
      if (barrier.waiting.length === barrier.count) {
        this.barriers.splice(this.barriers.indexOf(barrier), 1);
        for (const go of barrier.waiting) go();
      }
      await turn; // promises resolve in the order they were released: arrival order
    }
    try {
      const [status, payload, headers] = this.route(method, url, req.headers, body, permission);
      if (fault === 'resetAfterWrite') {
        // The write took effect; the answer is lost on the way back.
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      send(status, payload, headers);
    } catch (e) {
      if (e instanceof HttpError)
        send(e.status, { message: e.message, documentation_url: 'https://docs.github.com/rest', status: String(e.status) }, e.headers);
      else send(500, { message: String(e) });
    }
  }

  private route(
    method: string,
    url: URL,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    permission: 'write' | 'read',
  ): [number, unknown, Record<string, string>?] {
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) throw new HttpError(404, 'Not Found');
    const fullName = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
    const repo = this.repos.get(fullName);
    if (!repo) throw new HttpError(404, 'Not Found');
    const rest = m[3] ?? '';
    const write = method !== 'GET' && method !== 'HEAD';
    if (write && permission !== 'write')
      throw new HttpError(403, 'Resource not accessible by personal access token', { 'x-accepted-github-permissions': 'contents=write' });
    const json = (): Record<string, unknown> => {
      try {
        const v = JSON.parse(body.toString('utf8'));
        if (v && typeof v === 'object') return v as Record<string, unknown>;
      } catch {
        // fall through
      }
      throw new HttpError(400, 'Problems parsing JSON');
    };
    const head = (branch: string): string => {
      const c = repo.branches.get(branch);
      if (!c) throw new HttpError(404, repo.branches.size === 0 ? 'Git Repository is empty.' : 'Branch not found');
      return c;
    };

    if (rest === '' && method === 'GET') {
      return [
        200,
        {
          full_name: fullName,
          name: m[2],
          private: repo.private,
          default_branch: repo.defaultBranch,
          permissions: { admin: false, push: permission === 'write', pull: true },
        },
      ];
    }
    let r: RegExpExecArray | null;
    if ((r = /^\/branches\/(.+)$/.exec(rest)) && method === 'GET') {
      const name = decodeURIComponent(r[1]);
      const c = head(name);
      const cm = repo.commits.get(c)!;
      return [
        200,
        {
          name,
          commit: { sha: c, commit: { tree: { sha: cm.tree }, message: cm.message }, parents: cm.parents.map((p) => ({ sha: p })) },
          protected: false,
          _links: { self: `${this.url}/repos/${fullName}/branches/${name}` },
        },
      ];
    }
    if ((r = /^\/git\/ref\/heads\/(.+)$/.exec(rest)) && method === 'GET') {
      const name = decodeURIComponent(r[1]);
      const c = repo.branches.get(name);
      if (!c) throw new HttpError(404, 'Not Found');
      return [200, { ref: `refs/heads/${name}`, object: { sha: c, type: 'commit' } }];
    }
    if ((r = /^\/git\/refs\/heads\/(.+)$/.exec(rest)) && method === 'PATCH') {
      const name = decodeURIComponent(r[1]);
      const b = json();
      const sha = String(b.sha ?? '');
      const current = repo.branches.get(name);
      if (!current) throw new HttpError(422, 'Reference does not exist');
      if (!repo.commits.has(sha)) throw new HttpError(422, 'Object does not exist');
      if (b.force !== true && !this.isAncestor(repo, current, sha)) throw new HttpError(422, 'Update is not a fast forward');
      repo.branches.set(name, sha);
      return [200, { ref: `refs/heads/${name}`, object: { sha, type: 'commit' } }];
    }
    if (rest === '/git/blobs' && method === 'POST') {
      const b = json();
      const enc = b.encoding ?? 'utf-8';
      if (typeof b.content !== 'string' || (enc !== 'base64' && enc !== 'utf-8')) throw new HttpError(422, 'Invalid request.');
      const content = enc === 'base64' ? Buffer.from(b.content, 'base64') : Buffer.from(b.content, 'utf8');
      if (content.length > HUNDRED_MB) throw new HttpError(422, 'Blob is too large');
      const sha = this.putBlob(repo, content);
      return [201, { sha, url: `${this.url}/repos/${fullName}/git/blobs/${sha}` }];
    }
    if ((r = /^\/git\/blobs\/([0-9a-f]{40})$/.exec(rest)) && method === 'GET') {
      const blob = repo.blobs.get(r[1]);
      if (!blob) throw new HttpError(404, 'Not Found');
      return [200, { sha: r[1], size: blob.length, encoding: 'base64', content: base64At60(blob) }];
    }
    if ((r = /^\/git\/commits\/([0-9a-f]{40})$/.exec(rest)) && method === 'GET') {
      const c = repo.commits.get(r[1]);
      if (!c) throw new HttpError(404, 'Not Found');
      return [200, { sha: r[1], message: c.message, tree: { sha: c.tree }, parents: c.parents.map((p) => ({ sha: p })) }];
    }
    if ((r = /^\/git\/trees\/([0-9a-f]{40})$/.exec(rest)) && method === 'GET') {
      const t = repo.trees.get(r[1]);
      if (!t) throw new HttpError(404, 'Not Found');
      // Flat here: every path is listed as if ?recursive=1 was given.
      return [
        200,
        { sha: r[1], truncated: false, tree: [...t].map(([p, sha]) => ({ path: p, mode: '100644', type: 'blob', sha, size: repo.blobs.get(sha)!.length })) },
      ];
    }
    if (rest === '/git/trees' && method === 'POST') {
      const b = json();
      const entries = new Map<string, string>();
      if (b.base_tree !== undefined) {
        const base = repo.trees.get(String(b.base_tree));
        if (!base) throw new HttpError(422, 'Invalid tree info');
        for (const [k, v] of base) entries.set(k, v);
      }
      if (!Array.isArray(b.tree)) throw new HttpError(422, 'Invalid tree info');
      for (const e of b.tree as Record<string, unknown>[]) {
        if (typeof e.path !== 'string' || e.mode !== '100644' || e.type !== 'blob') throw new HttpError(422, 'Invalid tree info');
        if (typeof e.sha === 'string') {
          if (!repo.blobs.has(e.sha)) throw new HttpError(422, 'Invalid tree info');
          entries.set(e.path, e.sha);
        } else if (typeof e.content === 'string') {
          entries.set(e.path, this.putBlob(repo, Buffer.from(e.content, 'utf8')));
        } else if (e.sha === null) {
          entries.delete(e.path);
        } else throw new HttpError(422, 'Invalid tree info');
      }
      const sha = this.putTree(repo, entries);
      return [201, { sha, truncated: false }];
    }
    if (rest === '/git/commits' && method === 'POST') {
      const b = json();
      if (typeof b.tree !== 'string' || !repo.trees.has(b.tree) || typeof b.message !== 'string') throw new HttpError(422, 'Invalid request.');
      const parents = Array.isArray(b.parents) ? b.parents.map(String) : [];
      for (const p of parents) if (!repo.commits.has(p)) throw new HttpError(422, 'Parent SHA does not exist or is not a commit object');
      const sha = this.putCommit(repo, { tree: b.tree, parents, message: b.message });
      return [201, { sha, tree: { sha: b.tree }, parents: parents.map((p) => ({ sha: p })) }];
    }
    if ((r = /^\/contents(?:\/(.*))?$/.exec(rest))) {
      const path = decodeURIComponent(r[1] ?? ''); // '' = the repository's root folder
      if (method === 'GET') {
        const ref = url.searchParams.get('ref') ?? repo.defaultBranch;
        if (repo.branches.size === 0) throw new HttpError(404, 'This repository is empty.');
        const commit = repo.branches.get(ref) ?? (repo.commits.has(ref) ? ref : undefined);
        if (!commit) throw new HttpError(404, `No commit found for the ref ${ref}`);
        const tree = repo.trees.get(repo.commits.get(commit)!.tree)!;
        const blobSha = tree.get(path);
        if (!blobSha) {
          // A directory: its direct children, as the Contents API lists them (files and dirs).
          const prefix = path === '' ? '' : path.replace(/\/+$/, '') + '/';
          const children = new Map<string, { type: string; name: string; path: string; sha: string; size: number }>();
          for (const [p, sha] of tree) {
            if (!p.startsWith(prefix)) continue;
            const name = p.slice(prefix.length).split('/')[0];
            const isDir = p.slice(prefix.length).includes('/');
            if (!children.has(name))
              children.set(name, {
                type: isDir ? 'dir' : 'file',
                name,
                path: prefix + name,
                sha: isDir ? sha1('dir\0' + prefix + name + commit) : sha,
                size: isDir ? 0 : repo.blobs.get(sha)!.length,
              });
          }
          if (children.size === 0) throw new HttpError(404, 'Not Found');
          return [200, [...children.values()].sort((a, b) => (a.name < b.name ? -1 : 1))];
        }
        const blob = repo.blobs.get(blobSha)!;
        const accept = String(headers.accept ?? '');
        if (/application\/vnd\.github(?:\.v3)?\.raw/.test(accept)) {
          if (blob.length > HUNDRED_MB) throw new HttpError(403, 'This API returns blobs up to 100 MB in size.');
          return [200, blob, { etag: `"${blobSha}"` }];
        }
        const large = blob.length > ONE_MB;
        return [
          200,
          {
            type: 'file',
            encoding: large ? 'none' : 'base64',
            size: blob.length,
            name: path.split('/').pop(),
            path,
            content: large ? '' : base64At60(blob),
            sha: blobSha,
            url: `${this.url}/repos/${fullName}/contents/${path}?ref=${ref}`,
          },
        ];
      }
      if (method === 'PUT') {
        const b = json();
        if (typeof b.message !== 'string') throw new HttpError(422, 'Invalid request.\n\n"message" wasn\'t supplied.');
        if (typeof b.content !== 'string') throw new HttpError(422, 'Invalid request.\n\n"content" wasn\'t supplied.');
        const branch = typeof b.branch === 'string' ? b.branch : repo.defaultBranch;
        const current = repo.branches.get(branch);
        if (!current && repo.branches.size > 0) throw new HttpError(404, `Branch ${branch} not found`);
        const tree = current ? repo.trees.get(repo.commits.get(current)!.tree)! : new Map<string, string>();
        const existing = tree.get(path);
        if (b.sha !== undefined && (typeof b.sha !== 'string' || !SHA_RE.test(b.sha)))
          throw new HttpError(422, 'Invalid request.\n\n"sha" is not a valid blob sha.');
        if (existing && b.sha === undefined) throw new HttpError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.');
        // GitHub's answer to a stale sha names both ("is at X but expected Y").
        if (existing && b.sha !== existing) throw new HttpError(409, `is at ${existing} but expected ${b.sha}`);
        if (!existing && b.sha !== undefined) throw new HttpError(409, `is at 0000000000000000000000000000000000000000 but expected ${b.sha}`);
        const content = Buffer.from(b.content, 'base64');
        if (content.length > HUNDRED_MB) throw new HttpError(422, 'File is too large');
        const entries = new Map(tree);
        const blobSha = this.putBlob(repo, content);
        entries.set(path, blobSha);
        const commit = this.putCommit(repo, { tree: this.putTree(repo, entries), parents: current ? [current] : [], message: b.message });
        repo.branches.set(branch, commit);
        return [
          existing ? 200 : 201,
          { content: { name: path.split('/').pop(), path, sha: blobSha, size: content.length }, commit: { sha: commit, message: b.message } },
        ];
      }
    }
    throw new HttpError(404, 'Not Found');
  }
}

function headerBytes(req: http.IncomingMessage): number {
  let n = `${req.method} ${req.url} HTTP/1.1\r\n`.length + 2;
  for (let i = 0; i < req.rawHeaders.length; i += 2) n += req.rawHeaders[i].length + req.rawHeaders[i + 1].length + 4;
  return n;
}
