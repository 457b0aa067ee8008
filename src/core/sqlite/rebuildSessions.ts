/**
 * Writing a rebuild's sessions and feedback into an open target: the sessions read, analysed
 * and turned into rows on worker threads (this thread binds and steps), or on this thread
 * with the next sessions read ahead; then the feedback files that changed.
 */

import * as path from 'path';
import type { DiscoveredSession, Discovery } from '../discovery';
import { readFeedbackFile } from '../feedback/read';
import { runBatch, type Db } from './engine';
import { sessionBatches, type WorkerTiming } from './parallelRows';
import type { Plan } from './rebuildPlan';
import { readSession, threadCpuMs, type SessionRead, type Stamp } from './readSession';
import { tryTail } from './tailAppend';
import { applyFeedback, type IndexWriter } from './writer';

/** Sessions being read ahead of the one being written (on the main thread). */
const READ_AHEAD = 2;
/** Less to read than this and the rebuild reads on the main thread (a worker takes ~100 ms to start). */
const WORKER_MIN_BYTES = 16 << 20;

export interface SessionWriteOptions {
  sessionsDir: string;
  maxLineBytes: number;
  inlineRaw: boolean;
  now: number;
  staleAfterSeconds: number;
  workerScript?: string;
  workers: number;
  alwaysWorkers?: boolean;
  signal?: AbortSignal;
  /** The rebuild's `--trace`: where the time of writing from workers went, one line each. */
  trace?: (line: string) => void;
}

export interface SessionHooks {
  /** A session's rows are all written (`bytes`: its shard bytes); may yield to the event loop. */
  sessionDone(bytes: number, eventsSoFar: number): Promise<void>;
  /** A batch was written (keeps the background sync going). */
  batchDone(): void;
  cancelled(): Error;
}

/** Incremental: per shard, the offset below which its events and malformed lines are already in the index. */
function skipOf(plan: Plan, s: DiscoveredSession): Map<string, number> | undefined {
  if (plan.mode !== 'incremental') return undefined;
  const skip = new Map<string, number>();
  for (const sh of s.shards) {
    const prev = plan.prevShards.get(sh.name);
    if (prev) skip.set(sh.name, prev.committed);
  }
  return skip;
}

/** Incremental: a session's derived rows are deleted (written anew), and what its shards' tails held. */
function clearSession(db: Db, s: DiscoveredSession, skip: Map<string, number> | undefined): void {
  if (!skip) return;
  for (const t of ['sessions', 'session_tail', 'shards', 'turns', 'collisions']) db.all(`DELETE FROM ${t} WHERE session_id = ?`, [s.sessionId]);
  db.all("DELETE FROM findings WHERE session_id = ? AND source = 'journal'", [s.sessionId]);
  for (const [shard, committed] of skip) {
    // The only event at or past the committed size is the torn final line (events_torn).
    db.all('DELETE FROM events WHERE shard = ? AND torn = 1', [shard]);
    db.all('DELETE FROM malformed WHERE shard = ? AND offset >= ?', [shard, committed]);
  }
}

function workerCount(o: SessionWriteOptions, todo: DiscoveredSession[], stamps: Map<string, Stamp>): number {
  if (o.workerScript === undefined || !Number.isInteger(o.workers) || o.workers <= 0 || todo.length === 0) return 0;
  if (o.alwaysWorkers) return o.workers;
  let bytes = 0;
  for (const s of todo) for (const f of s.shards) bytes += stamps.get(f.name)?.size ?? 0;
  return bytes >= WORKER_MIN_BYTES ? o.workers : 0;
}

/**
 * Writes the sessions the plan redoes: first those that can be done from their shards'
 * appended tails (tailAppend.ts), then the others whole. Returns the events written and
 * the sessions done from their tails.
 */
