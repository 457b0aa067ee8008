/**
 * The read-only query entry point ("Query Index…"): open an index read-only, run ONE
 * statement, stream its rows in batches, stop on request.
 *
 * With `node:sqlite` (VS Code's extension host, Node >= 22.5) the statement runs on a worker
 * thread, so the caller's thread never blocks, however long the statement takes; cancelling
 * terminates the worker (a step already inside SQLite finishes first: node:sqlite has no
 * interrupt). The connection is read-only (`readOnly`, and `PRAGMA query_only`); extensions
 * cannot be loaded; a statement followed by another one is refused (SQLite would silently run
 * only the first). Integers outside JavaScript's safe range come back as BigInt.
 *
 * Without `node:sqlite` (the CLI on Node 20) the wasm engine runs it on the calling thread,
 * one batch of rows at a time with a turn of the event loop between batches (a single
 * long step still blocks).
 */

import { Worker } from 'worker_threads';
import { defaultEngine, openDb, type EngineKind, type SqlValue } from './engine';

export interface QueryOptions {
  params?: readonly SqlValue[];
  /** Stop after this many rows (the result says `truncated`). Default 10,000. */
  maxRows?: number;
  /** Rows per `onRows` call. Default 500. */
  batchRows?: number;
  signal?: AbortSignal;
  engine?: EngineKind;
  /** Called with each batch of rows (values in `columns` order). */
  onRows?: (rows: SqlValue[][], columns: string[]) => void;
}

export interface QueryResult {
  columns: string[];
  rowCount: number;
  /** More rows were there than `maxRows`. */
  truncated: boolean;
  elapsedMs: number;
}

export class QueryCancelled extends Error {
  constructor() {
    super('query cancelled');
  }
}

/** A query the index refuses before running it (more than one statement, nothing to run). */
export class QueryRefused extends Error {}

/**
 * Checks that `sql` is exactly one statement (comments, strings and quoted names skipped):
 * throws QueryRefused otherwise.
 */
export function checkSingleStatement(sql: string): void {
  let i = 0;
  let ended = false;
  let body = false;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const e = sql.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (/\s/.test(c)) i++;
    else if (c === ';') {
      if (body) ended = true;
      i++;
    } else {
      if (ended) throw new QueryRefused('run one statement at a time (text follows the first statement\'s ";")');
      body = true;
      if (c === "'" || c === '"' || c === '`' || c === '[') {
        const close = c === '[' ? ']' : c;
        let j = i + 1;
        for (;;) {
          const k = sql.indexOf(close, j);
          if (k < 0) throw new QueryRefused(`unterminated ${c === "'" ? 'string' : 'quoted name'}`);
          if (close !== ']' && sql[k + 1] === close)
            j = k + 2; // doubled quote
          else {
            i = k + 1;
            break;
          }
        }
      } else i++;
    }
  }
  if (!body) throw new QueryRefused('no statement to run');
}

/** Runs one read-only statement against the index at `file`. */
export async function queryIndex(file: string, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  checkSingleStatement(sql);
  if (options.signal?.aborted) throw new QueryCancelled();
  const engine = options.engine ?? defaultEngine();
  const maxRows = options.maxRows ?? 10_000;
  const batchRows = Math.max(1, options.batchRows ?? 500);
  const started = Date.now();
  const r =
    engine === 'native'
      ? await queryOnWorker(file, sql, options.params ?? [], maxRows, batchRows, options)
      : await queryInThread(file, sql, options.params ?? [], maxRows, batchRows, options);
  return { ...r, elapsedMs: Date.now() - started };
}

/** The worker's code (node:sqlite only; no bundle needed). */
const WORKER_SOURCE = `
const { parentPort, workerData: w } = require('worker_threads');
const emit = process.emitWarning;
process.emitWarning = (x, ...r) => (/SQLite/i.test(typeof x === 'string' ? x : String(x && x.message)) ? undefined : emit.call(process, x, ...r));
const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
const safe = (v) => typeof v === 'bigint' && v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
let db;
try {
  db = new DatabaseSync(w.file, { readOnly: true, enableForeignKeyConstraints: false });
  db.exec('PRAGMA query_only = ON');
  const st = db.prepare(w.sql);
  st.setReadBigInts(true);
  const columns = st.columns().map((c) => c.name);
  parentPort.postMessage({ columns });
  let batch = [];
  let count = 0;
  let truncated = false;
  for (const row of st.iterate(...w.params)) {
    if (count === w.maxRows) { truncated = true; break; }
    const values = [];
    for (const k in row) values.push(safe(row[k]));
    batch.push(values);
    count++;
    if (batch.length >= w.batchRows) { parentPort.postMessage({ rows: batch }); batch = []; }
  }
  if (batch.length) parentPort.postMessage({ rows: batch });
  parentPort.postMessage({ done: true, rowCount: count, truncated });
} catch (e) {
  parentPort.postMessage({ error: e && e.message ? e.message : String(e) });
} finally {
  try { db && db.close(); } catch {}
}
`;

function queryOnWorker(
  file: string,
  sql: string,
  params: readonly SqlValue[],
  maxRows: number,
  batchRows: number,
  o: QueryOptions,
): Promise<Omit<QueryResult, 'elapsedMs'>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, sql, params, maxRows, batchRows } });
    let columns: string[] = [];
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      f();
      void worker.terminate();
    };
    const onAbort = (): void => finish(() => reject(new QueryCancelled()));
    o.signal?.addEventListener('abort', onAbort);
    worker.on('message', (m: { columns?: string[]; rows?: SqlValue[][]; done?: boolean; rowCount?: number; truncated?: boolean; error?: string }) => {
      if (settled) return;
      if (m.columns) columns = m.columns;
      else if (m.rows) o.onRows?.(m.rows, columns);
      else if (m.done) finish(() => resolve({ columns, rowCount: m.rowCount!, truncated: m.truncated! }));
      else if (m.error !== undefined) finish(() => reject(new Error(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new Error(`the query worker stopped (exit code ${code})`))));
  });
}

async function queryInThread(
  file: string,
  sql: string,
  params: readonly SqlValue[],
  maxRows: number,
  batchRows: number,
  o: QueryOptions,
): Promise<Omit<QueryResult, 'elapsedMs'>> {
  const db = openDb(file, { readOnly: true, engine: 'wasm' });
  try {
    db.exec('PRAGMA query_only = ON');
    let columns: string[] = [];
    let batch: SqlValue[][] = [];
    let count = 0;
    let truncated = false;
    for (const row of db.iterate(sql, params)) {
      if (count === 0) columns = Object.keys(row);
      if (count === maxRows) {
        truncated = true;
        break;
      }
      batch.push(Object.values(row));
      count++;
      if (batch.length >= batchRows) {
        o.onRows?.(batch, columns);
        batch = [];
        await new Promise((r) => setImmediate(r));
        if (o.signal?.aborted) throw new QueryCancelled();
      }
    }
    if (batch.length) o.onRows?.(batch, columns);
    return { columns, rowCount: count, truncated };
  } finally {
    db.close();
  }
}
