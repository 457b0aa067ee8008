/**
 * Baselines for the SQLite bench, each run in its own process (so its peak RSS is its own):
 * loads rows of an existing index into memory (not timed), then times inserting them into a
 * new database file with the same engine and nothing else. Prints one JSON line.
 *
 *   sqlite.worker.js <index> <target> [--plain] [--engine native|wasm]  the baseline: the events rows, one prepared
 *       statement run per row, one transaction, no indexes; bound by our engine wrapper (the
 *       code the rebuild uses) or, with --plain, by the engine's own Statement.run
 *   ... --batched  the same rows and statement, the values encoded beforehand as the rebuild's
 *       worker encodes them (rows.ts) and run with engine.ts `runBatch`: the rebuild's own
 *       insert path, the fastest way this engine takes these rows
 *   ... --floor    every table's rows as --batched, with the rebuild's statements, indexes and
 *       final fsync: all a full rebuild writes, none of its reading
 */
import * as fs from 'fs';
import { defaultEngine, openDb, runBatch, type EngineKind, type RowBatch, type SqlValue } from '../src/core/sqlite/engine';
import { directBinding, setWasmBinding } from '../src/core/sqlite/wasmEngine';
import { RowEncoder } from '../src/core/sqlite/rows';
import { CACHE_SIZE } from '../src/core/sqlite/rebuild';
import { DDL, EVENT_INDEXES, LATE_INDEXES } from '../src/core/sqlite/schema';
import { insertSql, ROW_TABLES } from '../src/core/sqlite/writer';
import { peakRssMb } from './harness';

const [source, target, ...flags] = process.argv.slice(2);
const floor = flags.includes('--floor');
const batched = floor || flags.includes('--batched');
const engineAt = flags.indexOf('--engine');
const engine: EngineKind = engineAt >= 0 ? (flags[engineAt + 1] as EngineKind) : defaultEngine();
if (flags.includes('--plain')) setWasmBinding('plain');

class Encoder extends RowEncoder {
  put(table: number, values: SqlValue[]): void {
    this.emit(table, values);
  }
}

const src = openDb(source, { readOnly: true, engine });
/** The columns of a table's INSERT, in its order. */
const columnsOf = (t: string): string => /\(([a-z_, ]+)\) VALUES/.exec(insertSql(t))![1];
const tables = floor ? [...ROW_TABLES] : ['events' as const];
// In the order the rebuild inserts them: `events` (WITHOUT ROWID) session by session in upstream's event order, the others as written.
const orderOf = (t: string): string => (t === 'events' ? 'session_id, coalesce(created_at, 0), shard, line' : 'rowid');
const rows = new Map(tables.map((t) => [t, src.all(`SELECT ${columnsOf(t)} FROM ${t} ORDER BY ${orderOf(t)}`).map((r) => Object.values(r) as SqlValue[])]));
src.close();
let count = 0;
for (const r of rows.values()) count += r.length;
const batches: RowBatch[] = [];
if (batched) {
  const enc = new Encoder((b) => batches.push(b));
  for (const [t, rs] of rows) for (const r of rs) enc.put(ROW_TABLES.indexOf(t), r);
  enc.flush();
  rows.clear();
}
const rssBefore = process.memoryUsage().rss;
fs.rmSync(target, { force: true });
const t = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const db = openDb(target, { engine });
db.exec(`PRAGMA page_size = 8192; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = ${CACHE_SIZE};`);
db.exec(DDL);
if (floor) db.exec(EVENT_INDEXES);
db.exec('BEGIN');
if (batched) {
  const statements = ROW_TABLES.map((tb) => db.prepare(insertSql(tb)));
  for (const b of batches) runBatch(statements, b);
  for (const st of statements) st.finalize();
} else {
  const st = db.prepare(insertSql('events'));
  for (const r of rows.get('events')!) st.run(r);
  st.finalize();
}
db.exec('COMMIT');
if (floor) db.exec(LATE_INDEXES);
db.close();
if (floor) {
  const fd = fs.openSync(target, 'r+');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}
const ms = Number(process.hrtime.bigint() - t) / 1e6;
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  JSON.stringify({
    rows: count,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    rowsMb: rssBefore / 1024 / 1024,
    peakRssMb: peakRssMb(),
    direct: engine === 'wasm' && directBinding(),
    engine,
  }) + '\n',
);
