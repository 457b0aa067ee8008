/**
 * The fallback SQLite engine (engine.ts picks it where `node:sqlite` is missing, i.e. Node
 * < 22.5): node-sqlite3-wasm, SQLite compiled to WebAssembly with a VFS on Node's `fs`. It
 * runs without native modules and reads and writes a real database file page by page: the
 * database is never held in memory as a whole. Why: docs/sqlite.md, "Engine".
 *
 * The wasm file must sit beside the bundle that includes this module (esbuild.js copies it).
 * It is loaded on first use only, so a runtime with `node:sqlite` never loads it.
 *
 * Binding (docs/sqlite.md, "Speed"): `Statement.run` binds values itself through the
 * engine's exported C functions (`sqlite3_bind_text` with an explicit byte length, the
 * UTF-8 written by Node's native encoder straight into the WASM heap) instead of the
 * engine's JavaScript binding, which measures and encodes every string with a JavaScript
 * loop and mallocs and frees a copy per value. That needs the WASM memory, which the engine
 * does not export: it is picked up from the instance the engine creates when it loads. If
 * it cannot be (another engine build), the engine's own binding is used.
 */

import type * as Sqlite3Wasm from 'node-sqlite3-wasm';
import { V_BLOB, V_DOUBLE, V_INT, V_INT64, V_NULL, V_TEXT, type Db, type Row, type RowBatch, type SqlValue, type Statement } from './engineTypes';

export const WASM_ENGINE_NAME = 'node-sqlite3-wasm';

/** The C functions the engine exports (emscripten names), as far as we use them. */
interface Exports {
  _malloc(n: number): number;
  _free(p: number): void;
  _sqlite3_bind_text(st: number, i: number, p: number, n: number, destructor: number): number;
  _sqlite3_bind_blob(st: number, i: number, p: number, n: number, destructor: number): number;
  _sqlite3_bind_int(st: number, i: number, v: number): number;
  _sqlite3_bind_int64(st: number, i: number, v: bigint): number;
  _sqlite3_bind_double(st: number, i: number, v: number): number;
  _sqlite3_bind_null(st: number, i: number): number;
  _sqlite3_step(st: number): number;
  _sqlite3_reset(st: number): number;
  _sqlite3_clear_bindings(st: number): number;
  _sqlite3_errmsg(db: number): number;
}

/** Binding: `direct` (through the engine's C functions, the default) or `plain` (the engine's own; a bench baseline). */
export type WasmBinding = 'direct' | 'plain';

let loadedEngine: { lib: typeof Sqlite3Wasm; memory: WebAssembly.Memory | null } | null = null;
let binding: WasmBinding = 'direct';

/** Chooses the binding of statements prepared from now on (the bench measures both). */
export function setWasmBinding(b: WasmBinding): void {
  binding = b;
}

function engine(): { lib: typeof Sqlite3Wasm; memory: WebAssembly.Memory | null } {
  loadedEngine ??= loadEngine();
  return loadedEngine;
}

