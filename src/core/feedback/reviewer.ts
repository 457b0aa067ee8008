/**
 * The reviewer name written into feedback records when none is configured:
 * `git config user.name` (run directly, no shell, short timeout), else the OS user name.
 */

import { execFile } from 'child_process';
import * as os from 'os';

const GIT_TIMEOUT_MS = 1500;

export function gitUserName(cwd?: string): Promise<string | null> {
  return new Promise((resolve) => {
    try {
      execFile('git', ['config', '--get', 'user.name'], { timeout: GIT_TIMEOUT_MS, cwd, windowsHide: true, encoding: 'utf8' }, (err, stdout) => {
        const name = err ? '' : String(stdout).trim();
        resolve(name !== '' ? name : null);
      });
    } catch {
      resolve(null);
    }
  });
}

export function osUserName(): string {
  try {
    const u = os.userInfo().username.trim();
    if (u) return u;
  } catch {
    // no passwd entry (containers): fall through
  }
  return process.env.USER || process.env.USERNAME || 'unknown';
}

/** `configured` (a setting or flag) when non-empty, else git's user.name, else the OS user. */
export async function defaultReviewer(configured?: string | null, cwd?: string): Promise<string> {
  const c = configured?.trim();
  if (c) return c;
  return (await gitUserName(cwd)) ?? osUserName();
}
