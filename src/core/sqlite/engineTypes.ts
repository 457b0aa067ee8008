/** The engine interface both SQLite engines implement (engine.ts picks one). */

export type SqlValue = number | bigint | string | Uint8Array | null;
export type Row = Record<string, SqlValue>;
export type EngineKind = 'native' | 'wasm';

export interface Statement {
  readonly engine: EngineKind;
  run(values: readonly (SqlValue | boolean | undefined)[]): void;
  all(values?: readonly (SqlValue | boolean)[]): Row[];
  finalize(): void;
}

export interface Db {
  readonly engine: EngineKind;
  exec(sql: string): void;
  prepare(sql: string): Statement;
  all(sql: string, values?: readonly (SqlValue | boolean)[]): Row[];
  get(sql: string, values?: readonly (SqlValue | boolean)[]): Row | null;
  /** The rows of one statement, one at a time (the statement is finalized when the loop ends). */
  iterate(sql: string, values?: readonly (SqlValue | boolean)[]): Iterable<Row>;
  close(): void;
}

export interface OpenOptions {
  readOnly?: boolean;
  mustExist?: boolean;
  /** Which engine (default: `node:sqlite` where the runtime has it, else the wasm one). */
  engine?: EngineKind;
}

/**
 * Rows encoded for binding without re-encoding (built in a rebuild worker by rows.ts
 * `RowEncoder`, handed over as transferable ArrayBuffers). Row r is a row of
 * `statements[table[r]]` with that statement's parameter count of values; value v has type
 * `types[v]` and number `nums[v]` (the value, or for text and blobs its UTF-8 byte length;
 * the bytes follow each other in `bytes`, in value order).
 */
export interface RowBatch {
  table: Uint8Array;
  rows: number;
  types: Uint8Array;
  nums: Float64Array;
  values: number;
  bytes: Uint8Array;
  byteLength: number;
}

export const V_NULL = 0;
export const V_INT = 1;
export const V_INT64 = 2;
export const V_DOUBLE = 3;
export const V_TEXT = 4;
export const V_BLOB = 5;