function loadEngine(): { lib: typeof Sqlite3Wasm; memory: WebAssembly.Memory | null } {
  let memory: WebAssembly.Memory | null = null;
  const Original = WebAssembly.Instance;
  // Sees the engine's module instance while it loads, to keep a handle on its memory.
  const Spy = function (module: WebAssembly.Module, imports?: WebAssembly.Imports): WebAssembly.Instance {
    const instance = new Original(module, imports);
    for (const v of Object.values(instance.exports)) if (memory === null && v instanceof WebAssembly.Memory) memory = v;
    return instance;
  } as unknown as typeof WebAssembly.Instance;
  Spy.prototype = Original.prototype;
  let loaded: typeof Sqlite3Wasm;
  try {
    (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = Spy;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('node-sqlite3-wasm') as typeof Sqlite3Wasm;
  } finally {
    (WebAssembly as { Instance: typeof WebAssembly.Instance }).Instance = Original;
  }
  const fns = loaded as unknown as Partial<Exports>;
  const needed: (keyof Exports)[] = [
    '_malloc',
    '_free',
    '_sqlite3_bind_text',
    '_sqlite3_bind_blob',
    '_sqlite3_bind_int',
    '_sqlite3_bind_int64',
    '_sqlite3_bind_double',
    '_sqlite3_bind_null',
    '_sqlite3_step',
    '_sqlite3_reset',
    '_sqlite3_clear_bindings',
    '_sqlite3_errmsg',
  ];
  if (!needed.every((k) => typeof fns[k] === 'function')) memory = null;
  return { lib: loaded, memory };
}

/** True when `Statement.run` uses the direct binding (false: the engine's own). */
export function directBinding(): boolean {
  return binding === 'direct' && engine().memory !== null;
}

const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
const SQLITE_STATIC = 0;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * One scratch area in the WASM heap, shared by every statement: a row's strings and blobs
 * are written there and bound with SQLITE_STATIC (no copy). Safe because a row is bound,
 * stepped and its bindings cleared before the next row is written.
 */
class Scratch {
  ptr = 0;
  size = 0;
  private heap: Buffer = Buffer.alloc(0);

  constructor(
    private readonly c: Exports,
    private readonly memory: WebAssembly.Memory,
  ) {}

  /** A Buffer over the whole heap, at least `n` bytes free at `this.ptr`. */
  reserve(n: number): Buffer {
    if (n > this.size) {
      if (this.ptr) this.c._free(this.ptr);
      this.size = Math.max(n, 1 << 20, this.size * 2);
      this.ptr = this.c._malloc(this.size);
      if (!this.ptr) throw new Error(`SQLite: out of memory reserving ${this.size} bytes`);
    }
    // The heap's ArrayBuffer is replaced whenever the memory grows.
    if (this.heap.buffer !== this.memory.buffer) this.heap = Buffer.from(this.memory.buffer);
    return this.heap;
  }

  cString(p: number): string {
    const heap = this.reserve(0);
    let end = p;
    while (heap[end] !== 0) end++;
    return heap.toString('utf8', p, end);
  }
}

let scratch: Scratch | null = null;

/** Node's unchecked UTF-8 writer behind `Buffer#write` (present in Node 20–24), else `write`. */
const utf8Write: (this: Buffer, s: string, offset: number) => number =
  typeof (Buffer.prototype as unknown as { utf8Write?: unknown }).utf8Write === 'function'
    ? (Buffer.prototype as unknown as { utf8Write: (this: Buffer, s: string, offset: number) => number }).utf8Write
    : function (this: Buffer, s: string, offset: number): number {
        return this.write(s, offset, 'utf8');
      };

interface LibStatement {
  _ptr: number;
  run(values: unknown): unknown;
  all(values?: unknown): unknown[];
  finalize(): void;
}

function directRun(st: LibStatement, dbPtr: number, values: readonly (SqlValue | boolean | undefined)[]): void {
  const c = engine().lib as unknown as Exports;
  scratch ??= new Scratch(c, engine().memory!);
  let need = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') need += v.length * 3;
    else if (v instanceof Uint8Array) need += v.byteLength;
  }
  const heap = scratch.reserve(need);
  const p = st._ptr;
  let off = scratch.ptr;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let rc: number;
    switch (typeof v) {
      case 'string': {
        // Explicit length: a U+0000 inside is stored, not a terminator. Lone surrogates
        // are written as U+FFFD (valid UTF-8), as node:sqlite does.
        const n = utf8Write.call(heap, v, off);
        rc = c._sqlite3_bind_text(p, i + 1, off, n, SQLITE_STATIC);
        off += n;
        break;
      }
      case 'number':
        if (Number.isSafeInteger(v)) rc = v >= INT32_MIN && v <= INT32_MAX ? c._sqlite3_bind_int(p, i + 1, v) : c._sqlite3_bind_int64(p, i + 1, BigInt(v));
        else rc = c._sqlite3_bind_double(p, i + 1, v);
        break;
      case 'bigint':
        rc = c._sqlite3_bind_int64(p, i + 1, v);
        break;
      case 'boolean':
        rc = c._sqlite3_bind_int(p, i + 1, v ? 1 : 0);
        break;
      default:
        if (v === null || v === undefined) rc = c._sqlite3_bind_null(p, i + 1);
        else if (v instanceof Uint8Array) {
          heap.set(v, off);
          // A zero-length blob needs a non-NULL pointer to be a blob and not NULL.
          rc = c._sqlite3_bind_blob(p, i + 1, off, v.byteLength, SQLITE_STATIC);
          off += v.byteLength;
        } else throw new Error(`SQLite: cannot bind a ${typeof v}`);
    }
    if (rc !== 0) bindFailed(c, p, dbPtr, i + 1, rc);
  }
  stepOnce(c, p, dbPtr);
}

