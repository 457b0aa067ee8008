/**
 * Incremental re-analysis (src/core/incrementalAnalysis.ts): over random append sequences on
 * real files — in-order and out-of-order appends, new turns, terminal collisions, torn tails
 * that later become whole or get the next line glued on, invalid UTF-8, events without a turn
 * id or with odd created_at, split turns, a changed sidecar, new shards, time passing — the
 * analysis of a journal re-analysed incrementally equals, as JSON and as the audit report, the
 * full analysis of the same bytes by a fresh journal. And the incremental path is really taken.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { AnalyzeOptions, SessionAnalysis } from '../../src/core/analyze';
import { sessionReport } from '../../src/core/audit';
import { CompactEvent } from '../../src/core/compactEvent';
import { discoverSessions } from '../../src/core/discovery';
import { SessionJournal } from '../../src/core/session';
import { SessionIndex } from '../../src/core/sessionIndex';
import type { JournalEvent } from '../../src/core/types';
import { everyAnomaly, generateSessionsFolder, Rng } from '../support/fixtures';
import { sessionsDir, T0, tempDir } from './helpers';

const STALE = 3600;

function plain(e: JournalEvent): Record<string, unknown> {
  return { ...(e as unknown as Record<string, unknown>), data: e.data, fields: undefined };
}

/** JSON of an analysis with every event in its plain form. */
/** Appends one event of session `sess` to the shard (its stream `st-<turn>`). */
function eventAppender(shard: string): (turn: string, name: string, at: number, extra?: Record<string, unknown>) => void {
  return (turn, name, at, extra = {}) =>
    fs.appendFileSync(
      shard,
      JSON.stringify({ event: name, stream_id: `st-${turn}`, ...extra, version: 1, session_id: 'sess', turn_id: turn, created_at: at }) + '\n',
    );
}

function normalized(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x instanceof CompactEvent ? plain(x) : x));
}

/** Equal strings, or a failure showing where they first differ. */
function sameText(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  const at = (x: string): string => x.slice(Math.max(0, i - 300), i + 200);
  assert.fail(`${what} at character ${i}:\n  incremental: …${at(actual)}…\n  full:        …${at(expected)}…`);
}

interface SimTurn {
  id: string;
  stream: string;
  step: number;
  shard: string;
  content: string;
  /** Its first event was not `submitted`; the next in-order append is its `submitted`. */
  late?: boolean;
}

const LIFECYCLE = ['submitted', 'worker_started', 'assistant_started'];

/** Appends upstream-shaped lines (and damage) to one session's files, at random. */
class Writer {
  turns: SimTurn[] = [];
  clock: number;
  now: number;
  private n = 0;
  private torn = new Map<string, string>(); // shard → the rest of a line cut short
  private shards: string[];
  private messages: { role: string; content: string; timestamp?: number }[] = [];

  constructor(
    readonly dir: string,
    readonly sid: string,
    readonly rng: Rng,
    start: number,
  ) {
    this.clock = start;
    this.now = start + 60;
    this.shards = fs.readdirSync(path.join(dir, '_turn_journal')).filter((n) => n.startsWith(sid) && n.endsWith('.jsonl'));
    if (this.shards.length === 0) this.shards = [`${sid}~100.jsonl`];
    // Later rewrites extend the sidecar's messages, as hermes-webui's do.
    try {
      const m = (JSON.parse(fs.readFileSync(path.join(dir, `${sid}.json`), 'utf8')) as { messages?: unknown }).messages;
      if (Array.isArray(m) && m.every((x) => typeof x === 'object' && x !== null && typeof (x as { content?: unknown }).content === 'string'))
        this.messages = m as typeof this.messages;
    } catch {
      // no sidecar, or not one we can extend: the first rewrite replaces it
    }
  }

  private shardPath(name: string): string {
    return path.join(this.dir, '_turn_journal', name);
  }

  private line(name: string, turn: string | null, stream: string, at: unknown, extra: Record<string, unknown> = {}): string {
    const e: Record<string, unknown> = { event: name, stream_id: stream, ...extra, version: 1, session_id: this.sid };
    if (turn !== null) e.turn_id = turn;
    e.created_at = at;
    if (name === 'completed' || name === 'interrupted') e.terminal = true;
    return JSON.stringify(e);
  }

