/**
 * The check that both SQLite engines (node:sqlite and the wasm fallback) write the same index:
 * type and bytes of every value of every table, for a full rebuild on one thread and on a
 * worker, and for an incremental rebuild after appends. Run by the unit tests where the
 * runtime has node:sqlite and by the extension tests (VS Code's Node 24) always.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { rebuildIndex } from '../../src/core/sqlite/rebuild';
import { appendEventLine, FIXED_NOW, generateSessionsFolder } from './fixtures';
import { exactDump, query } from './sqliteDump';

const SKIP_META = ['engine', 'sqlite_version'];

export async function engineParityCheck(dir: string, workerScript: string): Promise<void> {
  generateSessionsFolder(dir, { seed: 4, sessions: 8 });
  const journal = path.join(dir, '_turn_journal');
  // Values that encode differently: U+0000, a lone surrogate, astral characters; big, negative and fractional numbers.
  const ev = (event: string, at: unknown, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ event, stream_id: 's-odd', version: 1, session_id: 'odd', turn_id: 'odd\u0000turn', created_at: at, ...extra }) + '\n';
  fs.writeFileSync(
    path.join(journal, 'odd~1.jsonl'),
    ev('submitted', FIXED_NOW - 100.125, { role: 'user', content: 'nul\u0000 lone \ud800 astral 😀 é', big: 2 ** 40, neg: -3 }) +
      ev('completed', 2 ** 33 + 0.5, { terminal: true }) +
      '{"glued":1}{"event":"x"}\n' +
      ev('assistant_started', '1767225600'),
  );
  const build = async (name: string, engine: 'native' | 'wasm', workers: number, now = FIXED_NOW): Promise<string> => {
    const db = path.join(dir, name);
    const r = await rebuildIndex({ sessionsDir: dir, db, now, engine, workerScript, workers, alwaysWorkers: workers > 0 });
    assert.ok(r.counts.events > 0);
    return db;
  };
  const wasm = await build('wasm.sqlite', 'wasm', 0);
  const expected = exactDump(wasm, SKIP_META);
  assert.ok(expected.events.length > 100 && expected.turns.length > 10, 'the fixture has rows');
  assert.ok(
    expected.events.some((r) => r.includes('00')),
    'a U+0000 is stored',
  );
  assert.match(String(query(wasm, "SELECT value FROM meta WHERE key = 'engine'")[0].value), /wasm/);
  const native = await build('native.sqlite', 'native', 0);
  assert.strictEqual(String(query(native, "SELECT value FROM meta WHERE key = 'engine'")[0].value), 'node:sqlite');
  assert.deepStrictEqual(exactDump(native, SKIP_META), expected, 'node:sqlite, one thread');
  const nativeWorker = await build('native-w.sqlite', 'native', 1);
  assert.deepStrictEqual(exactDump(nativeWorker, SKIP_META), expected, 'node:sqlite, rows from a worker');

  // Appends, then each engine updates its own index in place.
  const shards = fs
    .readdirSync(journal)
    .filter((n) => n.includes('~') && n !== 'odd~1.jsonl')
    .sort();
  for (const [i, name] of shards.slice(0, 3).entries()) {
    const sid = name.slice(0, name.indexOf('~'));
    for (const e of ['submitted', 'worker_started', 'completed']) {
      appendEventLine(
        path.join(journal, name),
        JSON.stringify({
          event: e,
          stream_id: `a${i}`,
          version: 1,
          session_id: sid,
          turn_id: `appended-${i}`,
          created_at: FIXED_NOW + i,
          ...(e === 'completed' ? { terminal: true } : {}),
        }),
      );
    }
  }
  fs.appendFileSync(path.join(journal, 'odd~1.jsonl'), ev('interrupted', FIXED_NOW, { terminal: true }));
  const now = FIXED_NOW + 60;
  const incWasm = await rebuildIndex({ sessionsDir: dir, db: wasm, now, engine: 'wasm' });
  const incNative = await rebuildIndex({ sessionsDir: dir, db: nativeWorker, now, engine: 'native', workerScript, workers: 1, alwaysWorkers: true });
  assert.strictEqual(incWasm.mode, 'incremental', String(incWasm.reason));
  assert.strictEqual(incNative.mode, 'incremental', String(incNative.reason));
  const after = exactDump(wasm, SKIP_META);
  assert.notDeepStrictEqual(after.events, expected.events, 'the appends were indexed');
  assert.deepStrictEqual(exactDump(nativeWorker, SKIP_META), after, 'incremental: node:sqlite = wasm');
  const fullNative = await build('native-full.sqlite', 'native', 0, now);
  assert.deepStrictEqual(exactDump(fullNative, SKIP_META), after, 'incremental = full');
}
