/**
 * SQLite index rebuild (issue: "Speed"): a full rebuild from 1,000,000 events (events/s,
 * peak RSS) beside a baseline measured in the same run that inserts the same event rows
 * into the same engine with one prepared statement in one transaction and nothing else;
 * then an incremental rebuild after appending 1% of the events (to the 1% most recently
 * active sessions, and, for contrast, spread over every session).
 * Each rebuild runs as the real CLI in its own process, so peak RSS is its own.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import type { Bench } from './harness';
import { ratio, table } from './harness';
import { generateLargeFolder, appendEventLine, FIXED_NOW } from '../test/support/fixtures';

const CLI = path.resolve(__dirname, '../../dist/cli.js');
let profiles = 0;

interface Run {
  ms: number;
  /** CPU time of the whole process (every thread), user + system. */
  cpuMs: number;
  peakRssMb: number;
  result: {
    mode: string;
    eventsAdded: number;
    counts: { events: number; turns: number; findings: number };
    bytes: number;
    sessionsRedone: number;
    sessionsFromTails: number;
  };
}

/** A Node with node:sqlite for the native rows: this one if it has it, else the tests' Node 24 (scripts/vscode-test/install.mjs). */
function nativeNode(): string | null {
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 23) return process.execPath;
  const cached = path.join(os.homedir(), '.cache', 'bot-memory-auditor', 'node-v24.9.0', 'bin', 'node');
  return fs.existsSync(cached) ? cached : null;
}

