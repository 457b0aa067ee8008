/**
 * Baseline for the SQLite bench, run in its own process (so its peak RSS is its own):
 * loads the events rows of an existing index into memory, then times inserting them into a
 * new database file with the same engine, one prepared statement, one transaction and
 * nothing else. Prints one JSON line. BMA_SQLITE_PLAIN_BINDING=1: the engine's own binding.
 */
import * as fs from 'fs';
import { directBinding, openDb } from '../src/core/sqlite/engine';
import { DDL } from '../src/core/sqlite/schema';
import { insertSql } from '../src/core/sqlite/writer';

const [source, target] = process.argv.slice(2);
const src = openDb(source, { readOnly: true });
const cols = 'session_id, shard, line, offset, length, turn_id, stream_id, event, created_at, terminal, torn, raw';
const rows = src.all(`SELECT ${cols} FROM events`).map((r) => Object.values(r));
src.close();
const rssBefore = process.memoryUsage().rss;
fs.rmSync(target, { force: true });
const t = process.hrtime.bigint();
const db = openDb(target);
db.exec('PRAGMA page_size = 8192; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE; PRAGMA cache_size = -65536;');
db.exec(DDL);
db.exec('BEGIN');
const st = db.prepare(insertSql('events'));
for (const r of rows) st.run(r as never);
st.finalize();
db.exec('COMMIT');
db.close();
const ms = Number(process.hrtime.bigint() - t) / 1e6;
process.stdout.write(JSON.stringify({ rows: rows.length, ms, rowsMb: rssBefore / 1024 / 1024, peakRssMb: process.resourceUsage().maxRSS / 1024, direct: directBinding }) + '\n');
