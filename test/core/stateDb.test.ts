/**
 * Hermes' `state.db` (core/stateDb.ts): upstream's `state_db_*` kinds and
 * `orphan_backup_without_state_row`, against hermes-webui's OWN `audit_session_recovery` run
 * from the mirror on the same folder and database; and a database that is missing, corrupt,
 * locked, a FIFO or a folder gives a clear message, never a throw or a hang, never a write.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync, spawn, spawnSync } from 'child_process';
import { auditFolder } from '../../src/core/audit';
import { readStateDb } from '../../src/core/stateDb';
import { generateSessionsFolder } from '../support/fixtures';
import { writeStateDb, type StateDbSession } from '../support/fixtures/stateDb';
import { runUpstreamAudit, upstreamUnavailable } from '../support/upstreamPython';
import { tempDir } from './helpers';

const NOW = 1763600000 + 2 * 86400;
const HAS_PYTHON = spawnSync('python3', ['--version']).status === 0;
const STATE_KINDS = ['state_db_missing_sidecar', 'state_db_orphan_webui_row', 'state_db_deleted_webui_tombstone', 'orphan_backup_without_state_row'];

function session(id: string, messages: number, source = 'webui'): StateDbSession {
  return { id, source, messages };
}

/** A generated sessions folder plus every state.db case of upstream's audit; returns [dir, db]. */
function stateDbCase(): [string, string] {
  const dir = tempDir();
  generateSessionsFolder(dir, { seed: 5, sessions: 4, anomalies: 'none' });
  const live = fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.json') && !n.startsWith('_'))[0]
    .slice(0, -5);
  const bak = JSON.stringify({ session_id: 'x', messages: [{ role: 'user', content: 'hi' }] }, null, 2);
  for (const sid of ['bakknown', 'bakunknown', 'dbdeletedbak']) fs.writeFileSync(path.join(dir, `${sid}.json.bak`), bak);
  fs.writeFileSync(path.join(dir, '_deleted_webui_sessions.json'), JSON.stringify({ version: 1, ids: ['dbdeleted1', 'dbdeletedbak'] }));
  const indexFile = path.join(dir, '_index.json');
  const index = fs.existsSync(indexFile) ? (JSON.parse(fs.readFileSync(indexFile, 'utf8')) as unknown[]) : [];
  index.push({ session_id: 'dbdeleted1', source_tag: 'webui' }, { session_id: 'dbonly1', source_tag: 'webui' });
  fs.writeFileSync(indexFile, JSON.stringify(index, null, 2));
  const db = path.join(tempDir('bma-hermes-home-'), 'state.db');
  writeStateDb(
    db,
    [
      session(live, 2),
      session('bakknown', 2),
      session('dbonly1', 3),
      session('dbempty1', 0),
      session('dbdeleted1', 2),
      session('dbdeletedbak', 2),
      session('dbcli1', 2, 'cli'),
    ],
    [session('dbwal1', 2)],
  );
  return [dir, db];
}

const norm = (items: object[]) => items.map((i) => JSON.stringify(Object.fromEntries(Object.entries(i).sort()))).sort();

