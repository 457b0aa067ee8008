/**
 * One measurement of the memory bench, in its own process (so its peak RSS is its own).
 *   memory.worker.js audit <db>     the whole audit: copy + open, read, replay, compare, retention
 *   memory.worker.js baseline <db>  the same event rows read from the engine with one SELECT and nothing else
 * Prints one JSON line: {ms, peakRssMb, events, findings}.
 */
import { auditMemoryLedger } from '../src/core/memory/audit';
import { openDb } from '../src/core/sqlite/engine';
import { peakRssMb } from './harness';

const [mode, file] = process.argv.slice(2);
const t = process.hrtime.bigint();
let events: number;
let findings = 0;
if (mode === 'audit') {
  const a = auditMemoryLedger(file);
  events = a.input.events.length;
  findings = a.findings.length;
} else {
  const db = openDb(file, { readOnly: true });
  events = db.all('SELECT id, kind, payload, created_at FROM events ORDER BY rowid').length;
  db.close();
}
const ms = Number(process.hrtime.bigint() - t) / 1e6;
process.stdout.write(JSON.stringify({ ms, peakRssMb: peakRssMb(), events, findings }) + '\n');
