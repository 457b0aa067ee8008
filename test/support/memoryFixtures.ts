/**
 * Bot memory databases for tests and benchmarks, written with the project's real SQLite
 * engine. `BotDb` plays the chat app of seed 001: every change goes through
 * `appendAndApply` (one event row + the same change to the memories table, in one
 * transaction), and `score()` is the background worker's step with `_auto_pin_with_cap`
 * (same queries). Options and the raw helpers plant violations on purpose.
 */

import * as fs from 'fs';
import * as path from 'path';
import { openDb, type Db } from '../../src/core/sqlite/engine';

export const MT0 = 1767225600; // 2026-01-01T00:00:00Z

export interface BotDbOptions {
  /** WAL journal mode (exclusive locking: the engine has no shared memory). */
  wal?: boolean;
  /** Table and column names (to test the settings). */
  names?: { events?: string; memories?: string; payload?: string; owner?: string };
  /** created_at stored as ISO text instead of epoch seconds. */
  isoTimes?: boolean;
}

export interface ScoreOptions {
  /** Pin cap (default 8). */
  cap?: number;
  /** Which pin to evict past the cap: upstream's oldest auto-pin, a planted wrong choice, or none. */
  evict?: 'oldest' | 'newest-auto' | 'manual' | 'none';
  /** Skip the auto-pin of a score ≥ 3 (a planted violation). */
  skipPin?: boolean;
  /** Auto-pin even though the score is below 3 (a planted violation). */
  forcePin?: boolean;
}

export class BotDb {
  readonly db: Db;
  clock = MT0;
  /** Event rows written so far. */
  events = 0;
  private readonly ev: string;
  private readonly mem: string;
  private readonly payloadCol: string;
  private readonly ownerCol: string;
  private inTx = false;

  constructor(
    readonly file: string,
    readonly options: BotDbOptions = {},
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.db = openDb(file);
    this.ev = options.names?.events ?? 'events';
    this.mem = options.names?.memories ?? 'memories';
    this.payloadCol = options.names?.payload ?? 'payload';
    this.db.exec('PRAGMA synchronous=OFF'); // fixtures only: no fsync per commit
    this.ownerCol = options.names?.owner ?? 'owner_id';
    if (options.wal) {
      this.db.exec('PRAGMA locking_mode=EXCLUSIVE');
      const mode = this.db.get('PRAGMA journal_mode=WAL');
      if (mode?.journal_mode !== 'wal') throw new Error(`could not switch to WAL: ${JSON.stringify(mode)}`);
      this.db.exec('PRAGMA wal_autocheckpoint=0');
    }
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS "${this.ev}" (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "${this.payloadCol}" TEXT NOT NULL, created_at ${options.isoTimes ? 'TEXT' : 'REAL'} NOT NULL)`,
    );
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS "${this.mem}" (id INTEGER PRIMARY KEY, "${this.ownerCol}" TEXT NOT NULL, text TEXT NOT NULL, significance INTEGER, pinned INTEGER NOT NULL DEFAULT 0, auto_pinned INTEGER NOT NULL DEFAULT 0, created_at ${options.isoTimes ? 'TEXT' : 'REAL'} NOT NULL)`,
    );
    // The worker's pin queries filter on owner and pin flags.
    this.db.exec(`CREATE INDEX IF NOT EXISTS "${this.mem}_pins" ON "${this.mem}" ("${this.ownerCol}", pinned, auto_pinned, created_at)`);
  }

  now(): number | string {
    this.clock += 60;
    return this.options.isoTimes
      ? new Date(this.clock * 1000)
          .toISOString()
          .replace('T', ' ')
          .replace(/\.\d+Z$/, '')
      : this.clock;
  }

  begin(): void {
    this.db.exec('BEGIN');
    this.inTx = true;
  }
  commit(): void {
    this.db.exec('COMMIT');
    this.inTx = false;
  }

  /** Only the event row (no change to the table): a planted divergence, or an unknown kind. */
  event(kind: string, payload: unknown, rawPayload?: string): void {
    this.events++;
    this.db
      .prepare(`INSERT INTO "${this.ev}" (kind, "${this.payloadCol}", created_at) VALUES (?, ?, ?)`)
      .run([kind, rawPayload ?? JSON.stringify(payload), this.now()]);
  }

  /** upstream append_and_apply: the event and its effect, together. */
  appendAndApply(kind: string, payload: Record<string, unknown>): void {
    const own = !this.inTx;
    if (own) this.db.exec('BEGIN');
    this.event(kind, payload);
    const id = payload.memory_id as number;
    if (kind === 'memory_written') {
      this.db
        .prepare(`INSERT INTO "${this.mem}" (id, "${this.ownerCol}", text, significance, pinned, auto_pinned, created_at) VALUES (?, ?, ?, NULL, 0, 0, ?)`)
        .run([id, payload.owner_id as string, payload.text as string, payload.created_at as number]);
    } else if (kind === 'memory_significance_set') {
      this.db.prepare(`UPDATE "${this.mem}" SET significance = ? WHERE id = ?`).run([payload.significance as number, id]);
    } else if (kind === 'memory_pin_changed') {
      this.db.prepare(`UPDATE "${this.mem}" SET pinned = ?, auto_pinned = ? WHERE id = ?`).run([payload.pinned as number, payload.auto_pinned as number, id]);
    }
    if (own) this.db.exec('COMMIT');
  }

  private nextId(): number {
    const r = this.db.get(`SELECT COALESCE(MAX(id), 0) + 1 AS n FROM "${this.mem}"`);
    return Number(r!.n);
  }

  /** The request path's memory_written. */
  write(owner: string, text: string): number {
    const id = this.nextId();
    this.appendAndApply('memory_written', { memory_id: id, owner_id: owner, text, created_at: this.now() });
    return id;
  }

  /** The background worker's step: significance, then on ≥ 3 `_auto_pin_with_cap`. */
  score(id: number, significance: number, o: ScoreOptions = {}): void {
    this.appendAndApply('memory_significance_set', { memory_id: id, significance });
    if ((significance >= 3 && !o.skipPin) || o.forcePin) this.autoPinWithCap(id, o);
  }

  private autoPinWithCap(id: number, o: ScoreOptions): void {
    const cap = o.cap ?? 8;
    this.appendAndApply('memory_pin_changed', { memory_id: id, pinned: 1, auto_pinned: 1 });
    const owner = String(this.db.get(`SELECT "${this.ownerCol}" AS o FROM "${this.mem}" WHERE id = ?`, [id])!.o);
    const count = Number(this.db.get(`SELECT COUNT(*) AS n FROM "${this.mem}" WHERE "${this.ownerCol}" = ? AND pinned = 1`, [owner])!.n);
    if (count <= cap || o.evict === 'none') return;
    const where = o.evict === 'manual' ? 'pinned = 1 AND auto_pinned = 0' : 'pinned = 1 AND auto_pinned = 1';
    const order = o.evict === 'newest-auto' ? 'created_at DESC, id DESC' : 'created_at ASC, id ASC';
    const row = this.db.get(`SELECT id FROM "${this.mem}" WHERE "${this.ownerCol}" = ? AND ${where} AND id != ? ORDER BY ${order} LIMIT 1`, [owner, id]);
    if (!row) return;
    this.appendAndApply('memory_pin_changed', { memory_id: Number(row.id), pinned: 0, auto_pinned: 0 });
  }

  /** The user pins or unpins by hand. */
  pin(id: number): void {
    this.appendAndApply('memory_pin_changed', { memory_id: id, pinned: 1, auto_pinned: 0 });
  }
  unpin(id: number): void {
    this.appendAndApply('memory_pin_changed', { memory_id: id, pinned: 0, auto_pinned: 0 });
  }

  /** A change to the table that bypasses the log (planted drift). */
  sql(statement: string, values: (string | number | null)[] = []): void {
    this.db.prepare(statement).run(values);
  }

  /** Copies the database and its -wal as they are on disk now (the app still running). */
  copyOpenState(to: string): void {
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (fs.existsSync(this.file + '-wal')) fs.copyFileSync(this.file + '-wal', to + '-wal');
    fs.copyFileSync(this.file, to);
  }

  close(): void {
    this.db.close();
  }
}