  private append(shard: string, text: string): void {
    fs.appendFileSync(this.shardPath(shard), text);
  }

  private tick(): number {
    this.clock += 0.5 + this.rng.next() * 30;
    return Math.round(this.clock * 1000) / 1000;
  }

  private pickShard(): string {
    return this.shards[this.rng.int(0, this.shards.length - 1)];
  }

  private newTurn(stream?: string): SimTurn {
    const id = `t${++this.n}-${this.rng.hex(6)}`;
    // Some questions repeat: turns then compete for the sidecar's user messages.
    const content = this.rng.next() < 0.3 ? 'the same question' : `question ${id}`;
    const t = { id, stream: stream ?? `s${this.n}-${this.rng.hex(8)}`, step: 0, shard: this.pickShard(), content };
    this.turns.push(t);
    return t;
  }

  private eventOf(t: SimTurn, at: unknown): string {
    if (t.step === 0 || t.late) {
      t.late = false;
      return this.line('submitted', t.id, t.stream, at, { role: 'user', content: t.content, attachments: [], model: 'm' });
    }
    if (t.step < 3) return this.line(LIFECYCLE[t.step], t.id, t.stream, at, t.step === 2 ? { assistant_message_index: 2 * this.n } : {});
    return this.rng.next() < 0.8
      ? this.line('completed', t.id, t.stream, at, { assistant_message_index: 1 })
      : this.line('interrupted', t.id, t.stream, at, { reason: 'cancelled' });
  }

  /** One random change; returns its name. */
  step(): string {
    const r = this.rng.next();
    const open = this.turns.filter((t) => t.step < 4);
    const done = this.turns.filter((t) => t.step >= 4);
    this.now += this.rng.int(0, 2500);
    if (r < 0.3 && open.length > 0) {
      const t = open[this.rng.int(0, open.length - 1)];
      const late = t.late === true;
      const line = this.eventOf(t, this.tick());
      this.append(t.shard, line + '\n');
      if (!late) t.step++;
      return this.liveSidecar(t, line) ?? (late ? 'late-submitted' : 'in-order');
    }
    if (r < 0.45) {
      const t = this.newTurn();
      // Sometimes its first event is not `submitted`: its claim on the sidecar's messages comes later.
      if (this.rng.next() < 0.2) {
        t.step = 1;
        t.late = true;
        this.append(t.shard, this.line('worker_started', t.id, t.stream, this.tick()) + '\n');
        return 'new-turn-late';
      }
      const line = this.eventOf(t, this.tick());
      this.append(t.shard, line + '\n');
      t.step++;
      return this.liveSidecar(t, line) ?? 'new-turn';
    }
    if (r < 0.5 && this.turns.length > 0) {
      const t = this.turns[this.rng.int(0, this.turns.length - 1)];
      this.append(t.shard, this.eventOf(t, this.clock - this.rng.int(1, 5000)) + '\n');
      t.step = Math.min(4, t.step + 1);
      return 'out-of-order';
    }
    if (r < 0.55 && done.length > 0) {
      const t = done[this.rng.int(0, done.length - 1)];
      this.append(this.pickShard(), this.line('completed', t.id, t.stream, this.tick(), { assistant_message_index: 1 }) + '\n');
      return 'collision';
    }
    if (this.pendingCopy !== null && r < 0.6) {
      this.append(this.pickShard(), this.pendingCopy + '\n');
      this.pendingCopy = null;
      return 'glued-copy';
    }
    if (r < 0.62) return this.tornOrWhole();
    if (r < 0.66) return this.sidecar();
    if (r < 0.69) {
      const name = `${this.sid}~${200 + this.shards.length}.jsonl`;
      this.shards.push(name);
      const t = open[0] ?? this.newTurn();
      this.append(name, this.eventOf(t, this.tick()) + '\n');
      t.step++;
      return 'new-shard';
    }
    return this.odd(r);
  }