/** Clears and resets the statement, then throws SQLite's message for a failed bind. */
function bindFailed(c: Exports, p: number, dbPtr: number, position: number, rc: number): never {
  c._sqlite3_clear_bindings(p);
  c._sqlite3_reset(p);
  throw new Error(`SQLite: binding value ${position}: ${rc === -1 ? 'bad batch' : scratch!.cString(c._sqlite3_errmsg(dbPtr))}`);
}

/** Steps a bound statement once, then clears its bindings and resets it (also on failure). */
function stepOnce(c: Exports, p: number, dbPtr: number): void {
  const rc = c._sqlite3_step(p);
  c._sqlite3_clear_bindings(p);
  if (rc !== SQLITE_DONE && rc !== SQLITE_ROW) {
    c._sqlite3_reset(p);
    throw new Error(scratch!.cString(c._sqlite3_errmsg(dbPtr)));
  }
  c._sqlite3_reset(p);
}

/**
 * Binds and steps every row of `batch`: the batch's bytes are copied into the WASM heap
 * once and its strings bound from there (SQLITE_STATIC; each row's bindings are cleared
 * before the next is bound, and the area is reused only by the next batch or row).
 * Without the direct binding the values are decoded and run through `Statement.run`.
 */
export function wasmRunBatch(statements: readonly Statement[], batch: RowBatch): void {
  const params = statements.map((s) => (s as DirectStatement).params);
  if (!(statements[0] as DirectStatement).direct) {
    const dec = new TextDecoder();
    let v = 0;
    let off = 0;
    for (let r = 0; r < batch.rows; r++) {
      const st = statements[batch.table[r]];
      const row: SqlValue[] = [];
      for (let k = 0; k < params[batch.table[r]]; k++, v++) {
        const t = batch.types[v];
        const x = batch.nums[v];
        if (t === V_NULL) row.push(null);
        else if (t === V_TEXT || t === V_BLOB) {
          const bytes = batch.bytes.subarray(off, off + x);
          row.push(t === V_TEXT ? dec.decode(bytes) : bytes.slice());
          off += x;
        } else row.push(x);
      }
      st.run(row);
    }
    return;
  }
  const c = engine().lib as unknown as Exports;
  scratch ??= new Scratch(c, engine().memory!);
  const heap = scratch.reserve(batch.byteLength);
  heap.set(batch.bytes.subarray(0, batch.byteLength), scratch.ptr);
  const ptrs = statements.map((s) => (s as DirectStatement).ptr);
  const dbPtr = (statements[0] as DirectStatement).dbPtr;
  // Every parameter starts NULL (and stepOnce clears them after each row): NULL values need
  // no call into the engine (turns rows are a third NULL).
  for (const p of ptrs) c._sqlite3_clear_bindings(p);
  const types = batch.types;
  const nums = batch.nums;
  let off = scratch.ptr;
  let v = 0;
  for (let r = 0; r < batch.rows; r++) {
    const p = ptrs[batch.table[r]];
    const n = params[batch.table[r]];
    for (let k = 1; k <= n; k++, v++) {
      const x = nums[v];
      let rc: number;
      switch (types[v]) {
        case V_NULL:
          rc = 0;
          break;
        case V_INT:
          rc = c._sqlite3_bind_int(p, k, x);
          break;
        case V_INT64:
          rc = c._sqlite3_bind_int64(p, k, BigInt(x));
          break;
        case V_DOUBLE:
          rc = c._sqlite3_bind_double(p, k, x);
          break;
        case V_TEXT:
          rc = c._sqlite3_bind_text(p, k, off, x, SQLITE_STATIC);
          off += x;
          break;
        case V_BLOB:
          rc = c._sqlite3_bind_blob(p, k, off, x, SQLITE_STATIC);
          off += x;
          break;
        default:
          rc = -1;
      }
      if (rc !== 0) bindFailed(c, p, dbPtr, k, rc);
    }
    stepOnce(c, p, dbPtr);
  }
}

