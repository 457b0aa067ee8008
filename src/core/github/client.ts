/**
 * A small GitHub REST client for the interaction log: Octokit core with its retry plugin
 * (5xx, resets and timeouts, with backoff) and throttling plugin (primary and secondary rate
 * limits: waits until `x-ratelimit-reset` / `retry-after`, and spaces writes as GitHub asks).
 * Every request goes through one fetch wrapper that applies a per-request timeout, counts
 * requests and bytes, and reads bodies fully (so a stalled body is a timeout too).
 * Errors come out as `GithubError` with a `kind` and a message that names the fix. The token
 * is only ever put in the Authorization header: never in a message.
 */

import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import Bottleneck from 'bottleneck/light.js';

export const DEFAULT_API_URL = 'https://api.github.com';
export const ONE_MB = 1024 * 1024;
export const HUNDRED_MB = 100 * ONE_MB;

export type GithubErrorKind = 'auth' | 'permission' | 'not_found' | 'rate_limit' | 'conflict' | 'server' | 'network' | 'too_large' | 'invalid' | 'other';

export class GithubError extends Error {
  constructor(
    readonly kind: GithubErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
  /** Errors the user must fix (token, permission, repository name): retrying will not help. */
  get fatal(): boolean {
    return this.kind === 'auth' || this.kind === 'permission' || this.kind === 'not_found' || this.kind === 'invalid';
  }
}

export type WaitReason = 'rate-limit' | 'secondary-rate-limit' | 'retry';

export interface GithubClientOptions {
  token: string;
  apiUrl?: string;
  /** Per request, including reading the body. Default 30 s. */
  timeoutMs?: number;
  /** Retries of one request on 5xx / reset / timeout (plugin-retry). Default 3. */
  retries?: number;
  /** plugin-retry waits base × n² before the n-th retry. Default 1000 ms. */
  retryBaseMs?: number;
  /** Minimum spacing of writes (GitHub asks for 1 s between mutating requests). Default 1000 ms. */
  writeSpacingMs?: number;
  /** How many times to wait out a rate limit on one request. Default 3. */
  rateLimitRetries?: number;
  /** Longest rate-limit wait accepted (seconds); longer ones fail with the reset time. Default 900. */
  maxRateLimitWaitSeconds?: number;
  onWait?: (reason: WaitReason, seconds: number, detail: string) => void;
  userAgent?: string;
}

export interface ClientStats {
  requests: number;
  bytesSent: number;
  bytesReceived: number;
}

const MyOctokit = Octokit.plugin(retry, throttling);
type Kit = InstanceType<typeof MyOctokit>;

interface RequestErrorLike {
  status: number;
  message: string;
  response?: { headers: Record<string, string | undefined>; data?: unknown };
}

function isRequestError(e: unknown): e is RequestErrorLike {
  return !!e && typeof e === 'object' && typeof (e as { status?: unknown }).status === 'number';
}

/** `a/b c` → `a/b%20c`: each path segment encoded, slashes kept. */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export class GithubClient {
  readonly stats: ClientStats = { requests: 0, bytesSent: 0, bytesReceived: 0 };
  readonly apiUrl: string;
  private kit: Kit;

  constructor(readonly options: GithubClientOptions) {
    this.apiUrl = (options.apiUrl ?? DEFAULT_API_URL).replace(/\/+$/, '');
    const timeoutMs = options.timeoutMs ?? 30_000;
    const maxWait = options.maxRateLimitWaitSeconds ?? 900;
    const rateRetries = options.rateLimitRetries ?? 3;
    const stats = this.stats;
    const onWait = options.onWait;
    const fetchWrapper = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      stats.requests++;
      const body = init?.body;
      stats.bytesSent += typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;
      const signal = AbortSignal.timeout(timeoutMs);
      const method = init?.method ?? 'GET';
      try {
        const res = await fetch(url, { ...init, signal });
        const buf = res.status === 204 || res.status === 304 ? null : await res.arrayBuffer();
        stats.bytesReceived += buf?.byteLength ?? 0;
        const headers = new Headers(res.headers);
        const accept = new Headers(init?.headers).get('accept') ?? '';
        // Raw file bytes must stay bytes (a charset parameter would make Octokit decode them).
        if (res.ok && accept.includes('.raw')) headers.set('content-type', 'application/octet-stream');
        if (res.status >= 500) onWait?.('retry', 0, `${method} answered ${res.status}`);
        return new Response(buf, { status: res.status, statusText: res.statusText, headers });
      } catch (e) {
        // A timeout must not surface as an AbortError (Octokit would not retry it).
        const why = signal.aborted ? `no answer within ${Math.round(timeoutMs / 1000)} s` : errorText(e);
        onWait?.('retry', 0, `${method} failed: ${why}`);
        throw new Error(why, { cause: e });
      }
    };
    this.kit = new MyOctokit({
      auth: options.token,
      baseUrl: this.apiUrl,
      userAgent: options.userAgent ?? 'bot-memory-audit',
      request: { fetch: fetchWrapper },
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      retry: {
        retries: options.retries ?? 3,
        retryAfterBaseValue: options.retryBaseMs ?? 1000,
        // Conflicts and client errors are decided by the caller; 429 belongs to the throttler.
        doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
      },
      throttle: {
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeSpacingMs ?? 1000 }),
        onRateLimit: (after: number, _o: unknown, _k: unknown, count: number) => {
          if (count >= rateRetries || after > maxWait) return false;
          onWait?.('rate-limit', after, `rate limit reached; waiting ${after} s for the reset`);
          return true;
        },
        onSecondaryRateLimit: (after: number, _o: unknown, _k: unknown, count: number) => {
          if (count >= rateRetries || after > maxWait) return false;
          onWait?.('secondary-rate-limit', after, `secondary rate limit; waiting ${after} s`);
          return true;
        },
      },
    });
  }

  /** One API call; errors become GithubError (callers refine 404 / 409 / 422 by context). */
  async request<T = unknown>(
    route: string,
    params: Record<string, unknown> = {},
  ): Promise<{ status: number; data: T; headers: Record<string, string | undefined> }> {
    try {
      const r = await this.kit.request(route, params);
      return { status: r.status, data: r.data as T, headers: r.headers as Record<string, string | undefined> };
    } catch (e) {
      throw toGithubError(e);
    }
  }
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message) return `${e.message} (${(cause as NodeJS.ErrnoException).code ?? cause.message})`;
    return e.message;
  }
  return String(e);
}

