/** GitHub log settings and the token (SecretStorage first, then VS Code's GitHub sign-in). */
import * as vscode from 'vscode';
import { DEFAULT_API_URL } from '../core/github/client';
import { DEFAULT_ROTATE_AT } from '../core/github/push';
import { DEFAULT_LOG_PATH, parseRepository, type GithubTarget } from '../core/github/remote';
import { SECTION } from './config';

export const TOKEN_SECRET_KEY = 'botMemory.github.token';

export interface GithubSettings {
  target: GithubTarget | null;
  /** The raw repository setting (for messages). */
  repository: string;
  apiUrl: string;
  /** Rotate the active log file before it passes this many bytes; 0 = never (botMemory.github.rotateAtKb). */
  rotateAtBytes: number;
}

export function readGithubSettings(): GithubSettings {
  const c = vscode.workspace.getConfiguration(`${SECTION}.github`);
  const repository = (c.get<string>('repository') ?? '').trim();
  const r = parseRepository(repository);
  const branch = (c.get<string>('branch') ?? '').trim();
  const path = (c.get<string>('path') ?? '').trim() || DEFAULT_LOG_PATH;
  const apiUrl = (c.get<string>('apiUrl') ?? '').trim() || DEFAULT_API_URL;
  const kb = c.get<number>('rotateAtKb');
  const rotateAtBytes = typeof kb === 'number' && Number.isFinite(kb) && kb >= 0 ? Math.round(kb * 1024) : DEFAULT_ROTATE_AT;
  return { target: r ? { ...r, branch: branch || undefined, path } : null, repository, apiUrl, rotateAtBytes };
}

/**
 * The saved token ("Set GitHub Token"), else a session of the built-in GitHub authentication
 * provider (asks to sign in when `interactive`). Never logged.
 */
export async function githubToken(context: vscode.ExtensionContext, interactive: boolean): Promise<string | undefined> {
  const saved = await context.secrets.get(TOKEN_SECRET_KEY);
  if (saved) return saved;
  try {
    const session = await vscode.authentication.getSession('github', ['repo'], interactive ? { createIfNone: true } : { silent: true });
    return session?.accessToken;
  } catch {
    return undefined;
  }
}