function digest(files: string[]): string {
  return files.map((f) => (fs.existsSync(f) ? crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex') : '-')).join(',');
}

describe("hermes' state.db: upstream's state_db_* audit kinds", function () {
  this.timeout(120_000);

  it("every item of upstream's own audit with --state-db, and the database is never written", async function () {
    if (!HAS_PYTHON) return this.skip();
    const [dir, db] = stateDbCase();
    const data = [db, `${db}-wal`];
    const shm = `${db}-shm`;
    const before = digest(data);
    const shmBefore = digest([shm]);
    const shmSize = fs.statSync(shm).size;
    const homeBefore = fs.readdirSync(path.dirname(db)).sort();
    const report = await auditFolder(dir, { now: NOW, stateDb: db });
    const audit = report.upstream_audit;
    assert.strictEqual(audit.state_db?.read, true, audit.state_db?.message);
    assert.strictEqual(digest(data), before, 'state.db and its -wal are unchanged');
    // Read in place (node:sqlite), SQLite's reader protocol updates the -shm index, as upstream's own
    // `mode=ro` reader does; it is shared memory, not data: its size stays. A private copy leaves it untouched.
    if (audit.state_db?.how === 'copy') assert.strictEqual(digest([shm]), shmBefore, '-shm unchanged (a copy was read)');
    else assert.strictEqual(fs.statSync(shm).size, shmSize, '-shm not grown');
    assert.deepStrictEqual(fs.readdirSync(path.dirname(db)).sort(), homeBefore, 'no file created beside state.db');
    const kinds = (sid: string) => audit.items.filter((i) => i.session_id === sid).map((i) => `${i.kind}/${i.category}/${i.recommendation}`);
    assert.deepStrictEqual(kinds('dbonly1'), ['index_missing_file/repairable/rebuild_index', 'state_db_missing_sidecar/repairable/materialize_from_state_db']);
    assert.deepStrictEqual(kinds('dbwal1'), ['state_db_missing_sidecar/repairable/materialize_from_state_db'], 'a row only in the WAL is read');
    assert.deepStrictEqual(kinds('dbempty1'), ['state_db_orphan_webui_row/unsafe_to_repair/manual_review']);
    assert.deepStrictEqual(kinds('dbdeleted1'), ['state_db_deleted_webui_tombstone/unsafe_to_repair/deleted_session_skipped'], 'no index_missing_file either');
    assert.deepStrictEqual(kinds('dbdeletedbak'), ['state_db_deleted_webui_tombstone/unsafe_to_repair/deleted_session_skipped'], 'reported once');
    assert.deepStrictEqual(kinds('bakunknown'), ['orphan_backup_without_state_row/unsafe_to_repair/manual_review']);
    assert.deepStrictEqual(kinds('bakknown'), ['orphan_backup/repairable/restore_from_bak', 'state_db_missing_sidecar/repairable/materialize_from_state_db']);
    assert.deepStrictEqual(kinds('dbcli1'), [], 'only WebUI rows');
    if (upstreamUnavailable()) return;
    const up = runUpstreamAudit(dir, db);
    const ourKinds = new Set(audit.items.map((i) => i.kind));
    for (const k of new Set(up.items.map((i) => i.kind as string))) assert.ok(ourKinds.has(k as never), `upstream's ${k} is ours too`);
    for (const k of STATE_KINDS)
      assert.ok(
        up.items.some((i) => i.kind === k),
        `upstream reports ${k} here`,
      );
    const { state_db: _, ...ours } = audit;
    assert.deepStrictEqual(norm(ours.items), norm(up.items));
    assert.deepStrictEqual(ours.summary, up.summary);
    assert.strictEqual(ours.status, up.status);
  });

  it('without --state-db, or with one that cannot be read, upstream fails open: every backup is known', async function () {
    if (!HAS_PYTHON) return this.skip();
    const [dir, db] = stateDbCase();
    const plain = await auditFolder(dir, { now: NOW });
    assert.strictEqual(plain.upstream_audit.state_db, undefined);
    assert.ok(!plain.upstream_audit.items.some((i) => STATE_KINDS.slice(0, 2).includes(i.kind) || i.kind === 'orphan_backup_without_state_row'));
    const home = path.dirname(db);
    const corrupt = path.join(home, 'corrupt.db');
    fs.writeFileSync(corrupt, Buffer.alloc(8192, 0x41));
    const fifo = path.join(home, 'fifo.db');
    execFileSync('mkfifo', [fifo]);
    const cases: [string, RegExp][] = [
      [path.join(home, 'missing.db'), /no such file/],
      [corrupt, /not a readable SQLite database/],
      [fifo, /not a regular file \(a FIFO\): not opened/],
      [home, /not a regular file \(a folder\)/],
    ];
    for (const [file, message] of cases) {
      const r = await auditFolder(dir, { now: NOW, stateDb: file });
      const sdb = r.upstream_audit.state_db!;
      assert.strictEqual(sdb.read, false, file);
      assert.match(sdb.message ?? '', message, file);
      assert.deepStrictEqual(norm(r.upstream_audit.items), norm(plain.upstream_audit.items), `${file}: like no state.db at all`);
      if (!upstreamUnavailable() && file === corrupt)
        assert.deepStrictEqual(norm(runUpstreamAudit(dir, file).items), norm(plain.upstream_audit.items), `upstream: ${file}`);
    }
  });

  it('a writer holding an exclusive lock: no hang, its uncommitted rows are not seen', async function () {
    if (!HAS_PYTHON) return this.skip();
    const home = tempDir('bma-hermes-home-');
    const db = path.join(home, 'state.db');
    const dir = tempDir();
    execFileSync('python3', [
      '-c',
      "import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nc.execute(\"create table sessions(id text primary key, source text)\")\nc.execute(\"create table messages(id integer primary key, session_id text, role text, content text, timestamp real)\")\nc.execute(\"insert into sessions values('committed1','webui')\")\nc.execute(\"insert into messages(session_id,role,content,timestamp) values('committed1','user','hi',1)\")\nc.commit()",
      db,
    ]);
    const holder = spawn(
      'python3',
      [
        '-c',
        "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute(\"begin exclusive\")\nc.execute(\"insert into sessions values('uncommitted1','webui')\")\nc.execute(\"insert into messages(session_id,role,content,timestamp) values('uncommitted1','user','hi',1)\")\nprint(\"locked\", flush=True)\ntime.sleep(60)",
        db,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.once('data', () => resolve());
        holder.once('exit', (c) => reject(new Error(`lock holder exited ${c}`)));
      });
      const r = readStateDb(db, dir);
      if (r.read)
        assert.deepStrictEqual(
          r.missing.map((m) => m.id),
          ['committed1'],
        );
      else assert.match(r.message ?? '', /locked/);
    } finally {
      holder.kill();
    }
  });
});
