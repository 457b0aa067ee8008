import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import type { SessionSort } from '../tree/sessionsTree';
import type { CommandContext } from './context';
import { showPick } from '../untrustedText';

const SORTS: { value: SessionSort; label: string }[] = [
  { value: 'lastActivity', label: 'Last activity (newest first)' },
  { value: 'title', label: 'Title' },
  { value: 'id', label: 'Session id' },
];

export function register(c: CommandContext): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.sort, async (value?: SessionSort) => {
    let s = SORTS.find((x) => x.value === value)?.value;
    if (!s) {
      const pick = await showPick(
        SORTS.map((x) => ({ ...x, description: x.value === c.tree.sort ? 'current' : undefined })),
        { title: 'Sort Sessions By' },
      );
      s = pick?.value;
    }
    if (s) c.tree.setSort(s);
  });
}
