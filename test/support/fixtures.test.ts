/**
 * Tests of the fixture generator itself (plain Node + mocha bdd):
 *   node esbuild.js --tests && npx mocha out/test/support/fixtures.test.js
 * Python-based checks (upstream_reader.py, byte round-trip) are skipped when python3 is missing.
 */
import { HAS_PYTHON as HAS_PYTHON_AND_READER, runUpstreamReader, type UpstreamResult } from './upstreamReader';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ALL_ANOMALIES,
  FIXED_NOW,
  FixtureManifest,
  SessionManifest,
  appendEventLine,
  buildJournalEvent,
  generateLargeFolder,
  generateSessionsFolder,
  makeTurnId,
  pyFloatRepr,
  pyJsonDumps,
  pyJsonString,
  pySplitlines,
  Rng,
  shardFileName,
  writeSessionsFolder,
} from './fixtures';

const HAS_PYTHON = HAS_PYTHON_AND_READER;
const runUpstream = runUpstreamReader;

/** Python re-serialises every parseable line / sidecar and must get the very same bytes. */
const ROUND_TRIP_PY = `
import json, sys, pathlib
root = pathlib.Path(sys.argv[1]); checked = mism = 0; bad = []
for f in sorted((root / "_turn_journal").glob("*.jsonl")):
    data = f.read_bytes()
    if data.startswith(b"\\xef\\xbb\\xbf"): data = data[3:]
    for raw in data.split(b"\\n"):
        raw = raw[:-1] if raw.endswith(b"\\r") else raw
        try: obj = json.loads(raw.decode("utf-8"))
        except Exception: continue
        if not isinstance(obj, dict): continue
        checked += 1
        if json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode() != raw:
            mism += 1; bad.append(f.name)
for f in sorted(root.glob("*.json")):
    text = f.read_text(encoding="utf-8"); checked += 1
    if json.dumps(json.loads(text), ensure_ascii=False, indent=2) != text:
        mism += 1; bad.append(f.name)
print(json.dumps({"checked": checked, "mismatches": mism, "bad": bad[:5]}))
`;

