/**
 * Loading a bot's memory ledger: its event log and (from SQLite) its live memories table.
 *
 * The bot's database is never opened in place. The engine (node-sqlite3-wasm) locks with a
 * `<db>.lock` folder beside the file and, lacking shared memory, can only read a WAL database
 * in exclusive locking mode; neither may touch a database another process owns. So the file
 * and its `-wal` (and a rollback `-journal`, if any) are copied into a private temp folder
 * and the copy is opened. SQLite then recovers the copied WAL, so commits that live only in
 * the `-wal` file are read (the latest committed data). The copy is checked against the
 * originals' size and mtime before and after, and retried when the bot wrote meanwhile.
 */

import * as fs from 'fs';
import { copyFileExclusive, makeTempDir, openReadSync, readTextSync, removeFile, removeTree } from '../fsSafe';
import * as path from 'path';
import { openDb, type Db, type Row, type SqlValue } from '../sqlite/engine';
import {
  CANDIDATES,
  MemorySchemaError,
  REQUIRED_EVENT_COLUMNS,
  REQUIRED_MEMORY_COLUMNS,
  SETTING_HINT,
  candidatesFor,
  type EventColumns,
  type MemoryColumns,
  type MemoryLedgerSettings,
} from './config';

export interface LedgerEvent {
  /** Position in the log (0-based), the replay order. */
  seq: number;
  /** The event's id as stored (null when absent). */
  id: number | string | null;
  kind: string;
  /** The parsed payload; undefined when it is not JSON (see payloadError). */
  payload: unknown;
  payloadError?: string;
  createdAt: unknown;
  /** 1-based line in a JSONL export. */
  line?: number;
}

export interface LiveMemory {
  key: string;
  id: number | string;
  owner: string | null;
  text?: string | null;
  significance: unknown;
  pinned: unknown;
  autoPinned: unknown;
  createdAt?: unknown;
}

export interface ResolvedSchema {
  eventsTable: string;
  eventColumns: Partial<EventColumns>;
  memoriesTable: string | null;
  memoryColumns: Partial<MemoryColumns>;
}

export interface MalformedEventLine {
  line: number;
  detail: string;
}

export interface LedgerInput {
  path: string;
  format: 'sqlite' | 'jsonl';
  /** The file name, used as the "session id" of file-level findings. */
  label: string;
  events: LedgerEvent[];
  /** The live memories table (null for a JSONL export, which has none). */
  live: LiveMemory[] | null;
  schema: ResolvedSchema;
  /** A `-wal` file was present and read with the database. */
  wal: boolean;
  malformed: MalformedEventLine[];
  notes: string[];
}

export class LedgerInputError extends Error {}

/** A SQLite file by its header, otherwise JSONL. */
export function detectFormat(file: string): 'sqlite' | 'jsonl' {
  const { fd } = openReadSync(file, { followSymlink: true }); // never a FIFO or device
  try {
    const b = Buffer.alloc(16);
    const n = fs.readSync(fd, b, 0, 16, 0);
    return n === 16 && b.toString('latin1') === 'SQLite format 3\u0000' ? 'sqlite' : 'jsonl';
  } finally {
    fs.closeSync(fd);
  }
}

export function loadLedger(file: string, settings: MemoryLedgerSettings = {}): LedgerInput {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new LedgerInputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new LedgerInputError(`${file} is not a file (give a bot's SQLite database or a JSONL export of its events)`);
  return detectFormat(file) === 'sqlite' ? loadSqlite(file, settings) : loadJsonl(file, settings);
}

// ---- SQLite ---------------------------------------------------------------------------

const SIDE_FILES = ['-wal', '-journal'];

