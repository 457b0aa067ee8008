/** Reading an index back in tests: whole tables in a stable order, and single queries. */
import { openDb, type Row } from '../../src/core/sqlite/engine';
import { ORDER_BY, TABLES } from '../../src/core/sqlite/schema';

/** Every table's rows in a stable order (the surrogate events.id and volatile meta left out). */
export function dumpIndex(file: string): Record<string, Row[]> {
  const db = openDb(file, { readOnly: true });
  try {
    const out: Record<string, Row[]> = {};
    for (const t of TABLES) {
      const rows = db.all(`SELECT * FROM ${t} ORDER BY ${ORDER_BY[t]}`);
      if (t === 'events') for (const r of rows) delete r.id;
      out[t] = t === 'meta' ? rows.filter((r) => !['built_at', 'mode', 'full_reason'].includes(String(r.key))) : rows;
    }
    return out;
  } finally {
    db.close();
  }
}

export function query(file: string, sql: string, values: (string | number)[] = []): Row[] {
  const db = openDb(file, { readOnly: true });
  try {
    return db.all(sql, values);
  } finally {
    db.close();
  }
}