function apiMessage(e: RequestErrorLike): string {
  const d = e.response?.data as { message?: unknown } | undefined;
  const m = d && typeof d.message === 'string' ? d.message : e.message;
  return m.split('\n')[0].slice(0, 200);
}

/** The whole message on one line (GitHub puts the detail of a 422 after a blank line). */
function fullApiMessage(e: RequestErrorLike): string {
  const d = e.response?.data as { message?: unknown } | undefined;
  const m = d && typeof d.message === 'string' ? d.message : e.message;
  return m
    .replace(/\s*\n+\s*/g, ' ')
    .trim()
    .slice(0, 300);
}

export function toGithubError(e: unknown): GithubError {
  if (e instanceof GithubError) return e;
  if (!isRequestError(e)) return new GithubError('network', errorText(e));
  const status = e.status;
  const h = e.response?.headers ?? {};
  const msg = apiMessage(e);
  if (!e.response) return new GithubError('network', `cannot reach GitHub: ${msg}`, status);
  if (status === 401)
    return new GithubError(
      'auth',
      `GitHub rejected the token (401 ${msg}). Set a valid token: GITHUB_TOKEN for the CLI, "Bot Memory: Set GitHub Token" in VS Code.`,
      status,
    );
  if ((status === 403 || status === 429) && (h['x-ratelimit-remaining'] === '0' || h['retry-after'] !== undefined || /rate limit/i.test(msg))) {
    const reset = Number(h['x-ratelimit-reset']);
    const when = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : h['retry-after'] ? ` for ${h['retry-after']} s` : '';
    return new GithubError('rate_limit', `GitHub rate limit (${status} ${msg}): try again${when}. Nothing was lost: records stay in the outbox.`, status);
  }
  if (status === 403) {
    const need = h['x-accepted-github-permissions'];
    return new GithubError(
      'permission',
      `The token is not allowed to do this (403 ${msg}). It needs ${need ? `the "${need.replace(/=/g, ': ')}" permission` : 'the "contents: write" permission'} on the repository.`,
      status,
    );
  }
  if (status === 404) return new GithubError('not_found', `not found (404 ${msg})`, status);
  if (status === 409) return new GithubError('conflict', `conflict (409 ${msg})`, status);
  if (status === 422) {
    // Someone else wrote first: a create that lost the race ("sha" wasn't supplied: the file
    // exists now), or a ref update that is no longer a fast-forward. Re-read and retry.
    const full = fullApiMessage(e);
    if (/"sha" wasn't supplied|is at [0-9a-f]* but expected|does not match|not a fast.?forward/i.test(full))
      return new GithubError('conflict', `conflict (422 ${full})`, status);
    return new GithubError('invalid', `rejected (422 ${full})`, status);
  }
  if (status >= 500) return new GithubError('server', `GitHub answered ${status} (${msg}) after retries`, status);
  return new GithubError('other', `GitHub answered ${status} (${msg})`, status);
}
