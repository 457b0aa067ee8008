import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';

export const SECTION = 'botMemory';

/** Expands a leading `~` and `${env:NAME}` in a configured path. */
export function expandPath(p: string, env: NodeJS.ProcessEnv = process.env): string {
  let s = p.trim().replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '');
  if (s === '~' || s.startsWith('~/') || s.startsWith('~\\')) s = path.join(os.homedir(), s.slice(1));
  return s;
}

export interface Settings {
  sessionDirectories: string[];
  maxLineBytes: number;
  staleAfterMinutes: number;
  /** Hermes' state.db for upstream's state_db_* audit kinds ('' = none); read only. */
  stateDb: string;
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const dirs = c.get<unknown>('sessionDirectories');
  return {
    sessionDirectories: Array.isArray(dirs) ? dirs.filter((d): d is string => typeof d === 'string' && d.trim() !== '').map((d) => expandPath(d)) : [],
    maxLineBytes: positive(c.get('maxLineBytes'), 16 * 1024 * 1024),
    staleAfterMinutes: nonNegative(c.get('staleAfterMinutes'), 60),
    stateDb: typeof c.get('stateDb') === 'string' && String(c.get('stateDb')).trim() ? expandPath(String(c.get('stateDb'))) : '',
  };
}

/** Upstream's default sessions folder: `$HERMES_WEBUI_STATE_DIR/sessions`, else `~/.hermes/webui/sessions`. */
export function upstreamDefaultDir(env: NodeJS.ProcessEnv = process.env): string {
  const state = env.HERMES_WEBUI_STATE_DIR;
  return state ? path.join(state, 'sessions') : path.join(os.homedir(), '.hermes', 'webui', 'sessions');
}

function positive(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
}
function nonNegative(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : fallback;
}
