/**
 * The one parser of command arguments. Commands are called with tree nodes (from menus),
 * URIs (from the Explorer and editor title bars), `{rootId, sessionId, turnId?}` objects
 * (from webviews and other commands), option objects (from tests and scripts), or nothing
 * (from the palette). Every conversion from `unknown` happens here.
 */

import * as vscode from 'vscode';
import type { SessionRef, TurnRef } from '../core/sessionIndex';

export type { SessionRef, TurnRef };

/** The fields of an object argument (a node, a ref, options), or undefined. */
function fields(arg: unknown): Record<string, unknown> | undefined {
  return typeof arg === 'object' && arg !== null ? (arg as Record<string, unknown>) : undefined;
}

/** A string field of an object argument. */
export function stringArg(arg: unknown, key: string): string | undefined {
  const v = fields(arg)?.[key];
  return typeof v === 'string' ? v : undefined;
}

/** A field of an object argument, unconverted (for values checked by the caller). */
export function fieldArg(arg: unknown, key: string): unknown {
  return fields(arg)?.[key];
}

/** True when an object argument has `key: true`. */
export function isTrue(arg: unknown, key: string): boolean {
  return fields(arg)?.[key] === true;
}

/** True when an object argument (not a URI) has `key: false`. */
export function isFalse(arg: unknown, key: string): boolean {
  return !(arg instanceof vscode.Uri) && fields(arg)?.[key] === false;
}

/** A session from a tree node (session, turn, broken line) or a plain `{rootId, sessionId}`. */
export function sessionRefOf(arg: unknown): SessionRef | undefined {
  const rootId = stringArg(arg, 'rootId');
  const sessionId = stringArg(arg, 'sessionId');
  return rootId !== undefined && sessionId !== undefined ? { rootId, sessionId } : undefined;
}

/** The turn id of a turn node (`{turn: {turnId}}`) or a plain `{turnId}`. */
export function turnIdOf(arg: unknown): string | undefined {
  return stringArg(arg, 'turnId') ?? stringArg(fieldArg(arg, 'turn'), 'turnId');
}

/** A turn from a tree node (`{kind:'turn', turn}`), a timeline card or a plain `{rootId, sessionId, turnId}`. */
export function turnRefOf(arg: unknown): TurnRef | undefined {
  const s = sessionRefOf(arg);
  const turnId = turnIdOf(arg);
  return s && turnId ? { ...s, turnId } : undefined;
}

/** A URI argument. */
export function uriOf(arg: unknown): vscode.Uri | undefined {
  return arg instanceof vscode.Uri ? arg : undefined;
}

/** A file: a path, a URI, a `{file}` node or a `{fsPath}`. */
export function fileOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  return stringArg(arg, 'file') ?? stringArg(arg, 'fsPath');
}

/** A sessions folder: a path, a URI, `{sessionsDir}` or a root node (`{root: {sessionsDir}}`). */
export function sessionsDirOf(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return stringArg(arg, 'sessionsDir') ?? stringArg(fieldArg(arg, 'root'), 'sessionsDir');
}

/** The sessions folder of a root node (`{kind: 'root', root}`) only. */
export function rootNodeDirOf(arg: unknown): string | undefined {
  return stringArg(arg, 'kind') === 'root' ? stringArg(fieldArg(arg, 'root'), 'sessionsDir') : undefined;
}

/** A plain `{path, line?}` (from the timeline or a link); the line defaults to 1. */
export function fileLineOf(arg: unknown): { path: string; line: number } | undefined {
  const file = stringArg(arg, 'path');
  if (file === undefined) return undefined;
  const line = fieldArg(arg, 'line');
  return { path: file, line: typeof line === 'number' && line >= 1 ? line : 1 };
}
