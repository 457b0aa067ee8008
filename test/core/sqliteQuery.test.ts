import * as assert from 'assert';
import * as path from 'path';
import { nativeAvailable, type EngineKind } from '../../src/core/sqlite/engine';
import { checkSingleStatement, queryIndex, QueryCancelled, QueryRefused } from '../../src/core/sqlite/query';
import { rebuildIndex } from '../../src/core/sqlite/rebuild';
import { FIXED_NOW, generateSessionsFolder } from '../support/fixtures';
import { query } from '../support/sqliteDump';
import { tempDir } from './helpers';

describe('SQLite index: read-only query entry point', function () {
  this.timeout(60_000);
  let db: string;
  before(async () => {
    const dir = tempDir();
    generateSessionsFolder(dir, { seed: 2, sessions: 4 });
    db = path.join(dir, 'q.sqlite');
    await rebuildIndex({ sessionsDir: dir, db, now: FIXED_NOW });
  });

  it('accepts exactly one statement (comments, strings, quoted names and a trailing ";" allowed)', () => {
    for (const ok of ["SELECT ';' AS x; -- done", 'select "a;b" from t /* ; */;;', "SELECT 'it''s; fine'", 'SELECT [x;y] FROM t'])
      assert.doesNotThrow(() => checkSingleStatement(ok), ok);
    for (const bad of ['SELECT 1; SELECT 2', 'SELECT 1; DELETE FROM events', '  ; -- nothing', "SELECT 'open"])
      assert.throws(() => checkSingleStatement(bad), QueryRefused, bad);
  });

  const engines: EngineKind[] = nativeAvailable() ? ['native', 'wasm'] : ['wasm'];
  for (const engine of engines) {
    describe(engine === 'native' ? 'node:sqlite (on a worker thread)' : 'wasm fallback (in thread)', () => {
      it('streams the rows of a statement with parameters, in batches, up to maxRows', async () => {
        const expected = query(db, 'SELECT session_id, turn_id, state FROM turns WHERE ordinal >= ? ORDER BY session_id, ordinal', [0]).map((r) =>
          Object.values(r),
        );
        assert.ok(expected.length > 20, 'the fixture has turns');
        const got: unknown[][] = [];
        const batches: number[] = [];
        const r = await queryIndex(db, 'SELECT session_id, turn_id, state FROM turns WHERE ordinal >= ? ORDER BY session_id, ordinal', {
          engine,
          params: [0],
          batchRows: 7,
          onRows: (rows, cols) => {
            assert.deepStrictEqual(cols, ['session_id', 'turn_id', 'state']);
            batches.push(rows.length);
            got.push(...rows);
          },
        });
        assert.deepStrictEqual(got, expected);
        assert.deepStrictEqual(r.columns, ['session_id', 'turn_id', 'state']);
        assert.strictEqual(r.rowCount, expected.length);
        assert.strictEqual(r.truncated, false);
        assert.ok(batches.every((n) => n <= 7) && batches.length === Math.ceil(expected.length / 7), String(batches));
        const capped = await queryIndex(db, 'SELECT turn_id FROM turns', { engine, maxRows: 5 });
        assert.deepStrictEqual([capped.rowCount, capped.truncated], [5, true]);
      });

      it('refuses to write, and reports SQL errors as errors', async () => {
        await assert.rejects(queryIndex(db, 'DELETE FROM events', { engine }), /readonly|read-only|query_only|attempt to write/i);
        assert.strictEqual(Number(query(db, 'SELECT count(*) AS n FROM events')[0].n) > 0, true, 'nothing was deleted');
        await assert.rejects(queryIndex(db, 'SELECT nope FROM turns', { engine }), /no such column/);
        await assert.rejects(queryIndex(db, 'SELECT 1; DELETE FROM events', { engine }), QueryRefused);
      });

      it('is cancelled by its signal while rows stream', async () => {
        const ac = new AbortController();
        let seen = 0;
        const endless = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n';
        const p = queryIndex(db, endless, {
          engine,
          maxRows: Number.MAX_SAFE_INTEGER,
          batchRows: 1000,
          signal: ac.signal,
          onRows: (rows) => {
            seen += rows.length;
            if (seen >= 5000) ac.abort();
          },
        });
        await assert.rejects(p, QueryCancelled);
        assert.ok(seen >= 5000, `${seen} rows before the cancel`);
      });
    });
  }
});
