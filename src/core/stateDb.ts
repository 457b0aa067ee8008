/**
 * Hermes' `state.db` (the agent's SQLite store, `$HERMES_HOME/state.db`), read the way
 * hermes-webui's recovery audit reads it (`api/session_recovery.py`: `_state_db_has_session`
 * and `_read_state_db_missing_sidecar_rows`), for the `state_db_*` audit kinds and
 * `orphan_backup_without_state_row` (FORMATS.md §2b, docs/cli.md "hermes' state.db").
 *
 * Never written, never locked exclusively. With `node:sqlite` (VS Code's extension host, Node
 * >= 22.5) the file is opened read-only in place (SQLITE_OPEN_READONLY: shared locks only, as
 * upstream's `mode=ro`; like upstream's reader, SQLite's reader protocol updates the `-shm` index, never
 * `state.db` or its `-wal`). The wasm engine (the CLI on Node 20) cannot read a WAL database in
 * place, and hermes' store is WAL: there, and when a read-only open fails, `state.db` and its
 * `-wal` are copied into a private temp folder (0700) and the copy is read (then deleted);
 * a copy taken while a writer checkpoints is retried, then reported. Either way the result says
 * how it was read.
 *
 * Like upstream, a database we cannot read (missing, not SQLite, locked, an older schema)
 * changes nothing: every orphan backup counts as known to it and no row is reported. Unlike
 * upstream (which logs at debug level), the reason is reported; and a path that is not a
 * regular file (a FIFO, a device, a folder) is never opened, so it cannot hang the audit.
 */

import * as path from 'path';
import { copyRegularStreamSync, describeError, lstatOrNull, makeTempDir, removeTree, statOrNull } from './fsSafe';
import { defaultEngine, openDb, type Db, type SqlValue } from './sqlite/engine';

/** A `source = 'webui'` row of `sessions` whose sidecar `<id>.json` is missing. */
export interface StateDbRow {
  /** `str(id)` as upstream's audit item names it. */
  id: string;
  /** No `messages` row for it (or no usable `messages` table): upstream's `state_db_orphan_webui_row`. */
  empty: boolean;
}

export interface StateDbReading {
  path: string;
  /** False when nothing could be read (then upstream's fail-open rules apply). */
  read: boolean;
  /** 'read-only': opened in place, read-only; 'copy': a private copy of `state.db` (+ `-wal`) was read. */
  how?: 'read-only' | 'copy';
  /** Why it could not be read, or what upstream's audit will not use from it. */
  message?: string;
  /** Ids of the `sessions` table; null when upstream treats every session as known (no table, or unreadable). */
  sessionIds: Set<string> | null;
  /** WebUI rows whose sidecar is missing, in upstream's order (`started_at` descending). */
  missing: StateDbRow[];
}

/** Python's `str()` of a SQLite value, for an id (text as is; integers and reals as Python prints them). */
function pyStr(v: SqlValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return `b'${Buffer.from(v).toString('latin1')}'`;
  return 'None';
}

/** Python truthiness of a SQLite value (`x or ''`). */
function truthy(v: SqlValue): boolean {
  if (v === null) return false;
  if (typeof v === 'string') return v !== '';
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'number') return v !== 0;
  return v.length > 0;
}

/** Whether `<sid>.json` exists in the folder (a name that would leave the folder counts as missing). */
function sidecarExists(sessionsDir: string, sid: string): boolean {
  if (sid.includes('/') || sid.includes('\0') || sid === '.' || sid === '..') return false;
  return lstatOrNull(path.join(sessionsDir, `${sid}.json`)) !== null;
}

function columns(db: Db, table: string): Set<string> {
  return new Set(db.all(`PRAGMA table_info(${table})`).map((r) => String(r.name)));
}

/** Upstream's `_state_db_has_session` for every id at once: null = "always known". */
function sessionIds(db: Db): Set<string> | null {
  if (!db.get("select 1 as x from sqlite_master where type='table' and name='sessions'")) return null;
  try {
    const ids = new Set<string>();
    for (const r of db.iterate('select id from sessions')) if (r.id !== null) ids.add(pyStr(r.id));
    return ids;
  } catch {
    return null;
  }
}

