/**
 * `bot-memory-audit push|pull <sessionsDir> --repo owner/name [--branch B] [--path P] [--api-url URL]`
 * (`push` also `[--rotate-at-kb N]`, 0 = never rotate).
 * Exit codes: 0 done, 1 records left in the outbox (network, rate limit, conflicts that did not
 * settle) or records that vanished from the log and could not be pushed again, 2 usage or auth
 * error (token, permission, repository or branch not found). A rewritten log is reported on
 * stderr (`warning log_rewritten: …`) even with --quiet.
 * The token comes from GITHUB_TOKEN only; it is never printed.
 */

import * as fs from 'fs';
import * as path from 'path';
import { resolveSessionsDir } from '../core/discovery';
import { DEFAULT_API_URL, GithubClient, GithubError, type GithubClientOptions } from '../core/github/client';
import { LockBusyError } from '../core/github/outbox';
import { pullLog, PULLED_LOG_FILE } from '../core/github/pull';
import { pushFolder, type PushProgress } from '../core/github/push';
import { DEFAULT_LOG_PATH, describeTarget, parseRepository, type GithubTarget } from '../core/github/remote';
import { UsageError, dim, err, green, numberOption, out, parse, red, yellow, safeText } from './io';

const TARGET_OPTIONS = {
  repo: { type: 'string' },
  branch: { type: 'string' },
  path: { type: 'string' },
  'api-url': { type: 'string' },
  quiet: { type: 'boolean', default: false },
} as const;

