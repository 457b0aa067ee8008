/**
 * Query results as read-only text documents (`bot-memory-query:` scheme): an aligned plain-text
 * table. Cells are untrusted text (transcripts, titles): each is one line with control, bidi and
 * zero-width characters made visible, clipped; a text document renders nothing as HTML, Markdown,
 * a link or a command. Also CSV / JSON of the same rows for the clipboard.
 */

import * as vscode from 'vscode';
import type { SqlValue } from '../../core/sqlite/engine';
import { stripControls } from '../untrustedText';
import { Disposable } from '../dispose';
import { plural } from '../words';

export const QUERY_SCHEME = 'bot-memory-query';
const MAX_CELL = 80;

export interface QueryTable {
  sql: string;
  index: string;
  /** The sessions folder the index is of (rows' sessions are looked up there). */
  sessionsDir: string;
  columns: string[];
  rows: SqlValue[][];
  truncated: boolean;
  elapsedMs: number;
}

/** One cell as one line of visible text. */
export function cellText(v: SqlValue, max = MAX_CELL): string {
  let t: string;
  if (v === null) t = 'NULL';
  else if (v instanceof Uint8Array) t = `x'${Buffer.from(v.subarray(0, 32)).toString('hex')}${v.length > 32 ? '…' : ''}' (${plural(v.length, 'byte')})`;
  else
    t = stripControls(String(v))
      .replace(/\r\n|[\n\r\u0085\u2028\u2029]/g, '⏎')
      .replace(/\t/g, ' ');
  if (t.length > max) t = `${t.slice(0, /[\ud800-\udbff]/.test(t[max - 2]) ? max - 2 : max - 1)}…`;
  return t;
}

/** East Asian wide and emoji code points take two columns in a monospaced editor. */
const WIDE = /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1faff}\u{20000}-\u{3fffd}]/u;

/** How many columns `t` takes (a surrogate pair is one character). */
export function displayWidth(t: string): number {
  let w = 0;
  for (const ch of t) w += WIDE.test(ch) ? 2 : 1;
  return w;
}

/** The column a row's session is read from ("Open Row's Session in Timeline"). */
export const SESSION_COLUMN = 'session_id';
export const TURN_COLUMN = 'turn_id';

/** The document's text: the query, what came back, then the aligned table. */
export function formatTable(q: QueryTable): string {
  return layoutTable(q).text;
}

/** The text, and the line (0-based) of the first row. */
function layoutTable(q: QueryTable): { text: string; firstRowLine: number } {
  const cells = q.rows.map((r) => r.map((v) => cellText(v)));
  const heads = q.columns.map((c) => cellText(c, 40));
  const widths = heads.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i] ?? ''))));
  const line = (r: string[]) =>
    r
      .map((c, i) => c + ' '.repeat(widths[i] - displayWidth(c)))
      .join(' │ ')
      .trimEnd();
  const out = [
    ...q.sql.split('\n').map((l) => `-- ${stripControls(l)}`),
    `-- ${plural(q.rows.length, 'row')}${q.truncated ? ' (stopped there: more rows match; add a LIMIT or a WHERE)' : ''} in ${q.elapsedMs} ms from ${q.index}`,
  ];
  if (q.columns.includes(SESSION_COLUMN) && q.rows.length) out.push("-- Right-click a row: Open Row's Session in Timeline");
  out.push('');
  if (q.columns.length === 0) return { text: [...out, '(the statement returns no columns)', ''].join('\n'), firstRowLine: -1 };
  out.push(line(heads), widths.map((w) => '─'.repeat(w)).join('─┼─'));
  const firstRowLine = out.length;
  for (const r of cells) out.push(line(r));
  if (q.rows.length === 0) out.push('(no rows)');
  return { text: out.join('\n') + '\n', firstRowLine };
}

function jsonValue(v: SqlValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  return v;
}

export function toCsv(q: Pick<QueryTable, 'columns' | 'rows'>): string {
  const field = (v: SqlValue | string): string => {
    const s = v === null ? '' : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [q.columns.map(field).join(','), ...q.rows.map((r) => r.map(field).join(','))].join('\r\n') + '\r\n';
}

export function toJson(q: Pick<QueryTable, 'columns' | 'rows'>): string {
  return JSON.stringify(
    q.rows.map((r) => Object.fromEntries(q.columns.map((c, i) => [c, jsonValue(r[i])]))),
    null,
    2,
  );
}

/** The documents: text kept in memory (the last 10 results). */
export class QueryDocuments extends Disposable implements vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, { text: string; table: QueryTable; firstRowLine: number }>();
  private counter = 0;

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(QUERY_SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString())?.text ?? '-- These results are gone; run the query again (Bot Memory: Query Index…).\n';
  }

  /** Stores the result and opens it (read-only: a virtual document has no file to save to). */
  async show(q: QueryTable, options: { open?: boolean } = {}): Promise<vscode.Uri> {
    const uri = vscode.Uri.from({ scheme: QUERY_SCHEME, path: `/Query results ${++this.counter}.txt` });
    this.contents.set(uri.toString(), { ...layoutTable(q), table: q });
    while (this.contents.size > 10) this.contents.delete(this.contents.keys().next().value as string);
    if (options.open !== false) {
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: false });
    }
    return uri;
  }

  text(uri: vscode.Uri): string | undefined {
    return this.contents.get(uri.toString())?.text;
  }

  /** The result shown in `uri` and its row on `line` (0-based), if that line is a row. */
  rowAt(uri: vscode.Uri, line: number): { table: QueryTable; row?: SqlValue[] } | undefined {
    const e = this.contents.get(uri.toString());
    if (!e) return undefined;
    const i = line - e.firstRowLine;
    return { table: e.table, row: e.firstRowLine >= 0 && i >= 0 ? e.table.rows[i] : undefined };
  }
}
