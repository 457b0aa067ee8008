/**
 * The ONE way untrusted text (transcript text, titles, turn ids, file names, notes, error
 * messages that quote them) reaches a VS Code surface. Rules (core/untrustedText.ts):
 *
 * - notifications (info/warning/error, modal detail): `notify*` here, never
 *   `vscode.window.show*Message` directly — the whole message goes through plainText, so a
 *   `[x](command:…)` in an id never becomes a live command link;
 * - quick picks: `pickItems`/`quickPickOptions` — labels keep only OUR leading `$(icon)`,
 *   descriptions/details/titles are labelText (no `$(icon)` syntax, no link, no control);
 * - tooltips and hovers: `untrustedMarkdown()` (isTrusted false, supportHtml false, no theme
 *   icons) and `appendUntrusted*`: escaped text, never a code fence, never a link;
 * - tree labels/descriptions, status bar: plainText / labelText.
 *
 * A test in the real extension host (test/extension/untrustedText.test.ts) feeds every surface
 * a hostile corpus; a unit test fails when a module calls show*Message or builds a
 * MarkdownString elsewhere.
 */

import * as vscode from 'vscode';
import { escapeMarkdown, escapeMarkdownInline, labelText, plainText, stripControls } from '../core/untrustedText';

export { escapeMarkdown, escapeMarkdownInline, labelText, plainText, stripControls };

/** A MarkdownString that can never run a command, render HTML or theme icons. */
export function untrustedMarkdown(): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, false);
  md.isTrusted = false;
  md.supportHtml = false;
  md.supportThemeIcons = false;
  return md;
}

/** Appends untrusted text as escaped Markdown (line breaks kept as hard breaks). */
export function appendUntrusted(md: vscode.MarkdownString, text: unknown, max = 100_000): vscode.MarkdownString {
  return md.appendMarkdown(escapeMarkdown(text, max));
}

/** Appends untrusted text on one line (breaks shown as ⏎). */
export function appendUntrustedInline(md: vscode.MarkdownString, text: unknown, max = 300): vscode.MarkdownString {
  return md.appendMarkdown(escapeMarkdownInline(text, max));
}

/** Appends a block of untrusted text (a message, a note, a line preview) as its own paragraph. */
export function appendUntrustedBlock(md: vscode.MarkdownString, text: unknown, max = 1000): vscode.MarkdownString {
  return md.appendMarkdown('\n\n' + escapeMarkdown(text, max) + '\n\n');
}

/** Text for a modal's detail: several lines allowed, nothing else. */
function detailText(s: string): string {
  return stripControls(s).replace(/\]\s*\(/g, '] (');
}

type MessageRest<T> = (T | vscode.MessageOptions)[];

function cleanRest<T>(rest: MessageRest<T>): MessageRest<T> {
  return rest.map((r) => {
    if (typeof r === 'object' && r !== null && !('title' in r) && ('modal' in r || 'detail' in r)) {
      const o = r as vscode.MessageOptions;
      return { ...o, ...(o.detail !== undefined ? { detail: detailText(o.detail) } : {}) };
    }
    return r;
  });
}

const MAX_MESSAGE = 1000;

/**
 * Tests in the extension host observe what reached a surface: when an array is installed at
 * this global symbol, every notification and quick pick shown through here is recorded.
 */
export const SHOWN_LOG = Symbol.for('botMemory.untrustedText.shown');
export interface ShownRecord {
  surface: 'info' | 'warning' | 'error' | 'pick';
  text: string;
  detail?: string;
  items?: vscode.QuickPickItem[];
  options?: vscode.QuickPickOptions;
}
function record(r: ShownRecord): void {
  const log = (globalThis as Record<symbol, unknown>)[SHOWN_LOG];
  if (Array.isArray(log)) log.push(r);
}
function detailOf(rest: unknown[]): string | undefined {
  const o = rest.find((r) => typeof r === 'object' && r !== null && 'detail' in r) as vscode.MessageOptions | undefined;
  return o?.detail;
}
type Show<T> = (message: string, ...rest: unknown[]) => Thenable<T | undefined>;