  /** A torn line (a valid event or half of one, no newline), or a torn line made whole, or glued onto. */
  private tornOrWhole(): string {
    const pending = [...this.torn.keys()];
    if (pending.length > 0 && this.rng.next() < 0.7) {
      const shard = pending[0];
      const rest = this.torn.get(shard)!;
      this.torn.delete(shard);
      if (this.rng.next() < 0.6) {
        this.append(shard, rest + '\n');
        return 'torn-made-whole';
      }
      const t = this.newTurn();
      this.glue(shard, rest.slice(0, 3), this.eventOf(t, this.tick()));
      t.step++;
      return 'glued';
    }
    const shard = this.pickShard();
    if (this.torn.has(shard)) return 'none';
    if (this.rng.next() < 0.25) {
      // Torn and glued onto between two reads.
      const t = this.newTurn();
      this.glue(shard, this.line('worker_started', 'x', 'y', 1).slice(0, 20), this.eventOf(t, this.tick()));
      t.step++;
      return 'glued-at-once';
    }
    const t = this.newTurn();
    const text = this.eventOf(t, this.tick());
    t.step++;
    const cut = this.rng.next() < 0.5 ? text.length : this.rng.int(5, text.length - 2);
    this.append(shard, text.slice(0, cut));
    this.torn.set(shard, text.slice(cut));
    return cut === text.length ? 'torn-valid' : 'torn-cut';
  }

  /** A line glued onto a torn one; later, sometimes, the same event appended again whole (as repair does). */
  private glue(shard: string, torn: string, text: string): void {
    this.append(shard, torn + text + '\n');
    this.pendingCopy = text;
  }

  private pendingCopy: string | null = null;

  /**
   * As hermes-webui does (api/models.py Session.save, temp + rename): when a turn is submitted the
   * sidecar is rewritten with its user message appended and its stream active; when it completes,
   * with the reply appended and no stream active. Returns the step's name when it rewrote the sidecar.
   */
  private liveSidecar(t: SimTurn, line: string): string | null {
    const e = JSON.parse(line) as { event: string };
    if (this.rng.next() < 0.25) return null; // not every turn's save lands between two reads
    if (e.event === 'submitted') {
      this.messages.push({ role: 'user', content: t.content, timestamp: Math.floor(this.clock) });
      this.writeSidecar(t.stream);
      return 'live-submitted';
    }
    if (e.event === 'completed') {
      this.messages.push({ role: 'assistant', content: `answer to ${t.id}`, timestamp: Math.floor(this.clock) });
      this.writeSidecar(null);
      return 'live-completed';
    }
    return null;
  }

  /** An old message edited, removed, or two swapped (the incremental analysis must fall back). */
  private sidecarEdit(): string {
    const ms = this.messages;
    if (ms.length < 2) return 'none';
    const i = this.rng.int(0, ms.length - 2);
    const pick = this.rng.int(0, 3);
    if (pick === 0) ms[i] = { ...ms[i], content: `${ms[i].content} (edited)` };
    else if (pick === 1) ms.splice(i, 1);
    else if (pick === 2) [ms[i], ms[i + 1]] = [ms[i + 1], ms[i]];
    else ms[ms.length - 1] = { ...ms[ms.length - 1], content: `${ms[ms.length - 1].content}!` };
    this.writeSidecar(null);
    return ['sidecar-edited', 'sidecar-removed', 'sidecar-reordered', 'sidecar-last-edited'][pick];
  }

  private writeSidecar(active: string | null): void {
    const side = { session_id: this.sid, title: `t ${this.messages.length}`, model: 'm', active_stream_id: active, messages: this.messages };
    const p = path.join(this.dir, `${this.sid}.json`);
    fs.writeFileSync(p + '.tmp', JSON.stringify(side, null, 2));
    fs.renameSync(p + '.tmp', p);
  }

