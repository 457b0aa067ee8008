import * as vscode from 'vscode';
import { Commands } from '../../commandIds';
import type { MemoryContext } from './context';

export function register(c: MemoryContext): vscode.Disposable {
  return vscode.commands.registerCommand(Commands.memoryRefresh, () => c.ledgers.reload());
}
