/**
 * The native SQLite engine: Node's built-in `node:sqlite` (`DatabaseSync`), present in
 * Node >= 22.5 (unflagged from 22.13) and in VS Code's extension host. Real POSIX locks and
 * SQLite's own hot-journal rollback, and about twice as fast as the wasm fallback
 * (docs/sqlite.md, "Engine"). engine.ts uses it wherever `available()` is true.
 *
 * Values are stored exactly as the wasm engine stores them (a test compares every value's
 * type and bytes): `node:sqlite` binds every JS number as a REAL, so a safe integer bound to
 * a TEXT column (CAST(? AS TEXT)) or to a statement of unknown columns goes in as a BigInt
 * (an INTEGER); INTEGER and REAL columns convert by their affinity either way.
 */

import * as fs from 'fs';
import { V_BLOB, V_DOUBLE, V_INT, V_INT64, V_NULL, V_TEXT, type Db, type Row, type RowBatch, type SqlValue, type Statement } from './engineTypes';

export const NATIVE_ENGINE_NAME = 'node:sqlite';

/** What we use of `node:sqlite` (its types are not in @types/node 20). */
export type NodeSqliteModule = { DatabaseSync: typeof NodeSqlite.DatabaseSync };

export declare namespace NodeSqlite {
  type Value = null | number | bigint | string | NodeJS.ArrayBufferView;
  interface StatementSync {
    run(...values: Value[]): unknown;
    all(...values: Value[]): Record<string, unknown>[];
    get(...values: Value[]): Record<string, unknown> | undefined;
    iterate(...values: Value[]): IterableIterator<Record<string, unknown>>;
    columns(): { name: string }[];
    setReadBigInts(on: boolean): void;
  }
  interface DatabaseSync {
    exec(sql: string): void;
    prepare(sql: string): StatementSync;
    close(): void;
  }
  const DatabaseSync: new (
    file: string,
    options?: { readOnly?: boolean; enableForeignKeyConstraints?: boolean; open?: boolean; timeout?: number },
  ) => DatabaseSync;
}

let loaded: NodeSqliteModule | null | undefined;

/** `node:sqlite`, or null where the runtime lacks it (Node < 22.5, or 22.5–22.12 without --experimental-sqlite). */
export function nativeModule(): NodeSqliteModule | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const major = Number(process.versions.node.split('.')[0]);
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (major < 22 || typeof get !== 'function') return loaded;
  // Loading it prints an ExperimentalWarning on stderr (Node 22–24), which would land in
  // the CLI's --progress-json stream: drop that one warning.
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, w: string | Error, ...rest: unknown[]): void {
    const text = typeof w === 'string' ? w : w.message;
    if (/SQLite/i.test(text)) return;
    return (emit as (...a: unknown[]) => void).call(process, w, ...rest);
  } as typeof process.emitWarning;
  try {
    const m = get.call(process, 'node:sqlite') as NodeSqliteModule | undefined;
    if (m && typeof m.DatabaseSync === 'function') loaded = m;
  } catch {
    // flagged or absent
  } finally {
    process.emitWarning = emit;
  }
  return loaded;
}

type Bindable = null | number | bigint | string | NodeJS.ArrayBufferView;

/** A value as the wasm engine binds it: safe integers as INTEGER where affinity does not decide. */
function exact(v: SqlValue | boolean | undefined): Bindable {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return v === undefined ? null : v;
}

function loose(v: SqlValue | boolean | undefined): Bindable {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return v === undefined ? null : v;
}

/** Integers are read as BigInt (never an out-of-range error) and handed out as numbers when safe; rows are plain objects. */
function plain(r: Record<string, unknown>): Row {
  const out: Row = {};
  for (const k in r) {
    const v = r[k];
    out[k] = typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : (v as SqlValue);
  }
  return out;
}

interface NativeStatement extends Statement {
  st: NodeSqlite.StatementSync;
  /** Per parameter: a CAST(? AS TEXT) (text may be bound as UTF-8 bytes; numbers exactly). */
  cast: boolean[];
  /** A statement not built by writer.ts insertSql: every number bound exactly. */
  general: boolean;
}

