/** Shared helpers for extension-host tests. */
import * as vscode from 'vscode';
import type { BotMemoryApi } from '../../src/extension/extension';

export const EXTENSION_ID = 'bot-memory-auditor.bot-memory-auditor';

export async function api(): Promise<BotMemoryApi> {
  const ext = vscode.extensions.getExtension<BotMemoryApi>(EXTENSION_ID);
  if (!ext) throw new Error(`${EXTENSION_ID} is not installed`);
  return ext.activate();
}

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder');
  return f.uri.fsPath;
}

/** Polls until `check` returns a truthy value (or throws after `ms`, with the last error). */
export async function waitFor<T>(check: () => T | Promise<T>, ms = 10_000, what: string | (() => string) = 'condition'): Promise<NonNullable<T>> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until)
      throw new Error(
        `timed out waiting for ${typeof what === 'function' ? what() : what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * File watchers take a moment to start (and report the files that already exist late).
 * Touches a probe file in `dir` until the store reports seeing it, so a test's later
 * writes are not lost to start-up.
 */
export async function waitForWatcher(a: BotMemoryApi, dir: string, ms = 20_000): Promise<void> {
  const probe = `${dir}/.bma-probe-${Date.now()}.json`;
  const fs = await import('fs');
  let seen = false;
  const sub = a.services.store.onDidProcessFileChange((e) => {
    if (e.path === probe) seen = true;
  });
  try {
    const until = Date.now() + ms;
    while (!seen) {
      if (Date.now() > until) throw new Error(`the file watcher on ${dir} did not start within ${ms} ms`);
      fs.writeFileSync(probe, String(Date.now()));
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    sub.dispose();
    fs.rmSync(probe, { force: true });
  }
}