/** `BMA_BENCH_CPU_PROF=<dir>`: each CLI run under `node --cpu-prof`, its profile named after `label` (as bench/fork.ts does for workers). */
function rebuild(args: string[], node = process.execPath, label = 'rebuild'): Run {
  const dir = process.env.BMA_BENCH_CPU_PROF;
  const prof = dir ? ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-name', `sqlite-${label}-${++profiles}.cpuprofile`] : [];
  const r = spawnSync(node, [...prof, CLI, 'rebuild', ...args, '--json', '--now', String(FIXED_NOW)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`rebuild failed: ${r.stderr}`);
  const result = JSON.parse(r.stdout);
  return { ms: result.elapsedMs, cpuMs: result.cpuMs, peakRssMb: result.peakRssMb, result };
}

interface AppendOptions {
  /** The first turn's number: times (`FIXED_NOW + n`) and turn ids continue from there (later than every earlier append). */
  from?: number;
  /**
   * hermes-webui's live case: each new turn carries its user message and reply index, and each
   * touched session's sidecar is rewritten the way upstream saves it (temp file + rename,
   * `json.dumps(indent=2)`), its messages extended by the turns' user messages and replies.
   */
  sidecars?: boolean;
}

function appendTurns(journalDir: string, sids: string[], events: number, o: AppendOptions = {}): void {
  const from = o.from ?? 0;
  const added = new Map<string, { role: string; content: string; timestamp: number }[]>();
  const messages = (sid: string): { role: string; content: string; timestamp: number }[] => {
    let list = added.get(sid);
    if (!list) added.set(sid, (list = []));
    return list;
  };
  const sidecarOf = (sid: string): { messages: unknown[] } => JSON.parse(fs.readFileSync(path.join(journalDir, '..', `${sid}.json`), 'utf8'));
  const base = new Map<string, number>();
  let n = 0;
  for (let i = 0; n < events; i++) {
    const sid = sids[i % sids.length];
    const shard = fs.readdirSync(journalDir).find((f) => f.startsWith(sid + '~'))!;
    const k = from + i;
    const turn = `20260101T000000Z-${k.toString(16).padStart(12, '0')}`;
    let extra = { submitted: '', completed: '' };
    if (o.sidecars) {
      if (!base.has(sid)) base.set(sid, sidecarOf(sid).messages.length);
      const list = messages(sid);
      const content = `appended question ${k}: what changed since the last turn?`;
      const reply = base.get(sid)! + list.length + 1;
      list.push({ role: 'user', content, timestamp: Math.floor(FIXED_NOW + k) });
      list.push({ role: 'assistant', content: `The answer to question ${k}.`, timestamp: Math.floor(FIXED_NOW + k) });
      extra = { submitted: `,"role":"user","content":"${content}"`, completed: `,"assistant_message_index":${reply}` };
    }
    for (const e of ['submitted', 'worker_started', 'assistant_started', 'completed']) {
      appendEventLine(
        path.join(journalDir, shard),
        `{"event":"${e}","stream_id":"s${k}"${e === 'submitted' ? extra.submitted : e === 'completed' ? extra.completed : ''},"version":1,"session_id":"${sid}","turn_id":"${turn}","created_at":${FIXED_NOW + k}${e === 'completed' ? ',"terminal":true' : ''}}`,
        { fsyncDir: false },
      );
      n++;
    }
  }
  // One rewrite per session after its turns (the rebuild sees only the last one), as upstream saves it.
  for (const [sid, list] of added) {
    const p = path.join(journalDir, '..', `${sid}.json`);
    const side = sidecarOf(sid) as Record<string, unknown> & { messages: unknown[] };
    side.messages.push(...list);
    side.message_count = side.messages.length;
    side.updated_at = list[list.length - 1].timestamp + 0.5;
    fs.writeFileSync(`${p}.tmp.${process.pid}`, JSON.stringify(side, null, 2));
    fs.renameSync(`${p}.tmp.${process.pid}`, p);
  }
}

export const sqliteBench: Bench = {
  name: 'sqlite',
  async run(ctx) {
    const events = ctx.quick ? 100_000 : 1_000_000;
    const sessions = events / 1000;
    const dir = path.join(ctx.tmp, 'sessions');
    const m = generateLargeFolder(dir, { sessions, eventsPerSession: 1000, malformedEvery: 5000 });
    ctx.log(
      `fixture: ${m.events} events, ${m.malformedLines} malformed lines, ${(m.bytes / 1048576).toFixed(0)} MB in ${sessions} sessions (${m.elapsedMs.toFixed(0)} ms to write)`,
    );
    const db = path.join(dir, '_audit_index.sqlite');

    // The first full rebuild makes the index whose events rows the baseline reads.
    const first = rebuild([dir, '--full', '--engine', 'wasm']);
    const baseTarget = path.join(ctx.tmp, 'baseline.sqlite');
    const baseline = (
      how: 'direct' | 'plain' | 'batched' | 'floor',
      node = process.execPath,
      engine = 'wasm',
    ): { rows: number; ms: number; cpuMs: number; rowsMb: number; peakRssMb: number; direct: boolean } => {
      const b = spawnSync(node, [path.join(__dirname, 'sqlite.worker.js'), db, baseTarget, '--engine', engine, ...(how === 'direct' ? [] : [`--${how}`])], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      if (b.status !== 0) throw new Error(`baseline failed: ${b.stderr}`);
      fs.rmSync(baseTarget, { force: true });
      return JSON.parse(b.stdout);
    };
    // Single runs on a shared 2-core machine vary by ±20%: the baseline (bound by our engine
    // wrapper, the code the rebuild uses) and the full rebuild alternate, best of ROUNDS each.
    const rounds = ctx.quick ? 1 : 3;
    const other = path.join(ctx.tmp, 'full-again.sqlite');
    let base = baseline('direct');
    let full = first;
    const pairs: string[] = [];
    for (let r = 0; r < rounds; r++) {
      const b = r === 0 ? base : baseline('direct');
      const f = rebuild([dir, '--db', other, '--full', '--engine', 'wasm']);
      fs.rmSync(other, { force: true });
      pairs.push(`${Math.round(f.ms)}/${Math.round(b.ms)} = ${ratio(f.ms, b.ms)}×`);
      if (b.ms < base.ms) base = b;
      if (f.ms < full.ms) full = f;
    }
    // The same rows bound by the engine's own Statement.run; and the rebuild's own insert path
    // (values encoded beforehand, runBatch), the strictest baseline.
    const plainBase = baseline('plain');
    const batchedBase = baseline('batched');
    // What the rebuild's main thread cannot avoid: all its rows written with its statements
    // and insert path, its indexes and fsync, nothing read or parsed.
    const floor = baseline('floor');

    // node:sqlite (the engine of VS Code's extension host and of Node >= 22.5): its own
    // baseline (the same events rows, one prepared INSERT, one transaction) and full rebuild,
    // alternating, in the same run.
    const n24 = nativeNode();
    let native: { base: ReturnType<typeof baseline>; full: Run; pairs: string[] } | null = null;
    if (n24) {
      const npairs: string[] = [];
      let nb: ReturnType<typeof baseline> | undefined;
      let nf: Run | undefined;
      for (let r = 0; r < rounds; r++) {
        const b = baseline('direct', n24, 'native');
        const f = rebuild([dir, '--db', other, '--full', '--engine', 'native'], n24, 'full-native');
        fs.rmSync(other, { force: true });
        npairs.push(`${Math.round(f.ms)}/${Math.round(b.ms)} = ${ratio(f.ms, b.ms)}×`);
        if (!nb || b.ms < nb.ms) nb = b;
        if (!nf || f.ms < nf.ms) nf = f;
      }
      native = { base: nb!, full: nf!, pairs: npairs };
    }

    // 1% more events: new turns in the 1% most recently active sessions. The incremental
    // rebuild is run `rounds` times from the same state: the grown shards are cut back to
    // their old size and times (same inode, so the index still matches them) and the index
    // copied back before each.
    const onePercent = Math.round(events / 100);
    const active = m.sessionIds.slice(-Math.max(1, Math.round(sessions / 100)));
    const saved = path.join(ctx.tmp, 'index-before.sqlite');
    fs.copyFileSync(db, saved);
    const shardStates = fs.readdirSync(m.journalDir).map((n) => {
      const st = fs.statSync(path.join(m.journalDir, n));
      return { file: path.join(m.journalDir, n), size: st.size, atime: st.atime, mtime: st.mtime };
    });
    const restore = (): void => {
      for (const s of shardStates) {
        if (fs.statSync(s.file).size === s.size) continue;
        fs.truncateSync(s.file, s.size);
        fs.utimesSync(s.file, s.atime, s.mtime);
      }
      fs.copyFileSync(saved, db + '.restore');
      fs.renameSync(db + '.restore', db);
    };
    let inc: Run | undefined;
    const incremental = (node?: string, engine = 'wasm', label = 'incremental'): Run => {
      const i = rebuild([dir, '--engine', engine], node, `${label}-${engine}`);
      if (i.result.mode !== 'incremental') throw new Error(`expected an incremental rebuild, got ${i.result.mode}`);
      return i;
    };
    for (let r = 0; r < rounds; r++) {
      if (r > 0) restore();
      appendTurns(m.journalDir, active, onePercent);
      const i = incremental();
      if (!inc || i.ms < inc.ms) inc = i;
    }
    // The same with node:sqlite (the extension's engine), from the same state.
    let nativeInc: Run | undefined;
    if (n24) {
      restore();
      appendTurns(m.journalDir, active, onePercent);
      nativeInc = incremental(n24, 'native', 'active');
    }
    fs.rmSync(saved, { force: true });
    const fullAgain = rebuild([dir, '--db', other, '--full', '--engine', 'wasm']);
    fs.rmSync(other, { force: true });
    // 1% spread over every session: each session's appended tail is read (tailAppend.ts).
    appendTurns(m.journalDir, m.sessionIds, onePercent);
    const beforeSpread = path.join(ctx.tmp, 'index-before-spread.sqlite');
    fs.copyFileSync(db, beforeSpread);
    const spread = incremental();
    let nativeSpread: Run | undefined;
    if (n24) {
      fs.copyFileSync(beforeSpread, db + '.restore');
      fs.renameSync(db + '.restore', db);
      nativeSpread = incremental(n24, 'native', 'spread');
    }
    fs.rmSync(beforeSpread, { force: true });
    // hermes-webui's live case: the same appends, each touched session's sidecar rewritten (temp +
    // rename) with the new turns' messages, as upstream saves it at every turn's start and end.
    // With the extension's engine where this machine has it, else wasm; times continue after the appends above.
    const liveNode = n24 ?? undefined;
    const liveEngine = n24 ? 'native' : 'wasm';
    appendTurns(m.journalDir, active, onePercent, { from: 1_000_000, sidecars: true });
    const liveActive = incremental(liveNode, liveEngine, 'live-active');
    appendTurns(m.journalDir, m.sessionIds, onePercent, { from: 2_000_000, sidecars: true });
    const liveSpread = incremental(liveNode, liveEngine, 'live-spread');

    const evps = (n: number, ms: number): string => Math.round(n / (ms / 1000)).toLocaleString('en-US');
    ctx.log(
      table([
        ['run', 'ms', 'events/s', 'peak RSS MB', 'rows'],
        [
          `baseline: events rows, 1 statement, 1 transaction (${base.direct ? 'direct binding' : 'engine binding'}; best of ${rounds})`,
          Math.round(base.ms),
          evps(base.rows, base.ms),
          `${base.peakRssMb.toFixed(0)} (${base.rowsMb.toFixed(0)} holding the rows)`,
          `${base.rows} events`,
        ],
        [
          "baseline, bound by the engine's own Statement.run",
          Math.round(plainBase.ms),
          evps(plainBase.rows, plainBase.ms),
          plainBase.peakRssMb.toFixed(0),
          `${plainBase.rows} events`,
        ],
        [
          'baseline, values encoded beforehand and run as the rebuild runs them (runBatch)',
          Math.round(batchedBase.ms),
          evps(batchedBase.rows, batchedBase.ms),
          batchedBase.peakRssMb.toFixed(0),
          `${batchedBase.rows} events`,
        ],
        [
          "write floor: every table's rows as above, the rebuild's statements, indexes, fsync",
          Math.round(floor.ms),
          evps(base.rows, floor.ms),
          floor.peakRssMb.toFixed(0),
          `${floor.rows} rows`,
        ],
        [
          `full rebuild (read, derive, all tables, indexes, fsync; best of ${rounds + 1})`,
          full.ms,
          evps(full.result.counts.events, full.ms),
          full.peakRssMb.toFixed(0),
          `${full.result.counts.events} events, ${full.result.counts.turns} turns, ${full.result.counts.findings} findings`,
        ],
        [
          `incremental: +${onePercent} events in ${active.length} active sessions (best of ${rounds})`,
          inc!.ms,
          evps(inc!.result.eventsAdded, inc!.ms),
          inc!.peakRssMb.toFixed(0),
          `${inc!.result.eventsAdded} new events, ${inc!.result.sessionsRedone} sessions redone (${inc!.result.sessionsFromTails} from their tails)`,
        ],
        [
          'full rebuild of the same folder',
          fullAgain.ms,
          evps(fullAgain.result.counts.events, fullAgain.ms),
          fullAgain.peakRssMb.toFixed(0),
          `${fullAgain.result.counts.events} events`,
        ],
        [
          `incremental: +${onePercent} events spread over all ${sessions} sessions`,
          spread.ms,
          evps(spread.result.eventsAdded, spread.ms),
          spread.peakRssMb.toFixed(0),
          `${spread.result.sessionsRedone} sessions redone, ${spread.result.sessionsFromTails} from their tails`,
        ],
      ]),
    );
    ctx.log(
      "baseline: the events rows the rebuild wrote, read back into memory first (not timed), then timed: a new file with the same pragmas as the rebuild's temp file",
    );
    ctx.log(
      "  (page_size 8192, journal off, synchronous off, exclusive lock, the same page cache), the schema's tables, BEGIN, one prepared INSERT (the rebuild's) run per row, COMMIT, close.",
    );
    ctx.log("  No indexes, no fsync, no reading or parsing. The first binds values as the rebuild does; the second with the engine's own Statement.run.");
    ctx.log(
      'full rebuild: the real CLI (`rebuild --full`): read and parse every shard, derive, write all 10 tables, 8 indexes, fsync the temp file, rename, fsync the folder.',
    );
    ctx.log(
      `wasm full rebuild / baseline (best / best): ${ratio(full.ms, base.ms)}× (target ≤ 1.2×); each round, full/baseline: ${pairs.join(', ')}; / baseline with the engine's own binding: ${ratio(full.ms, plainBase.ms)}×; / baseline run as the rebuild runs its rows: ${ratio(full.ms, batchedBase.ms)}×`,
    );
    ctx.log(
      `write floor / baseline: ${ratio(floor.ms, base.ms)}× (a rebuild's main thread writes at least this; full rebuild / write floor: ${ratio(full.ms, floor.ms)}×)`,
    );
    ctx.log(
      `incremental (1% in active sessions, in place, one transaction) / full: ${((inc!.ms / full.ms) * 100).toFixed(1)}% (target ≤ 3%; best of ${rounds} / best full rebuild of the folder before the 1%)`,
    );
    ctx.log(
      `incremental (1% spread over all sessions) / full: ${((spread.ms / fullAgain.ms) * 100).toFixed(1)}% (target ≤ 15%; each session's appended tail is read)`,
    );
    if (native) {
      ctx.log(
        table([
          ['node:sqlite (Node ' + spawnSync(n24!, ['--version'], { encoding: 'utf8' }).stdout.trim() + ')', 'ms', 'events/s', 'peak RSS MB', 'rows'],
          [
            `baseline: events rows, 1 statement, 1 transaction (best of ${rounds})`,
            Math.round(native.base.ms),
            evps(native.base.rows, native.base.ms),
            native.base.peakRssMb.toFixed(0),
            `${native.base.rows} events`,
          ],
          [
            `full rebuild --engine native (best of ${rounds})`,
            native.full.ms,
            evps(native.full.result.counts.events, native.full.ms),
            native.full.peakRssMb.toFixed(0),
            `${native.full.result.counts.events} events`,
          ],
          ...[
            [`incremental: +${onePercent} events in ${active.length} active sessions`, nativeInc!],
            [`incremental: +${onePercent} events spread over all ${sessions} sessions`, nativeSpread!],
          ].map(([label, r]) => {
            const run = r as Run;
            return [
              label as string,
              run.ms,
              evps(run.result.eventsAdded, run.ms),
              run.peakRssMb.toFixed(0),
              `${run.result.sessionsRedone} redone, ${run.result.sessionsFromTails} from tails; ${((run.ms / native.full.ms) * 100).toFixed(1)}% of its full`,
            ];
          }),
        ]),
      );
      ctx.log(
        `node:sqlite full rebuild / its baseline: ${ratio(native.full.ms, native.base.ms)}× (target ≤ 1.2×); each round: ${native.pairs.join(', ')}; node:sqlite full / wasm full: ${ratio(native.full.ms, full.ms)}×`,
      );
    } else ctx.log('node:sqlite rows skipped: no Node with node:sqlite here');
    // CPU time (firm on a loaded machine, where wall times are not): the baselines' of their timed part, the rebuilds' of the whole process.
    const pct = (a: Run, b: Run): string => `${((a.cpuMs / b.cpuMs) * 100).toFixed(1)}%`;
    ctx.log(
      `CPU ms: wasm baseline ${Math.round(base.cpuMs)}, full ${full.cpuMs} (${ratio(full.cpuMs, base.cpuMs)}×); incremental active ${inc!.cpuMs} (${pct(inc!, full)} of full), ` +
        `spread ${spread.cpuMs} (${pct(spread, fullAgain)})` +
        (native
          ? `; node:sqlite baseline ${Math.round(native.base.cpuMs)}, full ${native.full.cpuMs} (${ratio(native.full.cpuMs, native.base.cpuMs)}×), ` +
            `incremental active ${nativeInc!.cpuMs} (${pct(nativeInc!, native.full)}), spread ${nativeSpread!.cpuMs} (${pct(nativeSpread!, native.full)})`
          : ''),
    );
    const liveFull = native ? native.full : fullAgain;
    ctx.log(
      table([
        [`with hermes-style sidecar rewrites (${n24 ? 'node:sqlite' : 'wasm'})`, 'ms', 'CPU ms', 'peak RSS MB', 'rows'],
        ...[
          [`incremental: +${onePercent} events in ${active.length} active sessions, their sidecars rewritten`, liveActive],
          [`incremental: +${onePercent} events spread over all ${sessions} sessions, every sidecar rewritten`, liveSpread],
        ].map(([label, r]) => {
          const run = r as Run;
          return [
            label as string,
            run.ms,
            run.cpuMs,
            run.peakRssMb.toFixed(0),
            `${run.result.sessionsRedone} redone, ${run.result.sessionsFromTails} from tails; ${((run.ms / liveFull.ms) * 100).toFixed(1)}% of full (CPU ${pct(run, liveFull)})`,
          ];
        }),
      ]),
    );
    const journalBytes = fs.readdirSync(m.journalDir).reduce((n, f) => n + fs.statSync(path.join(m.journalDir, f)).size, 0);
    // Issue #18's rows: the native engine where this machine has it (the extension's), else wasm.
    const nf = native?.full ?? full;
    const nb = native?.base ?? base;
    const eng = native ? 'node:sqlite' : 'wasm';
    const incA = nativeInc ?? inc!;
    const incS = nativeSpread ?? spread;
    const fullOf = native ? native.full.ms : fullAgain.ms;
    ctx.target?.({
      row: `SQLite full rebuild vs bare prepared INSERT (${eng})`,
      measured: `${ratio(nf.ms, nb.ms)}×`,
      target: '≤ 1.2×',
      met: nf.ms <= 1.2 * nb.ms,
    });
    ctx.target?.({
      row: `SQLite incremental, +1 % in active sessions (${eng})`,
      measured: `${((incA.ms / nf.ms) * 100).toFixed(1)} % of full`,
      target: '≤ 3 %',
      met: incA.ms <= 0.03 * nf.ms,
    });
    ctx.target?.({
      row: `SQLite incremental, +1 % spread over every session (${eng})`,
      measured: `${((incS.ms / fullOf) * 100).toFixed(1)} % of full`,
      target: '≤ 15 %',
      met: incS.ms <= 0.15 * fullOf,
    });
    ctx.target?.({
      row: 'index size / journal bytes',
      measured: `${ratio(full.result.bytes, m.bytes)}×`,
      target: '≤ 1.2×',
      met: full.result.bytes <= 1.2 * m.bytes,
    });
    ctx.target?.({
      row: `SQLite incremental, +1 % in active sessions, sidecars rewritten as hermes-webui does (${eng})`,
      measured: `${((liveActive.ms / liveFull.ms) * 100).toFixed(1)} % of full`,
      target: '≤ 3 %',
      met: liveActive.ms <= 0.03 * liveFull.ms,
    });
    ctx.target?.({
      row: `SQLite incremental, +1 % spread over every session, sidecars rewritten (${eng})`,
      measured: `${((liveSpread.ms / liveFull.ms) * 100).toFixed(1)} % of full`,
      target: '≤ 15 %',
      met: liveSpread.ms <= 0.15 * liveFull.ms,
    });
    ctx.log(
      `index size: ${(full.result.bytes / 1048576).toFixed(0)} MB for ${(m.bytes / 1048576).toFixed(0)} MB of journals before the appends: ${ratio(full.result.bytes, m.bytes)}× (target ≤ 1.2×); now ${(journalBytes / 1048576).toFixed(0)} MB of journals`,
    );
  },
};