export async function writeSessions(
  db: Db,
  writer: IndexWriter,
  discovery: Discovery,
  plan: Plan,
  stamps: Map<string, Stamp>,
  o: SessionWriteOptions,
  hooks: SessionHooks,
): Promise<{ events: number; fromTails: Set<string> }> {
  const fromTails = new Set<string>();
  let events = 0;
  for (const s of discovery.sessions) {
    const candidate = plan.tail.get(s.sessionId);
    if (!candidate) continue;
    if (o.signal?.aborted) throw hooks.cancelled();
    const n = await tryTail(db, writer, s, plan.prevShards, candidate, o, stamps);
    if (n === null) continue;
    fromTails.add(s.sessionId);
    events += n;
    await hooks.sessionDone(
      s.shards.reduce((b, f) => b + (stamps.get(f.name)?.size ?? 0), 0),
      events,
    );
  }
  const todo = discovery.sessions.filter((s) => plan.redo.has(s.sessionId) && !fromTails.has(s.sessionId));
  const workers = workerCount(o, todo, stamps);
  events +=
    workers > 0 ? await writeFromWorkers(db, writer, todo, plan, o, workers, hooks, events) : await writeInThread(db, writer, todo, plan, o, hooks, events);
  return { events, fromTails };
}

/** Worker threads read, analyse and build the rows; this thread binds and steps them. */
async function writeFromWorkers(
  db: Db,
  writer: IndexWriter,
  todo: DiscoveredSession[],
  plan: Plan,
  o: SessionWriteOptions,
  workers: number,
  hooks: SessionHooks,
  eventsBefore: number,
): Promise<number> {
  const skips = todo.map((s) => skipOf(plan, s));
  const settings = { sessionsDir: o.sessionsDir, maxLineBytes: o.maxLineBytes, now: o.now, staleAfterSeconds: o.staleAfterSeconds, inlineRaw: o.inlineRaw };
  const batches = sessionBatches(todo, { ...settings, trace: o.trace !== undefined }, o.workerScript!, workers, (i) => skips[i]);
  const split = o.trace ? new WriteSplit() : null;
  let events = 0;
  let started = -1;
  for await (const m of batches) {
    split?.mark('wait');
    if (o.signal?.aborted) throw hooks.cancelled();
    if (m.i !== started) {
      started = m.i;
      clearSession(db, todo[m.i], skips[m.i]);
    }
    if (m.batch) runBatch(writer.statements, m.batch);
    split?.mark('write');
    hooks.batchDone();
    if (m.last) {
      events += m.events!;
      split?.add(m.timing, m.i % workers);
      await hooks.sessionDone(m.bytes!, eventsBefore + events);
    }
    split?.mark('progress');
  }
  split?.print(o.trace!, workers);
  return events;
}

/**
 * Reading (file I/O on libuv's threads, then parsing) runs ahead of writing: while one
 * session's rows go into SQLite, the next sessions' files are being read.
 */
async function writeInThread(
  db: Db,
  writer: IndexWriter,
  todo: DiscoveredSession[],
  plan: Plan,
  o: SessionWriteOptions,
  hooks: SessionHooks,
  eventsBefore: number,
): Promise<number> {
  const opts = { now: o.now, staleAfterSeconds: o.staleAfterSeconds };
  const ahead: Promise<SessionRead>[] = [];
  const readAt = (i: number): void => {
    if (i >= todo.length) return;
    const pr = readSession(o.sessionsDir, todo[i], o.maxLineBytes, opts);
    pr.catch(() => undefined); // awaited below; never an unhandled rejection if we stop first
    ahead.push(pr);
  };
  for (let i = 0; i < READ_AHEAD; i++) readAt(i);
  let events = 0;
  for (let i = 0; i < todo.length; i++) {
    if (o.signal?.aborted) throw hooks.cancelled();
    const read = await ahead.shift()!;
    readAt(i + READ_AHEAD);
    const skip = skipOf(plan, todo[i]);
    clearSession(db, todo[i], skip);
    const before = writer.eventsWritten;
    writer.writeSession(read.analysis, read.shards, read.stamps, skip);
    events += writer.eventsWritten - before;
    await hooks.sessionDone(
      read.shards.reduce((n, x) => n + x.size, 0),
      eventsBefore + events,
    );
  }
  return events;
}

/**
 * Feedback: the files that changed are replaced whole (they are small), then the latest
 * record per turn is copied onto its turn — for every turn (full), or for the sessions
 * redone whole and those whose feedback changed (incremental); sessions done from their tails
 * (`fromTails`) whose feedback did not change only get it copied onto their turns.
 */
