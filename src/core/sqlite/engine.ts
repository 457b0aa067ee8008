/**
 * The SQLite engine: node-sqlite3-wasm, SQLite compiled to WebAssembly with a VFS on Node's
 * `fs`. It runs in Node 20 (the CLI), in VS Code's extension host and in Electron without
 * native modules, and it reads and writes a real database file page by page: the database
 * is never held in memory as a whole (unlike sql.js, which keeps it in the WASM heap and
 * exports it at the end). Why this one and not another: docs/sqlite.md, "Engine".
 *
 * The wasm file must sit beside the bundle that includes this module (esbuild.js copies it).
 * This wrapper keeps the rest of the code independent of the engine's API.
 */

import { Database } from 'node-sqlite3-wasm';

export type SqlValue = number | bigint | string | Uint8Array | null;
export type Row = Record<string, SqlValue>;

export interface Statement {
  run(values: readonly (SqlValue | boolean | undefined)[]): void;
  all(values?: readonly (SqlValue | boolean)[]): Row[];
  finalize(): void;
}

export interface Db {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  all(sql: string, values?: readonly (SqlValue | boolean)[]): Row[];
  get(sql: string, values?: readonly (SqlValue | boolean)[]): Row | null;
  close(): void;
}

export const ENGINE_NAME = 'node-sqlite3-wasm';

export function openDb(file: string, options: { readOnly?: boolean; mustExist?: boolean } = {}): Db {
  const db = new Database(file, { readOnly: options.readOnly === true, fileMustExist: options.mustExist === true || options.readOnly === true });
  return {
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const st = db.prepare(sql);
      return {
        run: (values) => {
          st.run(values.map(bindable) as never);
        },
        all: (values) => st.all((values ?? []) as never) as Row[],
        finalize: () => st.finalize(),
      };
    },
    all: (sql, values) => db.all(sql, (values ?? []) as never) as Row[],
    get: (sql, values) => db.get(sql, (values ?? []) as never) as Row | null,
    close: () => db.close(),
  };
}

/**
 * The engine binds strings as NUL-terminated C strings, which would cut a text at its first
 * U+0000. Such a string is bound as its UTF-8 bytes (a BLOB) instead; the writer's INSERTs
 * wrap text columns in CAST(? AS TEXT), so it is stored as the whole TEXT value. Absent
 * values (`undefined`) are stored as NULL.
 */
function bindable(v: SqlValue | boolean | undefined): SqlValue | boolean {
  if (v === undefined) return null;
  if (typeof v === 'string' && v.includes('\u0000')) return Buffer.from(v, 'utf8');
  return v;
}

/** The SQLite library version the engine was built with. */
export function sqliteVersion(): string {
  const db = new Database();
  try {
    return String((db.get('select sqlite_version() as v') as Row).v);
  } finally {
    db.close();
  }
}