/**
 * A healthy ledger: `bots` bots, each writing memories, the worker scoring them (every
 * `pinEvery`-th scores 3 and is auto-pinned, evicting past the cap), a few manual pins and
 * unpins. Returns the number of events written.
 */
export function populateClean(b: BotDb, o: { bots?: number; memoriesPerBot?: number; pinEvery?: number; batch?: number } = {}): number {
  const bots = o.bots ?? 3;
  const per = o.memoriesPerBot ?? 30;
  const pinEvery = o.pinEvery ?? 3;
  const batch = o.batch ?? 0;
  let events = 0;
  let inBatch = 0;
  const step = (n: number) => {
    events += n;
    if (!batch) return;
    inBatch += n;
    if (inBatch >= batch) {
      b.commit();
      b.begin();
      inBatch = 0;
    }
  };
  if (batch) b.begin();
  const ids: number[][] = Array.from({ length: bots }, () => []);
  // At most 3 manual pins per bot, so auto-pins always have room under the cap.
  const manual: number[][] = Array.from({ length: bots }, () => []);
  for (let i = 0; i < per; i++) {
    for (let k = 0; k < bots; k++) {
      const id = b.write(`bot-${k}`, `memory ${i} of bot ${k}`);
      ids[k].push(id);
      step(1);
      const s = i % pinEvery === 0 ? 3 : ((i % 3) as 0 | 1 | 2);
      const before = b.events;
      b.score(id, s);
      step(b.events - before);
      if (i % 11 === 5) {
        if (manual[k].length >= 3) {
          b.unpin(manual[k].shift()!);
          step(1);
        }
        b.pin(id); // a manual pin
        manual[k].push(id);
        step(1);
      }
      if (i % 13 === 12) {
        b.unpin(ids[k][i - 7]); // a manual unpin of an older memory (pinned or not)
        step(1);
      }
    }
  }
  if (batch) b.commit();
  return events;
}

/** A large ledger of about `events` events, written in batched transactions. */
export function writeLargeLedger(file: string, events: number, options: BotDbOptions = {}): number {
  const b = new BotDb(file, options);
  try {
    // ~2.86 events per memory with pinEvery 3 (write + score + auto-pins, evictions, manual pins).
    const bots = 10;
    const per = Math.ceil(events / 2.86 / bots);
    return populateClean(b, { bots, memoriesPerBot: per, batch: 5000 });
  } finally {
    b.close();
  }
}
