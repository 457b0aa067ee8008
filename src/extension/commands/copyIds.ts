import * as vscode from 'vscode';
import { Commands } from '../commandIds';
import type { Node } from '../tree/sessionsTree';
import type { CommandContext } from './context';

export function register(c: CommandContext): vscode.Disposable {
  const copy = async (text: string | undefined, what: string) => {
    if (!text) return;
    await vscode.env.clipboard.writeText(text);
    vscode.window.setStatusBarMessage(`$(copy) Copied ${what} ${text}`, 3000);
  };
  return vscode.Disposable.from(
    vscode.commands.registerCommand(Commands.copySessionId, (arg?: unknown) => {
      const n = (arg ?? c.view.selection[0]) as Node | { sessionId?: string } | undefined;
      return copy(n && 'sessionId' in n ? n.sessionId : undefined, 'session id');
    }),
    vscode.commands.registerCommand(Commands.copyTurnId, (arg?: unknown) => {
      const n = (arg ?? c.view.selection[0]) as Node | { turnId?: string } | undefined;
      const id = n && 'turn' in n ? n.turn.turnId : n && 'turnId' in n ? n.turnId : undefined;
      return copy(id, 'turn id');
    }),
  );
}