  private sidecar(): string {
    for (let k = this.rng.int(0, 2); k > 0 && this.turns.length > 0; k--) {
      const u = this.turns[this.rng.int(0, this.turns.length - 1)];
      this.messages.push({ role: 'user', content: u.content, timestamp: Math.floor(this.clock) - this.rng.int(0, 60) });
    }
    const t = this.turns[this.rng.int(0, Math.max(0, this.turns.length - 1))];
    if (t) {
      this.messages.push({ role: 'user', content: t.content, timestamp: Math.floor(this.clock) - this.rng.int(0, 60) });
      if (this.rng.next() < 0.7) this.messages.push({ role: 'assistant', content: 'an answer', timestamp: Math.floor(this.clock) });
    }
    const side = {
      session_id: this.sid,
      title: `t ${this.messages.length}`,
      model: 'm',
      active_stream_id: t && this.rng.next() < 0.3 ? t.stream : null,
      messages: this.messages,
    };
    const p = path.join(this.dir, `${this.sid}.json`);
    fs.writeFileSync(p + '.tmp', JSON.stringify(side, null, 2));
    fs.renameSync(p + '.tmp', p);
    return 'sidecar';
  }

  private odd(r: number): string {
    const at = this.tick();
    const shard = this.pickShard();
    if (r < 0.72) this.append(shard, 'not json at all\n');
    else if (r < 0.74) fs.appendFileSync(this.shardPath(shard), Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]));
    else if (r < 0.77) this.append(shard, this.line('worker_started', null, 'nostream', at) + '\n');
    else if (r < 0.79) this.append(shard, this.line('worker_started', `odd-${this.n++}`, `x${this.n}`, this.rng.next() < 0.5 ? 'soon' : null) + '\n');
    else if (r < 0.82 && this.turns.length > 0) {
      // A fresh turn id on an existing stream: upstream's writer splitting a turn.
      const t = this.turns[this.rng.int(0, this.turns.length - 1)];
      const s = this.newTurn(t.stream);
      s.step = 1;
      s.late = this.rng.next() < 0.5;
      this.append(shard, this.line('worker_started', s.id, t.stream, at) + '\n');
    } else if (r < 0.83) {
      // A turn whose first event is not `submitted` (its `submitted` comes later, in order); or,
      // first without a stream id, then on another turn's stream.
      const t = this.newTurn();
      t.step = 1;
      t.late = true;
      const other = this.turns[this.rng.int(0, this.turns.length - 1)];
      const noStream = this.rng.next() < 0.4;
      this.append(shard, this.line('worker_started', t.id, noStream ? '' : t.stream, at) + '\n');
      if (noStream) {
        // Its next event is on the other turn's stream: the two become one split turn.
        t.stream = other.stream;
        t.late = false;
      }
    } else if (r < 0.84) this.append(shard, this.line('mystery', `m-${this.n++}`, `y${this.n}`, at) + '\n');
    else if (r < 0.86) return this.rewrite();
    else if (r < 0.88 && this.turns.length > 0) return this.runEvent(at);
    else if (r < 0.89 && this.shards.length > 1) {
      const gone = this.shards.splice(this.rng.int(0, this.shards.length - 1), 1)[0];
      fs.rmSync(this.shardPath(gone));
      this.torn.delete(gone);
      for (const t of this.turns) if (t.shard === gone) t.shard = this.shards[0];
      return 'shard-removed';
    } else if (r < 0.93) return this.sidecarEdit();
    else return 'none';
    return 'odd';
  }

  /** A shard replaced by another file: its first line dropped, a new line at the end. */
  private rewrite(): string {
    const shard = this.pickShard();
    const p = this.shardPath(shard);
    const lines = fs.readFileSync(p, 'utf8').split('\n');
    const t = this.newTurn();
    const text = lines.slice(1).join('\n') + this.eventOf(t, this.tick()) + '\n' + this.eventOf(t, this.tick()) + '\n';
    t.step = 1;
    fs.writeFileSync(p + '.tmp', text);
    fs.renameSync(p + '.tmp', p);
    this.torn.delete(shard);
    return 'rewrite';
  }

  /** One event of a turn's run journal (`_run_journal/<sid>/<stream>.jsonl`), sometimes its settling one. */
  private runEvent(at: number): string {
    const t = this.turns[this.rng.int(0, this.turns.length - 1)];
    const file = path.join(this.dir, '_run_journal', this.sid, `${t.stream}.jsonl`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const seq = (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').length - 1 : 0) + 1;
    const pick = this.rng.int(0, 3);
    const [event, ts] = pick === 0 ? ['done', 'completed'] : pick === 1 ? ['cancel', 'interrupted-by-user'] : ['token', null];
    const line = {
      version: 1,
      event_id: `${t.stream}:${seq}`,
      seq,
      run_id: t.stream,
      session_id: this.sid,
      event,
      type: event,
      created_at: at,
      terminal: ts !== null,
      terminal_state: ts,
      payload: {},
    };
    fs.appendFileSync(file, JSON.stringify(line) + '\n');
    return 'run';
  }
}

interface Run {
  steps: number;
  incremental: number;
  byOp: Map<string, number>;
  /** Steps that rewrote the sidecar as hermes-webui does: [incremental, full]. */
  live: [number, number];
  /** Steps that edited, removed or reordered an old sidecar message and took the full path. */
  editsFellBack: number;
}

/** Runs `steps` random changes on every session of `dir`, comparing incremental with full after each. */
async function differential(dir: string, seed: number, steps: number): Promise<Run> {
  const d0 = await discoverSessions(dir);
  const run: Run = { steps: 0, incremental: 0, byOp: new Map(), live: [0, 0], editsFellBack: 0 };
  for (const s0 of d0.sessions) {
    const rng = new Rng(seed).fork(s0.sessionId);
    const w = new Writer(d0.sessionsDir, s0.sessionId, rng, T0 + 86400 * 3);
    const inc = new SessionJournal(d0.sessionsDir, s0.sessionId, { incremental: true });
    for (let k = 0; k <= steps; k++) {
      const op = k === 0 ? 'start' : w.step();
      const opts: AnalyzeOptions = { now: w.now, staleAfterSeconds: STALE };
      const found = (await discoverSessions(dir)).sessions.find((x) => x.sessionId === s0.sessionId)!;
      inc.setShards(found.shards);
      await inc.refresh();
      const a = inc.analyze(opts);
      const ref = new SessionJournal(d0.sessionsDir, s0.sessionId);
      ref.setShards(found.shards);
      await ref.refresh();
      const b = ref.analyze(opts);
      const where = `session ${s0.sessionId}, step ${k} (${op}, ${inc.lastRun!.path}${inc.lastRun!.reason ? `: ${inc.lastRun!.reason}` : ''})`;
      sameText(normalized(a), normalized(b), `analysis differs after ${where}`);
      sameText(JSON.stringify(sessionReport(a)), JSON.stringify(sessionReport(b)), `report differs after ${where}`);
      run.steps++;
      if (op.startsWith('live-')) run.live[inc.lastRun!.path === 'incremental' ? 0 : 1]++;
      if (op.startsWith('sidecar-') && inc.lastRun!.path === 'full') run.editsFellBack++;
      if (inc.lastRun!.path === 'incremental') {
        run.incremental++;
        run.byOp.set(op, (run.byOp.get(op) ?? 0) + 1);
      }
    }
  }
  return run;
}

/** A small session: two shards, a few turns, a sidecar. */
function smallSession(): string {
  const { dir, journal } = sessionsDir();
  const l = (turn: string, name: string, at: number, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({
      event: name,
      stream_id: `st-${turn}`,
      ...extra,
      version: 1,
      session_id: 'sess',
      turn_id: turn,
      created_at: at,
      ...(name === 'completed' ? { terminal: true } : {}),
    }) + '\n';
  fs.writeFileSync(
    path.join(journal, 'sess~1.jsonl'),
    l('a', 'submitted', T0, { role: 'user', content: 'hello', attachments: [] }) +
      l('a', 'worker_started', T0 + 1) +
      l('a', 'completed', T0 + 9, { assistant_message_index: 1 }),
  );
  fs.writeFileSync(path.join(journal, 'sess~2.jsonl'), l('b', 'submitted', T0 + 100, { role: 'user', content: 'again', attachments: [] }));
  const side = {
    session_id: 'sess',
    title: 'small',
    messages: [
      { role: 'user', content: 'hello', timestamp: T0 },
      { role: 'assistant', content: 'hi' },
    ],
  };
  fs.writeFileSync(path.join(dir, 'sess.json'), JSON.stringify(side));
  return dir;
}

describe('incremental analysis', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`equals the full analysis over random appends on a small session (seed ${seed})`, async function () {
      this.timeout(60000);
      const r = await differential(smallSession(), seed, 70);
      assert.ok(r.incremental >= r.steps * 0.25, `incremental path taken ${r.incremental} of ${r.steps} times`);
      assert.ok(r.live[0] > r.live[1], `hermes-like sidecar rewrites taken incrementally ${r.live[0]} times, in full ${r.live[1]}`);
      assert.ok(r.editsFellBack > 0, 'an edited, removed or reordered sidecar message fell back to the full analysis');
    });
  }

  it('equals the full analysis over random appends on generated sessions with every anomaly @slow', async function () {
    this.timeout(300000);
    for (const seed of [1, 3]) {
      const dir = tempDir();
      generateSessionsFolder(dir, { seed, anomalies: everyAnomaly(seed === 1 ? 1 : 2), sessions: 12 });
      const r = await differential(dir, seed, 30);
      assert.ok(r.incremental >= r.steps * 0.2, `incremental path taken ${r.incremental} of ${r.steps} times`);
    }
  });

  it('takes the incremental path for in-order appends, and says why not otherwise', async () => {
    const dir = smallSession();
    const d = await discoverSessions(dir);
    const s = d.sessions[0];
    const j = new SessionJournal(d.sessionsDir, s.sessionId, { incremental: true });
    j.setShards(s.shards);
    await j.refresh();
    const opts = { now: T0 + 200, staleAfterSeconds: STALE };
    j.analyze(opts);
    assert.deepStrictEqual(j.lastRun, { path: 'full', reason: null });
    const shard = path.join(dir, '_turn_journal', 'sess~2.jsonl');
    const add = (name: string, at: number): void =>
      fs.appendFileSync(shard, JSON.stringify({ event: name, stream_id: 'st-b', version: 1, session_id: 'sess', turn_id: 'b', created_at: at }) + '\n');
    add('worker_started', T0 + 101);
    await j.refresh();
    let a = j.analyze(opts);
    assert.deepStrictEqual(j.lastRun, { path: 'incremental', reason: null });
    assert.strictEqual(a.turns[1].state, 'worker_started');
    add('assistant_started', T0 + 102);
    await j.refresh();
    a = j.analyze({ ...opts, now: T0 + 86400 });
    assert.deepStrictEqual(j.lastRun, { path: 'incremental', reason: null });
    assert.ok(
      a.findings.some((f) => f.kind === 'dangling_turn' && f.turnId === 'b'),
      'the clock ages the open turn',
    );
    add('submitted', T0 + 50); // older than the last event
    await j.refresh();
    j.analyze(opts);
    assert.deepStrictEqual(j.lastRun, { path: 'full', reason: 'a new event sorts before the last one' });
  });

  it("replays the later turns' claims on the sidecar's user messages when an earlier turn's claim changes", async () => {
    const { dir, journal } = sessionsDir();
    const shard = path.join(journal, 'sess~1.jsonl');
    const add = eventAppender(shard);
    const side = {
      session_id: 'sess',
      messages: [
        { role: 'user', content: 'Q', timestamp: T0 },
        { role: 'assistant', content: 'A' },
      ],
    };
    fs.writeFileSync(path.join(dir, 'sess.json'), JSON.stringify(side));
    add('a', 'worker_started', T0 + 1); // turn a: its submitted comes later
    add('b', 'submitted', T0 + 2, { role: 'user', content: 'Q' }); // turn b asks the same, after a
    const d = await discoverSessions(dir);
    const j = new SessionJournal(d.sessionsDir, 'sess', { incremental: true });
    j.setShards(d.sessions[0].shards);
    await j.refresh();
    const opts = { now: T0 + 10, staleAfterSeconds: STALE };
    assert.strictEqual(j.analyze(opts).turns[1].evidence?.userMessageIndex, 0);
    add('a', 'submitted', T0 + 3, { role: 'user', content: 'Q' });
    await j.refresh();
    const a = j.analyze(opts);
    assert.deepStrictEqual(j.lastRun, { path: 'incremental', reason: null });
    const ref = new SessionJournal(d.sessionsDir, 'sess');
    ref.setShards(d.sessions[0].shards);
    await ref.refresh();
    const b = ref.analyze(opts);
    assert.deepStrictEqual(
      a.turns.map((t) => t.evidence?.userMessageIndex),
      [0, null],
    );
    assert.strictEqual(normalized(a), normalized(b));
  });

  it('follows a live turn incrementally when hermes-webui rewrites the sidecar appending messages', async () => {
    const { dir, journal } = sessionsDir();
    const shard = path.join(journal, 'sess~1.jsonl');
    const add = eventAppender(shard);
    const messages: Record<string, unknown>[] = [];
    const save = (active: string | null): void => {
      const p = path.join(dir, 'sess.json');
      fs.writeFileSync(p + '.tmp', JSON.stringify({ session_id: 'sess', title: `n=${messages.length}`, active_stream_id: active, messages }));
      fs.renameSync(p + '.tmp', p);
    };
    add('a', 'submitted', T0, { role: 'user', content: 'Q1' });
    add('c', 'submitted', T0 + 1, { role: 'user', content: 'never saved' }); // claims nothing, points at messages[1] too
    add('a', 'completed', T0 + 5, { assistant_message_index: 1, terminal: true });
    add('c', 'completed', T0 + 6, { assistant_message_index: 1, terminal: true });
    save(null);
    const d = await discoverSessions(dir);
    const j = new SessionJournal(d.sessionsDir, 'sess', { incremental: true });
    j.setShards(d.sessions[0].shards);
    const opts = { now: T0 + 30, staleAfterSeconds: STALE };
    const step = async (path: 'full' | 'incremental', reason: string | null = null): Promise<SessionAnalysis> => {
      await j.refresh();
      const a = j.analyze(opts);
      assert.deepStrictEqual(j.lastRun, { path, reason });
      const ref = new SessionJournal(d.sessionsDir, 'sess');
      ref.setShards(d.sessions[0].shards);
      await ref.refresh();
      const b = ref.analyze(opts);
      sameText(normalized(a), normalized(b), 'analysis differs');
      sameText(JSON.stringify(sessionReport(a)), JSON.stringify(sessionReport(b)), 'report differs');
      return a;
    };
    await step('full');
    messages.push({ role: 'user', content: 'Q1', timestamp: T0 });
    save(null);
    await step('full', 'the sidecar gained its first user message'); // every turn's userMessageSaved changes
    messages.push({ role: 'assistant', content: 'A1', timestamp: T0 + 5 });
    save(null); // the reply saved after the journal's "completed": turn a now finds it
    let a = await step('incremental');
    assert.deepStrictEqual([a.turns[0].assistantReply, a.turns[1].assistantReply], ['A1', 'A1']);
    add('b', 'submitted', T0 + 10, { role: 'user', content: 'Q2' }); // a live turn starts
    messages.push({ role: 'user', content: 'Q2', timestamp: T0 + 10 });
    save('st-b');
    a = await step('incremental');
    assert.deepStrictEqual([a.turns[2].live, a.turns[2].userMessageSaved], [true, true]);
    add('b', 'worker_started', T0 + 11);
    add('b', 'completed', T0 + 20, { assistant_message_index: 3, terminal: true }); // and ends
    messages.push({ role: 'assistant', content: 'A2', timestamp: T0 + 20 });
    save(null);
    a = await step('incremental');
    assert.deepStrictEqual([a.turns[2].live, a.turns[2].assistantReply, a.title], [false, 'A2', 'n=4']);
    messages[0] = { ...messages[0], content: 'Q1 (edited)' };
    save(null);
    await step('full', "the sidecar's messages changed (not only appended to)");
    messages.splice(1, 2);
    save(null);
    await step('full', "the sidecar's messages changed (not only appended to)");
  });

  it('with every long user message kept by reference, a new sidecar message finds the turn that asked it (read back only on an equal length)', async () => {
    const { dir, journal } = sessionsDir();
    const add = eventAppender(path.join(journal, 'sess~1.jsonl'));
    const long = (tag: string): string => `${tag}: ${'a question long enough to be kept by reference, '.repeat(2)}`;
    const messages: Record<string, unknown>[] = [
      { role: 'user', content: long('one'), timestamp: T0 },
      { role: 'assistant', content: 'A1' },
    ];
    const save = (): void => fs.writeFileSync(path.join(dir, 'sess.json'), JSON.stringify({ session_id: 'sess', messages }));
    add('a', 'submitted', T0, { role: 'user', content: long('one') });
    add('a', 'completed', T0 + 5, { assistant_message_index: 1, terminal: true });
    add('c', 'submitted', T0 + 6, { role: 'user', content: long('two') });
    add('c', 'completed', T0 + 9, { terminal: true });
    save();
    const d = await discoverSessions(dir);
    const j = new SessionJournal(d.sessionsDir, 'sess', { incremental: true, maxInlineTextChars: 0 });
    j.setShards(d.sessions[0].shards);
    const opts = { now: T0 + 30, staleAfterSeconds: STALE };
    const check = async (): Promise<SessionAnalysis> => {
      await j.refresh();
      const a = j.analyze(opts);
      const ref = new SessionJournal(d.sessionsDir, 'sess', { maxInlineTextChars: 0 });
      ref.setShards(d.sessions[0].shards);
      await ref.refresh();
      sameText(normalized(a), normalized(ref.analyze(opts)), 'analysis differs');
      return a;
    };
    assert.strictEqual((await check()).turns[1].userMessageSaved, false);
    messages.push({ role: 'user', content: long('six'), timestamp: T0 + 7 }); // same length as turn c's, another text
    save();
    assert.strictEqual((await check()).turns[1].userMessageSaved, false);
    assert.deepStrictEqual(j.lastRun, { path: 'incremental', reason: null });
    messages.push({ role: 'user', content: long('two'), timestamp: T0 + 8 }); // turn c's message, saved late
    save();
    assert.strictEqual((await check()).turns[1].userMessageSaved, true);
    assert.deepStrictEqual(j.lastRun, { path: 'incremental', reason: null });
  });

  it('falls back when an append makes two turn ids one split turn', async () => {
    const { dir, journal } = sessionsDir();
    const shard = path.join(journal, 'sess~1.jsonl');
    const add = (turn: string, name: string, stream: string, at: number, extra: Record<string, unknown> = {}): void =>
      fs.appendFileSync(
        shard,
        JSON.stringify({ event: name, stream_id: stream, ...extra, version: 1, session_id: 'sess', turn_id: turn, created_at: at }) + '\n',
      );
    add('p', 'submitted', 'S', T0, { role: 'user', content: 'hi' });
    add('q', 'worker_started', '', T0 + 1); // no stream id yet
    const d = await discoverSessions(dir);
    const j = new SessionJournal(d.sessionsDir, 'sess', { incremental: true });
    j.setShards(d.sessions[0].shards);
    await j.refresh();
    const opts = { now: T0 + 10, staleAfterSeconds: STALE };
    assert.strictEqual(j.analyze(opts).turns.length, 2);
    add('q', 'assistant_started', 'S', T0 + 2); // q is now on p's stream, without "submitted"
    await j.refresh();
    const a = j.analyze(opts);
    assert.deepStrictEqual(j.lastRun, { path: 'full', reason: "a turn's stream id changed" });
    assert.deepStrictEqual(
      a.turns.map((t) => [t.turnId, t.aliasTurnIds]),
      [['p', ['q']]],
    );
  });

  it('is what SessionIndex.analyze uses for a session being viewed', async () => {
    const dir = smallSession();
    const index = new SessionIndex({ now: () => T0 + 300 });
    await index.setRoots([{ sessionsDir: dir, source: 'other' }]);
    const rootId = index.roots()[0].id;
    await index.analyze(rootId, 'sess');
    fs.appendFileSync(
      path.join(dir, '_turn_journal', 'sess~1.jsonl'),
      JSON.stringify({
        event: 'submitted',
        stream_id: 'st-c',
        role: 'user',
        content: 'new',
        version: 1,
        session_id: 'sess',
        turn_id: 'c',
        created_at: T0 + 200,
      }) + '\n',
    );
    const a = await index.analyze(rootId, 'sess');
    assert.strictEqual(a?.turns.length, 3);
    const journal = (index as unknown as { journals: { journals: Map<string, SessionJournal> } }).journals.journals;
    const runs = [...journal.values()].map((j) => j.lastRun);
    assert.deepStrictEqual(runs, [{ path: 'incremental', reason: null }]);
  });
});