function target(values: { repo?: string; branch?: string; path?: string }): GithubTarget {
  if (!values.repo) throw new UsageError('--repo owner/name is required');
  const r = parseRepository(values.repo);
  if (!r) throw new UsageError(`--repo must be owner/name, got "${values.repo}"`);
  const p = values.path ?? DEFAULT_LOG_PATH;
  if (p === '' || p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..'))
    throw new UsageError(`--path must be a relative file path in the repository, got "${p}"`);
  return { ...r, branch: values.branch || undefined, path: p };
}

/** Client tuning from the environment (BMA_GITHUB_TIMEOUT_MS, …_RETRY_BASE_MS, …_WRITE_SPACING_MS). */
function clientOptions(apiUrl: string | undefined, onWait: GithubClientOptions['onWait']): GithubClientOptions {
  const token = process.env.GITHUB_TOKEN?.trim();
  if (!token) throw new AuthMissing('GITHUB_TOKEN is not set: export a token with "contents: write" on the repository.');
  const env = (name: string): number | undefined => numberOption(process.env[name], name, 0);
  if (apiUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(apiUrl)) throw new UsageError(`--api-url must be an http(s) URL, got "${apiUrl}"`);
  return {
    token,
    apiUrl: apiUrl ?? DEFAULT_API_URL,
    timeoutMs: env('BMA_GITHUB_TIMEOUT_MS'),
    retryBaseMs: env('BMA_GITHUB_RETRY_BASE_MS'),
    writeSpacingMs: env('BMA_GITHUB_WRITE_SPACING_MS'),
    onWait,
  };
}

class AuthMissing extends Error {}

function sessionsDirOf(arg: string): string {
  try {
    const { sessionsDir } = resolveSessionsDir(arg);
    if (!fs.statSync(sessionsDir).isDirectory()) throw new Error('not a folder');
    return sessionsDir;
  } catch {
    throw new UsageError(`${arg} is not a folder`);
  }
}

function failure(command: string, e: unknown): number {
  if (e instanceof UsageError) throw e;
  if (e instanceof AuthMissing) {
    err(`bot-memory-audit ${command}: ${e.message}\n`);
    return 2;
  }
  if (e instanceof LockBusyError) {
    err(`bot-memory-audit ${command}: ${e.message}\n`);
    return 1;
  }
  if (e instanceof GithubError) {
    err(`bot-memory-audit ${command}: ${e.message}\n`);
    return e.fatal ? 2 : 1;
  }
  throw e;
}

export async function runPush(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...TARGET_OPTIONS, 'no-collect': { type: 'boolean', default: false }, 'rotate-at-kb': { type: 'string' } },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  const t = target(values);
  const rotateKb = numberOption(values['rotate-at-kb'], 'rotate-at-kb', 0);
  const dir = sessionsDirOf(positionals[0]);
  const say = (s: string): void => {
    if (!values.quiet) err(dim(s) + '\n');
  };
  try {
    const client = new GithubClient(
      clientOptions(values['api-url'], (reason, _seconds, detail) => say(reason === 'retry' ? `  ${detail}; retrying` : `  ${detail}`)),
    );
    const onProgress = (p: PushProgress): void => {
      if (p.phase !== 'done') say(p.message);
    };
    const r = await pushFolder(dir, {
      target: t,
      client,
      onProgress,
      collect: !values['no-collect'],
      rotateAtBytes: rotateKb === undefined ? undefined : Math.round(rotateKb * 1024),
    });
    // Loud, whatever --quiet says: the log was rewritten behind our back.
    for (const f of r.findings) err(`${f.severity === 'error' ? red('error') : yellow('warning')} ${f.kind}: ${safeText(f.message, 600)}\n`);
    const c = r.collected;
    out(
      `${green('✔')} ${describeTarget(t)}: appended ${r.appended} record${r.appended === 1 ? '' : 's'}` +
        `${r.alreadyPresent ? `, ${r.alreadyPresent} already there` : ''}` +
        `${r.commit ? ` in commit ${r.commit.slice(0, 12)}` : ''}` +
        ` ${dim(`(${c.interactions} finished turns, ${c.feedback} feedback records found; ${client.stats.requests} requests)`)}\n`,
    );
    const masked = Object.entries(c.redacted ?? {});
    if (masked.length) out(`${dim(`masked before pushing: ${masked.map(([k, n]) => `${n} ${k}`).join(', ')} (the journals are unchanged)`)}\n`);
    if (r.rotatedTo) out(`${dim(`rotated: the earlier records are now in ${r.rotatedTo}`)}\n`);
    if (r.remoteUnparsed)
      out(`${yellow('▲')} ${r.remoteUnparsed} line${r.remoteUnparsed === 1 ? '' : 's'} of the remote file are not records; kept as they are\n`);
    for (const s of c.skipped.slice(0, 20)) out(`${yellow('skipped')} ${safeText(path.basename(s.file), 80)}:${s.line} ${s.reason}\n`);
    return r.left > 0 || r.lost.length > 0 ? 1 : 0;
  } catch (e) {
    return failure('push', e);
  }
}

export async function runPull(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    { ...TARGET_OPTIONS, last: { type: 'string' }, out: { type: 'string' } },
    { min: 1, max: 1, names: '<sessionsDir>' },
  );
  const t = target(values);
  const dir = sessionsDirOf(positionals[0]);
  const last = numberOption(values.last, 'last', 1);
  if (last !== undefined && !Number.isInteger(last)) throw new UsageError(`--last must be a whole number, got "${values.last}"`);
  const file = values.out ? path.resolve(values.out) : path.join(dir, PULLED_LOG_FILE);
  try {
    const client = new GithubClient(
      clientOptions(values['api-url'], (_r, _s, detail) => {
        if (!values.quiet) err(dim(`  ${detail}`) + '\n');
      }),
    );
    const r = await pullLog(client, t, file, { last });
    if (!r.exists) {
      out(`${yellow('▲')} ${describeTarget(t)} does not exist yet; nothing written\n`);
      return 0;
    }
    out(
      `${green('✔')} ${describeTarget(t)} → ${file}: ${r.parts ? `${r.parts} rotated part${r.parts === 1 ? '' : 's'} + the file, ` : ''}${r.lines} lines, ${r.records} records${r.unparsed ? `, ${r.unparsed} not records (kept)` : ''} ${dim(`(${r.bytes} bytes)`)}\n`,
    );
    return 0;
  } catch (e) {
    return failure('pull', e);
  }
}
