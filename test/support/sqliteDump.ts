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

/**
 * Every value of every table as its SQLite type and bytes (hex), in a stable order: byte-for-byte
 * equality. `skipMeta`: meta keys left out besides the volatile ones.
 */
export function exactDump(file: string, skipMeta: readonly string[] = []): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const volatile = ['built_at', 'mode', 'full_reason', ...skipMeta].map((k) => `'${k}'`).join(', ');
  for (const t of TABLES) {
    const cols = query(file, `SELECT name FROM pragma_table_info('${t}')`)
      .map((c) => String(c.name))
      .filter((c) => !(t === 'events' && c === 'id'));
    const where = t === 'meta' ? `WHERE key NOT IN (${volatile})` : '';
    out[t] = query(
      file,
      `SELECT ${cols.map((c) => `typeof(${c}) || ':' || hex(${c})`).join(" || '|' || ")} AS r FROM ${t} ${where} ORDER BY ${ORDER_BY[t]}`,
    ).map((r) => String(r.r));
  }
  return out;
}

export function query(file: string, sql: string, values: (string | number)[] = []): Row[] {
  const db = openDb(file, { readOnly: true });
  try {
    return db.all(sql, values);
  } finally {
    db.close();
  }
}