interface DirectStatement extends Statement {
  direct: boolean;
  ptr: number;
  dbPtr: number;
  params: number;
}

export function openWasmDb(file: string, options: { readOnly?: boolean; mustExist?: boolean } = {}): Db {
  const lib = engine().lib;
  const direct = directBinding();
  const db = new lib.Database(file, { readOnly: options.readOnly === true, fileMustExist: options.mustExist === true || options.readOnly === true });
  const dbPtr = (db as unknown as { _ptr: number })._ptr;
  return {
    engine: 'wasm',
    exec: (sql) => db.exec(sql),
    prepare: (sql) => {
      const st = db.prepare(sql) as unknown as LibStatement;
      const s: DirectStatement = {
        engine: 'wasm',
        direct,
        ptr: st._ptr,
        dbPtr,
        params: paramCount(sql),
        run: direct
          ? (values) => directRun(st, dbPtr, values)
          : (values) => {
              st.run(values.map(bindable));
            },
        all: (values) => st.all(values ?? []) as Row[],
        finalize: () => st.finalize(),
      };
      return s;
    },
    all: (sql, values) => db.all(sql, (values ?? []) as never) as Row[],
    get: (sql, values) => db.get(sql, (values ?? []) as never) as Row | null,
    iterate: function* (sql, values) {
      const st = db.prepare(sql) as unknown as { iterate(values: unknown): Iterable<Row>; finalize(): void };
      try {
        yield* st.iterate((values ?? []).map(bindable));
      } finally {
        st.finalize();
      }
    },
    close: () => db.close(),
  };
}

/** The number of `?` parameters of an INSERT built by writer.ts `insertSql` (no string literals hold one). */
function paramCount(sql: string): number {
  let n = 0;
  for (let i = sql.indexOf('?'); i >= 0; i = sql.indexOf('?', i + 1)) n++;
  return n;
}

/**
 * The engine's own binding (the fallback) binds strings as NUL-terminated C strings, which
 * would cut a text at its first U+0000. Such a string is bound as its UTF-8 bytes (a BLOB)
 * instead; the writer's INSERTs wrap text columns in CAST(? AS TEXT), so it is stored as
 * the whole TEXT value. Absent values (`undefined`) are stored as NULL.
 */
function bindable(v: SqlValue | boolean | undefined): SqlValue | boolean {
  if (v === undefined) return null;
  if (typeof v === 'string' && v.includes('\u0000')) return Buffer.from(v, 'utf8');
  return v;
}

/** The SQLite library version the engine was built with. */
export function wasmSqliteVersion(): string {
  const db = new (engine().lib.Database)();
  try {
    return String((db.get('select sqlite_version() as v') as Row).v);
  } finally {
    db.close();
  }
}
