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

/** The document's text: the query, what came back, then the aligned table. */
export function formatTable(q: QueryTable): string {
  const cells = q.rows.map((r) => r.map((v) => cellText(v)));
  const heads = q.columns.map((c) => cellText(c, 40));
  const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join(' │ ')
      .trimEnd();
  const out = [
    ...q.sql.split('\n').map((l) => `-- ${stripControls(l)}`),
    `-- ${plural(q.rows.length, 'row')}${q.truncated ? ' (stopped there: more rows match; add a LIMIT or a WHERE)' : ''} in ${q.elapsedMs} ms from ${q.index}`,
    '',
  ];
  if (q.columns.length === 0) return [...out, '(the statement returns no columns)', ''].join('\n');
  out.push(line(heads), widths.map((w) => '─'.repeat(w)).join('─┼─'));
  for (const r of cells) out.push(line(r));
  if (q.rows.length === 0) out.push('(no rows)');
  return out.join('\n') + '\n';
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
  private readonly contents = new Map<string, string>();
  private counter = 0;

  constructor() {
    super();
    this._register(vscode.workspace.registerTextDocumentContentProvider(QUERY_SCHEME, this));
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '-- These results are gone; run the query again (Bot Memory: Query Index…).\n';
  }

  /** Stores the result and opens it (read-only: a virtual document has no file to save to). */
  async show(q: QueryTable, options: { open?: boolean } = {}): Promise<vscode.Uri> {
    const uri = vscode.Uri.from({ scheme: QUERY_SCHEME, path: `/Query results ${++this.counter}.txt` });
    this.contents.set(uri.toString(), formatTable(q));
    while (this.contents.size > 10) this.contents.delete(this.contents.keys().next().value as string);
    if (options.open !== false) {
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: false });
    }
    return uri;
  }

  text(uri: vscode.Uri): string | undefined {
    return this.contents.get(uri.toString());
  }
}