function fingerprint(file: string): string {
  return ['', ...SIDE_FILES]
    .map((s) => {
      try {
        const st = fs.statSync(file + s);
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}

/** Copies the database and its side files into a new temp folder; returns the copy's path. */
export function copyDatabase(file: string, attempts = 5): { dir: string; copy: string; wal: boolean; stable: boolean } {
  const dir = makeTempDir('bma-memory-');
  const copy = path.join(dir, 'ledger.db');
  let stable = false;
  let wal = false;
  try {
    for (let i = 0; i < attempts && !stable; i++) {
      const before = fingerprint(file);
      for (const s of SIDE_FILES) removeFile(copy + s);
      wal = false;
      // The WAL before the database: a checkpoint running meanwhile only moves pages the
      // copied WAL still holds, so the pair stays consistent; the fingerprint catches the rest.
      for (const s of SIDE_FILES) {
        try {
          copyFileExclusive(file + s, copy + s);
          if (s === '-wal') wal = true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      removeFile(copy);
      copyFileExclusive(file, copy);
      stable = fingerprint(file) === before;
    }
  } catch (e) {
    removeTree(dir);
    throw new LedgerInputError(`cannot copy ${file} for reading: ${(e as Error).message}`);
  }
  return { dir, copy, wal, stable };
}

function quoteId(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function tables(db: Db): string[] {
  return db.all(`SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name`).map((r) => String(r.name));
}

function columns(db: Db, table: string): string[] {
  return db.all(`PRAGMA table_info(${quoteId(table)})`).map((r) => String(r.name));
}

function pickTable(existing: string[], explicit: string | undefined, likely: readonly string[], what: 'eventsTable' | 'memoriesTable', file: string): string {
  const tried = candidatesFor(explicit, likely);
  const lower = new Map(existing.map((t) => [t.toLowerCase(), t]));
  for (const t of tried) {
    const hit = lower.get(t.toLowerCase());
    if (hit) return hit;
  }
  const label = what === 'eventsTable' ? 'event log' : 'memories';
  throw new MemorySchemaError(
    `${path.basename(file)}: no ${label} table ${tried.map((t) => `"${t}"`).join(' or ')} (tables: ${existing.length ? existing.join(', ') : 'none'}). Set ${SETTING_HINT[what]}.`,
  );
}

function pickColumns<K extends string>(
  have: string[],
  table: string,
  explicit: Partial<Record<K, string>> | undefined,
  likely: Record<K, readonly string[]>,
  required: readonly K[],
  hint: (k: string) => string,
  file: string,
): Partial<Record<K, string>> {
  const lower = new Map(have.map((c) => [c.toLowerCase(), c]));
  const out: Partial<Record<K, string>> = {};
  const missing: string[] = [];
  for (const k of Object.keys(likely) as K[]) {
    const tried = candidatesFor(explicit?.[k], likely[k]);
    const hit = tried.map((c) => lower.get(c.toLowerCase())).find((c) => c !== undefined);
    if (hit) out[k] = hit;
    else if (required.includes(k) || explicit?.[k]?.trim()) missing.push(`${k} (${tried.map((t) => `"${t}"`).join(' or ')}; set ${hint(k)})`);
  }
  if (missing.length)
    throw new MemorySchemaError(`${path.basename(file)}: table "${table}" has no column for ${missing.join(', ')}. Its columns: ${have.join(', ')}.`);
  return out;
}

/** Resolves table and column names against an open database (throws MemorySchemaError). */
export function resolveSchema(db: Db, settings: MemoryLedgerSettings, file: string): ResolvedSchema {
  const existing = tables(db);
  const eventsTable = pickTable(existing, settings.eventsTable, CANDIDATES.eventsTable, 'eventsTable', file);
  const eventColumns = pickColumns(
    columns(db, eventsTable),
    eventsTable,
    settings.eventColumns,
    CANDIDATES.eventColumns,
    REQUIRED_EVENT_COLUMNS,
    SETTING_HINT.eventColumns,
    file,
  );
  const memoriesTable = pickTable(existing, settings.memoriesTable, CANDIDATES.memoriesTable, 'memoriesTable', file);
  const memoryColumns = pickColumns(
    columns(db, memoriesTable),
    memoriesTable,
    settings.memoryColumns,
    CANDIDATES.memoryColumns,
    REQUIRED_MEMORY_COLUMNS,
    SETTING_HINT.memoryColumns,
    file,
  );
  return { eventsTable, eventColumns, memoriesTable, memoryColumns };
}

function text(v: SqlValue): string {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return String(v);
}

/** A scalar from the engine as JSON would carry it (bigint to number when safe). */
function scalar(v: SqlValue | undefined): unknown {
  if (v === undefined) return undefined;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  return v;
}

export function parsePayload(raw: unknown): { payload: unknown; error?: string } {
  if (raw === null || raw === undefined) return { payload: undefined, error: 'payload is empty (NULL)' };
  if (typeof raw === 'object') return { payload: raw };
  if (typeof raw !== 'string') return { payload: undefined, error: `payload is a ${typeof raw}, not JSON text` };
  try {
    return { payload: JSON.parse(raw) };
  } catch (e) {
    return { payload: undefined, error: `payload is not JSON: ${(e as Error).message}` };
  }
}

export function memoryKey(id: unknown): string | null {
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  if (typeof id === 'bigint') return id.toString();
  if (typeof id === 'string' && id.trim() !== '') return id;
  return null;
}

function readEvents(db: Db, schema: ResolvedSchema): LedgerEvent[] {
  const c = schema.eventColumns;
  const sel = [
    `${quoteId(c.id!)} AS id`,
    `${quoteId(c.kind!)} AS kind`,
    `${quoteId(c.payload!)} AS payload`,
    c.createdAt ? `${quoteId(c.createdAt)} AS created_at` : 'NULL AS created_at',
  ].join(', ');
  const from = quoteId(schema.eventsTable);
  let rows: Row[];
  try {
    // Insertion order is the log's order (append-only); a WITHOUT ROWID table has none: its id then.
    rows = db.all(`SELECT ${sel} FROM ${from} ORDER BY rowid`);
  } catch {
    rows = db.all(`SELECT ${sel} FROM ${from} ORDER BY ${quoteId(c.id!)}`);
  }
  const events: LedgerEvent[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const p = parsePayload(r.payload instanceof Uint8Array ? text(r.payload) : r.payload);
    const id = scalar(r.id);
    events[i] = {
      seq: i,
      id: typeof id === 'number' || typeof id === 'string' ? id : null,
      kind: r.kind === null ? '' : text(r.kind),
      payload: p.payload,
      ...(p.error ? { payloadError: p.error } : {}),
      createdAt: scalar(r.created_at),
    };
  }
  return events;
}

function readMemories(db: Db, schema: ResolvedSchema): LiveMemory[] {
  const c = schema.memoryColumns;
  const col = (k: keyof MemoryColumns, as: string) => (c[k] ? `${quoteId(c[k]!)} AS ${as}` : `NULL AS ${as}`);
  const rows = db.all(
    `SELECT ${[col('id', 'id'), col('owner', 'owner'), col('text', 'text'), col('significance', 'significance'), col('pinned', 'pinned'), col('autoPinned', 'auto_pinned'), col('createdAt', 'created_at')].join(', ')} FROM ${quoteId(schema.memoriesTable!)}`,
  );
  const out: LiveMemory[] = [];
  for (const r of rows) {
    const id = scalar(r.id);
    const key = memoryKey(id);
    if (key === null) continue;
    const owner = scalar(r.owner);
    out.push({
      key,
      id: id as number | string,
      owner: owner === null || owner === undefined ? null : String(owner),
      ...(c.text ? { text: r.text === null ? null : text(r.text) } : {}),
      significance: scalar(r.significance),
      pinned: scalar(r.pinned),
      autoPinned: scalar(r.auto_pinned),
      ...(c.createdAt ? { createdAt: scalar(r.created_at) } : {}),
    });
  }
  return out;
}

export function loadSqlite(file: string, settings: MemoryLedgerSettings = {}): LedgerInput {
  const { dir, copy, wal, stable } = copyDatabase(file);
  let db: Db | undefined;
  try {
    try {
      db = openDb(copy, { mustExist: true });
      // No shared memory in this engine: exclusive mode keeps the WAL index in process memory.
      db.exec('PRAGMA locking_mode=EXCLUSIVE');
      db.get('SELECT count(*) AS n FROM sqlite_master');
    } catch (e) {
      throw new LedgerInputError(`cannot open ${file} as SQLite: ${(e as Error).message}`);
    }
    const schema = resolveSchema(db, settings, file);
    const events = readEvents(db, schema);
    const live = readMemories(db, schema);
    const notes: string[] = [];
    if (!stable) notes.push('the database kept changing while it was copied; the copy may mix two moments');
    return { path: file, format: 'sqlite', label: path.basename(file), events, live, schema, wal, malformed: [], notes };
  } finally {
    try {
      db?.close();
    } catch {
      // the copy is removed anyway
    }
    removeTree(dir);
  }
}

// ---- JSONL ----------------------------------------------------------------------------

function firstKey(o: Record<string, unknown>, explicit: string | undefined, likely: readonly string[]): string | undefined {
  for (const k of candidatesFor(explicit, likely)) if (Object.prototype.hasOwnProperty.call(o, k)) return k;
  return undefined;
}

/** One event a line: `{"id":…, "kind":…, "payload": {…} or "<json text>", "created_at":…}` (names as in the event columns). */
export function loadJsonl(file: string, settings: MemoryLedgerSettings = {}): LedgerInput {
  let data: string;
  try {
    data = readTextSync(file, { followSymlink: true });
  } catch (e) {
    throw new LedgerInputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const events: LedgerEvent[] = [];
  const malformed: MalformedEventLine[] = [];
  const cols = settings.eventColumns ?? {};
  const lines = data.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (e) {
      malformed.push({ line: i + 1, detail: `not JSON: ${(e as Error).message}` });
      continue;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      malformed.push({ line: i + 1, detail: 'not a JSON object' });
      continue;
    }
    const rec = o as Record<string, unknown>;
    const kindKey = firstKey(rec, cols.kind, CANDIDATES.eventColumns.kind);
    const payloadKey = firstKey(rec, cols.payload, CANDIDATES.eventColumns.payload);
    if (kindKey === undefined || typeof rec[kindKey] !== 'string') {
      malformed.push({
        line: i + 1,
        detail: `no event kind (${candidatesFor(cols.kind, CANDIDATES.eventColumns.kind)
          .map((k) => `"${k}"`)
          .join(' or ')} as a string)`,
      });
      continue;
    }
    const idKey = firstKey(rec, cols.id, CANDIDATES.eventColumns.id);
    const atKey = firstKey(rec, cols.createdAt, CANDIDATES.eventColumns.createdAt);
    const id = idKey === undefined ? null : rec[idKey];
    const p = parsePayload(payloadKey === undefined ? undefined : rec[payloadKey]);
    events.push({
      seq: events.length,
      id: typeof id === 'number' || typeof id === 'string' ? id : null,
      kind: rec[kindKey] as string,
      payload: p.payload,
      ...(p.error ? { payloadError: p.error } : {}),
      createdAt: atKey === undefined ? null : rec[atKey],
      line: i + 1,
    });
  }
  return {
    path: file,
    format: 'jsonl',
    label: path.basename(file),
    events,
    live: null,
    schema: { eventsTable: '(jsonl)', eventColumns: {}, memoriesTable: null, memoryColumns: {} },
    wal: false,
    malformed,
    notes: [],
  };
}
