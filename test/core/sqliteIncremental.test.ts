/**
 * Differential: after each of a random sequence of appends (seeded), the incremental rebuild of
 * the index gives exactly the database a full rebuild of the same folder gives (every table,
 * every column, ordered), on the real SQLite engine. Appends are like another process's:
 * whole lines to existing shards (later, earlier and equal times, a second terminal event of a
 * turn), a torn final line (a valid event or garbage without its newline), that tail made whole
 * or glued onto by the next append, a new shard, a new session, a touched sidecar.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { rebuildIndex } from '../../src/core/sqlite/rebuild';
import { dumpIndex, exactDump } from '../support/sqliteDump';
import { FIXED_NOW, generateSessionsFolder } from '../support/fixtures';
import { ev, line, tempDir } from './helpers';

/** mulberry32: a small seeded generator (tests must not depend on the clock). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function appendRandom(dir: string, r: () => number, round: number): string[] {
  const journal = path.join(dir, '_turn_journal');
  const shards = fs
    .readdirSync(journal)
    .filter((n) => n.endsWith('.jsonl'))
    .sort();
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const did: string[] = [];
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) {
    const name = pick(shards);
    const file = path.join(journal, name);
    const sid = name.includes('~') ? name.slice(0, name.indexOf('~')) : name.replace(/\.jsonl$/, '');
    const buf = fs.readFileSync(file);
    const torn = buf.length > 0 && buf[buf.length - 1] !== 10;
    const turn = `r${round}-${k}`;
    const at = FIXED_NOW - 1000 + Math.floor(r() * 2000) + (r() < 0.2 ? 0 : 0.5);
    const what = r();
    if (torn && what < 0.3) {
      fs.appendFileSync(file, '\n');
      did.push(`${name}: tail made whole`);
    } else if (what < 0.55) {
      // Whole lines: a lifecycle, maybe cut short (open turn), maybe a second terminal (collision).
      const names = ['submitted', 'worker_started', 'assistant_started', r() < 0.5 ? 'completed' : 'interrupted'].slice(0, 1 + Math.floor(r() * 4));
      if (r() < 0.2) names.push('completed');
      const text = names.map((e, i) => line({ ...ev(e, turn, at + i * 0.7), session_id: sid })).join('');
      fs.appendFileSync(file, text);
      did.push(`${name}: ${names.join(',')}${torn ? ' (glued onto the torn tail)' : ''}`);
    } else if (what < 0.75) {
      const tail = r() < 0.6 ? line({ ...ev('submitted', turn, at), session_id: sid }).replace(/\n$/, '') : '{"event":"compl';
      fs.appendFileSync(file, tail);
      did.push(`${name}: torn tail`);
    } else if (what < 0.9) {
      const fresh = `${sid}~${900000 + round * 10 + k}.jsonl`;
      fs.writeFileSync(path.join(journal, fresh), line({ ...ev('submitted', turn, at), session_id: sid }));
      did.push(`new shard ${fresh}`);
    } else {
      const nsid = `new${round}${k}`;
      fs.writeFileSync(path.join(journal, `${nsid}~1.jsonl`), line({ ...ev('submitted', turn, at), session_id: nsid }));
      did.push(`new session ${nsid}`);
    }
  }
  if (r() < 0.3) {
    const sidecars = fs.readdirSync(dir).filter((x) => x.endsWith('.json') && !x.startsWith('_'));
    if (sidecars.length) {
      fs.appendFileSync(path.join(dir, pick(sidecars.sort())), ' ');
      did.push('sidecar touched');
    }
  }
  return did;
}

describe('SQLite incremental rebuild equals a full rebuild over random append sequences', function () {
  this.timeout(180_000);
  for (const seed of [11, 12]) {
    it(`seed ${seed}: 6 rounds of random appends`, async () => {
      const r = rng(seed);
      const dir = tempDir();
      generateSessionsFolder(dir, { seed, sessions: 6 });
      const inc = path.join(dir, 'inc.sqlite');
      await rebuildIndex({ sessionsDir: dir, db: inc, now: FIXED_NOW });
      let incremental = 0;
      for (let round = 0; round < 6; round++) {
        const did = appendRandom(dir, r, round);
        const now = FIXED_NOW + 60 * (round + 1);
        const ri = await rebuildIndex({ sessionsDir: dir, db: inc, now });
        if (ri.mode === 'incremental') incremental++;
        const full = path.join(dir, `full${round}.sqlite`);
        await rebuildIndex({ sessionsDir: dir, db: full, now, full: true });
        const why = `round ${round} (${ri.mode}${ri.reason ? `: ${ri.reason}` : ''}): ${did.join('; ')}`;
        assert.deepStrictEqual(dumpIndex(inc), dumpIndex(full), why);
        assert.deepStrictEqual(exactDump(inc), exactDump(full), why);
        fs.rmSync(full);
      }
      // Appends only: every round can be incremental (a full one would prove nothing).
      assert.strictEqual(incremental, 6);
    });
  }
});