/** Upstream's `_read_state_db_missing_sidecar_rows(..., include_empty=True)`. */
function missingRows(db: Db, sessionsDir: string): StateDbRow[] {
  const sessionCols = columns(db, 'sessions');
  const messageCols = columns(db, 'messages');
  if (!sessionCols.has('id') || !sessionCols.has('source')) return [];
  const started = sessionCols.has('started_at') ? 'started_at' : '0 AS started_at';
  const usableMessages = ['session_id', 'role', 'content'].every((c) => messageCols.has(c));
  const rows: StateDbRow[] = [];
  for (const r of db.iterate(`SELECT id, ${started} FROM sessions WHERE source = 'webui' ORDER BY COALESCE(started_at, 0) DESC`)) {
    const sid = truthy(r.id) ? pyStr(r.id).trim() : '';
    if (!sid || sidecarExists(sessionsDir, sid)) continue;
    const empty = !usableMessages || !db.get('SELECT 1 AS x FROM messages WHERE session_id = ? LIMIT 1', [sid]);
    rows.push({ id: truthy(r.id) ? pyStr(r.id) : '', empty });
  }
  return rows;
}

type Contents = Pick<StateDbReading, 'sessionIds' | 'missing' | 'message'>;

function readOpen(db: Db, sessionsDir: string): Contents {
  const ids = sessionIds(db);
  const out: Contents = { sessionIds: ids, missing: missingRows(db, sessionsDir) };
  if (!ids) out.message = 'it has no readable sessions table: like upstream, every backup counts as known to it';
  return out;
}

function fingerprint(file: string): string {
  const st = statOrNull(file);
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : '-';
}

/** Reads a private copy of `state.db` and its `-wal` (retried while a writer changes them). */
function readCopy(file: string, sessionsDir: string): Contents {
  const wal = `${file}-wal`;
  const journal = `${file}-journal`;
  for (let attempt = 0; ; attempt++) {
    const tmp = makeTempDir('bma-state-db-');
    try {
      const before = fingerprint(file) + fingerprint(wal) + fingerprint(journal);
      const copy = path.join(tmp, 'state.db');
      copyRegularStreamSync(file, copy, { followSymlink: true });
      // The WAL holds the newest commits; a rollback journal left by a writer is rolled back in the copy.
      if (statOrNull(wal)?.isFile()) copyRegularStreamSync(wal, `${copy}-wal`, { followSymlink: true });
      if (statOrNull(journal)?.isFile()) copyRegularStreamSync(journal, `${copy}-journal`, { followSymlink: true });
      if (before !== fingerprint(file) + fingerprint(wal) + fingerprint(journal)) {
        if (attempt < 2) continue;
        throw new Error('state.db changed while it was being copied (a writer is busy): try again');
      }
      const db = openDb(copy, {});
      try {
        // WAL without shared memory: the copy is ours alone (SQLite's documented exclusive-mode WAL).
        db.exec('PRAGMA locking_mode=EXCLUSIVE');
        return readOpen(db, sessionsDir);
      } finally {
        db.close();
      }
    } finally {
      removeTree(tmp);
    }
  }
}

function unreadable(file: string, message: string): StateDbReading {
  return { path: file, read: false, message, sessionIds: null, missing: [] };
}

/** Plain-language reason for a SQLite or file error. */
function reason(e: unknown): string {
  const m = describeError(e);
  if (/locked|busy/i.test(m)) return `it is locked by another process (${m})`;
  if (/not a database|malformed|corrupt/i.test(m)) return `it is not a readable SQLite database (${m})`;
  return m;
}

/**
 * Reads what upstream's audit reads from hermes' `state.db` at `file`, for the sessions
 * folder `sessionsDir`. Never throws: an unreadable database is a reading with `read: false`.
 */
export function readStateDb(file: string, sessionsDir: string): StateDbReading {
  const st = statOrNull(file);
  if (!st) {
    return lstatOrNull(file) ? unreadable(file, 'it is a broken symbolic link') : unreadable(file, 'there is no such file');
  }
  if (!st.isFile())
    return unreadable(file, `it is not a regular file (${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a folder' : 'a device or socket'}): not opened`);
  let firstError: unknown;
  if (defaultEngine() === 'native') {
    try {
      const db = openDb(file, { readOnly: true, mustExist: true });
      try {
        return { path: file, read: true, how: 'read-only', ...readOpen(db, sessionsDir) };
      } finally {
        db.close();
      }
    } catch (e) {
      firstError = e;
    }
  }
  try {
    return { path: file, read: true, how: 'copy', ...readCopy(file, sessionsDir) };
  } catch (e) {
    return unreadable(file, reason(firstError ?? e));
  }
}