function paramShape(sql: string): { cast: boolean[]; general: boolean } {
  const cast: boolean[] = [];
  for (let i = sql.indexOf('?'); i >= 0; i = sql.indexOf('?', i + 1)) cast.push(sql.endsWith('CAST(', i));
  return { cast, general: !sql.startsWith('INSERT INTO ') || !sql.includes('CAST(? AS TEXT)') };
}

export function openNativeDb(file: string, options: { readOnly?: boolean; mustExist?: boolean } = {}): Db {
  const m = nativeModule();
  if (!m) throw new Error('node:sqlite is not available in this runtime');
  if (options.mustExist && !options.readOnly && !fs.existsSync(file)) throw new Error(`unable to open database file: ${file}`);
  const db = new m.DatabaseSync(file, {
    readOnly: options.readOnly === true,
    // SQLite's defaults (node:sqlite turns foreign keys on): the same behaviour as the wasm engine.
    enableForeignKeyConstraints: false,
  });
  const read = (st: NodeSqlite.StatementSync, values: readonly (SqlValue | boolean)[] | undefined): Row[] => {
    st.setReadBigInts(true);
    return st.all(...(values ?? []).map(exact)).map((r) => plain(r));
  };
  return {
    engine: 'native',
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const st = db.prepare(sql);
      const shape = paramShape(sql);
      const s: NativeStatement = {
        engine: 'native',
        st,
        ...shape,
        run: shape.general
          ? (values) => void st.run(...values.map(exact))
          : (values) => {
              const args: Bindable[] = new Array(values.length);
              for (let i = 0; i < values.length; i++) args[i] = shape.cast[i] ? exact(values[i]) : loose(values[i]);
              st.run(...args);
            },
        all: (values) => read(st, values),
        finalize: () => undefined,
      };
      return s;
    },
    all: (sql, values) => read(db.prepare(sql), values),
    get: (sql, values) => read(db.prepare(sql), values)[0] ?? null,
    iterate: function* (sql, values) {
      const st = db.prepare(sql);
      st.setReadBigInts(true);
      for (const r of st.iterate(...(values ?? []).map(exact))) yield plain(r);
    },
    close: () => db.close(),
  };
}

/**
 * Binds and steps every row of `batch` (see engineTypes.ts RowBatch). Text bound to a
 * CAST(? AS TEXT) parameter goes in as its UTF-8 bytes (a view on the batch, no decoding);
 * stored as the same TEXT.
 */
export function nativeRunBatch(statements: readonly Statement[], batch: RowBatch): void {
  const sts = statements as readonly NativeStatement[];
  const types = batch.types;
  const nums = batch.nums;
  const bytes = batch.bytes;
  let off = 0;
  let v = 0;
  for (let r = 0; r < batch.rows; r++) {
    const s = sts[batch.table[r]];
    const n = s.cast.length;
    const args: Bindable[] = new Array(n);
    for (let k = 0; k < n; k++, v++) {
      const x = nums[v];
      switch (types[v]) {
        case V_NULL:
          args[k] = null;
          break;
        case V_INT:
        case V_INT64:
          args[k] = s.cast[k] || s.general ? BigInt(x) : x;
          break;
        case V_DOUBLE:
          args[k] = x;
          break;
        case V_TEXT:
          args[k] = s.cast[k] ? bytes.subarray(off, off + x) : Buffer.from(bytes.buffer, bytes.byteOffset + off, x).toString('utf8');
          off += x;
          break;
        case V_BLOB:
          args[k] = bytes.slice(off, off + x);
          off += x;
          break;
        default:
          throw new Error(`SQLite: binding value ${k + 1}: bad batch`);
      }
    }
    s.st.run(...args);
  }
}

export function nativeSqliteVersion(): string {
  const m = nativeModule();
  if (!m) throw new Error('node:sqlite is not available in this runtime');
  const db = new m.DatabaseSync(':memory:');
  try {
    return String((db.prepare('select sqlite_version() as v').get() as Row).v);
  } finally {
    db.close();
  }
}
