import * as vscode from 'vscode';
import { TOKEN_SECRET_KEY } from '../githubAuth';
import type { CommandContext } from './context';
import { notifyInfo } from '../untrustedText';

/** Saves a token in SecretStorage (an empty one removes it). `token` may be passed programmatically. */
export async function run(s: CommandContext, token?: unknown) {
  let value = typeof token === 'string' ? token : undefined;
  if (value === undefined) {
    value = await vscode.window.showInputBox({
      title: 'GitHub token for the interaction log',
      prompt:
        'A fine-grained token with "Contents: Read and write" on the log repository. ' +
        "Stored in VS Code's secret storage. Leave empty to remove the saved token.",
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return;
  }
  value = value.trim();
  if (value === '') {
    await s.context.secrets.delete(TOKEN_SECRET_KEY);
    s.output.info('GitHub token removed');
    if (typeof token !== 'string') void notifyInfo('Saved GitHub token removed. Pushes will use your VS Code GitHub sign-in.');
    return;
  }
  await s.context.secrets.store(TOKEN_SECRET_KEY, value);
  s.output.info('GitHub token saved in secret storage');
  if (typeof token !== 'string') void notifyInfo('GitHub token saved.');
}