function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bma-fixtures-${label}-`));
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function shardPath(m: FixtureManifest, name: string): string {
  return path.join(m.journalDir, name);
}

function byAnomaly(m: FixtureManifest, kind: string): SessionManifest {
  const s = m.sessions.find((x) => (x.anomalies as string[]).includes(kind));
  assert.ok(s, `no session with ${kind}`);
  return s;
}

/** Compare manifest.upstream with what upstream_reader.py printed. */
function assertUpstreamMatches(m: FixtureManifest, up: UpstreamResult): void {
  assert.deepEqual(Object.keys(up.sessions).sort(), m.sessions.map((s) => s.id).sort());
  assert.deepEqual(up.skipped, [...m.invalidNameFiles].sort());
  for (const s of m.sessions) {
    const u = up.sessions[s.id];
    const ctx = `session ${s.id} (${s.anomalies.join(',')})`;
    if (s.upstream.error) {
      assert.ok(u.error && u.error.startsWith(`${s.upstream.error}:`), `${ctx}: expected ${s.upstream.error}, got ${u.error}`);
      continue;
    }
    assert.equal(u.error, undefined, `${ctx}: unexpected ${u.error}`);
    assert.deepEqual(u.states, s.upstream.states, `${ctx}: states`);
    const norm = (cs: { turn_id: string; events: string[] }[]) => [...cs].sort((a, b) => (a.turn_id < b.turn_id ? -1 : 1));
    assert.deepEqual(norm(u.collisions), norm(s.upstream.collisions.map((c) => ({ turn_id: c.turnId, events: c.events }))), `${ctx}: collisions`);
    assert.deepEqual(
      u.malformed,
      s.upstream.malformed.map((x) => ({ shard: x.shard, line: x.line })),
      `${ctx}: malformed`,
    );
    assert.equal(u.event_count, s.upstream.validEventCount, `${ctx}: event count`);
  }
}

describe('fixtures: Python-compatible serialisation helpers', () => {
  it('prints floats like Python repr', () => {
    assert.equal(pyFloatRepr(1763725931), '1763725931.0');
    assert.equal(pyFloatRepr(1763725931.8244069), '1763725931.8244069');
    assert.equal(pyFloatRepr(1e16), '1e+16');
    assert.equal(pyFloatRepr(1234567890123456.8), '1234567890123456.8'); // the double nearest 1234567890123456.7
    assert.equal(pyFloatRepr(1.5e-5), '1.5e-05');
    assert.equal(pyFloatRepr(0.0001), '0.0001');
    assert.equal(pyFloatRepr(-0), '-0.0');
    assert.equal(pyFloatRepr(NaN), 'NaN');
    assert.equal(pyFloatRepr(-Infinity), '-Infinity');
  });

  it('escapes strings like json.dumps(ensure_ascii=False)', () => {
    assert.equal(pyJsonString('a"b\\c\n\t\u0000\u001f\u007f'), '"a\\"b\\\\c\\n\\t\\u0000\\u001f\u007f"');
    assert.equal(pyJsonString('x\u2028y\u2029z\u0085é😀'), '"x\u2028y\u2029z\u0085é😀"');
    assert.throws(() => pyJsonString('\ud800'));
  });

  it('dumps compact and indent=2 like Python', () => {
    const v = new Map<string, import('./fixtures').PyJsonValue>([
      ['a', 1],
      ['b', [1, 2.5, 'x']],
      ['c', {}],
      ['d', []],
      ['e', null],
      ['f', true],
    ]);
    assert.equal(pyJsonDumps(v), '{"a":1,"b":[1,2.5,"x"],"c":{},"d":[],"e":null,"f":true}');
    assert.equal(
      pyJsonDumps(v, { indent: 2 }),
      '{\n  "a": 1,\n  "b": [\n    1,\n    2.5,\n    "x"\n  ],\n  "c": {},\n  "d": [],\n  "e": null,\n  "f": true\n}',
    );
  });

  it('splits lines like str.splitlines()', () => {
    assert.deepEqual(pySplitlines('a\r\nb\rc\u2028d\u0085e\u001cf\n'), ['a', 'b', 'c', 'd', 'e', 'f']);
    assert.deepEqual(pySplitlines('a\n\nb'), ['a', '', 'b']);
    assert.deepEqual(pySplitlines(''), []);
  });

  it('builds events in upstream field order', () => {
    const e = buildJournalEvent('s1', { event: 'completed', stream_id: 'st', assistant_message_index: 3 }, { turnId: 't1', createdAt: 1763725931 });
    assert.equal(
      pyJsonDumps(e),
      '{"event":"completed","stream_id":"st","assistant_message_index":3,"version":1,"session_id":"s1","turn_id":"t1","created_at":1763725931.0,"terminal":true}',
    );
    assert.match(makeTurnId(FIXED_NOW, new Rng(1)), /^20251120T180000Z-[0-9a-f]{12}$/);
  });
});

describe('fixtures: generateSessionsFolder', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const gen = (label: string, opts: Parameters<typeof generateSessionsFolder>[1] = {}): FixtureManifest => {
    const d = tmpDir(label);
    dirs.push(d);
    return generateSessionsFolder(d, opts);
  };

  let m: FixtureManifest;
  before(() => {
    m = gen('main', { seed: 7 });
  });

  it('is byte-identical for the same seed, different for another seed', () => {
    const again = gen('again', { seed: 7 });
    const other = gen('other', { seed: 8 });
    const files = listFiles(m.sessionsDir);
    assert.deepEqual(listFiles(again.sessionsDir), files);
    for (const f of files) assert.ok(fs.readFileSync(path.join(m.sessionsDir, f)).equals(fs.readFileSync(path.join(again.sessionsDir, f))), f);
    const strip = (x: FixtureManifest) => JSON.stringify({ ...x, sessionsDir: '', journalDir: '' });
    assert.equal(strip(again), strip(m));
    assert.notEqual(strip(other), strip(m));
  });

  it('plants every anomaly kind and keeps healthy sessions', () => {
    const planted = new Set(m.sessions.flatMap((s) => s.anomalies));
    if (m.invalidNameFiles.length) planted.add('invalid_name_file');
    for (const k of ALL_ANOMALIES) assert.ok(planted.has(k), `missing ${k}`);
    const healthy = m.sessions.filter((s) => s.healthy);
    assert.ok(healthy.length >= 2);
    for (const s of healthy) {
      assert.deepEqual(s.malformed, []);
      assert.ok(s.turns.every((t) => t.latest === 'completed' && !t.collision && !t.orphan));
      assert.equal(s.upstream.error, null);
      assert.deepEqual(s.upstream.states, s.states);
    }
    for (const f of m.invalidNameFiles) assert.ok(fs.existsSync(shardPath(m, f)));
  });

  it("'none' writes only healthy sessions", () => {
    const clean = gen('clean', { seed: 3, anomalies: 'none', sessions: 4 });
    assert.equal(clean.sessions.length, 4);
    assert.ok(clean.sessions.every((s) => s.healthy && s.malformed.length === 0 && s.upstream.malformed.length === 0));
  });

  it('manifest agrees with the sidecars and the journal lines', () => {
    for (const s of m.sessions) {
      const side = JSON.parse(fs.readFileSync(path.join(m.sessionsDir, s.sidecar!), 'utf8')) as {
        session_id: string;
        active_stream_id: string | null;
        message_count: number;
        messages: { role: string; content: string }[];
      };
      assert.equal(side.session_id, s.id);
      assert.equal(side.active_stream_id, s.activeStreamId);
      assert.equal(side.message_count, side.messages.length);
      for (const t of s.turns) {
        assert.equal(s.states[t.turnId], t.latest ?? undefined);
        if (t.userMessageIndex !== null) assert.equal(side.messages[t.userMessageIndex].content, t.userContent);
        if (t.assistantMessageIndex !== null) assert.equal(side.messages[t.assistantMessageIndex].role, 'assistant');
        for (const e of t.events) {
          const lines = fs.readFileSync(shardPath(m, e.shard)).toString('latin1').split('\n');
          assert.ok(lines[e.line - 1].includes(`"event":"${e.event}"`), `${e.shard}:${e.line} holds ${e.event}`);
        }
      }
      const sizes = s.shards.map((sh) => fs.statSync(shardPath(m, sh.name)).size);
      assert.deepEqual(
        sizes,
        s.shards.map((sh) => sh.bytes),
      );
      assert.deepEqual(
        s.shards.map((sh) => sh.name),
        [...s.shards.map((sh) => sh.name)].sort(),
      );
    }
  });

  it('writes the damaged bytes exactly', () => {
    const bytes = (name: string) => fs.readFileSync(shardPath(m, name));
    const bom = byAnomaly(m, 'bom').shards.find((x) => x.bom)!;
    assert.deepEqual([...bytes(bom.name).subarray(0, 3)], [0xef, 0xbb, 0xbf]);
    const crlf = byAnomaly(m, 'crlf').shards.find((x) => x.lineEnding === 'crlf')!;
    const crlfText = bytes(crlf.name).toString('utf8');
    assert.equal(crlfText.split('\r\n').length - 1, crlfText.split('\n').length - 1);
    const torn = byAnomaly(m, 'torn_tail').tornTails[0];
    const tornBuf = bytes(torn.shard);
    assert.notEqual(tornBuf[tornBuf.length - 1], 0x0a);
    const glued = byAnomaly(m, 'glued').glued[0];
    const gluedLine = bytes(glued.shard).toString('utf8').split('\n')[glued.line - 1];
    assert.equal(gluedLine.split('{"event":').length - 1, 2);
    assert.doesNotThrow(() => JSON.parse(gluedLine.slice(gluedLine.lastIndexOf('{"event":'))));
    const bad = byAnomaly(m, 'invalid_utf8').malformed.find((x) => x.kind === 'invalid_utf8')!;
    assert.throws(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes(bad.shard)));
    const sep = byAnomaly(m, 'line_separators').lineSeparatorLines[0];
    const sepLine = bytes(sep.shard).toString('utf8').split('\n')[sep.line - 1];
    assert.match(sepLine, /[\u2028\u2029\u0085]/);
    assert.doesNotMatch(sepLine, /\\u2028|\\u2029|\\u0085/);
    assert.doesNotThrow(() => JSON.parse(sepLine));
    // A bare NaN/Infinity created_at is written raw, and counts as a valid event (not malformed).
    const nfSession = byAnomaly(m, 'non_finite_created_at');
    const nfLine = nfSession.turns.flatMap((t) => t.events).find((e) => typeof e.createdAtRaw === 'string' && /^-?(NaN|Infinity)$/.test(e.createdAtRaw))!;
    assert.match(bytes(nfLine.shard).toString('utf8').split('\n')[nfLine.line - 1], /"created_at":(NaN|Infinity|-Infinity)[,}]/);
    assert.ok(!nfSession.malformed.some((x) => x.shard === nfLine.shard && x.line === nfLine.line));
    const empty = byAnomaly(m, 'empty_shard').shards.find((x) => x.empty)!;
    assert.equal(bytes(empty.name).length, 0);
    const legacy = byAnomaly(m, 'legacy');
    assert.ok(legacy.shards[0].legacy && legacy.shards[0].name === shardFileName(legacy.id, null));
  });

  it('ground truth: ties, out-of-order, live, collisions', () => {
    const tieSession = byAnomaly(m, 'collision_tie');
    const tie = tieSession.turns.find(
      (t) =>
        t.fate === 'collision' &&
        t.events
          .filter((e) => e.event === 'interrupted' || e.event === 'completed')
          .map((e) => e.createdAtRaw)
          .every((v, _i, a) => v === a[0]),
    )!;
    const terms = tie.events.filter((e) => e.event === 'completed' || e.event === 'interrupted');
    const winner = [...terms].sort((a, b) => (a.shard < b.shard ? -1 : a.shard > b.shard ? 1 : a.line - b.line)).pop()!;
    assert.equal(tie.latest, winner.event);
    assert.ok(tieSession.collisions.some((c) => c.turnId === tie.turnId));

    const ooo = byAnomaly(m, 'out_of_order').turns.find((t) => t.quirks.includes('out_of_order'))!;
    const times = ooo.events.map((e) => e.createdAt!);
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    assert.equal(ooo.latest, 'completed');

    const liveS = byAnomaly(m, 'live');
    const live = liveS.turns[liveS.turns.length - 1];
    assert.ok(live.live && !live.terminal && liveS.activeStreamId === live.streamId);
    assert.ok(FIXED_NOW - live.submittedAt < 120);
    for (const s of m.sessions) for (const t of s.turns) if (t.dangling) assert.ok(FIXED_NOW - t.lastEventAt > 3600);

    const glued = byAnomaly(m, 'glued').turns.find((t) => t.quirks.includes('glued'))!;
    assert.equal(glued.latest, 'completed');
    assert.notEqual(glued.upstreamLatest, 'completed');
  });

  it('upstream_reader.py reports exactly manifest.upstream (several seeds) @slow', function () {
    if (!HAS_PYTHON) this.skip();
    for (const seed of [7, 1, 2, 3, 99]) {
      const mm = seed === 7 ? m : gen(`seed${seed}`, { seed, sessions: 10 + seed });
      assertUpstreamMatches(mm, runUpstream(mm.sessionsDir));
    }
    assert.equal(byAnomaly(m, 'invalid_utf8').upstream.error, 'UnicodeDecodeError');
    assert.equal(byAnomaly(m, 'string_created_at').upstream.error, 'ValueError');
  });

  it('Python re-serialises every valid line and sidecar to the same bytes', function () {
    if (!HAS_PYTHON) this.skip();
    const r = JSON.parse(execFileSync('python3', ['-c', ROUND_TRIP_PY, m.sessionsDir], { encoding: 'utf8' })) as {
      checked: number;
      mismatches: number;
      bad: string[];
    };
    assert.ok(r.checked > 200);
    assert.equal(r.mismatches, 0, r.bad.join(', '));
  });

  it('heavier anomaly counts still agree with upstream', function () {
    if (!HAS_PYTHON) this.skip();
    const heavy = gen('heavy', { seed: 11, sessions: 20, anomalies: Object.fromEntries(ALL_ANOMALIES.map((k) => [k, 3])) });
    assertUpstreamMatches(heavy, runUpstream(heavy.sessionsDir));
  });
});

describe('fixtures: writeSessionsFolder + appendEventLine', function () {
  this.timeout(30_000);
  let dir = '';
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a process appending after a crash glues its event onto the torn line', function () {
    dir = tmpDir('append');
    const m = writeSessionsFolder(dir, [
      {
        id: 'sess_append',
        pids: [4242],
        startAt: FIXED_NOW - 86400,
        turns: [{ user: 'first question', assistant: 'first answer' }],
      },
    ]);
    const shard = shardPath(m, 'sess_append~4242.jsonl');
    const turnId = makeTurnId(FIXED_NOW - 7200, new Rng(5));
    const submitted = buildJournalEvent(
      'sess_append',
      { event: 'submitted', stream_id: 'abc', role: 'user', content: 'second', attachments: [], workspace: '/w', model: 'm', model_provider: 'p' },
      { turnId, createdAt: FIXED_NOW - 7200 },
    );
    const full = pyJsonDumps(submitted);
    appendEventLine(shard, full.slice(0, 40), { newline: false }); // crash mid-write
    appendEventLine(shard, submitted); // same process appends again
    const lines = fs.readFileSync(shard, 'utf8').split('\n');
    assert.equal(lines[lines.length - 1], '');
    assert.equal(lines[lines.length - 2], full.slice(0, 40) + full);
    if (!HAS_PYTHON) return;
    const up = runUpstream(dir).sessions.sess_append;
    assert.deepEqual(up.malformed, [{ shard: 'sess_append~4242.jsonl', line: lines.length - 1 }]);
    assert.equal(up.states[turnId], undefined); // upstream loses the glued event
    assert.equal(up.event_count, m.sessions[0].validEventCount);
  });
});

describe('fixtures: generateLargeFolder', function () {
  this.timeout(60_000);
  let dir = '';
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes ~5 MB quickly with exact event counts', function () {
    dir = tmpDir('large');
    const m = generateLargeFolder(dir, { sessions: 20, eventsPerSession: 998, malformedEvery: 500 });
    assert.equal(m.events, 20 * 998);
    assert.ok(m.bytes >= 5_000_000, `bytes ${m.bytes}`);
    assert.ok(m.elapsedMs < 5_000, `took ${m.elapsedMs} ms`);
    assert.equal(m.turns, 20 * 250);
    assert.equal(m.dangling, 20);
    const onDisk = fs.readdirSync(m.journalDir).reduce((n, f) => n + fs.statSync(path.join(m.journalDir, f)).size, 0);
    assert.equal(onDisk, m.bytes);
    if (!HAS_PYTHON) return;
    const up = runUpstream(dir);
    const sessions = Object.values(up.sessions);
    assert.equal(sessions.length, 20);
    assert.equal(
      sessions.reduce((n, s) => n + s.event_count, 0),
      m.events,
    );
    assert.equal(
      sessions.reduce((n, s) => n + s.malformed.length, 0),
      m.malformedLines,
    );
    const states = sessions.flatMap((s) => Object.values(s.states));
    assert.equal(states.length, m.turns);
    assert.equal(states.filter((x) => x === 'completed').length, m.completed);
    assert.equal(states.filter((x) => x === 'interrupted').length, m.interrupted);
  });
});