export function notifyInfo<T extends string | vscode.MessageItem>(message: string, ...rest: MessageRest<T>): Thenable<T | undefined> {
  const text = plainText(message, MAX_MESSAGE);
  const clean = cleanRest(rest);
  record({ surface: 'info', text, detail: detailOf(clean) });
  return (vscode.window.showInformationMessage as Show<T>)(text, ...clean);
}

export function notifyWarning<T extends string | vscode.MessageItem>(message: string, ...rest: MessageRest<T>): Thenable<T | undefined> {
  const text = plainText(message, MAX_MESSAGE);
  const clean = cleanRest(rest);
  record({ surface: 'warning', text, detail: detailOf(clean) });
  return (vscode.window.showWarningMessage as Show<T>)(text, ...clean);
}

export function notifyError<T extends string | vscode.MessageItem>(message: string, ...rest: MessageRest<T>): Thenable<T | undefined> {
  const text = plainText(message, MAX_MESSAGE);
  const clean = cleanRest(rest);
  record({ surface: 'error', text, detail: detailOf(clean) });
  return (vscode.window.showErrorMessage as Show<T>)(text, ...clean);
}

/**
 * A quick pick label: OUR leading `$(icon) ` is kept (when `icon` is given), the untrusted
 * rest cannot render icons, links or controls.
 */
export function pickLabel(text: unknown, icon?: string, max = 200): string {
  return `${icon ? `$(${icon}) ` : ''}${labelText(text, max)}`;
}

/** Quick pick items with description and detail made plain; labels are left as built (use pickLabel). */
export function pickItems<T extends vscode.QuickPickItem>(items: readonly T[]): T[] {
  return items.map((i) => ({
    ...i,
    label: keepLeadingIcon(i.label),
    ...(i.description !== undefined ? { description: labelText(i.description) } : {}),
    ...(i.detail !== undefined ? { detail: labelText(i.detail) } : {}),
  }));
}

/** A label whose only icon may be a leading `$(name)` (ours); any later `$(` is escaped. */
function keepLeadingIcon(label: string): string {
  const m = /^\$\([a-z0-9-]+(?:~[a-z]+)?\)\s?/.exec(label);
  const head = m ? m[0] : '';
  return head + labelText(label.slice(head.length), 300);
}

export function quickPickOptions<T extends vscode.QuickPickOptions>(o: T): T {
  return { ...o, ...(o.title !== undefined ? { title: labelText(o.title) } : {}), ...(o.placeHolder !== undefined ? { placeHolder: labelText(o.placeHolder) } : {}) };
}

/** showQuickPick with items and options made safe (pickItems / quickPickOptions); returns the caller's own item objects. */
export function showPick<T extends vscode.QuickPickItem>(items: readonly T[], options: vscode.QuickPickOptions & { canPickMany: true }): Thenable<T[] | undefined>;
export function showPick<T extends vscode.QuickPickItem>(items: readonly T[], options?: vscode.QuickPickOptions): Thenable<T | undefined>;
export function showPick<T extends vscode.QuickPickItem>(items: readonly T[], options: vscode.QuickPickOptions = {}): Thenable<T | T[] | undefined> {
  const safe = pickItems(items);
  record({ surface: 'pick', text: options.title ?? '', items: safe, options: quickPickOptions(options) });
  const back = (p: vscode.QuickPickItem): T => items[safe.indexOf(p as T)];
  if (options.canPickMany) {
    return vscode.window.showQuickPick(safe, { ...quickPickOptions(options), canPickMany: true }).then((ps) => (ps === undefined ? undefined : ps.map(back)));
  }
  return vscode.window.showQuickPick(safe, quickPickOptions(options)).then((p) => (p === undefined ? undefined : back(p)));
}
