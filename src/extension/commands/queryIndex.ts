import * as fs from 'fs';
import * as vscode from 'vscode';
import { queryIndex, QueryCancelled, QueryRefused } from '../../core/sqlite/query';
import type { SqlValue } from '../../core/sqlite/engine';
import { isFalse, stringArg } from '../commandArgs';
import { Commands } from '../commandIds';
import { indexPathFor, pickSessionsDir } from '../index/indexPath';
import { toCsv, toJson, type QueryTable } from '../index/queryResults';
import { SAVED_QUERIES } from '../index/savedQueries';
import { notifyError, notifyInfo, showPick } from '../untrustedText';
import { plural } from '../words';
import type { CommandContext } from './context';

const MAX_ROWS = 5000;

export interface QueryCommandResult {
  status: 'done' | 'cancelled' | 'refused' | 'error' | 'no-index';
  message: string;
  uri?: string;
  columns?: string[];
  rowCount?: number;
  truncated?: boolean;
}

/**
 * "Query Index…": one read-only statement (a saved query of docs/sqlite.md, or your own SQL)
 * against a sessions folder's SQLite index, on a worker thread, cancellable; the rows open as a
 * read-only text table (queryResults.ts). `{sessionsDir, sql, open?: false}` runs without asking (tests, scripts).
 */
export async function run(c: CommandContext, arg?: unknown): Promise<QueryCommandResult | undefined> {
  const dir = await pickSessionsDir(c.store.roots(), arg, 'Query the SQLite index of which sessions folder?');
  if (!dir) return undefined;
  const db = indexPathFor(dir);
  if (!isFile(db)) {
    const message = `There is no SQLite index for ${dir} yet: rebuild it first.`;
    void notifyInfo(message, 'Rebuild SQLite Index').then((p) => (p ? vscode.commands.executeCommand(Commands.rebuildIndex, dir) : undefined));
    return { status: 'no-index', message };
  }
  const sql = stringArg(arg, 'sql') ?? (await askSql());
  if (sql === undefined) return undefined;
  const outcome = await runQuery(c, dir, db, sql);
  if ('status' in outcome) return outcome;
  const uri = await c.query.documents.show(outcome, { open: !isFalse(arg, 'open') });
  const first = outcome.truncated ? ` (the first ${MAX_ROWS.toLocaleString('en-US')})` : '';
  const summary = `${plural(outcome.rows.length, 'row')}${first} in ${outcome.elapsedMs} ms.`;
  if (stringArg(arg, 'sql') === undefined) void offerCopy(outcome, summary);
  const { columns, rows, truncated } = outcome;
  return { status: 'done', message: summary, uri: uri.toString(), columns, rowCount: rows.length, truncated };
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** A saved query, or SQL typed in an input box. */
async function askSql(): Promise<string | undefined> {
  const picked = await showPick(
    [
      { label: '$(edit) Write SQL…', description: 'one read-only statement', sql: '' },
      ...SAVED_QUERIES.map((q) => ({ label: `$(bookmark) ${q.label}`, detail: q.sql.replace(/\s+/g, ' '), sql: q.sql })),
    ],
    { title: 'Query Index', placeHolder: 'A saved query (docs/sqlite.md), or write your own', matchOnDetail: true },
  );
  if (!picked) return undefined;
  if (picked.sql) return picked.sql;
  return vscode.window.showInputBox({
    title: 'Query Index: one read-only SQL statement',
    prompt: 'Tables: sessions, shards, events, turns, collisions, malformed, findings, feedback, meta (docs/sqlite.md)',
    placeHolder: "SELECT session_id, title FROM sessions WHERE worst_severity = 'error'",
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() ? undefined : 'Type a SELECT statement'),
  });
}

/** Runs the statement with a cancellable progress notification; errors become clear messages. */
async function runQuery(c: CommandContext, dir: string, db: string, sql: string): Promise<QueryTable | QueryCommandResult> {
  const rows: SqlValue[][] = [];
  try {
    const r = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Bot Memory: querying the index…', cancellable: true },
      (_p, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return queryIndex(db, sql, { maxRows: MAX_ROWS, signal: abort.signal, onRows: (batch) => rows.push(...batch) });
      },
    );
    c.output.info(`query: ${r.rowCount} rows in ${r.elapsedMs} ms from ${db}`);
    return { sql, index: db, sessionsDir: dir, columns: r.columns, rows, truncated: r.truncated, elapsedMs: r.elapsedMs };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (e instanceof QueryCancelled) {
      void notifyInfo('Query cancelled.');
      return { status: 'cancelled', message: 'Query cancelled.' };
    }
    const refused = e instanceof QueryRefused;
    const readOnly = /readonly|read-only|query_only/i.test(why);
    const message = refused
      ? `Query refused: ${why}.`
      : readOnly
        ? `The index is opened read-only: ${why}. Query Index runs SELECT statements only.`
        : `SQLite: ${why}`;
    c.output.warn(`query failed: ${message}`);
    void notifyError(message);
    return { status: refused ? 'refused' : 'error', message };
  }
}

async function offerCopy(q: QueryTable, summary: string): Promise<void> {
  const pick = await notifyInfo(summary, 'Copy as CSV', 'Copy as JSON');
  if (pick === 'Copy as CSV') await vscode.env.clipboard.writeText(toCsv(q));
  else if (pick === 'Copy as JSON') await vscode.env.clipboard.writeText(toJson(q));
}
