/**
 * The SQLite engine behind one small interface (engineTypes.ts): `node:sqlite` wherever the
 * runtime has it (Node >= 22.5, VS Code's extension host), else node-sqlite3-wasm (Node 20:
 * the CLI's minimum). Both store every value identically (tested: type and bytes of every
 * value of every table). Why: docs/sqlite.md, "Engine".
 */

import { type Db, type EngineKind, type OpenOptions, type RowBatch, type Statement } from './engineTypes';
import { NATIVE_ENGINE_NAME, nativeModule, nativeRunBatch, nativeSqliteVersion, openNativeDb } from './nativeEngine';
import { WASM_ENGINE_NAME, openWasmDb, wasmRunBatch, wasmSqliteVersion } from './wasmEngine';

export * from './engineTypes';

/** True when this runtime has `node:sqlite`. */
export function nativeAvailable(): boolean {
  return nativeModule() !== null;
}

/** The engine used when none is asked for. */
export function defaultEngine(): EngineKind {
  return nativeAvailable() ? 'native' : 'wasm';
}

export function engineName(kind: EngineKind = defaultEngine()): string {
  return kind === 'native' ? NATIVE_ENGINE_NAME : WASM_ENGINE_NAME;
}

export function openDb(file: string, options: OpenOptions = {}): Db {
  const kind = options.engine ?? defaultEngine();
  return kind === 'native' ? openNativeDb(file, options) : openWasmDb(file, options);
}

/** Binds and steps every row of a worker's batch with the statements of one Db. */
export function runBatch(statements: readonly Statement[], batch: RowBatch): void {
  if (statements[0]?.engine === 'native') nativeRunBatch(statements, batch);
  else wasmRunBatch(statements, batch);
}

/** The SQLite library version of an engine. */
export function sqliteVersion(kind: EngineKind = defaultEngine()): string {
  return kind === 'native' ? nativeSqliteVersion() : wasmSqliteVersion();
}