export async function writeFeedbackFiles(
  db: Db,
  writer: IndexWriter,
  files: { name: string; path: string }[],
  stamps: Record<string, string>,
  plan: Plan,
  fromTails: ReadonlySet<string> = new Set(),
): Promise<void> {
  const incremental = plan.mode === 'incremental';
  const changed = files.filter((f) => !incremental || plan.prevFeedback[f.name] !== stamps[f.name]);
  // Incremental: the sessions whose feedback must be applied again (null: all of them).
  let scope: Set<string> | null = incremental ? new Set([...plan.redo].filter((sid) => !fromTails.has(sid))) : null;
  if (incremental) {
    for (const name of Object.keys(plan.prevFeedback)) {
      if (stamps[name] === plan.prevFeedback[name]) continue;
      for (const r of db.all('SELECT DISTINCT session_id FROM feedback WHERE file = ?', [name])) {
        if (r.session_id === null) scope = null;
        else scope?.add(String(r.session_id));
      }
      db.all('DELETE FROM feedback WHERE file = ?', [name]);
      db.all('DELETE FROM malformed WHERE shard = ?', [name]);
      db.all("DELETE FROM findings WHERE source = 'feedback' AND shard = ?", [name]);
    }
  }
  for (const f of changed) {
    const ff = await readFeedbackFile(f.path, f.name);
    for (const r of ff.records) {
      writer.writeFeedback(r);
      scope?.add(r.sessionId);
    }
    const sid = path.basename(f.name, '.jsonl');
    ff.problems.forEach((p, i) => writer.writeFeedbackProblem(p, sid, i, 'feedback'));
  }
  const copyOnly = scope ? [...fromTails].filter((sid) => !scope!.has(sid)) : [];
  applyFeedback(db, scope ?? undefined, !incremental, copyOnly.length > 0 ? copyOnly : undefined);
}

/**
 * The `--trace` split of writing from workers: this thread's busy time (CPU time where the
 * runtime tells it) and its wall-clock wait, and the workers' timed parts and CPU time (summed).
 */
class WriteSplit {
  private wall = performance.now();
  private cpu = threadCpuMs();
  private readonly main = { wait: 0, write: 0, progress: 0 };
  private readonly workers = { analysis: 0, rows: 0 };
  private readonly workerCpu = new Map<number, number>();
  private batches = 0;

  mark(what: 'wait' | 'write' | 'progress'): void {
    const wall = performance.now();
    const cpu = threadCpuMs();
    // Waiting is wall time (the thread is idle); the rest is CPU time where there is one.
    this.main[what] += what === 'wait' || cpu === undefined || this.cpu === undefined ? wall - this.wall : cpu - this.cpu;
    this.wall = wall;
    this.cpu = cpu;
    if (what === 'write') this.batches++;
  }

  add(w: WorkerTiming | undefined, worker: number): void {
    if (!w) return;
    for (const k of ['analysis', 'rows'] as const) this.workers[k] += w[k];
    if (w.cpu !== undefined) this.workerCpu.set(worker, Math.max(this.workerCpu.get(worker) ?? 0, w.cpu));
  }

  print(trace: (line: string) => void, workers: number): void {
    const ms = (x: number): string => `${x.toFixed(0)} ms`;
    const m = this.main;
    const clock = this.cpu === undefined ? 'wall' : 'CPU';
    trace(
      `writer thread (${clock}): binding and stepping ${ms(m.write)} (${this.batches} batches), progress ${ms(m.progress)}; waiting for the workers ${ms(m.wait)} (wall)`,
    );
    const w = this.workers;
    const cpu = [...this.workerCpu.values()].reduce((a, b) => a + b, 0);
    const rest =
      this.workerCpu.size > 0
        ? `; their CPU ${ms(cpu)}, of which reading, parsing, upstream's view, start-up and the rest ${ms(cpu - w.analysis - w.rows)}`
        : '';
    trace(`workers (${workers}, summed, ${clock}): analysis ${ms(w.analysis)}, rows built, encoded and posted ${ms(w.rows)}${rest}`);
  }
}
